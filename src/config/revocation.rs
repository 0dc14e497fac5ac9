//! `revocation` (reference section 8) as the running process uses it: which store keeps the
//! list, how long entries live, what happens when a shared list falls behind, and the admin
//! API's secret. Secrets (the API token, a Redis password) never show in `Debug`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::revocation::list::OnUnavailable;

/// The whole `revocation` section, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationConfig {
    /// `store` (and, for Redis, the `redis` block).
    pub store: StoreKind,
    /// An entry is kept this long after the time it applies to (> 0).
    pub max_token_lifetime: Duration,
    /// How stale a shared list may get before `on_unavailable` decides (> 0).
    pub max_lag: Duration,
    /// What token routes do once the list is older than `max_lag`.
    pub on_unavailable: OnUnavailable,
    /// `api_token_file` and its content: `/revocations` on the admin listener; `None`: 404.
    pub api_token: Option<ApiToken>,
}

impl RevocationConfig {
    /// The settings a store is built with at start-up; a change to any of them needs a
    /// restart (the API token is re-read on every reload instead).
    pub fn store_settings_differ(&self, other: &RevocationConfig) -> bool {
        self.store != other.store
            || self.max_token_lifetime != other.max_token_lifetime
            || self.max_lag != other.max_lag
            || self.on_unavailable != other.on_unavailable
    }
}

/// `revocation.store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// This process only; kept in `jwks.cache_dir` when that is set.
    Memory,
    /// Shared by every replica through a Redis server.
    Redis(RedisConfig),
}

impl StoreKind {
    /// The word the file uses for it (`store: memory`), also shown by `/readyz`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis(_) => "redis",
        }
    }
}

/// `revocation.redis`: required with `store: redis`, refused otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS), with a host; may carry `user:password@`.
    pub url: RedisUrl,
    /// PEM CA bundle trusted for `rediss://` besides the web PKI roots (checked now).
    pub ca_file: Option<PathBuf>,
    /// Every key tokengate writes starts with this (non-empty, printable, no spaces).
    pub key_prefix: String,
}

/// A Redis URL as configured. `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Wraps an already validated URL (validation lives in `config/validate/revocation.rs`).
    pub(crate) fn new(url: String) -> RedisUrl {
        RedisUrl(url)
    }

    /// The URL as written, password included: for the Redis client only, never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it asks for TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.0.starts_with("rediss://")
    }

    /// The URL with any `user:password@` replaced by `***@`, for logs.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return "***".to_owned();
        };
        let end = rest.find('/').unwrap_or(rest.len());
        match rest[..end].rfind('@') {
            Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `revocation.api_token_file` and the secret it held when the file was last read (its
/// content without surrounding whitespace; never empty).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub file: PathBuf,
    secret: String,
}

impl ApiToken {
    /// `None` when `content` is only whitespace.
    pub(crate) fn from_content(file: PathBuf, content: &str) -> Option<ApiToken> {
        let secret = content.trim();
        (!secret.is_empty()).then(|| ApiToken {
            file,
            secret: secret.to_owned(),
        })
    }

    /// The secret's bytes, for the constant-time comparison of the admin API only.
    pub fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("file", &self.file)
            .field("secret_len", &self.secret.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let url = RedisUrl::new("rediss://tg:s3cret@redis.internal:6380/0".into());
        assert_eq!(url.to_string(), "rediss://***@redis.internal:6380/0");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.as_str(), "rediss://tg:s3cret@redis.internal:6380/0");
        let plain = RedisUrl::new("redis://127.0.0.1:6379".into());
        assert_eq!(plain.to_string(), "redis://127.0.0.1:6379");
        let token = ApiToken::from_content("/run/t".into(), "  hunter2\n").unwrap();
        assert_eq!(token.secret(), b"hunter2");
        assert!(!format!("{token:?}").contains("hunter2"));
        assert!(ApiToken::from_content("/run/t".into(), " \n\t").is_none());
    }
}
