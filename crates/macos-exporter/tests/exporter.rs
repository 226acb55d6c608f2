//! `fleetscope-macos-exporter` as a Mac admin runs it (docs/macos-exporter.md), on what Linux
//! can run: the binary itself (this platform's build of the same code as the darwin one),
//! started with its flags; powermetrics is a stand-in script that prints a real recorded
//! `powermetrics -f plist` sample (tests/fixtures/powermetrics) and records its arguments.
//! Real powermetrics and the darwin binaries cannot run here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const EXPORTER: &str = env!("CARGO_BIN_EXE_fleetscope-macos-exporter");
const RECORDED: &str = "tests/fixtures/powermetrics/plist_gpu_power_single_sample.mac16-8.matiasinsaurralde-powermetrics-testdata.plist";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleetscope-macos-exporter-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A powermetrics stand-in: writes its arguments to `args`, prints the recorded sample and the
/// NUL that ends a plist document, then either exits or keeps its stdout open until stdin closes.
fn fake_powermetrics(dir: &Path, then_exit: bool) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(RECORDED);
    let tail = if then_exit { "exit 0" } else { "exec cat" };
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{args}'\ncat '{fixture}'\nprintf '\\000'\n{tail}\n",
        args = dir.join("args").display(),
        fixture = fixture.display()
    );
    let path = dir.join("powermetrics");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(EXPORTER).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Kills the exporter when a test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (head.to_owned(), body.to_owned())
}

#[test]
fn version_and_help() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!((code, out.trim()), (0, format!("fleetscope-macos-exporter {}", env!("CARGO_PKG_VERSION")).as_str()));
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for flag in ["--listen", "--interval-ms", "--node", "--powermetrics", "0.0.0.0:9101", "/usr/bin/powermetrics"] {
        assert!(out.contains(flag), "--help does not mention {flag}:\n{out}");
    }
}

#[test]
fn bad_flags_are_usage_errors_naming_the_flag() {
    for (args, flag) in [
        (&["--listen", "not-an-address"][..], "--listen"),
        (&["--interval-ms", "50"][..], "--interval-ms"),
        (&["--interval-ms", "soon"][..], "--interval-ms"),
        (&["--no-such-flag"][..], "--no-such-flag"),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: the error does not name {flag}: {err}");
    }
}

#[test]
fn missing_powermetrics_is_a_clear_error() {
    let (code, _, err) = run(&["--listen", "127.0.0.1:0", "--powermetrics", "/nonexistent/powermetrics"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error: cannot run /nonexistent/powermetrics"), "{err}");
}

#[test]
fn serves_the_recorded_sample_in_the_exposition_format() {
    let dir = scratch("serve");
    let powermetrics = fake_powermetrics(&dir, false);
    let mut child = Command::new(EXPORTER)
        .args(["--listen", "127.0.0.1:0", "--node", "mac-studio-01", "--interval-ms", "1000", "--powermetrics"])
        .arg(&powermetrics)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);

    // "macos-exporter: node mac-studio-01, serving http://127.0.0.1:PORT/metrics"
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    assert!(line.starts_with("macos-exporter: node mac-studio-01, serving http://127.0.0.1:"), "{line}");
    let addr = line.trim().trim_start_matches("macos-exporter: node mac-studio-01, serving http://").trim_end_matches("/metrics").to_owned();
    assert!(!addr.ends_with(":0"), "the bound port is printed, not port 0: {line}");

    // The sample is served once powermetrics' first document arrived (before that: an empty body).
    let (head, body) = (0..400)
        .find_map(|_| {
            let (head, body) = http_get(&addr, "/metrics");
            if body.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(25));
                None
            } else {
                Some((head, body))
            }
        })
        .expect("no sample served after 400 polls");
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    // gpu_energy 9 mJ over elapsed_ns 5005449083 (the recording has only the gpu_power sampler).
    assert!(body.starts_with("# HELP macos_gpu_power_watts "), "{body}");
    assert!(body.contains("# TYPE macos_gpu_power_watts gauge\nmacos_gpu_power_watts{node=\"mac-studio-01\"} 0.0017980"), "{body}");
    assert!(!body.contains("macos_cpu_power_watts"), "a sampler missing from the sample is absent, never 0: {body}");
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(series.ends_with("{node=\"mac-studio-01\"}"), "{line}");
        value.parse::<f64>().unwrap_or_else(|e| panic!("{line}: {e}"));
    }

    // What the exporter asked powermetrics for.
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    assert_eq!(args.lines().collect::<Vec<_>>(), ["-f", "plist", "--samplers", "cpu_power,gpu_power,ane_power,thermal", "-i", "1000"]);

    let (head, _) = http_get(&addr, "/nothing-here");
    assert!(head.starts_with("HTTP/1.0 404") || head.starts_with("HTTP/1.1 404"), "{head}");
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exits_2_when_powermetrics_exits() {
    let dir = scratch("exit");
    let powermetrics = fake_powermetrics(&dir, true);
    let out = Command::new(EXPORTER).args(["--listen", "127.0.0.1:0", "--powermetrics"]).arg(&powermetrics).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error: powermetrics exited"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
