//! Fleetscope: a Grafana backend datasource that federates PromQL, LogQL and
//! TraceQL, Alertmanager alerts, GPU and CNF probes across clusters.
//!
//! Where things happen:
//! * a request enters through [`plugin`] (Grafana, gRPC) or [`cli`] (by hand:
//!   `serve`, `query`, `check`, the macOS exporter);
//! * [`query`] parses it once into the query model (its table of kinds,
//!   [`query::KINDS`], is the one list of `queryType`s); [`registry`] says which
//!   clusters exist and how to reach them (and checks discovery's settings);
//!   [`discovery`] keeps that set live (file, HTTP registry and Kubernetes
//!   Secret sources);
//! * [`federation`] fans it out (limits, timeouts, partial results), with
//!   [`cache`] (TTL cache, single-flight, optional Redis) in front of upstreams,
//!   under the query's one [`deadline`] (slot waits, requests and retries all count);
//! * [`upstream`] is the only code that talks to cluster backends (HTTP, Kubernetes);
//!   [`clickhouse`] is the long-term store's SQL, decoding and clients (its
//!   query model is `query::clickhouse` and its executor
//!   `federation::clickhouse`, as every kind's are);
//! * [`probes`] parse what is read from nodes (nvidia-smi, DPDK telemetry, PTP,
//!   powermetrics) — text in, rows out;
//! * [`frames`] turns upstream bytes into Grafana frames and encodes them
//!   (Arrow IPC for QueryData, frame JSON for streams and the HTTP API);
//! * [`api`] is the HTTP resource API shared by CallResource and `serve`;
//! * [`store`] keeps alert state and history (SQLite, or Redis for HA);
//! * [`model`] holds the vocabulary every layer shares (a labelled series, an
//!   alert and its transitions, a trace ID, durations, log order), so none of
//!   them imports another's;
//! * [`error`] is the one error vocabulary (the seed's codes); [`telemetry`]
//!   the plugin's own metrics.
//!
//! These modules form layers: none imports one that imports it back
//! (`tests/module_layers.rs` checks it).

pub mod api;
pub mod cache;
pub mod cli;
pub mod clickhouse;
pub mod deadline;
pub mod discovery;
pub mod error;
pub mod federation;
pub mod frames;
pub mod model;
pub mod plugin;
pub mod probes;
pub mod query;
pub mod registry;
pub mod store;
pub mod telemetry;
pub mod upstream;
