//! How the battery decides whether the application was reached on a protected path: the
//! recorded path read as the most lenient application would read it.

/// The path as an application might read it: percent-decoded, `\` as `/`, path
/// parameters dropped, dot segments resolved, empty segments merged, lower case.
pub fn app_view(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut segments: Vec<String> = Vec::new();
    for segment in text.split('/') {
        match segment.split(';').next().unwrap_or_default() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s.to_ascii_lowercase()),
        }
    }
    format!("/{}", segments.join("/"))
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// Needs a token (`/app`), the admin group (`/admin`), or the admin group for any method
/// but GET (`/reports`), in the scene's tokengate config.
pub fn protected(method: &str, path: &str) -> bool {
    let path = app_view(path);
    under(&path, "/admin") || under(&path, "/app") || (under(&path, "/reports") && method != "GET")
}
