//! A real `redis-server` on a free loopback port, with its data (AOF) and log in its own
//! temp dir; stopped by its PID on drop (and by `kill`, to play an outage), restartable on
//! the same port and dir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Whether `redis-server` can run here. Outside CI a missing server skips the test; with
/// `CI` set it fails it (.ci/run installs it).
pub fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "redis-server is required in CI (.ci/run installs it with apt-get)"
    );
    if !found {
        eprintln!("redis-server not found: test skipped");
    }
    found
}

/// From `support/ports.rs`, declared at the root of each test crate that uses this file.
pub use crate::ports::free_port;

pub struct RedisServer {
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Without persistence (`--save '' --appendonly no`).
    pub fn start() -> RedisServer {
        Self::start_with(&["--save", "", "--appendonly", "no"])
    }

    /// With an append-only file fsynced at every write, so a kill loses nothing.
    pub fn start_with_aof() -> RedisServer {
        Self::start_with(&[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ])
    }

    /// On a free port (`--port`, unless `extra` sets `--tls-port`), in a fresh dir.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("tg-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tls = extra.contains(&"--tls-port");
        let mut args: Vec<String> = vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--logfile".into(),
            dir.join("redis.log").display().to_string(),
        ];
        if tls {
            args.extend(["--port".into(), "0".into(), "--tls-port".into()]);
        } else {
            args.push("--port".into());
        }
        args.push(port.to_string());
        args.extend(
            extra
                .iter()
                .filter(|a| **a != "--tls-port")
                .map(|a| (*a).to_owned()),
        );
        let mut server = RedisServer {
            port,
            dir,
            args,
            child: None,
        };
        server.restart();
        server
    }

    /// Starts the server again with the same port, dir and options.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = self.dir.join("redis.log");
        let before = std::fs::read_to_string(&log).unwrap_or_default().len();
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        for _ in 0..200 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.len() > before && text[before..].contains("Ready to accept connections") {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("redis-server exited ({status}): {text}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not get ready: {}", self.log());
    }

    /// Kills the server (SIGKILL, by its PID): an outage with no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// A plain client for setting up and inspecting data.
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
