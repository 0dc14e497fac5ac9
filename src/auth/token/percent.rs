//! Lenient percent-decoding (RFC 3986 section 2.1) of query names and values: a bad escape
//! is kept as written. Runs per request: allocates only when a `%` is present.

use std::borrow::Cow;

/// Whether the percent-decoding of `raw` equals `expected`, without allocating.
pub fn decoded_eq(raw: &str, expected: &str) -> bool {
    let mut expected = expected.bytes();
    let raw = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let (byte, width) = decode_at(raw, i);
        if expected.next() != Some(byte) {
            return false;
        }
        i += width;
    }
    expected.next().is_none()
}

/// `raw` percent-decoded (borrowed when it holds no `%`); a bad escape is kept as written.
pub fn percent_decode(raw: &str) -> Cow<'_, [u8]> {
    let bytes = raw.as_bytes();
    if !bytes.contains(&b'%') {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, width) = decode_at(bytes, i);
        out.push(byte);
        i += width;
    }
    Cow::Owned(out)
}

/// The byte at `i` after decoding, and how many input bytes it took (1 or 3).
fn decode_at(bytes: &[u8], i: usize) -> (u8, usize) {
    if bytes.get(i) == Some(&b'%') {
        let hi = bytes.get(i + 1).and_then(|&b| char::from(b).to_digit(16));
        let lo = bytes.get(i + 2).and_then(|&b| char::from(b).to_digit(16));
        if let (Some(hi), Some(lo)) = (hi, lo) {
            // Both are < 16, so the value fits a byte.
            return (u8::try_from(hi * 16 + lo).unwrap_or(b'%'), 3);
        }
    }
    (bytes.get(i).copied().unwrap_or(0), 1)
}
