//! SIGTERM while a response is streaming: it completes within `shutdown_grace`, or is cut
//! when the grace period ends; the exit is 0 either way.

use std::time::Duration;

use tokio::time::Instant;

use serde_json::json;

use crate::harness::*;

fn start(upstream: std::net::SocketAddr, grace: &str) -> (Tokengate, String, JwksServer) {
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let config = format!(
        "server: {{ listen: LISTEN, shutdown_grace: {grace} }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{}' }}\n    client_ids: [{CLIENT}]\n",
        jwks.issuer("p")
    );
    let tg = Tokengate::start(&config, true);
    let token = key.sign(&access_claims(&jwks.issuer("p"), "a", &[]));
    (tg, token, jwks)
}

#[test]
fn sigterm_during_a_streaming_response_lets_it_complete() {
    let upstream = start_streaming_upstream(10, Duration::from_millis(150));
    let (mut tg, token, _jwks) = start(upstream, "10s");
    let addr = tg.addr;
    let stream = std::thread::spawn(move || try_request(addr, &get_with("/s", &[&bearer(&token)])));
    std::thread::sleep(Duration::from_millis(300));
    tg.signal("-TERM");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(tg.admin_get("/readyz").status, 503);
    let reply = stream.join().unwrap().unwrap();
    assert_eq!(reply.status, 200);
    let body = String::from_utf8(reply.body).unwrap();
    assert_eq!(body.lines().count(), 10, "the whole stream arrived: {body}");
    assert_eq!(tg.wait(Duration::from_secs(10)), Some(0), "{}", tg.output());
    assert!(tg.output().contains("all connections drained"));
}

#[test]
fn past_the_grace_period_a_stream_is_cut_and_the_exit_is_still_clean() {
    let upstream = start_streaming_upstream(40, Duration::from_millis(200));
    let (mut tg, token, _jwks) = start(upstream, "1s");
    let addr = tg.addr;
    let stream = std::thread::spawn(move || try_request(addr, &get_with("/s", &[&bearer(&token)])));
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    tg.signal("-TERM");
    assert_eq!(tg.wait(Duration::from_secs(10)), Some(0), "{}", tg.output());
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "exit after the 1 s grace period, took {took:?}"
    );
    assert!(tg.output().contains("grace period over"));
    // The client got a truncated stream (or a reset), never the whole 8 s body.
    if let Ok(reply) = stream.join().unwrap() {
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(body.lines().count() < 40, "the stream was cut: {body}");
    }
}

#[test]
fn sigterm_under_64_keep_alive_clients_loses_no_request_sent_before_it() {
    use crate::faults::{keep_alive_get, KeepAlive};
    let (mut tg, token, _jwks) = start(start_echo(), "5s");
    let addr = tg.addr;
    let request = keep_alive_get("/load", &[&bearer(&token)]);
    // Each client sends requests back to back on one connection until the server closes
    // it; every request is logged with the time it was sent and what came back.
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let request = request.clone();
            std::thread::spawn(move || {
                let mut conn = KeepAlive::connect(addr).unwrap();
                let mut log = Vec::new();
                loop {
                    let sent = Instant::now();
                    match conn.exchange(&request) {
                        Ok(answer) => {
                            // A whole response: the echo's JSON, naming the request.
                            let path = serde_json::from_slice::<serde_json::Value>(&answer.body)
                                .map(|v| v["path"].clone());
                            let whole = path.is_ok_and(|p| p == "/load");
                            log.push((sent, Ok((answer.status, whole))));
                            if answer.close {
                                break;
                            }
                        }
                        Err(e) => {
                            log.push((sent, Err(e.kind())));
                            break;
                        }
                    }
                }
                log
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = Instant::now();
    tg.signal("-TERM");
    within(
        Duration::from_secs(2),
        "new connections are refused",
        || std::net::TcpStream::connect(addr).is_err(),
    );
    let logs: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(tg.wait(Duration::from_secs(5)), Some(0), "{}", tg.output());
    let exited = signalled.elapsed();
    let (mut before, mut after) = (0, 0);
    for (client, log) in logs.iter().enumerate() {
        for (sent, result) in log {
            match result {
                Ok((status, whole)) => {
                    assert_eq!(*status, 200, "client {client}");
                    assert!(whole, "client {client}: an incomplete response");
                    if *sent < signalled {
                        before += 1;
                    } else {
                        after += 1;
                    }
                }
                Err(kind) => assert!(
                    *sent > signalled,
                    "client {client}: a request sent {:?} before SIGTERM failed: {kind:?}",
                    signalled - *sent
                ),
            }
        }
    }
    eprintln!("{before} requests before SIGTERM, {after} answered after it; exit after {exited:?}");
    assert!(
        logs.iter().all(|log| log.len() >= 2),
        "every client was streaming requests when the signal came"
    );
    assert!(
        exited < Duration::from_secs(5),
        "exit {exited:?} after SIGTERM"
    );
    assert!(tg.output().contains("all connections drained"));
}
