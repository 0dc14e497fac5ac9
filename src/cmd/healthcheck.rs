//! `tokengate healthcheck`: GET `/readyz` on the admin listener of a configuration and exit
//! 0 when it answers 200, 1 otherwise. For Docker's `HEALTHCHECK` in the shell-less image.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::say;
use crate::config::load_file;

/// The address to call for a listener address: an unspecified bind address (`0.0.0.0`,
/// `::`) is reached on the loopback address of its family.
pub fn probe_addr(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Exit 0 when `/readyz` answers 200 within `timeout`; 1 when it answers anything else, is
/// unreachable, or the configuration cannot be read (each printed as one line on stderr).
pub fn run(config: &Path, timeout: Duration) -> ExitCode {
    let listen = match load_file(config, &super::process_env) {
        Ok(config) => config.admin.listen,
        Err(e) => {
            say!("tokengate healthcheck: {}: {e}", config.display());
            return ExitCode::from(1);
        }
    };
    let addr = probe_addr(listen);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("tokengate healthcheck: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(readyz(addr, timeout)) {
        Ok(StatusCode::OK) => match super::stdout_line("ready") {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => super::write_failed("healthcheck", &e),
        },
        Ok(status) => {
            say!("tokengate healthcheck: http://{addr}/readyz answered {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            say!("tokengate healthcheck: http://{addr}/readyz: {e}");
            ExitCode::from(1)
        }
    }
}

async fn readyz(addr: SocketAddr, timeout: Duration) -> anyhow::Result<StatusCode> {
    let uri: Uri = format!("http://{addr}/readyz").parse()?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(uri).body(Empty::new())?;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| {
            anyhow::anyhow!("no answer within {}", humantime::format_duration(timeout))
        })??;
    Ok(response.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_bind_addresses_are_probed_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:9901".parse().unwrap();
        assert_eq!(probe_addr(v4).to_string(), "127.0.0.1:9901");
        let v6: SocketAddr = "[::]:9901".parse().unwrap();
        assert_eq!(probe_addr(v6).to_string(), "[::1]:9901");
        let fixed: SocketAddr = "10.0.0.7:9901".parse().unwrap();
        assert_eq!(probe_addr(fixed), fixed);
    }
}
