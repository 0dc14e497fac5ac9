//! What each hop received: the echo upstream behind a gateway (answers with the request as
//! JSON, like `tokengate demo`'s echo) and a tap between a gateway and tokengate's authz
//! listener (forwards each check unchanged). Both keep every request head they saw.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;

use crate::harness::runtime;

/// One request head as it arrived.
#[derive(Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query exactly as on the request line.
    pub path: String,
    /// Every header, name lower-cased (as hyper gives it), in arrival order.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    fn of<B>(request: &Request<B>) -> Seen {
        Seen {
            method: request.method().as_str().to_owned(),
            path: request
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (k.as_str().to_owned(), value)
                })
                .collect(),
        }
    }

    /// Every value of one header (name in lower case).
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

type Log = Arc<ArcSwap<Vec<Arc<Seen>>>>;

/// A loopback HTTP server that records every request head it is sent.
pub struct Recorder {
    pub addr: SocketAddr,
    log: Log,
}

impl Recorder {
    /// The echo upstream: answers 200 with `{"method", "path", "headers"}`.
    pub fn echo() -> Recorder {
        Recorder::serve(|request: Request<Incoming>| async move {
            let mut headers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (name, value) in request.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                headers.entry(name.as_str()).or_default().push(value);
            }
            let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let body =
                json!({"method": request.method().as_str(), "path": path, "headers": headers});
            Response::new(full(body.to_string()))
        })
    }

    /// A tap in front of `target`: each request is recorded, then forwarded unchanged and
    /// the answer streamed back (so the gateway gets tokengate's own answer).
    pub fn tap(target: SocketAddr) -> Recorder {
        let client = Client::builder(TokioExecutor::new()).build_http::<Incoming>();
        Recorder::serve(move |mut request: Request<Incoming>| {
            let client = client.clone();
            async move {
                let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
                *request.uri_mut() = format!("http://{target}{path}").parse().unwrap();
                match client.request(request).await {
                    Ok(response) => response.map(BodyExt::boxed),
                    Err(e) => {
                        let mut response = Response::new(full(format!("tap: {e}")));
                        *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                        response
                    }
                }
            }
        })
    }

    fn serve<F, Fut>(answer: F) -> Recorder
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
    {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Log = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let sink = log.clone();
        runtime().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (sink, answer) = (sink.clone(), answer.clone());
                let service = service_fn(move |request: Request<Incoming>| {
                    let seen = Arc::new(Seen::of(&request));
                    sink.rcu(|log| {
                        let mut log = Vec::clone(log);
                        log.push(seen.clone());
                        log
                    });
                    let reply = answer(request);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                tokio::spawn(
                    auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned(),
                );
            }
        });
        Recorder { addr, log }
    }

    /// How many requests have arrived so far.
    pub fn count(&self) -> usize {
        self.log.load().len()
    }

    /// The requests that arrived after the first `n`.
    pub fn since(&self, n: usize) -> Vec<Arc<Seen>> {
        self.log.load().iter().skip(n).cloned().collect()
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

fn full(text: String) -> Body {
    Full::new(Bytes::from(text))
        .map_err(|never: Infallible| match never {})
        .boxed()
}
