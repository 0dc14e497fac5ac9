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
use rand::Rng;

use crate::config::JwksConfig;
use crate::jwks::fetch::{fetch, FetchError, Fetched, JwksClient};
use crate::jwks::{disk, parse_jwks, IssuerKeys, KeySet, KeySource, KeyStatus};
use crate::metrics::{FetchResult, Metrics};

/// What one issuer's task needs.
#[derive(Clone)]
pub struct Refresher {
    pub issuer: String,
    pub uri: Uri,
    pub keys: Arc<IssuerKeys>,
    pub source: Arc<dyn Source>,
    pub config: JwksConfig,
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
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>>;
}

/// The JWKS endpoint over the pooled client.
#[derive(Debug, Clone)]
pub struct Http {
    pub client: JwksClient,
    pub uri: Uri,
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl Source for Http {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>> {
        Box::pin(fetch(&self.client, &self.uri, self.timeout, self.max_bytes))
    }
}

/// The first retry after a failure; doubled each time up to `backoff_cap`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

impl Refresher {
    /// Runs until the task is aborted.
    pub async fn run(self) {
        self.load_cache().await;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let wait = if self.fetch_once().await {
                backoff = FIRST_BACKOFF;
                jittered(self.config.refresh_interval)
            } else {
                let wait = backoff;
                backoff = next_backoff(backoff, self.config.refresh_interval);
                wait
            };
            self.drop_if_stale();
            let mut status = (*self.keys.status()).clone();
            status.next_refresh = SystemTime::now().checked_add(wait);
            self.keys.set_status(status);
            let until_stale = self.until_stale().unwrap_or(wait);
            tokio::select! {
                () = tokio::time::sleep(wait.min(until_stale)) => self.drop_if_stale(),
                () = self.keys.refetch_requested() => {
                    // A token carried an unknown kid. The floor counts from the start of
                    // the last fetch of any kind, whoever asked.
                    let floor = self.keys.until_refetch_allowed(self.config.min_refresh_interval);
                    tokio::time::sleep(floor).await;
                    self.metrics.jwks_fetch(&self.issuer, FetchResult::UnknownKidRefetch);
                    tracing::info!(issuer = %self.issuer, "jwks refetch for an unknown kid");
                }
            }
        }
    }

    /// One fetch; publishes a good set. Returns whether it succeeded.
    pub async fn fetch_once(&self) -> bool {
        self.keys.fetch_started();
        let ok = self.fetch_and_publish().await;
        self.keys.fetch_finished();
        ok
    }

    async fn fetch_and_publish(&self) -> bool {
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
                        reason = s.reason,
                        "jwks key skipped"
                    );
                }
                let now = SystemTime::now();
                let count = keys.len();
                self.keys.publish(KeySet::new(keys, KeySource::Fetch, now));
                self.keys.set_status(KeyStatus {
                    last_error: None,
                    next_refresh: None,
                });
                self.metrics.jwks_fetch(&self.issuer, FetchResult::Ok);
                self.metrics.jwks_keys(&self.issuer, count);
                let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                self.metrics.jwks_success(&self.issuer, unix);
                tracing::info!(issuer = %self.issuer, keys = count, skipped = skipped.len(), "jwks fetched");
                self.save_cache(now, body.to_vec()).await;
                true
            }
            Err(e) => {
                self.metrics.jwks_fetch(&self.issuer, e.result());
                tracing::warn!(issuer = %self.issuer, uri = %self.uri, error = %e, "jwks fetch failed; keeping the last good set");
                let mut status = (*self.keys.status()).clone();
                status.last_error = Some(e.to_string());
                self.keys.set_status(status);
                false
            }
        }
    }

    /// Time left before the current set turns stale (`None`: no bound or no set).
    fn until_stale(&self) -> Option<Duration> {
        let max_stale = self.config.max_stale?;
        let set = self.keys.load()?;
        Some(max_stale.saturating_sub(set.confirmed.elapsed()))
    }

    /// Fails closed: keys not confirmed by a fetch for `max_stale` are dropped.
    fn drop_if_stale(&self) {
        if self.until_stale().is_some_and(|left| left.is_zero()) {
            self.keys.clear();
            self.metrics.jwks_keys(&self.issuer, 0);
            let mut status = (*self.keys.status()).clone();
            status.last_error = Some(format!(
                "keys dropped: no successful fetch for longer than max_stale; last error: {}",
                status.last_error.as_deref().unwrap_or("none")
            ));
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
        match parse_jwks(&body) {
            Ok((keys, _)) => {
                let count = keys.len();
                self.keys
                    .publish(KeySet::new(keys, KeySource::Cache, fetched_at));
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

/// Doubles the backoff, never beyond `backoff_cap`.
fn next_backoff(current: Duration, refresh_interval: Duration) -> Duration {
    (current * 2).min(backoff_cap(refresh_interval))
}

/// Retries never wait longer than a quarter of the refresh interval, nor a minute.
fn backoff_cap(refresh_interval: Duration) -> Duration {
    (refresh_interval / 4)
        .min(Duration::from_secs(60))
        .max(FIRST_BACKOFF)
}

/// `base` +-10%, so a fleet of sidecars does not refresh in lockstep.
fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let base = Duration::from_secs(3600);
        for _ in 0..1000 {
            let d = jittered(base);
            assert!(d >= Duration::from_secs(3240) && d <= Duration::from_secs(3960));
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped_below_the_refresh_interval() {
        assert_eq!(
            backoff_cap(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(backoff_cap(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(backoff_cap(Duration::from_secs(1)), FIRST_BACKOFF);
        let mut b = FIRST_BACKOFF;
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(b.as_secs());
            b = next_backoff(b, Duration::from_secs(3600));
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_refetch_floor_counts_from_the_start_of_the_last_fetch() {
        let keys = IssuerKeys::new();
        let floor = Duration::from_secs(30);
        assert!(keys.until_refetch_allowed(floor).is_zero(), "never fetched");
        keys.fetch_started();
        keys.fetch_finished();
        assert_eq!(keys.until_refetch_allowed(floor), floor);
        assert!(
            keys.refetch_for_unknown_kid(floor).is_none(),
            "inside the floor: refused at once"
        );
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(keys.until_refetch_allowed(floor), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(keys.until_refetch_allowed(floor).is_zero());
        let mut waiting = keys.refetch_for_unknown_kid(floor).unwrap();
        // The key task is woken by the request...
        tokio::time::timeout(Duration::from_millis(1), keys.refetch_requested())
            .await
            .unwrap();
        // ...and every waiter sees the one fetch end.
        let mut second = keys.refetch_for_unknown_kid(floor).unwrap();
        keys.fetch_started();
        let mut third = keys
            .refetch_for_unknown_kid(floor)
            .expect("a fetch is running: wait on it");
        keys.fetch_finished();
        waiting.changed().await.unwrap();
        second.changed().await.unwrap();
        third.changed().await.unwrap();
    }

    /// A source that answers a fixed set or HTTP 500, counting calls.
    struct Script {
        ok: std::sync::atomic::AtomicBool,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Source for Script {
        fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + '_>> {
            use std::sync::atomic::Ordering::SeqCst;
            self.calls.fetch_add(1, SeqCst);
            let ok = self.ok.load(SeqCst);
            Box::pin(async move {
                if !ok {
                    return Err(FetchError::HttpStatus { status: 500 });
                }
                let n = base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    [0xC5u8; 256],
                );
                let body =
                    serde_json::json!({"keys": [{"kty": "RSA", "kid": "k1", "n": n, "e": "AQAB"}]})
                        .to_string();
                let (keys, skipped) = parse_jwks(body.as_bytes()).map_err(FetchError::Invalid)?;
                Ok(Fetched {
                    keys,
                    skipped,
                    body: bytes::Bytes::from(body),
                })
            })
        }
    }

    fn task(ok: bool, max_stale: Option<Duration>) -> (Refresher, Arc<Script>) {
        let script = Arc::new(Script {
            ok: std::sync::atomic::AtomicBool::new(ok),
            calls: std::sync::atomic::AtomicUsize::new(0),
        });
        let refresher = Refresher {
            issuer: "main".into(),
            uri: Uri::from_static("https://idp.example/jwks.json"),
            keys: Arc::new(IssuerKeys::new()),
            source: script.clone(),
            config: JwksConfig {
                refresh_interval: Duration::from_secs(3600),
                min_refresh_interval: Duration::from_secs(30),
                fetch_timeout: Duration::from_secs(5),
                max_bytes: 1 << 20,
                cache_dir: None,
                max_stale,
                ca_file: None,
                allow_http: false,
            },
            metrics: Metrics::new().unwrap(),
        };
        (refresher, script)
    }

    fn calls(script: &Script) -> usize {
        script.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Advances paused time in small steps so the task runs at each of its deadlines.
    async fn advance(by: Duration) {
        let step = Duration::from_millis(250);
        let mut left = by;
        while !left.is_zero() {
            let d = left.min(step);
            tokio::time::advance(d).await;
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            left -= d;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_happens_every_interval_within_the_jitter_bounds() {
        let (refresher, script) = task(true, None);
        let keys = refresher.keys.clone();
        let handle = tokio::spawn(refresher.run());
        advance(Duration::from_millis(250)).await;
        assert_eq!(calls(&script), 1, "fetched at start-up");
        assert!(keys.load().is_some());
        advance(Duration::from_secs(53 * 60)).await;
        assert_eq!(calls(&script), 1, "not before 90% of the interval");
        advance(Duration::from_secs(14 * 60)).await;
        assert_eq!(calls(&script), 2, "by 110% of the interval");
        handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn failed_fetches_back_off_exponentially_up_to_the_cap() {
        let (refresher, script) = task(false, None);
        let handle = tokio::spawn(refresher.run());
        advance(Duration::from_millis(500)).await;
        assert_eq!(calls(&script), 1);
        advance(Duration::from_secs(2)).await; // t=2.5: retried at 1
        assert_eq!(calls(&script), 2);
        advance(Duration::from_secs(1)).await; // t=3.5: retried at 3
        assert_eq!(calls(&script), 3);
        advance(Duration::from_secs(12)).await; // t=15.5: retried at 7 and 15
        assert_eq!(calls(&script), 5);
        advance(Duration::from_secs(108)).await; // t=123.5: 31, 63, 123 (cap 60 s)
        assert_eq!(calls(&script), 8);
        handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn keys_unconfirmed_for_max_stale_are_dropped_and_restored_by_a_fetch() {
        let (refresher, script) = task(true, Some(Duration::from_secs(90 * 60)));
        let keys = refresher.keys.clone();
        let handle = tokio::spawn(refresher.run());
        advance(Duration::from_millis(250)).await;
        assert!(keys.load().is_some());
        script.ok.store(false, std::sync::atomic::Ordering::SeqCst);
        advance(Duration::from_secs(89 * 60)).await;
        assert!(
            keys.load().is_some(),
            "an outage keeps the last good set until max_stale"
        );
        advance(Duration::from_secs(2 * 60)).await;
        assert!(keys.load().is_none(), "past max_stale the keys are gone");
        assert!(keys.status().last_error.is_some(), "/keys says why");
        script.ok.store(true, std::sync::atomic::Ordering::SeqCst);
        advance(Duration::from_secs(61)).await;
        assert!(
            keys.load().is_some(),
            "the next good fetch brings them back"
        );
        handle.abort();
    }
}
