//! A command run as root on a data directory that belongs to another user
//! (the installed service's `hsmseed`) runs as that user: as root it would
//! leave files the service cannot read (a new database WAL, a key, a
//! certificate) and the service would fail at its next start.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::unistd::{initgroups, setgid, setuid, Uid, User};

/// When running as root and `data_dir` belongs to another user, becomes
/// that user (its group and supplementary groups too) and returns what to
/// tell the operator. Refuses when the owner is no known user. Must run
/// before any thread is started.
pub fn become_owner_of(data_dir: &Path) -> Result<Option<String>, String> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let Ok(meta) = std::fs::metadata(data_dir) else {
        // Not there yet (only `serve` creates it): it will be root's.
        return Ok(None);
    };
    let uid = Uid::from_raw(meta.uid());
    if uid.is_root() {
        return Ok(None);
    }
    let refuse = |why: String| {
        format!(
            "{} belongs to uid {uid}, but {why}: refusing to run as root there (files \
             made as root would be unreadable to the service). Run the command as the \
             directory's owner, or fix the ownership.",
            data_dir.display()
        )
    };
    let user = User::from_uid(uid)
        .map_err(|e| refuse(format!("its user cannot be looked up ({e})")))?
        .ok_or_else(|| refuse("no user has that uid".to_string()))?;
    let name = CString::new(user.name.clone())
        .map_err(|_| refuse("its user name is not a C string".to_string()))?;
    initgroups(&name, user.gid)
        .and_then(|()| setgid(user.gid))
        .and_then(|()| setuid(user.uid))
        .map_err(|e| refuse(format!("switching to user `{}` failed ({e})", user.name)))?;
    Ok(Some(format!(
        "hsmseed: running as `{}`, the owner of {}, so that the service can read what \
         this command writes",
        user.name,
        data_dir.display()
    )))
}
