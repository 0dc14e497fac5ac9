//! Header-name folding (reference section 5): lower case, with `_` and `.` read as `-`, which is
//! the name a CGI, WSGI or nginx backend sees. Runs per request: compares without allocating.

use http::{HeaderMap, HeaderName};

/// One byte of a folded name.
fn fold_byte(b: u8) -> u8 {
    match b {
        b'_' | b'.' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

/// `name` folded: `X_Auth.Sub` -> `x-auth-sub`. Allocates; for names known at config time.
pub fn fold(name: &str) -> String {
    name.bytes().map(|b| char::from(fold_byte(b))).collect()
}

/// Whether `name`, folded on the fly, starts with `folded` (already folded).
pub fn folded_starts_with(name: &str, folded: &str) -> bool {
    name.len() >= folded.len()
        && name
            .bytes()
            .zip(folded.bytes())
            .all(|(a, b)| fold_byte(a) == b)
}

/// Whether `name`, folded on the fly, equals `folded` (already folded).
pub fn folded_eq(name: &str, folded: &str) -> bool {
    name.len() == folded.len() && folded_starts_with(name, folded)
}

/// Removes every header whose name `doomed` picks (all its values). Allocates only when a
/// name is picked: the usual request, carrying none, costs one pass over the names.
pub fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&str) -> bool) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| doomed(name.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}
