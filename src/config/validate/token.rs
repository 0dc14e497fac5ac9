//! `token`: where a token is looked for (in order: `header`, `header:NAME`, `cookie:NAME`,
//! `query:NAME`, `alb`), how long it may be, and the verified-token cache's bounds.

use http::header::{AUTHORIZATION, CONTENT_LENGTH, COOKIE, HOST};
use http::HeaderName;
use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawToken;
use crate::config::IssuerConfig;
use crate::config::{TokenConfig, TokenSource};
use crate::proxy::headers::fold::folded_starts_with;
use crate::proxy::headers::reserved::{HOP_BY_HOP, X_AMZN_OIDC_FAMILY};

impl Validator {
    pub(super) fn token(&mut self, map: &Mapping) -> TokenConfig {
        let raw: RawToken = self.section(map, "token");
        let mut sources = Vec::new();
        let texts = raw.sources.unwrap_or_else(|| {
            defaults::TOKEN_SOURCES
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        });
        if texts.is_empty() {
            self.problem("token.sources", "must not be empty");
        }
        for (i, s) in texts.iter().enumerate() {
            let path = format!("token.sources[{i}]");
            let source = match s.split_once(':') {
                None if s == "header" => Some(TokenSource::Header),
                None if s == "alb" => Some(TokenSource::Alb),
                Some(("cookie", name)) if valid_token_name(name) => {
                    Some(TokenSource::Cookie(name.to_owned()))
                }
                Some(("query", name)) if valid_token_name(name) => {
                    Some(TokenSource::Query(name.to_owned()))
                }
                Some(("header", name)) => self.token_header(name, &path),
                _ => {
                    self.problem(
                        &path,
                        "must be header, header:NAME, cookie:NAME, query:NAME or alb",
                    );
                    None
                }
            };
            if let Some(source) = source {
                if sources.contains(&source) {
                    self.problem(&path, "duplicate source");
                } else {
                    sources.push(source);
                }
            }
        }
        TokenConfig {
            sources,
            max_bytes: self.size(raw.max_bytes, defaults::TOKEN_MAX_BYTES, "token.max_bytes"),
            cache_entries: usize::try_from(
                raw.cache_entries.unwrap_or(defaults::TOKEN_CACHE_ENTRIES),
            )
            .unwrap_or(usize::MAX),
            cache_max_bytes: self.cache_max_bytes(raw.cache_max_bytes),
        }
    }
}

impl Validator {
    /// `token.cache_max_bytes`: at least [`defaults::TOKEN_CACHE_MAX_BYTES_MIN`] (a smaller
    /// budget, split over the cache's shards, would hold hardly a token each).
    fn cache_max_bytes(&mut self, value: Option<u64>) -> u64 {
        let n = value.unwrap_or(defaults::TOKEN_CACHE_MAX_BYTES);
        if n < defaults::TOKEN_CACHE_MAX_BYTES_MIN {
            self.problem(
                "token.cache_max_bytes",
                format!(
                    "must be at least {} (1 MiB)",
                    defaults::TOKEN_CACHE_MAX_BYTES_MIN
                ),
            );
        }
        n
    }

    /// The `alb` source and the `alb:` issuers come together (reference section 9): the
    /// source without such an issuer, or such an issuer without the source, is a problem.
    pub(super) fn alb_pairing(&mut self, token: &TokenConfig, issuers: &[IssuerConfig]) {
        let source = token.sources.iter().position(|s| *s == TokenSource::Alb);
        let issuer = issuers.iter().position(IssuerConfig::is_alb);
        match (source, issuer) {
            // An issuer with problems of its own is not in `issuers` (it may be the `alb:`
            // one): its problems are said, not this one.
            (Some(_), None) if self.problems.iter().any(|p| p.path.starts_with("issuers")) => {}
            (Some(i), None) => self.problem(
                &format!("token.sources[{i}]"),
                "alb needs an issuer with alb: (its ARNs, issuer and client ids)",
            ),
            (None, Some(i)) => self.problem(
                &format!("issuers[{i}].alb"),
                "needs `alb` in token.sources (the x-amzn-oidc-data header)",
            ),
            (Some(_), Some(_)) | (None, None) => {}
        }
    }

    /// `header:NAME` at `path`: a valid header name (stored lower-case) that a client can
    /// send a token in: not `authorization` (that is the `header` source, with its `Bearer`
    /// scheme), not `cookie` (`cookie:NAME`), not `host`, `content-length` or a hop-by-hop
    /// header.
    fn token_header(&mut self, name: &str, path: &str) -> Option<TokenSource> {
        let Ok(header) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
            self.problem(
                path,
                format!("header:NAME: `{name}` is not a valid header name"),
            );
            return None;
        };
        let refusal = if header == AUTHORIZATION {
            Some("use `header` for Authorization: Bearer")
        } else if header == COOKIE {
            Some("use `cookie:NAME` for a token in a cookie")
        } else if folded_starts_with(header.as_str(), X_AMZN_OIDC_FAMILY) {
            Some("x-amzn-oidc-* come from an ALB: use the `alb` source")
        } else if header == HOST || header == CONTENT_LENGTH || HOP_BY_HOP.contains(&header) {
            Some("this header cannot carry a token")
        } else {
            None
        };
        match refusal {
            Some(why) => {
                self.problem(path, format!("header:{header}: {why}"));
                None
            }
            None => Some(TokenSource::NamedHeader(header)),
        }
    }
}

/// A cookie or query parameter name: letters, digits, `-`, `_`, `.`.
fn valid_token_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
