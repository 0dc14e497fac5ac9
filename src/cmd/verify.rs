//! `tokengate verify --config FILE [--path PATH [--method M]] [TOKEN]`: verify one token
//! exactly as the proxy would, after fetching every issuer's JWKS once; with `--path`, also
//! the route's verdict on a request carrying it. A token whose header names a `signer`, with
//! an `alb:` issuer configured, is an ALB `x-amzn-oidc-data` value: its kid's key is fetched
//! and the ALB rules apply (`"source": "alb"`, `"key_error"` when the key server failed).
//! JSON alone on stdout; logs on stderr.

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::{json, Value};

use http::Method;

use super::say;
use crate::app::{self, Snapshot};
use crate::auth::{alb, AuthError, Verified};
use crate::config::{load_file, AuthMode};
use crate::jwks::fetch;
use crate::jwks::keyring::KeyWork;
use crate::metrics::Metrics;
use crate::telemetry::{self, Sink};

const EXIT_INVALID: u8 = 1;
const EXIT_CANNOT_CHECK: u8 = 2;

/// `request`: the method and path of `--method`/`--path`, to judge as the proxy would.
pub fn run(path: &Path, token: Option<String>, request: Option<(&str, &str)>) -> ExitCode {
    let config = match load_file(path, &super::process_env) {
        Ok(c) => c,
        Err(e) => {
            for problem in &e.problems {
                say!("{problem}");
            }
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    telemetry::init(config.log.format, "warn", Sink::Stderr);
    let token = match super::token_arg(token) {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            say!("tokengate: no token given (argument or stdin)");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
        Err(e) => {
            say!("tokengate: cannot read the token: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("tokengate: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let metrics = match Metrics::new() {
        Ok(m) => m,
        Err(e) => {
            say!("tokengate: cannot create metrics: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let client = match fetch::client(config.jwks.fetch_timeout, config.jwks.ca_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            say!("tokengate: jwks.ca_file: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let (verdict, code) = runtime.block_on(async {
        let (snapshot, work) = app::build(config, &metrics, &client);
        // An ALB token (reference section 9): the header names its `signer`; its key is the
        // one PEM its kid names, fetched here once from each `alb:` issuer's key URL.
        let alb = snapshot.verifier.issuers().iter().any(|i| i.config.is_alb())
            && alb::parse(&token).is_ok_and(|p| p.header.contains_key("signer"));
        let kid = if alb { alb::header_kid(&token) } else { None };
        let mut fetches = tokio::task::JoinSet::new();
        for w in work {
            let kid = kid.clone();
            fetches.spawn(async move {
                match w {
                    KeyWork::Jwks(r) => {
                        r.fetch_once(crate::metrics::FetchTrigger::Start).await;
                        None
                    }
                    KeyWork::Alb(a) => match kid {
                        Some(kid) => a.fetch_kid(&kid, &mut VecDeque::new()).await,
                        None => None,
                    },
                }
            });
        }
        let mut key_errors = Vec::new();
        while let Some(done) = fetches.join_next().await {
            if let Ok(Some(e)) = done {
                key_errors.push(e);
            }
        }
        let verifier = &snapshot.verifier;
        let mut result = if alb {
            verifier.verify_alb(&token, SystemTime::now())
        } else {
            verifier.verify(&token, SystemTime::now())
        };
        if let (Err(e), Some(fetch_error)) = (&result, key_errors.first()) {
            if e.is_unknown_kid() && crate::jwks::alb::is_unavailable(fetch_error) {
                result = Err(AuthError::KeysUnavailable {
                    issuer: e.issuer().unwrap_or(0),
                });
            }
        }
        let (mut verdict, code) = match &result {
            Ok(v) => {
                let name = verifier.issuers().get(v.issuer).map(|i| i.config.name.clone());
                (
                    json!({"valid": true, "issuer": name, "reason": "ok", "claims": Value::Object(v.claims.clone())}),
                    0,
                )
            }
            Err(e) => {
                let name = e
                    .issuer()
                    .and_then(|i| verifier.issuers().get(i))
                    .map(|i| i.config.name.clone());
                let code = if matches!(e, AuthError::KeysUnavailable { .. }) {
                    EXIT_CANNOT_CHECK
                } else {
                    EXIT_INVALID
                };
                (
                    json!({"valid": false, "issuer": name, "reason": e.description(), "claims": {}}),
                    code,
                )
            }
        };
        if let Value::Object(fields) = &mut verdict {
            if alb {
                fields.insert("source".into(), json!("alb"));
            }
            if let Some(e) = key_errors.first() {
                fields.insert("key_error".into(), json!(e.to_string()));
            }
        }
        if let (Some((method, path)), Value::Object(fields)) = (request, &mut verdict) {
            fields.insert("route".into(), route_verdict(&snapshot, method, path, &result));
        }
        (verdict, code)
    });
    // The status answers for the token, which a failed write does not change: it stays, and
    // the failure is said on stderr.
    if let Err(e) = super::stdout_line(&verdict.to_string()) {
        say!("tokengate verify: cannot write the output: {e}");
    }
    ExitCode::from(code)
}

/// What the proxy would do with a request to `path` carrying this token: the route it
/// matches and whether that route lets it through (`auth`, then `require`). The exit status
/// stays the token's; this is the route's verdict: `{"name", "allowed", "reason"}`.
fn route_verdict(
    snapshot: &Snapshot,
    method: &str,
    path: &str,
    result: &Result<Verified, AuthError>,
) -> Value {
    let refused = |name: Option<&str>, reason: &str| json!({"name": name, "allowed": false, "reason": reason});
    let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
        return refused(None, "not an HTTP method");
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let normalized = match crate::proxy::path::normalize(path) {
        Ok(n) => n,
        Err(e) => return refused(None, e.description()),
    };
    // No request headers here: a `cors_preflight` route never matches a verify call.
    let Some((_, route)) = snapshot
        .router
        .find(&method, &normalized, &http::HeaderMap::new())
    else {
        return refused(None, "no route");
    };
    let name = Some(route.name.as_str());
    if route.auth == AuthMode::None {
        return json!({"name": name, "allowed": true, "reason": "auth: none (the token is not looked at)"});
    }
    match result {
        Err(e) => refused(name, e.description()),
        Ok(verified) => match crate::auth::policy::check(&route.require, verified) {
            Ok(()) => json!({"name": name, "allowed": true, "reason": "ok"}),
            Err(e) => refused(name, e.description()),
        },
    }
}
