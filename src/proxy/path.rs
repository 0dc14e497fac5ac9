//! Path normalization and hostile-path rejection (reference section 5): the one path that routing
//! sees and the upstream receives. Runs per request: no allocation beyond the result, no panic.
//!
//! Dot segments follow RFC 3986 `remove_dot_segments`: `..` above the root is clamped at the
//! root (`/../admin` -> `/admin`), as browsers and Envoy's `normalize_path` do. Clamping is
//! safe because routing and the upstream both see the same, already-resolved path.

/// Why a request path was refused (400 `invalid_request`). Each variant is a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path does not start with /")]
    NotAbsolute,
    #[error("encoded slash (%2F) at byte {offset}")]
    EncodedSlash { offset: usize },
    #[error("encoded backslash (%5C) at byte {offset}")]
    EncodedBackslash { offset: usize },
    #[error("backslash at byte {offset}")]
    Backslash { offset: usize },
    #[error("encoded NUL (%00) at byte {offset}")]
    EncodedNul { offset: usize },
    #[error("path parameter (;) at byte {offset}")]
    PathParameter { offset: usize },
    #[error("bad percent-escape at byte {offset}")]
    BadEscape { offset: usize },
    #[error("byte {byte:#04x} not allowed in a path, at byte {offset}")]
    InvalidByte { byte: u8, offset: usize },
}

impl PathError {
    /// The `error_description` of the 400 response.
    pub fn description(&self) -> &'static str {
        match self {
            PathError::NotAbsolute => "path must start with /",
            PathError::EncodedSlash { .. } => "encoded slash in path",
            PathError::EncodedBackslash { .. } => "encoded backslash in path",
            PathError::Backslash { .. } => "backslash in path",
            PathError::EncodedNul { .. } => "encoded NUL in path",
            PathError::PathParameter { .. } => "path parameters are not allowed",
            PathError::BadEscape { .. } => "bad percent-escape in path",
            PathError::InvalidByte { .. } => "invalid character in path",
        }
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Normalizes a request path (no query): decodes percent-encoded unreserved characters,
/// upper-cases the other escapes, merges repeated slashes, resolves `.` and `..` (after
/// decoding, so `%2e%2e` is `..`), keeps a trailing slash. The result is ASCII and starts
/// with `/`.
pub fn normalize(path: &str) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    // `out` holds "/seg/seg" (no trailing slash); "" stands for the root.
    let mut out = String::with_capacity(bytes.len());
    let mut trailing_slash;
    let mut pos = 1;
    loop {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(bytes.len(), |i| pos + i);
        let start = out.len();
        out.push('/');
        decode_segment(bytes, pos, end, &mut out)?;
        match &out[start + 1..] {
            "" | "." => {
                out.truncate(start);
                trailing_slash = true;
            }
            ".." => {
                out.truncate(start);
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
                trailing_slash = true;
            }
            _ => trailing_slash = false,
        }
        if end >= bytes.len() {
            break;
        }
        pos = end + 1;
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(out)
}

/// Appends `bytes[from..to]` (one segment, no `/`) to `out`, decoded as the module says.
fn decode_segment(bytes: &[u8], from: usize, to: usize, out: &mut String) -> Result<(), PathError> {
    let mut i = from;
    while i < to {
        let b = bytes[i];
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                // `/` is not a hex digit, so an escape never runs into the next segment.
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(PathError::BadEscape { offset: i });
                };
                let decoded = (hi << 4) | lo;
                match decoded {
                    b'/' => return Err(PathError::EncodedSlash { offset: i }),
                    b'\\' => return Err(PathError::EncodedBackslash { offset: i }),
                    0 => return Err(PathError::EncodedNul { offset: i }),
                    d if is_unreserved(d) => out.push(char::from(d)),
                    d => {
                        out.push('%');
                        out.push(char::from(HEX_UPPER[usize::from(d >> 4)]));
                        out.push(char::from(HEX_UPPER[usize::from(d & 0x0f)]));
                    }
                }
                i += 3;
            }
            b'\\' => return Err(PathError::Backslash { offset: i }),
            b';' => return Err(PathError::PathParameter { offset: i }),
            // Controls, space, DEL, non-ASCII, and the URI delimiters `?` and `#` never belong
            // in a path; hyper refuses most of them already, this is the second line.
            b if b <= 0x20 || b >= 0x7f || b == b'?' || b == b'#' => {
                return Err(PathError::InvalidByte { byte: b, offset: i });
            }
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    Ok(())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalize(input).unwrap_or_else(|e| panic!("{input:?} was refused: {e}"))
    }

    #[test]
    fn dot_dot_segment_is_resolved() {
        assert_eq!(ok("/public/../admin"), "/admin");
        assert_eq!(ok("/a/b/../../c"), "/c");
        assert_eq!(ok("/a/b/.."), "/a/");
    }

    #[test]
    fn dot_dot_above_root_is_clamped_at_root() {
        assert_eq!(ok("/../admin"), "/admin");
        assert_eq!(ok("/../../../admin/x"), "/admin/x");
        assert_eq!(ok("/.."), "/");
    }

    #[test]
    fn repeated_slashes_are_merged() {
        assert_eq!(ok("//admin"), "/admin");
        assert_eq!(ok("/a///b//"), "/a/b/");
        assert_eq!(ok("//"), "/");
    }

    #[test]
    fn encoded_unreserved_characters_are_decoded() {
        assert_eq!(ok("/%61dmin"), "/admin");
        assert_eq!(ok("/%41%7e%2D%5f%2E"), "/A~-_.");
    }

    #[test]
    fn single_dot_segments_are_removed_and_trailing_slash_kept() {
        assert_eq!(ok("/a/./b/"), "/a/b/");
        assert_eq!(ok("/a/."), "/a/");
        assert_eq!(ok("/a/b"), "/a/b");
        assert_eq!(ok("/"), "/");
    }

    #[test]
    fn encoded_dot_segments_are_decoded_then_resolved() {
        assert_eq!(ok("/%2e%2e/admin"), "/admin");
        assert_eq!(ok("/public/%2E%2e/admin"), "/admin");
        assert_eq!(ok("/public/.%2e/admin"), "/admin");
        assert_eq!(ok("/a/%2e/b"), "/a/b");
    }

    #[test]
    fn remaining_escapes_are_upper_cased() {
        assert_eq!(ok("/x%3ay"), "/x%3Ay");
        assert_eq!(ok("/a%20b"), "/a%20b");
        assert_eq!(ok("/%c3%a9"), "/%C3%A9");
        assert_eq!(ok("/%25"), "/%25");
    }

    #[test]
    fn encoded_percent_is_not_decoded_twice() {
        assert_eq!(ok("/%252e%252e/admin"), "/%252e%252e/admin");
    }

    #[test]
    fn encoded_slash_is_rejected() {
        assert_eq!(
            normalize("/a%2Fb"),
            Err(PathError::EncodedSlash { offset: 2 })
        );
        assert!(matches!(
            normalize("/something%2f..%2fadmin"),
            Err(PathError::EncodedSlash { .. })
        ));
    }

    #[test]
    fn backslashes_raw_or_encoded_are_rejected() {
        assert!(matches!(
            normalize("/a%5Cb"),
            Err(PathError::EncodedBackslash { .. })
        ));
        assert!(matches!(
            normalize("/a%5cb"),
            Err(PathError::EncodedBackslash { .. })
        ));
        assert!(matches!(
            normalize("/a\\..\\admin"),
            Err(PathError::Backslash { .. })
        ));
    }

    #[test]
    fn encoded_nul_is_rejected() {
        assert!(matches!(
            normalize("/a%00b"),
            Err(PathError::EncodedNul { .. })
        ));
    }

    #[test]
    fn path_parameters_are_rejected() {
        assert!(matches!(
            normalize("/admin;x=y"),
            Err(PathError::PathParameter { .. })
        ));
        assert!(matches!(
            normalize("/..;foo=bar/admin"),
            Err(PathError::PathParameter { .. })
        ));
    }

    #[test]
    fn bad_escapes_are_rejected() {
        for input in ["/%", "/a%", "/%G1", "/%4", "/%4/x", "/%1g", "/a%%41"] {
            assert!(
                matches!(normalize(input), Err(PathError::BadEscape { .. })),
                "{input:?} was not refused as a bad escape"
            );
        }
    }

    #[test]
    fn relative_and_empty_paths_are_rejected() {
        for input in ["", "*", "admin", "%2Fadmin", "../admin"] {
            assert_eq!(normalize(input), Err(PathError::NotAbsolute), "{input:?}");
        }
    }

    #[test]
    fn raw_control_and_non_ascii_bytes_are_rejected() {
        for input in ["/a b", "/a\tb", "/a\nb", "/a\u{7f}", "/é", "/a?b", "/a#b"] {
            assert!(
                matches!(normalize(input), Err(PathError::InvalidByte { .. })),
                "{input:?} was not refused"
            );
        }
    }

    #[test]
    fn sub_delims_and_colon_pass_through() {
        assert_eq!(ok("/a:b@c!$&'()*+,="), "/a:b@c!$&'()*+,=");
    }

    #[test]
    fn every_error_has_a_description() {
        let errors = [
            PathError::NotAbsolute,
            PathError::EncodedSlash { offset: 0 },
            PathError::EncodedBackslash { offset: 0 },
            PathError::Backslash { offset: 0 },
            PathError::EncodedNul { offset: 0 },
            PathError::PathParameter { offset: 0 },
            PathError::BadEscape { offset: 0 },
            PathError::InvalidByte { byte: 0, offset: 0 },
        ];
        for e in errors {
            assert!(!e.description().is_empty());
        }
    }
}
