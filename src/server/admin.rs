//! The admin listener: `/healthz`, `/readyz`, `/keys`, `/metrics`, and `/revocations`
//! (`admin/revocations.rs`). It keeps answering during shutdown so orchestrators can see
//! readiness turn off.

pub mod revocations;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::app::App;
use crate::proxy::body::{full, Body};

/// Serves the admin endpoints until the process exits.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = Arc::clone(&app);
        let service = service_fn(move |request| answer(Arc::clone(&app), request));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
}

async fn answer(app: Arc<App>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/revocations" {
        return Ok(revocations::answer(&app, request).await);
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "method_not_allowed"}),
        ));
    }
    let response = match request.uri().path() {
        "/healthz" => json_response(StatusCode::OK, &json!({"status": "ok"})),
        "/readyz" => readyz(&app),
        "/keys" => json_response(StatusCode::OK, &keys(&app)),
        "/metrics" => {
            revocation_gauges(&app);
            let mut r = Response::new(full(Bytes::from(app.metrics.render())));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
    };
    Ok(response)
}

/// The revocation gauges, as of this scrape.
fn revocation_gauges(app: &App) {
    if let Some(revoker) = &app.revocation {
        let counts = revoker.list.counts().map(|(kind, n)| (kind.as_str(), n));
        app.metrics
            .revocation(&counts, revoker.list.sync_age(unix_ms()));
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// 200 when every issuer has a key set, the revocation list (if configured) has loaded and
/// no shutdown has begun; else 503 naming what is missing.
fn readyz(app: &App) -> Response<Body> {
    let snapshot = app.snapshot.load();
    let missing: Vec<&str> = snapshot
        .verifier
        .issuers()
        .iter()
        .filter(|i| i.keys.load().is_none())
        .map(|i| i.config.name.as_str())
        .collect();
    let shutting_down = app.is_shutting_down();
    // `{"store": "memory", "loaded": bool}` with a revocation section, else absent.
    let revocation = app.revocation.as_ref().map(|r| {
        json!({
            "store": r.store_kind,
            "loaded": r.list.is_loaded(),
        })
    });
    let list_loaded = app.revocation.as_ref().is_none_or(|r| r.list.is_loaded());
    let mut body = if missing.is_empty() && !shutting_down && list_loaded {
        json!({"ready": true})
    } else {
        json!({
            "ready": false,
            "shutting_down": shutting_down,
            "issuers_without_keys": missing,
        })
    };
    if let (Some(revocation), Some(object)) = (revocation, body.as_object_mut()) {
        object.insert("revocation".into(), revocation);
    }
    let status = if body["ready"] == true {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &body)
}

fn keys(app: &App) -> Value {
    let snapshot = app.snapshot.load();
    let issuers: Vec<Value> = snapshot
        .verifier
        .issuers()
        .iter()
        .map(|issuer| {
            let set = issuer.keys.load();
            let status = issuer.keys.status();
            json!({
                "name": issuer.config.name,
                "kids": set.as_ref().map_or_else(Vec::new, |s| s.kids()),
                "source": set.as_ref().map(|s| s.origin.as_str()),
                "fetched_at": set.as_ref().map(|s| rfc3339(s.fetched_at)),
                "last_error": status.last_error.as_ref().map(ToString::to_string),
                "next_refresh": status.next_refresh.map(rfc3339),
            })
        })
        .collect();
    json!({ "issuers": issuers })
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
