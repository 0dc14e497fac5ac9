//! The `Authorization: Bearer <token>` source (RFC 6750 section 2.1). Runs per request:
//! no lock, no I/O, never logs a value.

use http::header::AUTHORIZATION;
use http::HeaderMap;

use super::{trim_ows, Token, TokenError};

/// The bearer token of the one `Authorization` header (scheme case-insensitive). Another
/// scheme, or `Bearer` with nothing after it, counts as absent (`Ok(None)`).
///
/// # Errors
/// [`TokenError::DuplicateAuthorization`] when the header is sent more than once.
pub fn from_authorization(headers: &HeaderMap) -> Result<Option<Token>, TokenError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::DuplicateAuthorization);
    }
    let value = trim_ows(value.as_bytes());
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let credentials = trim_ows(rest);
    if credentials.is_empty() {
        return Ok(None);
    }
    Ok(Some(Token::from_bytes(credentials)))
}
