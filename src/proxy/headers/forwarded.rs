//! The forwarded headers (reference section 5): `X-Forwarded-For` gets the client address
//! appended; `X-Forwarded-Proto` and `X-Forwarded-Host` are replaced by tokengate's own.
//! Runs per request: no lock, no I/O.

use std::net::IpAddr;

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Uri};

use super::reserved::{X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO};
use super::{set, HeaderError};

/// The client address as `X-Forwarded-For` carries it: an IPv4-mapped IPv6 address is written
/// as IPv4 (`::ffff:192.0.2.7` -> `192.0.2.7`), any other as its canonical text. Made once per
/// connection (formatting an address on every request costs more than the rest of
/// [`set_forwarded`]).
pub fn client_address(client: IpAddr) -> HeaderValue {
    // An IP address's text is always a valid header value; "unknown" is RFC 7239's word.
    HeaderValue::from_str(&client.to_canonical().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Sets `X-Forwarded-For` (the client address from [`client_address`] appended to what came
/// in, all incoming values joined with `, `), and replaces `X-Forwarded-Proto` (`https` when
/// `tls`, else `http`) and `X-Forwarded-Host` (`host`, or removed when the request had none;
/// see [`request_host`]).
///
/// # Errors
/// [`HeaderError::TooManyHeaders`] when the map is full.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: &HeaderValue,
    tls: bool,
    host: Option<HeaderValue>,
) -> Result<(), HeaderError> {
    let mut xff: Vec<u8> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        xff.extend_from_slice(value);
        xff.extend_from_slice(b", ");
    }
    if xff.is_empty() {
        set(headers, X_FORWARDED_FOR, client.clone())?;
    } else {
        xff.extend_from_slice(client.as_bytes());
        match HeaderValue::from_bytes(&xff) {
            Ok(xff) => set(headers, X_FORWARDED_FOR, xff)?,
            // Cannot happen (incoming values were valid header bytes, and so is an IP); if
            // it did, no client-written chain is better than one without the client's address.
            Err(_) => {
                headers.remove(X_FORWARDED_FOR);
            }
        }
    }
    let proto = HeaderValue::from_static(if tls { "https" } else { "http" });
    set(headers, X_FORWARDED_PROTO, proto)?;
    match host {
        Some(host) => set(headers, X_FORWARDED_HOST, host)?,
        None => {
            headers.remove(X_FORWARDED_HOST);
        }
    }
    Ok(())
}

/// The one host the client asked for, which `Host` towards the upstream and
/// `X-Forwarded-Host` both carry (reference section 5): the URI's authority (HTTP/2
/// `:authority`, or an HTTP/1.1 absolute-form target), else the `Host` header. `Ok(None)`
/// when the request names no host (HTTP/1.0).
///
/// # Errors
/// - [`HeaderError::DuplicateHost`]: `Host` sent more than once (which one would the
///   upstream read?);
/// - [`HeaderError::ConflictingHost`]: an authority and a `Host` header that differ
///   (compared ASCII case-insensitively; RFC 9113 section 8.3.1, RFC 9112 section 3.2.2);
/// - [`HeaderError::HostUserinfo`]: `user@` in the authority or the `Host` header (RFC 9110
///   section 4.2.4: a recipient treats userinfo as an error).
pub fn request_host(uri: &Uri, headers: &HeaderMap) -> Result<Option<HeaderValue>, HeaderError> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (_, Some(_)) => return Err(HeaderError::DuplicateHost),
        (host, None) => host,
    };
    if host.is_some_and(|h| h.as_bytes().contains(&b'@')) {
        return Err(HeaderError::HostUserinfo);
    }
    let Some(authority) = uri
        .authority()
        .map(|a| a.as_str())
        .filter(|a| !a.is_empty())
    else {
        return Ok(host.cloned());
    };
    if authority.contains('@') {
        return Err(HeaderError::HostUserinfo);
    }
    if host.is_some_and(|h| !h.as_bytes().eq_ignore_ascii_case(authority.as_bytes())) {
        return Err(HeaderError::ConflictingHost);
    }
    // An authority is always a valid header value; `host` is the fallback all the same.
    Ok(HeaderValue::from_str(authority)
        .ok()
        .or_else(|| host.cloned()))
}

/// Sets the one `Host` header the upstream receives to `host` (from [`request_host`]),
/// replacing what the client sent, or removes it when the request named no host.
///
/// # Errors
/// [`HeaderError::TooManyHeaders`] when the map is full.
pub fn set_host(headers: &mut HeaderMap, host: Option<HeaderValue>) -> Result<(), HeaderError> {
    match host {
        Some(host) => set(headers, HOST, host),
        None => {
            headers.remove(HOST);
            Ok(())
        }
    }
}
