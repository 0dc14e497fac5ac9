//! Test harness: runs the real `tokengate` binary on loopback against a real JWKS HTTP server
//! and a real echo upstream, and talks to it with raw HTTP/1.1 over TCP (so hostile request
//! lines reach it exactly as written). Every child process is killed by its PID on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokengate::dev_issuer::DevKey;

/// The shipped configuration schema: every configuration `Tokengate::start` runs is checked
/// against it, so each scenario's configuration is also a case of "the schema accepts what
/// tokengate accepts".
#[path = "schema.rs"]
pub mod schema;

// Not every test binary that includes the harness forges a token segment.
#[allow(unused_imports)]
pub use tokengate::dev_issuer::b64url as b64;

pub const BIN: &str = env!("CARGO_BIN_EXE_tokengate");
pub const CLIENT: &str = "test-client";

/// The shared tokio runtime the in-process servers run on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// From `support/ports.rs`, which every test crate using this harness declares at its root.
pub use crate::ports::free_port;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fixture signing key with its kid; the signing is `tokengate::dev_issuer::DevKey`'s,
/// and a failure panics the test.
pub struct Signer(DevKey);

impl Signer {
    pub fn issuer_key() -> Signer {
        Signer::from_pem("k1", include_str!("../fixtures/keys/issuer-rsa2048.pem"))
    }
    pub fn attacker_key() -> Signer {
        Signer::from_pem("k1", include_str!("../fixtures/keys/attacker-rsa2048.pem"))
    }
    pub fn from_pem(kid: &str, pem: &str) -> Signer {
        Signer(DevKey::from_pem(kid, pem).unwrap())
    }
    pub fn jwk(&self) -> Value {
        self.0.jwk()
    }
    pub fn sign(&self, claims: &Value) -> String {
        self.0.sign(claims).unwrap()
    }
}

/// Cognito-shaped access token claims.
pub fn access_claims(iss: &str, user: &str, groups: &[&str]) -> Value {
    let now = now();
    json!({"sub": format!("sub-{user}"), "iss": iss, "token_use": "access", "client_id": CLIENT,
        "username": user, "scope": "openid orders/read", "cognito:groups": groups,
        "exp": now + 3600, "iat": now, "auth_time": now, "jti": "j1", "origin_jti": "o1"})
}

/// Cognito-shaped ID token claims.
pub fn id_claims(iss: &str, user: &str) -> Value {
    let now = now();
    json!({"sub": format!("sub-{user}"), "iss": iss, "token_use": "id", "aud": CLIENT,
        "cognito:username": user, "email": format!("{user}@example.com"), "email_verified": true,
        "exp": now + 3600, "iat": now, "auth_time": now, "jti": "j2", "origin_jti": "o2"})
}

/// A JWKS endpoint whose body and status a test can change; counts fetches.
pub struct JwksServer {
    pub addr: SocketAddr,
    pub fetches: Arc<AtomicUsize>,
    pub body: Arc<ArcSwap<Bytes>>,
    pub status: Arc<AtomicU16>,
}

impl JwksServer {
    pub fn start(jwks: &Value) -> JwksServer {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let fetches = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(ArcSwap::from_pointee(Bytes::from(jwks.to_string())));
        let status = Arc::new(AtomicU16::new(200));
        let (f, b, s) = (fetches.clone(), body.clone(), status.clone());
        runtime().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (f, b, s) = (f.clone(), b.clone(), s.clone());
                let service = service_fn(move |_req| {
                    f.fetch_add(1, Ordering::SeqCst);
                    let mut resp = hyper::Response::new(Full::new(Bytes::clone(&b.load())));
                    *resp.status_mut() =
                        hyper::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
                    async move { Ok::<_, Infallible>(resp) }
                });
                tokio::spawn(
                    auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned(),
                );
            }
        });
        JwksServer {
            addr,
            fetches,
            body,
            status,
        }
    }

    /// The issuer URL of a pool served here.
    pub fn issuer(&self, pool: &str) -> String {
        format!("http://{}/{pool}", self.addr)
    }

    pub fn fetch_count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// An ALB key server (reference section 9): `GET /{kid}` answers the PEM stored for that kid,
/// else 404; `garbage` kids answer 200 with that body, `hang` makes every answer wait 30 s.
/// Counts requests.
pub struct AlbKeyServer {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub bodies: Arc<ArcSwap<BTreeMap<String, Bytes>>>,
    pub hang: Arc<std::sync::atomic::AtomicBool>,
}

impl AlbKeyServer {
    pub fn start() -> AlbKeyServer {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let bodies: Arc<ArcSwap<BTreeMap<String, Bytes>>> = Arc::default();
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, b, g) = (hits.clone(), bodies.clone(), hang.clone());
        runtime().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (h, b, g) = (h.clone(), b.clone(), g.clone());
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    h.fetch_add(1, Ordering::SeqCst);
                    let kid = req.uri().path().trim_start_matches('/').to_owned();
                    let found = b.load().get(&kid).cloned();
                    let hang = g.load(Ordering::SeqCst);
                    async move {
                        if hang {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                        let mut resp =
                            hyper::Response::new(Full::new(found.clone().unwrap_or_else(|| {
                                Bytes::from_static(b"<Error>AccessDenied</Error>")
                            })));
                        if found.is_none() {
                            *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                tokio::spawn(
                    auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned(),
                );
            }
        });
        AlbKeyServer {
            addr,
            hits,
            bodies,
            hang,
        }
    }

    /// Serves `body` at `/{kid}` from now on.
    pub fn put(&self, kid: &str, body: impl Into<Bytes>) {
        let mut map = (**self.bodies.load()).clone();
        map.insert(kid.to_owned(), body.into());
        self.bodies.store(Arc::new(map));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hit_count(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The echo upstream (tokengate's own demo upstream: method, path, headers as JSON).
pub fn start_echo() -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tokengate::cmd::demo::serve_echo(listener).await;
    });
    addr
}

/// A slow upstream: accepts, waits, answers 200.
pub fn start_slow_upstream(delay: Duration) -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let service = service_fn(move |_req| async move {
                tokio::time::sleep(delay).await;
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"late"))))
            });
            tokio::spawn(
                auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned(),
            );
        }
    });
    addr
}

/// A streaming upstream: answers 200 with `chunks` body chunks (`chunk-0\n`, ...), one every
/// `interval`, so a response stays in flight for `chunks * interval`.
pub fn start_streaming_upstream(chunks: usize, interval: Duration) -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime().spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            let service = service_fn(move |_req| async move {
                let frames = futures_util::stream::unfold(0usize, move |i| async move {
                    if i == chunks {
                        return None;
                    }
                    if i > 0 {
                        tokio::time::sleep(interval).await;
                    }
                    let frame = hyper::body::Frame::data(Bytes::from(format!("chunk-{i}\n")));
                    Some((Ok::<_, Infallible>(frame), i + 1))
                });
                Ok::<_, Infallible>(hyper::Response::new(http_body_util::StreamBody::new(
                    frames,
                )))
            });
            tokio::spawn(
                auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned(),
            );
        }
    });
    addr
}

/// Polls `check` every 25 ms until it holds and returns how long that took; panics naming
/// `what` once `limit` has passed (reloads, refetches and replication are asynchronous).
pub fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = tokio::time::Instant::now();
    while started.elapsed() < limit {
        if check() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("not within {limit:?}: {what}");
}

/// A running tokengate child process.
pub struct Tokengate {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub log: PathBuf,
    pub config: PathBuf,
    child: Child,
}

impl Tokengate {
    /// Writes `config` (with `LISTEN` and `ADMIN` replaced; the shipped configuration schema
    /// must accept it) and starts `tokengate run`. Waits until `/healthz` answers; with `ready`, until `/readyz` is 200.
    pub fn start(config: &str, ready: bool) -> Tokengate {
        Tokengate::start_laid_out(config, ready, |dir, text| {
            let path = dir.join("tokengate.yaml");
            std::fs::write(&path, text).unwrap();
            path
        })
    }

    /// Like `start`, with the config file written by `lay_out(dir, text)` (a Kubernetes-style
    /// symlinked mount, say) in a fresh directory; it returns the path tokengate is given.
    pub fn start_laid_out(
        config: &str,
        ready: bool,
        lay_out: impl FnOnce(&std::path::Path, &str) -> PathBuf,
    ) -> Tokengate {
        Tokengate::launch(config, ready, lay_out, None)
    }

    /// Like `start`, with the process allowed onto CPU 0 only (`taskset -c 0`, which execs
    /// tokengate: the pid is tokengate's), as a sidecar limited to one CPU runs.
    pub fn start_on_one_cpu(config: &str, ready: bool) -> Tokengate {
        let lay_out = |dir: &std::path::Path, text: &str| {
            let path = dir.join("tokengate.yaml");
            std::fs::write(&path, text).unwrap();
            path
        };
        Tokengate::launch(config, ready, lay_out, Some("0"))
    }

    fn launch(
        config: &str,
        ready: bool,
        lay_out: impl FnOnce(&std::path::Path, &str) -> PathBuf,
        cpus: Option<&str>,
    ) -> Tokengate {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = config
            .replace("LISTEN", &addr.to_string())
            .replace("ADMIN", &admin.to_string());
        schema::assert_accepts(&text, "the configuration this test runs tokengate with");
        let dir = std::env::temp_dir().join(format!(
            "tokengate-test-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config_path = lay_out(&dir, &text);
        let log = dir.join("output.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut command = match cpus {
            Some(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", cpus, BIN]);
                taskset
            }
            None => Command::new(BIN),
        };
        let child = command
            .args(["run", "--config"])
            .arg(&config_path)
            .env_remove("RUST_LOG")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let tg = Tokengate {
            addr,
            admin,
            log,
            config: config_path,
            child,
        };
        let path = if ready { "/readyz" } else { "/healthz" };
        for _ in 0..200 {
            if let Ok(r) = try_request(admin, &get(path)) {
                if r.status == 200 {
                    return tg;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tokengate did not become ready: {}", tg.output());
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`-HUP`, `-TERM`) to the process, by its PID.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([name, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill {name} failed");
    }

    /// `config` with `LISTEN` and `ADMIN` replaced as at start.
    pub fn fill(&self, config: &str) -> String {
        config
            .replace("LISTEN", &self.addr.to_string())
            .replace("ADMIN", &self.admin.to_string())
    }

    /// Replaces the config file (with `LISTEN` and `ADMIN` replaced as at start).
    pub fn rewrite_config(&self, config: &str) {
        let text = self.fill(config);
        let tmp = self.config.with_extension("yaml.new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.config).unwrap();
    }

    /// One sample of a metric family (`name{labels}`) from `/metrics`, or 0.
    pub fn metric(&self, series: &str) -> f64 {
        let body = String::from_utf8(self.admin_get("/metrics").body).unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    /// The sum of every series whose text starts with `prefix` (e.g. all `trigger` values of
    /// `tokengate_jwks_fetches_total{issuer="main",result="ok"`).
    pub fn metric_sum(&self, prefix: &str) -> f64 {
        let body = String::from_utf8(self.admin_get("/metrics").body).unwrap();
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    }

    /// Sends a raw request to the data plane.
    pub fn send(&self, raw: &str) -> Reply {
        try_request(self.addr, raw).unwrap()
    }

    pub fn admin_get(&self, path: &str) -> Reply {
        try_request(self.admin, &get(path)).unwrap()
    }

    /// Waits for the process to exit (after a signal); returns its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let steps = limit.as_millis() / 20;
        for _ in 0..steps {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Tokengate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain GET request line and headers, closing the connection afterwards.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n\r\n")
}

/// A GET with extra header lines (each `Name: value`).
pub fn get_with(path: &str, headers: &[&str]) -> String {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: test.local\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("Connection: close\r\n\r\n");
    r
}

pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The echo upstream's view of one request header (first value).
    pub fn upstream_header(&self, name: &str) -> Option<String> {
        self.json()["headers"][name][0].as_str().map(str::to_owned)
    }
    pub fn upstream_saw(&self, name: &str) -> bool {
        !self.json()["headers"][name].is_null()
    }
}

pub fn try_request(addr: SocketAddr, raw: &str) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(raw.as_bytes())?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    parse_reply(&buf)
}

fn parse_reply(buf: &[u8]) -> std::io::Result<Reply> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response");
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers
                .entry(k.trim().to_ascii_lowercase())
                .or_default()
                .push(v.trim().to_owned());
        }
    }
    let raw_body = &buf[end + 4..];
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.iter().any(|x| x.contains("chunked")));
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size_line = std::str::from_utf8(&data[..pos]).unwrap_or("0");
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// An HTTP/1.1 upstream that records every request head exactly as it arrived on the wire
/// (request line and header lines, up to the blank line) and answers `200 ok`, closing the
/// connection. Heads arrive on the returned channel.
pub fn start_raw_recorder() -> (SocketAddr, std::sync::mpsc::Receiver<Vec<u8>>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                head.truncate(end + 2);
                let _ = tx.send(head);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    (addr, rx)
}

/// The header lines of a recorded head (`name: value`, as sent), without the request line.
pub fn head_lines(head: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An answer to an h2c request: status and body.
pub struct H2Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl H2Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/2 request with prior knowledge (h2c) to `addr`. `uri` is absolute
/// (`http://a.example/x`): its authority becomes `:authority` as written (userinfo too).
/// `headers` are sent as separate fields in order (two `cookie` entries are two fields).
pub fn h2c_request(addr: SocketAddr, method: &str, uri: &str, headers: &[(&str, &str)]) -> H2Reply {
    use http_body_util::{BodyExt, Empty};
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .body(Empty::<Bytes>::new())
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(value).unwrap(),
        );
    }
    runtime().block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let response = send.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        H2Reply {
            status,
            body: body.to_vec(),
        }
    })
}
