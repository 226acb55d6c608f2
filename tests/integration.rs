//! The integration suites, one test binary. Each `tests/<suite>.rs` is a module
//! here: a release build links this binary once instead of once per suite (23
//! static links of the whole dependency graph were most of `make test`'s Rust
//! time). Run one suite with `cargo test --release --test integration <suite>::`.
//!
//! Two suites stay binaries of their own (Cargo.toml's `[[test]]` list says why):
//! `fault_matrix` counts the process's open fds, and `cache_and_breaker` counts
//! requests on a real Prometheus; both need the process, or the stack, to
//! themselves, and cargo runs test binaries one after another.
//!
//! Cargo.toml has `autotests = false`, so a new `tests/*.rs` file builds only once
//! it is mounted here or listed there; `every_suite_is_built` fails until it is.

mod support;

mod alerts;
mod bad_input;
mod clickhouse_federation;
mod cnf_probes;
mod dashboards;
mod deploy_manifests;
mod discovery;
mod fuzz_smoke;
mod gpu_probes;
mod gpu_stream;
mod isolation;
mod loki_federation;
mod loki_golden;
mod loki_tail;
mod module_layers;
mod packaging;
mod prometheus_federation;
mod prometheus_golden;
mod security_audit;
mod serve_service;
mod tempo_federation;

/// Every `tests/*.rs` file is a suite of this binary or a `[[test]]` of Cargo.toml.
#[test]
fn every_suite_is_built() {
    let root = env!("CARGO_MANIFEST_DIR");
    let here = include_str!("integration.rs");
    let manifest = std::fs::read_to_string(format!("{root}/Cargo.toml")).expect("Cargo.toml");
    let mut unbuilt = Vec::new();
    for entry in std::fs::read_dir(format!("{root}/tests")).expect("tests/") {
        let name = entry.expect("tests/ entry").file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".rs") else { continue };
        let mounted = here.lines().any(|l| l == format!("mod {stem};"));
        let own_binary = manifest.contains(&format!("path = \"tests/{name}\""));
        if !mounted && !own_binary {
            unbuilt.push(name);
        }
    }
    assert!(unbuilt.is_empty(), "not built by cargo test (mount it in tests/integration.rs): {unbuilt:?}");
}

/// Ports for child-process servers are distinct, free, and below the
/// kernel's ephemeral range.
#[test]
fn reserved_ports_never_meet_the_kernels_or_each_other() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").expect("ip_local_port_range");
    let low: u16 = range.split_whitespace().next().and_then(|p| p.parse().ok()).expect("a port number");
    let ports: Vec<u16> = (0..64).map(|_| support::ports::reserve()).collect();
    let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    assert!(ports.iter().all(|&p| (support::ports::FIRST..low).contains(&p)), "{ports:?} not in {}..{low}", support::ports::FIRST);
    for p in ports {
        std::net::TcpListener::bind(("127.0.0.1", p)).unwrap_or_else(|e| panic!("reserved port {p} is not free: {e}"));
    }
}
