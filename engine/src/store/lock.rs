//! Locks shared by every process on the data directory: an exclusive lock
//! (`flock`) on a file in `data_dir/locks/`, released when the guard is
//! dropped or the process dies (the kernel drops it with the last file
//! descriptor, so a killed process never leaves a stale lock behind).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory of the lock files.
pub const LOCK_DIR: &str = "locks";

/// An exclusive lock held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Waits for and takes the lock `name` of `data_dir` (the file is
    /// created 0600 in a 0700 directory when missing).
    pub fn exclusive(data_dir: &Path, name: &str) -> Result<FileLock> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = super::ensure_private_dir(&data_dir.join(LOCK_DIR))?;
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("opening the lock file", &path, e))?;
        file.lock().map_err(|e| Error::io("locking", &path, e))?;
        Ok(FileLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_second_taker_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = FileLock::exclusive(dir.path(), "x.lock").unwrap();
        let taken = Arc::new(AtomicBool::new(false));
        let (d, t) = (dir.path().to_path_buf(), taken.clone());
        let waiter = std::thread::spawn(move || {
            let _second = FileLock::exclusive(&d, "x.lock").unwrap();
            t.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!taken.load(Ordering::SeqCst), "the second lock waits");
        drop(first);
        waiter.join().unwrap();
        assert!(taken.load(Ordering::SeqCst));
    }
}
