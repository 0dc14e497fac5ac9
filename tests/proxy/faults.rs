//! Fault injection (issue 16): an upstream that cuts, resets, garbles or never answers; a
//! JWKS endpoint that trickles, never ends, or serves 10,000 keys; a Redis store that
//! accepts and never answers; a flood of 10,000 connections; a slowloris of 500; 100 MB of
//! request headers. In each, a probe keeps sending valid and forged requests over its own
//! keep-alive connection: every valid one must succeed, under a generous latency bound,
//! every forged one must be refused; and tokengate's resident memory (VmRSS of the child)
//! must stay within a generous bound.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::harness::*;

/// The tokengate child's resident set size in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Asserts the child grew by less than `limit_mib` MiB since `before` (KiB).
fn assert_memory(tg: &Tokengate, before: u64, limit_mib: u64, what: &str) {
    let after = rss_kib(tg.pid());
    let grown = after.saturating_sub(before);
    eprintln!("{what}: VmRSS {before} KiB -> {after} KiB");
    assert!(
        grown < limit_mib * 1024,
        "{what}: VmRSS grew by {grown} KiB (from {before} KiB), over {limit_mib} MiB"
    );
}

/// A keep-alive GET (no `Connection: close`) with extra header lines.
pub fn keep_alive_get(path: &str, headers: &[&str]) -> String {
    get_with(path, headers).replace("Connection: close\r\n", "")
}

/// One response read off a keep-alive connection.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server said `Connection: close`.
    pub close: bool,
}

/// One HTTP/1.1 keep-alive connection, requests sent one after another.
pub struct KeepAlive {
    reader: BufReader<TcpStream>,
}

impl KeepAlive {
    pub fn connect(addr: SocketAddr) -> std::io::Result<KeepAlive> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(KeepAlive {
            reader: BufReader::new(stream),
        })
    }

    /// Sends `raw` and reads its whole response (Content-Length or chunked body).
    pub fn exchange(&mut self, raw: &str) -> std::io::Result<Answer> {
        self.reader.get_mut().write_all(raw.as_bytes())?;
        self.read_answer()
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
    }

    fn read_answer(&mut self) -> std::io::Result<Answer> {
        let bad = || std::io::Error::new(ErrorKind::InvalidData, "bad response");
        let status_line = self.line()?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let (mut length, mut chunked, mut close) = (0usize, false, false);
        loop {
            let line = self.line()?.to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| bad())?;
            }
            chunked |= line.starts_with("transfer-encoding:") && line.contains("chunked");
            close |= line.starts_with("connection:") && line.contains("close");
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = usize::from_str_radix(self.line()?.split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad())?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                let start = body.len();
                body.resize(start + size + 2, 0);
                self.reader.read_exact(&mut body[start..])?;
                body.truncate(start + size);
            }
        } else {
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok(Answer {
            status,
            body,
            close,
        })
    }
}

/// What a probe saw.
#[derive(Debug, Default)]
pub struct Probed {
    pub sent: usize,
    pub slowest: Duration,
    pub wrong: Vec<String>,
}

/// Valid traffic during a fault: a thread sending each of `requests` (keep-alive, with the
/// status it must get) in turn, one every 20 ms, over one connection opened at start (a
/// new one only if the server closes it).
pub struct Probe {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    thread: JoinHandle<Probed>,
}

impl Probe {
    pub fn start(addr: SocketAddr, requests: Vec<(String, u16)>) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        let sent = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&sent);
        let mut conn = KeepAlive::connect(addr).unwrap();
        let thread = std::thread::spawn(move || {
            let mut seen = Probed::default();
            while !halt.load(Ordering::SeqCst) {
                for (raw, want) in &requests {
                    let started = Instant::now();
                    let answer = conn.exchange(raw);
                    let took = started.elapsed();
                    seen.sent += 1;
                    count.fetch_add(1, Ordering::SeqCst);
                    seen.slowest = seen.slowest.max(took);
                    match answer {
                        Ok(a) if a.status == *want && !a.close => {}
                        Ok(a) if a.status == *want => match KeepAlive::connect(addr) {
                            Ok(c) => conn = c,
                            Err(e) => seen.wrong.push(format!("reconnect: {e}")),
                        },
                        other => {
                            let status = other.as_ref().map(|a| a.status);
                            seen.wrong
                                .push(format!("{raw:.30?}: {status:?} after {took:?}"));
                            match KeepAlive::connect(addr) {
                                Ok(c) => conn = c,
                                Err(e) => seen.wrong.push(format!("reconnect: {e}")),
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            seen
        });
        Probe { stop, sent, thread }
    }

    /// Stops the probe; asserts it sent something, every answer was the expected one, and
    /// the slowest came within `bound`.
    pub fn finish(self, bound: Duration, what: &str) -> Probed {
        // A fault shorter than a few probe rounds still gets them.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.sent.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop.store(true, Ordering::SeqCst);
        let seen = self.thread.join().unwrap();
        eprintln!(
            "{what}: probe sent {} requests, slowest {:?}",
            seen.sent, seen.slowest
        );
        assert!(seen.sent >= 4, "{what}: the probe hardly ran: {seen:?}");
        assert!(seen.wrong.is_empty(), "{what}: {:#?}", seen.wrong);
        assert!(
            seen.slowest < bound,
            "{what}: the slowest valid request took {:?}",
            seen.slowest
        );
        seen
    }
}

/// tokengate in front of `upstream` with issuer `main` on `jwks_issuer`: `/public` needs no
/// token, every other path a valid one. `server` and `extra` are added to the config.
struct Scene {
    tg: Tokengate,
    /// A valid token and one signed by another key.
    valid: String,
    forged: String,
    iss: String,
    /// The JWKS server, when the scene started one.
    _jwks: Option<JwksServer>,
}

/// A scene on a good JWKS server, ready, with `upstream_keys` and `server` keys added.
fn ready_scene(upstream: SocketAddr, upstream_keys: &str, server: &str) -> Scene {
    let jwks = JwksServer::start(&json!({"keys": [Signer::issuer_key().jwk()]}));
    let mut scene = scene_with(&jwks.issuer("p"), upstream, upstream_keys, server, "");
    scene._jwks = Some(jwks);
    scene.wait_ready();
    scene
}

fn scene(jwks_issuer: &str, upstream: SocketAddr, server: &str, extra: &str) -> Scene {
    scene_with(jwks_issuer, upstream, "", server, extra)
}

/// `scene` with more `upstream` keys (`, timeout: 1s`).
fn scene_with(
    jwks_issuer: &str,
    upstream: SocketAddr,
    upstream_keys: &str,
    server: &str,
    extra: &str,
) -> Scene {
    let config = format!(
        "server: {{ listen: LISTEN{server} }}\nadmin: {{ listen: ADMIN }}\nupstream: {{ url: 'http://{upstream}'{upstream_keys} }}\nissuers:\n  - name: main\n    cognito: {{ issuer: '{jwks_issuer}' }}\n    client_ids: [{CLIENT}]\nroutes:\n  - {{ match: {{ path_prefix: /public }}, auth: none }}\n  - {{ match: {{ path_prefix: / }} }}\n{extra}"
    );
    let tg = Tokengate::start(&config, false);
    let claims = access_claims(jwks_issuer, "alice", &[]);
    Scene {
        tg,
        valid: Signer::issuer_key().sign(&claims),
        forged: Signer::attacker_key().sign(&claims),
        iss: jwks_issuer.to_owned(),
        _jwks: None,
    }
}

impl Scene {
    /// The usual probe: a valid token on `path` -> 200, a forged one -> 401.
    fn probe(&self, path: &str) -> Probe {
        Probe::start(
            self.tg.addr,
            vec![
                (keep_alive_get(path, &[&bearer(&self.valid)]), 200),
                (keep_alive_get(path, &[&bearer(&self.forged)]), 401),
            ],
        )
    }

    fn wait_ready(&self) {
        within(Duration::from_secs(10), "ready", || {
            self.tg.admin_get("/readyz").status == 200
        });
    }
}

/// Reads a request head (up to the blank line); None when the peer is gone.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Closes `stream` with a TCP reset (SO_LINGER 0).
fn reset(stream: TcpStream) {
    let _entered = runtime().enter();
    stream.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(stream).unwrap();
    #[allow(deprecated)] // Linger 0 resets at once; the deprecation is about blocking drops.
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

/// A misbehaving HTTP/1.1 upstream, by path: `/ok` answers 200 (keep-alive); `/close-mid`
/// promises 1000 bytes, sends 10 and closes; `/reset-after-head` sends the head and resets;
/// `/malformed` answers a garbled status line; `/never` reads and never answers.
fn start_faulty_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                while let Some(head) = read_head(&mut s) {
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    let promise = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
                    match path.as_str() {
                        "/close-mid" => {
                            let _ = s.write_all(format!("{promise}0123456789").as_bytes());
                            return;
                        }
                        "/reset-after-head" => {
                            let _ = s.write_all(promise.as_bytes());
                            std::thread::sleep(Duration::from_millis(50));
                            return reset(s);
                        }
                        "/malformed" => {
                            let _ = s.write_all(b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok");
                            return;
                        }
                        "/never" => {
                            let mut sink = [0u8; 1024];
                            while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                            return;
                        }
                        _ => {
                            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Sends `raw` on a new connection and reads until the end or an error; returns what came.
fn raw_exchange(addr: SocketAddr, raw: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn status_of(raw: &[u8]) -> u16 {
    std::str::from_utf8(raw.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Whether a response's body is whole: its Content-Length reached, or its last chunk sent.
fn body_complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if let Some(length) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= length;
    }
    head.contains("chunked") && body.ends_with(b"0\r\n\r\n")
}

#[test]
fn a_cut_reset_garbled_or_silent_upstream_never_passes_for_a_whole_answer() {
    let scene = ready_scene(start_faulty_upstream(), ", timeout: 1s", "");
    let before = rss_kib(scene.tg.pid());
    let probe = scene.probe("/ok");
    let addr = scene.tg.addr;
    let valid = scene.valid.clone();
    // 6 clients, each through every fault 5 times (the silent one costs upstream.timeout).
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let valid = valid.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    for path in ["/close-mid", "/reset-after-head", "/malformed", "/never"] {
                        let started = Instant::now();
                        let got = raw_exchange(addr, &get_with(path, &[&bearer(&valid)]));
                        let (status, took) = (status_of(&got), started.elapsed());
                        let text = String::from_utf8_lossy(&got);
                        match path {
                            "/close-mid" => assert!(
                                status == 200 && !body_complete(&got),
                                "a body cut short must not look whole: {text}"
                            ),
                            "/reset-after-head" => assert!(
                                status == 502 || (status == 200 && !body_complete(&got)),
                                "{text}"
                            ),
                            "/malformed" => assert_eq!(status, 502, "{text}"),
                            _ => {
                                assert_eq!(status, 504, "{text}");
                                assert!(took < Duration::from_secs(4), "504 after {took:?}");
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    probe.finish(Duration::from_secs(2), "upstream faults");
    within(Duration::from_secs(3), "no request left in flight", || {
        scene.tg.metric("tokengate_inflight_requests") == 0.0
    });
    assert_memory(&scene.tg, before, 32, "upstream faults");
}

/// What the faulty JWKS endpoint serves.
const GOOD: u8 = 0;
const TRICKLE: u8 = 1;
const ENDLESS: u8 = 2;
const HUGE: u8 = 3;

/// A JWKS endpoint switched between a good document, one trickled a byte a second, an
/// endless chunked body, and a 10,000-key document; counts requests.
fn start_faulty_jwks(good: String, huge: String) -> (SocketAddr, Arc<AtomicU8>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mode = Arc::new(AtomicU8::new(GOOD));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (m, f) = (Arc::clone(&mode), Arc::clone(&fetches));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let (good, huge, mode) = (good.clone(), huge.clone(), m.load(Ordering::SeqCst));
            f.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                if read_head(&mut s).is_none() {
                    return;
                }
                let head = |len: usize| {
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
                };
                match mode {
                    TRICKLE => {
                        let _ = s.write_all(head(good.len()).as_bytes());
                        for b in good.bytes() {
                            if s.write_all(&[b]).is_err() {
                                return;
                            }
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                    ENDLESS => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                        let _ = s.write_all(b"1\r\n{\r\n");
                        while s.write_all(chunk.as_bytes()).is_ok() {}
                    }
                    HUGE => {
                        let _ = s.write_all(format!("{}{huge}", head(huge.len())).as_bytes());
                    }
                    _ => {
                        let _ = s.write_all(format!("{}{good}", head(good.len())).as_bytes());
                    }
                }
            });
        }
    });
    (addr, mode, fetches)
}

/// The issuer's `/keys` entry.
fn keys(tg: &Tokengate) -> Value {
    tg.admin_get("/keys").json()["issuers"][0].clone()
}

#[test]
fn a_trickling_endless_or_10000_key_jwks_keeps_the_last_good_keys_in_use() {
    let key = Signer::issuer_key();
    let good = json!({"keys": [key.jwk()]}).to_string();
    let mut many: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut jwk = key.jwk();
            jwk["kid"] = json!(format!("bulk-{i}"));
            jwk
        })
        .collect();
    many.push(key.jwk());
    let huge = json!({ "keys": many }).to_string();
    eprintln!("the 10,000-key document is {} bytes", huge.len());
    let (jwks, mode, fetches) = start_faulty_jwks(good, huge.clone());
    let scene = scene(
        &format!("http://{jwks}/p"),
        start_echo(),
        "",
        &format!(
            "jwks: {{ refresh_interval: 1s, min_refresh_interval: 500ms, fetch_timeout: 2s, max_bytes: {} }}\n",
            huge.len() + 1024
        ),
    );
    scene.wait_ready();
    let before = rss_kib(scene.tg.pid());
    // An unknown kid (the issuer's key under a new name) asks for a refetch: refused.
    let unknown = {
        let signer = Signer::from_pem(
            "never-published",
            include_str!("../fixtures/keys/issuer-rsa2048.pem"),
        );
        signer.sign(&access_claims(&scene.iss, "alice", &[]))
    };
    let probe = scene.probe("/x");
    for (fault, name) in [(TRICKLE, "trickle"), (ENDLESS, "endless")] {
        mode.store(fault, Ordering::SeqCst);
        let from = fetches.load(Ordering::SeqCst);
        within(
            Duration::from_secs(10),
            &format!("{name}: two fetches fail"),
            || {
                fetches.load(Ordering::SeqCst) >= from + 2
                    && !keys(&scene.tg)["last_error"].is_null()
            },
        );
        let started = Instant::now();
        let r = scene.tg.send(&get_with("/x", &[&bearer(&unknown)]));
        assert_eq!(r.status, 401, "{name}: unknown kid");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{name}: {:?}",
            started.elapsed()
        );
        let k = keys(&scene.tg);
        eprintln!("{name}: {}", k["last_error"]);
        assert_eq!(k["kids"], json!(["k1"]), "{name}: the last good set stays");
    }
    // 10,000 keys within max_bytes: taken as they are; every request keeps its pace.
    mode.store(HUGE, Ordering::SeqCst);
    let started = Instant::now();
    loop {
        let k = keys(&scene.tg);
        if k["kids"].as_array().is_some_and(|k| k.len() == 10_001) {
            break;
        }
        let error = &k["last_error"];
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the 10,000-key set is not in use: {error}\n{}",
            scene.tg.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    mode.store(GOOD, Ordering::SeqCst);
    within(Duration::from_secs(10), "back to the one good key", || {
        keys(&scene.tg)["kids"] == json!(["k1"])
    });
    probe.finish(Duration::from_secs(2), "JWKS faults");
    assert_eq!(
        scene.tg.send(&get_with("/x", &[&bearer(&unknown)])).status,
        401
    );
    assert_memory(&scene.tg, before, 64, "JWKS faults");
}

#[test]
fn a_redis_store_that_never_answers_costs_503_at_once_and_no_connection_storm() {
    // Accepts, reads, never writes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let redis = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut sink = [0u8; 1024];
                while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let dir = crate::revocation::scratch("faults-redis");
    let token_file = dir.join("api-token");
    std::fs::write(&token_file, "faults-api-token").unwrap();
    let scene = scene(
        &jwks.issuer("p"),
        start_echo(),
        "",
        &format!(
            "revocation:\n  store: redis\n  redis: {{ url: 'redis://{redis}' }}\n  api_token_file: '{}'\n",
            token_file.display()
        ),
    );
    let before = rss_kib(scene.tg.pid());
    // The list never loads: token routes answer 503 at once (fail closed), forged tokens
    // are still 401, a public route is served.
    let probe = Probe::start(
        scene.tg.addr,
        vec![
            (keep_alive_get("/x", &[&bearer(&scene.valid)]), 503),
            (keep_alive_get("/x", &[&bearer(&scene.forged)]), 401),
            (keep_alive_get("/public/x", &[]), 200),
        ],
    );
    let started = Instant::now();
    let r = scene.tg.admin_get("/readyz");
    assert_eq!(r.status, 503, "not ready without the list");
    // A write through the admin API gives up within its bound (2 x the 2 s Redis timeout).
    let r = crate::revocation::admin_call(
        &scene.tg,
        "POST",
        Some(r#"{"issuer": "main", "origin_jti": "s1"}"#),
        Some("faults-api-token"),
    );
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        took < Duration::from_secs(6),
        "the write gave up after {took:?}"
    );
    std::thread::sleep(Duration::from_secs(6).saturating_sub(started.elapsed()));
    assert_eq!(scene.tg.admin_get("/healthz").status, 200);
    probe.finish(Duration::from_secs(2), "silent Redis");
    let opened = accepted.load(Ordering::SeqCst);
    assert!(
        (1..=12).contains(&opened),
        "{opened} connections to the silent Redis in about 6 s"
    );
    assert_memory(&scene.tg, before, 16, "silent Redis");
}

/// The soft limit on open files of this process (`/proc/self/limits`).
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        .unwrap_or(1024)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[test]
fn a_flood_of_10000_connections_is_held_at_max_connections() {
    // 10,000, or what the open-files limit allows beside the other tests' sockets.
    let flood = 10_000.min(open_files_limit().saturating_sub(2_000));
    eprintln!(
        "flooding with {flood} connections (open files limit {})",
        open_files_limit()
    );
    assert!(
        flood >= 2_000,
        "the open-files limit is too low for this test"
    );
    let scene = ready_scene(
        start_echo(),
        "",
        ", max_connections: 1000, idle_timeout: 60s",
    );
    let before = rss_kib(scene.tg.pid());
    let probe = scene.probe("/x");
    let addr = scene.tg.addr;
    // Its own runtime: the echo upstream and JWKS server run on the harness's.
    let flooder = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let held = flooder.block_on(async move {
        let attempts: Vec<_> = (0..flood)
            .map(|_| {
                tokio::spawn(async move {
                    let c = tokio::net::TcpStream::connect(addr);
                    tokio::time::timeout(Duration::from_secs(3), c)
                        .await
                        .ok()?
                        .ok()
                })
            })
            .collect();
        let mut held = Vec::new();
        for a in attempts {
            if let Ok(Some(s)) = a.await {
                held.push(s);
            }
        }
        held
    });
    eprintln!(
        "{} of {flood} connections completed a handshake",
        held.len()
    );
    std::thread::sleep(Duration::from_secs(2));
    let fds = open_fds(scene.tg.pid());
    assert!(
        fds < 1_000 + 100,
        "tokengate holds {fds} descriptors past max_connections 1000"
    );
    probe.finish(Duration::from_secs(2), "10,000 connections");
    assert_memory(&scene.tg, before, 128, "10,000 connections");
    drop(held);
    drop(flooder);
    // Once the flood is gone, a new connection is served at once.
    within(
        Duration::from_secs(10),
        "a new connection is served",
        || {
            try_request(addr, &get_with("/x", &[&bearer(&scene.valid)]))
                .is_ok_and(|r| r.status == 200)
        },
    );
}

#[test]
fn a_slowloris_of_500_connections_is_cut_at_header_read_timeout() {
    let scene = ready_scene(start_echo(), "", ", header_read_timeout: 1s");
    let before = rss_kib(scene.tg.pid());
    let probe = scene.probe("/x");
    let addr = scene.tg.addr;
    let lasted = runtime().block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let clients: Vec<_> = (0..500)
            .map(|i| {
                tokio::spawn(async move {
                    // Opened over one second: a burst of 500 would overflow the kernel's
                    // accept queue, whose resets are not tokengate's doing.
                    tokio::time::sleep(Duration::from_millis(2 * i as u64)).await;
                    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let started = Instant::now();
                    s.write_all(b"GET /public/x HTTP/1.1\r\nHost: t\r\n")
                        .await
                        .unwrap();
                    let mut buf = [0u8; 64];
                    // A header byte every 200 ms until the server hangs up (10 s at most).
                    for _ in 0..50 {
                        let read =
                            tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf));
                        match read.await {
                            Ok(Ok(0) | Err(_)) => return started.elapsed(),
                            Ok(Ok(_)) => panic!("slowloris {i} got an answer"),
                            Err(_) => {}
                        }
                        if s.write_all(b"X").await.is_err() {
                            return started.elapsed();
                        }
                    }
                    started.elapsed()
                })
            })
            .collect();
        let mut lasted = Vec::new();
        for c in clients {
            lasted.push(c.await.unwrap());
        }
        lasted
    });
    let longest = lasted.iter().max().copied().unwrap_or_default();
    let shortest = lasted.iter().min().copied().unwrap_or_default();
    eprintln!("slowloris connections lasted {shortest:?} .. {longest:?}");
    assert!(
        shortest >= Duration::from_millis(900),
        "cut before the timeout: {shortest:?}"
    );
    assert!(
        longest < Duration::from_secs(4),
        "a slowloris lasted {longest:?}"
    );
    probe.finish(Duration::from_secs(2), "slowloris");
    assert_memory(&scene.tg, before, 32, "slowloris");
}

/// Sends up to 100 MB of header lines, 64 KiB at a time, until the server stops taking
/// them; returns the bytes taken, the answer read meanwhile, and how long it all took.
fn huge_head(addr: SocketAddr) -> (usize, Vec<u8>, Duration) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = s.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let answer = std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        got
    });
    let started = Instant::now();
    s.write_all(b"GET /public/x HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let line = format!("X-Fill: {}\r\n", "a".repeat(1000));
    let piece = line.repeat(64);
    let mut sent = 0usize;
    while sent < 100 * 1024 * 1024 {
        if s.write_all(piece.as_bytes()).is_err() {
            break;
        }
        sent += piece.len();
    }
    let got = answer.join().unwrap();
    (sent, got, started.elapsed())
}

#[test]
fn a_100_mb_request_head_is_refused_at_max_header_bytes() {
    let scene = ready_scene(start_echo(), "", "");
    let before = rss_kib(scene.tg.pid());
    let probe = scene.probe("/x");
    let addr = scene.tg.addr;
    // 4 clients at once, twice each.
    let clients: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || (0..2).map(|_| huge_head(addr)).collect::<Vec<_>>()))
        .collect();
    for client in clients {
        for (sent, got, took) in client.join().unwrap() {
            eprintln!(
                "100 MB head: {sent} bytes taken before the connection ended, after {took:?}"
            );
            assert!(sent < 16 * 1024 * 1024, "{sent} bytes were taken");
            assert!(
                got.is_empty() || status_of(&got) == 431,
                "{}",
                String::from_utf8_lossy(&got)
            );
            assert!(took < Duration::from_secs(8), "{took:?}");
        }
    }
    probe.finish(Duration::from_secs(2), "100 MB head");
    assert_memory(&scene.tg, before, 32, "100 MB head");
}

/// A TCP relay to `target` that can be frozen: frozen, it still accepts and reads but
/// passes nothing on either way (a Redis that hangs with its connections open).
fn start_freezable_relay(target: SocketAddr) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let frozen = Arc::new(AtomicBool::new(false));
    let cold = Arc::clone(&frozen);
    let pump = |mut from: TcpStream, mut to: Option<TcpStream>, frozen: Arc<AtomicBool>| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                if frozen.load(Ordering::SeqCst) {
                    continue;
                }
                if to.as_mut().is_some_and(|t| t.write_all(&buf[..n]).is_err()) {
                    return;
                }
            }
        });
    };
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(client) = stream else { return };
            if cold.load(Ordering::SeqCst) {
                pump(client, None, Arc::clone(&cold));
                continue;
            }
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            pump(client, Some(server), Arc::clone(&cold));
            pump(s2, Some(c2), Arc::clone(&cold));
        }
    });
    (addr, frozen)
}

#[test]
fn a_redis_store_that_hangs_after_loading_keeps_the_last_list_in_force() {
    use crate::redis_server::{available, RedisServer};
    if !available() {
        return;
    }
    let redis = RedisServer::start();
    let target: SocketAddr = redis
        .url()
        .trim_start_matches("redis://")
        .trim_end_matches("/0")
        .parse()
        .unwrap();
    let (relay, frozen) = start_freezable_relay(target);
    let key = Signer::issuer_key();
    let jwks = JwksServer::start(&json!({"keys": [key.jwk()]}));
    let dir = crate::revocation::scratch("faults-redis-hang");
    let token_file = dir.join("api-token");
    std::fs::write(&token_file, "faults-api-token").unwrap();
    let scene = scene(
        &jwks.issuer("p"),
        start_echo(),
        "",
        &format!(
            "revocation:\n  store: redis\n  redis: {{ url: 'redis://{relay}' }}\n  max_lag: 2s\n  on_unavailable: allow\n  api_token_file: '{}'\n",
            token_file.display()
        ),
    );
    scene.wait_ready();
    let revoke = |session: &str| {
        crate::revocation::admin_call(
            &scene.tg,
            "POST",
            Some(&format!(
                r#"{{"issuer": "main", "origin_jti": "{session}"}}"#
            )),
            Some("faults-api-token"),
        )
    };
    assert_eq!(revoke("s-revoked").status, 201);
    let mut claims = access_claims(&scene.iss, "alice", &[]);
    claims["origin_jti"] = json!("s-revoked");
    let revoked = key.sign(&claims);
    within(Duration::from_secs(3), "the revocation is in force", || {
        scene.tg.send(&get_with("/x", &[&bearer(&revoked)])).status == 401
    });
    let before = rss_kib(scene.tg.pid());
    let probe = Probe::start(
        scene.tg.addr,
        vec![
            (keep_alive_get("/x", &[&bearer(&scene.valid)]), 200),
            (keep_alive_get("/x", &[&bearer(&scene.forged)]), 401),
            (keep_alive_get("/x", &[&bearer(&revoked)]), 401),
        ],
    );
    // Redis hangs: past max_lag, `on_unavailable: allow` goes on with the last list.
    frozen.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let r = revoke("s-later");
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        took < Duration::from_secs(6),
        "the write gave up after {took:?}"
    );
    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    probe.finish(Duration::from_secs(2), "hanging Redis");
    assert!(
        scene.tg.metric("tokengate_revocation_sync_age_seconds") >= 2.0,
        "the list is known to be stale"
    );
    assert_memory(&scene.tg, before, 16, "hanging Redis");
}
