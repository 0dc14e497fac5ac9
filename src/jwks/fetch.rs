//! Fetching one issuer's JWKS: one GET, no redirects, `fetch_timeout` over connect, head and
//! body, `max_bytes` enforced while streaming, then `jwk::parse_jwks`. Never on a request path.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, USER_AGENT};
use http::{HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::files::Digest;
use crate::connector::{CaError, Connector};
use crate::jwks::jwk::{parse_jwks, SkippedKey, VerifyKey};

mod failure;

pub use failure::{FetchError, TlsProblem};

/// The pooled client every JWKS fetch goes through (built once).
pub type JwksClient = Client<Connector, Empty<Bytes>>;

/// The JWKS client and what it trusts besides the web PKI roots: the digest of the
/// `jwks.ca_file` bytes it was built from, which is part of every key task's id, so a
/// reload that finds other contents at the same path starts key tasks on a new client.
#[derive(Debug, Clone)]
pub struct KeyClient {
    /// The pooled client.
    pub http: JwksClient,
    /// The digest of the CA bundle `http` trusts; `None` without `jwks.ca_file`.
    pub ca: Option<Digest>,
}

/// Builds the JWKS client: web PKI roots plus `ca_file`; http allowed only because config
/// validation already restricted `http://` to loopback hosts or `allow_http`. Fails when
/// `ca_file` cannot be read or holds no usable certificate.
pub fn client(connect_timeout: Duration, ca_file: Option<&Path>) -> Result<KeyClient, CaError> {
    let (connector, ca) = match ca_file {
        Some(path) => {
            let (connector, digest) =
                crate::connector::https_with_ca_digest(connect_timeout, path)?;
            (connector, Some(digest))
        }
        None => (crate::connector::https(connect_timeout), None),
    };
    let http = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector);
    Ok(KeyClient { http, ca })
}

/// Fetches and parses one JWKS document within `timeout`, refusing more than `max_bytes`.
/// Every failure is a [`FetchError`] fact naming its cause.
pub async fn fetch(
    client: &JwksClient,
    uri: &Uri,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, FetchError> {
    let body = fetch_bytes(client, uri, timeout, max_bytes, "application/json").await?;
    // Parsing a large set (thousands of RSA keys fit in `max_bytes`) takes a while: off the
    // runtime's workers, so requests on them never wait for it.
    let document = body.clone();
    let (keys, skipped) = tokio::task::spawn_blocking(move || parse_jwks(&document))
        .await
        .map_err(|_| FetchError::Parse)?
        .map_err(FetchError::Invalid)?;
    Ok(Fetched {
        keys,
        skipped,
        body,
    })
}

/// A good key set and the document it came from (kept for `cache_dir`).
#[derive(Debug)]
pub struct Fetched {
    /// The usable keys (at least one).
    pub keys: Vec<VerifyKey>,
    /// The keys left out, with why (logged by the key task).
    pub skipped: Vec<SkippedKey>,
    /// The document as received.
    pub body: Bytes,
}

/// One GET of `uri` asking for `accept`, within `timeout` (connect, head and body), no
/// redirects, refusing more than `max_bytes`: the body as received. Shared by the JWKS fetch
/// and the ALB key fetch (`jwks::alb`), so both fail with the same [`FetchError`] facts.
pub async fn fetch_bytes(
    client: &JwksClient,
    uri: &Uri,
    timeout: Duration,
    max_bytes: usize,
    accept: &'static str,
) -> Result<Bytes, FetchError> {
    match tokio::time::timeout(timeout, fetch_body(client, uri, max_bytes, accept)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout { after: timeout }),
    }
}

async fn fetch_body(
    client: &JwksClient,
    uri: &Uri,
    max_bytes: usize,
    accept: &'static str,
) -> Result<Bytes, FetchError> {
    let request = Request::get(uri.clone())
        .header(ACCEPT, HeaderValue::from_static(accept))
        .header(
            USER_AGENT,
            HeaderValue::from_static(concat!("tokengate/", env!("CARGO_PKG_VERSION"))),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|_| FetchError::Request)?;
    let response = client
        .request(request)
        .await
        .map_err(|e| FetchError::of_request(&e))?;
    if response.status() != StatusCode::OK {
        return Err(FetchError::HttpStatus {
            status: response.status().as_u16(),
        });
    }
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    let limited = Limited::new(response.into_body(), max_bytes);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(FetchError::TooLarge { limit: max_bytes })
        }
        Err(_) => Err(FetchError::Body),
    }
}
