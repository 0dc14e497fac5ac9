//! The per-issuer key task: fetch at start-up, then every `refresh_interval` (+-10% jitter);
//! a failed fetch keeps the last good set and retries with capped exponential backoff;
//! a request that met an unknown kid may ask for one early refetch (single flight, no more
//! often than `min_refresh_interval`).
//! It is the only writer of the issuer's `IssuerKeys`; requests never wait on it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Uri;
use rand::Rng;

use crate::config::JwksConfig;
use crate::jwks::fetch::{fetch, JwksClient};
use crate::jwks::{IssuerKeys, KeySet, KeySource, KeyStatus};
use crate::metrics::{FetchResult, Metrics};

/// What one issuer's task needs.
#[derive(Debug, Clone)]
pub struct Refresher {
    pub issuer: String,
    pub uri: Uri,
    pub keys: Arc<IssuerKeys>,
    pub client: JwksClient,
    pub config: JwksConfig,
    pub metrics: Metrics,
}

/// The first retry after a failure; doubled each time up to `backoff_cap`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

impl Refresher {
    /// Runs until the task is aborted.
    pub async fn run(self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let wait = if self.fetch_once().await {
                backoff = FIRST_BACKOFF;
                jittered(self.config.refresh_interval)
            } else {
                let wait = backoff;
                backoff = (backoff * 2).min(backoff_cap(self.config.refresh_interval));
                wait
            };
            let mut status = (*self.keys.status()).clone();
            status.next_refresh = SystemTime::now().checked_add(wait);
            self.keys.set_status(status);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
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
        let result = fetch(
            &self.client,
            &self.uri,
            self.config.fetch_timeout,
            self.config.max_bytes,
        )
        .await;
        match result {
            Ok((keys, skipped)) => {
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
    fn backoff_is_capped_below_the_refresh_interval() {
        assert_eq!(
            backoff_cap(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(backoff_cap(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(backoff_cap(Duration::from_secs(1)), FIRST_BACKOFF);
    }
}
