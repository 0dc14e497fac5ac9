//! `server` (the data-plane listener, its limits and TLS files) and `admin` (the admin
//! listener). TLS files are read now, so `check-config` catches a broken pair.

use std::path::PathBuf;

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::{RawAdmin, RawServer, RawTls};
use crate::config::{AdminConfig, ServerConfig, TlsConfig};
use crate::server::tls::TlsError;

/// The smallest `server.max_header_bytes` (reference section 2): a request line and a few
/// ordinary headers must always fit.
const MIN_HEADER_BYTES: usize = 1024;

impl Validator {
    pub(super) fn server(&mut self, map: &Mapping) -> ServerConfig {
        let raw: RawServer = self.section(map, "server");
        let tls = raw.tls.and_then(|tls| self.tls(tls));
        let header_read_timeout = self.duration_or(
            raw.header_read_timeout.as_deref(),
            defaults::SERVER_HEADER_READ_TIMEOUT,
            "server.header_read_timeout",
        );
        let idle_timeout = self.duration_or(
            raw.idle_timeout.as_deref(),
            defaults::SERVER_IDLE_TIMEOUT,
            "server.idle_timeout",
        );
        let max_header_bytes = self.size(
            raw.max_header_bytes,
            defaults::SERVER_MAX_HEADER_BYTES,
            "server.max_header_bytes",
        );
        if (1..MIN_HEADER_BYTES).contains(&max_header_bytes) {
            self.problem(
                "server.max_header_bytes",
                format!("must be at least {MIN_HEADER_BYTES}"),
            );
        }
        ServerConfig {
            listen: self.addr_or(
                raw.listen.as_deref(),
                defaults::SERVER_LISTEN,
                "server.listen",
            ),
            tls,
            max_header_bytes,
            header_read_timeout: self.positive(header_read_timeout, "server.header_read_timeout"),
            idle_timeout: self.positive(idle_timeout, "server.idle_timeout"),
            max_connections: self.size(
                raw.max_connections,
                defaults::SERVER_MAX_CONNECTIONS,
                "server.max_connections",
            ),
            shutdown_grace: self.duration_or(
                raw.shutdown_grace.as_deref(),
                defaults::SERVER_SHUTDOWN_GRACE,
                "server.shutdown_grace",
            ),
        }
    }

    /// Both files are required and must make a usable pair now (check-config reads them).
    fn tls(&mut self, raw: RawTls) -> Option<TlsConfig> {
        let cert_file = raw.cert_file.filter(|f| !f.is_empty());
        let key_file = raw.key_file.filter(|f| !f.is_empty());
        if cert_file.is_none() {
            self.problem("server.tls.cert_file", "required");
        }
        if key_file.is_none() {
            self.problem("server.tls.key_file", "required");
        }
        let tls = TlsConfig {
            cert_file: PathBuf::from(cert_file?),
            key_file: PathBuf::from(key_file?),
        };
        if let Err(e) = crate::server::tls::server_config(&tls) {
            let path = match e {
                TlsError::Key { .. } => "server.tls.key_file",
                TlsError::Pair { .. } => "server.tls",
                _ => "server.tls.cert_file",
            };
            self.problem(path, e.to_string());
            return None;
        }
        Some(tls)
    }

    pub(super) fn admin(&mut self, map: &Mapping) -> AdminConfig {
        let raw: RawAdmin = self.section(map, "admin");
        AdminConfig {
            listen: self.addr_or(
                raw.listen.as_deref(),
                defaults::ADMIN_LISTEN,
                "admin.listen",
            ),
        }
    }
}
