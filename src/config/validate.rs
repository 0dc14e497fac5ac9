//! Raw -> `Config`: every section deserialized on its own so that problems in several places
//! are all reported, each with its key path; then every rule checked. No network I/O.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, Method, Uri};
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use crate::config::interpolate::expand_tree;
use crate::config::raw::{
    RawAdmin, RawAuthz, RawForward, RawIssuer, RawJwks, RawLog, RawRequire, RawRoute, RawServer,
    RawTls, RawToken, RawUpstream,
};
use crate::config::{
    AdminConfig, Alg, AuthMode, AuthorizationForward, AuthzConfig, Config, ForwardConfig,
    IssuerConfig, IssuerKind, JwksConfig, LogConfig, LogFormat, Mode, PathMatch, Require, Route,
    ServerConfig, TlsConfig, TokenConfig, TokenSource, TokenUse, UpstreamConfig,
};
use crate::server::tls::TlsError;

/// One problem, with the key path it concerns (`issuers[0].client_ids`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

const SECTIONS: [&str; 10] = [
    "mode", "server", "admin", "upstream", "issuers", "jwks", "token", "routes", "forward", "authz",
];
const LOG: &str = "log";

/// Loads and validates YAML text. `env` looks up environment variables (injected).
pub fn load_str(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut v = Validator::default();
    let root: Value = match serde_yaml::from_str(text) {
        Ok(Value::Null) => Value::Mapping(Mapping::new()),
        Ok(root) => root,
        Err(e) => {
            v.problem("", format!("not valid YAML: {e}"));
            return Err(v.into_error());
        }
    };
    let Value::Mapping(mut map) = root else {
        v.problem("", "the file must be a YAML mapping of sections");
        return Err(v.into_error());
    };
    for key in map.keys() {
        match key.as_str() {
            Some(k) if SECTIONS.contains(&k) || k == LOG => {}
            Some(k) => v.problem(
                k,
                format!(
                    "unknown key, expected one of {}",
                    SECTIONS
                        .iter()
                        .chain([&LOG])
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            None => v.problem("", "section names must be strings"),
        }
    }
    let mut expanded = Value::Mapping(std::mem::take(&mut map));
    expand_tree(&mut expanded, "", env, &mut v.problems);
    let Value::Mapping(map) = expanded else {
        return Err(v.into_error());
    };
    let config = v.config(&map);
    match config {
        Some(config) if v.problems.is_empty() => Ok(config),
        _ => Err(v.into_error()),
    }
}

/// Reads and validates a file (a read error is one problem).
pub fn load_file(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, env),
        Err(e) => Err(ConfigError {
            problems: vec![Problem {
                path: String::new(),
                message: format!("cannot read {}: {e}", path.display()),
            }],
        }),
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn into_error(mut self) -> ConfigError {
        if self.problems.is_empty() {
            self.problem("", "invalid configuration");
        }
        ConfigError {
            problems: self.problems,
        }
    }

    /// Deserializes one value, reporting a failure at its full key path. An unknown key is
    /// reported, removed, and the rest deserialized again, so that every unknown key and
    /// every other problem of the section are reported together.
    fn de<T: DeserializeOwned>(&mut self, value: &Value, path: &str) -> Option<T> {
        let mut value = value.clone();
        for _ in 0..32 {
            match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(t) => return Some(t),
                Err(e) => {
                    let inner = e.path().to_string();
                    let full = join_path(path, &inner);
                    let message = e.into_inner().to_string();
                    let message = message.split(" at line ").next().unwrap_or_default();
                    let unknown = message.starts_with("unknown field");
                    self.problem(&full, message);
                    if !(unknown && remove_at(&mut value, &inner)) {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn section<T: DeserializeOwned + Default>(&mut self, map: &Mapping, key: &str) -> T {
        match map.get(key) {
            None | Some(Value::Null) => T::default(),
            Some(value) => self.de(value, key).unwrap_or_default(),
        }
    }

    fn list<T: DeserializeOwned>(&mut self, map: &Mapping, key: &str) -> Option<Vec<Option<T>>> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Sequence(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.de(item, &format!("{key}[{i}]")))
                    .collect(),
            ),
            Some(_) => {
                self.problem(key, "must be a list");
                Some(Vec::new())
            }
        }
    }

    fn duration(&mut self, value: Option<&str>, default: &str, path: &str) -> Duration {
        let text = value.unwrap_or(default);
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

    fn positive(&mut self, d: Duration, path: &str) -> Duration {
        if d.is_zero() && !self.problems.iter().any(|p| p.path == path) {
            self.problem(path, "must be greater than zero");
        }
        d
    }

    fn addr(&mut self, value: Option<&str>, default: &str, path: &str) -> SocketAddr {
        let text = value.unwrap_or(default);
        text.trim().parse().unwrap_or_else(|_| {
            self.problem(
                path,
                format!("invalid socket address `{text}` (expected IP:PORT)"),
            );
            SocketAddr::from(([127, 0, 0, 1], 0))
        })
    }

    fn size(&mut self, value: Option<u64>, default: u64, path: &str) -> usize {
        let n = value.unwrap_or(default);
        if n == 0 {
            self.problem(path, "must be greater than zero");
        }
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    fn config(&mut self, map: &Mapping) -> Option<Config> {
        let mode = match map.get("mode") {
            None | Some(Value::Null) => Mode::Proxy,
            Some(Value::String(m)) if m == "proxy" => Mode::Proxy,
            Some(Value::String(m)) if m == "authz" => Mode::Authz,
            Some(_) => {
                self.problem("mode", "must be proxy or authz");
                Mode::Proxy
            }
        };
        let server = self.server(map);
        let raw_admin: RawAdmin = self.section(map, "admin");
        let admin = AdminConfig {
            listen: self.addr(
                raw_admin.listen.as_deref(),
                "127.0.0.1:9901",
                "admin.listen",
            ),
        };
        let upstream = match mode {
            // `None` is a problem already reported; the other sections are checked still.
            Mode::Proxy => self.upstream(map),
            Mode::Authz => {
                if map.get("upstream").is_some_and(|v| !v.is_null()) {
                    self.problem("upstream", "forbidden in authz mode (the gateway forwards)");
                }
                None
            }
        };
        let jwks = self.jwks(map);
        let issuers = self.issuers(map, &jwks);
        let token = self.token(map);
        let routes = self.routes(map);
        let forward = self.forward(map);
        let authz = self.authz(map, mode);
        let raw_log: RawLog = self.section(map, LOG);
        let log = LogConfig {
            format: match raw_log.format.as_deref() {
                None | Some("json") => LogFormat::Json,
                Some("text") => LogFormat::Text,
                Some(_) => {
                    self.problem("log.format", "must be json or text");
                    LogFormat::Json
                }
            },
            level: raw_log.level.unwrap_or_else(|| "info".to_owned()),
            access_log: raw_log.access_log.unwrap_or(true),
        };
        if tracing_subscriber::EnvFilter::try_new(&log.level).is_err() {
            self.problem(
                "log.level",
                "not a valid level or filter (e.g. info, debug)",
            );
        }
        if mode == Mode::Proxy && upstream.is_none() {
            return None;
        }
        Some(Config {
            mode,
            server,
            admin,
            upstream,
            authz,
            issuers,
            jwks,
            token,
            routes,
            forward,
            log,
        })
    }

    fn server(&mut self, map: &Mapping) -> ServerConfig {
        let raw: RawServer = self.section(map, "server");
        let tls = raw.tls.and_then(|tls| self.tls(tls));
        let header_read_timeout = self.duration(
            raw.header_read_timeout.as_deref(),
            "10s",
            "server.header_read_timeout",
        );
        let idle_timeout = self.duration(raw.idle_timeout.as_deref(), "60s", "server.idle_timeout");
        ServerConfig {
            listen: self.addr(raw.listen.as_deref(), "0.0.0.0:8080", "server.listen"),
            tls,
            max_header_bytes: self.size(raw.max_header_bytes, 16384, "server.max_header_bytes"),
            header_read_timeout: self.positive(header_read_timeout, "server.header_read_timeout"),
            idle_timeout: self.positive(idle_timeout, "server.idle_timeout"),
            max_connections: self.size(raw.max_connections, 10000, "server.max_connections"),
            shutdown_grace: self.duration(
                raw.shutdown_grace.as_deref(),
                "20s",
                "server.shutdown_grace",
            ),
        }
    }

    /// `authz`: only in authz mode; `path_prefix` is "" or `/segment...` without a
    /// trailing slash.
    fn authz(&mut self, map: &Mapping, mode: Mode) -> AuthzConfig {
        let Some(value) = map.get("authz").filter(|v| !v.is_null()) else {
            return AuthzConfig::default();
        };
        if mode != Mode::Authz {
            self.problem("authz", "only allowed with mode: authz");
        }
        let Some(raw) = self.de::<RawAuthz>(value, "authz") else {
            return AuthzConfig::default();
        };
        let path_prefix = raw.path_prefix.unwrap_or_default();
        let prefix_ok = path_prefix.is_empty()
            || (path_prefix.starts_with('/')
                && !path_prefix.ends_with('/')
                && crate::proxy::path::normalize(&path_prefix).as_deref()
                    == Ok(path_prefix.as_str()));
        if !prefix_ok {
            self.problem(
                "authz.path_prefix",
                "must be empty or a normalized path like /auth (no trailing slash)",
            );
        }
        let grpc_listen = raw
            .grpc_listen
            .as_deref()
            .map(|addr| self.addr(Some(addr), "", "authz.grpc_listen"));
        AuthzConfig {
            path_prefix,
            grpc_listen,
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

    fn upstream(&mut self, map: &Mapping) -> Option<UpstreamConfig> {
        let Some(value) = map.get("upstream").filter(|v| !v.is_null()) else {
            self.problem("upstream", "required in proxy mode");
            return None;
        };
        let raw: RawUpstream = self.de(value, "upstream")?;
        let connect = self.duration(
            raw.connect_timeout.as_deref(),
            "2s",
            "upstream.connect_timeout",
        );
        let timeout = self.duration(raw.timeout.as_deref(), "30s", "upstream.timeout");
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
            http2: raw.http2.unwrap_or(false),
            ca_file: raw.ca_file.map(|ca| {
                if let Err(e) = crate::connector::read_ca_file(Path::new(&ca)) {
                    self.problem("upstream.ca_file", e.to_string());
                }
                PathBuf::from(ca)
            }),
        })
    }

    /// An absolute http(s) URI with a host.
    fn http_uri(&mut self, text: &str, path: &str) -> Option<Uri> {
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

    fn jwks(&mut self, map: &Mapping) -> JwksConfig {
        let raw: RawJwks = self.section(map, "jwks");
        let refresh = self.duration(
            raw.refresh_interval.as_deref(),
            "1h",
            "jwks.refresh_interval",
        );
        let refresh = self.positive(refresh, "jwks.refresh_interval");
        let min_refresh = self.duration(
            raw.min_refresh_interval.as_deref(),
            "30s",
            "jwks.min_refresh_interval",
        );
        if min_refresh > refresh {
            self.problem(
                "jwks.min_refresh_interval",
                "must not exceed refresh_interval",
            );
        }
        let fetch_timeout = self.duration(raw.fetch_timeout.as_deref(), "5s", "jwks.fetch_timeout");
        let max_stale = raw.max_stale.as_deref().map(|text| {
            let d = self.duration(Some(text), "", "jwks.max_stale");
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
            max_bytes: self.size(raw.max_bytes, 1_048_576, "jwks.max_bytes"),
            cache_dir: raw.cache_dir.map(PathBuf::from),
            max_stale,
            ca_file: raw.ca_file.map(PathBuf::from),
            allow_http: raw.allow_http.unwrap_or(false),
        }
    }

    fn issuers(&mut self, map: &Mapping, jwks: &JwksConfig) -> Vec<IssuerConfig> {
        let raws = self.list::<RawIssuer>(map, "issuers").unwrap_or_default();
        if raws.is_empty() && !self.problems.iter().any(|p| p.path == "issuers") {
            self.problem("issuers", "at least one issuer is required");
        }
        let mut out: Vec<IssuerConfig> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let Some(raw) = raw else { continue };
            if let Some(issuer) = self.issuer(raw, &format!("issuers[{i}]"), jwks) {
                if out.iter().any(|o| o.name == issuer.name) {
                    self.problem(&format!("issuers[{i}].name"), "duplicate issuer name");
                }
                if out.iter().any(|o| o.issuer == issuer.issuer) {
                    self.problem(&format!("issuers[{i}]"), "duplicate issuer URL");
                }
                out.push(issuer);
            }
        }
        out
    }

    fn issuer(&mut self, raw: RawIssuer, at: &str, jwks: &JwksConfig) -> Option<IssuerConfig> {
        let p = |key: &str| format!("{at}.{key}");
        let name = raw.name.unwrap_or_default();
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            self.problem(&p("name"), "required, made of [a-z0-9_-]");
        }
        let issuer_url: Option<String>;
        let kind: IssuerKind;
        let token_use = self.token_uses(raw.token_use.as_deref(), &p("token_use"));
        match (raw.cognito, raw.issuer) {
            (Some(_), Some(_)) => {
                self.problem(at, "give either cognito: or issuer:, not both");
                return None;
            }
            (None, None) => {
                self.problem(at, "one of cognito: or issuer: is required");
                return None;
            }
            (Some(c), None) => {
                issuer_url = match (c.region, c.user_pool_id, c.issuer) {
                    (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                        self.problem(
                            &p("cognito"),
                            "give region + user_pool_id, or issuer, not both",
                        );
                        None
                    }
                    (Some(region), Some(pool), None) => self
                        .pool_id(&region, &pool, &p("cognito"))
                        .then(|| format!("https://cognito-idp.{region}.amazonaws.com/{pool}")),
                    (None, None, Some(issuer)) => Some(issuer),
                    _ => {
                        self.problem(&p("cognito"), "needs region and user_pool_id (or issuer)");
                        None
                    }
                };
                let client_ids = raw.client_ids.unwrap_or_default();
                if client_ids.is_empty() || client_ids.iter().any(String::is_empty) {
                    self.problem(&p("client_ids"), "must not be empty");
                }
                if raw.audiences.is_some() {
                    self.problem(
                        &p("audiences"),
                        "only for generic issuers (Cognito uses client_ids)",
                    );
                }
                kind = IssuerKind::Cognito {
                    client_ids,
                    token_use: token_use.unwrap_or_else(|| vec![TokenUse::Access]),
                };
            }
            (None, Some(issuer)) => {
                issuer_url = Some(issuer);
                let audiences = raw.audiences.unwrap_or_default();
                if audiences.is_empty() || audiences.iter().any(String::is_empty) {
                    self.problem(&p("audiences"), "must not be empty");
                }
                if raw.client_ids.is_some() {
                    self.problem(
                        &p("client_ids"),
                        "only with cognito: (generic issuers use audiences)",
                    );
                }
                if token_use.is_some() {
                    self.problem(&p("token_use"), "only with cognito:");
                }
                kind = IssuerKind::Generic { audiences };
            }
        }
        let issuer_url = issuer_url.map(|u| u.trim().to_owned());
        let jwks_text = raw.jwks_uri.or_else(|| {
            issuer_url
                .as_ref()
                .map(|u| format!("{}/.well-known/jwks.json", u.trim_end_matches('/')))
        });
        let jwks_uri = jwks_text.and_then(|t| self.http_uri(&t, &p("jwks_uri")));
        if let Some(uri) = &jwks_uri {
            if uri.scheme_str() == Some("http") && !is_loopback(uri.host()) && !jwks.allow_http {
                self.problem(
                    &p("jwks_uri"),
                    "http:// is allowed only for loopback hosts or with jwks.allow_http: true",
                );
            }
        }
        let mut algorithms = Vec::new();
        for (i, a) in raw
            .algorithms
            .unwrap_or_else(|| vec!["RS256".to_owned()])
            .iter()
            .enumerate()
        {
            match Alg::parse(a) {
                Some(alg) if !algorithms.contains(&alg) => algorithms.push(alg),
                Some(_) => {}
                None if a.eq_ignore_ascii_case("none") || a.to_ascii_uppercase().starts_with("HS") => {
                    self.problem(
                        &format!("{at}.algorithms[{i}]"),
                        format!("`{a}` is never allowed (no unsigned or shared-secret tokens)"),
                    );
                }
                None => self.problem(
                    &format!("{at}.algorithms[{i}]"),
                    format!("unknown algorithm `{a}` (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA)"),
                ),
            }
        }
        if algorithms.is_empty()
            && !self
                .problems
                .iter()
                .any(|x| x.path.starts_with(&p("algorithms")))
        {
            self.problem(&p("algorithms"), "must not be empty");
        }
        let clock_skew = self.duration(raw.clock_skew.as_deref(), "0s", &p("clock_skew"));
        Some(IssuerConfig {
            name,
            issuer: issuer_url?,
            jwks_uri: jwks_uri?,
            kind,
            algorithms,
            clock_skew,
        })
    }

    /// `{region}_{alphanumeric}`, its region prefix equal to `region`.
    fn pool_id(&mut self, region: &str, pool: &str, path: &str) -> bool {
        let ok = match pool.split_once('_') {
            Some((prefix, id)) => {
                prefix == region && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            None => false,
        };
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            self.problem(
                &format!("{path}.region"),
                "not a region name (e.g. us-east-1)",
            );
        }
        if !ok {
            self.problem(
                &format!("{path}.user_pool_id"),
                format!("must look like {region}_AbC123 (region prefix, underscore, letters and digits)"),
            );
        }
        ok && region_ok
    }

    fn token_uses(&mut self, raw: Option<&[String]>, path: &str) -> Option<Vec<TokenUse>> {
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

    fn token(&mut self, map: &Mapping) -> TokenConfig {
        let raw: RawToken = self.section(map, "token");
        let mut sources = Vec::new();
        let texts = raw.sources.unwrap_or_else(|| vec!["header".to_owned()]);
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
            max_bytes: self.size(raw.max_bytes, 8192, "token.max_bytes"),
            cache_entries: usize::try_from(raw.cache_entries.unwrap_or(65536))
                .unwrap_or(usize::MAX),
        }
    }

    fn routes(&mut self, map: &Mapping) -> Vec<Route> {
        let Some(raws) = self.list::<RawRoute>(map, "routes") else {
            return vec![Route {
                name: "0".to_owned(),
                path: PathMatch::Prefix("/".to_owned()),
                methods: None,
                auth: AuthMode::Required,
                require: Require::default(),
            }];
        };
        if raws.is_empty() {
            self.problem(
                "routes",
                "must not be empty (omit it for one route: any path, auth required)",
            );
        }
        let mut out: Vec<Route> = Vec::new();
        for (i, raw) in raws.into_iter().enumerate() {
            let Some(raw) = raw else { continue };
            let at = format!("routes[{i}]");
            if let Some(route) = self.route(raw, i, &at) {
                if out.iter().any(|r| r.name == route.name) {
                    self.problem(&format!("{at}.name"), "duplicate route name");
                }
                out.push(route);
            }
        }
        out
    }

    fn route(&mut self, raw: RawRoute, index: usize, at: &str) -> Option<Route> {
        let Some(m) = raw.matcher else {
            self.problem(&format!("{at}.match"), "required");
            return None;
        };
        let path = match (m.path_prefix, m.path) {
            (Some(p), None) => self
                .route_path(&p, &format!("{at}.match.path_prefix"))
                .map(PathMatch::Prefix),
            (None, Some(p)) => self
                .route_path(&p, &format!("{at}.match.path"))
                .map(PathMatch::Exact),
            _ => {
                self.problem(
                    &format!("{at}.match"),
                    "needs exactly one of path_prefix or path",
                );
                None
            }
        };
        let methods = m.methods.map(|list| {
            if list.is_empty() {
                self.problem(
                    &format!("{at}.match.methods"),
                    "must not be empty (omit it for all methods)",
                );
            }
            list.iter()
                .enumerate()
                .filter_map(|(j, text)| {
                    let upper = text.to_ascii_uppercase();
                    match Method::from_bytes(upper.as_bytes()) {
                        Ok(method) if !upper.is_empty() => Some(method),
                        _ => {
                            self.problem(&format!("{at}.match.methods[{j}]"), "not an HTTP method");
                            None
                        }
                    }
                })
                .collect()
        });
        let auth = match raw.auth.as_deref() {
            None | Some("required") => AuthMode::Required,
            Some("optional") => AuthMode::Optional,
            Some("none") => AuthMode::None,
            Some(_) => {
                self.problem(&format!("{at}.auth"), "must be none, optional or required");
                AuthMode::Required
            }
        };
        let require = match raw.require {
            None => Require::default(),
            Some(r) => {
                if auth == AuthMode::None {
                    self.problem(
                        &format!("{at}.require"),
                        "has no effect on an auth: none route (the token is never looked at)",
                    );
                }
                self.require(r, &format!("{at}.require"))
            }
        };
        let name = raw.name.unwrap_or_else(|| index.to_string());
        if name.is_empty() {
            self.problem(&format!("{at}.name"), "must not be empty");
        }
        Some(Route {
            name,
            path: path?,
            methods,
            auth,
            require,
        })
    }

    /// A configured route path: absolute, already normalized, no escapes or parameters.
    fn route_path(&mut self, p: &str, path: &str) -> Option<String> {
        let bad = !p.starts_with('/')
            || p.contains("//")
            || p.contains('%')
            || p.contains(';')
            || p.contains('\\')
            || p.contains('?')
            || p.contains('#')
            || p.bytes().any(|b| b <= b' ' || b >= 0x7f)
            || p.split('/').any(|s| s == "." || s == "..");
        if bad {
            self.problem(
                path,
                "must start with / and be a plain normalized path (no //, . or .. segments, %, ;, \\)",
            );
            return None;
        }
        if p.len() > 1 {
            Some(p.trim_end_matches('/').to_owned())
        } else {
            Some(p.to_owned())
        }
    }

    fn require(&mut self, r: RawRequire, at: &str) -> Require {
        let token_use = self
            .token_uses(r.token_use.as_deref(), &format!("{at}.token_use"))
            .unwrap_or_default();
        let claims: Vec<(String, Vec<String>)> = r.claims.unwrap_or_default().into_iter().collect();
        for (name, values) in &claims {
            if name.is_empty() || values.is_empty() {
                self.problem(
                    &format!("{at}.claims"),
                    "each claim needs a name and at least one value",
                );
            }
        }
        Require {
            token_use,
            groups_any: r.groups_any.unwrap_or_default(),
            groups_all: r.groups_all.unwrap_or_default(),
            scopes_all: r.scopes_all.unwrap_or_default(),
            claims,
        }
    }

    fn forward(&mut self, map: &Mapping) -> ForwardConfig {
        let raw: RawForward = self.section(map, "forward");
        let prefix = raw
            .header_prefix
            .unwrap_or_else(|| "x-auth-".to_owned())
            .to_ascii_lowercase();
        if prefix.is_empty() || HeaderName::from_bytes(format!("{prefix}x").as_bytes()).is_err() {
            self.problem(
                "forward.header_prefix",
                "must be a non-empty header-name prefix",
            );
        }
        let claims_header = match raw.claims_header {
            Some(h) if h.is_empty() => None,
            Some(h) => self.header_name(&h, "forward.claims_header"),
            None => self.header_name(&format!("{prefix}claims"), "forward.header_prefix"),
        };
        let authorization = match raw.authorization.as_deref() {
            None | Some("keep") => AuthorizationForward::Keep,
            Some("strip") => AuthorizationForward::Strip,
            Some(_) => {
                self.problem("forward.authorization", "must be keep or strip");
                AuthorizationForward::Keep
            }
        };
        let mut headers = Vec::new();
        for (name, claim) in raw.headers.unwrap_or_default() {
            let path = format!("forward.headers.{name}");
            let Some(header) = self.header_name(&name, &path) else {
                continue;
            };
            const RESERVED: [&str; 12] = [
                "host",
                "authorization",
                "connection",
                "keep-alive",
                "proxy-connection",
                "proxy-authenticate",
                "proxy-authorization",
                "te",
                "trailer",
                "transfer-encoding",
                "upgrade",
                "cookie",
            ];
            if RESERVED.contains(&header.as_str()) {
                self.problem(&path, "cannot be set from a claim");
                continue;
            }
            if claim.is_empty() {
                self.problem(&path, "needs a claim name");
                continue;
            }
            headers.push((header, claim));
        }
        ForwardConfig {
            header_prefix: prefix,
            claims_header,
            authorization,
            headers,
        }
    }

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

fn join_path(base: &str, inner: &str) -> String {
    match (base.is_empty(), inner) {
        (_, ".") => base.to_owned(),
        (true, _) => inner.to_owned(),
        (false, i) if i.starts_with('[') => format!("{base}{i}"),
        (false, i) => format!("{base}.{i}"),
    }
}

/// Removes the key at a serde_path_to_error path (`a.b[2].c`) from a YAML tree.
fn remove_at(value: &mut Value, path: &str) -> bool {
    let mut steps: Vec<&str> = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                steps.push(&rest[..i]);
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                steps.push(&rest[..=end]);
                rest = &rest[end + 1..];
            }
        } else if !rest.is_empty() {
            steps.push(rest);
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut current = value;
    for step in parents {
        let next = if let Some(index) = step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            index
                .parse::<usize>()
                .ok()
                .and_then(|i| current.as_sequence_mut().and_then(|s| s.get_mut(i)))
        } else {
            current.as_mapping_mut().and_then(|m| m.get_mut(*step))
        };
        match next {
            Some(n) => current = n,
            None => return false,
        }
    }
    current
        .as_mapping_mut()
        .is_some_and(|m| m.remove(*last).is_some())
}

fn valid_token_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn is_loopback(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const MINIMAL: &str = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_AbC123 }\n    client_ids: [abc]\n";

    fn load(extra: &str) -> Result<Config, ConfigError> {
        load_str(&format!("{MINIMAL}{extra}"), &no_env)
    }

    fn paths(extra: &str) -> Vec<String> {
        load(extra)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_minimal_file_gets_every_default() {
        let c = load("").unwrap();
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9901");
        assert_eq!(c.server.max_header_bytes, 16384);
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.server.max_connections, 10000);
        assert_eq!(c.server.shutdown_grace, Duration::from_secs(20));
        assert_eq!(
            c.upstream.as_ref().unwrap().connect_timeout,
            Duration::from_secs(2)
        );
        assert_eq!(
            c.upstream.as_ref().unwrap().timeout,
            Duration::from_secs(30)
        );
        assert!(!c.upstream.as_ref().unwrap().http2);
        assert_eq!(c.jwks.refresh_interval, Duration::from_secs(3600));
        assert_eq!(c.jwks.min_refresh_interval, Duration::from_secs(30));
        assert_eq!(c.jwks.fetch_timeout, Duration::from_secs(5));
        assert_eq!(c.jwks.max_bytes, 1_048_576);
        assert!(!c.jwks.allow_http);
        assert_eq!(c.token.sources, vec![TokenSource::Header]);
        assert_eq!(c.token.max_bytes, 8192);
        assert_eq!(c.token.cache_entries, 65536);
        assert_eq!(c.forward.header_prefix, "x-auth-");
        assert_eq!(c.forward.claims_header.as_ref().unwrap(), "x-auth-claims");
        assert_eq!(c.forward.authorization, AuthorizationForward::Keep);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.log.level, "info");
        assert!(c.log.access_log);
        let i = &c.issuers[0];
        assert_eq!(
            i.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
        );
        assert_eq!(
            i.jwks_uri.to_string(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json"
        );
        assert_eq!(i.algorithms, vec![Alg::RS256]);
        assert_eq!(i.clock_skew, Duration::ZERO);
        assert!(
            matches!(&i.kind, IssuerKind::Cognito { token_use, .. } if token_use == &vec![TokenUse::Access])
        );
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.routes[0].name, "0");
        assert_eq!(c.routes[0].path, PathMatch::Prefix("/".into()));
        assert_eq!(c.routes[0].auth, AuthMode::Required);
    }

    #[test]
    fn environment_variables_are_expanded_through_the_injected_lookup() {
        let env = |name: &str| (name == "POOL").then(|| "us-east-1_Env1".to_owned());
        let text = "upstream: { url: 'http://127.0.0.1:${PORT:-3000}' }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: '${POOL}' }\n    client_ids: [abc]\nserver: { max_connections: '${MAXC:-7}' }\n";
        let c = load_str(text, &env).unwrap();
        assert_eq!(c.upstream.as_ref().unwrap().url.port_u16(), Some(3000));
        assert!(c.issuers[0].issuer.ends_with("us-east-1_Env1"));
        assert_eq!(c.server.max_connections, 7);
        let e = load_str(text, &no_env).unwrap_err();
        assert_eq!(e.problems[0].path, "issuers[0].cognito.user_pool_id");
        assert!(e.problems[0].message.contains("POOL"));
    }

    #[test]
    fn unknown_keys_in_several_sections_are_reported_together() {
        let p = paths("server: { lisen: x, listen: bad }\ntoken: { sorces: [header] }\nextra: 1\n");
        assert!(p.contains(&"server.lisen".to_owned()));
        assert!(p.contains(&"server.listen".to_owned()));
        assert!(p.contains(&"token.sorces".to_owned()));
        assert!(p.contains(&"extra".to_owned()));
    }

    #[test]
    fn cognito_client_ids_must_not_be_empty() {
        let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_A1 }\n    client_ids: []\n";
        let e = load_str(text, &no_env).unwrap_err();
        assert_eq!(
            e.problems[0].to_string(),
            "issuers[0].client_ids: must not be empty"
        );
    }

    #[test]
    fn issuer_rules_are_checked_with_their_paths() {
        let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: Main!\n    cognito: { region: us-east-1, user_pool_id: eu-west-1_A1, issuer: http://x }\n    client_ids: [a]\n  - name: gen\n    issuer: https://idp.example.com\n    token_use: [id]\n  - name: both\n    issuer: https://a\n    cognito: { issuer: https://a }\n  - name: remote\n    issuer: https://b\n    audiences: [x]\n    jwks_uri: http://keys.example.com/jwks.json\n    algorithms: [HS256, none, RS1]\n";
        let e = load_str(text, &no_env).unwrap_err();
        let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "issuers[0].name",
            "issuers[0].cognito",
            "issuers[1].audiences",
            "issuers[1].token_use",
            "issuers[2]",
            "issuers[3].jwks_uri",
            "issuers[3].algorithms[0]",
            "issuers[3].algorithms[1]",
            "issuers[3].algorithms[2]",
        ] {
            assert!(p.contains(&expected), "{expected} missing from {p:?}");
        }
    }

    #[test]
    fn http_jwks_is_allowed_on_loopback_or_with_allow_http() {
        let gen = |uri: &str, allow: bool| {
            format!("upstream: {{ url: http://127.0.0.1:3000 }}\njwks: {{ allow_http: {allow} }}\nissuers:\n  - name: g\n    issuer: https://idp\n    audiences: [a]\n    jwks_uri: {uri}\n")
        };
        assert!(load_str(&gen("http://127.0.0.1:5000/k", false), &no_env).is_ok());
        assert!(load_str(&gen("http://localhost:5000/k", false), &no_env).is_ok());
        assert!(load_str(&gen("http://[::1]:5000/k", false), &no_env).is_ok());
        assert!(load_str(&gen("http://keys.internal/k", false), &no_env).is_err());
        assert!(load_str(&gen("http://keys.internal/k", true), &no_env).is_ok());
        assert!(load_str(&gen("ftp://keys/k", true), &no_env).is_err());
    }

    #[test]
    fn duplicate_issuer_names_and_urls_are_refused() {
        let text = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - { name: a, issuer: 'https://x', audiences: [a] }\n  - { name: a, issuer: 'https://x', audiences: [a] }\n";
        let p: Vec<String> = load_str(text, &no_env)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(p, ["issuers[1].name", "issuers[1]"]);
    }

    #[test]
    fn route_rules_are_checked_with_their_paths() {
        let p = paths("routes:\n  - match: { path_prefix: /a, path: /b }\n  - match: { path_prefix: /x/../y }\n  - match: { path: /ok, methods: [GET, 'BAD METHOD'] }\n    auth: maybe\n  - match: { path_prefix: /pub }\n    auth: none\n    require: { groups_any: [a] }\n  - name: dup\n    match: { path: /1 }\n  - name: dup\n    match: { path: /2 }\n    require: { token_use: [refresh] }\n");
        for expected in [
            "routes[0].match",
            "routes[1].match.path_prefix",
            "routes[2].match.methods[1]",
            "routes[2].auth",
            "routes[3].require",
            "routes[5].name",
            "routes[5].require.token_use[0]",
        ] {
            assert!(
                p.contains(&expected.to_owned()),
                "{expected} missing from {p:?}"
            );
        }
    }

    #[test]
    fn routes_are_stored_normalized_with_names_and_requirements() {
        let c = load("routes:\n  - match: { path_prefix: /admin/, methods: [get] }\n    require: { groups_any: [admin], claims: { 'custom:tenant': [acme] } }\n  - name: rest\n    match: { path: / }\n    auth: optional\n").unwrap();
        assert_eq!(c.routes[0].name, "0");
        assert_eq!(c.routes[0].path, PathMatch::Prefix("/admin".into()));
        assert_eq!(c.routes[0].methods, Some(vec![Method::GET]));
        assert_eq!(c.routes[0].require.groups_any, ["admin"]);
        assert_eq!(c.routes[0].require.claims[0].0, "custom:tenant");
        assert_eq!(c.routes[1].name, "rest");
        assert_eq!(c.routes[1].auth, AuthMode::Optional);
    }

    #[test]
    fn token_sources_are_parsed_and_checked() {
        let c = load("token: { sources: ['cookie:id', 'query:t', header] }\n").unwrap();
        assert_eq!(
            c.token.sources,
            vec![
                TokenSource::Cookie("id".into()),
                TokenSource::Query("t".into()),
                TokenSource::Header
            ]
        );
        let p = paths("token: { sources: ['cookie:', bearer, header, header] }\n");
        assert_eq!(
            p,
            ["token.sources[0]", "token.sources[1]", "token.sources[3]"]
        );
    }

    #[test]
    fn durations_are_parsed_and_bad_ones_reported() {
        let c = load("server: { header_read_timeout: 500ms, shutdown_grace: 5m }\njwks: { refresh_interval: 2h }\n").unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_millis(500));
        assert_eq!(c.server.shutdown_grace, Duration::from_secs(300));
        assert_eq!(c.jwks.refresh_interval, Duration::from_secs(7200));
        let p = paths("server: { idle_timeout: soon }\njwks: { refresh_interval: 10s, min_refresh_interval: 1m, fetch_timeout: 0s }\n");
        assert_eq!(
            p,
            [
                "server.idle_timeout",
                "jwks.min_refresh_interval",
                "jwks.fetch_timeout"
            ]
        );
    }

    #[test]
    fn forward_rules_are_checked() {
        let c = load("forward: { header_prefix: X-User-, claims_header: '', authorization: strip, headers: { x-tenant: 'custom:tenant' } }\n").unwrap();
        assert_eq!(c.forward.header_prefix, "x-user-");
        assert!(c.forward.claims_header.is_none());
        assert_eq!(c.forward.authorization, AuthorizationForward::Strip);
        assert_eq!(c.forward.headers[0].0, "x-tenant");
        let p = paths("forward: { authorization: drop, headers: { host: sub, 'bad header': sub, x-ok: '' } }\n");
        assert_eq!(
            p,
            [
                "forward.authorization",
                "forward.headers.bad header",
                "forward.headers.host",
                "forward.headers.x-ok"
            ]
        );
    }

    #[test]
    fn server_tls_needs_both_files_and_they_must_load() {
        let p = paths("server: { tls: { cert_file: '' } }\n");
        assert_eq!(p, ["server.tls.cert_file", "server.tls.key_file"]);
        let p = paths(
            "server: { tls: { cert_file: /nonexistent/a.crt, key_file: /nonexistent/a.key } }\n",
        );
        assert_eq!(p, ["server.tls.cert_file"]);
    }

    #[test]
    fn upstream_is_required_and_must_be_http() {
        let e = load_str("issuers: []\n", &no_env).unwrap_err();
        let p: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(p, ["upstream", "issuers"]);
        let text = MINIMAL.replace("http://127.0.0.1:3000", "'ftp://x?y=1'");
        assert_eq!(
            load_str(&text, &no_env).unwrap_err().problems[0].path,
            "upstream.url"
        );
    }

    #[test]
    fn broken_yaml_and_non_mappings_are_one_clear_problem() {
        assert!(load_str("a: [", &no_env).unwrap_err().problems[0]
            .message
            .starts_with("not valid YAML"));
        assert_eq!(
            load_str("- 1\n- 2\n", &no_env).unwrap_err().problems.len(),
            1
        );
    }

    #[test]
    fn key_lifecycle_settings_are_parsed_and_checked() {
        let c = load("jwks: { cache_dir: /var/cache/tokengate, max_stale: 2h }\n").unwrap();
        assert_eq!(
            c.jwks.cache_dir.as_deref(),
            Some(Path::new("/var/cache/tokengate"))
        );
        assert_eq!(c.jwks.max_stale, Some(Duration::from_secs(7200)));
        let p = paths("jwks: { max_stale: 30m, cache_dir: '', ca_file: /nonexistent/ca.pem }\n");
        assert_eq!(p, ["jwks.max_stale", "jwks.cache_dir", "jwks.ca_file"]);
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/README.md");
        let p = paths(&format!("jwks: {{ ca_file: '{ca}' }}\n"));
        assert_eq!(p, ["jwks.ca_file"], "a file without a certificate");
    }
}
