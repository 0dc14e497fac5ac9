//! `routes`: first match wins. Each has a path matcher (whole-segment prefix or exact, both
//! stored normalized), optional methods, an auth mode and requirements; names are unique.

use std::collections::BTreeMap;

use http::Method;
use serde_yaml::{Mapping, Value as YamlValue};

use super::Validator;
use crate::auth::claim_path::ClaimPathError;
use crate::config::defaults;
use crate::config::raw::{RawRequire, RawRoute};
use crate::config::{AuthMode, ClaimPath, PathMatch, Require, Route, RouteAction};

impl Validator {
    /// `revocation`: whether a `revocation` section is configured (logout routes need one).
    pub(super) fn routes(&mut self, map: &Mapping, revocation: bool) -> Vec<Route> {
        let Some(raws) = self.list::<RawRoute>(map, "routes") else {
            return vec![default_route()];
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
            if let Some(route) = self.route(raw, i, &at, revocation) {
                if out.iter().any(|r| r.name == route.name) {
                    self.problem(&format!("{at}.name"), "duplicate route name");
                }
                out.push(route);
            }
        }
        out
    }

    /// Route number `index` at `at` (`routes[2]`); `None` when its matcher is unusable.
    fn route(&mut self, raw: RawRoute, index: usize, at: &str, revocation: bool) -> Option<Route> {
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
        let cors_preflight = m.cors_preflight.unwrap_or(defaults::ROUTE_CORS_PREFLIGHT);
        let preflight_problem = match (&m.methods, raw.auth.as_deref()) {
            _ if !cors_preflight => None,
            (Some(_), _) => {
                Some("matches OPTIONS preflights only: it cannot be combined with methods")
            }
            (None, Some("none")) => None,
            (None, _) => Some("needs auth: none (a browser sends a preflight without credentials)"),
        };
        if let Some(message) = preflight_problem {
            self.problem(&format!("{at}.match.cors_preflight"), message);
        }
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
            None => defaults::ROUTE_AUTH,
            Some("required") => AuthMode::Required,
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
        let action = self.action(raw.action.as_deref(), auth, at, revocation);
        let name = raw.name.unwrap_or_else(|| index.to_string());
        if name.is_empty() {
            self.problem(&format!("{at}.name"), "must not be empty");
        }
        Some(Route {
            name,
            path: path?,
            methods,
            cors_preflight,
            auth,
            require,
            action,
        })
    }

    /// `action` at `at`: absent forwards; `logout` needs `auth: required` and a `revocation`
    /// section (the token it revokes must be verified, and something must keep the entry).
    fn action(
        &mut self,
        raw: Option<&str>,
        auth: AuthMode,
        at: &str,
        revocation: bool,
    ) -> RouteAction {
        match raw {
            None => RouteAction::Forward,
            Some("logout") => {
                if auth != AuthMode::Required {
                    self.problem(
                        &format!("{at}.auth"),
                        "must be required on a logout route (action: logout revokes the verified token)",
                    );
                }
                if !revocation {
                    self.problem(
                        &format!("{at}.action"),
                        "logout needs a revocation section (e.g. revocation: { store: memory })",
                    );
                }
                RouteAction::Logout
            }
            Some(_) => {
                self.problem(
                    &format!("{at}.action"),
                    "must be logout (omit it to forward the request)",
                );
                RouteAction::Forward
            }
        }
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

    /// `require` at `at`: token uses, groups, scopes (all, any) and claim values.
    fn require(&mut self, r: RawRequire, at: &str) -> Require {
        let token_use = self
            .token_uses(r.token_use.as_deref(), &format!("{at}.token_use"))
            .unwrap_or_default();
        let claims = self.claim_rules(r.claims.unwrap_or_default(), &format!("{at}.claims"));
        Require {
            token_use,
            groups_any: r.groups_any.unwrap_or_default(),
            groups_all: r.groups_all.unwrap_or_default(),
            scopes_all: self.scopes(r.scopes_all, &format!("{at}.scopes_all")),
            scopes_any: self.scopes(r.scopes_any, &format!("{at}.scopes_any")),
            claims,
        }
    }

    /// `require.scopes_all` / `.scopes_any` at `at`: each one non-empty scope without
    /// whitespace (the `scope` claim is split on spaces, so such a scope could never match).
    fn scopes(&mut self, raw: Option<Vec<String>>, at: &str) -> Vec<String> {
        let scopes = raw.unwrap_or_default();
        for (i, scope) in scopes.iter().enumerate() {
            if scope.is_empty() || scope.chars().any(char::is_whitespace) {
                self.problem(
                    &format!("{at}[{i}]"),
                    "a scope is one non-empty word (the scope claim is split on spaces)",
                );
            }
        }
        scopes
    }

    /// `require.claims` at `at`: each name a top-level claim or a valid JSON Pointer, each
    /// with at least one value; values that YAML read as numbers or booleans become their
    /// text, so `5` and `"5"`, `true` and `"true"` configure the same match.
    fn claim_rules(
        &mut self,
        raw: BTreeMap<String, Vec<YamlValue>>,
        at: &str,
    ) -> Vec<(ClaimPath, Vec<String>)> {
        let mut rules = Vec::new();
        for (name, values) in raw {
            let path = format!("{at}.{name}");
            let claim = match ClaimPath::parse(&name) {
                Ok(claim) => Some(claim),
                Err(ClaimPathError::Empty) => {
                    self.problem(at, "each claim needs a name and at least one value");
                    continue;
                }
                Err(e) => {
                    self.problem(&path, e.to_string());
                    None
                }
            };
            if values.is_empty() {
                self.problem(&path, "needs at least one value");
            }
            let mut texts = Vec::with_capacity(values.len());
            for (i, value) in values.iter().enumerate() {
                match value {
                    YamlValue::String(s) => texts.push(s.clone()),
                    YamlValue::Number(n) => texts.push(n.to_string()),
                    YamlValue::Bool(b) => texts.push(b.to_string()),
                    YamlValue::Null
                    | YamlValue::Sequence(_)
                    | YamlValue::Mapping(_)
                    | YamlValue::Tagged(_) => self.problem(
                        &format!("{path}[{i}]"),
                        "must be a string, number or boolean (objects and null never match)",
                    ),
                }
            }
            if let Some(claim) = claim {
                rules.push((claim, texts));
            }
        }
        rules
    }
}

/// What an omitted `routes` means: one route named `0`, any path, any method, auth required
/// (reference section 2: "omitted = one route: any path, auth required").
fn default_route() -> Route {
    Route {
        name: "0".to_owned(),
        path: PathMatch::Prefix("/".to_owned()),
        methods: None,
        cors_preflight: false,
        auth: AuthMode::Required,
        require: Require::default(),
        action: RouteAction::Forward,
    }
}
