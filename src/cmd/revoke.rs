//! `tokengate revoke`: POST one entry to a running instance's `/revocations` and print the
//! entry as stored. Exit 0 stored, 1 refused (any answer but 201, or unusable arguments),
//! 2 when the admin API cannot be reached. The token is read from a file, never an argument.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

use super::say;
use crate::cli::RevokeArgs;

/// The largest answer read from the admin API.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the command did not store an entry.
enum Failure {
    /// Arguments or files that make no request (exit 1).
    Usage(String),
    /// The admin API answered, but not 201 (exit 1).
    Refused(StatusCode, String),
    /// The admin API could not be reached or did not answer in time (exit 2).
    Unreachable(String),
}

pub fn run(args: &RevokeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("tokengate revoke: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(revoke(args)) {
        Ok(stored) => {
            // The entry is stored whether or not it can be printed: the status stays 0, and a
            // failed write is said on stderr.
            if let Err(e) = super::stdout_line(&stored.to_string()) {
                say!("tokengate revoke: stored, but cannot write the output: {e}");
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            say!("tokengate revoke: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Refused(status, message)) => {
            say!("tokengate revoke: refused ({status}): {message}");
            ExitCode::from(1)
        }
        Err(Failure::Unreachable(message)) => {
            say!("tokengate revoke: admin API unreachable: {message}");
            ExitCode::from(2)
        }
    }
}

async fn revoke(args: &RevokeArgs) -> Result<Value, Failure> {
    let token = std::fs::read_to_string(&args.token_file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.token_file.display())))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::Usage(format!(
            "{} holds no token",
            args.token_file.display()
        )));
    }
    let uri = endpoint(&args.admin).map_err(Failure::Usage)?;
    let body = entry_body(args)?;
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|_| Failure::Usage("the token cannot be sent in a header".to_owned()))?;
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Full<Bytes>>(crate::connector::https(args.timeout));
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| Failure::Unreachable(error_chain(&e)))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| Failure::Unreachable(e.to_string()))?
            .to_bytes();
        Ok::<_, Failure>((status, bytes))
    };
    let (status, bytes) = tokio::time::timeout(args.timeout, exchange)
        .await
        .map_err(|_| Failure::Unreachable(no_answer(args.timeout)))??;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status == StatusCode::CREATED {
        return Ok(answer);
    }
    let message = answer["error_description"]
        .as_str()
        .or_else(|| answer["error"].as_str())
        .map_or_else(
            || String::from_utf8_lossy(&bytes).into_owned(),
            str::to_owned,
        );
    Err(Failure::Refused(status, message))
}

/// `{admin}/revocations`: the URL's path, if any, is kept as a prefix (a reverse proxy in
/// front of the admin listener).
fn endpoint(admin: &str) -> Result<Uri, String> {
    let uri: Uri = admin
        .trim()
        .parse()
        .map_err(|_| format!("--admin {admin:?} is not a URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(format!(
            "--admin {admin:?} needs http:// or https:// and a host"
        ));
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("--admin {admin:?} must be http:// or https://"));
    }
    let prefix = uri.path().trim_end_matches('/');
    format!("{scheme}://{authority}{prefix}/revocations")
        .parse()
        .map_err(|_| format!("--admin {admin:?} is not a URL"))
}

/// The JSON object `POST /revocations` takes.
fn entry_body(args: &RevokeArgs) -> Result<Value, Failure> {
    let mut body = Map::new();
    body.insert("issuer".into(), json!(args.issuer));
    for (field, value) in [
        ("origin_jti", &args.origin_jti),
        ("jti", &args.jti),
        ("sub", &args.sub),
        ("client_id", &args.client_id),
    ] {
        if let Some(value) = value {
            body.insert(field.into(), json!(value));
        }
    }
    if let Some(before) = &args.before {
        let t = parse_before(before).map_err(Failure::Usage)?;
        body.insert("before".into(), numeric(t));
    }
    Ok(Value::Object(body))
}

/// `--before`: a NumericDate (`1767225600`, `1767225600.5`) or an RFC 3339 time
/// (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00+01:00`), as seconds since the epoch.
pub fn parse_before(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return if n.is_finite() && n >= 0.0 {
            Ok(n)
        } else {
            Err(format!("--before {text:?} is not a time"))
        };
    }
    let bad = || {
        format!("--before {text:?}: use seconds since the epoch or RFC 3339 (2026-01-01T00:00:00Z)")
    };
    // humantime reads UTC (`Z`); a numeric offset is applied here.
    let (base, offset) = match text.len().checked_sub(6).and_then(|i| {
        let (head, tail) = text.split_at_checked(i)?;
        let sign = match tail.as_bytes().first() {
            Some(b'+') => 1i64,
            Some(b'-') => -1,
            _ => return None,
        };
        let (h, m) = tail[1..].split_once(':')?;
        let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
        Some((format!("{head}Z"), sign * minutes * 60))
    }) {
        Some(parts) => parts,
        None if text.ends_with('Z') || text.ends_with('z') => (text.to_owned(), 0),
        None => return Err(bad()),
    };
    let t = humantime::parse_rfc3339_weak(&base).map_err(|_| bad())?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad())?
        .as_secs_f64();
    let secs = secs - offset as f64;
    if secs < 0.0 {
        return Err(bad());
    }
    Ok(secs)
}

/// A NumericDate as JSON: an integer when whole.
fn numeric(t: f64) -> Value {
    if t.fract() == 0.0 && t < 9.0e15 {
        json!(t as u64)
    } else {
        json!(t)
    }
}

fn no_answer(timeout: Duration) -> String {
    format!("no answer within {}", humantime::format_duration(timeout))
}

/// An error with its causes (hyper's client errors put the useful part in the source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_is_a_numeric_date_or_an_rfc_3339_time() {
        assert_eq!(parse_before("1767225600"), Ok(1_767_225_600.0));
        assert_eq!(parse_before("1767225600.5"), Ok(1_767_225_600.5));
        assert_eq!(parse_before("2026-01-01T00:00:00Z"), Ok(1_767_225_600.0));
        assert_eq!(
            parse_before("2026-01-01T01:00:00+01:00"),
            Ok(1_767_225_600.0)
        );
        assert_eq!(
            parse_before("2025-12-31T22:30:00-01:30"),
            Ok(1_767_225_600.0)
        );
        for bad in [
            "yesterday",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "-5",
            "NaN",
        ] {
            assert!(parse_before(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_endpoint_keeps_a_path_prefix() {
        assert_eq!(
            endpoint("http://127.0.0.1:9901").unwrap().to_string(),
            "http://127.0.0.1:9901/revocations"
        );
        assert_eq!(
            endpoint("https://ops.example.com/tokengate/")
                .unwrap()
                .to_string(),
            "https://ops.example.com/tokengate/revocations"
        );
        assert!(endpoint("127.0.0.1:9901").is_err());
        assert!(endpoint("ftp://h").is_err());
    }
}
