//! Fan-out, cache and memory benchmarks (`make bench`; `cargo bench --bench fanout`).
//!
//! Upstreams are tiny Prometheus-API servers (axum, loopback only) that answer
//! every request with a fixed matrix body after a fixed delay; they run on their
//! own runtime thread, so the measured side is only what a plugin would do.
//! Each measurement is "QueryData in-process": `query::parse` → `federation::execute`
//! → Arrow IPC for every frame, as `plugin::data` answers one query.
//!
//! * scaling: 1, 8, 32, 64 clusters (maxParallel 64, cache off) — latency over
//!   the single-cluster latency;
//! * hung cluster: 32 healthy + 1 that never answers in time — the query answers
//!   at the timeout with a partial result, then the breaker opens;
//! * cache: a hit (median / p99), and 100 concurrent identical queries → upstream
//!   requests per cluster;
//! * isolation (issue 15's scenario, through `gpx_fleetscope serve` — the binary
//!   named by `FLEETSCOPE_BENCH_BIN`, default `target/release/gpx_fleetscope`, so
//!   an older build can be measured by the same harness): 3 healthy clusters
//!   and 1 hung one (answers after 3 × `timeoutSeconds`), default limits, cache
//!   off. Each round starts a fresh server (fresh breakers), sends 12 panels
//!   over all 4 clusters at once, then single-healthy-cluster queries one after
//!   another while the panels are out. Reports their p50/p99 as a ratio to the
//!   same query with no load (goal ≤ 1.5× at p99) and the worst panel's
//!   latency over `timeoutSeconds` (goal ≤ 1.01);
//! * discovery at scale (issue 18): 500 clusters from a `file` discovery source
//!   (each its own upstream, 50 ms), `maxParallel` 512: all of them vs one
//!   (goal ≤ 1.25), the time a cluster added to the file takes to answer
//!   queries (the file is polled every 50 ms here; the default is 10 s), the
//!   cost of republishing the fleet, and RSS of a child process holding the 500
//!   clusters, idle, against the same child with one;
//! * RSS: a child process (this binary again) that is nothing but a Federation
//!   answers the 10k-series body (`target/bench-bodies/10k.json`, written by
//!   `peer_convert gen`): idle RSS, peak RSS (VmHWM), peak − idle vs body size.
//!
//! Output: a human line per measurement, plus `RESULT {json}` lines that
//! `benches/run.sh` turns into the summary table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{Frame, arrow};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

const DELAY: Duration = Duration::from_millis(50);
const END_MS: i64 = 1_700_000_000_000;
const CHILD_ENV: &str = "FLEETSCOPE_BENCH_RSS_CHILD";
const FLEET_CHILD_ENV: &str = "FLEETSCOPE_BENCH_FLEET_CHILD";

/// A fixed small matrix: 4 series × 60 points, like a typical panel per cluster.
fn small_body() -> Bytes {
    let series: Vec<String> = (0..4)
        .map(|i| {
            let values: Vec<String> = (0..60).map(|p| format!("[{},\"{}\"]", END_MS / 1000 - 3600 + p * 60, (i * 60 + p) % 97)).collect();
            format!(r#"{{"metric":{{"__name__":"up","job":"node","instance":"node-{i}:9100"}},"values":[{}]}}"#, values.join(","))
        })
        .collect();
    Bytes::from(format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#, series.join(",")))
}

/// One upstream: answers anything with `body` after `delay`, counting requests.
struct Upstream {
    port: u16,
    hits: Arc<AtomicUsize>,
}

async fn upstream(body: Bytes, delay: Duration) -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(move || {
        let (body, counter) = (body.clone(), counter.clone());
        async move {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            ([(http::header::CONTENT_TYPE, "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Upstream { port, hits }
}

fn federation(ports: &[u16], timeout_s: f64, cache: bool) -> Federation {
    let clusters: String =
        ports.iter().enumerate().map(|(i, p)| format!("    - {{id: c{i}, name: c{i}, prometheus: {{url: \"http://127.0.0.1:{p}\"}}}}\n")).collect();
    let yaml = format!(
        "jsonData:\n  clusters:\n{clusters}  query: {{timeoutSeconds: {timeout_s}, maxParallel: 64, retryAttempts: 1, maxResponseBytes: 536870912}}\n  cache: {{enabled: {cache}, maxBytes: 1073741824}}\n"
    );
    Federation::new(Registry::from_yaml(&yaml).expect("bench registry"))
}

fn request(expr: &str, clusters: usize) -> query::QueryRequest {
    let ids: Vec<String> = (0..clusters).map(|i| format!("\"c{i}\"")).collect();
    let json = format!(r#"{{"expr":"{expr}","clusters":[{}]}}"#, ids.join(","));
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(END_MS - 3_600_000, END_MS).unwrap(),
        interval_ms: 60_000,
        max_data_points: 1000,
    };
    query::parse("", json.as_bytes(), env).expect("bench query")
}

/// QueryData for one query, in-process: parse, execute, encode every frame.
async fn query_data(fed: &Federation, expr: &str, clusters: usize) -> (Vec<Frame>, usize) {
    let req = request(expr, clusters);
    let frames = federation::execute(fed, &req).await.expect("execute");
    let bytes = frames.iter().map(|f| arrow::encode(f).expect("encode").len()).sum();
    (frames, bytes)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn notices(frames: &[Frame]) -> Vec<String> {
    frames.iter().filter_map(|f| f.meta.as_ref()).flat_map(|m| m.notices.iter().map(|n| n.text.clone())).collect()
}

async fn scaling(servers: &tokio::runtime::Handle, iters: usize) {
    let body = small_body();
    let mut all = Vec::new();
    for _ in 0..64 {
        all.push(servers.spawn(upstream(body.clone(), DELAY)).await.unwrap());
    }
    let mut base = None;
    for n in [1usize, 8, 32, 64] {
        let ports: Vec<u16> = all[..n].iter().map(|u| u.port).collect();
        let fed = federation(&ports, 30.0, false);
        for w in 0..3 {
            query_data(&fed, &format!("up + {w}"), n).await; // connections up, pools warm
        }
        let mut lat = Vec::new();
        for i in 0..iters {
            let t = Instant::now();
            let (frames, _) = query_data(&fed, &format!("up * {i}"), n).await;
            lat.push(ms(t.elapsed()));
            assert_eq!(frames.len(), 4 * n, "every cluster answered");
        }
        let med = median(lat.clone());
        let base_ms = *base.get_or_insert(med);
        println!(
            "fan-out {n:>2} clusters: median {med:7.2} ms  p90 {:7.2} ms  ratio to 1 cluster {:.3}  (upstream delay {} ms)",
            pct(lat.clone(), 0.9),
            med / base_ms,
            DELAY.as_millis()
        );
        println!(r#"RESULT {{"bench":"fanout","clusters":{n},"median_ms":{med:.3},"p90_ms":{:.3},"ratio":{:.4}}}"#, pct(lat, 0.9), med / base_ms);
    }
}

async fn hung(servers: &tokio::runtime::Handle) {
    let body = small_body();
    let timeout_s = 1.0;
    let mut ports = Vec::new();
    for _ in 0..32 {
        ports.push(servers.spawn(upstream(body.clone(), DELAY)).await.unwrap().port);
    }
    // Answers long after the per-cluster timeout: a hung cluster.
    ports.push(servers.spawn(upstream(body.clone(), Duration::from_secs(30))).await.unwrap().port);
    let fed = federation(&ports, timeout_s, false);
    let n = ports.len();
    let mut lat = Vec::new();
    let mut first_notices = Vec::new();
    for i in 0..8 {
        let t = Instant::now();
        let (frames, _) = query_data(&fed, &format!("up - {i}"), n).await;
        lat.push(ms(t.elapsed()));
        let data_frames = frames.iter().filter(|f| !f.fields.is_empty()).count();
        assert_eq!(data_frames, 4 * 32, "the healthy clusters' data is intact");
        if i == 0 {
            first_notices = notices(&frames);
        }
        let last = notices(&frames).into_iter().find(|t| t.contains("c32")).unwrap_or_default();
        println!("hung cluster, query {}: {:8.2} ms, 32/33 clusters answered; c32: {}", i + 1, lat[i], last.chars().take(90).collect::<String>());
    }
    let opened: Vec<f64> = lat[fleetscope::federation::breaker::FAILURE_THRESHOLD as usize..].to_vec();
    println!(
        r#"RESULT {{"bench":"hung","clusters":33,"timeout_ms":{},"first_ms":{:.3},"breaker_open_median_ms":{:.3},"partial":true,"notice":{:?}}}"#,
        timeout_s * 1e3,
        lat[0],
        median(opened),
        first_notices.iter().find(|t| t.contains("c32")).cloned().unwrap_or_default()
    );
}

async fn cache(servers: &tokio::runtime::Handle) {
    let body = small_body();
    let up = servers.spawn(upstream(body.clone(), DELAY)).await.unwrap();
    let fed = federation(&[up.port], 30.0, true);
    let t = Instant::now();
    query_data(&fed, "rate(x[5m])", 1).await;
    let miss = ms(t.elapsed());
    let mut lat = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        query_data(&fed, "rate(x[5m])", 1).await;
        lat.push(ms(t.elapsed()));
    }
    let (med, p99) = (median(lat.clone()), pct(lat, 0.99));
    assert_eq!(up.hits.load(Ordering::Relaxed), 1, "every hit answered from the cache");
    println!("cache: miss {miss:.2} ms, hit median {:.1} µs, p99 {:.1} µs (parse + execute + Arrow, 4 series × 60 points)", med * 1e3, p99 * 1e3);
    println!(r#"RESULT {{"bench":"cache_hit","miss_ms":{miss:.3},"median_us":{:.2},"p99_us":{:.2}}}"#, med * 1e3, p99 * 1e3);

    // Single-flight: 100 concurrent identical queries over 8 fresh clusters.
    let mut ups = Vec::new();
    for _ in 0..8 {
        ups.push(servers.spawn(upstream(body.clone(), DELAY)).await.unwrap());
    }
    let fed = Arc::new(federation(&ups.iter().map(|u| u.port).collect::<Vec<_>>(), 30.0, true));
    let t = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let fed = fed.clone();
            tokio::spawn(async move { query_data(&fed, "sum(rate(y[5m]))", 8).await.0.len() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 32);
    }
    let took = ms(t.elapsed());
    let per: Vec<usize> = ups.iter().map(|u| u.hits.load(Ordering::Relaxed)).collect();
    println!("single-flight: 100 concurrent identical queries × 8 clusters in {took:.1} ms → upstream requests per cluster {per:?}");
    println!(
        r#"RESULT {{"bench":"single_flight","queries":100,"clusters":8,"max_requests_per_cluster":{},"total_ms":{took:.3}}}"#,
        per.iter().max().unwrap()
    );
}

/// A `gpx_fleetscope serve` process, killed on drop.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_serve(bin: &str, config: &std::path::Path, client: &reqwest::Client) -> (Serve, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = std::process::Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it: cargo build --release --bin gpx_fleetscope)"));
    let serve = Serve(child);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    for _ in 0..500 {
        if client.get(format!("{base}/clusters")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (serve, base);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{bin} serve did not come up");
}

/// One instant query through the API; its latency in ms.
async fn api_query(client: &reqwest::Client, base: &str, clusters: &str) -> f64 {
    let t = Instant::now();
    let resp = client.get(format!("{base}/metrics/query")).query(&[("query", "up"), ("cluster_ids", clusters)]).send().await.expect("api query");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{clusters}: HTTP {status}: {}", body.chars().take(300).collect::<String>());
    ms(t.elapsed())
}

async fn isolation(servers: &tokio::runtime::Handle, rounds: usize) {
    const PANELS: usize = 12;
    const SINGLES: usize = 10;
    let timeout_s = 2.0;
    let bin = std::env::var("FLEETSCOPE_BENCH_BIN").unwrap_or_else(|_| "target/release/gpx_fleetscope".into());
    let body = small_body();
    let mut ports = Vec::new();
    let mut healthy_hits = Vec::new();
    for _ in 0..3 {
        let up = servers.spawn(upstream(body.clone(), Duration::from_millis(2))).await.unwrap();
        ports.push(up.port);
        healthy_hits.push(up.hits);
    }
    let hung = servers.spawn(upstream(body.clone(), Duration::from_secs_f64(3.0 * timeout_s))).await.unwrap();
    ports.push(hung.port);
    let clusters: String =
        ports.iter().enumerate().map(|(i, p)| format!("    - {{id: c{i}, name: c{i}, prometheus: {{url: \"http://127.0.0.1:{p}\"}}}}\n")).collect();
    let dir = std::env::temp_dir().join(format!("fleetscope-bench-isolation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config.yaml");
    // Default maxParallel and maxParallelPerCluster; only the timeout is short, to keep the run short.
    let yaml = format!("jsonData:\n  clusters:\n{clusters}  query: {{timeoutSeconds: {timeout_s}, retryAttempts: 1}}\n  cache: {{enabled: false}}\n");
    std::fs::write(&config, yaml).expect("write config");
    let all = "c0,c1,c2,c3";
    let client = reqwest::Client::new();

    let (mut idle, mut loaded, mut panels) = (Vec::new(), Vec::new(), Vec::new());
    // The first single query of each round arrives with the panels' own requests to the
    // healthy clusters (12 × 3, c0 included); the later ones find only the hung cluster's held.
    let (mut burst, mut held, mut control_burst) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (serve, base) = start_serve(&bin, &config, &client).await;
        for _ in 0..3 {
            api_query(&client, &base, "c0").await; // connections up
        }
        for _ in 0..2 * SINGLES {
            idle.push(api_query(&client, &base, "c0").await);
        }
        let seen = hung.hits.load(Ordering::Relaxed);
        let tasks: Vec<_> = (0..PANELS)
            .map(|_| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move { api_query(&client, &base, all).await })
            })
            .collect();
        while hung.hits.load(Ordering::Relaxed) == seen {
            tokio::time::sleep(Duration::from_millis(1)).await; // the panels have reached the hung cluster
        }
        for k in 0..SINGLES {
            let t = api_query(&client, &base, "c0").await;
            if k == 0 {
                burst.push(t)
            } else {
                held.push(t)
            }
            loaded.push(t);
        }
        for t in tasks {
            panels.push(t.await.expect("panel"));
        }
        // Control: the same 12 panels over the healthy clusters only. Its first single query
        // meets the same burst with no hung cluster anywhere.
        let seen = healthy_hits[1].load(Ordering::Relaxed);
        let tasks: Vec<_> = (0..PANELS)
            .map(|_| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move { api_query(&client, &base, "c0,c1,c2").await })
            })
            .collect();
        while healthy_hits[1].load(Ordering::Relaxed) == seen {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        control_burst.push(api_query(&client, &base, "c0").await);
        for t in tasks {
            t.await.expect("control panel");
        }
        drop(serve);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (i50, i99) = (pct(idle.clone(), 0.5), pct(idle, 0.99));
    let (l50, l99) = (pct(loaded.clone(), 0.5), pct(loaded, 0.99));
    let (b50, h99, c50) = (pct(burst, 0.5), pct(held, 0.99), pct(control_burst, 0.5));
    let worst = panels.iter().copied().fold(0.0, f64::max);
    let worst_ratio = worst / (timeout_s * 1e3);
    println!(
        "isolation ({bin}): single healthy cluster, no load p50 {i50:.2} ms p99 {i99:.2} ms; under {PANELS} panels on a hung cluster p50 {l50:.2} ms p99 {l99:.2} ms → p50 {:.2}×, p99 {:.2}× (goal ≤ 1.5×); worst panel {worst:.0} ms = {worst_ratio:.3} × timeoutSeconds (goal ≤ 1.01)",
        l50 / i50,
        l99 / i99
    );
    println!(
        "isolation, split: the query sent as the panels arrive (sharing the CPU with their requests to the healthy clusters) median {b50:.2} ms (the same burst with no hung cluster: {c50:.2} ms); the later ones, while only the hung cluster's requests are held, p99 {h99:.2} ms = {:.2}× idle p99",
        h99 / i99
    );
    println!(
        r#"RESULT {{"bench":"isolation","rounds":{rounds},"idle_p50_ms":{i50:.3},"idle_p99_ms":{i99:.3},"loaded_p50_ms":{l50:.3},"loaded_p99_ms":{l99:.3},"p50_ratio":{:.3},"p99_ratio":{:.3},"worst_panel_ms":{worst:.1},"worst_over_timeout":{worst_ratio:.4},"burst_p50_ms":{b50:.3},"control_burst_p50_ms":{c50:.3},"held_p99_ms":{h99:.3},"held_p99_ratio":{:.3}}}"#,
        l50 / i50,
        l99 / i99,
        h99 / i99
    );
}

/// `jsonData` of a datasource whose clusters all come from the file `path`.
fn fleet_yaml(path: &std::path::Path) -> String {
    format!(
        "jsonData:\n  discovery: [{{type: file, name: fleet, path: \"{}\", refreshSeconds: 0.05}}]\n  query: {{timeoutSeconds: 30, maxParallel: 512, retryAttempts: 1}}\n  cache: {{enabled: false}}\n",
        path.display()
    )
}

/// The discovery file: clusters `c0..c<n>`, one upstream port each.
fn fleet_file(path: &std::path::Path, ports: &[u16]) {
    let list: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("- {{id: c{i}, name: c{i}, labels: {{env: prod}}, prometheus: {{url: \"http://127.0.0.1:{p}\"}}}}\n"))
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, list).expect("write the discovery file");
    std::fs::rename(&tmp, path).expect("swap the discovery file in"); // as a ConfigMap update does
}

async fn discovery_scale(servers: &tokio::runtime::Handle, iters: usize) {
    const N: usize = 500;
    let body = small_body();
    let mut ports = Vec::new();
    for _ in 0..=N {
        ports.push(servers.spawn(upstream(body.clone(), DELAY)).await.unwrap().port);
    }
    let dir = std::env::temp_dir().join(format!("fleetscope-bench-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("clusters.yaml");
    fleet_file(&file, &ports[..N]);
    let t = Instant::now();
    let live = fleetscope::discovery::Live::new(Registry::from_yaml(&fleet_yaml(&file)).expect("fleet registry"));
    let fed = live.first_looks(Duration::from_secs(30)).await;
    let first_look = ms(t.elapsed());
    assert_eq!(fed.registry.clusters().len(), N, "every discovered cluster is registered");

    // QueryData's two halves timed apart: the fan-out (requests, parsing, merging) and the
    // Arrow encoding of every frame (one thread, as plugin::data does it).
    let run = |expr: String, clusters: usize| {
        let fed = live.current();
        async move {
            let t = Instant::now();
            let frames = federation::execute(&fed, &request(&expr, clusters)).await.expect("execute");
            let executed = ms(t.elapsed());
            let _bytes: usize = frames.iter().map(|f| arrow::encode(f).expect("encode").len()).sum();
            (ms(t.elapsed()), executed, frames.len())
        }
    };
    for w in 0..3 {
        run(format!("up + {w}"), N).await; // connections up, pools warm
    }
    let (mut one, mut all, mut all_exec) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..iters {
        let (t1, _, n1) = run(format!("up * {i}"), 1).await;
        let (tn, en, nn) = run(format!("up * {i}"), N).await;
        assert_eq!((n1, nn), (4, 4 * N), "every cluster answered");
        one.push(t1);
        all.push(tn);
        all_exec.push(en);
    }
    let (m1, mn, me) = (median(one), median(all.clone()), median(all_exec));

    // A cluster appears in the file: how long until a query for it answers.
    fleet_file(&file, &ports);
    let t = Instant::now();
    let mut rx = live.subscribe();
    rx.wait_for(|f| f.registry.clusters().len() == N + 1).await.expect("republished");
    let republished = ms(t.elapsed());
    let new_id = format!("c{N}");
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(END_MS - 3_600_000, END_MS).unwrap(),
        interval_ms: 60_000,
        max_data_points: 1000,
    };
    let req = query::parse("", format!(r#"{{"expr":"up","clusters":["{new_id}"]}}"#).as_bytes(), env).expect("query");
    let frames = federation::execute(&live.current(), &req).await.expect("the new cluster answers");
    let queryable = ms(t.elapsed());
    assert_eq!(frames.iter().filter(|f| !f.fields.is_empty()).count(), 4, "{new_id} answered");
    drop(live);

    // Idle RSS: a child holding the 500 discovered clusters vs one holding one.
    let mut rss = Vec::new();
    for n in [1, N] {
        let f = dir.join(format!("clusters-{n}.yaml"));
        fleet_file(&f, &ports[..n]);
        let out = tokio::process::Command::new(std::env::current_exe().unwrap())
            .env(FLEET_CHILD_ENV, format!("{}:{n}", f.display()))
            .output()
            .await
            .expect("run the fleet child");
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let kib: f64 = line.strip_prefix("rss_kib=").and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            panic!("fleet child: {line} {}", String::from_utf8_lossy(&out.stderr));
        });
        rss.push(kib / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "discovery, {N} clusters from a file: first look {first_look:.0} ms; fan-out median {mn:.1} ms ({me:.1} ms of it before the Arrow encoding of the {} frames) vs {m1:.1} ms for one = {:.3}× (goal ≤ 1.25); \
         a cluster added to the file: republished after {republished:.0} ms, answering after {queryable:.0} ms (file polled every 50 ms); \
         idle RSS {:.1} MiB with {N} clusters vs {:.1} MiB with 1 ({:.1} KiB per cluster)",
        4 * N,
        mn / m1,
        rss[1],
        rss[0],
        (rss[1] - rss[0]) * 1024.0 / (N - 1) as f64
    );
    println!(
        r#"RESULT {{"bench":"discovery","clusters":{N},"first_look_ms":{first_look:.1},"one_ms":{m1:.3},"all_ms":{mn:.3},"all_execute_ms":{me:.3},"ratio":{:.4},"p90_all_ms":{:.3},"republished_ms":{republished:.1},"queryable_ms":{queryable:.1},"idle_rss_mib":{:.2},"idle_rss_one_mib":{:.2}}}"#,
        mn / m1,
        pct(all, 0.9),
        rss[1],
        rss[0]
    );
}

/// Child process: a datasource instance whose clusters come from the file, idle after its first look.
fn fleet_child(spec: &str) {
    let (path, n) = spec.rsplit_once(':').expect("path:count");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let live = fleetscope::discovery::Live::new(Registry::from_yaml(&fleet_yaml(std::path::Path::new(path))).expect("fleet registry"));
        let fed = live.first_looks(Duration::from_secs(30)).await;
        assert_eq!(fed.registry.clusters().len().to_string(), n);
        drop(fed);
        tokio::time::sleep(Duration::from_millis(300)).await; // a few polls: the steady state
        println!("rss_kib={}", status_kib("VmRSS:"));
    });
}

fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Child process: a Federation and nothing else answers the 10k-series query.
fn rss_child(port: u16, cache: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let fed = federation(&[port], 120.0, cache);
        let idle = status_kib("VmRSS:");
        let (frames, arrow_bytes) = query_data(&fed, "DCGM_FI_DEV_GPU_UTIL", 1).await;
        let peak = status_kib("VmHWM:");
        println!(r#"{{"idle_kib":{idle},"peak_kib":{peak},"frames":{},"arrow_bytes":{arrow_bytes}}}"#, frames.len());
    });
}

async fn rss(servers: &tokio::runtime::Handle) {
    let dir = std::env::var("FLEETSCOPE_BENCH_BODIES").unwrap_or_else(|_| "target/bench-bodies".into());
    let path = format!("{dir}/10k.json");
    let Ok(body) = std::fs::read(&path) else {
        println!("rss: {path} missing — `make bench` writes it (cargo run --release --example peer_convert gen {dir}); skipped");
        return;
    };
    let body_len = body.len();
    let up = servers.spawn(upstream(Bytes::from(body), Duration::ZERO)).await.unwrap();
    for cache in [true, false] {
        let out = tokio::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, format!("{}:{cache}", up.port))
            .output()
            .await
            .expect("run RSS child");
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let num = |k: &str| -> f64 {
            line.split(&format!("\"{k}\":")).nth(1).and_then(|r| r.split([',', '}']).next()).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
        };
        let (idle, peak) = (num("idle_kib") * 1024.0, num("peak_kib") * 1024.0);
        let mib = |b: f64| b / (1024.0 * 1024.0);
        println!(
            "rss 10k series (cache {}): idle {:.1} MiB, peak {:.1} MiB, peak − idle {:.1} MiB = {:.2}× the {:.1} MiB body",
            if cache { "on" } else { "off" },
            mib(idle),
            mib(peak),
            mib(peak - idle),
            (peak - idle) / body_len as f64,
            mib(body_len as f64)
        );
        println!(
            r#"RESULT {{"bench":"rss10k","cache":{cache},"body_bytes":{body_len},"idle_kib":{},"peak_kib":{},"peak_over_body":{:.3},"peak_minus_idle_over_body":{:.3}}}"#,
            idle / 1024.0,
            peak / 1024.0,
            peak / body_len as f64,
            (peak - idle) / body_len as f64
        );
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (port, cache) = spec.split_once(':').expect("port:cache");
        return rss_child(port.parse().unwrap(), cache == "true");
    }
    if let Ok(spec) = std::env::var(FLEET_CHILD_ENV) {
        return fleet_child(&spec);
    }
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let iters: usize = std::env::var("FLEETSCOPE_BENCH_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);

    // Upstreams on their own thread and runtime; the measured side on another.
    let servers = tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("upstreams").enable_all().build().unwrap();
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let handle = servers.handle().clone();
    client.block_on(async {
        if want("scaling") {
            scaling(&handle, iters).await;
        }
        if want("hung") {
            hung(&handle).await;
        }
        if want("cache") {
            cache(&handle).await;
        }
        if want("rss") {
            rss(&handle).await;
        }
        if want("discovery") {
            discovery_scale(&handle, iters).await;
        }
        if want("isolation") {
            let rounds = std::env::var("FLEETSCOPE_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
            isolation(&handle, rounds).await;
        }
    });
    drop(servers);
}
