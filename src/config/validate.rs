//! Raw -> `Config`: every section deserialized on its own so that problems in several places
//! are all reported, each with its key path; then every rule checked. No network I/O.
//! This file is the entry point and the `Validator` core; each section's rules live in
//! `validate/<section>.rs`, and `Validator::config` runs them in order.

mod authz;
mod deserialize;
mod forward;
mod issuers;
mod jwks;
mod log;
mod revocation;
mod routes;
mod server;
mod token;
mod upstream;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::config::defaults;
use crate::config::interpolate::expand_tree;
use crate::config::problem::{ConfigError, Problem};
use crate::config::{Config, Mode};

/// The top-level sections, in the order the "unknown key" message lists them (`raw.rs`
/// `RawConfig` has a field for each: `config/schema.rs` tests hold them equal).
pub(crate) const SECTIONS: [&str; 12] = [
    "mode",
    "server",
    "admin",
    "upstream",
    "issuers",
    "jwks",
    "token",
    "routes",
    "forward",
    "authz",
    "log",
    "revocation",
];

/// Loads and validates YAML text. `env` looks up environment variables (injected).
///
/// # Errors
/// Every problem of the file at once, each with its key path: YAML syntax, unknown keys,
/// unset `${NAME}`s, and every rule of reference section 2.
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
            Some(k) if SECTIONS.contains(&k) => {}
            Some(k) => v.problem(
                k,
                format!(
                    "unknown key, expected one of {}",
                    SECTIONS
                        .iter()
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

/// Reads and validates a file (a read error is one problem, with no key path).
///
/// # Errors
/// As `load_str`, or the file cannot be read.
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

/// Collects problems while the sections are turned into their typed form. Each section's
/// method (in `validate/<section>.rs`) reports what it finds and returns its best effort,
/// so that one broken section does not hide the problems of the next.
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

    /// Whether a problem was already reported at exactly this path.
    fn reported(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }

    fn into_error(mut self) -> ConfigError {
        if self.problems.is_empty() {
            self.problem("", "invalid configuration");
        }
        ConfigError {
            problems: self.problems,
        }
    }

    /// Every section, in an order that lets later ones depend on earlier ones (`issuers`
    /// reads `jwks.allow_http`, `routes` whether `revocation` is there for logout routes). `None` only when a problem was reported.
    fn config(&mut self, map: &Mapping) -> Option<Config> {
        let mode = match map.get("mode") {
            None | Some(Value::Null) => defaults::MODE,
            Some(Value::String(m)) if m == "proxy" => Mode::Proxy,
            Some(Value::String(m)) if m == "authz" => Mode::Authz,
            Some(_) => {
                self.problem("mode", "must be proxy or authz");
                Mode::Proxy
            }
        };
        let server = self.server(map);
        let admin = self.admin(map);
        // `None` in proxy mode is a problem already reported; the other sections are checked still.
        let upstream = self.upstream(map, mode);
        let jwks = self.jwks(map);
        let issuers = self.issuers(map, &jwks);
        let token = self.token(map);
        self.alb_pairing(&token, &issuers);
        let revocation = self.revocation(map);
        let routes = self.routes(map, revocation.is_some());
        let forward = self.forward(map);
        let authz = self.authz(map, mode);
        let log = self.log(map);
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
            revocation,
        })
    }
}
