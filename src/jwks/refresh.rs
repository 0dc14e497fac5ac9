//! The per-issuer key task, the only writer of the issuer's `IssuerKeys`: load the on-disk
//! copy (if any) and fetch at start-up, then refresh every `refresh_interval` (+-10%
//! jitter); a failed fetch keeps the last good set and retries with capped exponential
//! backoff; a request that met an unknown kid may ask for one early refetch (single
//! flight, no more often than `min_refresh_interval`); keys unconfirmed for `max_stale` are
//! dropped. Requests never wait on it unless they asked for a refetch.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Uri;

use crate::config::JwksConfig;
use crate::jwks::fetch::{fetch, FetchError, Fetched, JwksClient};
use crate::jwks::schedule::{jittered, next_backoff, until_stale, FIRST_BACKOFF};
use crate::jwks::{disk, parse_jwks, IssuerKeys, KeySet, KeyStatus, RefreshError, SetOrigin};
use crate::metrics::{FetchResult, FetchTrigger, Metrics};

#[cfg(test)]
mod tests;

/// What one issuer's task needs. Built by `keyring::NewKeys::new` from an issuer's config.
#[derive(Clone)]
pub struct Refresher {
    /// The issuer's configured name (metric label, log field, cache file name).
    pub issuer: String,
    /// The issuer's `jwks_uri` (logs, and the cache file's check).
    pub uri: Uri,
    /// The handle this task alone writes.
    pub keys: Arc<IssuerKeys>,
    /// Where the documents come from.
    pub source: Arc<dyn Source>,
    /// `jwks` settings: intervals, `max_stale`, `cache_dir`.
    pub config: JwksConfig,
    /// `tokengate_jwks_*` handles.
    pub metrics: Metrics,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("issuer", &self.issuer)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// Where a key task gets its documents: the network (`Http`), or a scripted source in the
/// timing tests, which run on paused time.
pub trait Source: Send + Sync + 'static {
    /// One fetch of the issuer's document, parsed; errors are [`FetchError`] facts.
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>>;
}

/// The JWKS endpoint over the pooled client.
#[derive(Debug, Clone)]
pub struct Http {
    /// The process's one pooled JWKS client.
    pub client: JwksClient,
    /// The issuer's `jwks_uri`.
    pub uri: Uri,
    /// `fetch_timeout`: over connect, head and body.
    pub timeout: Duration,
    /// `max_bytes`: the largest document accepted.
    pub max_bytes: usize,
}

impl Source for Http {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>> {
        Box::pin(fetch(&self.client, &self.uri, self.timeout, self.max_bytes))
    }
}

impl Refresher {
    /// Loads `cache_dir`'s copy, then fetches and refreshes until the task is aborted.
    pub async fn run(self) {
        self.load_cache().await;
        let mut backoff = FIRST_BACKOFF;
        let mut trigger = FetchTrigger::Start;
        loop {
            let ok = self.fetch_once(trigger).await;
            let wait = if ok {
                backoff = FIRST_BACKOFF;
                jittered(self.config.refresh_interval)
            } else {
                let wait = backoff;
                backoff = next_backoff(backoff, self.config.refresh_interval);
                wait
            };
            // What starts the next fetch, unless a token with an unknown kid comes first.
            trigger = if ok {
                FetchTrigger::Refresh
            } else {
                FetchTrigger::Retry
            };
            self.drop_if_stale();
            let mut status = (*self.keys.status()).clone();
            status.next_refresh = SystemTime::now().checked_add(wait);
            self.keys.set_status(status);
            let until_stale = until_stale(self.config.max_stale, &self.keys).unwrap_or(wait);
            tokio::select! {
                () = tokio::time::sleep(wait.min(until_stale)) => self.drop_if_stale(),
                () = self.keys.gate().refetch_requested() => {
                    // A token carried an unknown kid. The floor counts from the start of
                    // the last fetch of any kind, whoever asked.
                    let floor = self
                        .keys
                        .gate()
                        .until_refetch_allowed(self.config.min_refresh_interval);
                    tokio::time::sleep(floor).await;
                    trigger = FetchTrigger::UnknownKid;
                    tracing::info!(issuer = %self.issuer, "jwks refetch for an unknown kid");
                }
            }
        }
    }

    /// One fetch, counted once under its result and `trigger`; publishes a good set.
    /// Returns whether it succeeded (a failure is in the status, the logs and the metrics).
    pub async fn fetch_once(&self, trigger: FetchTrigger) -> bool {
        self.keys.gate().fetch_started();
        let ok = self.fetch_and_publish(trigger).await;
        self.keys.gate().fetch_finished();
        ok
    }

    async fn fetch_and_publish(&self, trigger: FetchTrigger) -> bool {
        let result = self.source.fetch().await;
        match result {
            Ok(Fetched {
                keys,
                skipped,
                body,
            }) => {
                for s in &skipped {
                    tracing::warn!(
                        issuer = %self.issuer,
                        kid = s.kid.as_deref().unwrap_or(""),
                        reason = s.reason.description(),
                        "jwks key skipped"
                    );
                }
                let now = SystemTime::now();
                let count = keys.len();
                self.keys.publish(KeySet::new(keys, SetOrigin::Fetch, now));
                self.keys.set_status(KeyStatus {
                    last_error: None,
                    next_refresh: None,
                });
                self.metrics
                    .jwks_fetch(&self.issuer, FetchResult::Ok, trigger);
                self.metrics.jwks_keys(&self.issuer, count);
                let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                self.metrics.jwks_success(&self.issuer, unix);
                tracing::info!(issuer = %self.issuer, keys = count, skipped = skipped.len(), "jwks fetched");
                self.save_cache(now, body.to_vec()).await;
                true
            }
            Err(e) => {
                self.metrics.jwks_fetch(&self.issuer, e.result(), trigger);
                tracing::warn!(issuer = %self.issuer, uri = %self.uri, error = %e, "jwks fetch failed; keeping the last good set");
                let mut status = (*self.keys.status()).clone();
                status.last_error = Some(RefreshError::Fetch(e));
                self.keys.set_status(status);
                false
            }
        }
    }

    /// Fails closed: keys not confirmed by a fetch for `max_stale` are dropped.
    fn drop_if_stale(&self) {
        if until_stale(self.config.max_stale, &self.keys).is_some_and(|left| left.is_zero()) {
            self.keys.clear();
            self.metrics.jwks_keys(&self.issuer, 0);
            let mut status = (*self.keys.status()).clone();
            let last = match status.last_error.take() {
                Some(RefreshError::Fetch(e)) => Some(e),
                Some(RefreshError::Stale { last }) => last,
                None => None,
            };
            status.last_error = Some(RefreshError::Stale { last });
            self.keys.set_status(status);
            tracing::error!(issuer = %self.issuer, "jwks keys are stale (max_stale): dropped; tokens of this issuer get 503 until a fetch succeeds");
        }
    }

    /// At start-up: the last good set from `cache_dir`, unless missing, corrupt or stale.
    async fn load_cache(&self) {
        let Some(dir) = self.config.cache_dir.clone() else {
            return;
        };
        let (issuer, uri) = (self.issuer.clone(), self.uri.to_string());
        let read = tokio::task::spawn_blocking(move || disk::read(&dir, &issuer, &uri)).await;
        let (body, fetched_at) = match read {
            Ok(Ok(Some(found))) => found,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "jwks cache file ignored");
                return;
            }
            Err(_) => return,
        };
        let age = SystemTime::now()
            .duration_since(fetched_at)
            .unwrap_or(Duration::ZERO);
        if self.config.max_stale.is_some_and(|max| age >= max) {
            tracing::warn!(issuer = %self.issuer, "jwks cache file older than max_stale; ignored");
            return;
        }
        // Off the runtime's workers, as a fetched document is (`fetch.rs`).
        let parsed = tokio::task::spawn_blocking(move || parse_jwks(&body)).await;
        let Ok(parsed) = parsed else {
            return;
        };
        match parsed {
            Ok((keys, _)) => {
                let count = keys.len();
                self.keys
                    .publish(KeySet::new(keys, SetOrigin::Cache, fetched_at));
                self.metrics.jwks_keys(&self.issuer, count);
                tracing::info!(issuer = %self.issuer, keys = count, "jwks loaded from cache_dir");
            }
            Err(e) => tracing::warn!(issuer = %self.issuer, error = %e, "jwks cache file ignored"),
        }
    }

    async fn save_cache(&self, fetched_at: SystemTime, body: Vec<u8>) {
        let Some(dir) = self.config.cache_dir.clone() else {
            return;
        };
        let (issuer, uri) = (self.issuer.clone(), self.uri.to_string());
        let written = tokio::task::spawn_blocking(move || {
            disk::write(&dir, &issuer, &uri, fetched_at, &body)
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::warn!(issuer = %self.issuer, error = %e, "jwks cache file not written");
        }
    }
}
