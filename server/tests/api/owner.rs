//! A command run as root on a data directory that another user owns (the
//! installed service's) runs as that user, so that every file it makes
//! stays readable to the service; an owner that is no user is refused.
//! CI runs as root; elsewhere these tests have nothing to show.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn hsmseed(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .args(args)
        .env_remove("HSMSEED_CONFIG")
        .env_remove("HSMSEED_PKCS11_MODULE")
        .env("HSMSEED_DATA_DIR", data)
        .output()
        .unwrap()
}

/// Every file under `dir` with its owner.
fn owners(dir: &Path, out: &mut Vec<(String, u32)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        out.push((e.path().display().to_string(), meta.uid()));
        if meta.is_dir() {
            owners(&e.path(), out);
        }
    }
}

#[test]
fn root_runs_a_command_as_the_owner_of_the_data_directory() {
    if !is_root() {
        eprintln!("not root: nothing to show here");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(data.path(), Some(65534), Some(65534)).unwrap();
    let out = hsmseed(data.path(), &["hsm-conf-list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("running as `nobody`, the owner of"),
        "{stderr}"
    );
    let mut files = Vec::new();
    owners(data.path(), &mut files);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("hsmseed.db")),
        "{files:?}"
    );
    let root_owned: Vec<_> = files.iter().filter(|(_, uid)| *uid != 65534).collect();
    assert!(root_owned.is_empty(), "not the owner's: {root_owned:?}");
}

#[test]
fn root_is_refused_on_a_directory_whose_owner_is_no_user() {
    if !is_root() {
        eprintln!("not root: nothing to show here");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // A uid no account has.
    let uid = 54_321;
    assert!(nix::unistd::User::from_uid(uid.into()).unwrap().is_none());
    std::os::unix::fs::chown(data.path(), Some(uid), Some(uid)).unwrap();
    let out = hsmseed(data.path(), &["hsm-conf-list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no user has that uid"), "{stderr}");
    assert!(stderr.contains("refusing to run as root there"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(data.path()).unwrap().count(),
        0,
        "nothing made"
    );
}
