//! Our side of the peer benchmark (`make bench`): Prometheus `query_range` body
//! bytes in, Arrow IPC bytes out — what QueryData does for a metrics query —
//! timed and measured the same way as `benches/peer-go` does for
//! Grafana's own converter.
//!
//! ```text
//! peer_convert gen DIR              write the shared input bodies (both sides read these files)
//! peer_convert time BODY ITERS      convert ITERS times; one JSON line with the median ns/op
//! peer_convert mem BODY             convert once; one JSON line with ru_maxrss before/after (KiB)
//! ```

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// The shipped binary's allocator (src/main.rs): without it a musl build of this
/// example would time musl's malloc, not what the plugin runs (about 2× slower here).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bodies: name, series, points per series. 5 % of the values are NaN.
const BODIES: &[(&str, usize, usize)] = &[("small", 10, 720), ("1k", 1_000, 720), ("10k", 10_000, 720)];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["gen", dir] => generate(dir),
        ["time", body, iters] => time(body, iters.parse().expect("ITERS must be a number")),
        ["mem", body] => mem(body),
        _ => {
            eprintln!("usage: peer_convert gen DIR | time BODY ITERS | mem BODY");
            std::process::exit(2);
        }
    }
}

/// A body exactly as Prometheus writes one: step-aligned integer timestamps,
/// values as shortest-round-trip decimal strings, `"NaN"` for NaN.
fn matrix_body(series: usize, points: usize) -> String {
    let mut s = String::with_capacity(series * points * 22 + series * 200);
    s.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    // A fixed xorshift stream: same bytes on every machine and every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..series {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"metric":{{"__name__":"DCGM_FI_DEV_GPU_UTIL","Hostname":"gpu-node-{:04}","gpu":"{}","instance":"10.0.{}.{}:9400","job":"dcgm","modelName":"NVIDIA H100 80GB HBM3"}},"values":["#,
            i / 8,
            i % 8,
            (i / 8) / 250,
            (i / 8) % 250,
        );
        for p in 0..points {
            if p > 0 {
                s.push(',');
            }
            let r = next();
            let _ = write!(s, "[{},\"", 1_700_000_000 + p * 15);
            if r % 20 == 0 {
                s.push_str("NaN");
            } else {
                // Values like a utilisation gauge: 0–100 with up to 2 decimals, some long floats.
                let v = if r % 7 == 0 { (r >> 11) as f64 / (1u64 << 53) as f64 * 100.0 } else { ((r >> 20) % 10_001) as f64 / 100.0 };
                let _ = write!(s, "{v}");
            }
            s.push_str("\"]");
        }
        s.push_str("]}");
    }
    s.push_str("]}}");
    s
}

fn generate(dir: &str) {
    std::fs::create_dir_all(dir).expect("create body dir");
    for (name, series, points) in BODIES {
        let path = format!("{dir}/{name}.json");
        let body = matrix_body(*series, *points);
        // Regenerate only when the content differs (the 10k body is ~150 MB).
        let same = std::fs::metadata(&path).map(|m| m.len() == body.len() as u64).unwrap_or(false)
            && std::fs::read(&path).map(|b| b == body.as_bytes()).unwrap_or(false);
        if !same {
            std::fs::write(&path, body.as_bytes()).expect("write body");
        }
        println!("{path}\t{series}\t{points}\t{}", body.len());
    }
}

#[path = "../benches/common/convert.rs"]
mod common;

/// Bytes in → Arrow IPC frames out (QueryData minus the HTTP fetch); (frames, Arrow bytes).
fn convert(body: &[u8]) -> (usize, usize) {
    let encoded = common::to_arrow(body);
    (encoded.len(), black_box(&encoded).iter().map(Vec::len).sum())
}

fn time(path: &str, iters: usize) {
    let body = std::fs::read(path).expect("read body");
    let (frames, arrow_bytes) = convert(&body); // warm-up, and the shape for the report
    let mut ns: Vec<u128> = (0..iters.max(1))
        .map(|_| {
            let t = Instant::now();
            black_box(convert(black_box(&body)));
            t.elapsed().as_nanos()
        })
        .collect();
    ns.sort_unstable();
    println!(
        r#"{{"side":"fleetscope","body":"{path}","body_bytes":{},"iters":{},"median_ns":{},"min_ns":{},"frames":{frames},"arrow_bytes":{arrow_bytes}}}"#,
        body.len(),
        ns.len(),
        ns[ns.len() / 2],
        ns[0]
    );
}

/// Peak RSS of this process in KiB: Linux's `VmHWM`, the figure `getrusage`
/// reports as `ru_maxrss` (read from /proc, so no `unsafe` is needed).
fn max_rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())))
        .unwrap_or(0)
}

/// Peak RSS of one conversion: ru_maxrss after the body is loaded (idle: the
/// runtime plus the body bytes) and after converting it once (peak). The difference is the
/// memory the conversion itself needed.
fn mem(path: &str) {
    let body = std::fs::read(path).expect("read body");
    let idle = max_rss_kib();
    let (frames, arrow_bytes) = convert(black_box(&body));
    let peak = max_rss_kib();
    println!(
        r#"{{"side":"fleetscope","body":"{path}","body_bytes":{},"idle_kib":{idle},"peak_kib":{peak},"frames":{frames},"arrow_bytes":{arrow_bytes}}}"#,
        body.len()
    );
}
