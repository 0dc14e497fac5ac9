//! The ALB's headers (reference section 9): `x-amzn-oidc-data`, `-identity`,
//! `-accesstoken` and any other `x-amzn-oidc-*` name (compared folded, so `X_Amzn_Oidc_Data`
//! too) reach the upstream only on a request whose `x-amzn-oidc-data` verified; otherwise
//! they are removed, since `-identity` is unsigned and a client can send any of them. Runs
//! per request: no lock, no I/O.

use http::HeaderMap;

use super::fold::{folded_starts_with, remove_where};
use super::reserved::X_AMZN_OIDC_FAMILY;

/// Removes every header whose folded name starts with `x-amzn-oidc-`.
pub fn strip_alb(headers: &mut HeaderMap) {
    remove_where(headers, |name| folded_starts_with(name, X_AMZN_OIDC_FAMILY));
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn every_alb_header_and_its_aliases_go_and_nothing_else() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-amzn-oidc-data",
            "x-amzn-oidc-identity",
            "x-amzn-oidc-accesstoken",
            "x_amzn_oidc_identity",
            "x.amzn.oidc.future",
            "x-amzn-trace-id",
            "x-amzn-oidcx",
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static("v"));
        }
        strip_alb(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["x-amzn-oidcx", "x-amzn-trace-id"]);
    }
}
