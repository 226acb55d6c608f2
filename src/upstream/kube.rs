//! Kubernetes access of one cluster (GPU and CNF probes), with the `kube` crate.
//!
//! * Connection: `kubernetes.server` + `secureJsonData` (`<id>[.kubernetes].bearerToken`,
//!   `tlsCACert`, `tlsClientCert` + `tlsClientKey`); an empty `server` means the
//!   in-cluster config (service-account token and CA of the pod Grafana runs in).
//!   TLS is rustls with ring, like reqwest here (no aws-lc provider in the tree).
//! * Reads: node lists, pod lists, custom resources ([`KubeClient::list_custom`],
//!   for the CNF probes: `ptp.openshift.io/v1` …).
//! * Exec: **an allowlist**. [`AllowedCommand`] can only be built from `'static`
//!   argument lists written in this crate's code (the nvidia-smi commands here;
//!   the DPDK telemetry commands belong beside them), so nothing from a query can
//!   reach a command line. Pod, namespace and container come from the registry
//!   and from the cluster's own pod list. Exec runs over kube's websocket
//!   (`v5.channel.k8s.io`, falling back to `v4.channel.k8s.io`): stdout/stderr are
//!   collected up to [`MAX_EXEC_OUTPUT`], the status channel decides success, and
//!   each exec has its own timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, AttachParams, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use tokio::io::AsyncReadExt;

use super::UpstreamError;
use crate::registry::KubernetesAccess;

/// Largest stdout (or stderr) an exec may return.
pub const MAX_EXEC_OUTPUT: usize = 4 * 1024 * 1024;

/// A command the plugin may run in a pod. Only code in this crate can make
/// one, and only from `'static` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedCommand(&'static [&'static str]);

impl AllowedCommand {
    /// nvidia-smi GPU telemetry (`probes::gpu::nvidia_smi::QUERY_GPU_COMMAND`).
    pub const NVIDIA_SMI_GPUS: AllowedCommand = AllowedCommand::new(&crate::probes::gpu::nvidia_smi::QUERY_GPU_COMMAND);
    /// nvidia-smi compute processes (`probes::gpu::nvidia_smi::QUERY_APPS_COMMAND`).
    pub const NVIDIA_SMI_APPS: AllowedCommand = AllowedCommand::new(&crate::probes::gpu::nvidia_smi::QUERY_APPS_COMMAND);

    /// For other probes' fixed commands (CNF: the DPDK telemetry reader), declared
    /// as `const`s beside their parsers. Only `'static` literals fit; a command that
    /// needs a value (a DPDK port id) should get a variant here that carries it typed
    /// (`u16`), never a string from a query.
    pub(crate) const fn new(argv: &'static [&'static str]) -> Self {
        AllowedCommand(argv)
    }

    pub fn argv(&self) -> &'static [&'static str] {
        self.0
    }
}

/// What an exec printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
}

/// Why an exec failed (the node's error, never the cluster's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("exec did not finish within {0:?}")]
    Timeout(Duration),
    #[error("command exited with code {code}: {stderr}")]
    Exit { code: i32, stderr: String },
    #[error("exec failed: {0}")]
    Failed(String),
}

/// A node with its allocatable GPU count (`nvidia.com/gpu` capacity).
#[derive(Debug, Clone, PartialEq)]
pub struct GpuNode {
    pub name: String,
    pub gpu_capacity: u32,
    pub ready: bool,
    pub labels: BTreeMap<String, String>,
}

/// One pod, reduced to what the probes need.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub node: Option<String>,
    pub phase: Option<String>,
    /// `kind/name` of the owners (`DaemonSet/nvidia-driver-daemonset`).
    pub owners: Vec<(String, String)>,
    pub containers: Vec<String>,
}

/// A Kubernetes API client for one cluster.
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeClient")
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn kube_error(e: kube::Error) -> UpstreamError {
    match e {
        kube::Error::Api(status) => UpstreamError::Status { status: status.code, message: status.message.clone() },
        kube::Error::HyperError(e) => UpstreamError::Connect(e.to_string()),
        kube::Error::Service(e) => UpstreamError::Connect(e.to_string()),
        other => UpstreamError::Request(other.to_string()),
    }
}

impl KubeClient {
    /// Build a client from the registry's access settings. Must run inside a
    /// Tokio runtime. `timeout` bounds connecting and each API read (not execs,
    /// which have their own).
    pub fn new(access: &KubernetesAccess, timeout: Duration) -> Result<Self, UpstreamError> {
        let mut config = match &access.server {
            Some(url) => {
                let uri: http::Uri = url.as_str().parse().map_err(|e| UpstreamError::Request(format!("kubernetes.server: {e}")))?;
                kube::Config::new(uri)
            }
            None => kube::Config::incluster().map_err(|e| {
                UpstreamError::Connect(format!("kubernetes.server is empty and the in-cluster config is unavailable ({e})"))
            })?,
        };
        let creds = &access.credentials;
        if let Some(ca) = &creds.ca_cert_pem {
            let certs = pem::parse_many(ca.expose().as_bytes())
                .map_err(|e| UpstreamError::Request(format!("tlsCACert is not PEM: {e}")))?;
            let der: Vec<Vec<u8>> = certs.into_iter().filter(|p| p.tag() == "CERTIFICATE").map(|p| p.into_contents()).collect();
            if der.is_empty() {
                return Err(UpstreamError::Request("tlsCACert holds no CERTIFICATE block".into()));
            }
            config.root_cert = Some(der);
            config.root_cert_file = None;
        }
        if let Some(token) = &creds.bearer_token {
            config.auth_info.token = Some(secrecy::SecretString::from(token.expose().to_owned()));
            config.auth_info.token_file = None;
        }
        if let (Some(cert), Some(key)) = (&creds.client_cert_pem, &creds.client_key_pem) {
            config.auth_info.client_certificate_data = Some(base64(cert.expose().as_bytes()));
            config.auth_info.client_key_data = Some(secrecy::SecretString::from(base64(key.expose().as_bytes())));
        }
        config.accept_invalid_certs = access.tls_skip_verify;
        config.connect_timeout = Some(timeout);
        config.read_timeout = None;
        let client = kube::Client::try_from(config).map_err(|e| UpstreamError::Request(format!("kubernetes client: {e}")))?;
        Ok(KubeClient { client })
    }

    /// Nodes with `nvidia.com/gpu` capacity > 0.
    pub async fn gpu_nodes(&self) -> Result<Vec<GpuNode>, UpstreamError> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let list = nodes.list(&ListParams::default()).await.map_err(kube_error)?;
        let mut out = Vec::new();
        for n in list.items {
            let Some(name) = n.metadata.name.clone() else { continue };
            let status = n.status.as_ref();
            let capacity = status
                .and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("nvidia.com/gpu"))
                .and_then(|q| q.0.trim().parse::<u32>().ok())
                .unwrap_or(0);
            if capacity == 0 {
                continue;
            }
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .map(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                .unwrap_or(false);
            out.push(GpuNode { name, gpu_capacity: capacity, ready, labels: n.metadata.labels.unwrap_or_default() });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Pods of a namespace (optionally with a label selector from the registry).
    pub async fn pods(&self, namespace: &str, label_selector: Option<&str>) -> Result<Vec<PodRef>, UpstreamError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let mut lp = ListParams::default();
        if let Some(sel) = label_selector {
            lp = lp.labels(sel);
        }
        let list = pods.list(&lp).await.map_err(kube_error)?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|p| {
                Some(PodRef {
                    namespace: p.metadata.namespace.clone().unwrap_or_else(|| namespace.to_owned()),
                    name: p.metadata.name.clone()?,
                    node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                    phase: p.status.as_ref().and_then(|s| s.phase.clone()),
                    owners: p.metadata.owner_references.unwrap_or_default().into_iter().map(|o| (o.kind, o.name)).collect(),
                    containers: p.spec.map(|s| s.containers.into_iter().map(|c| c.name).collect()).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Custom resources (`group/version`, `kind`, `plural`) in a namespace, or
    /// cluster-wide when `namespace` is `None` — for the CNF probes.
    pub async fn list_custom(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<DynamicObject>, UpstreamError> {
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        Ok(api.list(&ListParams::default()).await.map_err(kube_error)?.items)
    }

    /// Run an allowlisted command in a pod's container; `timeout` bounds the
    /// whole exec (connect, output, status).
    pub async fn exec(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        command: AllowedCommand,
        timeout: Duration,
    ) -> Result<ExecOutput, ExecError> {
        match tokio::time::timeout(timeout, self.exec_inner(namespace, pod, container, command)).await {
            Ok(r) => r,
            Err(_) => Err(ExecError::Timeout(timeout)),
        }
    }

    async fn exec_inner(&self, namespace: &str, pod: &str, container: Option<&str>, command: AllowedCommand) -> Result<ExecOutput, ExecError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let mut ap = AttachParams::default().stdin(false).stdout(true).stderr(true);
        if let Some(c) = container {
            ap = ap.container(c);
        }
        let mut attached = pods.exec(pod, command.argv().iter().copied(), &ap).await.map_err(|e| ExecError::Failed(kube_error(e).to_string()))?;
        let (Some(stdout), Some(stderr)) = (attached.stdout(), attached.stderr()) else {
            return Err(ExecError::Failed("exec streams unavailable".into()));
        };
        let status = attached.take_status();
        let (out, err) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let (stdout, stderr) = (out?, err?);
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = attached.join().await;
        match status {
            Some(s) if s.status.as_deref() == Some("Success") => Ok(ExecOutput { stdout, stderr }),
            Some(s) => {
                let code = s
                    .details
                    .as_ref()
                    .and_then(|d| d.causes.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
                    .and_then(|c| c.message.as_deref())
                    .and_then(|m| m.trim().parse::<i32>().ok());
                let detail = if stderr.trim().is_empty() { s.message.clone().unwrap_or_default() } else { stderr.trim().to_owned() };
                match code {
                    Some(code) => Err(ExecError::Exit { code, stderr: detail.chars().take(500).collect() }),
                    None => Err(ExecError::Failed(detail.chars().take(500).collect())),
                }
            }
            None => Err(ExecError::Failed("the exec stream ended without a status".into())),
        }
    }
}

async fn read_capped(r: impl tokio::io::AsyncRead + Unpin) -> Result<String, ExecError> {
    let mut buf = Vec::new();
    let n = r.take(MAX_EXEC_OUTPUT as u64 + 1).read_to_end(&mut buf).await.map_err(|e| ExecError::Failed(format!("reading exec output: {e}")))?;
    if n > MAX_EXEC_OUTPUT {
        return Err(ExecError::Failed(format!("exec output exceeds {MAX_EXEC_OUTPUT} bytes")));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn allowlist_is_the_seed_commands() {
        assert_eq!(super::AllowedCommand::NVIDIA_SMI_GPUS.argv()[0], "nvidia-smi");
        assert_eq!(super::AllowedCommand::NVIDIA_SMI_APPS.argv()[1], "--query-compute-apps=pid,process_name,used_memory");
    }
}

/// CNF probes (issue 7): the DPDK telemetry commands and full pod objects.
impl AllowedCommand {
    /// DPDK telemetry `/ethdev/list` (`probes::cnf::dpdk::ETHDEV_LIST_COMMAND`).
    pub const DPDK_ETHDEV_LIST: AllowedCommand = AllowedCommand(&crate::probes::cnf::dpdk::ETHDEV_LIST_COMMAND);

    /// DPDK telemetry `/ethdev/stats,<port>`: an entry of the fixed table
    /// `probes::cnf::dpdk::ETHDEV_STATS_COMMANDS`; `None` beyond it.
    pub fn dpdk_ethdev_stats(port: u32) -> Option<AllowedCommand> {
        crate::probes::cnf::dpdk::ETHDEV_STATS_COMMANDS.get(port as usize).map(|argv| AllowedCommand(argv))
    }
}

impl KubeClient {
    /// Full pod objects of a namespace, or of every namespace when `None`
    /// (CNF workloads read annotations and resource requests).
    pub async fn pod_objects(&self, namespace: Option<&str>) -> Result<Vec<Pod>, UpstreamError> {
        let api: Api<Pod> = match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        Ok(api.list(&ListParams::default()).await.map_err(kube_error)?.items)
    }
}
