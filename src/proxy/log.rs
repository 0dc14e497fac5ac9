//! The closing phase of every request: one access-log line with api, method, path (never
//! the query), status, outcome, reason, sub, issuer, route, duration, the request and trace
//! ids, the client, the upstream's status and the bytes each way. Never a token or cookie.
//! A proxied response's line is written when its body has been sent (or dropped), so
//! `bytes_out` is what went out; nothing on the way locks or allocates beyond the line.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Version};
use http_body::{Body, Frame, SizeHint};

use crate::app::Snapshot;
use crate::metrics::{Api, NO_ROUTE_LABEL};
use crate::outcome::Outcome;
use crate::proxy::trace::RequestTrace;

/// The longest `user_agent` logged, in bytes.
const MAX_USER_AGENT: usize = 256;

/// What the phases learned, filled in as they run.
#[derive(Debug)]
pub struct AccessLog {
    /// proxy, http (authz mode) or grpc (Envoy ext_authz Check): the `api` log field.
    pub api: Api,
    pub method: Method,
    /// The path as received, without the query (a query may carry a token).
    pub path: String,
    pub status: u16,
    pub outcome: Outcome,
    pub reason: &'static str,
    pub sub: Option<String>,
    pub issuer: Option<usize>,
    pub route: Option<usize>,
    /// The request id and trace context.
    pub trace: RequestTrace,
    /// The TCP peer; `None` for an ext_authz gRPC check (its client is Envoy).
    pub client_ip: Option<IpAddr>,
    /// Whether the request came over TLS.
    pub tls: bool,
    /// The request's HTTP version.
    pub http_version: Version,
    /// The `User-Agent` as received (shortened and screened when logged).
    pub user_agent: Option<HeaderValue>,
    /// The upstream's response status; `None` when nothing was forwarded or none answered.
    pub upstream_status: Option<u16>,
    /// Request body bytes the upstream read; `None` when nothing was forwarded.
    pub bytes_in: Option<Arc<AtomicU64>>,
}

impl AccessLog {
    pub fn new(method: &Method, path: &str, trace: RequestTrace) -> AccessLog {
        AccessLog {
            api: Api::Proxy,
            method: method.clone(),
            path: path.to_owned(),
            status: 0,
            outcome: Outcome::Allowed,
            reason: "",
            sub: None,
            issuer: None,
            route: None,
            trace,
            client_ip: None,
            tls: false,
            http_version: Version::HTTP_11,
            user_agent: None,
            upstream_status: None,
            bytes_in: None,
        }
    }

    /// Writes the line; `elapsed` runs to the response head, `bytes_out` counts the
    /// response body sent.
    pub fn emit(&self, snapshot: &Snapshot, elapsed: Duration, bytes_out: u64) {
        let route = self
            .route
            .and_then(|i| snapshot.config.routes.get(i))
            .map_or(NO_ROUTE_LABEL, |r| r.name.as_str());
        let issuer = self
            .issuer
            .and_then(|i| snapshot.config.issuers.get(i))
            .map_or("", |i| i.name.as_str());
        let bytes_in = self
            .bytes_in
            .as_ref()
            .map_or(0, |n| n.load(Ordering::Relaxed));
        tracing::info!(
            target: "access",
            api = self.api.as_str(),
            method = %self.method,
            path = %self.path,
            status = self.status,
            outcome = self.outcome.as_str(),
            reason = self.reason,
            sub = self.sub.as_deref().unwrap_or(""),
            issuer,
            route,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            request_id = self.trace.request_id_str(),
            trace_id = %self.trace.trace_id_hex(),
            span_id = %self.trace.span_id_hex(),
            client_ip = %self.client_ip.map_or_else(String::new, |ip| ip.to_canonical().to_string()),
            user_agent = user_agent(self.user_agent.as_ref()),
            upstream_status = self.upstream_status.unwrap_or(0),
            bytes_in,
            bytes_out,
            tls = self.tls,
            http_version = version(self.http_version),
            "request"
        );
    }
}

/// The `User-Agent` as logged: at most `MAX_USER_AGENT` bytes of visible ASCII; "" when
/// absent or not ASCII; `[redacted]` when it holds what looks like a JWT (`eyJ`, the
/// base64url of `{"`), since a token source may name any header.
fn user_agent(value: Option<&HeaderValue>) -> &str {
    let Some(text) = value.and_then(|v| v.to_str().ok()) else {
        return "";
    };
    if text.contains("eyJ") {
        return "[redacted]";
    }
    // `to_str` admits visible ASCII only, so any byte index is a char boundary.
    text.get(..MAX_USER_AGENT.min(text.len())).unwrap_or("")
}

/// The request's HTTP version as logged.
fn version(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "other",
    }
}

/// What the line of a response still being sent needs.
#[derive(Debug)]
struct Pending {
    log: AccessLog,
    snapshot: Arc<Snapshot>,
    elapsed: Duration,
}

/// A response body that counts what it sends and writes the access-log line when it is
/// done: at its end, or when dropped early (the client went away).
#[derive(Debug)]
pub struct Logged<B> {
    body: B,
    sent: u64,
    pending: Option<Pending>,
}

impl<B> Logged<B> {
    /// `body`, logged as `log` when it is done; `None`: no access log.
    pub fn new(body: B, log: Option<(AccessLog, Arc<Snapshot>)>, elapsed: Duration) -> Logged<B> {
        Logged {
            body,
            sent: 0,
            pending: log.map(|(log, snapshot)| Pending {
                log,
                snapshot,
                elapsed,
            }),
        }
    }

    fn finish(&mut self) {
        if let Some(p) = self.pending.take() {
            p.log.emit(&p.snapshot, p.elapsed, self.sent);
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Logged<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for Logged<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_shortened_and_tokens_never_logged() {
        assert_eq!(user_agent(None), "");
        let curl = HeaderValue::from_static("curl/8.5.0");
        assert_eq!(user_agent(Some(&curl)), "curl/8.5.0");
        let long = HeaderValue::from_str(&"a".repeat(1000)).unwrap_or(curl.clone());
        assert_eq!(user_agent(Some(&long)).len(), MAX_USER_AGENT);
        let token = HeaderValue::from_static("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
        assert_eq!(user_agent(Some(&token)), "[redacted]");
        let opaque = HeaderValue::from_bytes(b"caf\xe9").unwrap_or(curl);
        assert_eq!(user_agent(Some(&opaque)), "");
    }
}
