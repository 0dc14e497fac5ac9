//! Ports for servers a test starts in another process (tokengate, redis-server, gateways).
//!
//! Binding port 0 and handing the number to a child that binds it later races with every
//! outgoing connection of the parallel tests: the kernel takes client ports from the same
//! ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, 32768-60999 by default), and a
//! busy test run hit `Address already in use`. So ports come from below that range, each
//! handed out once per test process, starting at a random offset (other test processes on
//! the machine start elsewhere), and only after a bind shows the port is free now.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The range ports are handed out from: below Linux's default ephemeral range.
const FIRST: u32 = 20_000;
const COUNT: u32 = 12_000;

static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

/// A port on 127.0.0.1 that nothing listens on now and that this process has not handed out
/// before.
pub fn free_port() -> u16 {
    if NEXT.load(Ordering::Relaxed) == u32::MAX {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id().wrapping_mul(2_654_435_761);
        let _ = NEXT.compare_exchange(u32::MAX, seed % COUNT, Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..COUNT {
        let port = FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT;
        if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port in 127.0.0.1:{FIRST}..{}", FIRST + COUNT)
}
