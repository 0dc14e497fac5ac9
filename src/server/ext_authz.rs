//! Envoy ext_authz over gRPC on `authz.grpc_listen`: `envoy.service.auth.v3.Authorization/
//! Check` runs the same decision phases as every other request and answers as Envoy expects;
//! `grpc.health.v1.Health` on the same listener. Per check it never locks or fetches.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, DeniedHttpResponse,
    HeaderAppendAction, HeaderValue, HeaderValueOption, HttpResponse, HttpStatus, OkHttpResponse,
};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::HttpRequest;
use envoy_types::pb::google::rpc;
use http::{HeaderMap, HeaderName, Method};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::app::{App, Snapshot};
use crate::error::Reject;
use crate::metrics::Api;
use crate::outcome::Outcome;
use crate::proxy::log::AccessLog;
use crate::proxy::original::{origin_form, OriginalError};
use crate::proxy::trace::RequestTrace;
use crate::proxy::{decide, record};

/// The `Authorization` service over the running snapshot.
#[derive(Debug)]
pub struct Checker {
    app: Arc<App>,
}

#[tonic::async_trait]
impl Authorization for Checker {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let started = Instant::now();
        let snapshot = self.app.snapshot.load_full();
        let http = request
            .into_inner()
            .attributes
            .and_then(|a| a.request)
            .and_then(|r| r.http)
            .unwrap_or_default();
        let mut log = AccessLog::new(
            &Method::GET,
            "",
            RequestTrace::from_request(&HeaderMap::new()),
        );
        log.api = Api::Grpc;
        let response = match check(&snapshot, &http, &mut log).await {
            Ok(allowed) => {
                log.outcome = Outcome::Allowed;
                log.status = match &allowed.http_response {
                    Some(HttpResponse::DeniedResponse(d)) => d
                        .status
                        .as_ref()
                        .and_then(|s| u16::try_from(s.code).ok())
                        .unwrap_or(200),
                    _ => 200,
                };
                allowed
            }
            Err(reject) => {
                log.outcome = reject.outcome();
                log.reason = reject.description();
                log.status = reject.status().as_u16();
                denied(&reject, &log.trace.request_id)
            }
        };
        record(&self.app, &snapshot, &log, started);
        Ok(tonic::Response::new(response))
    }
}

/// The request's headers as Envoy sent them: `header_map` (raw) when present, else the
/// `headers` map; pseudo-headers and names or values HTTP does not allow are left out.
/// More headers than a header map holds (a hostile caller) is refused, never a panic.
fn headers(http: &HttpRequest) -> Result<HeaderMap, Reject> {
    let mut map = HeaderMap::new();
    let mut put = |name: &str, value: &[u8]| -> Result<(), Reject> {
        if name.starts_with(':') {
            return Ok(());
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) {
            map.try_append(name, value)
                .map_err(|_| Reject::BadOriginal(OriginalError::TooManyHeaders))?;
        }
        Ok(())
    };
    match &http.header_map {
        Some(raw) if !raw.headers.is_empty() => {
            for h in &raw.headers {
                let value = if h.raw_value.is_empty() {
                    h.value.as_bytes()
                } else {
                    &h.raw_value
                };
                put(&h.key, value)?;
            }
        }
        _ => {
            for (name, value) in &http.headers {
                put(name, value.as_bytes())?;
            }
        }
    }
    Ok(map)
}

fn option(key: &str, value: &[u8]) -> HeaderValueOption {
    #[allow(deprecated)] // `append` is deprecated in favour of `append_action`.
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_owned(),
            value: String::from_utf8_lossy(value).into_owned(),
            raw_value: Vec::new(),
        }),
        append: None,
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        keep_empty_value: true,
    }
}

/// Decides one check; allowed -> OK with the identity headers to set and every other
/// identity-looking header of the request to remove.
async fn check(
    snapshot: &Snapshot,
    http: &HttpRequest,
    log: &mut AccessLog,
) -> Result<CheckResponse, Reject> {
    let method = Method::from_bytes(http.method.as_bytes())
        .map_err(|_| Reject::BadOriginal(OriginalError::Method))?;
    let uri = origin_form(http.path.as_bytes()).map_err(Reject::BadOriginal)?;
    log.method = method.clone();
    uri.path().clone_into(&mut log.path);
    let request_headers = headers(http)?;
    // Envoy sends its own x-request-id (and traceparent when tracing): log those.
    log.trace = RequestTrace::from_request(&request_headers);
    let decision = decide(
        snapshot,
        &method,
        uri.path(),
        uri.query(),
        &request_headers,
        log,
    )
    .await?;
    if decision.logged_out {
        return Ok(logged_out());
    }
    let mut identity = HeaderMap::new();
    if let Some(verified) = &decision.verified {
        snapshot
            .headers
            .add_identity(&mut identity, &verified.identity, &verified.claims)
            .map_err(Reject::BadHeaders)?;
    }
    let set: Vec<HeaderValueOption> = identity
        .iter()
        .map(|(name, value)| option(name.as_str(), value.as_bytes()))
        .collect();
    // Spoofed identity headers go; the ones tokengate sets are overwritten instead, so the
    // result is the same whichever order Envoy applies the two lists in.
    // `keys()` yields each name once.
    let remove: Vec<String> = request_headers
        .keys()
        .filter(|name| snapshot.headers.is_reserved(name.as_str()))
        .filter(|name| !identity.contains_key(*name))
        .map(|name| name.as_str().to_owned())
        .collect();
    #[allow(deprecated)] // `dynamic_metadata` in OkHttpResponse is deprecated.
    let ok = OkHttpResponse {
        headers: set,
        headers_to_remove: remove,
        ..Default::default()
    };
    Ok(CheckResponse {
        status: Some(rpc::Status {
            code: 0,
            message: String::new(),
            details: Vec::new(),
        }),
        http_response: Some(HttpResponse::OkResponse(ok)),
        ..Default::default()
    })
}

/// A logout done: Envoy must answer 204 itself rather than forward the request, which in
/// ext_authz terms is a denial (any non-OK code) whose response is a 204 without a body.
fn logged_out() -> CheckResponse {
    let response = crate::proxy::logout::no_content();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| option(name.as_str(), value.as_bytes()))
        .collect();
    CheckResponse {
        status: Some(rpc::Status {
            code: 7, // PERMISSION_DENIED: "do not forward"; the HTTP answer is the 204 below.
            message: crate::proxy::logout::LOGGED_OUT.to_owned(),
            details: Vec::new(),
        }),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: i32::from(response.status().as_u16()),
            }),
            headers,
            body: String::new(),
        })),
        ..Default::default()
    }
}

/// A denial: the HTTP status, `WWW-Authenticate` and JSON body the client gets, and the
/// matching `google.rpc` code.
fn denied(reject: &Reject, request_id: &http::HeaderValue) -> CheckResponse {
    let response = reject.to_response(Some(request_id));
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| option(name.as_str(), value.as_bytes()))
        .collect();
    let denied = DeniedHttpResponse {
        status: Some(HttpStatus {
            code: i32::from(response.status().as_u16()),
        }),
        headers,
        body: String::from_utf8_lossy(response.body()).into_owned(),
    };
    CheckResponse {
        status: Some(rpc::Status {
            code: reject.grpc_code(),
            message: reject.description().to_owned(),
            details: Vec::new(),
        }),
        http_response: Some(HttpResponse::DeniedResponse(denied)),
        ..Default::default()
    }
}

/// Serves Check and Health on `listener` until `stop` turns true; health then says
/// NOT_SERVING while in-flight checks finish.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<AuthorizationServer<Checker>>().await;
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string());
    let shutdown = async move {
        let _ = stop.changed().await;
        reporter
            .set_not_serving::<AuthorizationServer<Checker>>()
            .await;
    };
    // A check waits at most for one key refetch (fetch_timeout + 1 s); a client that holds a
    // call or a dead connection open longer is cut.
    let fetch_timeout = app.snapshot.load().config.jwks.fetch_timeout;
    let result = tonic::transport::Server::builder()
        .timeout(fetch_timeout + Duration::from_secs(5))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .add_service(health)
        .add_service(AuthorizationServer::new(Checker { app }))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, listen = %addr, "ext_authz gRPC listener failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::HeaderMap as RawHeaders;

    #[test]
    fn a_flood_of_headers_is_refused_not_a_panic() {
        let raw: Vec<HeaderValue> = (0..40_000)
            .map(|i| HeaderValue {
                key: format!("x-a{i}"),
                value: "1".to_owned(),
                raw_value: Vec::new(),
            })
            .collect();
        let http = HttpRequest {
            header_map: Some(RawHeaders { headers: raw }),
            ..Default::default()
        };
        assert!(matches!(
            headers(&http),
            Err(Reject::BadOriginal(OriginalError::TooManyHeaders))
        ));
    }

    #[test]
    fn pseudo_headers_and_invalid_names_are_left_out() {
        let mut http = HttpRequest::default();
        for (k, v) in [
            (":path", "/x"),
            ("bad name", "v"),
            ("authorization", "Bearer t"),
        ] {
            http.headers.insert(k.to_owned(), v.to_owned());
        }
        let map = headers(&http).unwrap_or_default();
        assert_eq!(map.len(), 1);
        assert_eq!(map["authorization"], "Bearer t");
    }
}
