//! The value parsers several sections share: durations, sizes, socket addresses, http(s)
//! URLs and token uses. Each reports a problem at the path it is given and returns a
//! placeholder, so validation goes on.

use std::net::SocketAddr;
use std::time::Duration;

use http::Uri;

use super::Validator;
use crate::config::TokenUse;

impl Validator {
    /// A duration string (`500ms`, `30s`, `1h 30m`); a bare number has no unit and is refused.
    /// A problem gives `Duration::ZERO`.
    pub(super) fn duration(&mut self, text: &str, path: &str) -> Duration {
        match humantime::parse_duration(text.trim()) {
            Ok(d) => d,
            Err(_) => {
                self.problem(
                    path,
                    format!("invalid duration `{text}` (use 500ms, 30s, 5m, 1h)"),
                );
                Duration::ZERO
            }
        }
    }

    /// `duration` of the configured text, or `default` when the key is omitted.
    pub(super) fn duration_or(
        &mut self,
        value: Option<&str>,
        default: Duration,
        path: &str,
    ) -> Duration {
        match value {
            Some(text) => self.duration(text, path),
            None => default,
        }
    }

    /// Refuses zero, unless a problem is already reported at `path` (a bad duration is
    /// reported once, not twice).
    pub(super) fn positive(&mut self, d: Duration, path: &str) -> Duration {
        if d.is_zero() && !self.reported(path) {
            self.problem(path, "must be greater than zero");
        }
        d
    }

    /// `IP:PORT` (`[::1]:80` for IPv6); a problem gives `127.0.0.1:0`.
    pub(super) fn addr(&mut self, text: &str, path: &str) -> SocketAddr {
        text.trim().parse().unwrap_or_else(|_| {
            self.problem(
                path,
                format!("invalid socket address `{text}` (expected IP:PORT)"),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    /// `addr` of the configured text, or `default` when the key is omitted.
    pub(super) fn addr_or(
        &mut self,
        value: Option<&str>,
        default: SocketAddr,
        path: &str,
    ) -> SocketAddr {
        match value {
            Some(text) => self.addr(text, path),
            None => default,
        }
    }

    /// A count or byte size, `default` when omitted; zero is refused. Saturates at
    /// `usize::MAX` where `usize` is narrower than the file's number.
    pub(super) fn size(&mut self, value: Option<u64>, default: u64, path: &str) -> usize {
        let n = value.unwrap_or(default);
        if n == 0 {
            self.problem(path, "must be greater than zero");
        }
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// An absolute http(s) URI with a host.
    pub(super) fn http_uri(&mut self, text: &str, path: &str) -> Option<Uri> {
        match text.trim().parse::<Uri>() {
            Ok(uri)
                if matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some_and(|h| !h.is_empty()) =>
            {
                Some(uri)
            }
            _ => {
                self.problem(
                    path,
                    format!("`{text}` is not an http:// or https:// URL with a host"),
                );
                None
            }
        }
    }

    /// A non-empty list of `access` / `id` (duplicates dropped); `None` when omitted. Used by
    /// `issuers[].token_use` and `routes[].require.token_use`.
    pub(super) fn token_uses(
        &mut self,
        raw: Option<&[String]>,
        path: &str,
    ) -> Option<Vec<TokenUse>> {
        let raw = raw?;
        if raw.is_empty() {
            self.problem(path, "must not be empty");
        }
        let mut out = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            match t.as_str() {
                "access" if !out.contains(&TokenUse::Access) => out.push(TokenUse::Access),
                "id" if !out.contains(&TokenUse::Id) => out.push(TokenUse::Id),
                "access" | "id" => {}
                _ => self.problem(&format!("{path}[{i}]"), "must be access or id"),
            }
        }
        Some(out)
    }
}
