//! Telco CNF probes: PTP ([`ptp`]), SR-IOV ([`sriov`]), CNF workloads
//! ([`workloads`]) and DPDK telemetry ([`dpdk`]). Pure: Kubernetes objects,
//! metric series and exec output in, rows out.

pub mod dpdk;
pub mod ptp;
pub mod sriov;
pub mod workloads;
