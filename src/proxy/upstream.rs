//! The one pooled upstream client, built at start-up: the upstream URI for a request, and
//! sending with `connect_timeout` (-> 502) and `timeout` until the response head (-> 504).

use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

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
    client: UpstreamClient,
    scheme: Scheme,
    authority: Authority,
    /// Prepended to every path; "" or "/prefix" without a trailing slash.
    prefix: String,
    timeout: Duration,
    http2: bool,
}

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

impl Upstream {
    /// The client and target for a validated `upstream` section; built once per snapshot.
    pub fn new(config: &UpstreamConfig) -> Upstream {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .http2_only(config.http2)
            .build(connector(config));
        Upstream {
            client,
            scheme: config.url.scheme().cloned().unwrap_or(Scheme::HTTP),
            // Validation guarantees an authority; an empty one fails every request with 502.
            authority: config
                .url
                .authority()
                .cloned()
                .unwrap_or_else(|| Authority::from_static("invalid.invalid")),
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
    /// the wait for the response head, not the body.
    pub async fn send(
        &self,
        mut request: Request<Counted<Incoming>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        *request.version_mut() = if self.http2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, connect = e.is_connect(), "upstream request failed");
                Err(UpstreamError::Connect)
            }
            Err(_) => Err(UpstreamError::Timeout {
                after: self.timeout,
            }),
        }
    }
}
