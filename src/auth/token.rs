//! Finding the token in a request (Authorization, a named header, cookie, query, the ALB's
//! `x-amzn-oidc-data`), as a redacted newtype.
//! Runs per request on the request as received: no lock, no I/O, never logs a value.

mod bearer;
mod cookie;
mod named;
mod percent;
mod query;

use std::fmt;

use http::HeaderMap;

pub use query::strip_query_param;

use crate::config::TokenSource;
use crate::proxy::headers::reserved::X_AMZN_OIDC_DATA;

/// A raw token. `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token's text.
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }

    /// The token's text, for verification only: never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Token bytes as text, validated without a copy first (std's validation has an ASCII
    /// fast path that `from_utf8_lossy` lacks). Invalid UTF-8 is kept lossily: it is still
    /// "a token", and verification refuses it as malformed (401) rather than the request
    /// silently counting as anonymous.
    fn from_bytes(bytes: &[u8]) -> Token {
        match std::str::from_utf8(bytes) {
            Ok(s) => Token::new(s),
            Err(_) => Token::new(String::from_utf8_lossy(bytes)),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(len={})", self.0.len())
    }
}

/// Why the request is malformed as far as tokens go (400 `invalid_request`). `index` is the
/// index into `token.sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("more than one Authorization header")]
    DuplicateAuthorization,
    #[error("token cookie (source {index}) sent twice with different values")]
    AmbiguousCookie { index: usize },
    #[error("token query parameter (source {index}) sent twice with different values")]
    AmbiguousQueryParameter { index: usize },
    #[error("token header (source {index}) sent twice with different values")]
    AmbiguousHeader { index: usize },
}

impl TokenError {
    /// The `error_description` of the 400 response.
    pub fn description(&self) -> &'static str {
        match self {
            TokenError::DuplicateAuthorization => "more than one Authorization header",
            TokenError::AmbiguousCookie { .. } => "token cookie sent twice with different values",
            TokenError::AmbiguousQueryParameter { .. } => {
                "token query parameter sent twice with different values"
            }
            TokenError::AmbiguousHeader { .. } => "token header sent twice with different values",
        }
    }
}

/// Looks for a token in `sources`, in order; the first source that is present decides, and
/// its index is returned with the token. Absent everywhere -> `Ok(None)`.
///
/// - header: `Authorization: Bearer <t>` (scheme case-insensitive). Another scheme, or
///   `Bearer` with nothing after it, counts as absent; two Authorization headers -> error
///   (checked when this source's turn comes).
/// - `alb`: `x-amzn-oidc-data`, read like `header:NAME` (reference section 9).
/// - `header:NAME`: the header's whole value, without surrounding whitespace, is the token
///   (no scheme); an empty value counts as absent; two different non-empty values -> error
///   (the same value twice is accepted).
/// - `cookie:NAME`: every `Cookie` header (HTTP/2 sends several) is read; an empty value
///   counts as absent; one surrounding pair of double quotes is removed; two different
///   non-empty values -> error (the same value twice is accepted).
/// - `query:NAME`: the raw query, names compared after percent-decoding (as
///   [`strip_query_param`] does, so an extracted token is always stripped); the value is
///   percent-decoded (`+` stays `+`, a bad escape stays as written); an empty value counts
///   as absent; two different non-empty values (after decoding) -> error (the same value
///   twice is accepted, and every occurrence is stripped before forwarding).
///
/// A value that is not UTF-8 is passed on lossily: it is still "a token", and verification
/// refuses it as malformed (401) rather than the request silently counting as anonymous.
///
/// # Errors
/// The [`TokenError`] of the first source, in order, that is present but ambiguous.
pub fn extract(
    headers: &HeaderMap,
    query: Option<&str>,
    sources: &[TokenSource],
) -> Result<Option<(Token, usize)>, TokenError> {
    for (index, source) in sources.iter().enumerate() {
        let found = match source {
            TokenSource::Header => bearer::from_authorization(headers)?,
            TokenSource::NamedHeader(name) => named::from_header(headers, name, index)?,
            // The ALB's signed claims: the header's whole value, as for `header:NAME`.
            TokenSource::Alb => named::from_header(headers, &X_AMZN_OIDC_DATA, index)?,
            TokenSource::Cookie(name) => cookie::from_cookies(headers, name, index)?,
            TokenSource::Query(name) => match query {
                Some(query) => query::from_query(query, name, index)?,
                None => None,
            },
        };
        if let Some(token) = found {
            return Ok(Some((token, index)));
        }
    }
    Ok(None)
}

/// `s` without leading and trailing optional whitespace (spaces and tabs, RFC 9110
/// section 5.6.3).
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests;
