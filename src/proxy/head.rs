//! `server.max_header_bytes` for HTTP/1.x, to the byte (reference section 2): hyper's smallest
//! read buffer is 8 KiB, so a smaller limit is enforced here, on the parsed head. Runs per
//! request: arithmetic over the head, no allocation, no lock.

use http::{HeaderMap, Method, Uri, Version};

/// The request head is larger than `server.max_header_bytes` (431).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request head of {size} bytes over the limit of {limit}")]
pub struct HeadTooLarge {
    pub size: usize,
    pub limit: usize,
}

/// The size of an HTTP/1.x request head as sent: the request line (`METHOD SP target SP
/// HTTP/1.1 CRLF`), each field as `name: value CRLF`, and the closing CRLF. This is the
/// exact wire size for a client that writes one space after each colon (curl, browsers,
/// every common HTTP library); whitespace beyond that is not counted, because the parser
/// has already dropped it.
pub fn size(method: &Method, uri: &Uri, headers: &HeaderMap) -> usize {
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    let request_line = method.as_str().len() + 1 + target + 1 + "HTTP/1.1".len() + 2;
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    request_line + fields + 2
}

/// Refuses an HTTP/1.x head larger than `limit` bytes (HTTP/2 heads are bounded by hyper's
/// header-list limit, set from the same setting).
///
/// # Errors
/// [`HeadTooLarge`] with the head's size.
pub fn check(
    version: Version,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    limit: usize,
) -> Result<(), HeadTooLarge> {
    if version > Version::HTTP_11 {
        return Ok(());
    }
    let size = size(method, uri, headers);
    if size > limit {
        return Err(HeadTooLarge { size, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn head(target: &str, fields: &[(&'static str, &'static str)]) -> (Uri, HeaderMap, usize) {
        let mut wire = format!("GET {target} HTTP/1.1\r\n");
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            wire.push_str(&format!("{name}: {value}\r\n"));
            headers.append(*name, HeaderValue::from_static(value));
        }
        wire.push_str("\r\n");
        (target.parse().unwrap_or_default(), headers, wire.len())
    }

    #[test]
    fn the_size_is_the_wire_size_of_a_head_written_the_usual_way() {
        for (target, fields) in [
            ("/", &[][..]),
            (
                "/a/b?c=d&e",
                &[("host", "example.com"), ("cookie", "a=1")][..],
            ),
            ("http://example.com/x", &[("host", "example.com")][..]),
            ("*", &[("x-two", "1"), ("x-two", "2")][..]),
        ] {
            let (uri, headers, wire) = head(target, fields);
            assert_eq!(size(&Method::GET, &uri, &headers), wire, "{target}");
        }
    }

    #[test]
    fn a_head_over_the_limit_is_refused_and_http2_is_left_to_hyper() {
        let (uri, headers, wire) = head("/x", &[("host", "example.com")]);
        assert_eq!(
            check(Version::HTTP_11, &Method::GET, &uri, &headers, wire),
            Ok(())
        );
        assert_eq!(
            check(Version::HTTP_11, &Method::GET, &uri, &headers, wire - 1),
            Err(HeadTooLarge {
                size: wire,
                limit: wire - 1
            })
        );
        assert!(check(Version::HTTP_10, &Method::GET, &uri, &headers, wire - 1).is_err());
        assert_eq!(
            check(Version::HTTP_2, &Method::GET, &uri, &headers, 1),
            Ok(())
        );
    }
}
