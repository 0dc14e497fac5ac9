//! Every default the configuration file has, by name, in one place: what an omitted key
//! becomes. `DEFAULTS` lists them as README's configuration table states them; tests/docs.rs
//! fails when the two disagree.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::config::{AuthMode, AuthorizationForward, LogFormat, Mode, TokenUse};
use crate::revocation::list::OnUnavailable;

/// `mode`: verify, then forward to `upstream`.
pub const MODE: Mode = Mode::Proxy;

/// `server.listen`: every IPv4 interface, port 8080.
pub const SERVER_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080);
/// `server.max_header_bytes`, in bytes: a larger request head is answered 431.
pub const SERVER_MAX_HEADER_BYTES: u64 = 16_384;
/// `server.header_read_timeout`: from a request head's first byte until it is complete.
pub const SERVER_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `server.idle_timeout`: a keep-alive connection without a request in flight is closed after.
pub const SERVER_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `server.max_connections`: concurrent connections, counted by permits.
pub const SERVER_MAX_CONNECTIONS: u64 = 10_000;
/// `server.shutdown_grace`: how long in-flight requests get after SIGTERM/SIGINT.
pub const SERVER_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// `admin.listen`: loopback only, port 9901 (`/healthz`, `/readyz`, `/keys`, `/metrics`).
pub const ADMIN_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9901);

/// `upstream.connect_timeout`: a slower connect is answered 502.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// `upstream.timeout`: until the upstream's response head arrives, else 504.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
/// `upstream.http2`: HTTP/1.1 to the upstream.
pub const UPSTREAM_HTTP2: bool = false;

/// `issuers[].jwks_uri`: this path appended to the issuer URL (without its trailing `/`),
/// the OpenID Connect Discovery location Cognito serves.
pub const ISSUER_JWKS_PATH: &str = "/.well-known/jwks.json";
/// `issuers[].token_use` of a Cognito issuer: access tokens only.
pub const ISSUER_COGNITO_TOKEN_USE: &[TokenUse] = &[TokenUse::Access];
/// `issuers[].algorithms`, as written in the file: RS256, the one Cognito signs with.
pub const ISSUER_ALGORITHMS: &[&str] = &["RS256"];
/// `issuers[].clock_skew`: no leeway for `exp` and `nbf`.
pub const ISSUER_CLOCK_SKEW: Duration = Duration::ZERO;

/// `issuers[].alb.key_url`: where an ALB's public keys are (`{key_url}/{kid}`), from the
/// partition and region of its ARN: `https://public-keys.auth.elb.{region}.amazonaws.com`,
/// or in AWS GovCloud `https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}`
/// (the ALB user guide, "Authenticate users using an Application Load Balancer"; the same
/// defaults as aws-jwt-verify's `AlbJwtVerifier`).
pub fn alb_key_url(partition: &str, region: &str) -> String {
    if partition == "aws-us-gov" {
        format!("https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}")
    } else {
        format!("https://public-keys.auth.elb.{region}.amazonaws.com")
    }
}

/// `jwks.refresh_interval`: background refresh period (jittered +-10% by the refresher).
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// `jwks.min_refresh_interval`: floor between a fetch's start and an unknown-kid refetch.
pub const JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// `jwks.fetch_timeout`: one fetch, connect to last body byte.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// `jwks.max_bytes`, in bytes (1 MiB): a larger JWKS document fails the fetch.
pub const JWKS_MAX_BYTES: u64 = 1_048_576;
/// `jwks.allow_http`: `http://` JWKS URIs only on loopback hosts.
pub const JWKS_ALLOW_HTTP: bool = false;

/// `token.sources`, as written in the file: `Authorization: Bearer` only.
pub const TOKEN_SOURCES: &[&str] = &["header"];
/// `token.max_bytes`, in bytes: a longer token is refused with 401 before it is parsed.
pub const TOKEN_MAX_BYTES: u64 = 8192;
/// `token.cache_entries`: verified-token cache size, in entries (`0` disables the cache).
pub const TOKEN_CACHE_ENTRIES: u64 = 65_536;
/// `token.cache_max_bytes`: the verified-token cache's memory bound, in bytes of estimated
/// memory (64 MiB: ~11,000 typical Cognito tokens of ~1 KiB; `benches/cache_memory.rs`).
pub const TOKEN_CACHE_MAX_BYTES: u64 = 64 << 20;
/// The least `token.cache_max_bytes`: 1 MiB.
pub const TOKEN_CACHE_MAX_BYTES_MIN: u64 = 1 << 20;

/// `routes[].auth`: a valid token is required.
pub const ROUTE_AUTH: AuthMode = AuthMode::Required;
/// `routes[].match.cors_preflight`: off; a CORS preflight is a request like any other.
pub const ROUTE_CORS_PREFLIGHT: bool = false;

/// `forward.header_prefix`: incoming headers with it are removed; identity headers carry it.
pub const FORWARD_HEADER_PREFIX: &str = "x-auth-";
/// `forward.claims_header`: `forward.header_prefix` followed by this.
pub const FORWARD_CLAIMS_HEADER_SUFFIX: &str = "claims";
/// `forward.authorization`: the Authorization header is forwarded to the upstream.
pub const FORWARD_AUTHORIZATION: AuthorizationForward = AuthorizationForward::Keep;

/// `log.format`: one JSON object per line.
pub const LOG_FORMAT: LogFormat = LogFormat::Json;
/// `log.level`: a tracing `EnvFilter` directive (`RUST_LOG` overrides it).
pub const LOG_LEVEL: &str = "info";
/// `log.access_log`: one line per request.
pub const LOG_ACCESS_LOG: bool = true;

/// `revocation.store`: this process only (kept in `jwks.cache_dir` when set).
pub const REVOCATION_STORE: &str = "memory";
/// `revocation.redis.key_prefix`: every key tokengate writes in Redis starts with it.
pub const REVOCATION_REDIS_KEY_PREFIX: &str = "tokengate:";
/// `revocation.max_token_lifetime`: Cognito's longest ID/access token validity (1 day).
pub const REVOCATION_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// `revocation.max_lag`: how stale a shared list may get before `on_unavailable` applies.
pub const REVOCATION_MAX_LAG: Duration = Duration::from_secs(10);
/// `revocation.on_unavailable`: fail closed (503 `keys_unavailable` on token routes).
pub const REVOCATION_ON_UNAVAILABLE: OnUnavailable = OnUnavailable::Deny;

/// A default as README's configuration table states it (the "default" column, without its
/// backticks). Only for that comparison: the validator uses the constants themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A duration (`10s`, `1h`); README may write it in any unit that gives the same value.
    Duration(Duration),
    /// A whole number, written in digits (`16384`).
    Number(u64),
    /// `IP:PORT`.
    Addr(SocketAddr),
    /// `true` or `false`.
    Flag(bool),
    /// A word written as is (`proxy`, `x-auth-`).
    Word(&'static str),
    /// A list of words, written `[a, b]`.
    Words(&'static [&'static str]),
    /// A list of token uses, written `[access, id]`.
    TokenUses(&'static [TokenUse]),
    /// Another key's value followed by a fixed suffix, written `{key}suffix`.
    Appended {
        /// The key (within the same section) whose value comes first.
        to: &'static str,
        /// What follows it.
        suffix: &'static str,
    },
}

/// (key path as README writes it, e.g. `issuers[].algorithms`; its default) for every
/// constant above. Keys that default to nothing (`null`, `{}`, `""`) are not listed.
#[rustfmt::skip] // a table: one key a line
pub const DEFAULTS: &[(&str, DefaultValue)] = &[
    ("mode",                       DefaultValue::Word(MODE.as_str())),
    ("server.listen",              DefaultValue::Addr(SERVER_LISTEN)),
    ("server.max_header_bytes",    DefaultValue::Number(SERVER_MAX_HEADER_BYTES)),
    ("server.header_read_timeout", DefaultValue::Duration(SERVER_HEADER_READ_TIMEOUT)),
    ("server.idle_timeout",        DefaultValue::Duration(SERVER_IDLE_TIMEOUT)),
    ("server.max_connections",     DefaultValue::Number(SERVER_MAX_CONNECTIONS)),
    ("server.shutdown_grace",      DefaultValue::Duration(SERVER_SHUTDOWN_GRACE)),
    ("admin.listen",               DefaultValue::Addr(ADMIN_LISTEN)),
    ("upstream.connect_timeout",   DefaultValue::Duration(UPSTREAM_CONNECT_TIMEOUT)),
    ("upstream.timeout",           DefaultValue::Duration(UPSTREAM_TIMEOUT)),
    ("upstream.http2",             DefaultValue::Flag(UPSTREAM_HTTP2)),
    ("issuers[].jwks_uri",         DefaultValue::Appended { to: "issuer", suffix: ISSUER_JWKS_PATH }),
    ("issuers[].token_use",        DefaultValue::TokenUses(ISSUER_COGNITO_TOKEN_USE)),
    ("issuers[].algorithms",       DefaultValue::Words(ISSUER_ALGORITHMS)),
    ("issuers[].clock_skew",       DefaultValue::Duration(ISSUER_CLOCK_SKEW)),
    ("jwks.refresh_interval",      DefaultValue::Duration(JWKS_REFRESH_INTERVAL)),
    ("jwks.min_refresh_interval",  DefaultValue::Duration(JWKS_MIN_REFRESH_INTERVAL)),
    ("jwks.fetch_timeout",         DefaultValue::Duration(JWKS_FETCH_TIMEOUT)),
    ("jwks.max_bytes",             DefaultValue::Number(JWKS_MAX_BYTES)),
    ("jwks.allow_http",            DefaultValue::Flag(JWKS_ALLOW_HTTP)),
    ("token.sources",              DefaultValue::Words(TOKEN_SOURCES)),
    ("token.max_bytes",            DefaultValue::Number(TOKEN_MAX_BYTES)),
    ("token.cache_entries",        DefaultValue::Number(TOKEN_CACHE_ENTRIES)),
    ("token.cache_max_bytes",      DefaultValue::Number(TOKEN_CACHE_MAX_BYTES)),
    ("routes[].auth",              DefaultValue::Word(ROUTE_AUTH.as_str())),
    ("routes[].match.cors_preflight", DefaultValue::Flag(ROUTE_CORS_PREFLIGHT)),
    ("forward.header_prefix",      DefaultValue::Word(FORWARD_HEADER_PREFIX)),
    ("forward.claims_header",      DefaultValue::Appended { to: "header_prefix", suffix: FORWARD_CLAIMS_HEADER_SUFFIX }),
    ("forward.authorization",      DefaultValue::Word(FORWARD_AUTHORIZATION.as_str())),
    ("log.format",                 DefaultValue::Word(LOG_FORMAT.as_str())),
    ("log.level",                  DefaultValue::Word(LOG_LEVEL)),
    ("log.access_log",             DefaultValue::Flag(LOG_ACCESS_LOG)),
    ("revocation.store",           DefaultValue::Word(REVOCATION_STORE)),
    ("revocation.redis.key_prefix", DefaultValue::Word(REVOCATION_REDIS_KEY_PREFIX)),
    ("revocation.max_token_lifetime", DefaultValue::Duration(REVOCATION_MAX_TOKEN_LIFETIME)),
    ("revocation.max_lag",         DefaultValue::Duration(REVOCATION_MAX_LAG)),
    ("revocation.on_unavailable",  DefaultValue::Word(REVOCATION_ON_UNAVAILABLE.as_str())),
];
