//! `type: file`: a YAML or JSON file of clusters in the `jsonData.clusters`
//! shape (a mounted ConfigMap, a GitOps checkout), re-read when it changes.
//!
//! The file is polled every `refreshSeconds` (default 10): its modification
//! time and length first, then a hash of its bytes, so an unchanged file costs
//! one `stat`. A ConfigMap mount swaps a symlink; the path is followed each
//! time. A file that cannot be read or parsed keeps the last good list and the
//! source reports why (with the path in the file, e.g. `clusters[2].prometheus.url`).
//! The file carries no secrets: its clusters' credentials are the usual
//! `secureJsonData` keys (`<id>.bearerToken`, …).

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Deserialize;

use super::live::Publisher;
use super::{DiscoveredCluster, Found, Look, refresh_interval};
use crate::registry::ONLINE;
use crate::registry::settings::ClusterSettings;

/// `{clusters: [...]}` (a bare list is accepted too).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileObject {
    clusters: Vec<ClusterSettings>,
}

/// Parse the file's text: YAML (JSON is YAML too), the error naming the path
/// inside the file.
pub fn parse(text: &str) -> Result<Found, String> {
    if text.trim().is_empty() {
        return Ok(Found::default());
    }
    // Decide the shape from the top level first, so errors name the real path.
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML/JSON: {e}"))?;
    let list: Vec<ClusterSettings> = match value {
        serde_yaml::Value::Sequence(_) => {
            serde_path_to_error::deserialize(value).map_err(|e| format!("at `clusters{}`: {}", index_path(&e.path().to_string()), e.inner()))?
        }
        serde_yaml::Value::Mapping(_) => {
            let obj: FileObject = serde_path_to_error::deserialize(value).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))?;
            obj.clusters
        }
        serde_yaml::Value::Null => Vec::new(),
        _ => return Err("expected a list of clusters or an object with `clusters`".into()),
    };
    Ok(list
        .into_iter()
        .map(|settings| DiscoveredCluster { settings, status: ONLINE.to_owned(), secrets: Default::default() })
        .collect::<Vec<_>>()
        .into())
}

/// `[2].prometheus.url` for a top-level list.
fn index_path(p: &str) -> String {
    if p == "." { String::new() } else { p.to_owned() }
}

/// The file's identity as last read: only a change of it re-reads.
#[derive(Debug, Default)]
pub struct FileWatch {
    path: PathBuf,
    seen: Option<(Option<SystemTime>, u64)>,
    hash: Option<u64>,
    failing: bool,
}

impl FileWatch {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileWatch { path: path.into(), ..Default::default() }
    }

    /// Look at the file: `None` when it is as last read, else the new list or
    /// why there is none.
    pub async fn poll(&mut self) -> Option<Look> {
        let shown = self.path.display().to_string();
        let meta = match tokio::fs::metadata(&self.path).await {
            Ok(m) => m,
            Err(e) => return self.failed(format!("{shown}: {e}")),
        };
        let stamp = (meta.modified().ok(), meta.len());
        if self.seen == Some(stamp) && !self.failing {
            return None;
        }
        let bytes = match tokio::fs::read(&self.path).await {
            Ok(b) => b,
            Err(e) => return self.failed(format!("{shown}: {e}")),
        };
        self.seen = Some(stamp);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let hash = h.finish();
        if self.hash == Some(hash) && !self.failing {
            return None;
        }
        self.hash = Some(hash);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return self.failed(format!("{shown}: not UTF-8 text")),
        };
        match parse(&text) {
            Ok(list) => {
                self.failing = false;
                Some(Ok(list))
            }
            Err(e) => self.failed(format!("{shown}: {e}")),
        }
    }

    /// A failure is reported once per change of the file (or of the error).
    fn failed(&mut self, why: String) -> Option<Look> {
        self.failing = true;
        Some(Err(why))
    }
}

/// The source's task: poll, publish changes.
pub async fn run(publisher: Publisher) {
    let settings = publisher.settings();
    let every = refresh_interval(&settings, 10.0);
    let mut watch = FileWatch::new(settings.path.unwrap_or_default());
    let mut last_error: Option<String> = None;
    loop {
        match watch.poll().await {
            None => {}
            Some(Err(e)) if last_error.as_ref() == Some(&e) => {}
            Some(look) => {
                last_error = look.as_ref().err().cloned();
                publisher.publish(look);
            }
        }
        tokio::time::sleep(every).await;
    }
}
