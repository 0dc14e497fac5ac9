//! Hop-by-hop hygiene (RFC 9110 section 7.6.1): removes the [`HOP_BY_HOP`] list and every
//! header `Connection` names, keeping `te: trailers` (gRPC) and remembering a WebSocket
//! `Upgrade` so it can be put back. Runs per request: no lock, no I/O.

use http::header::{CONNECTION, HOST, TE, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::reserved::HOP_BY_HOP;
use super::{set, HeaderError};

/// Response hygiene: removes hop-by-hop and `Connection`-named headers from an upstream
/// response. Returns the `Upgrade` value of a response that switches protocols (101), for
/// [`restore_upgrade`].
pub fn strip_response(headers: &mut HeaderMap) -> Option<HeaderValue> {
    strip(headers)
}

/// Puts back `Connection: upgrade` and `Upgrade: <protocol>` removed by a strip function,
/// for a request or response that really upgrades (WebSocket).
///
/// # Errors
/// [`HeaderError::TooManyHeaders`] when the map is full.
pub fn restore_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) -> Result<(), HeaderError> {
    set(headers, CONNECTION, HeaderValue::from_static("upgrade"))?;
    set(headers, UPGRADE, upgrade)
}

/// Removes `Connection`-named headers (never `Host`) and the hop-by-hop list; keeps
/// `te: trailers`. Returns the `Upgrade` value when `Connection` named `upgrade` and exactly
/// one `Upgrade` was sent.
pub fn strip(headers: &mut HeaderMap) -> Option<HeaderValue> {
    // One pass over the names finds which of the list are present: most requests carry none
    // and most responses one (`connection`), so only those are looked up and removed (each
    // lookup hashes the name; this function ran on every request and response).
    let mut present = HOP_BY_HOP.map(|_| false);
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name) {
            present[i] = true;
        }
    }
    if !present.contains(&true) {
        return None;
    }
    let te_trailers = {
        let mut values = headers.get_all(TE).iter().peekable();
        values.peek().is_some()
            && values.all(|v| v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"trailers"))
    };
    let mut wants_upgrade = false;
    let mut named: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(CONNECTION) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let Ok(name) = HeaderName::from_bytes(token.trim_ascii()) else {
                continue;
            };
            if name == UPGRADE {
                wants_upgrade = true;
            }
            if name != HOST {
                named.push(name);
            }
        }
    }
    let upgrade = {
        let mut values = headers.get_all(UPGRADE).iter();
        match (values.next(), values.next()) {
            (Some(v), None) if wants_upgrade => Some(v.clone()),
            _ => None,
        }
    };
    for name in named {
        headers.remove(name);
    }
    for (name, present) in HOP_BY_HOP.iter().zip(present) {
        if present {
            headers.remove(name);
        }
    }
    if te_trailers {
        // Removing TE freed at least one slot, so this insert cannot hit the size limit.
        let _ = headers.try_insert(TE, HeaderValue::from_static("trailers"));
    }
    upgrade
}
