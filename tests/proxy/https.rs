//! Downstream TLS (`server.tls`): an HTTPS client negotiates h2 or http/1.1 by ALPN against
//! a certificate made in the test; SIGHUP, or the files changing, re-reads a renewed
//! certificate; a client that never finishes its handshake is cut after
//! `header_read_timeout`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};

use crate::harness::*;

/// A private CA and a leaf for 127.0.0.1 signed by it, written as PEM files.
struct Pki {
    ca: CertificateDer<'static>,
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir =
            std::env::temp_dir().join(format!("tg-https-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        Pki {
            ca: issuer.der().clone(),
            issuer,
            dir,
        }
    }

    /// Writes a fresh leaf (RSA or ECDSA key) to tls.crt/tls.key; returns the leaf's DER.
    fn write_leaf(&self, rsa: bool) -> Vec<u8> {
        let key = if rsa {
            KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap()
        } else {
            KeyPair::generate().unwrap()
        };
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        std::fs::write(self.dir.join("tls.crt"), leaf.pem()).unwrap();
        std::fs::write(self.dir.join("tls.key"), key.serialize_pem()).unwrap();
        leaf.der().to_vec()
    }

    fn config(&self, upstream: std::net::SocketAddr, jwks: &JwksServer) -> String {
        format!(
            "server:\n  listen: LISTEN\n  header_read_timeout: 1s\n  tls: {{ cert_file: '{}', key_file: '{}' }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
            self.dir.join("tls.crt").display(),
            self.dir.join("tls.key").display(),
            jwks.issuer("p")
        )
    }
}

struct Answer {
    version: hyper::Version,
    status: u16,
    body: Value,
    alpn: Option<Vec<u8>>,
    peer: Vec<u8>,
}

/// One HTTPS GET offering `alpn`; speaks h2 when the server picked it.
fn https_get(
    addr: std::net::SocketAddr,
    ca: &CertificateDer<'static>,
    alpn: &[&[u8]],
    token: &str,
) -> Answer {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let mut client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let token = token.to_owned();
    runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let session = tls.get_ref().1;
        let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
        let peer = session.peer_certificates().unwrap()[0].to_vec();
        let request = hyper::Request::get(format!("https://{addr}/tls"))
            .header("authorization", format!("Bearer {token}"))
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let io = TokioIo::new(tls);
        let response = if alpn.as_deref() == Some(b"h2") {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            send.send_request(request).await.unwrap()
        } else {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            send.send_request(request).await.unwrap()
        };
        let version = response.version();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            version,
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            alpn,
            peer,
        }
    })
}

#[test]
fn https_serves_h2_and_http11_by_alpn_with_rsa_and_ecdsa_keys() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let token = key.sign(&access_claims(&jwks.issuer("p"), "alice", &[]));
    for rsa in [true, false] {
        let pki = Pki::new();
        let leaf = pki.write_leaf(rsa);
        let tg = Tokengate::start(&pki.config(upstream, &jwks), true);

        let h2 = https_get(tg.addr, &pki.ca, &[b"h2", b"http/1.1"], &token);
        assert_eq!(h2.alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(h2.version, hyper::Version::HTTP_2);
        assert_eq!(h2.status, 200);
        assert_eq!(h2.peer, leaf);
        assert_eq!(h2.body["headers"]["x-auth-sub"][0], "sub-alice");
        assert_eq!(h2.body["headers"]["x-forwarded-proto"][0], "https");

        let h1 = https_get(tg.addr, &pki.ca, &[b"http/1.1"], &token);
        assert_eq!(h1.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(h1.version, hyper::Version::HTTP_11);
        assert_eq!(h1.status, 200);
        assert_eq!(h1.body["headers"]["x-forwarded-proto"][0], "https");

        let refused = https_get(tg.addr, &pki.ca, &[b"h2"], "not.a.token");
        assert_eq!(refused.status, 401);

        // Plain HTTP on the TLS port is not served.
        let plain = try_request(tg.addr, &get("/tls"));
        assert!(
            plain.map(|r| r.status).unwrap_or(0) != 200,
            "plain HTTP must not pass on a TLS listener"
        );
    }
}

#[test]
fn sighup_rereads_a_renewed_certificate_for_new_connections() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let token = key.sign(&access_claims(&jwks.issuer("p"), "alice", &[]));
    let pki = Pki::new();
    let first = pki.write_leaf(false);
    let tg = Tokengate::start(&pki.config(upstream, &jwks), true);
    assert_eq!(https_get(tg.addr, &pki.ca, &[b"h2"], &token).peer, first);

    let renewed = pki.write_leaf(true);
    assert_ne!(first, renewed);
    tg.signal("-HUP");
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = https_get(tg.addr, &pki.ca, &[b"h2"], &token).peer;
        if seen == renewed {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(seen, renewed, "new connections get the renewed certificate");

    // A broken key file is refused; the running certificate stays.
    std::fs::write(pki.dir.join("tls.key"), "garbage").unwrap();
    tg.signal("-HUP");
    for _ in 0..100 {
        if tg.metric("tokengate_config_reloads_total{result=\"error\"}") == 1.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        tg.metric("tokengate_config_reloads_total{result=\"error\"}"),
        1.0
    );
    let after = https_get(tg.addr, &pki.ca, &[b"http/1.1"], &token);
    assert_eq!(after.peer, renewed);
    assert_eq!(after.status, 200);
}

#[test]
fn a_renewed_certificate_is_served_to_new_connections_without_a_signal() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let token = key.sign(&access_claims(&jwks.issuer("p"), "alice", &[]));
    let pki = Pki::new();
    let first = pki.write_leaf(false);
    let tg = Tokengate::start(&pki.config(upstream, &jwks), true);
    assert_eq!(https_get(tg.addr, &pki.ca, &[b"h2"], &token).peer, first);

    // cert-manager or a Secret update rewrites both files; no signal is sent.
    let renewed = pki.write_leaf(true);
    let started = tokio::time::Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        seen = https_get(tg.addr, &pki.ca, &[b"http/1.1"], &token).peer;
        if seen == renewed {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(seen, renewed, "new connections get the renewed certificate");
    assert_eq!(
        tg.metric("tokengate_config_reloads_total{result=\"ok\"}"),
        1.0
    );
}

#[test]
fn a_client_that_never_finishes_the_handshake_is_cut() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let pki = Pki::new();
    pki.write_leaf(false);
    let tg = Tokengate::start(&pki.config(start_echo(), &jwks), true);
    let mut stream = std::net::TcpStream::connect(tg.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 64];
    // Nothing is sent: the server closes after header_read_timeout (1 s).
    let n = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
