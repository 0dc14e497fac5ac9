//! The `query:NAME` source, and removing that parameter from the query forwarded upstream.
//! Runs per request: no lock, no I/O, never logs a value.

use std::borrow::Cow;

use super::percent::{decoded_eq, percent_decode};
use super::{Token, TokenError};

/// The percent-decoded value of parameter `name` in the raw `query` (names compared after
/// percent-decoding; `+` stays `+`; a bad escape stays as written), or `None` when absent
/// or empty. `index` is the source's index in `token.sources`, for the error.
///
/// # Errors
/// [`TokenError::AmbiguousQueryParameter`] when two non-empty occurrences decode to
/// different values (the same value twice counts once, as for cookies).
pub fn from_query(query: &str, name: &str, index: usize) -> Result<Option<Token>, TokenError> {
    let mut found: Option<Cow<'_, [u8]>> = None;
    for param in query.split('&') {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if value.is_empty() || !decoded_eq(key, name) {
            continue;
        }
        let value = percent_decode(value);
        match &found {
            Some(previous) if *previous != value => {
                return Err(TokenError::AmbiguousQueryParameter { index });
            }
            Some(_) => {}
            None => found = Some(value),
        }
    }
    Ok(found.map(|v| Token::from_bytes(&v)))
}

/// `query` without any `name` parameter (names compared after percent-decoding, as
/// [`extract`](super::extract) does), every other parameter kept byte-for-byte and in
/// order. `None` when nothing remains.
pub fn strip_query_param(query: &str, name: &str) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut first = true;
    for param in query.split('&') {
        let key = param.split_once('=').map_or(param, |(k, _)| k);
        if decoded_eq(key, name) {
            continue;
        }
        if !first {
            out.push('&');
        }
        out.push_str(param);
        first = false;
    }
    (!out.is_empty()).then_some(out)
}
