//! WebSocket frames through tokengate with tokio-tungstenite (see issue 4).
//!
//! The upstream is a real WebSocket echo server (tokio-tungstenite) that records every TCP
//! connection and every handshake request it sees; tokengate sits in front (HTTP/1.1 to
//! the upstream); the client is tokio-tungstenite over a TCP stream to tokengate.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as ClientResponse;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::*;

/// A handshake request as the echo server saw it.
#[derive(Debug, Clone)]
struct Handshake {
    uri: String,
    subs: Vec<String>,
    groups: Vec<String>,
}

/// What the echo server saw: TCP connections, handshakes, and close frames received.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    handshakes: ArcSwap<Vec<Handshake>>,
    closes: ArcSwap<Vec<Option<CloseFrame>>>,
}

fn values(req: &Request, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Appends to a list shared with the test (no std locks: see clippy.toml).
fn push<T: Clone>(list: &ArcSwap<Vec<T>>, item: T) {
    list.rcu(|items| {
        let mut items = Vec::clone(items);
        items.push(item.clone());
        items
    });
}

/// A WebSocket echo server: text and binary messages are sent back as they came; pings are
/// answered by tungstenite; a close is answered and ends the connection.
// The handshake callback's error type is tungstenite's (`ErrorResponse`), large or not.
#[allow(clippy::result_large_err)]
fn start_ws_echo() -> (SocketAddr, Arc<Seen>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let record = seen.clone();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            record.connections.fetch_add(1, Ordering::SeqCst);
            let record = record.clone();
            tokio::spawn(async move {
                let on_request =
                    |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                        push(
                            &record.handshakes,
                            Handshake {
                                uri: req.uri().to_string(),
                                subs: values(req, "x-auth-sub"),
                                groups: values(req, "x-auth-groups"),
                            },
                        );
                        Ok(resp)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, on_request).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    match message {
                        Message::Text(_) | Message::Binary(_) => {
                            if ws.send(message).await.is_err() {
                                break;
                            }
                        }
                        Message::Close(frame) => push(&record.closes, frame),
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
            });
        }
    });
    (addr, seen)
}

struct Scene {
    key: Signer,
    iss: String,
    seen: Arc<Seen>,
    tg: Tokengate,
    _jwks: JwksServer,
}

/// The echo server and tokengate in front of it: `/admin` requires group `admin`, `/ws`
/// requires a valid token.
fn start() -> Scene {
    start_with("")
}

/// `start` with more `server` keys (`, max_connections: 2`).
fn start_with(server: &str) -> Scene {
    let (upstream, seen) = start_ws_echo();
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let iss = jwks.issuer("us-east-1_Ws");
    let config = format!(
        "server: {{ listen: LISTEN{server} }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}' }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{iss}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - name: admin\n    match: {{ path_prefix: /admin }}\n    require: {{ groups_any: [admin] }}\n  - name: ws\n    match: {{ path_prefix: /ws }}\n"
    );
    let tg = Tokengate::start(&config, true);
    Scene {
        key,
        iss,
        seen,
        tg,
        _jwks: jwks,
    }
}

type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

impl Scene {
    fn token(&self, user: &str, groups: &[&str]) -> String {
        self.key.sign(&access_claims(&self.iss, user, groups))
    }

    fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    fn handshakes(&self) -> Vec<Handshake> {
        Vec::clone(&self.seen.handshakes.load())
    }

    /// Opens a WebSocket to `path` through tokengate with the given extra headers.
    async fn connect(
        &self,
        path: &str,
        headers: &[(&'static str, String)],
    ) -> Result<(Client, ClientResponse), WsError> {
        let mut req = format!("ws://{}{path}", self.tg.addr)
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            req.headers_mut().append(*name, value.parse().unwrap());
        }
        let tcp = tokio::net::TcpStream::connect(self.tg.addr).await.unwrap();
        within(
            "handshake",
            tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp)),
        )
        .await
    }
}

fn auth(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The next message that is not a ping or pong.
async fn next_data(
    rx: &mut (impl futures_util::Stream<Item = Result<Message, WsError>> + Unpin),
) -> Message {
    loop {
        let message = within("a message", rx.next())
            .await
            .expect("the stream is open")
            .unwrap();
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

/// The refusal tungstenite reports for a handshake answered with a non-101 status.
fn refusal(result: Result<(Client, ClientResponse), WsError>) -> ClientResponse {
    match result {
        Err(WsError::Http(resp)) => *resp,
        Err(e) => panic!("expected an HTTP refusal, got {e:?}"),
        Ok((_, resp)) => panic!("expected a refusal, got {resp:?}"),
    }
}

fn body_json(resp: &ClientResponse) -> serde_json::Value {
    serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap()
}

#[test]
fn frames_flow_both_ways_and_the_upstream_sees_only_tokengates_identity() {
    let scene = start();
    let token = scene.token("alice", &[]);
    let big: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let sent = vec![
        Message::text("hello"),
        Message::binary(vec![0u8, 1, 2, 254, 255]),
        Message::text("ünïcødé ✓ ".repeat(100)),
        Message::binary(big),
        Message::text(""),
        Message::binary(Vec::new()),
        Message::text("last"),
    ];
    let close = runtime().block_on(async {
        let spoofed = [
            auth(&token),
            ("x-auth-sub", "sub-mallory".to_owned()),
            ("x-auth-groups", "admin".to_owned()),
        ];
        let (ws, resp) = scene
            .connect("/ws/chat?room=7", &spoofed)
            .await
            .unwrap_or_else(|e| panic!("{e:?}\n{}", scene.tg.output()));
        assert_eq!(resp.status(), 101);

        // Send everything while reading the echoes, so both directions are busy at once.
        let (mut tx, mut rx) = ws.split();
        let send = async {
            for message in &sent {
                tx.send(message.clone()).await.unwrap();
            }
        };
        let receive = async {
            let mut got = Vec::new();
            for _ in 0..sent.len() {
                got.push(next_data(&mut rx).await);
            }
            got
        };
        let ((), got) = within("echoes", futures_util::future::join(send, receive)).await;
        assert_eq!(got.len(), sent.len());
        for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
            assert!(
                g == s,
                "message {i} came back different ({} bytes)",
                g.len()
            );
        }

        // A ping is answered with a pong carrying the same payload.
        tx.send(Message::Ping("are you there".into()))
            .await
            .unwrap();
        let pong = within("pong", rx.next()).await.unwrap().unwrap();
        assert_eq!(pong, Message::Pong("are you there".into()));

        // The close handshake: our close reaches the server, its reply reaches us, then
        // the stream ends.
        let mut ws = tx.reunite(rx).unwrap();
        ws.close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        let reply = within("close reply", ws.next()).await.unwrap().unwrap();
        let end = within("end of stream", ws.next()).await;
        assert!(end.is_none(), "the stream ends after the close: {end:?}");
        reply
    });
    match close {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the server's close, got {other:?}"),
    }
    let closes = Vec::clone(&scene.seen.closes.load());
    assert_eq!(closes.len(), 1, "{closes:?}");
    let frame = closes[0].clone().expect("a close frame with a code");
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::Normal, "bye")
    );

    let handshakes = scene.handshakes();
    assert_eq!(handshakes.len(), 1, "{handshakes:?}");
    assert_eq!(handshakes[0].uri, "/ws/chat?room=7");
    assert_eq!(
        handshakes[0].subs,
        ["sub-alice"],
        "only tokengate's x-auth-sub"
    );
    assert_eq!(handshakes[0].groups, [""], "only tokengate's x-auth-groups");
}

#[test]
fn a_handshake_without_a_valid_token_is_refused_before_the_upstream() {
    let scene = start();
    let forged = Signer::attacker_key().sign(&access_claims(&scene.iss, "alice", &[]));
    let (missing, invalid) = runtime().block_on(async {
        let missing = scene.connect("/ws", &[]).await;
        let invalid = scene.connect("/ws", &[auth(&forged)]).await;
        (refusal(missing), refusal(invalid))
    });
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="tokengate""#
    );
    assert_eq!(body_json(&missing)["error"], "missing_token");
    assert_eq!(invalid.status(), 401);
    assert_eq!(body_json(&invalid)["error_description"], "bad signature");
    assert_eq!(scene.connections(), 0, "the echo server saw no connection");
}

#[test]
fn a_spoofed_group_header_does_not_open_an_admin_route() {
    let scene = start();
    let alice = scene.token("alice", &[]);
    let carol = scene.token("carol", &["admin"]);
    let (refused, allowed) = runtime().block_on(async {
        let spoofed = [auth(&alice), ("x-auth-groups", "admin".to_owned())];
        let refused = refusal(scene.connect("/admin/ws", &spoofed).await);
        let allowed = scene.connect("/admin/ws", &[auth(&carol)]).await;
        (refused, allowed.map(|(_, resp)| resp.status()))
    });
    assert_eq!(refused.status(), 403);
    assert_eq!(body_json(&refused)["error"], "insufficient_scope");
    assert_eq!(body_json(&refused)["error_description"], "missing group");
    // The route does open for a member of the group: the refusal was the policy's.
    assert_eq!(allowed.unwrap(), 101);
    let handshakes = scene.handshakes();
    assert_eq!(
        handshakes.len(),
        1,
        "only carol's upgrade arrived: {handshakes:?}"
    );
    assert_eq!(handshakes[0].subs, ["sub-carol"]);
    assert_eq!(handshakes[0].groups, ["admin"]);
}

#[test]
fn an_open_websocket_holds_its_connection_slot_until_it_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let scene = start_with(", max_connections: 2");
    let token = scene.token("alice", &[]);
    runtime().block_on(async {
        let (mut a, _) = scene.connect("/ws/a", &[auth(&token)]).await.unwrap();
        let (mut b, _) = scene.connect("/ws/b", &[auth(&token)]).await.unwrap();
        for ws in [&mut a, &mut b] {
            ws.send(Message::text("hi")).await.unwrap();
            assert_eq!(next_data(ws).await, Message::text("hi"));
        }
        // Both slots are held by tunnels: a third connection waits in the backlog.
        let mut third = tokio::net::TcpStream::connect(scene.tg.addr).await.unwrap();
        third
            .write_all(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut status = [0u8; 12];
        let waited = tokio::time::timeout(Duration::from_secs(1), third.read_exact(&mut status));
        assert!(
            waited.await.is_err(),
            "the third connection was served while two tunnels held both slots"
        );
        // One WebSocket closes: its slot is free, the waiting connection is served, even
        // though this client keeps its socket open after the closing handshake.
        a.close(None).await.unwrap();
        while let Some(Ok(_)) = within("a's close", a.next()).await {}
        within(
            "the third connection's answer",
            third.read_exact(&mut status),
        )
        .await
        .unwrap();
        assert_eq!(&status, b"HTTP/1.1 404");
        b.send(Message::text("still open")).await.unwrap();
        assert_eq!(next_data(&mut b).await, Message::text("still open"));
        drop(a);
    });
}

#[test]
fn on_shutdown_open_websockets_get_1001_on_both_sides_and_the_exit_is_within_grace() {
    let mut scene = start_with(", shutdown_grace: 3s");
    let token = scene.token("alice", &[]);
    let grace = Duration::from_secs(3);
    let signalled = runtime().block_on(async {
        let (mut a, _) = scene.connect("/ws/a", &[auth(&token)]).await.unwrap();
        let (mut b, _) = scene.connect("/ws/b", &[auth(&token)]).await.unwrap();
        let signalled = tokio::time::Instant::now();
        scene.tg.signal("-TERM");
        // Within the grace period a tunnel still carries frames, as a request in flight
        // still runs.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for ws in [&mut a, &mut b] {
            ws.send(Message::text("during the grace period"))
                .await
                .unwrap();
            assert_eq!(
                next_data(ws).await,
                Message::text("during the grace period")
            );
        }
        // Shortly before the grace period ends, each client gets a Close, 1001.
        for ws in [&mut a, &mut b] {
            match next_data(ws).await {
                Message::Close(Some(frame)) => {
                    assert_eq!(frame.code, CloseCode::Away);
                    assert_eq!(frame.reason.as_str(), "going away");
                }
                other => panic!("expected a Close frame, got {other:?}"),
            }
            let at = signalled.elapsed();
            assert!(
                at >= grace - Duration::from_millis(800) && at < grace,
                "the Close came {at:?} after SIGTERM"
            );
            // tungstenite answers the Close; then the connection ends.
            while let Some(Ok(_)) = within("the end of the stream", ws.next()).await {}
        }
        signalled
    });
    assert_eq!(
        scene.tg.wait(Duration::from_secs(6)),
        Some(0),
        "{}",
        scene.tg.output()
    );
    let took = signalled.elapsed();
    assert!(
        took < grace + Duration::from_millis(300),
        "exit {took:?} after SIGTERM"
    );
    let closes = Vec::clone(&scene.seen.closes.load());
    assert_eq!(closes.len(), 2, "the upstream got both Closes: {closes:?}");
    for close in closes {
        let frame = close.expect("a Close frame with a code");
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::Away, "going away")
        );
    }
    assert!(scene.tg.output().contains("all connections drained"));
}
