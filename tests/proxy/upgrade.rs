//! HTTP/1.1 upgrades (WebSocket): an allowed request is upgraded end to end and bytes flow
//! both ways; a refused one never reaches the upstream.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

/// An upstream that accepts every upgrade and echoes the upgraded bytes; counts requests.
fn start_upgrade_echo() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                counter.fetch_add(1, Ordering::SeqCst);
                let auth = req.headers().get("x-auth-sub").cloned();
                tokio::spawn(async move {
                    if let Ok(upgraded) = hyper::upgrade::on(&mut req).await {
                        let mut io = TokioIo::new(upgraded);
                        let mut buf = [0u8; 1024];
                        while let Ok(n) = io.read(&mut buf).await {
                            if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                });
                let mut resp = hyper::Response::new(Empty::<Bytes>::new());
                *resp.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
                resp.headers_mut()
                    .insert("upgrade", "websocket".parse().unwrap());
                resp.headers_mut()
                    .insert("connection", "upgrade".parse().unwrap());
                if let Some(sub) = auth {
                    resp.headers_mut().insert("x-upstream-saw-sub", sub);
                }
                async move { Ok::<_, Infallible>(resp) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    (addr, seen)
}

fn handshake(path: &str, auth: Option<&str>) -> String {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(token) = auth {
        r.push_str(&bearer(token));
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r
}

fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn an_allowed_upgrade_is_tunnelled_both_ways_and_a_refused_one_never_reaches_the_upstream() {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let (upstream, seen) = start_upgrade_echo();
    let iss = jwks.issuer("us-east-1_Ws");
    let config = format!(
        "server: {{ listen: LISTEN }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\n"
    );
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&iss, "alice", &[]));

    let mut stream = TcpStream::connect(tg.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(handshake("/ws", Some(&token)).as_bytes())
        .unwrap();
    let head = read_head(&mut stream).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(head.contains("x-upstream-saw-sub: sub-alice"), "{head}");
    for message in [&b"ping"[..], b"a longer frame of bytes", b"pong"] {
        stream.write_all(message).unwrap();
        let mut echo = vec![0u8; message.len()];
        stream.read_exact(&mut echo).unwrap();
        assert_eq!(echo, message);
    }
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    let mut stream = TcpStream::connect(tg.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(handshake("/ws", None).as_bytes()).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the refused upgrade never reached the upstream"
    );
}
