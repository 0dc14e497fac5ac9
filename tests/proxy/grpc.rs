//! gRPC through tokengate: a tonic client and a tonic server (see issue 4).
//!
//! The upstream is tonic-health's `grpc.health.v1.Health` service (unary `Check`, server
//! streaming `Watch`) served by tonic over h2c; tokengate sits in front with
//! `upstream.http2: true`; the client is tonic's `HealthClient` over a `Channel` (h2c prior
//! knowledge). Every call the upstream receives is recorded with the identity it saw.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_check_response::ServingStatus as PbStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::harness::*;

/// The service name the upstream reports as SERVING.
const SERVICE: &str = "shop.Orders";

/// One call as the upstream saw it: every `x-auth-sub` and `x-auth-groups` value.
#[derive(Debug, Clone)]
struct Seen {
    subs: Vec<String>,
    groups: Vec<String>,
}

struct Scene {
    key: Signer,
    iss: String,
    reporter: HealthReporter,
    seen: Arc<ArcSwap<Vec<Seen>>>,
    tg: Tokengate,
    _jwks: JwksServer,
}

fn values(meta: &tonic::metadata::MetadataMap, name: &str) -> Vec<String> {
    meta.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Starts the tonic health server on loopback, recording each call's identity metadata.
fn start_health() -> (
    std::net::SocketAddr,
    HealthReporter,
    Arc<ArcSwap<Vec<Seen>>>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    runtime().block_on(reporter.set_service_status(SERVICE, ServingStatus::Serving));
    let seen = Arc::new(ArcSwap::from_pointee(Vec::new()));
    let record = seen.clone();
    let interceptor = move |req: Request<()>| -> Result<Request<()>, Status> {
        let call = Seen {
            subs: values(req.metadata(), "x-auth-sub"),
            groups: values(req.metadata(), "x-auth-groups"),
        };
        record.rcu(|calls| {
            let mut calls = Vec::clone(calls);
            calls.push(call.clone());
            calls
        });
        Ok(req)
    };
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        Server::builder()
            .add_service(InterceptedService::new(health, interceptor))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    (addr, reporter, seen)
}

/// A minimal h2c gRPC upstream (hyper) for `Health/Check` that answers one SERVING message
/// in a DATA frame and then real trailers (a HEADERS frame after the data):
/// `grpc-status` from the request's `x-want-status` metadata (default 0), a
/// percent-encoded `grpc-message` and a custom `x-trailer-note`.
fn start_trailers_upstream() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let want = req
                    .headers()
                    .get("x-want-status")
                    .cloned()
                    .unwrap_or(HeaderValue::from_static("0"));
                let _ = req.into_body().collect().await;
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", want);
                trailers.insert(
                    "grpc-message",
                    HeaderValue::from_static("stock%20low%3A%2050%25"),
                );
                trailers.insert("x-trailer-note", HeaderValue::from_static("kept"));
                // One length-prefixed message: HealthCheckResponse { status: SERVING }.
                let message = Bytes::from_static(&[0, 0, 0, 0, 2, 0x08, 0x01]);
                let frames = vec![
                    Ok::<_, Infallible>(Frame::data(message)),
                    Ok(Frame::trailers(trailers)),
                ];
                let mut resp =
                    hyper::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
                resp.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/grpc"));
                Ok::<_, Infallible>(resp)
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// Starts tonic's health service and tokengate in front of it. Every path of the health
/// service requires group `ops`.
fn start() -> Scene {
    let (upstream, reporter, seen) = start_health();
    let (tg, key, iss, jwks) = start_tokengate(upstream);
    Scene {
        key,
        iss,
        reporter,
        seen,
        tg,
        _jwks: jwks,
    }
}

fn start_tokengate(upstream: std::net::SocketAddr) -> (Tokengate, Signer, String, JwksServer) {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("us-east-1_Grpc");
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}', http2: true }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - name: health\n    match: {{ path_prefix: /grpc.health.v1.Health }}\n    require: {{ groups_any: [ops] }}\n"
    );
    (Tokengate::start(&config, true), key, iss, jwks)
}

async fn connect(tg: &Tokengate) -> HealthClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://{}", tg.addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

impl Scene {
    fn token(&self, user: &str, groups: &[&str]) -> String {
        self.key.sign(&access_claims(&self.iss, user, groups))
    }

    fn calls(&self) -> Vec<Seen> {
        Vec::clone(&self.seen.load())
    }

    async fn client(&self) -> HealthClient<Channel> {
        connect(&self.tg).await
    }
}

/// A health request for `service`, with `authorization: Bearer <token>` when given and any
/// extra metadata.
fn request(
    service: &str,
    token: Option<&str>,
    extra: &[(&'static str, &str)],
) -> Request<HealthCheckRequest> {
    let mut req = Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    if let Some(token) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    for (name, value) in extra {
        req.metadata_mut().append(*name, value.parse().unwrap());
    }
    req
}

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

#[test]
fn a_unary_call_with_a_valid_token_reaches_the_service_with_the_identity() {
    let scene = start();
    let token = scene.token("alice", &["ops"]);
    let reply = runtime().block_on(async {
        let mut client = scene.client().await;
        let req = request(
            SERVICE,
            Some(&token),
            &[("x-auth-sub", "sub-mallory"), ("x-auth-groups", "admin")],
        );
        within("Check", client.check(req)).await
    });
    let reply = reply.unwrap_or_else(|s| panic!("{s:?}\n{}", scene.tg.output()));
    assert_eq!(reply.get_ref().status(), PbStatus::Serving);
    let calls = scene.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].subs, ["sub-alice"], "only tokengate's identity");
    assert_eq!(calls[0].groups, ["ops"], "only tokengate's identity");
}

#[test]
fn a_grpc_error_status_and_message_from_the_service_arrive_intact() {
    let scene = start();
    let token = scene.token("alice", &["ops"]);
    let result = runtime().block_on(async {
        let mut client = scene.client().await;
        within("Check", client.check(request("no.Such", Some(&token), &[]))).await
    });
    let status = result.expect_err("an unknown service is NOT_FOUND");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(status.message(), "service not registered", "{status:?}");
    assert_eq!(scene.calls().len(), 1, "the service answered it");
}

#[test]
fn trailers_after_the_data_arrive_intact() {
    let upstream = start_trailers_upstream();
    let (tg, key, iss, _jwks) = start_tokengate(upstream);
    let token = key.sign(&access_claims(&iss, "alice", &["ops"]));
    let (ok, failed) = runtime().block_on(async {
        let mut client = connect(&tg).await;
        let ok = within("Check", client.check(request(SERVICE, Some(&token), &[]))).await;
        let req = request(SERVICE, Some(&token), &[("x-want-status", "9")]);
        let failed = within("Check", client.check(req)).await;
        (ok, failed)
    });
    let ok = ok.unwrap_or_else(|s| panic!("{s:?}\n{}", tg.output()));
    assert_eq!(ok.get_ref().status(), PbStatus::Serving);
    assert_eq!(
        ok.metadata()
            .get("x-trailer-note")
            .map(|v| v.to_str().unwrap()),
        Some("kept"),
        "custom trailer: {:?}",
        ok.metadata()
    );
    // A message was received, then the trailers carried a failure: the status is the
    // trailers', with the percent-encoded message decoded exactly.
    let status = failed.expect_err("grpc-status 9 in the trailers");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(status.message(), "stock low: 50%", "{status:?}");
}

#[test]
fn a_server_stream_stays_open_and_delivers_later_messages() {
    let scene = start();
    let token = scene.token("alice", &["ops"]);
    runtime().block_on(async {
        let mut client = scene.client().await;
        let mut stream = within("Watch", client.watch(request(SERVICE, Some(&token), &[])))
            .await
            .unwrap_or_else(|s| panic!("{s:?}\n{}", scene.tg.output()))
            .into_inner();
        let first = within("first message", stream.message())
            .await
            .unwrap()
            .expect("a first message");
        assert_eq!(first.status(), PbStatus::Serving);

        // A pause longer than a few round trips: the stream must still be open after it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        scene
            .reporter
            .set_service_status(SERVICE, ServingStatus::NotServing)
            .await;
        let second = within("second message", stream.message())
            .await
            .unwrap()
            .expect("a second message");
        assert_eq!(second.status(), PbStatus::NotServing);

        scene
            .reporter
            .set_service_status(SERVICE, ServingStatus::Serving)
            .await;
        let third = within("third message", stream.message())
            .await
            .unwrap()
            .expect("a third message");
        assert_eq!(third.status(), PbStatus::Serving);

        // Clearing the service drops its watch sender: the server ends the stream with
        // `grpc-status: 0` trailers, which tonic needs to see a clean end (a stream cut
        // without them is an error).
        scene.reporter.clone().clear_service_status(SERVICE).await;
        let end = within("end of stream", stream.message()).await;
        assert!(matches!(end, Ok(None)), "a clean end, got {end:?}");
    });
    let calls = scene.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].subs, ["sub-alice"]);
}

#[test]
fn a_call_without_a_token_is_unauthenticated_and_never_reaches_the_service() {
    let scene = start();
    let (unary, streaming) = runtime().block_on(async {
        let mut client = scene.client().await;
        let unary = within("Check", client.check(request(SERVICE, None, &[]))).await;
        let streaming = within("Watch", client.watch(request(SERVICE, None, &[]))).await;
        (unary, streaming.map(|_| ()))
    });
    for result in [unary.map(|_| ()), streaming] {
        let status = result.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        // The message comes from tokengate's `grpc-message` header (tonic would infer the
        // code alone from HTTP 401).
        assert_eq!(status.message(), "no token in the request", "{status:?}");
    }
    assert!(scene.calls().is_empty(), "{:?}", scene.calls());
}

#[test]
fn a_valid_token_without_the_required_group_is_permission_denied() {
    let scene = start();
    let token = scene.token("bob", &["dev"]);
    let result = runtime().block_on(async {
        let mut client = scene.client().await;
        // A spoofed group header must not help either.
        let req = request(SERVICE, Some(&token), &[("x-auth-groups", "ops")]);
        within("Check", client.check(req)).await
    });
    let status = result.expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(status.message(), "missing group", "{status:?}");
    assert!(scene.calls().is_empty(), "{:?}", scene.calls());
}

#[test]
fn an_expired_or_tampered_token_is_unauthenticated() {
    let scene = start();
    let mut expired = access_claims(&scene.iss, "alice", &["ops"]);
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 3720);
    let expired = scene.key.sign(&expired);
    let forged = Signer::attacker_key().sign(&access_claims(&scene.iss, "alice", &["ops"]));
    // The payload of a genuine token swapped for one claiming another user.
    let genuine = scene.token("alice", &["ops"]);
    let parts: Vec<&str> = genuine.split('.').collect();
    let other = b64(access_claims(&scene.iss, "root", &["ops"]).to_string());
    let tampered = format!("{}.{other}.{}", parts[0], parts[2]);

    for (token, message) in [
        (expired, "token expired"),
        (forged, "bad signature"),
        (tampered, "bad signature"),
    ] {
        let result = runtime().block_on(async {
            let mut client = scene.client().await;
            within("Check", client.check(request(SERVICE, Some(&token), &[]))).await
        });
        let status = result.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert_eq!(status.message(), message, "{status:?}");
    }
    assert!(scene.calls().is_empty(), "{:?}", scene.calls());
}
