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
        let (file, path) = open(data_dir, name)?;
        file.lock().map_err(|e| Error::io("locking", &path, e))?;
        Ok(FileLock { _file: file, path })
    }

    /// Takes the lock `name` of `data_dir` shared (others may share it;
    /// an exclusive taker waits for all of them).
    pub fn shared(data_dir: &Path, name: &str) -> Result<FileLock> {
        let (file, path) = open(data_dir, name)?;
        file.lock_shared()
            .map_err(|e| Error::io("locking", &path, e))?;
        Ok(FileLock { _file: file, path })
    }

    /// Takes the lock `name` of `data_dir` alone, at once, or returns
    /// `None` when someone holds it.
    pub fn try_exclusive(data_dir: &Path, name: &str) -> Result<Option<FileLock>> {
        let (file, path) = open(data_dir, name)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", &path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file `name` of `data_dir` (created 0600 in a 0700 directory
/// when missing).
fn open(data_dir: &Path, name: &str) -> Result<(File, PathBuf)> {
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
    Ok((file, path))
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
