//! The runtime configuration: validated, typed, and never re-parsed per request.
//! Built only by `config::validate` from the serde view in `config::raw`.

pub mod interpolate;
pub mod raw;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, Method, Uri};

pub use validate::{load_file, load_str, ConfigError, Problem};

/// Which job the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Verify, then forward to `upstream`.
    Proxy,
    /// Answer a gateway's check (nginx auth_request, ForwardAuth, Envoy ext_authz).
    Authz,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub server: ServerConfig,
    pub admin: AdminConfig,
    /// `Some` in proxy mode, `None` in authz mode (validation guarantees it).
    pub upstream: Option<UpstreamConfig>,
    pub authz: AuthzConfig,
    pub issuers: Vec<IssuerConfig>,
    pub jwks: JwksConfig,
    pub token: TokenConfig,
    pub routes: Vec<Route>,
    pub forward: ForwardConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// HTTPS with ALPN h2/http1.1; `None`: HTTP/1.1 and h2c.
    pub tls: Option<TlsConfig>,
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
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
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// `http` or `https`, an authority, and a path prefix (no trailing slash; "" for none).
    pub url: Uri,
    pub connect_timeout: Duration,
    pub timeout: Duration,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUse {
    Access,
    Id,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

/// The signature algorithms tokengate can be told to accept. `none` and `HS*` do not exist here.
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

    pub fn as_str(self) -> &'static str {
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

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Which rules a token of this issuer is held to.
#[derive(Debug, Clone)]
pub enum IssuerKind {
    /// Cognito rules: `token_use` required and allowed; ID token `aud`, access token `client_id`.
    Cognito {
        client_ids: Vec<String>,
        token_use: Vec<TokenUse>,
    },
    /// Generic OIDC rules: `aud` (string or array) intersects `audiences`.
    Generic { audiences: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// `[a-z0-9_-]+`, unique; used in metrics, logs and `verify`.
    pub name: String,
    /// The exact `iss` value tokens of this issuer carry.
    pub issuer: String,
    pub jwks_uri: Uri,
    pub kind: IssuerKind,
    pub algorithms: Vec<Alg>,
    pub clock_skew: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    pub refresh_interval: Duration,
    pub min_refresh_interval: Duration,
    pub fetch_timeout: Duration,
    pub max_bytes: usize,
    pub cache_dir: Option<PathBuf>,
    pub max_stale: Option<Duration>,
    pub ca_file: Option<PathBuf>,
    pub allow_http: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Header,
    Cookie(String),
    Query(String),
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub sources: Vec<TokenSource>,
    pub max_bytes: usize,
    pub cache_entries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Whole-segment prefix, normalized, without a trailing slash except for "/".
    Prefix(String),
    /// Exact normalized path.
    Exact(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    None,
    Optional,
    Required,
}

#[derive(Debug, Clone, Default)]
pub struct Require {
    /// Empty: any token_use the issuer allows.
    pub token_use: Vec<TokenUse>,
    pub groups_any: Vec<String>,
    pub groups_all: Vec<String>,
    pub scopes_all: Vec<String>,
    /// claim name -> accepted values (the claim must equal one of them).
    pub claims: Vec<(String, Vec<String>)>,
}

impl Require {
    pub fn is_empty(&self) -> bool {
        self.token_use.is_empty()
            && self.groups_any.is_empty()
            && self.groups_all.is_empty()
            && self.scopes_all.is_empty()
            && self.claims.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    /// The configured name, or the route's 0-based index.
    pub name: String,
    pub path: PathMatch,
    /// `None`: every method.
    pub methods: Option<Vec<Method>>,
    pub auth: AuthMode,
    pub require: Require,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationForward {
    Keep,
    Strip,
}

#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// Lower-case, `-` separated (`x-auth-`).
    pub header_prefix: String,
    /// `None` when configured as "".
    pub claims_header: Option<HeaderName>,
    pub authorization: AuthorizationForward,
    /// extra header -> claim name.
    pub headers: Vec<(HeaderName, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
    pub access_log: bool,
}
