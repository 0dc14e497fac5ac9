//! The one encoding of identity header values (reference section 5, "Identity header values"),
//! used for every identity header and every `forward.headers` value, and its inverse.
//! Pure and infallible: no claim value can make a token invalid or a header unsendable.
//!
//! The rule: the claim's UTF-8 text with the bytes 0x00-0x1F, 0x7F and `%` written as `%XX`
//! (upper-case hex); non-ASCII UTF-8 stays as raw bytes (obs-text). A list is its elements,
//! each escaped so and with `,` also written as `%2C`, joined by `,`. Numbers and booleans
//! are their JSON text; objects (and arrays inside a list) their compact JSON, escaped; an
//! element `null` is `null`; a top-level `null` has no header.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::HeaderValue;
use serde_json::Value;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Why a header value does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits, at this byte offset of the value.
    #[error("bad percent-escape at byte {at}")]
    BadEscape { at: usize },
    /// The decoded bytes are not UTF-8 (tokengate never writes such a value).
    #[error("decoded value is not UTF-8")]
    NotUtf8,
}

/// Appends `text` as a single value: 0x00-0x1F, 0x7F and `%` as `%XX`.
pub fn push_text(out: &mut BytesMut, text: &str) {
    escape(out, text.as_bytes(), false);
}

/// Appends `items` as a list: each element escaped as by [`push_text`] and `,` as `%2C`,
/// joined by `,`. Strings are their text; other elements their compact JSON text.
pub fn push_list(out: &mut BytesMut, items: &[Value]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",");
        }
        push_value(out, item, true);
    }
}

/// Appends the header form of `claim`: a string is its text, an array a list (see
/// [`push_list`]), anything else its compact JSON text, escaped. Returns `false` (and
/// appends nothing) for `null`, which has no header.
pub fn push_claim(out: &mut BytesMut, claim: &Value) -> bool {
    match claim {
        Value::Null => false,
        Value::Array(items) => {
            push_list(out, items);
            true
        }
        _ => {
            push_value(out, claim, false);
            true
        }
    }
}

/// The header form of `claim` as bytes ([`push_claim`]); `None` for `null`.
pub fn encode(claim: &Value) -> Option<Bytes> {
    let mut out = BytesMut::new();
    push_claim(&mut out, claim).then(|| out.freeze())
}

/// The header form of `claim` as a header value; `None` for `null`.
pub fn header_value(claim: &Value) -> Option<HeaderValue> {
    encode(claim).map(to_header)
}

/// Wraps encoded bytes (from the `push_*` functions) as a header value without copying.
pub fn to_header(encoded: Bytes) -> HeaderValue {
    // Every byte the encoder writes is 0x20-0x7E or 0x80-0xFF, all valid in a field value
    // (the property test `every_claim_encodes_to_a_valid_header` checks it), so the
    // fallback is unreachable; it exists because the signature cannot say so.
    HeaderValue::from_maybe_shared(encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Decodes a list header (`x-auth-groups`, an array claim): splits on `,`, then
/// percent-decodes each element. The empty value is the empty list (so a list holding one
/// empty string cannot be told from no list).
///
/// # Errors
/// [`DecodeError`] for a bad escape or bytes that are not UTF-8.
pub fn decode(value: &[u8]) -> Result<Vec<String>, DecodeError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let mut start = 0;
    value
        .split(|&b| b == b',')
        .map(|element| {
            let decoded = unescape(element, start);
            start += element.len() + 1;
            decoded
        })
        .collect()
}

/// Decodes a single-valued header (every identity header but `x-auth-groups`, and a
/// `forward.headers` claim that is not an array): percent-decodes the whole value; a `,`
/// in it is part of the text.
///
/// # Errors
/// [`DecodeError`] for a bad escape or bytes that are not UTF-8.
pub fn decode_text(value: &[u8]) -> Result<String, DecodeError> {
    unescape(value, 0)
}

/// One value or list element; `element` also escapes `,`.
fn push_value(out: &mut BytesMut, value: &Value, element: bool) {
    match value {
        Value::String(s) => escape(out, s.as_bytes(), element),
        // `Value`'s Display is its compact JSON text: numbers, booleans, `null`, objects,
        // arrays. serde_json escapes control characters inside strings as `\n`/`\u0000`,
        // but not 0x7F, and `%` and `,` are literal: all go through `escape`.
        other => {
            let mut writer = Escaper { out, element };
            // `Escaper` never fails, and Display of a `Value` fails only if its writer does.
            let _ = fmt::write(&mut writer, format_args!("{other}"));
        }
    }
}

/// A `fmt::Write` that escapes what is written through it.
struct Escaper<'a> {
    out: &'a mut BytesMut,
    element: bool,
}

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape(self.out, s.as_bytes(), self.element);
        Ok(())
    }
}

/// Appends `bytes` with 0x00-0x1F, 0x7F, `%` (and `,` when `comma`) as `%XX`. Runs of plain
/// bytes are copied whole.
fn escape(out: &mut BytesMut, bytes: &[u8], comma: bool) {
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 || b == 0x7F || b == b'%' || (comma && b == b',') {
            out.extend_from_slice(&bytes[plain..i]);
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0F)]]);
            plain = i + 1;
        }
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// Percent-decodes `bytes` (upper- or lower-case hex); `offset` places errors in the value.
fn unescape(bytes: &[u8], offset: usize) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|&h| char::from(h).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                return Err(DecodeError::BadEscape { at: offset + i });
            };
            // Two hex digits: at most 0xFF.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX));
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests;
