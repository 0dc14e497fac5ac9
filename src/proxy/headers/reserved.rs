//! The one list of header names tokengate keeps for itself (reference section 5): hop-by-hop,
//! X-Forwarded-*, Host, the credentials, the body framing, the request id and trace
//! context, and the identity headers. Header
//! hygiene strips and sets these names; the config validator refuses them in `forward.headers`.

use http::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, COOKIE, FORWARDED, HOST, PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::HeaderName;

use super::fold::fold;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Set by tokengate: the incoming chain with the client address appended (reference section 5).
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// Set by tokengate: `https` or `http`, the scheme of its listener (reference section 5).
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// Set by tokengate: the host the client asked for (reference section 5).
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// Set by tokengate: the request id (the client's when sane, else a new one), sent upstream
/// and returned on every response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Set by tokengate: W3C Trace Context, tokengate's span as the parent.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// Passed on with a continued `traceparent`, removed when tokengate starts the trace.
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// The header an AWS ALB puts its signed user claims in (reference section 9): the `alb`
/// token source.
pub const X_AMZN_OIDC_DATA: HeaderName = HeaderName::from_static("x-amzn-oidc-data");
/// Every folded name that starts with this is the ALB's (`-data`, `-identity`,
/// `-accesstoken`): forwarded only on a request whose `x-amzn-oidc-data` verified.
pub const X_AMZN_OIDC_FAMILY: &str = "x-amzn-oidc-";
/// Every folded name that starts with this belongs to the X-Forwarded family.
const X_FORWARDED_FAMILY: &str = "x-forwarded-";

/// Removed from requests and responses: RFC 9110 section 7.6.1 (`Connection`, `TE`,
/// `Transfer-Encoding`, `Upgrade`, `Proxy-*`, `Trailer`), plus the legacy `Keep-Alive` and
/// `Proxy-Connection`.
pub const HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// The identity headers tokengate sets for a verified token, each named `header_prefix`
/// followed by [`IdentityHeader::suffix`] (the table of reference section 5; `claims_header` is
/// configured on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityHeader {
    Sub,
    Username,
    Email,
    Groups,
    Scope,
    ClientId,
    TokenUse,
    Issuer,
}

impl IdentityHeader {
    /// Every identity header, in the order of the the reference table.
    pub const ALL: [IdentityHeader; 8] = [
        IdentityHeader::Sub,
        IdentityHeader::Username,
        IdentityHeader::Email,
        IdentityHeader::Groups,
        IdentityHeader::Scope,
        IdentityHeader::ClientId,
        IdentityHeader::TokenUse,
        IdentityHeader::Issuer,
    ];

    /// The name after `header_prefix`, lower case: `x-auth-` + `client-id`.
    pub fn suffix(self) -> &'static str {
        match self {
            IdentityHeader::Sub => "sub",
            IdentityHeader::Username => "username",
            IdentityHeader::Email => "email",
            IdentityHeader::Groups => "groups",
            IdentityHeader::Scope => "scope",
            IdentityHeader::ClientId => "client-id",
            IdentityHeader::TokenUse => "token-use",
            IdentityHeader::Issuer => "issuer",
        }
    }
}

/// Why a header name is tokengate's and cannot be set from a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// One of [`HOP_BY_HOP`]: removed on every hop, never forwarded.
    HopByHop,
    /// `x-forwarded-*` or `forwarded` (RFC 7239): tokengate sets X-Forwarded-For, -Proto and
    /// -Host, and upstreams read the family as facts about the client connection.
    Forwarded,
    /// `host`: passed as the client sent it.
    Host,
    /// `authorization`: carries the token; `forward.authorization` keeps or strips it.
    Authorization,
    /// `cookie`: can carry the token (`token.sources`).
    Cookie,
    /// `content-length`: frames the request body (RFC 9112 section 6.2).
    ContentLength,
    /// `header_prefix` followed by an [`IdentityHeader`] suffix: tokengate sets it.
    Identity,
    /// `forward.claims_header`: tokengate sets it to the verified payload.
    ClaimsHeader,
    /// `x-request-id`, `traceparent`, `tracestate`: tokengate sets the request's ids.
    Tracing,
    /// `x-amzn-oidc-*`: the ALB's headers, forwarded only when `x-amzn-oidc-data` verified.
    Alb,
}

impl Reserved {
    /// Why, as a phrase for a config problem ("cannot be set from a claim: ...").
    pub fn description(self) -> &'static str {
        match self {
            Reserved::HopByHop => "hop-by-hop header (RFC 9110 section 7.6.1)",
            Reserved::Forwarded => "X-Forwarded-* and Forwarded describe the client connection",
            Reserved::Host => "Host is passed as the client sent it",
            Reserved::Authorization => "Authorization carries the token",
            Reserved::Cookie => "Cookie can carry the token",
            Reserved::ContentLength => "Content-Length frames the body",
            Reserved::Identity => "tokengate sets this identity header",
            Reserved::ClaimsHeader => "tokengate sets forward.claims_header",
            Reserved::Tracing => "tokengate sets the request id and trace context",
            Reserved::Alb => {
                "x-amzn-oidc-* are the ALB's, forwarded only when x-amzn-oidc-data verified"
            }
        }
    }
}

/// Whether a `forward.headers` name may be set from a claim: `None` when it may, else why
/// not. `name` and `claims_header` are compared folded (lower case, `_` and `.` read as
/// `-`, as header hygiene does), so `X_Forwarded_Host` is `x-forwarded-host`; `header_prefix`
/// is folded the same way before the identity names are formed from it. Pass
/// `claims_header: None` when it is disabled, or to check `claims_header` itself.
/// Runs at config time (allocates).
pub fn forward_header_conflict(
    name: &str,
    header_prefix: &str,
    claims_header: Option<&str>,
) -> Option<Reserved> {
    let name = fold(name);
    let is = |reserved: &HeaderName| name == reserved.as_str();
    if HOP_BY_HOP.iter().any(is) {
        return Some(Reserved::HopByHop);
    }
    if name.starts_with(X_FORWARDED_FAMILY) || is(&FORWARDED) {
        return Some(Reserved::Forwarded);
    }
    if name.starts_with(X_AMZN_OIDC_FAMILY) {
        return Some(Reserved::Alb);
    }
    let fixed = [
        (HOST, Reserved::Host),
        (AUTHORIZATION, Reserved::Authorization),
        (COOKIE, Reserved::Cookie),
        (CONTENT_LENGTH, Reserved::ContentLength),
        (X_REQUEST_ID, Reserved::Tracing),
        (TRACEPARENT, Reserved::Tracing),
        (TRACESTATE, Reserved::Tracing),
    ];
    if let Some((_, reserved)) = fixed.iter().find(|(header, _)| is(header)) {
        return Some(*reserved);
    }
    let prefix = fold(header_prefix);
    let identity = name
        .strip_prefix(prefix.as_str())
        .is_some_and(|rest| IdentityHeader::ALL.iter().any(|h| rest == h.suffix()));
    if identity {
        return Some(Reserved::Identity);
    }
    if claims_header.is_some_and(|claims| name == fold(claims)) {
        return Some(Reserved::ClaimsHeader);
    }
    None
}

#[cfg(test)]
mod tests;
