//! (stub) `tokengate demo`.

use std::net::SocketAddr;
use std::process::ExitCode;

pub fn run(listen: SocketAddr, admin: SocketAddr) -> ExitCode {
    let _ = (listen, admin);
    ExitCode::SUCCESS
}
