//! TLS towards JWKS endpoints and upstreams: a server whose certificate chains to a private
//! CA is trusted only when that CA is configured (`jwks.ca_file`, `upstream.ca_file`), and
//! `/keys` names the certificate problem when a JWKS fetch fails on one; a CA file replaced
//! at the same path is trusted after the reload it causes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;

use crate::harness::*;

/// Starts an https server answering `body` on loopback; returns its address and the CA's PEM.
fn https_server(body: String) -> (std::net::SocketAddr, String) {
    https_server_with(
        body,
        CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap(),
    )
}

/// Like [`https_server`], with a certificate made from `leaf` (signed by a fresh CA).
fn https_server_with(body: String, leaf: CertificateParams) -> (std::net::SocketAddr, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(body);
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(body))) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, ca.pem())
}

/// Starts an https server answering `body` with a self-signed certificate for 127.0.0.1
/// made from `params` (no CA involved); returns its address and the certificate's PEM.
fn self_signed_server(body: String, params: CertificateParams) -> (std::net::SocketAddr, String) {
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (serve_tls(server, body), cert.pem())
}

fn serve_tls(server: rustls::ServerConfig, body: String) -> std::net::SocketAddr {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(body);
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(body))) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

fn config(addr: std::net::SocketAddr, upstream: std::net::SocketAddr, jwks: &str) -> String {
    format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: 'https://idp.test/pool' }}\n    jwks_uri: 'https://{addr}/jwks.json'\n    client_ids: [{CLIENT}]\njwks: {{ fetch_timeout: 2s{jwks} }}\n"
    )
}

#[test]
fn https_jwks_with_a_private_ca_needs_ca_file() {
    let key = Signer::issuer_key();
    let (addr, ca_pem) = https_server(json!({"keys": [key.jwk()]}).to_string());
    let upstream = start_echo();

    let untrusted = Tokengate::start(&config(addr, upstream, ""), false);
    let error = first_error(&untrusted);
    assert!(!error.is_empty(), "an unknown CA must fail the fetch");
    assert_eq!(untrusted.admin_get("/readyz").status, 503);

    let trusted = Tokengate::start(&config(addr, upstream, &ca_file_option(&ca_pem)), true);
    let token = key.sign(&access_claims("https://idp.test/pool", "alice", &[]));
    assert_eq!(trusted.send(&get_with("/", &[&bearer(&token)])).status, 200);
}

/// The issuer's `/keys` `last_error` once its first fetch has failed ("" if it never does).
fn first_error(tg: &Tokengate) -> String {
    for _ in 0..100 {
        let keys = tg.admin_get("/keys").json();
        if let Some(e) = keys["issuers"][0]["last_error"].as_str() {
            return e.to_owned();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    String::new()
}

/// Writes `pem` to a fresh temporary `ca.pem` and returns the config option naming it.
fn ca_file_option(pem: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tg-ca-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, pem).unwrap();
    format!(", ca_file: '{}'", ca_file.display())
}

#[test]
fn keys_last_error_names_the_certificate_problem_of_a_jwks_endpoint() {
    let body = || json!({"keys": [Signer::issuer_key().jwk()]}).to_string();
    let upstream = start_echo();
    let (addr, _) = https_server(body());
    let tg = Tokengate::start(&config(addr, upstream, ""), false);
    assert_eq!(
        first_error(&tg),
        "TLS: certificate signed by an unknown issuer",
        "a CA that is not configured"
    );
    let mut expired = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    expired.not_before = date_time_ymd(2001, 1, 1);
    expired.not_after = date_time_ymd(2002, 1, 1);
    let (addr, ca) = https_server_with(body(), expired);
    let tg = Tokengate::start(&config(addr, upstream, &ca_file_option(&ca)), false);
    assert_eq!(first_error(&tg), "TLS: certificate expired");
    let other_host = CertificateParams::new(vec!["idp.test".to_owned()]).unwrap();
    let (addr, ca) = https_server_with(body(), other_host);
    let tg = Tokengate::start(&config(addr, upstream, &ca_file_option(&ca)), false);
    assert_eq!(
        first_error(&tg),
        "TLS: certificate not valid for the host name"
    );
    assert!(
        tg.metric(
            r#"tokengate_jwks_fetches_total{issuer="main",result="connect",trigger="start"}"#
        ) == 1.0,
        "the metric label stays `connect`"
    );
}

#[test]
fn an_https_upstream_behind_a_private_ca_needs_upstream_ca_file() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let (upstream, ca_pem) = https_server("hello over tls".to_owned());
    let iss = jwks.issuer("p");
    let config = |extra: &str| {
        format!(
            "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'https://{upstream}'{extra} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n"
        )
    };
    let token = key.sign(&access_claims(&iss, "a", &[]));
    let trusted = Tokengate::start(&config(&ca_file_option(&ca_pem)), true);
    let r = trusted.send(&get_with("/x", &[&bearer(&token)]));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello over tls");
    let untrusted = Tokengate::start(&config(""), true);
    let r = untrusted.send(&get_with("/x", &[&bearer(&token)]));
    assert_eq!(
        r.status, 502,
        "an upstream certificate from an unknown CA is refused"
    );
}

/// A self-signed server certificate as `openssl req -x509 -addext
/// basicConstraints=critical,CA:FALSE` (or rcgen's default) makes it: a leaf, not a CA.
fn self_signed_leaf() -> CertificateParams {
    CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap()
}

#[test]
fn a_self_signed_leaf_certificate_in_jwks_ca_file_is_trusted() {
    let key = Signer::issuer_key();
    let mut explicit = self_signed_leaf();
    explicit.is_ca = IsCa::ExplicitNoCa;
    for params in [self_signed_leaf(), explicit] {
        let (addr, pem) = self_signed_server(json!({"keys": [key.jwk()]}).to_string(), params);
        let upstream = start_echo();
        let tg = Tokengate::start(&config(addr, upstream, &ca_file_option(&pem)), false);
        let error = first_error(&tg);
        assert!(error.is_empty(), "fetch failed: {error}");
        let token = key.sign(&access_claims("https://idp.test/pool", "alice", &[]));
        assert_eq!(tg.send(&get_with("/", &[&bearer(&token)])).status, 200);
    }
}

#[test]
fn a_self_signed_leaf_certificate_in_upstream_ca_file_is_trusted() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let (upstream, pem) = self_signed_server("hello over tls".to_owned(), self_signed_leaf());
    let iss = jwks.issuer("p");
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'https://{upstream}'{} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n",
        ca_file_option(&pem)
    );
    let tg = Tokengate::start(&config, true);
    let r = tg.send(&get_with(
        "/x",
        &[&bearer(&key.sign(&access_claims(&iss, "a", &[])))],
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello over tls");
}

#[test]
fn a_self_signed_ca_certificate_used_as_the_server_certificate_is_named_in_last_error() {
    // `openssl req -x509` without options marks its certificate CA:TRUE (OpenSSL's v3_ca
    // section); WebPKI refuses a CA certificate as a server's own certificate.
    let key = Signer::issuer_key();
    let mut params = self_signed_leaf();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let (addr, pem) = self_signed_server(json!({"keys": [key.jwk()]}).to_string(), params);
    let tg = Tokengate::start(&config(addr, start_echo(), &ca_file_option(&pem)), false);
    assert_eq!(
        first_error(&tg),
        "TLS: a CA certificate used as the server's own certificate (make it with basicConstraints CA:FALSE)"
    );
}

/// A fresh CA (its PEM) and a server config for 127.0.0.1 with a leaf it signed.
fn pki() -> (String, rustls::ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    (ca.pem(), server)
}

/// An https server answering `body` whose certificate the test switches by storing another
/// config; each new connection gets the current one.
fn switchable_https_server(
    body: String,
    first: rustls::ServerConfig,
) -> (std::net::SocketAddr, Arc<ArcSwap<rustls::ServerConfig>>) {
    let current = Arc::new(ArcSwap::from_pointee(first));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(body);
    let configs = Arc::clone(&current);
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = tokio_rustls::TlsAcceptor::from(configs.load_full());
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(body))) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, current)
}

#[test]
fn a_jwks_ca_file_replaced_at_the_same_path_is_trusted_after_the_reload() {
    let key = Signer::issuer_key();
    let (ca_a, server_a) = pki();
    let (ca_b, server_b) = pki();
    let (addr, server) =
        switchable_https_server(json!({"keys": [key.jwk()]}).to_string(), server_a);
    let upstream = start_echo();
    let dir =
        std::env::temp_dir().join(format!("tg-ca-swap-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca_a).unwrap();
    let option = format!(", ca_file: '{}'", ca_file.display());
    let tg = Tokengate::start(&config(addr, upstream, &option), true);
    let ok = r#"tokengate_jwks_fetches_total{issuer="main",result="ok","#;
    assert_eq!(tg.metric_sum(ok), 1.0);

    // The endpoint's certificate now chains to CA B, and the file at the same path holds
    // CA B: the reload (no signal: the file is watched) must build a new client.
    server.store(Arc::new(server_b));
    std::fs::write(&ca_file, &ca_b).unwrap();
    within(Duration::from_secs(5), "the reload", || {
        tg.metric("tokengate_config_reloads_total{result=\"ok\"}") == 1.0
    });
    within(Duration::from_secs(5), "a fetch trusting CA B", || {
        tg.metric_sum(ok) == 2.0
    });
    let keys = tg.admin_get("/keys").json();
    assert!(keys["issuers"][0]["last_error"].is_null(), "{keys}");
    assert_eq!(keys["issuers"][0]["kids"], json!(["k1"]));
    let token = key.sign(&access_claims("https://idp.test/pool", "alice", &[]));
    within(
        Duration::from_secs(5),
        "tokens verify with the refetched keys",
        || tg.send(&get_with("/", &[&bearer(&token)])).status == 200,
    );
}

#[test]
fn an_upstream_ca_file_replaced_at_the_same_path_is_trusted_after_the_reload() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let (ca_a, server_a) = pki();
    let (ca_b, server_b) = pki();
    let (upstream, server) = switchable_https_server("hello over tls".to_owned(), server_a);
    let dir = std::env::temp_dir().join(format!("tg-up-ca-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca_a).unwrap();
    let iss = jwks.issuer("p");
    let tg = Tokengate::start(
        &format!(
            "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'https://{upstream}', ca_file: '{}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n",
            ca_file.display()
        ),
        true,
    );
    let token = key.sign(&access_claims(&iss, "a", &[]));
    // `Connection: close` on every request: no pooled connection outlives the switch.
    assert_eq!(tg.send(&get_with("/x", &[&bearer(&token)])).status, 200);
    server.store(Arc::new(server_b));
    std::fs::write(&ca_file, &ca_b).unwrap();
    within(
        Duration::from_secs(5),
        "the upstream trusted through CA B",
        || {
            tg.send(&get_with("/x", &[&bearer(&token)])).status == 200
                && tg.metric("tokengate_config_reloads_total{result=\"ok\"}") == 1.0
        },
    );
}
