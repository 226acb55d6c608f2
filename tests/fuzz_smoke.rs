//! Fuzz smoke run on stable Rust: the cargo-fuzz target bodies (fuzz/targets.rs)
//! fed a deterministic pseudo-random corpus — seeded, stacked mutations of the
//! real recorded fixtures in tests/fixtures — so CI exercises every untrusted
//! input parser without nightly or libFuzzer. Bounded by input count, not time:
//! `FUZZ_SMOKE_INPUTS` (default 20000 per target) and `FUZZ_SMOKE_SEED` change
//! the run. A panicking input is written to target/fuzz-smoke-crashes/ and the
//! test fails naming the file (replay it with `cargo fuzz run <target> <file>`).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Tokens that tend to reach corner cases of JSON, CSV, plist and query parsers.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"null",
    b"true",
    b"-0",
    b"1e309",
    b"-1e309",
    b"NaN",
    b"\"+Inf\"",
    b"\"NaN\"",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.000000000000000000001",
    b"\\u0000",
    b"\\ud800",
    b"\xff\xfe",
    b"\xe2\x82",
    b"\n",
    b"\r\n",
    b"\0",
    b", ",
    b"[N/A]",
    b"[Not Supported]",
    b"<dict>",
    b"</dict>",
    b"<key>",
    b"<real>",
    b"<array>",
    b"(",
    b")",
    b"|=",
    b"| json",
    b"{}",
    b"=~",
    b"\"(\"",
    b"by (",
    b"[5m]",
    b"&&",
    b"||",
    b">>",
    b"span.",
    b"resource.",
    b"{{",
    b"}}",
    b"\"resultType\":\"matrix\"",
    b"\"resultType\":\"vector\"",
    b"\"resultType\":\"streams\"",
    b"\"values\":[[",
    b"\"value\":[",
    b"\"startsAt\":\"",
    b"\"9999-12-31T23:59:59Z\"",
    b"\"0001-01-01T00:00:00Z\"",
    b"\"startTimeUnixNano\":\"",
    b"\"traceID\":\"",
];

fn mutate(rng: &mut Rng, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0u8, 0xff, b'"', b'{', b'[', b'\\', b'9', b'-', b'.', b',', b'\n'][rng.below(11)];
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                v.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(256)).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 if len > 0 => v.truncate(rng.below(len)),
            6 if !others.is_empty() => {
                let o = &others[rng.below(others.len())];
                if !o.is_empty() {
                    let a = rng.below(o.len());
                    let b = (a + 1 + rng.below(512)).min(o.len());
                    let at = rng.below(len + 1);
                    v.splice(at..at, o[a..b].iter().copied());
                }
            }
            7 if len > 0 => {
                // Replace a run of digits with an extreme number.
                let i = rng.below(len);
                if v[i].is_ascii_digit() {
                    let n: &[u8] = [&b"99999999999999999999"[..], b"-1", b"0", b"1.5e308", b"4294967296"][rng.below(5)];
                    let end = (i..len).find(|&j| !v[j].is_ascii_digit()).unwrap_or(len);
                    v.splice(i..end, n.iter().copied());
                }
            }
            _ => {
                // Nest: wrap a slice in brackets a few levels deep.
                let depth = 1 + rng.below(40);
                let open: &[u8] = [&b"["[..], b"{\"a\":", b"("][rng.below(3)];
                let close: &[u8] = match open[0] {
                    b'[' => b"]",
                    b'{' => b"}",
                    _ => b")",
                };
                let at = rng.below(len + 1);
                let mut ins = open.repeat(depth);
                ins.extend(close.repeat(depth));
                v.splice(at..at, ins);
            }
        }
        if v.len() > 1 << 20 {
            v.truncate(1 << 20);
        }
    }
    v
}

fn fixtures(dirs: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for d in dirs {
        // The recorded bodies directly in the folder (provenance notes are not bodies);
        // subfolders hold golden pairs (see `recorded_answers`).
        let dir = format!("{}/tests/fixtures/{d}", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read(&f).unwrap());
        }
    }
    assert!(!out.is_empty(), "no fixtures in {dirs:?}");
    out
}

/// The upstream answers of recorded golden pairs (`{"answers": {name: body}, …}` files),
/// each body as its own seed: native histograms, exemplars, scalars, strings.
fn recorded_answers(dir: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let pair: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let answers = pair["answers"].as_object().unwrap_or_else(|| panic!("{}: no `answers`", f.display()));
        out.extend(answers.values().map(|body| serde_json::to_vec(body).unwrap()));
    }
    assert!(out.len() >= 10, "{dir}: only {} recorded answers", out.len());
    out
}

fn query_seeds() -> Vec<Vec<u8>> {
    let q = [
        r#"{"expr":"sum by (job) (rate(http_requests_total{job=~\"api.*\"}[$__rate_interval]))","legendFormat":"{{job}}","clusters":["east","west"]}"#,
        r#"{"expr":"histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le))","instant":true,"aggregate":"max","step":"30s"}"#,
        r#"{"queryType":"logs","expr":"sum by (app) (count_over_time({app=\"llm-gateway\"} |= \"error\" | json | line_format \"{{.msg}}\" [5m]))","limit":100,"direction":"forward"}"#,
        r#"{"queryType":"logs","expr":"{namespace=\"inference\"} | logfmt | level=~\"warn|error\" | duration > 2s","clusters":"{east,west}"}"#,
        r#"{"queryType":"traces","query":"{ resource.service.name = \"llm-gateway\" && duration > 2s } >> { status = error } | select(span.http.route)","limit":20}"#,
        r#"{"queryType":"traces","tracesView":"trace","traceId":"0af7651916cd43dd8448eb211c80319c"}"#,
        r#"{"queryType":"traces","serviceName":"llm-gateway","minDuration":"2s","maxDuration":"1m","tags":"http.status_code=500"}"#,
        r#"{"queryType":"alerts","matchers":["severity=~\"critical|warning\"","team!=\"x\""],"state":["ACTIVE","SUPPRESSED"],"history":true}"#,
        r#"{"queryType":"gpu","view":"processes","source":"nvidia-smi","node":"gpu-node-a3"}"#,
        r#"{"queryType":"cnf","view":"ptp","node":"cpu-node-12"}"#,
    ];
    q.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn seeds_for(target: &str) -> Vec<Vec<u8>> {
    match target {
        "query_model" => query_seeds()
            .into_iter()
            .map(|mut s| {
                s.insert(0, 0);
                s
            })
            .collect(),
        "promql_logql_traceql" => query_seeds()
            .iter()
            .filter_map(|s| serde_json::from_slice::<serde_json::Value>(s).ok())
            .filter_map(|v| v.get("expr").or(v.get("query")).and_then(|e| e.as_str()).map(|e| e.as_bytes().to_vec()))
            .collect(),
        "prometheus_response" => [fixtures(&["prometheus"]), recorded_answers("prometheus/recorded")].concat(),
        "prometheus_values" => [fixtures(&["prometheus"]), recorded_answers("prometheus/recorded")]
            .concat()
            .iter()
            .filter_map(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
            .flat_map(|body| body["data"]["result"].as_array().cloned().unwrap_or_default())
            .filter_map(|series| series.get("values").map(|v| serde_json::to_vec(v).unwrap()))
            .chain([br#"[[1700000000.1234,"1"],[1.5e9,"+Inf"],[1,"\u0031"]]"#.to_vec()])
            .collect(),
        "loki_response" => fixtures(&["loki"]),
        "tempo_response" => fixtures(&["tempo"]),
        "alertmanager_response" | "alertmanager_webhook" => fixtures(&["alertmanager"]),
        "nvidia_smi" => fixtures(&["nvidia-smi"]),
        "powermetrics" => fixtures(&["powermetrics"]),
        "dpdk_telemetry" => fixtures(&["dpdk-telemetry"]),
        other => panic!("no seeds for {other}"),
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn preview(data: &[u8]) -> String {
    let s: String = data.iter().take(300).flat_map(|b| std::ascii::escape_default(*b)).map(char::from).collect();
    if data.len() > 300 { format!("{s}… ({} bytes)", data.len()) } else { s }
}

#[test]
fn fuzz_smoke_every_target() {
    let per_target = env_num("FUZZ_SMOKE_INPUTS", 20_000) as usize;
    let seed = env_num("FUZZ_SMOKE_SEED", 0x5eed_f1ee_75c0_9e11);
    let crash_dir = PathBuf::from(format!("{}/target/fuzz-smoke-crashes", env!("CARGO_MANIFEST_DIR")));
    let mut crashes = Vec::new();
    let mut total = 0usize;
    for (name, target) in targets::TARGETS {
        let seeds = seeds_for(name);
        let mut rng = Rng(seed ^ (name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        // The seeds themselves first: real answers must parse without a panic.
        let mut inputs: Vec<Vec<u8>> = seeds.clone();
        while inputs.len() < per_target {
            let s = &seeds[rng.below(seeds.len())];
            inputs.push(mutate(&mut rng, s, &seeds));
        }
        for (i, input) in inputs.iter().enumerate() {
            total += 1;
            if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
                std::fs::create_dir_all(&crash_dir).unwrap();
                let path = crash_dir.join(format!("{name}-{seed:x}-{i}.bin"));
                std::fs::write(&path, input).unwrap();
                crashes.push(format!("{name} input #{i} → {} : {}", path.display(), preview(input)));
            }
        }
    }
    eprintln!("fuzz smoke: {total} inputs over {} targets (seed {seed:#x})", targets::TARGETS.len());
    assert!(crashes.is_empty(), "{} panicking inputs:\n{}", crashes.len(), crashes.join("\n"));
}

/// Inputs that once crashed a target (tests/fixtures/fuzz-regressions/<target>/,
/// copied from fuzz/artifacts/) must not panic.
#[test]
fn fuzz_regressions_do_not_panic() {
    let root = PathBuf::from(format!("{}/tests/fixtures/fuzz-regressions", env!("CARGO_MANIFEST_DIR")));
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        let Ok(dir) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for file in dir.filter_map(|e| e.ok()).map(|e| e.path()) {
            let input = std::fs::read(&file).unwrap();
            assert!(catch_unwind(AssertUnwindSafe(|| target(&input))).is_ok(), "{name}: {} ({}) panics", file.display(), preview(&input));
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "no regression inputs under {}", root.display());
}

/// crash-22db22f4…: `-2[2e222]2` panicked inside promql-parser; now one INVALID_PROMQL naming the duration.
#[test]
fn promql_number_duration_crash_is_a_clear_error() {
    let input = std::fs::read_to_string(format!(
        "{}/tests/fixtures/fuzz-regressions/promql_logql_traceql/crash-22db22f49b6f9c6cbbb13a0c0feaf15ad1738ce6",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(input, "-2[2e222]2");
    let e = fleetscope::error::FleetError::from(fleetscope::query::metrics::validate_promql(&input).unwrap_err());
    assert_eq!(e.code, fleetscope::error::ErrorCode::InvalidPromql);
    assert!(e.message.contains("duration \"2e222\" is out of range"), "{e}");
}
