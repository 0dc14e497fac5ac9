//! The request id and W3C Trace Context of one request: the client's `x-request-id` kept
//! when it is a sane token (1 to 128 visible ASCII bytes, sent once), else a new random one;
//! a valid `traceparent` continued as its child (same trace-id and flags, tokengate's own
//! span id as the parent-id upstream, `tracestate` passed on), else a new trace. Runs per
//! request: no lock, no I/O; allocates only the header values it makes.

use std::fmt;

use http::{HeaderMap, HeaderValue};
use rand::Rng;

use super::headers::reserved::{TRACEPARENT, TRACESTATE, X_REQUEST_ID};
use super::headers::HeaderError;

/// The longest client request id kept.
pub const MAX_REQUEST_ID: usize = 128;

/// `traceparent` version 00 is exactly this long (`00-` 32 hex `-` 16 hex `-` 2 hex).
const TRACEPARENT_LEN: usize = 55;

/// What identifies a request in logs, responses and upstream requests.
#[derive(Debug, Clone)]
pub struct RequestTrace {
    /// The `x-request-id` sent upstream and returned to the client.
    pub request_id: HeaderValue,
    /// The W3C trace-id (never all zero).
    pub trace_id: [u8; 16],
    /// Tokengate's span: the parent-id of the `traceparent` sent upstream (never all zero).
    pub span_id: [u8; 8],
    /// The trace-flags, as received; `01` (sampled) for a trace started here, since its
    /// access-log line records it.
    pub flags: u8,
    /// Whether the client's `traceparent` was continued (else a trace was started here).
    pub continued: bool,
}

impl RequestTrace {
    /// The trace of a request with these headers.
    pub fn from_request(headers: &HeaderMap) -> RequestTrace {
        let mut rng = rand::rng();
        let request_id = client_request_id(headers).unwrap_or_else(|| {
            let mut hex = [0u8; 32];
            write_hex(&rng.random::<u128>().to_be_bytes(), &mut hex);
            // 32 hex digits are a valid header value.
            HeaderValue::from_bytes(&hex).unwrap_or_else(|_| HeaderValue::from_static("-"))
        });
        let span_id = nonzero_u64(&mut rng).to_be_bytes();
        match client_traceparent(headers) {
            Some(parent) => RequestTrace {
                request_id,
                trace_id: parent.trace_id,
                span_id,
                flags: parent.flags,
                continued: true,
            },
            None => RequestTrace {
                request_id,
                trace_id: nonzero_u128(&mut rng).to_be_bytes(),
                span_id,
                flags: 0x01,
                continued: false,
            },
        }
    }

    /// The `traceparent` sent upstream: version 00, this trace, tokengate's span.
    pub fn traceparent(&self) -> HeaderValue {
        let mut out = [0u8; TRACEPARENT_LEN];
        out[..3].copy_from_slice(b"00-");
        write_hex(&self.trace_id, &mut out[3..35]);
        out[35] = b'-';
        write_hex(&self.span_id, &mut out[36..52]);
        out[52] = b'-';
        write_hex(&[self.flags], &mut out[53..55]);
        // Hex digits and dashes are a valid header value.
        HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("-"))
    }

    /// After header hygiene, before forwarding: sets `x-request-id` and `traceparent`;
    /// keeps `tracestate` only when the client's trace is continued.
    ///
    /// # Errors
    /// [`HeaderError::TooManyHeaders`] when the map is full.
    pub fn set_upstream(&self, headers: &mut HeaderMap) -> Result<(), HeaderError> {
        let full = |_| HeaderError::TooManyHeaders;
        headers
            .try_insert(X_REQUEST_ID, self.request_id.clone())
            .map_err(full)?;
        headers
            .try_insert(TRACEPARENT, self.traceparent())
            .map_err(full)?;
        if !self.continued {
            headers.remove(TRACESTATE);
        }
        Ok(())
    }

    /// The trace-id as 32 lower-case hex digits (for logs).
    pub fn trace_id_hex(&self) -> Hex<'_> {
        Hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits (for logs).
    pub fn span_id_hex(&self) -> Hex<'_> {
        Hex(&self.span_id)
    }

    /// The request id as text (it is visible ASCII, checked or generated).
    pub fn request_id_str(&self) -> &str {
        self.request_id.to_str().unwrap_or("-")
    }
}

/// Bytes shown as lower-case hex, written without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 2];
        for byte in self.0 {
            write_hex(&[*byte], &mut buf);
            f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// The client's request id when it sent exactly one and it is a sane token.
fn client_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(X_REQUEST_ID).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let bytes = value.as_bytes();
    let sane = !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes.iter().all(|b| b.is_ascii_graphic());
    sane.then(|| value.clone())
}

/// The parts of a valid client `traceparent` that a child keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parent {
    trace_id: [u8; 16],
    flags: u8,
}

/// The client's `traceparent` when it sent exactly one and it is valid (W3C Trace Context
/// section 3.2): lower-case hex, version not `ff`, trace-id and parent-id not all zero;
/// version 00 exactly 55 bytes, a later version at least 55 with `-` after them.
fn client_traceparent(headers: &HeaderMap) -> Option<Parent> {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    parse_traceparent(value.as_bytes())
}

fn parse_traceparent(v: &[u8]) -> Option<Parent> {
    if v.len() < TRACEPARENT_LEN {
        return None;
    }
    let version = hex_byte(&v[0..2])?;
    match version {
        0xff => return None,
        0x00 if v.len() != TRACEPARENT_LEN => return None,
        _ if v.len() > TRACEPARENT_LEN && v[TRACEPARENT_LEN] != b'-' => return None,
        _ => {}
    }
    if v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
        return None;
    }
    let mut trace_id = [0u8; 16];
    read_hex(&v[3..35], &mut trace_id)?;
    let mut parent_id = [0u8; 8];
    read_hex(&v[36..52], &mut parent_id)?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    let flags = hex_byte(&v[53..55])?;
    Some(Parent { trace_id, flags })
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lower-case hex into `out` (twice as long).
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// Reads lower-case hex (W3C forbids upper case) into `out` (half as long).
fn read_hex(hex: &[u8], out: &mut [u8]) -> Option<()> {
    for (pair, byte) in hex.chunks_exact(2).zip(out.iter_mut()) {
        *byte = hex_byte(pair)?;
    }
    Some(())
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    match pair {
        [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
        _ => None,
    }
}

fn nonzero_u128(rng: &mut impl Rng) -> u128 {
    loop {
        let v: u128 = rng.random();
        if v != 0 {
            return v;
        }
    }
}

fn nonzero_u64(rng: &mut impl Rng) -> u64 {
    loop {
        let v: u64 = rng.random();
        if v != 0 {
            return v;
        }
    }
}

#[cfg(test)]
mod tests;
