//! Fleetscope: a Grafana backend datasource that federates PromQL (and, as they
//! land, LogQL, TraceQL, Alertmanager, GPU and CNF probes) across clusters.
//!
//! Where things happen:
//! * a request enters through [`plugin`] (Grafana, gRPC) or [`cli`] (by hand);
//! * [`query`] parses it once into the query model; [`registry`] says which
//!   clusters exist and how to reach them;
//! * [`federation`] fans it out (limits, timeouts, partial results);
//! * [`upstream`] is the only code that talks HTTP to cluster backends;
//! * [`frames`] turns upstream bytes into Grafana frames and encodes them;
//! * [`api`] is the HTTP resource API shared by CallResource and `serve`.

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
