//! The master key: encrypts partition passwords and private keys at rest
//! (AES-256-GCM). It lives outside the database: a file in the data
//! directory (created 0600 on first start) or the file named by
//! `master_key_file`.

use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{create_private_file_once, readable_by_others};

pub(crate) mod check;

pub const DEFAULT_FILE: &str = "master.key";

/// What a configuration's sealed partition password is bound to (its
/// name: a sealed value moved to another configuration does not open).
pub(crate) fn partition_password_context(name: &str) -> String {
    format!("hsmseed:partition-password:{name}")
}

pub struct MasterKey {
    key: LessSafeKey,
    /// For fingerprints of secrets ([`MasterKey::fingerprint`]), derived
    /// from the master key.
    mac: hmac::Key,
    pub path: PathBuf,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn decode_hex32(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let t = text.trim();
    if t.len() != 64 {
        return None;
    }
    hex::decode(t).ok().map(Zeroizing::new)
}

impl MasterKey {
    /// Loads the key from `configured`, or from `data_dir/master.key`,
    /// creating the latter when missing. Returns warnings for the operator
    /// (a key file readable by others).
    pub fn load_or_create(
        data_dir: &Path,
        configured: Option<&Path>,
    ) -> Result<(MasterKey, Vec<String>)> {
        let mut warnings = Vec::new();
        let path = match configured {
            Some(p) => p.to_path_buf(),
            None => data_dir.join(DEFAULT_FILE),
        };
        if !path.exists() {
            if configured.is_some() {
                return Err(Error::Config(format!(
                    "master key file {} does not exist (unset master_key_file to use one in the data directory)",
                    path.display()
                )));
            }
            let mut raw = Zeroizing::new([0u8; 32]);
            SystemRandom::new()
                .fill(raw.as_mut())
                .map_err(|_| Error::Internal("no randomness for the master key".into()))?;
            let text = Zeroizing::new(format!("{}\n", hex::encode(raw.as_ref())));
            // Exclusive: if another process created one meanwhile, that one
            // is the key, read below like any existing key.
            if create_private_file_once(&path, text.as_bytes())? {
                tracing::info!(path = %path.display(), "created a new master key");
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?,
        );
        let raw = decode_hex32(&text).ok_or_else(|| {
            Error::Config(format!(
                "master key file {} does not hold 64 hex digits",
                path.display()
            ))
        })?;
        if readable_by_others(&path) {
            warnings.push(format!(
                "master key {} is readable by other users; run chmod 600 on it",
                path.display()
            ));
        }
        let key = UnboundKey::new(&AES_256_GCM, &raw)
            .map_err(|_| Error::Internal("master key rejected".into()))?;
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &raw),
            b"hsmseed:fingerprint-key:v1",
        );
        Ok((
            MasterKey {
                key: LessSafeKey::new(key),
                mac: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
                path,
            },
            warnings,
        ))
    }

    /// Encrypts `plain`, bound to `context` (e.g. the configuration name), as
    /// nonce || ciphertext || tag.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Internal("no randomness for a nonce".into()))?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        zeroize::Zeroize::zeroize(&mut buf);
        Ok(out)
    }

    /// A keyed fingerprint (hex HMAC-SHA256) of `parts`, to tell whether
    /// two secrets are equal without storing either: worthless to whoever
    /// has the database but not the master key. Each part is length-prefixed,
    /// so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn fingerprint(&self, context: &str, parts: &[&[u8]]) -> String {
        let mut ctx = hmac::Context::with_key(&self.mac);
        for part in std::iter::once(context.as_bytes()).chain(parts.iter().copied()) {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        hex::encode(ctx.sign().as_ref())
    }

    /// The key's check value: a keyed hash under the key itself, the same
    /// for the same key, telling nothing about it (the database keeps it,
    /// see [`check::check_key`]; backups name their key by it).
    pub fn check_value(&self) -> String {
        self.fingerprint("master-key-id", &[])
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(Error::Internal("sealed value too short".into()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::Internal("bad nonce".into()))?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), buf.as_mut_slice())
            .map_err(|_| {
                Error::Internal(
                    "a stored secret cannot be decrypted: wrong master key or tampered data".into(),
                )
            })?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_key_once_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (k, w) = MasterKey::load_or_create(dir.path(), None).unwrap();
        assert!(w.is_empty());
        let mode = std::fs::metadata(dir.path().join(DEFAULT_FILE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = k.seal(b"myPassword", "HSM1").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"myPassword"));
        let (k2, _) = MasterKey::load_or_create(dir.path(), None).unwrap();
        assert_eq!(k2.open(&sealed, "HSM1").unwrap().as_slice(), b"myPassword");
        // Bound to its context: moving a value to another name fails.
        assert!(k2.open(&sealed, "HSM2").is_err());
    }

    #[test]
    fn a_configured_file_must_exist_and_be_valid() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mk");
        assert!(MasterKey::load_or_create(dir.path(), Some(&f)).is_err());
        std::fs::write(&f, "not hex").unwrap();
        assert!(MasterKey::load_or_create(dir.path(), Some(&f)).is_err());
        std::fs::write(&f, format!("{}\n", "ab".repeat(32))).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, w) = MasterKey::load_or_create(dir.path(), Some(&f)).unwrap();
        assert_eq!(w.len(), 1, "warns about a readable key");
    }

    #[test]
    fn fingerprints_are_keyed_and_length_prefixed() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (ka, _) = MasterKey::load_or_create(a.path(), None).unwrap();
        let (kb, _) = MasterKey::load_or_create(b.path(), None).unwrap();
        let f = ka.fingerprint("login", &[b"CKU_USER", b"1234"]);
        assert_eq!(f.len(), 64);
        assert_eq!(f, ka.fingerprint("login", &[b"CKU_USER", b"1234"]));
        assert_ne!(f, ka.fingerprint("login", &[b"CKU_USER1", b"234"]));
        assert_ne!(f, ka.fingerprint("other", &[b"CKU_USER", b"1234"]));
        assert_ne!(f, kb.fingerprint("login", &[b"CKU_USER", b"1234"]));
    }

    #[test]
    fn another_key_cannot_open() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (ka, _) = MasterKey::load_or_create(a.path(), None).unwrap();
        let (kb, _) = MasterKey::load_or_create(b.path(), None).unwrap();
        let sealed = ka.seal(b"x", "c").unwrap();
        assert!(kb.open(&sealed, "c").is_err());
    }
}
