//! Fleetscope: a Grafana backend datasource that federates PromQL, LogQL and
//! TraceQL, Alertmanager alerts, GPU and CNF probes across clusters.
//!
//! Where things happen:
//! * a request enters through [`plugin`] (Grafana, gRPC) or [`cli`] (by hand:
//!   `serve`, `query`, `check`, the macOS exporter);
//! * [`query`] parses it once into the query model (its table of kinds,
//!   [`query::KINDS`], is the one list of `queryType`s); [`registry`] says which
//!   clusters exist and how to reach them;
//! * [`federation`] fans it out (limits, timeouts, partial results), with
//!   [`cache`] (TTL cache, single-flight, optional Redis) in front of upstreams;
//! * [`upstream`] is the only code that talks to cluster backends (HTTP, Kubernetes);
//! * [`probes`] parse what is read from nodes (nvidia-smi, DPDK telemetry, PTP,
//!   powermetrics) — text in, rows out;
//! * [`frames`] turns upstream bytes into Grafana frames and encodes them
//!   (Arrow IPC for QueryData, frame JSON for streams and the HTTP API);
//! * [`api`] is the HTTP resource API shared by CallResource and `serve`;
//! * [`store`] keeps alert state and history (SQLite, or Redis for HA);
//! * [`error`] is the one error vocabulary (the seed's codes); [`telemetry`]
//!   the plugin's own metrics.

pub mod api;
pub mod cache;
pub mod cli;
pub mod clickhouse;
pub mod error;
pub mod federation;
pub mod frames;
pub mod plugin;
pub mod probes;
pub mod query;
pub mod registry;
pub mod store;
pub mod telemetry;
pub mod upstream;
