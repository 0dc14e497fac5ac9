//! The `cookie:NAME` source: the named cookie across every `Cookie` header (HTTP/2 sends
//! several). Runs per request: no lock, no I/O, never logs a value.

use http::header::COOKIE;
use http::HeaderMap;

use super::{trim_ows, Token, TokenError};

/// The non-empty value of cookie `name` (name compared exactly; one surrounding pair of
/// double quotes removed), or `None` when absent or empty. `index` is the source's index
/// in `token.sources`, for the error.
///
/// # Errors
/// [`TokenError::AmbiguousCookie`] when two different non-empty values are sent (the same
/// value twice counts once).
pub fn from_cookies(
    headers: &HeaderMap,
    name: &str,
    index: usize,
) -> Result<Option<Token>, TokenError> {
    let mut found: Option<&[u8]> = None;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let pair = trim_ows(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
            if key != name.as_bytes() {
                continue;
            }
            let value = unquote(value);
            if value.is_empty() {
                continue;
            }
            match found {
                Some(previous) if previous != value => {
                    return Err(TokenError::AmbiguousCookie { index });
                }
                _ => found = Some(value),
            }
        }
    }
    Ok(found.map(Token::from_bytes))
}

/// `s` without one surrounding pair of double quotes (a quoted cookie-value, RFC 6265
/// section 4.1.1).
fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}
