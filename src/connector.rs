//! The outgoing connector shared by the upstream client and JWKS fetching: TCP with a connect
//! timeout and no Nagle delay, TLS by rustls with the bundled web PKI roots, HTTP/1.1 and h2.
//! Plain http is allowed here because config validation decides where it may be used.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

pub type Connector = HttpsConnector<HttpConnector>;

pub fn https(connect_timeout: Duration) -> Connector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http)
}
