//! Envoy ext_authz gRPC on `authz.grpc_listen`, called with a tonic client built from the
//! same protos Envoy uses: allowed -> OK with identity headers to set and spoofed ones to
//! remove; denied -> the HTTP status, WWW-Authenticate, JSON body and google.rpc code.

use std::collections::HashMap;
use std::net::SocketAddr;

use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::authz::Authz;
use crate::harness::*;

fn start() -> (Authz, SocketAddr) {
    let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let a = Authz::start(&format!("authz: {{ grpc_listen: '{grpc}' }}\n"));
    (a, grpc)
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    method: method.to_owned(),
                    path: path.to_owned(),
                    host: "app.example.com".to_owned(),
                    headers,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

pub fn check(addr: SocketAddr, request: CheckRequest) -> CheckResponse {
    runtime().block_on(async move {
        let mut client = AuthorizationClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        client.check(request).await.unwrap().into_inner()
    })
}

pub fn code(r: &CheckResponse) -> i32 {
    r.status.as_ref().map_or(-1, |s| s.code)
}

/// (headers to set, headers to remove) of an OK response.
fn ok_parts(r: &CheckResponse) -> (HashMap<String, String>, Vec<String>) {
    match &r.http_response {
        Some(HttpResponse::OkResponse(ok)) => (
            ok.headers
                .iter()
                .filter_map(|h| h.header.as_ref())
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect(),
            ok.headers_to_remove.clone(),
        ),
        other => panic!("not an OK response: {other:?}"),
    }
}

/// (HTTP status, headers, body) of a denied response.
pub fn denied_parts(r: &CheckResponse) -> (i32, HashMap<String, String>, serde_json::Value) {
    match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => (
            d.status.as_ref().map_or(0, |s| s.code),
            d.headers
                .iter()
                .filter_map(|h| h.header.as_ref())
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect(),
            serde_json::from_str(&d.body).unwrap(),
        ),
        other => panic!("not a denied response: {other:?}"),
    }
}

#[test]
fn allowed_checks_set_identity_and_remove_every_spoofed_header() {
    let (a, grpc) = start();
    let alice = format!("Bearer {}", a.token("alice", &["admin"]));
    let r = check(
        grpc,
        request(
            "POST",
            "/admin/reports?page=2",
            &[
                ("authorization", &alice),
                ("x-auth-sub", "spoofed"),
                ("x-auth-email", "boss@example.com"),
                ("x_auth_role", "root"),
                ("x-auth-claims", "e30"),
                ("user-agent", "curl"),
            ],
        ),
    );
    assert_eq!(code(&r), 0, "{r:?}");
    let (set, remove) = ok_parts(&r);
    assert_eq!(set["x-auth-sub"], "sub-alice");
    assert_eq!(set["x-auth-groups"], "admin");
    assert_eq!(set["x-auth-issuer"], "main");
    assert!(set.contains_key("x-auth-claims"));
    let mut remove = remove;
    remove.sort();
    assert_eq!(
        remove,
        ["x-auth-email", "x_auth_role"],
        "spoofed headers tokengate does not set are removed; the ones it sets are overwritten"
    );
}

#[test]
fn denied_checks_carry_status_challenge_body_and_rpc_code() {
    let (a, grpc) = start();
    let bob = format!("Bearer {}", a.token("bob", &[]));

    let r = check(
        grpc,
        request(
            "GET",
            "/admin",
            &[("authorization", &bob), ("x-auth-groups", "admin")],
        ),
    );
    assert_eq!(code(&r), 7, "PERMISSION_DENIED");
    let (status, headers, body) = denied_parts(&r);
    assert_eq!(status, 403);
    assert!(headers["www-authenticate"].contains(r#"error="insufficient_scope""#));
    assert_eq!(body["error"], "insufficient_scope");

    let r = check(grpc, request("GET", "/app", &[]));
    assert_eq!(code(&r), 16, "UNAUTHENTICATED");
    let (status, headers, body) = denied_parts(&r);
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], r#"Bearer realm="tokengate""#);
    assert_eq!(body["error"], "missing_token");

    let r = check(
        grpc,
        request("GET", "/app", &[("authorization", "Bearer x.y.z")]),
    );
    assert_eq!(code(&r), 16);
    assert_eq!(denied_parts(&r).2["error"], "invalid_token");

    let r = check(grpc, request("GET", "/public/%2e%2e/admin", &[]));
    assert_eq!(code(&r), 16, "the path is normalized before routing");
    let r = check(grpc, request("GET", "/public%2Fadmin", &[]));
    assert_eq!(code(&r), 3, "INVALID_ARGUMENT");
    assert_eq!(denied_parts(&r).0, 400);
    let r = check(grpc, CheckRequest::default());
    assert_eq!(code(&r), 3, "an empty CheckRequest is refused, not allowed");
}

#[test]
fn public_routes_and_raw_header_maps_are_understood() {
    let (a, grpc) = start();
    let r = check(
        grpc,
        request("GET", "/public/x", &[("x-auth-sub", "spoofed")]),
    );
    assert_eq!(code(&r), 0);
    let (set, remove) = ok_parts(&r);
    assert!(set.is_empty(), "no identity on a public route");
    assert_eq!(remove, ["x-auth-sub"]);

    // Envoy with encode_raw_headers sends header_map instead of headers.
    let token = a.token("carol", &[]);
    let mut raw = request("GET", "/app", &[]);
    if let Some(http) = raw
        .attributes
        .as_mut()
        .and_then(|x| x.request.as_mut())
        .and_then(|x| x.http.as_mut())
    {
        http.header_map = Some(HeaderMap {
            headers: vec![HeaderValue {
                key: "authorization".to_owned(),
                value: String::new(),
                raw_value: format!("Bearer {token}").into_bytes(),
            }],
        });
    }
    let r = check(grpc, raw);
    assert_eq!(code(&r), 0, "{r:?}");
    assert_eq!(ok_parts(&r).0["x-auth-sub"], "sub-carol");
    assert_eq!(
        a.tg.metric("tokengate_authz_decisions_total{api=\"grpc\",outcome=\"allowed\"}"),
        2.0
    );
}

#[test]
fn grpc_health_reports_serving_on_the_same_listener() {
    let (_a, grpc) = start();
    let status = runtime().block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = HealthClient::new(channel);
        let overall = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        let named = client
            .check(HealthCheckRequest {
                service: "envoy.service.auth.v3.Authorization".to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        (overall, named)
    });
    assert_eq!(status.0, ServingStatus::Serving as i32);
    assert_eq!(status.1, ServingStatus::Serving as i32);
}
