//! `/revocations` on the admin listener (reference section 8): `GET` lists the entries in
//! force, `POST` adds one (201 with it as stored), `DELETE` undoes one (204, or 404). Only
//! with `revocation.api_token_file`; every call needs that token as a Bearer token, compared
//! in constant time. The token is read from the running config, so a reload re-reads it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};
use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::json_response;
use crate::app::App;
use crate::config::ApiToken;
use crate::proxy::body::{full, Body};
use crate::revocation::{Entry, Revoker, StoreError};

/// The largest request body: one entry is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers one `/revocations` request.
pub async fn answer(app: &App, request: Request<Incoming>) -> Response<Body> {
    let snapshot = app.snapshot.load_full();
    let token = snapshot
        .config
        .revocation
        .as_ref()
        .and_then(|r| r.api_token.as_ref());
    let (Some(revoker), Some(token)) = (&app.revocation, token) else {
        return json_response(StatusCode::NOT_FOUND, &json!({"error": "not_found"}));
    };
    if !authorized(request.headers(), token) {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid Bearer token (revocation.api_token_file) is required",
        );
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="tokengate-admin""#),
        );
        return response;
    }
    let issuers: Vec<String> = snapshot
        .config
        .issuers
        .iter()
        .map(|i| i.name.clone())
        .collect();
    let method = request.method().clone();
    match method {
        Method::GET => list(revoker),
        Method::POST | Method::DELETE => {
            let entry = match read_entry(request, &issuers, revoker).await {
                Ok(entry) => entry,
                Err(response) => return response,
            };
            if method == Method::POST {
                add(revoker, entry).await
            } else {
                remove(revoker, entry).await
            }
        }
        _ => {
            let mut response = json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "method_not_allowed"}),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            response
        }
    }
}

/// Whether the request carries exactly one `Authorization: Bearer <token>` whose token is
/// the configured one. Both sides are hashed first, so neither their bytes nor their
/// lengths change how long the comparison takes.
fn authorized(headers: &HeaderMap, token: &ApiToken) -> bool {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Some((scheme, presented)) = value.as_bytes().split_first_chunk::<7>() else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    let presented = presented.trim_ascii();
    let a = digest(&SHA256, presented);
    let b = digest(&SHA256, token.secret());
    verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok() && !presented.is_empty()
}

/// The body as an entry of a configured issuer, or the 4xx that says why not.
async fn read_entry(
    request: Request<Incoming>,
    issuers: &[String],
    revoker: &Revoker,
) -> Result<Entry, Response<Body>> {
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "body larger than 8 KiB",
            ))
        }
        Ok(Err(_)) | Err(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "body not received",
            ))
        }
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body is not JSON",
        )
    })?;
    let names: Vec<&str> = issuers.iter().map(String::as_str).collect();
    Entry::from_json(&value, &names, unix_now(), revoker.max_token_lifetime)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()))
}

fn list(revoker: &Revoker) -> Response<Body> {
    let set = revoker.list.current();
    let entries: Vec<Value> = set.entries().iter().map(Entry::to_json).collect();
    json_response(StatusCode::OK, &json!({ "entries": entries }))
}

async fn add(revoker: &Revoker, entry: Entry) -> Response<Body> {
    let stored = entry.to_json();
    match revoker.store.add(entry).await {
        Ok(()) => {
            tracing::info!(
                issuer = %stored["issuer"].as_str().unwrap_or_default(),
                kind = stored_kind(&stored),
                "revocation entry added through the admin API"
            );
            json_response(StatusCode::CREATED, &stored)
        }
        Err(e) => store_error(&e),
    }
}

async fn remove(revoker: &Revoker, entry: Entry) -> Response<Body> {
    match revoker.store.remove(entry).await {
        Ok(true) => {
            let mut response = Response::new(full(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no entry names this target",
        ),
        Err(e) => store_error(&e),
    }
}

/// A store that could not be reached is a 503 to retry; an entry in force here but not
/// persisted is a 500 (the caller should know it will not survive a restart).
fn store_error(e: &StoreError) -> Response<Body> {
    match e {
        StoreError::Unavailable { .. } => {
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                &e.to_string(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        StoreError::Persist { .. } => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not_persisted",
            &e.to_string(),
        ),
    }
}

/// The kind name of a stored entry's JSON (the field that is not issuer, before or a time).
fn stored_kind(stored: &Value) -> &'static str {
    crate::revocation::Kind::ALL
        .into_iter()
        .map(|k| k.as_str())
        .find(|k| stored.get(*k).is_some())
        .unwrap_or("")
}

fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": code, "error_description": description}),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ApiToken {
        ApiToken::from_content("/t".into(), "s3cret\n").unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_exactly_one_bearer_with_the_configured_token_is_authorized() {
        let t = token();
        assert!(authorized(&headers(&["Bearer s3cret"]), &t));
        assert!(authorized(&headers(&["bearer s3cret"]), &t));
        for bad in [
            &[][..],
            &["Bearer s3cre"],
            &["Bearer s3cret2"],
            &["Basic s3cret"],
            &["Bearer "],
            &["s3cret"],
            &["Bearer s3cret", "Bearer s3cret"],
        ] {
            assert!(!authorized(&headers(bad), &t), "{bad:?}");
        }
    }
}
