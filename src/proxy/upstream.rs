//! The one pooled upstream client, built at start-up: the upstream URI for a request, and
//! sending with `connect_timeout` (-> 502) and `timeout` until the response head (-> 504).
//! A downstream HTTP/1 connection also gets its own upstream connection ([`Dedicated`]),
//! driven by its own task, from its second request on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tower_service::Service;

use crate::config::UpstreamConfig;
use crate::connector::Connector;
use crate::proxy::body::Counted;

/// The pooled client every upstream request goes through; the request body is counted for
/// the access log's `bytes_in`.
pub type UpstreamClient = Client<Connector, Counted<Incoming>>;

/// Why the upstream phase produced no response head; `error.rs` maps `Connect` and
/// `BadUri` to 502 and `Timeout` to 504.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("path and query do not form a valid upstream URI")]
    BadUri,
    #[error("could not connect or send the request")]
    Connect,
    #[error("no response head within {after:?}")]
    Timeout { after: Duration },
}

/// The upstream of proxy mode: where requests go and how long they may take.
#[derive(Debug)]
pub struct Upstream {
    /// Tells this upstream from the one of another snapshot (a reload may change the URL):
    /// a [`Dedicated`] connection is used only by the upstream that opened it.
    id: u64,
    client: UpstreamClient,
    /// The pooled client's connector (connect timeout, no Nagle delay, DNS), which also
    /// opens [`Dedicated`] connections.
    connector: Connector,
    scheme: Scheme,
    authority: Authority,
    /// The `Host` of an HTTP/1.1 request that named no host (HTTP/1.0); [`default_host`].
    default_host: Option<HeaderValue>,
    /// Prepended to every path; "" or "/prefix" without a trailing slash.
    prefix: String,
    timeout: Duration,
    http2: bool,
    /// Plain `http` and HTTP/1.1: [`Dedicated`] connections may be used.
    dedicated: bool,
}

/// Numbers `Upstream`s for [`Upstream::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The upstream connector; a CA bundle that became unreadable since validation is logged
/// and the web PKI roots alone are used (so such an upstream fails with 502, never opens).
fn connector(config: &UpstreamConfig) -> crate::connector::Connector {
    match &config.ca_file {
        Some(path) => crate::connector::https_with_ca(config.connect_timeout, path)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "upstream.ca_file unusable; trusting web PKI roots only");
                crate::connector::https(config.connect_timeout)
            }),
        None => crate::connector::https(config.connect_timeout),
    }
}

/// The `Host` hyper's pooled client writes for a request without one: the upstream's host,
/// with its port only when that is not the scheme's default (`http://app:80` -> `app`).
fn default_host(scheme: &Scheme, authority: &Authority) -> Option<HeaderValue> {
    let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
    let host = match authority.port_u16() {
        Some(port) if port != default_port => format!("{}:{port}", authority.host()),
        _ => authority.host().to_owned(),
    };
    HeaderValue::from_str(&host).ok()
}

impl Upstream {
    /// The client and target for a validated `upstream` section; built once per snapshot.
    pub fn new(config: &UpstreamConfig) -> Upstream {
        let connector = connector(config);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .http2_only(config.http2)
            .build(connector.clone());
        let scheme = config.url.scheme().cloned().unwrap_or(Scheme::HTTP);
        // Validation guarantees an authority; an empty one fails every request with 502.
        let authority = config
            .url
            .authority()
            .cloned()
            .unwrap_or_else(|| Authority::from_static("invalid.invalid"));
        Upstream {
            default_host: default_host(&scheme, &authority),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            client,
            connector,
            dedicated: scheme == Scheme::HTTP && !config.http2,
            scheme,
            authority,
            prefix: config.path_prefix().to_owned(),
            timeout: config.timeout,
            http2: config.http2,
        }
    }

    /// Whether requests go to the upstream over HTTP/2 (`upstream.http2`).
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// The upstream URI for a normalized path and the query to forward.
    pub fn uri(&self, path: &str, query: Option<&str>) -> Result<Uri, UpstreamError> {
        let mut pq = String::with_capacity(
            self.prefix.len() + path.len() + query.map_or(0, |q| q.len() + 1),
        );
        pq.push_str(&self.prefix);
        pq.push_str(path);
        if let Some(q) = query {
            pq.push('?');
            pq.push_str(q);
        }
        let pq = PathAndQuery::try_from(pq).map_err(|_| UpstreamError::BadUri)?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|_| UpstreamError::BadUri)
    }

    /// Sends the request; the response body streams back to the caller. `timeout` bounds
    /// the wait for the response head, not the body. With `dedicated` (the downstream
    /// HTTP/1 connection's own, for a request that is no upgrade), a plain-http HTTP/1.1
    /// upstream is reached over that connection; anything it could not send goes through
    /// the pooled client.
    pub async fn send(
        &self,
        mut request: Request<Counted<Incoming>>,
        dedicated: Option<&Dedicated>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        if self.http2 {
            *request.version_mut() = Version::HTTP_2;
        } else {
            *request.version_mut() = Version::HTTP_11;
            // A request that named no host (HTTP/1.0) gets the upstream's authority, which
            // hyper's pooled client would add itself: the same head on both paths.
            if let (false, Some(host)) = (request.headers().contains_key(HOST), &self.default_host)
            {
                request.headers_mut().insert(HOST, host.clone());
            }
        }
        let sent = async {
            let request = match dedicated.filter(|_| self.dedicated) {
                Some(dedicated) => match self.send_dedicated(dedicated, request).await {
                    Ok(response) => return Ok(response),
                    Err(Unsent::Failed) => return Err(UpstreamError::Connect),
                    Err(Unsent::Back(request)) => *request,
                },
                None => request,
            };
            self.client.request(request).await.map_err(|e| {
                tracing::debug!(error = %e, connect = e.is_connect(), "upstream request failed");
                UpstreamError::Connect
            })
        };
        match tokio::time::timeout(self.timeout, sent).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout {
                after: self.timeout,
            }),
        }
    }

    /// The request over the downstream connection's own upstream connection, opened when
    /// there is none (or the one there closed). `Unsent::Back` returns a request that was
    /// not written: the first of a downstream connection (so that one request per connection
    /// never costs a connect), or one the connection was not ready for.
    async fn send_dedicated(
        &self,
        dedicated: &Dedicated,
        mut request: Request<Counted<Incoming>>,
    ) -> Result<Response<Incoming>, Unsent> {
        let sender = {
            // Never contended: the connection's one task makes its requests one at a time.
            let Ok(mut state) = dedicated.state.try_lock() else {
                return Err(Unsent::Back(Box::new(request)));
            };
            state.requests += 1;
            if state.requests < 2 {
                return Err(Unsent::Back(Box::new(request)));
            }
            if state.owner != self.id {
                state.sender = None;
                state.connection = None;
                state.owner = self.id;
            }
            match state.sender.take() {
                Some(sender) if sender.is_ready() => Some(sender),
                // Still busy (a response body not read to its end): leave it be.
                Some(sender) if !sender.is_closed() => {
                    state.sender = Some(sender);
                    return Err(Unsent::Back(Box::new(request)));
                }
                _ => None,
            }
        };
        let mut sender = match sender {
            Some(sender) => sender,
            None => self.connect(dedicated, request.uri().clone()).await?,
        };
        // hyper's HTTP/1 client writes the URI as given: origin-form (`/path?query`).
        let absolute = std::mem::take(request.uri_mut());
        if let Some(pq) = absolute.path_and_query() {
            *request.uri_mut() = Uri::from(pq.clone());
        }
        match sender.try_send_request(request).await {
            Ok(response) => {
                if let Ok(mut state) = dedicated.state.try_lock() {
                    if state.owner == self.id && state.sender.is_none() {
                        state.sender = Some(sender);
                    }
                }
                Ok(response)
            }
            Err(mut e) => match e.take_message() {
                Some(mut request) => {
                    *request.uri_mut() = absolute;
                    Err(Unsent::Back(Box::new(request)))
                }
                None => {
                    tracing::debug!(error = %e.error(), "upstream request failed");
                    Err(Unsent::Failed)
                }
            },
        }
    }

    /// Opens the downstream connection's own upstream connection to `uri`'s authority
    /// through the pooled client's connector (`connect_timeout`, no Nagle delay) and hands
    /// it to the connection's task to drive.
    async fn connect(
        &self,
        dedicated: &Dedicated,
        uri: Uri,
    ) -> Result<http1::SendRequest<Counted<Incoming>>, Unsent> {
        let io = self.connector.clone().call(uri).await.map_err(|e| {
            tracing::debug!(error = %e, "upstream connect failed");
            Unsent::Failed
        })?;
        let (sender, connection) = http1::handshake(io).await.map_err(|_| Unsent::Failed)?;
        let Ok(mut state) = dedicated.state.try_lock() else {
            return Err(Unsent::Failed);
        };
        state.connection = Some(Box::pin(connection));
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        Ok(sender)
    }
}

/// Why [`Upstream::send_dedicated`] gave no response.
enum Unsent {
    /// Not written: the pooled client may send it (boxed: a cold path).
    Back(Box<Request<Counted<Incoming>>>),
    /// Connecting failed, or the request was written and no response came (502).
    Failed,
}

type DedicatedConnection =
    http1::Connection<MaybeHttpsStream<TokioIo<TcpStream>>, Counted<Incoming>>;

/// A downstream HTTP/1 connection's own upstream connection: requests on it skip the
/// pooled client's checkout and the hand-off to a connection task, since the downstream
/// connection's task drives this one too ([`Dedicated::poll_drive`]). Dropped (and so
/// closed) with the downstream connection.
#[derive(Default)]
pub struct Dedicated {
    state: Mutex<State>,
}

impl std::fmt::Debug for Dedicated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedicated").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// Requests of the downstream connection that asked for it.
    requests: u64,
    /// The [`Upstream::id`] that `sender` and `connection` belong to.
    owner: u64,
    sender: Option<http1::SendRequest<Counted<Incoming>>>,
    connection: Option<Pin<Box<DedicatedConnection>>>,
    /// The driving task, woken when a connection is put here.
    waker: Option<Waker>,
}

impl Dedicated {
    /// Drives the upstream connection (reads, writes, its end); never ready. Called by the
    /// downstream connection's task beside the downstream connection.
    pub fn poll_drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Ok(mut state) = self.state.try_lock() else {
            // Only another thread's request could hold it, for an instant: look again.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if let Some(connection) = state.connection.as_mut() {
            if let Poll::Ready(result) = connection.as_mut().poll(cx) {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "upstream connection ended with an error");
                }
                state.connection = None;
                state.sender = None;
            }
        }
        if state.connection.is_none()
            && !state
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_host_is_what_the_pooled_client_writes() {
        let host = |scheme: Scheme, authority: &'static str| {
            default_host(&scheme, &Authority::from_static(authority))
        };
        assert_eq!(host(Scheme::HTTP, "app:80").unwrap(), "app");
        assert_eq!(host(Scheme::HTTP, "app:3000").unwrap(), "app:3000");
        assert_eq!(host(Scheme::HTTP, "app").unwrap(), "app");
        assert_eq!(host(Scheme::HTTPS, "app:443").unwrap(), "app");
        assert_eq!(host(Scheme::HTTPS, "app:80").unwrap(), "app:80");
        assert_eq!(host(Scheme::HTTP, "[::1]:8080").unwrap(), "[::1]:8080");
    }
}
