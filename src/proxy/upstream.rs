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
use crate::error::Reject;

pub type UpstreamClient = Client<Connector, Incoming>;

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

    /// The upstream URI for a normalized path and the query to forward.
    pub fn uri(&self, path: &str, query: Option<&str>) -> Result<Uri, Reject> {
        let mut pq = String::with_capacity(
            self.prefix.len() + path.len() + query.map_or(0, |q| q.len() + 1),
        );
        pq.push_str(&self.prefix);
        pq.push_str(path);
        if let Some(q) = query {
            pq.push('?');
            pq.push_str(q);
        }
        let pq = PathAndQuery::try_from(pq).map_err(|_| Reject::BadGateway)?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|_| Reject::BadGateway)
    }

    /// Sends the request; the response body streams back to the caller.
    pub async fn send(&self, mut request: Request<Incoming>) -> Result<Response<Incoming>, Reject> {
        *request.version_mut() = if self.http2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, connect = e.is_connect(), "upstream request failed");
                Err(Reject::BadGateway)
            }
            Err(_) => Err(Reject::GatewayTimeout),
        }
    }
}
