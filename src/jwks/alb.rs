//! The key task of an ALB issuer (reference section 9), the only writer of its
//! `IssuerKeys`: an ALB key is one PEM per kid at `{key_url}/{kid}`, which never changes for
//! that kid, so keys are fetched when a token first names their kid and then kept (at most
//! [`MAX_KIDS`]). A request that met an unknown kid asks through the issuer's refetch gate;
//! the task fetches that one kid, no more often than `min_refresh_interval` (a flood of
//! random kids costs one fetch per interval), and every request waiting shares the fetch.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Uri;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::JwksConfig;
use crate::jwks::fetch::{fetch_bytes, FetchError, JwksClient};
use crate::jwks::pem::parse_alb_key;
use crate::jwks::{IssuerKeys, KeySet, KeyStatus, RefreshError, SetOrigin, VerifyKey};
use crate::metrics::{FetchResult, FetchTrigger, Metrics};

/// The most kids an ALB issuer keeps; a new kid past it drops the oldest. An ALB signs with
/// one key at a time and each ALB has its own, so this holds many rotations of many ALBs;
/// only the configured ARNs' tokens ever cause a fetch (`signer` is checked first).
pub const MAX_KIDS: usize = 64;

/// What one ALB issuer's key task needs. Built by `keyring::NewKeys::new`.
#[derive(Clone)]
pub struct AlbKeys {
    /// The issuer's configured name (metric label, log field).
    pub issuer: String,
    /// `alb.key_url` without a trailing `/`: a key is at `{key_url}/{kid}`.
    pub key_url: Uri,
    /// The handle this task alone writes.
    pub keys: Arc<IssuerKeys>,
    /// The process's one pooled key client (`jwks.ca_file` trusted).
    pub client: JwksClient,
    /// `fetch_timeout`, `max_bytes`, `min_refresh_interval`.
    pub config: JwksConfig,
    /// `tokengate_jwks_*` handles.
    pub metrics: Metrics,
}

impl std::fmt::Debug for AlbKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbKeys")
            .field("issuer", &self.issuer)
            .field("key_url", &self.key_url)
            .finish_non_exhaustive()
    }
}

impl AlbKeys {
    /// Publishes an empty set (the issuer is ready: it has no kid to fetch until a token
    /// names one), then fetches the kid each refetch asks for, until the task is aborted.
    pub async fn run(self) {
        if self.keys.load().is_none() {
            self.keys
                .publish(KeySet::new(Vec::new(), SetOrigin::Alb, SystemTime::now()));
            self.metrics.jwks_keys(&self.issuer, 0);
        }
        let mut order: VecDeque<String> = VecDeque::new();
        loop {
            self.keys.gate().refetch_requested().await;
            let floor = self
                .keys
                .gate()
                .until_refetch_allowed(self.config.min_refresh_interval);
            tokio::time::sleep(floor).await;
            match self.keys.gate().take_wanted() {
                Some(kid) if !self.has(&kid) => {
                    self.fetch_kid(&kid, &mut order).await;
                }
                // Already fetched (or nothing asked): wake the waiters, count no fetch.
                Some(_) | None => self.keys.gate().fetch_finished(),
            }
        }
    }

    fn has(&self, kid: &str) -> bool {
        self.keys.load().is_some_and(|set| set.get(kid).is_some())
    }

    /// One fetch of `{key_url}/{kid}` (the kid percent-encoded), counted once under
    /// `tokengate_jwks_fetches_total{trigger="unknown_kid"}`; a good key joins the set,
    /// dropping the oldest past [`MAX_KIDS`] (`order` is the kept kids, oldest first).
    /// Returns the failure, also kept in the issuer's status for `/keys` and the verify
    /// phase (an unavailable key server answers 503, not 401).
    pub async fn fetch_kid(&self, kid: &str, order: &mut VecDeque<String>) -> Option<FetchError> {
        self.keys.gate().fetch_started();
        let result = self.fetch(kid).await;
        let failure = match result {
            Ok(key) => {
                let now = SystemTime::now();
                let mut keys: HashMap<String, Arc<VerifyKey>> = self
                    .keys
                    .load()
                    .map(|set| set.keys.clone())
                    .unwrap_or_default();
                order.retain(|k| keys.contains_key(k));
                while keys.len() >= MAX_KIDS {
                    match order.pop_front() {
                        Some(oldest) => {
                            keys.remove(&oldest);
                        }
                        None => break,
                    }
                }
                keys.insert(kid.to_owned(), Arc::new(key));
                order.push_back(kid.to_owned());
                let count = keys.len();
                self.keys.publish(KeySet::shared(keys, SetOrigin::Alb, now));
                self.keys.set_status(KeyStatus::default());
                self.metrics
                    .jwks_fetch(&self.issuer, FetchResult::Ok, FetchTrigger::UnknownKid);
                self.metrics.jwks_keys(&self.issuer, count);
                let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                self.metrics.jwks_success(&self.issuer, unix);
                tracing::info!(issuer = %self.issuer, kid, keys = count, "alb key fetched");
                None
            }
            Err(e) => {
                self.metrics
                    .jwks_fetch(&self.issuer, e.result(), FetchTrigger::UnknownKid);
                tracing::warn!(issuer = %self.issuer, kid, error = %e, "alb key fetch failed");
                self.keys.set_status(KeyStatus {
                    last_error: Some(RefreshError::Fetch(e.clone())),
                    next_refresh: None,
                });
                Some(e)
            }
        };
        self.keys.gate().fetch_finished();
        failure
    }

    async fn fetch(&self, kid: &str) -> Result<VerifyKey, FetchError> {
        let uri = key_uri(&self.key_url, kid).ok_or(FetchError::Request)?;
        let body = fetch_bytes(
            &self.client,
            &uri,
            self.config.fetch_timeout,
            self.config.max_bytes,
            "application/x-pem-file, */*",
        )
        .await?;
        parse_alb_key(kid, &body).map_err(FetchError::InvalidPem)
    }
}

/// What JavaScript's `encodeURIComponent` encodes: all but letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `{key_url}/{kid}`, the kid percent-encoded as aws-jwt-verify does (`encodeURIComponent`),
/// so no kid can leave its path segment (a UUID kid is unchanged); `None` if that is not a
/// URI.
pub fn key_uri(key_url: &Uri, kid: &str) -> Option<Uri> {
    let base = key_url.to_string();
    let encoded = utf8_percent_encode(kid, URI_COMPONENT).to_string();
    format!("{}/{encoded}", base.trim_end_matches('/'))
        .parse()
        .ok()
}

/// Whether a failed key fetch means the key server is unavailable (503, retry later) rather
/// than that it has no such kid (a 403 or 404: the kid is unknown, 401).
pub fn is_unavailable(error: &FetchError) -> bool {
    !matches!(error, FetchError::HttpStatus { status: 403 | 404 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kid_is_one_encoded_path_segment() {
        let base = Uri::from_static("https://public-keys.auth.elb.us-east-1.amazonaws.com");
        assert_eq!(
            key_uri(&base, "c2f80c8b-c05c-4068-af14-17299f7896b1")
                .unwrap()
                .to_string(),
            "https://public-keys.auth.elb.us-east-1.amazonaws.com/c2f80c8b-c05c-4068-af14-17299f7896b1"
        );
        let trailing = Uri::from_static("http://127.0.0.1:9/keys/");
        assert_eq!(
            key_uri(&trailing, "../x?y#z").unwrap().to_string(),
            "http://127.0.0.1:9/keys/..%2Fx%3Fy%23z"
        );
    }

    #[test]
    fn only_403_and_404_mean_the_kid_is_unknown() {
        assert!(!is_unavailable(&FetchError::HttpStatus { status: 404 }));
        assert!(!is_unavailable(&FetchError::HttpStatus { status: 403 }));
        assert!(is_unavailable(&FetchError::HttpStatus { status: 500 }));
        assert!(is_unavailable(&FetchError::Timeout {
            after: std::time::Duration::from_secs(1)
        }));
    }
}
