//! The `header:NAME` source: the raw token as a header's whole value (an API gateway's
//! `X-Api-Token`, say). Runs per request: no lock, no I/O, never logs a value.

use http::{HeaderMap, HeaderName};

use super::{trim_ows, Token, TokenError};

/// The value of header `name` without surrounding whitespace, or `None` when absent or
/// empty. The value is the token itself: no scheme is looked for or removed. `index` is the
/// source's index in `token.sources`, for the error.
///
/// # Errors
/// [`TokenError::AmbiguousHeader`] when the header is sent more than once with different
/// non-empty values (the same value twice counts once).
pub fn from_header(
    headers: &HeaderMap,
    name: &HeaderName,
    index: usize,
) -> Result<Option<Token>, TokenError> {
    let mut found: Option<&[u8]> = None;
    for value in headers.get_all(name) {
        let value = trim_ows(value.as_bytes());
        if value.is_empty() {
            continue;
        }
        match found {
            Some(previous) if previous != value => {
                return Err(TokenError::AmbiguousHeader { index });
            }
            _ => found = Some(value),
        }
    }
    Ok(found.map(Token::from_bytes))
}
