//! `token`: where a token is looked for (in order), how long it may be, and the
//! verified-token cache size.

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawToken;
use crate::config::{TokenConfig, TokenSource};

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
                Some(("cookie", name)) if valid_token_name(name) => {
                    Some(TokenSource::Cookie(name.to_owned()))
                }
                Some(("query", name)) if valid_token_name(name) => {
                    Some(TokenSource::Query(name.to_owned()))
                }
                _ => {
                    self.problem(&path, "must be header, cookie:NAME or query:NAME");
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
