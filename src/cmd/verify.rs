//! `tokengate verify --config FILE [TOKEN]`: verify one token exactly as the proxy would,
//! after fetching every issuer's JWKS once. JSON alone on stdout; logs on stderr.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::app;
use crate::auth::AuthError;
use crate::config::load_file;
use crate::jwks::fetch;
use crate::metrics::Metrics;
use crate::telemetry::{self, Sink};

const EXIT_INVALID: u8 = 1;
const EXIT_CANNOT_CHECK: u8 = 2;

pub fn run(path: &Path, token: Option<String>) -> ExitCode {
    let config = match load_file(path, &super::process_env) {
        Ok(c) => c,
        Err(e) => {
            for problem in &e.problems {
                eprintln!("{problem}");
            }
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    telemetry::init(config.log.format, "warn", Sink::Stderr);
    let token = match super::token_arg(token) {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            eprintln!("tokengate: no token given (argument or stdin)");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
        Err(e) => {
            eprintln!("tokengate: cannot read the token: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokengate: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let metrics = match Metrics::new() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("tokengate: cannot create metrics: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let client = match fetch::client(config.jwks.fetch_timeout, config.jwks.ca_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tokengate: jwks.ca_file: {e}");
            return ExitCode::from(EXIT_CANNOT_CHECK);
        }
    };
    let (verdict, code) = runtime.block_on(async {
        let (snapshot, refreshers) = app::build(config, &metrics, &client);
        let mut fetches = tokio::task::JoinSet::new();
        for r in refreshers {
            fetches.spawn(async move { r.fetch_once(crate::metrics::FetchTrigger::Start).await });
        }
        while fetches.join_next().await.is_some() {}
        let verifier = &snapshot.verifier;
        match verifier.verify(&token, SystemTime::now()) {
            Ok(v) => {
                let name = verifier.issuers().get(v.issuer).map(|i| i.config.name.clone());
                (
                    json!({"valid": true, "issuer": name, "reason": "ok", "claims": Value::Object(v.claims)}),
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
        }
    });
    println!("{verdict}");
    ExitCode::from(code)
}
