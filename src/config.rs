//! The runtime configuration: validated, typed, and never re-parsed per request.
//! Built only by `config::validate` from the serde view in `config::raw`; what an omitted
//! key becomes is named in `config::defaults`.

pub mod defaults;
pub mod files;
pub mod interpolate;
pub mod problem;
pub mod raw;
pub mod revocation;
pub mod route;
pub mod schema;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, Uri};

pub use crate::auth::claim_path::ClaimPath;
pub use problem::{ConfigError, Problem};
pub use revocation::{ApiToken, RedisConfig, RedisUrl, RevocationConfig, StoreKind};
pub use route::{AuthMode, PathMatch, Require, Route, RouteAction};
pub use validate::{load_file, load_str};

/// Which job the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Verify, then forward to `upstream`.
    Proxy,
    /// Answer a gateway's check (nginx auth_request, ForwardAuth, Envoy ext_authz).
    Authz,
}

impl Mode {
    /// The word the file uses for it (`mode: proxy`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Proxy => "proxy",
            Mode::Authz => "authz",
        }
    }
}

/// The whole validated file. Every field is typed; every rule of reference section 2 already holds.
#[derive(Debug, Clone)]
pub struct Config {
    /// `mode`.
    pub mode: Mode,
    /// `server`: the data-plane listener.
    pub server: ServerConfig,
    /// `admin`: the admin listener.
    pub admin: AdminConfig,
    /// `Some` in proxy mode, `None` in authz mode (validation guarantees it).
    pub upstream: Option<UpstreamConfig>,
    /// `authz`: the defaults unless in authz mode.
    pub authz: AuthzConfig,
    /// `issuers`: at least one; names and issuer URLs unique.
    pub issuers: Vec<IssuerConfig>,
    /// `jwks`: how keys are fetched and kept.
    pub jwks: JwksConfig,
    /// `token`: where tokens are found, and their limits.
    pub token: TokenConfig,
    /// `routes`: at least one, first match wins; names unique.
    pub routes: Vec<Route>,
    /// `forward`: what reaches the upstream.
    pub forward: ForwardConfig,
    /// `log`.
    pub log: LogConfig,
    /// `revocation`: `None` when the section is absent (nothing is revoked or checked).
    pub revocation: Option<RevocationConfig>,
}

/// `server`: the data-plane listener and its limits (defaults in `config::defaults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Data-plane address.
    pub listen: SocketAddr,
    /// HTTPS with ALPN h2/http1.1; `None`: HTTP/1.1 and h2c.
    pub tls: Option<TlsConfig>,
    /// Largest request head, in bytes (> 0); larger -> 431.
    pub max_header_bytes: usize,
    /// From a request head's first byte until it is complete (> 0).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight this long is closed (> 0).
    pub idle_timeout: Duration,
    /// Concurrent connections (> 0).
    pub max_connections: usize,
    /// How long in-flight requests get after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
}

/// Authz mode's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzConfig {
    /// Removed from the check request's path (Envoy HTTP ext_authz `path_prefix`).
    pub path_prefix: String,
    /// Envoy ext_authz gRPC (`envoy.service.auth.v3.Authorization/Check`) listener.
    pub grpc_listen: Option<SocketAddr>,
}

/// PEM files, re-read on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (RSA or ECDSA) matching the leaf.
    pub key_file: PathBuf,
}

/// `admin`: the listener of `/healthz`, `/readyz`, `/keys` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Admin address.
    pub listen: SocketAddr,
}

/// `upstream`: where proxy mode forwards verified requests.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// `http` or `https`, an authority, and a path prefix (no trailing slash; "" for none).
    pub url: Uri,
    /// Connecting longer than this -> 502 (> 0).
    pub connect_timeout: Duration,
    /// Until the response head arrives, else 504 (> 0).
    pub timeout: Duration,
    /// HTTP/2 to the upstream (h2c prior knowledge for `http://`, ALPN for `https://`).
    pub http2: bool,
    /// PEM bundle trusted for an https upstream besides the bundled web PKI roots.
    pub ca_file: Option<PathBuf>,
}

impl UpstreamConfig {
    /// The path prefix prepended to every forwarded path ("" when the URL has none).
    pub fn path_prefix(&self) -> &str {
        self.url.path().trim_end_matches('/')
    }
}

/// Cognito's `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    /// An access token (`client_id` claim).
    Access,
    /// An ID token (`aud` claim).
    Id,
}

impl TokenUse {
    /// The `token_use` claim value (`access`, `id`), as written in the file too.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

/// The signature algorithms tokengate can be told to accept, by their JOSE names (RFC 7518;
/// EdDSA: RFC 8037). `none` and `HS*` do not exist here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl Alg {
    /// Every algorithm, in the order error messages list them.
    pub const ALL: [Alg; 9] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// The JOSE `alg` name (`RS256`), as written in the file too.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The algorithm with this exact JOSE name; `None` for any other text (`none`, `HS256`).
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Which rules a token of this issuer is held to.
#[derive(Debug, Clone)]
pub enum IssuerKind {
    /// Cognito rules: `token_use` required and allowed; ID token `aud`, access token `client_id`.
    Cognito {
        /// Non-empty: ID token `aud` / access token `client_id` must be one of these.
        client_ids: Vec<String>,
        /// Non-empty: the token uses accepted.
        token_use: Vec<TokenUse>,
        /// Resource binding: when non-empty, an access token's `aud` (string or array)
        /// must intersect it. Empty: an access token's `aud` is not judged.
        audiences: Vec<String>,
    },
    /// Generic OIDC rules: `aud` (string or array) intersects `audiences`.
    Generic {
        /// Non-empty.
        audiences: Vec<String>,
    },
    /// ALB-signed `x-amzn-oidc-data` tokens (reference section 9): ES256 only, header
    /// `signer` one of `arns`, header `client` one of `client_ids`; the issuer's `jwks_uri`
    /// is the ALB key URL (`{jwks_uri}/{kid}` is one PEM public key).
    Alb {
        /// Non-empty: ALB ARNs (`arn:aws:elasticloadbalancing:{region}:...`) whose tokens
        /// are accepted.
        arns: Vec<String>,
        /// Non-empty: the ALB's app client ids (header `client`).
        client_ids: Vec<String>,
    },
}

/// One entry of `issuers`.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// `[a-z0-9_-]+`, unique; used in metrics, logs and `verify`.
    pub name: String,
    /// The exact `iss` value tokens of this issuer carry.
    pub issuer: String,
    /// Where its keys are fetched: http(s); http only for loopback or with `allow_http`.
    pub jwks_uri: Uri,
    /// Cognito or generic OIDC rules.
    pub kind: IssuerKind,
    /// Non-empty, without duplicates.
    pub algorithms: Vec<Alg>,
    /// Leeway for `exp` and `nbf`.
    pub clock_skew: Duration,
}

impl IssuerConfig {
    /// Whether this issuer verifies ALB `x-amzn-oidc-data` tokens (`alb:`), which only the
    /// `alb` token source carries; the other sources never match it.
    pub fn is_alb(&self) -> bool {
        matches!(self.kind, IssuerKind::Alb { .. })
    }
}

/// `jwks`: how every issuer's keys are fetched and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    /// Background refresh period, before jitter (> 0).
    pub refresh_interval: Duration,
    /// Floor between a fetch's start and an unknown-kid refetch (<= `refresh_interval`).
    pub min_refresh_interval: Duration,
    /// One fetch, connect to last body byte (> 0).
    pub fetch_timeout: Duration,
    /// Largest JWKS document, in bytes (> 0).
    pub max_bytes: usize,
    /// Directory of the last good JWKS per issuer; `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Keys unconfirmed this long are dropped (> `refresh_interval`); `None`: kept forever.
    pub max_stale: Option<Duration>,
    /// PEM bundle trusted for JWKS endpoints besides the web PKI roots.
    pub ca_file: Option<PathBuf>,
    /// `http://` JWKS URIs allowed on non-loopback hosts.
    pub allow_http: bool,
}

/// Where a token may be found (`token.sources`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Header,
    /// `cookie:NAME`: the cookie of this name (letters, digits, `-_.`).
    Cookie(String),
    /// `query:NAME`: the query parameter of this name (letters, digits, `-_.`).
    Query(String),
    /// `header:NAME`: the raw token as this header's whole value (lower case; never
    /// `authorization`, `cookie`, `host`, `content-length` or a hop-by-hop header).
    NamedHeader(HeaderName),
    /// `alb`: the `x-amzn-oidc-data` header an AWS ALB sets, verified by the `alb:` issuers
    /// only (reference section 9).
    Alb,
}

/// `token`.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Non-empty, without duplicates; the first one present decides.
    pub sources: Vec<TokenSource>,
    /// Longest token accepted, in bytes (> 0).
    pub max_bytes: usize,
    /// Verified-token cache size, in entries; 0 disables the cache.
    pub cache_entries: usize,
    /// Verified-token cache bound, in bytes of estimated memory (> 0).
    pub cache_max_bytes: u64,
}

/// Whether the Authorization header reaches the upstream (`forward.authorization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationForward {
    /// Forwarded as received.
    Keep,
    /// Removed before forwarding.
    Strip,
}

impl AuthorizationForward {
    /// The word the file uses for it (`authorization: strip`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthorizationForward::Keep => "keep",
            AuthorizationForward::Strip => "strip",
        }
    }
}

/// `forward`: identity headers and what is removed before forwarding.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// Lower-case, `-` separated (`x-auth-`).
    pub header_prefix: String,
    /// `None` when configured as "".
    pub claims_header: Option<HeaderName>,
    /// Whether the Authorization header reaches the upstream.
    pub authorization: AuthorizationForward,
    /// extra header -> claim (a top-level name or a JSON Pointer).
    pub headers: Vec<(HeaderName, ClaimPath)>,
}

/// How log lines are written (`log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

impl LogFormat {
    /// The word the file uses for it (`format: text`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Text => "text",
        }
    }
}

/// `log`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Line format.
    pub format: LogFormat,
    /// A valid tracing `EnvFilter` directive (`RUST_LOG` overrides it).
    pub level: String,
    /// One line per request.
    pub access_log: bool,
}
