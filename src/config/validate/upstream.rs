//! `upstream`: required in proxy mode, forbidden in authz mode (the gateway forwards there).
//! An http(s) URL without a query, its timeouts, and an optional CA bundle read now.

use std::path::{Path, PathBuf};

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawUpstream;
use crate::config::{Mode, UpstreamConfig};

impl Validator {
    /// `Some` only in proxy mode with a usable `upstream`; `None` otherwise (in proxy mode,
    /// with a problem reported).
    pub(super) fn upstream(&mut self, map: &Mapping, mode: Mode) -> Option<UpstreamConfig> {
        match mode {
            Mode::Proxy => self.proxy_upstream(map),
            Mode::Authz => {
                if map.get("upstream").is_some_and(|v| !v.is_null()) {
                    self.problem("upstream", "forbidden in authz mode (the gateway forwards)");
                }
                None
            }
        }
    }

    fn proxy_upstream(&mut self, map: &Mapping) -> Option<UpstreamConfig> {
        let Some(value) = map.get("upstream").filter(|v| !v.is_null()) else {
            self.problem("upstream", "required in proxy mode");
            return None;
        };
        let raw: RawUpstream = self.de(value, "upstream")?;
        let connect = self.duration_or(
            raw.connect_timeout.as_deref(),
            defaults::UPSTREAM_CONNECT_TIMEOUT,
            "upstream.connect_timeout",
        );
        let timeout = self.duration_or(
            raw.timeout.as_deref(),
            defaults::UPSTREAM_TIMEOUT,
            "upstream.timeout",
        );
        let url = match raw.url.as_deref() {
            None => {
                self.problem("upstream.url", "required");
                None
            }
            Some(text) => self.http_uri(text, "upstream.url"),
        };
        if let Some(url) = &url {
            if url.query().is_some() {
                self.problem("upstream.url", "must not have a query");
            }
        }
        Some(UpstreamConfig {
            url: url?,
            connect_timeout: self.positive(connect, "upstream.connect_timeout"),
            timeout: self.positive(timeout, "upstream.timeout"),
            http2: raw.http2.unwrap_or(defaults::UPSTREAM_HTTP2),
            ca_file: raw.ca_file.map(|ca| {
                if let Err(e) = crate::connector::read_ca_file(Path::new(&ca)) {
                    self.problem("upstream.ca_file", e.to_string());
                }
                PathBuf::from(ca)
            }),
        })
    }
}
