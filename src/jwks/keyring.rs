//! The running key tasks, one per key task id (issuer name, `jwks_uri`, `jwks` settings,
//! the CA bundle's digest):
//! built for an issuer's config, started, found again by a reload that keeps the issuer,
//! and stopped when a reload drops it or the keyring is dropped.

use std::sync::Arc;

use http::Uri;
use tokio::task::JoinHandle;

use crate::config::files::Digest;
use crate::config::{IssuerConfig, JwksConfig};
use crate::jwks::alb::AlbKeys;
use crate::jwks::fetch::KeyClient;
use crate::jwks::refresh::{Http, Refresher};
use crate::jwks::IssuerKeys;
use crate::metrics::Metrics;

/// The identity of a key task across reloads: what an issuer's keys are fetched from, and
/// how. Issuers with an equal id share a key handle across reloads (their keys are kept,
/// not refetched); any change (name, URI, any `jwks` setting, or the contents of
/// `jwks.ca_file` at the same path) starts a new task.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTaskId {
    /// The issuer's configured name.
    pub issuer: String,
    /// The issuer's `jwks_uri`.
    pub uri: Uri,
    /// The `jwks` section in force.
    pub jwks: JwksConfig,
    /// The digest of the `jwks.ca_file` bytes the task's client trusts.
    pub ca: Option<Digest>,
    /// An ALB issuer (per-kid PEM keys at `uri`), not a JWKS.
    pub alb: bool,
}

impl KeyTaskId {
    /// The id of `issuer`'s key task under the `jwks` settings, fetching over `client`.
    pub fn of(issuer: &IssuerConfig, jwks: &JwksConfig, client: &KeyClient) -> KeyTaskId {
        KeyTaskId {
            issuer: issuer.name.clone(),
            uri: issuer.jwks_uri.clone(),
            jwks: jwks.clone(),
            ca: client.ca,
            alb: issuer.is_alb(),
        }
    }
}

/// What fills one issuer's key handle: a JWKS refresher, or an ALB issuer's per-kid
/// fetcher (reference section 9).
#[derive(Debug)]
pub enum KeyWork {
    /// A JWKS issuer: fetched at start-up and every `refresh_interval`.
    Jwks(Box<Refresher>),
    /// An ALB issuer: one PEM per kid, fetched when a token first names it.
    Alb(Box<AlbKeys>),
}

impl KeyWork {
    /// The handle this work fills.
    pub fn keys(&self) -> &Arc<IssuerKeys> {
        match self {
            KeyWork::Jwks(r) => &r.keys,
            KeyWork::Alb(a) => &a.keys,
        }
    }

    /// Runs until aborted.
    pub async fn run(self) {
        match self {
            KeyWork::Jwks(r) => r.run().await,
            KeyWork::Alb(a) => a.run().await,
        }
    }
}

/// A key task built but not started: its id, and the work that will fill the fresh
/// (empty) handle `work.keys()`, which a snapshot may already hold.
#[derive(Debug)]
pub struct NewKeys {
    /// What the task fetches from, and how.
    pub id: KeyTaskId,
    /// The task itself; `work.keys()` is the handle it fills.
    pub work: KeyWork,
}

impl NewKeys {
    /// The key task for `id`: a new empty handle, filled from `id.uri` over `client` with
    /// `id.jwks`'s `fetch_timeout` and `max_bytes` (for an ALB issuer, `id.uri` is its
    /// `alb.key_url`).
    pub fn new(id: KeyTaskId, client: &KeyClient, metrics: &Metrics) -> NewKeys {
        if id.alb {
            let work = KeyWork::Alb(Box::new(AlbKeys {
                issuer: id.issuer.clone(),
                key_url: id.uri.clone(),
                keys: Arc::new(IssuerKeys::new()),
                client: client.http.clone(),
                config: id.jwks.clone(),
                metrics: metrics.clone(),
            }));
            return NewKeys { id, work };
        }
        let refresher = Refresher {
            issuer: id.issuer.clone(),
            uri: id.uri.clone(),
            keys: Arc::new(IssuerKeys::new()),
            source: Arc::new(Http {
                client: client.http.clone(),
                uri: id.uri.clone(),
                timeout: id.jwks.fetch_timeout,
                max_bytes: id.jwks.max_bytes,
            }),
            config: id.jwks.clone(),
            metrics: metrics.clone(),
        };
        NewKeys {
            id,
            work: KeyWork::Jwks(Box::new(refresher)),
        }
    }
}

/// The running key tasks, one per key task id. Dropping it stops them all.
#[derive(Debug, Default)]
pub struct Keyring {
    tasks: Vec<KeyTask>,
}

#[derive(Debug)]
struct KeyTask {
    id: KeyTaskId,
    keys: Arc<IssuerKeys>,
    task: JoinHandle<()>,
}

impl Keyring {
    /// Starts one key task per new key task id (on the current tokio runtime).
    pub fn start(fresh: Vec<NewKeys>) -> Keyring {
        let mut keyring = Keyring::default();
        keyring.spawn(fresh);
        keyring
    }

    /// The handle of the running task with this id, for a reload that keeps the issuer.
    pub fn find(&self, id: &KeyTaskId) -> Option<Arc<IssuerKeys>> {
        self.tasks
            .iter()
            .find(|t| t.id == *id)
            .map(|t| Arc::clone(&t.keys))
    }

    /// After a reload: stops the tasks whose id is not in `keep`, then starts `fresh`.
    pub fn replace(&mut self, keep: &[KeyTaskId], fresh: Vec<NewKeys>) {
        self.tasks.retain(|t| {
            let kept = keep.contains(&t.id);
            if !kept {
                t.task.abort();
            }
            kept
        });
        self.spawn(fresh);
    }

    fn spawn(&mut self, fresh: Vec<NewKeys>) {
        for new in fresh {
            self.tasks.push(KeyTask {
                id: new.id,
                keys: Arc::clone(new.work.keys()),
                task: tokio::spawn(new.work.run()),
            });
        }
    }
}

/// Dropping the keyring (at exit) stops its key tasks.
impl Drop for Keyring {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.task.abort();
        }
    }
}
