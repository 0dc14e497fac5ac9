//! `revocation`: the store (`memory`, or `redis` with its required `redis` block), entry
//! lifetime, staleness bound and posture, and the admin API token file, read now (it must
//! exist and hold a non-empty secret). Secrets never appear in a problem's message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::Mapping;

use super::Validator;
use crate::config::defaults;
use crate::config::raw::{RawRedis, RawRevocation};
use crate::config::revocation::{ApiToken, RedisConfig, RedisUrl, RevocationConfig, StoreKind};
use crate::revocation::list::OnUnavailable;

/// The largest secret file read: a bearer token, not a document.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

impl Validator {
    /// `None` when the section is absent or `null` (nothing is revoked).
    pub(super) fn revocation(&mut self, map: &Mapping) -> Option<RevocationConfig> {
        let value = map.get("revocation").filter(|v| !v.is_null())?;
        let raw: RawRevocation = self.de(value, "revocation").unwrap_or_default();
        let store = match (raw.store.as_deref(), raw.redis) {
            (None | Some("memory"), None) => StoreKind::Memory,
            (None | Some("memory"), Some(_)) => {
                self.problem(
                    "revocation.redis",
                    "only with store: redis (the memory store keeps no server)",
                );
                StoreKind::Memory
            }
            (Some("redis"), Some(redis)) => match self.redis(redis) {
                Some(redis) => StoreKind::Redis(redis),
                None => StoreKind::Memory,
            },
            (Some("redis"), None) => {
                self.problem("revocation.redis", "required with store: redis");
                StoreKind::Memory
            }
            (Some(_), _) => {
                self.problem("revocation.store", "must be memory or redis");
                StoreKind::Memory
            }
        };
        let lifetime = self.duration_or(
            raw.max_token_lifetime.as_deref(),
            defaults::REVOCATION_MAX_TOKEN_LIFETIME,
            "revocation.max_token_lifetime",
        );
        let max_lag = self.duration_or(
            raw.max_lag.as_deref(),
            defaults::REVOCATION_MAX_LAG,
            "revocation.max_lag",
        );
        let on_unavailable = match raw.on_unavailable.as_deref() {
            None => defaults::REVOCATION_ON_UNAVAILABLE,
            Some("deny") => OnUnavailable::Deny,
            Some("allow") => OnUnavailable::Allow,
            Some(_) => {
                self.problem("revocation.on_unavailable", "must be deny or allow");
                defaults::REVOCATION_ON_UNAVAILABLE
            }
        };
        let api_token = raw
            .api_token_file
            .and_then(|file| self.api_token(&file, "revocation.api_token_file"));
        Some(RevocationConfig {
            store,
            max_token_lifetime: self.whole_seconds(lifetime, "revocation.max_token_lifetime"),
            max_lag: self.positive(max_lag, "revocation.max_lag"),
            on_unavailable,
            api_token,
        })
    }

    /// `revocation.redis`: the URL (required), an optional CA bundle for `rediss://` (read
    /// now) and the key prefix.
    fn redis(&mut self, raw: RawRedis) -> Option<RedisConfig> {
        let url = match raw.url.as_deref().map(str::trim) {
            None | Some("") => {
                self.problem("revocation.redis.url", "required");
                None
            }
            Some(text) => match redis_url_problem(text) {
                None => Some(RedisUrl::new(text.to_owned())),
                Some(problem) => {
                    // The URL may hold a password: the message never repeats it.
                    self.problem("revocation.redis.url", problem);
                    None
                }
            },
        };
        let ca_file = raw.ca_file.map(PathBuf::from);
        if let Some(ca) = &ca_file {
            if url.as_ref().is_some_and(|u| !u.is_tls()) {
                self.problem(
                    "revocation.redis.ca_file",
                    "only with a rediss:// (TLS) url",
                );
            }
            if let Err(e) = crate::connector::read_ca_file(ca) {
                self.problem("revocation.redis.ca_file", e.to_string());
            }
        }
        let key_prefix = raw
            .key_prefix
            .unwrap_or_else(|| defaults::REVOCATION_REDIS_KEY_PREFIX.to_owned());
        if key_prefix.is_empty() || key_prefix.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            self.problem(
                "revocation.redis.key_prefix",
                "must be non-empty printable ASCII without spaces",
            );
        }
        Some(RedisConfig {
            url: url?,
            ca_file,
            key_prefix,
        })
    }

    /// Reads the token file now: it must exist, be small, and hold a non-empty secret.
    fn api_token(&mut self, file: &str, path: &str) -> Option<ApiToken> {
        if file.is_empty() {
            self.problem(path, "must not be empty (omit it to turn the API off)");
            return None;
        }
        let file = PathBuf::from(file);
        match read_token_file(&file) {
            Ok(content) => {
                let token = ApiToken::from_content(file.clone(), &content);
                if token.is_none() {
                    self.problem(path, format!("{} holds no token", file.display()));
                }
                token
            }
            Err(message) => {
                self.problem(path, message);
                None
            }
        }
    }

    /// Entries' times are whole seconds: at least one second, sub-second parts refused.
    fn whole_seconds(&mut self, d: Duration, path: &str) -> Duration {
        if self.reported(path) {
            return d;
        }
        if d.as_secs() == 0 || d.subsec_nanos() != 0 {
            self.problem(path, "must be a whole number of seconds, at least 1s");
        }
        d
    }
}

/// The file's text, or why it cannot be used (never its content).
fn read_token_file(file: &Path) -> Result<String, String> {
    let shown = file.display();
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "{shown} is larger than {MAX_TOKEN_FILE_BYTES} bytes (it should hold one token)"
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {shown}: {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))
}

/// Why `text` is not a usable Redis URL (`redis://[user:password@]host[:port][/db]`, or
/// `rediss://` for TLS), without repeating it.
fn redis_url_problem(text: &str) -> Option<&'static str> {
    let rest = match text.split_once("://") {
        Some(("redis" | "rediss", rest)) => rest,
        _ => return Some("must start with redis:// or rediss://"),
    };
    if text.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Some("must not contain spaces or control characters");
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => return Some("has an unclosed [ in its host"),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some("needs a host (redis://host:6379)");
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Some("has a port that is not 1-65535");
    }
    let db = path.split('?').next().unwrap_or("");
    let db = db.strip_prefix('/').unwrap_or(db);
    if !db.bytes().all(|b| b.is_ascii_digit()) {
        return Some("may only name a database number as its path (redis://host:6379/0)");
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::redis_url_problem;
    use crate::config::validate::load_str;
    use crate::config::{Config, ConfigError, RouteAction, StoreKind};
    use crate::revocation::list::OnUnavailable;

    const MINIMAL: &str = "upstream: { url: http://127.0.0.1:3000 }\nissuers:\n  - name: main\n    cognito: { region: us-east-1, user_pool_id: us-east-1_AbC123 }\n    client_ids: [abc]\n";

    fn load(extra: &str) -> Result<Config, ConfigError> {
        load_str(&format!("{MINIMAL}{extra}"), &|_| None)
    }

    fn problems(extra: &str) -> Vec<String> {
        load(extra)
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// A token file in a fresh temporary directory.
    fn token_file(name: &str, content: &str) -> String {
        let dir = std::env::temp_dir().join(format!("tg-rv-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    #[test]
    fn without_the_section_nothing_is_revoked_and_with_it_every_default_applies() {
        assert!(load("").unwrap().revocation.is_none());
        assert!(load("revocation: null\n").unwrap().revocation.is_none());
        let r = load("revocation: {}\n").unwrap().revocation.unwrap();
        assert_eq!(r.store, StoreKind::Memory);
        assert_eq!(r.max_token_lifetime, Duration::from_secs(86_400));
        assert_eq!(r.max_lag, Duration::from_secs(10));
        assert_eq!(r.on_unavailable, OnUnavailable::Deny);
        assert!(r.api_token.is_none());
    }

    #[test]
    fn the_redis_block_is_required_with_redis_and_refused_otherwise() {
        let r = load("revocation:\n  store: redis\n  redis: { url: 'rediss://tg:${PW:-pw}@r.internal:6380/2' }\n  on_unavailable: allow\n  max_lag: 3s\n")
            .unwrap()
            .revocation
            .unwrap();
        let StoreKind::Redis(redis) = &r.store else {
            panic!("{r:?}")
        };
        assert_eq!(redis.url.as_str(), "rediss://tg:pw@r.internal:6380/2");
        assert_eq!(redis.key_prefix, "tokengate:");
        assert!(redis.ca_file.is_none());
        assert_eq!(r.on_unavailable, OnUnavailable::Allow);
        assert_eq!(r.max_lag, Duration::from_secs(3));
        assert_eq!(
            problems("revocation: { store: redis }\n"),
            ["revocation.redis: required with store: redis"]
        );
        assert_eq!(
            problems("revocation: { redis: { url: 'redis://h' } }\n"),
            ["revocation.redis: only with store: redis (the memory store keeps no server)"]
        );
        assert_eq!(
            problems("revocation: { store: disk }\n"),
            ["revocation.store: must be memory or redis"]
        );
    }

    #[test]
    fn redis_settings_are_checked_and_the_password_never_echoed() {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/README.md");
        let p = problems(&format!(
            "revocation:\n  store: redis\n  redis: {{ url: 'http://u:hunter2@h', ca_file: '{ca}', key_prefix: 'a b', zzz: 1 }}\n"
        ));
        let paths: Vec<&str> = p.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "revocation.redis.zzz",
                "revocation.redis.url",
                "revocation.redis.ca_file",
                "revocation.redis.key_prefix"
            ],
            "{p:?}"
        );
        assert!(p.iter().all(|p| !p.contains("hunter2")), "{p:?}");
        let p = problems(&format!(
            "revocation:\n  store: redis\n  redis: {{ url: 'redis://h', ca_file: '{ca}' }}\n"
        ));
        assert!(p[0].starts_with("revocation.redis.ca_file: only with a rediss://"));
    }

    #[test]
    fn durations_and_posture_are_checked() {
        let p = problems(
            "revocation: { max_token_lifetime: 1500ms, max_lag: 0s, on_unavailable: open }\n",
        );
        assert_eq!(
            p,
            [
                "revocation.on_unavailable: must be deny or allow",
                "revocation.max_token_lifetime: must be a whole number of seconds, at least 1s",
                "revocation.max_lag: must be greater than zero",
            ]
        );
        let r = load("revocation: { max_token_lifetime: 2s }\n")
            .unwrap()
            .revocation
            .unwrap();
        assert_eq!(r.max_token_lifetime, Duration::from_secs(2));
    }

    #[test]
    fn the_api_token_file_must_exist_and_hold_a_token_which_is_never_shown() {
        let good = token_file("good", "  s3cret-token\n");
        let r = load(&format!("revocation: {{ api_token_file: '{good}' }}\n"))
            .unwrap()
            .revocation
            .unwrap();
        assert_eq!(r.api_token.as_ref().unwrap().secret(), b"s3cret-token");
        assert!(!format!("{r:?}").contains("s3cret"));
        let blank = token_file("blank", " \n ");
        let p = problems(&format!("revocation: {{ api_token_file: '{blank}' }}\n"));
        assert_eq!(
            p,
            [format!("revocation.api_token_file: {blank} holds no token")]
        );
        let p = problems("revocation: { api_token_file: /nonexistent/token }\n");
        assert!(
            p[0].starts_with("revocation.api_token_file: cannot read /nonexistent/token"),
            "{p:?}"
        );
    }

    #[test]
    fn a_logout_route_needs_auth_required_and_a_revocation_section() {
        let c = load("revocation: {}\nroutes:\n  - { match: { path: /logout }, action: logout }\n  - { match: { path_prefix: / } }\n")
            .unwrap();
        assert_eq!(c.routes[0].action, RouteAction::Logout);
        assert_eq!(c.routes[1].action, RouteAction::Forward);
        assert_eq!(
            problems("routes:\n  - { match: { path: /logout }, action: logout }\n"),
            ["routes[0].action: logout needs a revocation section (e.g. revocation: { store: memory })"]
        );
        let p = problems("revocation: {}\nroutes:\n  - { match: { path: /logout }, action: logout, auth: optional }\n  - { match: { path: /x }, action: redirect }\n");
        assert_eq!(
            p,
            [
                "routes[0].auth: must be required on a logout route (action: logout revokes the verified token)",
                "routes[1].action: must be logout (omit it to forward the request)",
            ]
        );
    }

    #[test]
    fn redis_urls_are_checked_without_echoing_them() {
        for good in [
            "redis://127.0.0.1:6379/0",
            "rediss://user:p%40ss@redis.internal:6380",
            "redis://[::1]:6379",
            "redis://localhost",
            "redis://:secret@host/3?protocol=resp3",
        ] {
            assert_eq!(redis_url_problem(good), None, "{good}");
        }
        for bad in [
            "http://127.0.0.1:6379",
            "redis://",
            "redis://host:0",
            "redis://host:99999",
            "redis://host/x",
            "redis://ho st",
            "redis://[::1:6379",
        ] {
            assert!(redis_url_problem(bad).is_some(), "{bad}");
        }
    }
}
