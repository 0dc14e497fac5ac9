//! What the Redis store is configured with (`revocation.redis` and the section's lifetimes),
//! the URL parsed once into where to connect and how to sign in, and the redaction every log
//! line and error uses so the URL's password never leaves this process.

use std::path::PathBuf;
use std::time::Duration;

use redis::{ProtocolVersion, RedisConnectionInfo};

/// Default `revocation.redis.key_prefix`.
pub const DEFAULT_KEY_PREFIX: &str = "tokengate:";
/// Default `revocation.max_token_lifetime` (Cognito's longest ID/access token validity).
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long a connection attempt, and then each write or load command, may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The Redis store's settings, as the lead maps them from the validated `revocation`
/// section (`redis.url`, `redis.ca_file`, `redis.key_prefix`, `max_token_lifetime`).
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS), `user:password@` allowed, `/<db>` optional.
    pub url: String,
    /// A PEM bundle trusted for `rediss://` besides the web PKI roots.
    pub ca_file: Option<PathBuf>,
    /// Every key tokengate writes starts with it.
    pub key_prefix: String,
    /// How long the stream keeps a change (entries themselves expire at their `expires_at`).
    pub max_token_lifetime: Duration,
    /// Bounds a connection attempt and each command; `add` and `remove` give up (503) after
    /// at most twice this.
    pub timeout: Duration,
}

impl RedisSettings {
    /// Settings for `url` with every other value at its default.
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            ca_file: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact(&self.url))
            .field("ca_file", &self.ca_file)
            .field("key_prefix", &self.key_prefix)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why `revocation.redis.url` cannot be used. Never carries the URL (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a URL")]
    NotAUrl,
    #[error(
        "scheme must be redis or rediss (Sentinel, Cluster and Unix sockets are not supported)"
    )]
    Scheme,
    #[error("host missing")]
    NoHost,
    #[error("the path must be empty or a database number")]
    Database,
    #[error("user name or password is not valid percent-encoded UTF-8")]
    Credentials,
    #[error("query parameters and fragments are not supported")]
    Extra,
}

/// Where and how to connect: parsed once from the URL.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Database, user name and password, as the connection handshake sends them.
    pub redis: RedisConnectionInfo,
}

impl Endpoint {
    /// Parses `redis://[user[:password]@]host[:port][/db]` (or `rediss://`, TLS).
    pub fn parse(input: &str) -> Result<Endpoint, UrlError> {
        let url = url::Url::parse(input).map_err(|_| UrlError::NotAUrl)?;
        let tls = match url.scheme() {
            "redis" => false,
            "rediss" => true,
            _ => return Err(UrlError::Scheme),
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(UrlError::Extra);
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(UrlError::NoHost),
        };
        let db = match url.path().trim_matches('/') {
            "" => 0,
            n => n.parse::<i64>().map_err(|_| UrlError::Database)?,
        };
        let mut redis = RedisConnectionInfo::default()
            .set_db(db)
            .set_protocol(ProtocolVersion::RESP2)
            // CLIENT SETINFO exists from Redis 7.2 only: one round trip less, no error reply.
            .set_skip_set_lib_name();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| UrlError::Credentials)
        };
        if !url.username().is_empty() {
            redis = redis.set_username(decode(url.username())?);
        }
        if let Some(password) = url.password() {
            redis = redis.set_password(decode(password)?);
        }
        Ok(Endpoint {
            host,
            port: url.port().unwrap_or(6379),
            tls,
            redis,
        })
    }
}

/// `url` with everything between `://` and the last `@` replaced by `***`, so neither the
/// user name nor the password is ever written out; works on strings that do not parse.
pub fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_user_and_password_even_in_odd_urls() {
        let cases = [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://u:s3cret@h:1/2", "redis://***@h:1/2"),
            ("rediss://:s3cret@h", "rediss://***@h"),
            ("redis://u:p@ss/w?rd@h", "redis://***@h"),
            ("redis://u:p#w@h", "redis://***@h"),
            ("u:s3cret@h", "***@h"),
            ("", ""),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
            assert!(!redact(url).contains("s3cret"));
        }
        let settings = RedisSettings::new("redis://u:s3cret@h");
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn urls_parse_into_host_port_tls_db_and_credentials() {
        let e = Endpoint::parse("rediss://alice:p%40ss@cache.example:6380/3").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("cache.example", 6380, true)
        );
        assert_eq!(e.redis.db(), 3);
        assert_eq!(e.redis.username(), Some("alice"));
        assert_eq!(e.redis.password(), Some("p@ss"));
        let e = Endpoint::parse("redis://:only-password@[::1]").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.tls), ("::1", 6379, false));
        assert_eq!(e.redis.username(), None);
        assert_eq!(e.redis.password(), Some("only-password"));
    }

    #[test]
    fn unsupported_urls_are_named_without_echoing_them() {
        for (url, want) in [
            ("nonsense", UrlError::NotAUrl),
            ("redis+sentinel://h:26379/mymaster", UrlError::Scheme),
            ("unix:///run/redis.sock", UrlError::Scheme),
            ("http://h", UrlError::Scheme),
            ("redis://h/x", UrlError::Database),
            ("redis://h/0?protocol=resp3", UrlError::Extra),
            ("redis://u:%FF@h", UrlError::Credentials),
        ] {
            assert_eq!(Endpoint::parse(url).err(), Some(want), "{url}");
        }
    }
}
