//! Header hygiene (SPEC section 5): remove before add. Strips hop-by-hop, Connection-named and
//! identity-alias headers, then sets identity and X-Forwarded-* headers. Runs per request:
//! no lock, no I/O; header names are `const` or precomputed once in `HeaderRules::new`.
//!
//! One concern per file: [`reserved`] holds every name tokengate keeps for itself, `hop_by_hop`
//! the RFC 9110 section 7.6.1 strip, `forwarded` the X-Forwarded-* headers, `identity` the
//! per-config [`HeaderRules`], and `fold` how names are compared.

pub mod fold;
mod forwarded;
mod hop_by_hop;
mod identity;
pub mod reserved;

use http::{HeaderMap, HeaderName, HeaderValue};

pub use forwarded::{request_host, set_forwarded};
pub use hop_by_hop::{restore_upgrade, strip_response};
pub use identity::HeaderRules;
pub use reserved::{X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO};

/// The header map is full (http's limit is 32768 entries; hyper refuses requests with far
/// fewer headers, so this is a guard, not an expected path). Maps to 400 `invalid_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("too many headers")]
    TooManyHeaders,
}

impl HeaderError {
    /// The `error_description` of the 400 response.
    pub fn description(&self) -> &'static str {
        match self {
            HeaderError::TooManyHeaders => "too many headers",
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
