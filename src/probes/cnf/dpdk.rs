//! DPDK telemetry (the `dpdk_telemetry.v2` socket, DPDK ≥ 20.05): the fixed
//! client command the plugin runs in a CNF pod, and the parser of its replies.
//!
//! The socket is `SOCK_SEQPACKET`: on connect it sends a banner
//! (`{"version", "pid", "max_output_len"}`), then answers each command with one
//! JSON object keyed by the command (`{"/ethdev/stats": {…}}`, `null` for an
//! unknown port). [`CLIENT_SCRIPT`] is the whole client: it connects to the
//! default socket path, reads the banner, sends one command and prints the
//! reply. The commands are fixed: [`ETHDEV_LIST_COMMAND`] and one
//! `/ethdev/stats,<port>` per port id below [`MAX_PORTS`]
//! ([`ETHDEV_STATS_COMMANDS`], generated at compile time) — a port id from a
//! query only picks an entry of that table; no text from a query reaches the
//! command line. The parser also reads `dpdk-telemetry.py` session output
//! (banner, prompts and replies), so recorded sessions parse as-is.

use serde::{Deserialize, Serialize};

/// The default telemetry socket of the primary process (`--file-prefix rte`).
pub const TELEMETRY_SOCKET: &str = "/var/run/dpdk/rte/dpdk_telemetry.v2";

/// The client: `python3 -c CLIENT_SCRIPT <socket> <command>`.
pub const CLIENT_SCRIPT: &str = "import json,socket,sys\n\
s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n\
s.connect(sys.argv[1])\n\
n=json.loads(s.recv(1024).decode())['max_output_len']\n\
s.send(sys.argv[2].encode())\n\
print(s.recv(n).decode())\n";

/// Ports the plugin can ask about (DPDK's default `RTE_MAX_ETHPORTS`).
pub const MAX_PORTS: u32 = 32;

/// `/ethdev/list`.
pub const ETHDEV_LIST_COMMAND: [&str; 5] = ["python3", "-c", CLIENT_SCRIPT, TELEMETRY_SOCKET, "/ethdev/list"];

macro_rules! stats_commands {
    ($($port:literal)*) => {
        [$(&["python3", "-c", CLIENT_SCRIPT, TELEMETRY_SOCKET, concat!("/ethdev/stats,", $port)]),*]
    };
}

/// `/ethdev/stats,<port>` for every port id `0..MAX_PORTS`, index = port id.
pub static ETHDEV_STATS_COMMANDS: [&[&str]; MAX_PORTS as usize] =
    stats_commands!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);

/// Basic port statistics (`rte_eth_stats`), with the per-queue counters of the
/// queues in use (up to the last queue with a non-zero counter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EthdevStats {
    #[serde(default)]
    pub ipackets: u64,
    #[serde(default)]
    pub opackets: u64,
    #[serde(default)]
    pub ibytes: u64,
    #[serde(default)]
    pub obytes: u64,
    #[serde(default)]
    pub imissed: u64,
    #[serde(default)]
    pub ierrors: u64,
    #[serde(default)]
    pub oerrors: u64,
    #[serde(default)]
    pub rx_nombuf: u64,
    #[serde(default)]
    pub q_ipackets: Vec<u64>,
    #[serde(default)]
    pub q_opackets: Vec<u64>,
    #[serde(default)]
    pub q_ibytes: Vec<u64>,
    #[serde(default)]
    pub q_obytes: Vec<u64>,
    #[serde(default)]
    pub q_errors: Vec<u64>,
}

/// One queue's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    pub queue: u32,
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub errors: u64,
}

impl EthdevStats {
    /// Queues up to the last one with any non-zero counter.
    pub fn queues(&self) -> Vec<QueueStats> {
        let n = [&self.q_ipackets, &self.q_opackets, &self.q_ibytes, &self.q_obytes, &self.q_errors].iter().map(|v| v.len()).max().unwrap_or(0);
        let at = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
        let all: Vec<QueueStats> = (0..n)
            .map(|i| QueueStats {
                queue: i as u32,
                ipackets: at(&self.q_ipackets, i),
                opackets: at(&self.q_opackets, i),
                ibytes: at(&self.q_ibytes, i),
                obytes: at(&self.q_obytes, i),
                errors: at(&self.q_errors, i),
            })
            .collect();
        let used = all.iter().rposition(|q| q.ipackets | q.opackets | q.ibytes | q.obytes | q.errors != 0).map_or(0, |i| i + 1);
        all.into_iter().take(used).collect()
    }
}

/// The reply to `command` (`/ethdev/list`) in the client's output: the last
/// line that is a JSON object with that key. `Ok(None)` when the key's value is
/// `null` (DPDK's answer for an invalid parameter).
fn reply<T: for<'de> Deserialize<'de>>(output: &str, key: &str) -> Result<Option<T>, String> {
    let mut found: Option<Result<Option<T>, String>> = None;
    for line in output.lines().map(str::trim).filter(|l| l.starts_with('{')) {
        if let Ok(mut map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
            && let Some(v) = map.remove(key)
        {
            found = Some(if v.is_null() { Ok(None) } else { serde_json::from_value(v).map(Some).map_err(|e| format!("{key} reply: {e}")) });
        }
    }
    found.unwrap_or_else(|| {
        let first = output.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no output)");
        Err(format!("no {key} reply in the telemetry output: {}", first.chars().take(200).collect::<String>()))
    })
}

/// Port ids from `/ethdev/list`.
pub fn parse_list(output: &str) -> Result<Vec<u32>, String> {
    Ok(reply::<Vec<u32>>(output, "/ethdev/list")?.unwrap_or_default())
}

/// How [`parse_stats`]' error for a port DPDK does not have begins.
pub const NO_SUCH_PORT: &str = "DPDK has no ethdev port";

/// Stats from `/ethdev/stats,<port>`; an error names the port when DPDK has no
/// such port (starting with [`NO_SUCH_PORT`]).
pub fn parse_stats(output: &str, port: u32) -> Result<EthdevStats, String> {
    reply::<EthdevStats>(output, "/ethdev/stats")?.ok_or_else(|| format!("{NO_SUCH_PORT} {port} (/ethdev/stats,{port} answered null)"))
}

/// One DPDK port of the probed pod: its counters, or why they are missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DpdkPort {
    pub pod: String,
    pub container: String,
    pub port: u32,
    pub stats: Option<EthdevStats>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/dpdk-telemetry/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn command_table_is_fixed_and_indexed_by_port() {
        for (port, argv) in ETHDEV_STATS_COMMANDS.iter().enumerate() {
            assert_eq!(argv.len(), 5);
            assert_eq!(argv[4], format!("/ethdev/stats,{port}"));
            assert_eq!(&argv[..4], &ETHDEV_LIST_COMMAND[..4]);
        }
    }

    #[test]
    fn recorded_replies() {
        assert_eq!(parse_list(&fixture("ethdev_list_reply.dpdk-docs-howto-telemetry.json")).unwrap(), [0, 1]);
        let s = parse_stats(&fixture("ethdev_stats_reply_2_active_queues.knet-docs-dpdk-21.11.7.json"), 0).unwrap();
        assert_eq!(
            (s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf),
            (10006228, 10005020, 1020453075, 710344388, 0, 0, 0, 0)
        );
        let q = s.queues();
        assert_eq!(q.len(), 2);
        assert_eq!((q[1].ipackets, q[1].obytes), (4991509, 354354181));
    }

    #[test]
    fn recorded_session_transcript() {
        let t = fixture("session_transcript_ethdev_list_and_stats.knet-docs-dpdk-21.11.7.txt");
        assert_eq!(parse_list(&t).unwrap(), [0]);
        assert_eq!(parse_stats(&t, 0).unwrap().q_ipackets[0], 5014719);
    }

    #[test]
    fn null_missing_and_malformed_replies() {
        assert!(parse_stats("{\"/ethdev/stats\": null}", 7).unwrap_err().contains("no ethdev port 7"));
        let banner = fixture("connect_banner.dpdk-docs-howto-telemetry.json");
        assert!(parse_list(&banner).unwrap_err().starts_with("no /ethdev/list reply in the telemetry output: {\"version\""));
        assert!(parse_stats("{\"/ethdev/stats\": {\"ipackets\": -1}}", 0).unwrap_err().contains("/ethdev/stats reply"));
        assert!(parse_list("Traceback (most recent call last):\nConnectionRefusedError").unwrap_err().contains("Traceback"));
    }
}
