//! Connections to Redis: TCP, then for `rediss://` our own rustls (aws-lc) handshake trusting
//! the web PKI roots plus `ca_file`, then redis-rs's multiplexed connection over that stream,
//! all bounded by the connect timeout; and the failure facts every caller reports.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::connector::{read_ca_file, CaError};
use crate::revocation::redis::settings::{Endpoint, RedisSettings, UrlError};

/// What the store was doing when Redis failed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Write,
    Load,
    Read,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::Write => "write",
            Step::Load => "load",
            Step::Read => "read",
        })
    }
}

/// Why a Redis call failed. None of these carries the URL or its credentials.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{step}: no answer within {after:?}")]
    Timeout { step: Step, after: Duration },
    #[error("connect: {source}")]
    Connect { source: std::io::Error },
    #[error("TLS handshake: {source}")]
    Tls { source: std::io::Error },
    #[error("{step}: {source}")]
    Redis {
        step: Step,
        source: redis::RedisError,
    },
    #[error("{step}: unexpected reply")]
    Reply { step: Step },
}

impl Failure {
    /// Whether a kept connection turned out closed or broken (not slow): worth one retry
    /// on a new connection.
    pub fn is_dropped_connection(&self) -> bool {
        match self {
            Failure::Redis { source, .. } => source.is_connection_dropped() || source.is_io_error(),
            _ => false,
        }
    }

    pub fn redis(step: Step) -> impl FnOnce(redis::RedisError) -> Failure {
        move |source| Failure::Redis { step, source }
    }
}

/// Why the store cannot be built from its settings (config validation reports these too).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("revocation.redis.url: {0}")]
    Url(#[from] UrlError),
    #[error("revocation.redis.ca_file: {0}")]
    Ca(#[from] CaError),
    #[error("revocation.redis.ca_file applies to rediss:// URLs only")]
    CaWithoutTls,
    #[error("revocation.redis.url: the host is not a valid TLS server name")]
    ServerName,
}

/// Opens connections to one endpoint.
pub struct Connector {
    endpoint: Endpoint,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
}

impl Connector {
    /// A connector for the settings' URL; for TLS, trusting the web PKI roots and
    /// `ca_file`. `timeout` bounds each connection attempt (TCP, TLS, sign-in).
    pub fn new(settings: &RedisSettings) -> Result<Connector, SetupError> {
        let endpoint = Endpoint::parse(&settings.url)?;
        let tls = match (endpoint.tls, settings.ca_file.as_deref()) {
            (false, Some(_)) => return Err(SetupError::CaWithoutTls),
            (false, None) => None,
            (true, ca_file) => Some((
                TlsConnector::from(Arc::new(tls_config(ca_file)?)),
                ServerName::try_from(endpoint.host.clone()).map_err(|_| SetupError::ServerName)?,
            )),
        };
        Ok(Connector {
            endpoint,
            tls,
            timeout: settings.timeout,
        })
    }

    /// A new signed-in connection whose commands time out after `response_timeout`.
    pub async fn connect(
        &self,
        response_timeout: Duration,
    ) -> Result<MultiplexedConnection, Failure> {
        tokio::time::timeout(self.timeout, self.open(response_timeout))
            .await
            .map_err(|_| Failure::Timeout {
                step: Step::Connect,
                after: self.timeout,
            })?
    }

    async fn open(&self, response_timeout: Duration) -> Result<MultiplexedConnection, Failure> {
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|source| Failure::Connect { source })?;
        let _ = tcp.set_nodelay(true);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(Some(response_timeout));
        let info = &self.endpoint.redis;
        // The driver task ends when the last handle of the connection is dropped.
        let (connection, driver) = match &self.tls {
            None => {
                let (c, d) = MultiplexedConnection::new_with_config(info, tcp, config)
                    .await
                    .map_err(Failure::redis(Step::Connect))?;
                (c, tokio::spawn(d))
            }
            Some((tls, name)) => {
                let stream = tls
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| Failure::Tls { source })?;
                let (c, d) = MultiplexedConnection::new_with_config(info, stream, config)
                    .await
                    .map_err(Failure::redis(Step::Connect))?;
                (c, tokio::spawn(d))
            }
        };
        drop(driver);
        Ok(connection)
    }
}

/// Logs a link going down or coming back once per change, not once per retry.
pub struct Health {
    link: &'static str,
    url: String,
    down: AtomicBool,
}

impl Health {
    /// `link` names the connection in logs ("reader", "writer"); `url` is already redacted.
    pub fn new(link: &'static str, url: String) -> Health {
        Health {
            link,
            url,
            down: AtomicBool::new(false),
        }
    }

    pub fn failed(&self, failure: &Failure) {
        if self.down.swap(true, Ordering::AcqRel) {
            tracing::debug!(link = self.link, redis = %self.url, error = %failure, "revocation store: redis still unreachable");
        } else {
            tracing::warn!(link = self.link, redis = %self.url, error = %failure, "revocation store: redis unreachable; keeping the current list");
        }
    }

    pub fn ok(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!(link = self.link, redis = %self.url, "revocation store: redis reachable again");
        }
    }
}

/// The web PKI roots plus every certificate of `ca_file`, as the JWKS client trusts them.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, CaError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|_| CaError::Rejected {
                path: path.to_owned(),
            })?;
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
