//! The closing phase of every request: one access-log line with api, method, path (never
//! the query), status, outcome, reason, sub, issuer, route and duration. Never a token or
//! cookie.

use std::time::Duration;

use http::Method;

use crate::app::Snapshot;
use crate::metrics::{Api, NO_ROUTE_LABEL};
use crate::outcome::Outcome;

/// What the phases learned, filled in as they run.
#[derive(Debug)]
pub struct AccessLog {
    /// proxy, http (authz mode) or grpc (Envoy ext_authz Check): the `api` log field.
    pub api: Api,
    pub method: Method,
    /// The path as received, without the query (a query may carry a token).
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub reason: &'static str,
    pub sub: Option<String>,
    pub issuer: Option<usize>,
    pub route: Option<usize>,
}

impl AccessLog {
    pub fn new(method: &Method, path: &str) -> AccessLog {
        AccessLog {
            api: Api::Proxy,
            method: method.clone(),
            path: path.to_owned(),
            status: 0,
            outcome: Outcome::Allowed,
            reason: "",
            sub: None,
            issuer: None,
            route: None,
        }
    }

    pub fn emit(&self, snapshot: &Snapshot, elapsed: Duration) {
        let route = self
            .route
            .and_then(|i| snapshot.config.routes.get(i))
            .map_or(NO_ROUTE_LABEL, |r| r.name.as_str());
        let issuer = self
            .issuer
            .and_then(|i| snapshot.config.issuers.get(i))
            .map_or("", |i| i.name.as_str());
        tracing::info!(
            target: "access",
            api = self.api.as_str(),
            method = %self.method,
            path = %self.path,
            status = self.status,
            outcome = self.outcome.as_str(),
            reason = self.reason,
            sub = self.sub.as_deref().unwrap_or(""),
            issuer,
            route,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
}
