//! A test's own directory under the system temp dir (`fleetscope-<tag>-<pid>-<ns>`):
//! removed when the test passes, kept with whatever its servers wrote there
//! (logs, databases) when it fails, for the post-mortem.

use std::path::{Path, PathBuf};

pub struct TempDir(PathBuf);

/// A new, empty directory for `tag`.
pub fn dir(tag: &str) -> TempDir {
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let d = std::env::temp_dir().join(format!("fleetscope-{tag}-{}-{ns}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    TempDir(d)
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
