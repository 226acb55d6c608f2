//! Ports for the servers a test starts as child processes (Alertmanager,
//! `openssl s_server`, `gpx_fleetscope serve`), which must be named on their
//! command line before the child binds them.
//!
//! The usual trick — bind `127.0.0.1:0`, read the port, close, hand it to the
//! child — draws from the kernel's ephemeral range, the same range every other
//! `bind(0)` and every outgoing connection's local port come from. With a
//! hundred tests in one process, the port can be taken between the close and
//! the child's bind: the child then fails to listen (Alertmanager exits with
//! `address already in use`) while the test, waiting for "ready", talks to
//! somebody else's server. That made a CI run fail.
//!
//! So these ports come from *below* the ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`), where the kernel never picks
//! one by itself; each at most once per process; each checked bindable when
//! handed out. The stack (`tests/stack/stack_helper.py ports`) takes its ports
//! from the band below [`FIRST`], so the two never meet.

use std::sync::Mutex;

/// The lowest port handed out here; the stack's band ends just below it.
pub const FIRST: u16 = 20_000;

/// The kernel's first ephemeral port (32768 when it cannot be read).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()))
        .unwrap_or(32_768)
}

/// A port on 127.0.0.1 that nothing listens on now, that this process has not
/// handed out before, and that the kernel will not give to a `bind(0)` or an
/// outgoing connection.
pub fn reserve() -> u16 {
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    let end = ephemeral_low();
    assert!(end > FIRST + 1_000, "the ephemeral port range starts at {end}: no room below it for test servers (need it above {})", FIRST + 1_000);
    let span = end - FIRST;
    let mut next = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    // Start where a test process run just before this one is unlikely to have been.
    let mut candidate = next.unwrap_or_else(|| FIRST + (std::process::id() % u32::from(span)) as u16);
    for _ in 0..span {
        let port = candidate;
        candidate = if candidate + 1 >= end { FIRST } else { candidate + 1 };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            *next = Some(candidate);
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {FIRST}..{end}");
}
