//! The forwarded headers (SPEC section 5): `X-Forwarded-For` gets the client address
//! appended; `X-Forwarded-Proto` and `X-Forwarded-Host` are replaced by tokengate's own.
//! Runs per request: no lock, no I/O.

use std::net::IpAddr;

use http::header::HOST;
use http::{HeaderMap, HeaderValue, Uri};

use super::reserved::{X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO};
use super::{set, HeaderError};

/// Sets `X-Forwarded-For` (the client address appended to what came in, all incoming values
/// joined with `, `; an IPv4-mapped IPv6 address is written as IPv4), and replaces
/// `X-Forwarded-Proto` (`https` when `tls`, else `http`) and `X-Forwarded-Host` (`host`, or
/// removed when the request had none; see [`request_host`]).
///
/// # Errors
/// [`HeaderError::TooManyHeaders`] when the map is full.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: IpAddr,
    tls: bool,
    host: Option<HeaderValue>,
) -> Result<(), HeaderError> {
    let ip = client.to_canonical().to_string();
    let mut xff: Vec<u8> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        xff.extend_from_slice(value);
        xff.extend_from_slice(b", ");
    }
    xff.extend_from_slice(ip.as_bytes());
    match HeaderValue::from_bytes(&xff) {
        Ok(xff) => set(headers, X_FORWARDED_FOR, xff)?,
        // Cannot happen (incoming values were valid header bytes, and so is an IP); if it
        // did, no client-written chain is better than one without the client's address.
        Err(_) => {
            headers.remove(X_FORWARDED_FOR);
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

/// The host the client asked for: the `Host` header (HTTP/1.1; only when sent once), else
/// the URI's authority (HTTP/2 `:authority`). `None` when `Host` was sent twice or neither
/// is present.
pub fn request_host(uri: &Uri, headers: &HeaderMap) -> Option<HeaderValue> {
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => Some(host.clone()),
        (Some(_), Some(_)) => None,
        (None, _) => uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    }
}
