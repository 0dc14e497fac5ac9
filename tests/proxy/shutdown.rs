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
