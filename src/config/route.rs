//! `routes`: the runtime form of each route (path matcher, auth mode, requirements,
//! action), as validated by `config/validate/routes.rs` and matched by `proxy/route.rs`.

use http::Method;

use crate::auth::claim_path::ClaimPath;
use crate::config::TokenUse;

/// A route's path matcher (`routes[].match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Whole-segment prefix, normalized, without a trailing slash except for "/".
    Prefix(String),
    /// Exact normalized path.
    Exact(String),
}

/// What a route asks of a request's token (`routes[].auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The token is never looked at; no identity headers are added.
    None,
    /// No token: forwarded without identity; a token: it must be valid.
    Optional,
    /// A valid token is required.
    Required,
}

impl AuthMode {
    /// The word the file uses for it (`auth: optional`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Optional => "optional",
            AuthMode::Required => "required",
        }
    }
}

/// A route's requirements on a verified token (`routes[].require`); empty lists require nothing.
#[derive(Debug, Clone, Default)]
pub struct Require {
    /// Empty: any token_use the issuer allows.
    pub token_use: Vec<TokenUse>,
    /// `cognito:groups` must contain at least one of these.
    pub groups_any: Vec<String>,
    /// `cognito:groups` must contain all of these.
    pub groups_all: Vec<String>,
    /// The space-separated `scope` claim must contain all of these.
    pub scopes_all: Vec<String>,
    /// The space-separated `scope` claim must contain at least one of these.
    pub scopes_any: Vec<String>,
    /// claim -> accepted texts (the claim must match one of them; reference section 3.7).
    pub claims: Vec<(ClaimPath, Vec<String>)>,
}

impl Require {
    /// Whether it requires nothing.
    pub fn is_empty(&self) -> bool {
        self.token_use.is_empty()
            && self.groups_any.is_empty()
            && self.groups_all.is_empty()
            && self.scopes_all.is_empty()
            && self.scopes_any.is_empty()
            && self.claims.is_empty()
    }
}

/// What a route does with an allowed request (`routes[].action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAction {
    /// Forward it (proxy mode) or answer 200 (authz mode): the default.
    Forward,
    /// Revoke the token's session (`origin_jti`, else `jti`) and answer 204 from tokengate
    /// itself; only on `auth: required` routes, only with a `revocation` section.
    Logout,
}

/// One entry of `routes`.
#[derive(Debug, Clone)]
pub struct Route {
    /// The configured name, or the route's 0-based index.
    pub name: String,
    /// Which paths it matches.
    pub path: PathMatch,
    /// `None`: every method.
    pub methods: Option<Vec<Method>>,
    /// `match.cors_preflight`: matches only a CORS preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`); validation allows it only on `auth: none` routes.
    pub cors_preflight: bool,
    /// What it asks of the token.
    pub auth: AuthMode,
    /// Empty on `auth: none` routes (validation refuses it there).
    pub require: Require,
    /// Forward, or answer a logout.
    pub action: RouteAction,
}
