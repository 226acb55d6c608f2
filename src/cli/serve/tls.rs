//! `--tls-cert`/`--tls-key`: rustls (ring, like every other TLS in the tree)
//! with the PEM pair re-read when it changes on disk.
//!
//! cert-manager and Kubernetes Secret volumes replace files by swapping a
//! symlink, so nothing is watched: each new connection compares the files'
//! (mtime, size, inode) with the loaded pair's — two `stat` calls — and
//! reloads on a difference. A pair that does not load (a key that does not
//! match, a half-written file) keeps the previous certificate in service and
//! is reported once; the next change is tried again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

use super::log_event;

type Signature = [(SystemTime, u64, u64); 2];

/// The serving certificate and the files it came from.
pub struct ReloadingTls {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<State>,
}

struct State {
    loaded: Signature,
    /// The last signature that failed to load (reported once).
    failed: Option<Signature>,
    acceptor: TlsAcceptor,
}

fn signature(cert: &Path, key: &Path) -> std::io::Result<Signature> {
    let one = |p: &Path| -> std::io::Result<(SystemTime, u64, u64)> {
        let m = std::fs::metadata(p)?;
        Ok((m.modified()?, m.len(), m.ino()))
    };
    Ok([one(cert)?, one(key)?])
}

fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let chain: Vec<CertificateDer<'static>> = pem::parse_many(read(cert)?)
        .map_err(|e| format!("{}: not PEM: {e}", cert.display()))?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect();
    if chain.is_empty() {
        return Err(format!("{}: no CERTIFICATE block", cert.display()));
    }
    let key_der: PrivateKeyDer<'static> = pem::parse_many(read(key)?)
        .map_err(|e| format!("{}: not PEM: {e}", key.display()))?
        .into_iter()
        .find_map(|p| match p.tag() {
            "PRIVATE KEY" => Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.into_contents()))),
            "RSA PRIVATE KEY" => Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(p.into_contents()))),
            "EC PRIVATE KEY" => Some(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(p.into_contents()))),
            _ => None,
        })
        .ok_or_else(|| format!("{}: no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| format!("{} / {}: {e}", cert.display(), key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl ReloadingTls {
    /// Load the pair now; a pair that does not load is a startup error.
    pub fn load(cert: PathBuf, key: PathBuf) -> Result<ReloadingTls, String> {
        let loaded = signature(&cert, &key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
        let acceptor = TlsAcceptor::from(Arc::new(server_config(&cert, &key)?));
        Ok(ReloadingTls { cert, key, state: Mutex::new(State { loaded, failed: None, acceptor }) })
    }

    /// The acceptor for a new connection, reloading the pair if it changed.
    pub fn acceptor(&self) -> TlsAcceptor {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(now) = signature(&self.cert, &self.key) else {
            return st.acceptor.clone();
        };
        if now == st.loaded || st.failed == Some(now) {
            return st.acceptor.clone();
        }
        match server_config(&self.cert, &self.key) {
            Ok(config) => {
                st.acceptor = TlsAcceptor::from(Arc::new(config));
                st.loaded = now;
                st.failed = None;
                log_event("info", "tls_reloaded", serde_json::json!({ "cert": self.cert.display().to_string() }));
            }
            Err(e) => {
                st.failed = Some(now);
                log_event("warn", "tls_reload_failed", serde_json::json!({ "error": e, "keeping": "the previous certificate" }));
            }
        }
        st.acceptor.clone()
    }
}
