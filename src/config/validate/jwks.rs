//! `jwks`: how keys are fetched and kept (refresh intervals, fetch limits, the on-disk cache,
//! staleness, the CA bundle read now). Checked before `issuers`, which reads `allow_http`.

use std::path::{Path, PathBuf};

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::RawJwks;
use crate::config::JwksConfig;

impl Validator {
    pub(super) fn jwks(&mut self, map: &Mapping) -> JwksConfig {
        let raw: RawJwks = self.section(map, "jwks");
        let refresh = self.duration_or(
            raw.refresh_interval.as_deref(),
            defaults::JWKS_REFRESH_INTERVAL,
            "jwks.refresh_interval",
        );
        let refresh = self.positive(refresh, "jwks.refresh_interval");
        let min_refresh = self.duration_or(
            raw.min_refresh_interval.as_deref(),
            defaults::JWKS_MIN_REFRESH_INTERVAL,
            "jwks.min_refresh_interval",
        );
        if min_refresh > refresh {
            self.problem(
                "jwks.min_refresh_interval",
                "must not exceed refresh_interval",
            );
        }
        let fetch_timeout = self.duration_or(
            raw.fetch_timeout.as_deref(),
            defaults::JWKS_FETCH_TIMEOUT,
            "jwks.fetch_timeout",
        );
        let max_stale = raw.max_stale.as_deref().map(|text| {
            let d = self.duration(text, "jwks.max_stale");
            if d <= refresh {
                self.problem(
                    "jwks.max_stale",
                    "must be longer than refresh_interval (else keys expire between refreshes)",
                );
            }
            d
        });
        if raw.cache_dir.as_deref().is_some_and(str::is_empty) {
            self.problem(
                "jwks.cache_dir",
                "must not be empty (omit it to keep no cache)",
            );
        }
        if let Some(ca) = raw.ca_file.as_deref() {
            if let Err(e) = crate::connector::read_ca_file(Path::new(ca)) {
                self.problem("jwks.ca_file", e.to_string());
            }
        }
        JwksConfig {
            refresh_interval: refresh,
            min_refresh_interval: min_refresh,
            fetch_timeout: self.positive(fetch_timeout, "jwks.fetch_timeout"),
            max_bytes: self.size(raw.max_bytes, defaults::JWKS_MAX_BYTES, "jwks.max_bytes"),
            cache_dir: raw.cache_dir.map(PathBuf::from),
            max_stale,
            ca_file: raw.ca_file.map(PathBuf::from),
            allow_http: raw.allow_http.unwrap_or(defaults::JWKS_ALLOW_HTTP),
        }
    }
}
