//! Header hygiene (reference section 5): remove before add. Strips hop-by-hop, Connection-named and
//! identity-alias headers, then sets identity and X-Forwarded-* headers. Runs per request:
//! no lock, no I/O; header names are `const` or precomputed once in `HeaderRules::new`.
//!
//! One concern per file: [`reserved`] holds every name tokengate keeps for itself, `hop_by_hop`
//! the RFC 9110 section 7.6.1 strip, `alb` the ALB's `x-amzn-oidc-*` headers, `forwarded` the host and X-Forwarded-* headers, `cookie`
//! the HTTP/1.1 form of split cookie fields, `identity` the per-config [`HeaderRules`], and
//! `fold` how names are compared.

mod alb;
mod cookie;
pub mod fold;
mod forwarded;
mod hop_by_hop;
mod identity;
pub mod reserved;

use http::{HeaderMap, HeaderName, HeaderValue};

pub use alb::strip_alb;
pub use cookie::join_cookies;
pub use forwarded::{client_address, request_host, set_forwarded, set_host};
pub use hop_by_hop::{restore_upgrade, strip_response};
pub use identity::HeaderRules;
pub use reserved::{X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO};

/// Why a request's headers cannot be forwarded as they are; each maps to 400
/// `invalid_request`. `TooManyHeaders`: the header map is full (http's limit is 32768
/// entries; hyper refuses requests with far fewer headers, so this is a guard, not an
/// expected path). The others: the request does not name exactly one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("too many headers")]
    TooManyHeaders,
    #[error("Host header sent more than once")]
    DuplicateHost,
    #[error("Host header differs from the request's authority")]
    ConflictingHost,
    #[error("userinfo (user@) in the request's authority or Host header")]
    HostUserinfo,
}

impl HeaderError {
    /// The `error_description` of the 400 response.
    pub fn description(&self) -> &'static str {
        match self {
            HeaderError::TooManyHeaders => "too many headers",
            HeaderError::DuplicateHost => "Host header sent more than once",
            HeaderError::ConflictingHost => "Host header differs from :authority",
            HeaderError::HostUserinfo => "userinfo in the request's host",
        }
    }
}

/// Sets `name` to `value`, replacing every earlier value.
fn set(headers: &mut HeaderMap, name: HeaderName, value: HeaderValue) -> Result<(), HeaderError> {
    headers
        .try_insert(name, value)
        .map(drop)
        .map_err(|_| HeaderError::TooManyHeaders)
}

#[cfg(test)]
mod tests;
