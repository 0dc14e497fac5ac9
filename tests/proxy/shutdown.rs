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

/// A sidecar limited to one CPU (here: the affinity mask) runs tokengate's current-thread
/// runtime. Everything that runs beside requests still works there: a new kid's refetch
/// (parsed on a blocking thread), a SIGHUP reload, keep-alive clients on their own upstream
/// connections, and a SIGTERM drain that loses nothing and exits 0.
#[test]
fn on_one_cpu_keys_reloads_keep_alive_and_shutdown_all_work() {
    use crate::faults::{keep_alive_get, KeepAlive};
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let upstream = start_echo();
    let iss = jwks.issuer("p");
    let config = |extra_route: &str| {
        format!(
            "server: {{ listen: LISTEN, shutdown_grace: 5s }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\njwks: {{ min_refresh_interval: 1s }}\nroutes:\n{extra_route}  - match: {{ path_prefix: / }}\n"
        )
    };
    let mut tg = Tokengate::start_on_one_cpu(&config(""), true);
    let status = |tg: &Tokengate, token: &str| tg.send(&get_with("/x", &[&bearer(token)])).status;
    let token = key.sign(&access_claims(&iss, "a", &[]));
    assert_eq!(status(&tg, &token), 200);
    let forged = Signer::attacker_key().sign(&access_claims(&iss, "a", &[]));
    assert_eq!(status(&tg, &forged), 401);

    // A new kid: published, then fetched on the first token that names it.
    let rotated = Signer::from_pem("k2", include_str!("../fixtures/keys/attacker-rsa2048.pem"));
    jwks.body.store(std::sync::Arc::new(bytes::Bytes::from(
        json!({"keys": [key.jwk(), rotated.jwk()]}).to_string(),
    )));
    std::thread::sleep(Duration::from_millis(1100));
    let new_token = rotated.sign(&access_claims(&iss, "a", &[]));
    assert_eq!(status(&tg, &new_token), 200, "{}", tg.output());

    // A reload: a route that needs no token.
    assert_eq!(tg.send(&get("/open")).status, 401);
    tg.rewrite_config(&config(
        "  - { match: { path_prefix: /open }, auth: none }\n",
    ));
    tg.signal("-HUP");
    within(Duration::from_secs(5), "the reload", || {
        tg.send(&get("/open")).status == 200
    });

    // Keep-alive clients, then SIGTERM: every request sent before it is answered.
    let addr = tg.addr;
    let request = keep_alive_get("/load", &[&bearer(&token)]);
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let request = request.clone();
            std::thread::spawn(move || {
                let mut conn = KeepAlive::connect(addr).unwrap();
                let mut answered = 0;
                while let Ok(answer) = conn.exchange(&request) {
                    assert_eq!(answer.status, 200);
                    answered += 1;
                    if answer.close {
                        break;
                    }
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    tg.signal("-TERM");
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(answered > 8, "the clients were served: {answered}");
    assert_eq!(tg.wait(Duration::from_secs(10)), Some(0), "{}", tg.output());
}
