//! Typed Prometheus handles on an explicit registry. Label values come from fixed sets;
//! per-route and per-issuer handles are resolved once, so a request touches only atomics.

#![deny(clippy::wildcard_enum_match_arm)]

use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::outcome::Outcome;

/// `tokengate_jwks_fetches_total{result}` values: how one fetch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchResult {
    Ok,
    Connect,
    Timeout,
    HttpStatus,
    TooLarge,
    Invalid,
}

/// `tokengate_jwks_fetches_total{trigger}` values: what started one fetch. Every fetch has
/// exactly one result and one trigger, so `sum()` of the family counts fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchTrigger {
    /// The first fetch of an issuer (start-up, or an issuer added by a reload).
    Start,
    /// The `refresh_interval` refresh after a successful fetch.
    Refresh,
    /// A backoff retry after a failed fetch.
    Retry,
    /// A token carried a kid the set does not hold.
    UnknownKid,
}

impl FetchTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchTrigger::Start => "start",
            FetchTrigger::Refresh => "refresh",
            FetchTrigger::Retry => "retry",
            FetchTrigger::UnknownKid => "unknown_kid",
        }
    }
}

impl FetchResult {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchResult::Ok => "ok",
            FetchResult::Connect => "connect",
            FetchResult::Timeout => "timeout",
            FetchResult::HttpStatus => "http_status",
            FetchResult::TooLarge => "too_large",
            FetchResult::Invalid => "invalid",
        }
    }
}

/// `tokengate_token_verifications_total{result}` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyResult {
    Valid,
    Invalid,
    KeysUnavailable,
    /// Valid, but a revocation entry names it (401 `token revoked`).
    Revoked,
    /// Valid, but the revocation list could not be trusted (503).
    RevocationUnavailable,
}

impl VerifyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyResult::Valid => "valid",
            VerifyResult::Invalid => "invalid",
            VerifyResult::KeysUnavailable => "keys_unavailable",
            VerifyResult::Revoked => "revoked",
            VerifyResult::RevocationUnavailable => "revocation_unavailable",
        }
    }
}

/// The issuer label for tokens whose `iss` matched no configured issuer.
pub const UNKNOWN_ISSUER: &str = "unknown";

/// The route label for requests that matched no route (or were refused before routing).
pub const NO_ROUTE_LABEL: &str = "-";

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    pub request_duration: Histogram,
    verifications: IntCounterVec,
    verify_cache: IntCounterVec,
    jwks_fetches: IntCounterVec,
    jwks_keys: IntGaugeVec,
    jwks_last_success: IntGaugeVec,
    pub upstream_duration: Histogram,
    pub inflight: IntGauge,
    pub config_reloads: IntCounterVec,
    /// `tokengate_authz_decisions_total{api,outcome}`: one handle per api and outcome.
    authz_decisions: Vec<RouteCounters>,
    /// `tokengate_revocations{kind}`: exported only once set (with a revocation section).
    revocations: IntGaugeVec,
    /// `tokengate_revocation_sync_age_seconds` (no labels): likewise.
    revocation_sync_age: GaugeVec,
}

/// Which door a decision came through, for `tokengate_authz_decisions_total{api}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Proxy mode: not an authz decision.
    Proxy,
    /// `mode: authz` over HTTP (nginx auth_request, ForwardAuth, Envoy HTTP ext_authz).
    Http,
    /// Envoy ext_authz gRPC `Check`.
    Grpc,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Proxy => "proxy",
            Api::Http => "http",
            Api::Grpc => "grpc",
        }
    }
}

/// Handles for one route, one per outcome, indexed by `Outcome::index()`.
#[derive(Debug, Clone)]
pub struct RouteCounters(Vec<IntCounter>);

impl RouteCounters {
    pub fn inc(&self, outcome: Outcome) {
        if let Some(c) = self.0.get(outcome.index()) {
            c.inc();
        }
    }
}

/// Handles for one issuer.
#[derive(Debug, Clone)]
pub struct IssuerCounters {
    valid: IntCounter,
    invalid: IntCounter,
    keys_unavailable: IntCounter,
    revoked: IntCounter,
    revocation_unavailable: IntCounter,
}

impl IssuerCounters {
    pub fn inc(&self, result: VerifyResult) {
        match result {
            VerifyResult::Valid => self.valid.inc(),
            VerifyResult::Invalid => self.invalid.inc(),
            VerifyResult::KeysUnavailable => self.keys_unavailable.inc(),
            VerifyResult::Revoked => self.revoked.inc(),
            VerifyResult::RevocationUnavailable => self.revocation_unavailable.inc(),
        }
    }
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("tokengate_requests_total", "Requests by route and outcome"),
            &["route", "outcome"],
        )?;
        let request_duration = Histogram::with_opts(
            HistogramOpts::new(
                "tokengate_request_duration_seconds",
                "Time from request head to response head",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let verifications = IntCounterVec::new(
            Opts::new(
                "tokengate_token_verifications_total",
                "Token verifications by issuer and result",
            ),
            &["issuer", "result"],
        )?;
        let verify_cache = IntCounterVec::new(
            Opts::new(
                "tokengate_verify_cache_total",
                "Verified-token cache lookups",
            ),
            &["result"],
        )?;
        let jwks_fetches = IntCounterVec::new(
            Opts::new(
                "tokengate_jwks_fetches_total",
                "JWKS fetches by issuer, result and what triggered them (each fetch once)",
            ),
            &["issuer", "result", "trigger"],
        )?;
        let jwks_keys = IntGaugeVec::new(
            Opts::new(
                "tokengate_jwks_keys",
                "Usable keys in the issuer's current set",
            ),
            &["issuer"],
        )?;
        let jwks_last_success = IntGaugeVec::new(
            Opts::new(
                "tokengate_jwks_last_success_timestamp_seconds",
                "Unix time of the issuer's last successful JWKS fetch",
            ),
            &["issuer"],
        )?;
        let upstream_duration = Histogram::with_opts(
            HistogramOpts::new(
                "tokengate_upstream_duration_seconds",
                "Time until the upstream's response head",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let inflight = IntGauge::new("tokengate_inflight_requests", "Requests being handled")?;
        let config_reloads = IntCounterVec::new(
            Opts::new(
                "tokengate_config_reloads_total",
                "Configuration reloads by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(verifications.clone()))?;
        registry.register(Box::new(verify_cache.clone()))?;
        registry.register(Box::new(jwks_fetches.clone()))?;
        registry.register(Box::new(jwks_keys.clone()))?;
        registry.register(Box::new(jwks_last_success.clone()))?;
        registry.register(Box::new(upstream_duration.clone()))?;
        registry.register(Box::new(inflight.clone()))?;
        let authz_vec = IntCounterVec::new(
            Opts::new(
                "tokengate_authz_decisions_total",
                "Authz-mode decisions by api (http, grpc) and outcome",
            ),
            &["api", "outcome"],
        )?;
        registry.register(Box::new(config_reloads.clone()))?;
        registry.register(Box::new(authz_vec.clone()))?;
        let revocations = IntGaugeVec::new(
            Opts::new(
                "tokengate_revocations",
                "Revocation entries in force, by kind",
            ),
            &["kind"],
        )?;
        let revocation_sync_age = GaugeVec::new(
            Opts::new(
                "tokengate_revocation_sync_age_seconds",
                "Seconds since the local revocation list was last known to be complete (+Inf before its first load)",
            ),
            &[],
        )?;
        registry.register(Box::new(revocations.clone()))?;
        registry.register(Box::new(revocation_sync_age.clone()))?;
        // process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total ... as
        // the Prometheus client conventions name them (Linux; read from /proc per scrape).
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let authz_decisions = [Api::Http, Api::Grpc]
            .iter()
            .map(|api| {
                RouteCounters(
                    Outcome::ALL
                        .iter()
                        .map(|o| authz_vec.with_label_values(&[api.as_str(), o.as_str()]))
                        .collect(),
                )
            })
            .collect();
        // Families with fixed label sets show from the start, at zero.
        for result in ["hit", "miss"] {
            verify_cache.with_label_values(&[result]);
        }
        for result in ["ok", "error"] {
            config_reloads.with_label_values(&[result]);
        }
        Ok(Metrics {
            registry,
            requests,
            request_duration,
            verifications,
            verify_cache,
            jwks_fetches,
            jwks_keys,
            jwks_last_success,
            upstream_duration,
            inflight,
            config_reloads,
            authz_decisions,
            revocations,
            revocation_sync_age,
        })
    }

    /// Sets the revocation gauges (at scrape time, never per request): entries in force by
    /// kind (label value, count) and the list's sync age (`None` before its first load).
    pub fn revocation(&self, counts: &[(&str, usize)], sync_age: Option<Duration>) {
        for (kind, count) in counts {
            self.revocations
                .with_label_values(&[kind])
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        self.revocation_sync_age
            .with_label_values::<&str>(&[])
            .set(sync_age.map_or(f64::INFINITY, |d| d.as_secs_f64()));
    }

    /// Resolves (and so exports at zero) every outcome for one route.
    /// Counts one authz decision (nothing for proxy mode).
    pub fn authz_decision(&self, api: Api, outcome: Outcome) {
        let index = match api {
            Api::Proxy => return,
            Api::Http => 0,
            Api::Grpc => 1,
        };
        if let Some(counters) = self.authz_decisions.get(index) {
            counters.inc(outcome);
        }
    }

    pub fn route(&self, route: &str) -> RouteCounters {
        RouteCounters(
            Outcome::ALL
                .iter()
                .map(|o| self.requests.with_label_values(&[route, o.as_str()]))
                .collect(),
        )
    }

    pub fn issuer(&self, issuer: &str) -> IssuerCounters {
        let counter = |result: VerifyResult| {
            self.verifications
                .with_label_values(&[issuer, result.as_str()])
        };
        IssuerCounters {
            valid: counter(VerifyResult::Valid),
            invalid: counter(VerifyResult::Invalid),
            keys_unavailable: counter(VerifyResult::KeysUnavailable),
            revoked: counter(VerifyResult::Revoked),
            revocation_unavailable: counter(VerifyResult::RevocationUnavailable),
        }
    }

    /// The handle of one `tokengate_verify_cache_total` result (`hit` or `miss`).
    pub fn verify_cache(&self, result: &str) -> IntCounter {
        self.verify_cache.with_label_values(&[result])
    }

    /// Counts one fetch, once, with how it ended and what started it.
    pub fn jwks_fetch(&self, issuer: &str, result: FetchResult, trigger: FetchTrigger) {
        self.jwks_fetches
            .with_label_values(&[issuer, result.as_str(), trigger.as_str()])
            .inc();
    }

    pub fn jwks_keys(&self, issuer: &str, keys: usize) {
        self.jwks_keys
            .with_label_values(&[issuer])
            .set(i64::try_from(keys).unwrap_or(i64::MAX));
    }

    pub fn jwks_success(&self, issuer: &str, unix_seconds: u64) {
        self.jwks_last_success
            .with_label_values(&[issuer])
            .set(i64::try_from(unix_seconds).unwrap_or(i64::MAX));
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on inconsistent metric families, which our typed
        // handles cannot produce; an empty page is the fail-safe answer.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_family_is_exported() {
        let m = Metrics::new().unwrap();
        m.route("0").inc(Outcome::Allowed);
        m.issuer("main").inc(VerifyResult::Valid);
        m.jwks_fetch("main", FetchResult::Ok, FetchTrigger::Start);
        m.jwks_keys("main", 2);
        m.jwks_success("main", 1);
        m.request_duration.observe(0.001);
        m.upstream_duration.observe(0.001);
        let text = String::from_utf8(m.render()).unwrap();
        for family in [
            "tokengate_requests_total",
            "tokengate_request_duration_seconds",
            "tokengate_token_verifications_total",
            "tokengate_verify_cache_total",
            "tokengate_jwks_fetches_total",
            "tokengate_jwks_keys",
            "tokengate_jwks_last_success_timestamp_seconds",
            "tokengate_upstream_duration_seconds",
            "tokengate_inflight_requests",
            "tokengate_config_reloads_total",
            "tokengate_authz_decisions_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family} missing"
            );
        }
        assert!(text.contains(r#"tokengate_requests_total{outcome="allowed",route="0"} 1"#));
        assert!(text.contains(r#"tokengate_requests_total{outcome="no_route",route="0"} 0"#));
    }
}
