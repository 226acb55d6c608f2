//! Kubernetes access of one cluster (GPU and CNF probes), with the `kube` crate.
//!
//! * Connection: `kubernetes.server` + `secureJsonData` (`<id>[.kubernetes].bearerToken`,
//!   `tlsCACert`, `tlsClientCert` + `tlsClientKey`); an empty `server` means the
//!   in-cluster config (service-account token and CA of the pod Grafana runs in).
//!   TLS is rustls with ring, like reqwest here (no aws-lc provider in the tree).
//! * Reads: node lists, pod lists, custom resources ([`KubeClient::list_custom`],
//!   for the CNF probes: `ptp.openshift.io/v1` …). They follow the policy of
//!   `upstream::http` reads: the body is cut off at `query.maxResponseBytes`,
//!   3xx is refused (never followed), and a read is tried `query.retryAttempts`
//!   times, again only after a connect error, a 5xx or a 429 (`Retry-After`
//!   honoured). kube's own retry layer (15 retries on 429/503/504, execs
//!   included) is switched off.
//! * Exec: **an allowlist**. [`AllowedCommand`] can only be built from `'static`
//!   argument lists written in this crate's code (the nvidia-smi commands here;
//!   the DPDK telemetry commands belong beside them), so nothing from a query can
//!   reach a command line. Pod, namespace and container come from the registry
//!   and from the cluster's own pod list. Exec runs over kube's websocket
//!   (`v5.channel.k8s.io`, falling back to `v4.channel.k8s.io`): stdout/stderr are
//!   collected up to [`MAX_EXEC_OUTPUT`], the status channel decides success, and
//!   each exec has its own timeout. An exec is never retried: a command is not
//!   idempotent in general, and a node's failure is reported as that node's.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Resource;
use kube::api::{Api, AttachParams, DynamicObject, ListParams, ObjectList};
use kube::discovery::ApiResource;
use serde::de::DeserializeOwned;
use tokio::io::AsyncReadExt;

use super::UpstreamError;
use super::http::{connect_error, error_chain, redirect_refused, retry_after, retry_reads, summarize_error_body};
use crate::error::ErrorCode;
use crate::registry::{KubernetesAccess, QueryLimits};

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
    #[error("exec output exceeds {MAX_EXEC_OUTPUT} bytes")]
    TooLarge,
    #[error("exec failed: {0}")]
    Failed(String),
}

impl ExecError {
    /// The error code a cluster gets when every one of its execs failed this way.
    pub fn code(&self) -> ErrorCode {
        match self {
            ExecError::Timeout(_) => ErrorCode::QueryTimeout,
            ExecError::TooLarge => ErrorCode::ResponseTooLarge,
            ExecError::Exit { .. } | ExecError::Failed(_) => ErrorCode::UpstreamError,
        }
    }
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
    /// Tries per list read (`query.retryAttempts`); execs get one.
    attempts: u32,
    retry_delay: Duration,
    /// Largest list body (`query.maxResponseBytes`).
    max_body: usize,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeClient")
    }
}

fn kube_error(e: kube::Error) -> UpstreamError {
    match e {
        kube::Error::Api(status) => UpstreamError::Status { status: status.code, message: status.message.clone() },
        kube::Error::HyperError(e) => connect_error(&e),
        kube::Error::Service(e) => connect_error(e.as_ref()),
        other => UpstreamError::Request(other.to_string()),
    }
}

/// Read a response body, cut off at `max` bytes (checked against
/// `Content-Length` first, like `upstream::http`).
async fn read_body(resp: http::Response<kube::client::Body>, max: usize) -> Result<Bytes, UpstreamError> {
    let declared = resp.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(UpstreamError::TooLarge { limit: max });
    }
    let mut body = resp.into_body();
    let mut buf = BytesMut::with_capacity(declared.map_or(8 * 1024, |l| l as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| UpstreamError::Decode(format!("body read failed: {}", error_chain(&e))))?;
        if let Some(chunk) = frame.data_ref() {
            if buf.len() + chunk.len() > max {
                return Err(UpstreamError::TooLarge { limit: max });
            }
            buf.extend_from_slice(chunk);
        }
    }
    Ok(buf.freeze())
}

impl KubeClient {
    /// Build a client from the registry's access settings. Must run inside a
    /// Tokio runtime. `limits.timeout` bounds connecting (the federation bounds
    /// each cluster's whole call; execs have their own); retries and the body
    /// cap of list reads come from `limits` too.
    pub fn new(access: &KubernetesAccess, limits: &QueryLimits) -> Result<Self, UpstreamError> {
        let timeout = limits.timeout;
        let mut config = match &access.server {
            Some(url) => {
                let uri: http::Uri = url.as_str().parse().map_err(|e| UpstreamError::Request(format!("kubernetes.server: {e}")))?;
                kube::Config::new(uri)
            }
            None => kube::Config::incluster()
                .map_err(|e| UpstreamError::Connect(format!("kubernetes.server is empty and the in-cluster config is unavailable ({e})")))?,
        };
        let creds = &access.credentials;
        if let Some(ca) = &creds.ca_cert_pem {
            let certs = pem::parse_many(ca.expose().as_bytes()).map_err(|e| UpstreamError::Request(format!("tlsCACert is not PEM: {e}")))?;
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
            config.auth_info.client_certificate_data = Some(STANDARD.encode(cert.expose().as_bytes()));
            config.auth_info.client_key_data = Some(secrecy::SecretString::from(STANDARD.encode(key.expose().as_bytes())));
        }
        config.accept_invalid_certs = access.tls_skip_verify;
        config.connect_timeout = Some(timeout);
        config.read_timeout = None;
        // Retries are this client's (reads only, `retryAttempts`), never kube's.
        config.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| UpstreamError::Request(format!("kubernetes client: {e}")))?;
        Ok(KubeClient { client, attempts: limits.retry_attempts.max(1), retry_delay: limits.retry_delay, max_body: limits.max_response_bytes })
    }

    /// The underlying `kube` client (discovery watches Secrets with it).
    pub fn raw(&self) -> kube::Client {
        self.client.clone()
    }

    /// GET a list at `url_path` under the read policy, decoded as `ObjectList<K>`.
    async fn list<K: DeserializeOwned + Clone>(&self, url_path: &str, lp: &ListParams) -> Result<ObjectList<K>, UpstreamError> {
        let req = kube::core::Request::new(url_path).list(lp).map_err(|e| UpstreamError::Request(format!("list {url_path}: {e}")))?;
        let body = retry_reads(self.attempts, self.retry_delay, || self.get_once(&req)).await?;
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Decode(format!("{url_path}: {e}")))
    }

    /// `GET /version` under the read policy: the API server's `gitVersion`
    /// (the health check's probe — every authenticated client may read it).
    pub async fn version(&self) -> Result<String, UpstreamError> {
        #[derive(serde::Deserialize)]
        struct Info {
            #[serde(rename = "gitVersion")]
            git_version: String,
        }
        let req = http::Request::get("/version").body(Vec::new()).map_err(|e| UpstreamError::Request(format!("version: {e}")))?;
        let body = retry_reads(self.attempts, self.retry_delay, || self.get_once(&req)).await?;
        serde_json::from_slice::<Info>(&body).map(|i| i.git_version).map_err(|e| UpstreamError::Decode(format!("/version: {e}")))
    }

    /// One attempt: the 2xx body, or the error and the `Retry-After` it came with.
    async fn get_once(&self, req: &http::Request<Vec<u8>>) -> (Result<Bytes, UpstreamError>, Option<Duration>) {
        let mut request = http::Request::new(kube::client::Body::from(req.body().clone()));
        *request.method_mut() = req.method().clone();
        *request.uri_mut() = req.uri().clone();
        *request.headers_mut() = req.headers().clone();
        let resp = match self.client.send(request).await {
            Ok(r) => r,
            Err(e) => return (Err(kube_error(e)), None),
        };
        let status = resp.status();
        let wait = retry_after(resp.headers());
        if status.is_redirection() {
            let to = resp.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
            return (Err(redirect_refused(status.as_u16(), to)), None);
        }
        let body = read_body(resp, self.max_body).await;
        if status.is_success() {
            return (body, None);
        }
        // Kubernetes `Status` bodies carry `message`; proxies' HTML pages their `<title>`.
        let message = match body {
            Ok(b) => summarize_error_body(&b),
            Err(e) => e.to_string(),
        };
        (Err(UpstreamError::Status { status: status.as_u16(), message }), wait)
    }

    /// Nodes with `nvidia.com/gpu` capacity > 0.
    pub async fn gpu_nodes(&self) -> Result<Vec<GpuNode>, UpstreamError> {
        let list = self.list::<Node>(&Node::url_path(&(), None), &ListParams::default()).await?;
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
            let ready =
                status.and_then(|s| s.conditions.as_ref()).map(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")).unwrap_or(false);
            out.push(GpuNode { name, gpu_capacity: capacity, ready, labels: n.metadata.labels.unwrap_or_default() });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Pods of a namespace (optionally with a label selector from the registry).
    pub async fn pods(&self, namespace: &str, label_selector: Option<&str>) -> Result<Vec<PodRef>, UpstreamError> {
        let mut lp = ListParams::default();
        if let Some(sel) = label_selector {
            lp = lp.labels(sel);
        }
        let list = self.list::<Pod>(&Pod::url_path(&(), Some(namespace)), &lp).await?;
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
        Ok(self.list::<DynamicObject>(&DynamicObject::url_path(&ar, namespace), &ListParams::default()).await?.items)
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
        let status = async move {
            match status {
                Some(s) => s.await,
                None => None,
            }
        };
        // The first stream to fail ends the exec: dropping `attached` aborts its
        // websocket task.
        let outputs = async { tokio::try_join!(read_capped(stdout), read_capped(stderr)) };
        tokio::pin!(status, outputs);
        // kube shuts the stdout/stderr pipes only when the stream ends well: when
        // the socket dies mid-stream, readers would wait for an EOF that never
        // comes. The status channel closing without a status says so at once.
        let ((stdout, stderr), status) = tokio::select! {
            o = &mut outputs => (o?, status.await),
            s = &mut status => match s {
                Some(s) => (outputs.await?, Some(s)),
                None => return Err(ExecError::Failed("the exec stream ended without a status".into())),
            },
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
        return Err(ExecError::TooLarge);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
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
        Ok(self.list::<Pod>(&Pod::url_path(&(), namespace), &ListParams::default()).await?.items)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn allowlist_is_the_seed_commands() {
        assert_eq!(super::AllowedCommand::NVIDIA_SMI_GPUS.argv()[0], "nvidia-smi");
        assert_eq!(super::AllowedCommand::NVIDIA_SMI_APPS.argv()[1], "--query-compute-apps=pid,process_name,used_memory");
    }
}
