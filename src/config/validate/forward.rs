//! `forward`: what reaches the upstream. The identity header prefix (its claims header
//! derived from it), whether Authorization is kept, and extra claim headers, which may not
//! name a header tokengate itself controls.

use http::HeaderName;
use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawForward;
use crate::config::{AuthorizationForward, ClaimPath, ForwardConfig};
use crate::proxy::headers::fold::fold;
use crate::proxy::headers::reserved::forward_header_conflict;

impl Validator {
    pub(super) fn forward(&mut self, map: &Mapping) -> ForwardConfig {
        let raw: RawForward = self.section(map, "forward");
        let prefix = raw
            .header_prefix
            .unwrap_or_else(|| defaults::FORWARD_HEADER_PREFIX.to_owned());
        // Folded as header hygiene reads names (lower case, `_` and `.` as `-`), so the
        // names tokengate sets and the ones it strips are the same.
        let prefix = fold(&prefix);
        if prefix.is_empty() || HeaderName::from_bytes(format!("{prefix}x").as_bytes()).is_err() {
            self.problem(
                "forward.header_prefix",
                "must be a non-empty header-name prefix",
            );
        }
        let claims_header = match raw.claims_header {
            Some(h) if h.is_empty() => None,
            Some(h) => self.header_name(&h, "forward.claims_header"),
            None => self.header_name(
                &format!("{prefix}{}", defaults::FORWARD_CLAIMS_HEADER_SUFFIX),
                "forward.header_prefix",
            ),
        };
        let authorization = match raw.authorization.as_deref() {
            None => defaults::FORWARD_AUTHORIZATION,
            Some("keep") => AuthorizationForward::Keep,
            Some("strip") => AuthorizationForward::Strip,
            Some(_) => {
                self.problem("forward.authorization", "must be keep or strip");
                AuthorizationForward::Keep
            }
        };
        if let Some(header) = &claims_header {
            if let Some(reserved) = forward_header_conflict(header.as_str(), &prefix, None) {
                self.problem(
                    "forward.claims_header",
                    format!("cannot be `{header}`: {}", reserved.description()),
                );
            }
        }
        let claims_folded = claims_header.as_ref().map(|h| fold(h.as_str()));
        let mut headers: Vec<(HeaderName, ClaimPath)> = Vec::new();
        for (name, claim) in raw.headers.unwrap_or_default() {
            let path = format!("forward.headers.{name}");
            let Some(header) = self.header_name(&name, &path) else {
                continue;
            };
            if let Some(reserved) =
                forward_header_conflict(header.as_str(), &prefix, claims_folded.as_deref())
            {
                self.problem(
                    &path,
                    format!("cannot be set from a claim: {}", reserved.description()),
                );
                continue;
            }
            if headers
                .iter()
                .any(|(h, _)| fold(h.as_str()) == fold(header.as_str()))
            {
                self.problem(&path, "names the same header as another entry");
                continue;
            }
            match ClaimPath::parse(&claim) {
                Ok(claim) => headers.push((header, claim)),
                Err(e) => self.problem(&path, e.to_string()),
            }
        }
        ForwardConfig {
            header_prefix: prefix,
            claims_header,
            authorization,
            headers,
        }
    }

    /// A header name, lower-cased.
    fn header_name(&mut self, name: &str, path: &str) -> Option<HeaderName> {
        match HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
            Ok(h) => Some(h),
            Err(_) => {
                self.problem(path, format!("`{name}` is not a valid header name"));
                None
            }
        }
    }
}
