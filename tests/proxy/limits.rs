//! Connection limits with raw TCP clients: a trickled request head is cut after
//! `header_read_timeout`; an idle keep-alive connection lives until `idle_timeout` (the
//! head timer does not count the wait between requests); `max_connections` holds further
//! connections in the backlog; a client that vanishes frees its upstream request.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::harness::*;

fn start(server: &str, upstream: SocketAddr) -> (Tokengate, JwksServer) {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let config = format!(
        "server: {{ listen: LISTEN, {server} }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - {{ match: {{ path_prefix: /open }}, auth: none }}\n  - {{ match: {{ path_prefix: /api }} }}\n",
        jwks.issuer("p")
    );
    (Tokengate::start(&config, true), jwks)
}

/// A keep-alive request for a path no route matches: tokengate answers 404 itself.
const KEEP_ALIVE: &[u8] = b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads one response with a Content-Length body; returns its status.
fn read_response(stream: &mut TcpStream) -> std::io::Result<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok(text[9..12].parse().unwrap_or(0))
}

/// Waits until the server closes the connection; returns how long that took.
fn time_to_close(stream: &mut TcpStream, started: Instant) -> Duration {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn a_trickled_request_head_is_cut_after_header_read_timeout() {
    let (tg, _jwks) = start("header_read_timeout: 1s, idle_timeout: 30s", start_echo());
    let mut stream = TcpStream::connect(tg.addr).unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /open HTTP/1.1\r\n").unwrap();
    // One header byte every 200 ms: always sending, never finishing.
    let mut cut = None;
    for _ in 0..25 {
        std::thread::sleep(Duration::from_millis(200));
        if stream.write_all(b"X").is_err() {
            cut = Some(started.elapsed());
            break;
        }
        stream.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let closed = matches!(stream.read(&mut buf), Ok(0));
        stream.set_nonblocking(false).unwrap();
        if closed {
            cut = Some(started.elapsed());
            break;
        }
    }
    let cut = cut.expect("the trickling client was never cut");
    assert!(
        cut >= Duration::from_millis(900) && cut < Duration::from_secs(3),
        "{cut:?}"
    );
}

#[test]
fn idle_keep_alive_lasts_idle_timeout_not_header_read_timeout() {
    let (tg, _jwks) = start(
        "header_read_timeout: 1s, idle_timeout: 2500ms",
        start_echo(),
    );
    let mut stream = TcpStream::connect(tg.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(KEEP_ALIVE).unwrap();
    assert_eq!(read_response(&mut stream).unwrap(), 404);
    // Idle for longer than header_read_timeout: the connection is still served.
    std::thread::sleep(Duration::from_millis(1600));
    stream.write_all(KEEP_ALIVE).unwrap();
    assert_eq!(
        read_response(&mut stream).unwrap(),
        404,
        "still open after 1.6 s idle"
    );
    let idle_from = Instant::now();
    let took = time_to_close(&mut stream, idle_from);
    assert!(
        took >= Duration::from_millis(2300) && took < Duration::from_secs(5),
        "closed after {took:?}, expected about the 2.5 s idle_timeout"
    );
}

#[test]
fn max_connections_holds_further_connections_until_one_closes() {
    let (tg, _jwks) = start("max_connections: 2", start_echo());
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(tg.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(KEEP_ALIVE).unwrap();
        assert_eq!(read_response(&mut s).unwrap(), 404);
        held.push(s);
    }
    // The third connection completes in the kernel backlog but gets no answer ...
    let mut third = TcpStream::connect(tg.addr).unwrap();
    third.write_all(KEEP_ALIVE).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let waited = read_response(&mut third);
    assert!(
        waited
            .as_ref()
            .is_err_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the third connection must wait: {waited:?}"
    );
    // ... until one of the two closes.
    drop(held.remove(0));
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(read_response(&mut third).unwrap(), 404);
}

#[test]
fn a_client_that_vanishes_frees_its_upstream_request() {
    // An upstream that reads a request, never answers, and records when its peer hangs up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream = listener.local_addr().unwrap();
    let freed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&freed);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    });
    let (tg, _jwks) = start("max_connections: 100", upstream);
    let mut client = TcpStream::connect(tg.addr).unwrap();
    client
        .write_all(b"GET /open/slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        freed.load(Ordering::SeqCst),
        0,
        "the upstream request is in flight"
    );
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while freed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        freed.load(Ordering::SeqCst),
        1,
        "the upstream connection was closed"
    );
    assert_eq!(tg.metric("tokengate_inflight_requests"), 0.0);
}

/// A request head of exactly `size` bytes on the wire (padded with an `X-Pad` header).
fn head_of(size: usize) -> String {
    let head = |pad: &str| {
        format!("GET /open/x HTTP/1.1\r\nHost: t\r\nX-Pad: {pad}\r\nConnection: close\r\n\r\n")
    };
    let pad = "a".repeat(size - head("").len());
    let raw = head(&pad);
    assert_eq!(raw.len(), size);
    raw
}

#[test]
fn max_header_bytes_below_hyper_buffer_is_honoured_to_the_byte() {
    let (tg, _jwks) = start("max_header_bytes: 4096", start_echo());
    for (size, status) in [(4095, 200), (4096, 200), (4097, 431), (6000, 431)] {
        assert_eq!(tg.send(&head_of(size)).status, status, "{size}-byte head");
    }
    assert_eq!(
        tg.metric(r#"tokengate_requests_total{outcome="invalid_request",route="-"}"#),
        2.0,
        "counted like any refusal"
    );
}

#[test]
fn max_header_bytes_above_hyper_buffer_is_honoured_to_the_byte() {
    let (tg, _jwks) = start("max_header_bytes: 10000", start_echo());
    for (size, status) in [(9999, 200), (10000, 200), (10001, 431), (12000, 431)] {
        assert_eq!(tg.send(&head_of(size)).status, status, "{size}-byte head");
    }
}
