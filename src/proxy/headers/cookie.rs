//! Cookie fields in the form an HTTP/1.1 upstream reads (RFC 9113 section 8.2.3): an HTTP/2
//! client may send each cookie-pair as its own `cookie` field; HTTP/1.1 has one `Cookie`
//! header. Runs per request: no lock, no I/O; allocates only when there are several fields.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use super::{set, HeaderError};

/// Joins every `Cookie` value, in order, with `"; "` into one `Cookie` header (empty values
/// are dropped; none left, no header). With one or no `Cookie` header the map is left as it
/// is.
///
/// # Errors
/// [`HeaderError::TooManyHeaders`] when the map is full.
pub fn join_cookies(headers: &mut HeaderMap) -> Result<(), HeaderError> {
    let mut values = headers.get_all(COOKIE).iter();
    if values.next().is_none() || values.next().is_none() {
        return Ok(());
    }
    let mut joined: Vec<u8> = Vec::new();
    for value in headers.get_all(COOKIE) {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.extend_from_slice(b"; ");
        }
        joined.extend_from_slice(value);
    }
    if joined.is_empty() {
        headers.remove(COOKIE);
        return Ok(());
    }
    // Valid header values joined by "; " are a valid header value; if that ever failed,
    // the fields are left as the client sent them rather than dropped.
    match HeaderValue::from_bytes(&joined) {
        Ok(value) => set(headers, COOKIE, value),
        Err(_) => Ok(()),
    }
}
