//! The running state: an immutable `Snapshot` (config, verifier, router, header rules,
//! upstream client, metric handles) behind `ArcSwap`, plus process-wide flags and metrics.
//!
//! The revocation list is process-wide: one `Revoker` opened at start-up, owned by `App`,
//! and carried into every snapshot (reloads included) as the same `Arc`. A reload must never
//! drop entries or forget that the list loaded, so it cannot live in what a reload rebuilds;
//! and requests reach it through the snapshot they already loaded (one `ArcSwap` load per
//! request, and `decide`/ext_authz need nothing but the snapshot).

pub mod reload;
pub mod watch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use prometheus::IntCounter;

use crate::auth::{Issuer, Verifier};
use crate::config::Config;
use crate::jwks::fetch::KeyClient;
use crate::jwks::keyring::{KeyTaskId, KeyWork, NewKeys};
use crate::jwks::IssuerKeys;
use crate::metrics::{IssuerCounters, Metrics, RouteCounters, NO_ROUTE_LABEL, UNKNOWN_ISSUER};
use crate::proxy::headers::HeaderRules;
use crate::proxy::route::Router;
use crate::proxy::upstream::Upstream;
use crate::revocation::Revoker;

/// Everything a request needs, immutable once published.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Config,
    pub verifier: Verifier,
    pub router: Router,
    pub headers: HeaderRules,
    /// `None` in authz mode.
    pub upstream: Option<Upstream>,
    /// One per route, then one for [`NO_ROUTE_LABEL`].
    pub route_counters: Vec<RouteCounters>,
    /// One per issuer, then one for tokens of no configured issuer.
    pub issuer_counters: Vec<IssuerCounters>,
    /// `tokengate_verify_cache_total{result="hit"}` and `{result="miss"}`.
    pub cache_counters: (IntCounter, IntCounter),
    /// `App::revocation`, the same `Arc` in every snapshot; `None`: nothing is checked.
    pub revocation: Option<Arc<Revoker>>,
}

impl Snapshot {
    pub fn route_counters(&self, route: Option<usize>) -> Option<&RouteCounters> {
        match route {
            Some(i) => self.route_counters.get(i),
            None => self.route_counters.last(),
        }
    }

    pub fn issuer_counters(&self, issuer: Option<usize>) -> Option<&IssuerCounters> {
        match issuer {
            Some(i) => self.issuer_counters.get(i),
            None => self.issuer_counters.last(),
        }
    }
}

/// Process-wide state shared by the data plane and the admin listener.
#[derive(Debug)]
pub struct App {
    pub snapshot: ArcSwap<Snapshot>,
    /// The revocation list and its store, opened once at start-up (`revocation` section);
    /// every snapshot holds this same handle.
    pub revocation: Option<Arc<Revoker>>,
    /// The data plane's TLS acceptor (`server.tls`), swapped when SIGHUP re-reads the files.
    pub tls: ArcSwapOption<rustls::ServerConfig>,
    pub metrics: Metrics,
    shutting_down: AtomicBool,
}

impl App {
    pub fn new(snapshot: Snapshot, metrics: Metrics) -> App {
        App {
            revocation: snapshot.revocation.clone(),
            snapshot: ArcSwap::from_pointee(snapshot),
            tls: ArcSwapOption::empty(),
            metrics,
            shutting_down: AtomicBool::new(false),
        }
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// Builds a snapshot from a validated config, with one fresh (empty) key handle per issuer,
/// and the key tasks that will fill them; no revocation list (`verify` checks none).
pub fn build(
    config: Config,
    metrics: &Metrics,
    jwks_client: &KeyClient,
) -> (Snapshot, Vec<KeyWork>) {
    let (snapshot, fresh) = build_keeping(config, metrics, jwks_client, None, |_| None);
    (snapshot, fresh.into_iter().map(|n| n.work).collect())
}

/// Like [`build`], with the process's revocation handle, and an issuer whose key task id
/// `existing` knows reuses that key handle (reload); only the others get a new handle and a
/// key task.
pub fn build_keeping(
    config: Config,
    metrics: &Metrics,
    jwks_client: &KeyClient,
    revocation: Option<Arc<Revoker>>,
    existing: impl Fn(&KeyTaskId) -> Option<Arc<IssuerKeys>>,
) -> (Snapshot, Vec<NewKeys>) {
    let mut issuers = Vec::with_capacity(config.issuers.len());
    let mut fresh = Vec::new();
    for issuer in &config.issuers {
        let id = KeyTaskId::of(issuer, &config.jwks, jwks_client);
        let keys = match existing(&id) {
            Some(keys) => keys,
            None => {
                let new = NewKeys::new(id, jwks_client, metrics);
                let keys = Arc::clone(new.work.keys());
                fresh.push(new);
                keys
            }
        };
        issuers.push(Issuer {
            config: issuer.clone(),
            keys,
        });
    }
    let snapshot = assemble(config, issuers, metrics, revocation);
    (snapshot, fresh)
}

/// Builds a snapshot around issuers whose key handles already exist (used by `demo`, tests
/// and by reload to keep the keys of unchanged issuers) and the process's revocation handle.
pub fn assemble(
    config: Config,
    issuers: Vec<Issuer>,
    metrics: &Metrics,
    revocation: Option<Arc<Revoker>>,
) -> Snapshot {
    let mut route_counters: Vec<RouteCounters> = config
        .routes
        .iter()
        .map(|r| metrics.route(&r.name))
        .collect();
    route_counters.push(metrics.route(NO_ROUTE_LABEL));
    let mut issuer_counters: Vec<IssuerCounters> = config
        .issuers
        .iter()
        .map(|i| metrics.issuer(&i.name))
        .collect();
    issuer_counters.push(metrics.issuer(UNKNOWN_ISSUER));
    Snapshot {
        verifier: Verifier::with_cache(
            issuers,
            config.token.max_bytes,
            config.token.cache_entries,
            config.token.cache_max_bytes,
        ),
        cache_counters: (metrics.verify_cache("hit"), metrics.verify_cache("miss")),
        router: Router::new(&config.routes),
        headers: HeaderRules::new(&config.forward).with_token_sources(&config.token.sources),
        upstream: config.upstream.as_ref().map(Upstream::new),
        route_counters,
        issuer_counters,
        config,
        revocation,
    }
}
