//! The appliance's HTTPS certificate: supplied, or self-signed on first start.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{ensure_private_dir, readable_by_others, write_private_file};

/// The certificate chain and key the server presents.
pub struct ServerIdentity {
    pub cert_pem: String,
    pub key_pem: zeroize::Zeroizing<String>,
    pub cert_path: PathBuf,
    /// SHA-256 of the leaf certificate (DER), as `AB:CD:...`.
    pub fingerprint: String,
    /// Set when the certificate was created by this call.
    pub generated: bool,
    pub warnings: Vec<String>,
}

/// Colon-separated upper-case hex, as browsers and openssl show fingerprints.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 fingerprint of the first certificate in a PEM text.
pub fn pem_fingerprint(pem: &str) -> Result<String> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    let der = rustls_pemfile::certs(&mut reader)
        .next()
        .ok_or_else(|| Error::Certificate("no certificate in PEM".into()))?
        .map_err(|e| Error::Certificate(format!("unreadable PEM: {e}")))?;
    Ok(colon_hex(&Sha256::digest(der.as_ref())))
}

/// Loads the configured certificate and key, or the generated pair in
/// `data_dir/tls`, generating it (SAN `localhost`, `127.0.0.1` and the listen
/// host) when it does not exist yet.
pub fn server_identity(
    data_dir: &Path,
    configured: Option<(&Path, &Path)>,
    extra_names: &[String],
) -> Result<ServerIdentity> {
    let mut warnings = Vec::new();
    let (cert_path, key_path, generated) = match configured {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf(), false),
        None => {
            let dir = ensure_private_dir(&data_dir.join("tls"))?;
            let cert = dir.join("server.pem");
            let key = dir.join("server.key");
            let generated = if cert.is_file() && key.is_file() {
                false
            } else {
                generate(&cert, &key, extra_names)?;
                true
            };
            (cert, key, generated)
        }
    };
    let cert_pem =
        std::fs::read_to_string(&cert_path).map_err(|e| Error::io("reading", &cert_path, e))?;
    let key_pem = zeroize::Zeroizing::new(
        std::fs::read_to_string(&key_path).map_err(|e| Error::io("reading", &key_path, e))?,
    );
    if readable_by_others(&key_path) {
        warnings.push(format!(
            "TLS key {} is readable by other users; run chmod 600 on it",
            key_path.display()
        ));
    }
    let fingerprint = pem_fingerprint(&cert_pem)?;
    Ok(ServerIdentity {
        cert_pem,
        key_pem,
        cert_path,
        fingerprint,
        generated,
        warnings,
    })
}

fn generate(cert_path: &Path, key_path: &Path, extra_names: &[String]) -> Result<()> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    for n in extra_names {
        if !n.is_empty() && !names.contains(n) && n != "0.0.0.0" && n != "::" {
            names.push(n.clone());
        }
    }
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| Error::Certificate(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hsmseed appliance");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "hsmseed");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(825);
    let key = rcgen::KeyPair::generate().map_err(|e| Error::Certificate(e.to_string()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::Certificate(e.to_string()))?;
    write_private_file(key_path, key.serialize_pem().as_bytes())?;
    write_private_file(cert_path, cert.pem().as_bytes())?;
    tracing::info!(path = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok(())
}

/// The certificates of a PEM text that is to be trusted (`what` names it
/// in errors, e.g. "webhook CA"): at least one `CERTIFICATE` block, each
/// one parsing, and nothing else in it (never a key).
pub fn parse_certificates(
    pem: &str,
    what: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let mut certs = Vec::new();
    for item in rustls_pemfile::read_all(&mut pem.as_bytes()) {
        match item {
            Ok(rustls_pemfile::Item::X509Certificate(der)) => {
                x509_parser::parse_x509_certificate(&der).map_err(|e| {
                    Error::Invalid(format!("{what}: a certificate does not parse: {e}"))
                })?;
                certs.push(der);
            }
            Ok(_) => {
                return Err(Error::Invalid(format!(
                    "{what}: only CERTIFICATE blocks belong here (never a key)"
                )))
            }
            Err(e) => return Err(Error::Invalid(format!("{what}: not PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(Error::Invalid(format!(
            "{what}: no -----BEGIN CERTIFICATE----- block found"
        )));
    }
    Ok(certs)
}

/// A TLS acceptor on a new self-signed certificate for 127.0.0.1, and the
/// certificate: the HTTPS servers of tests (a webhook receiver, a remote
/// entropy source).
#[cfg(test)]
pub(crate) fn loopback_acceptor() -> (tokio_rustls::TlsAcceptor, rcgen::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        cert,
    )
}

/// An HTTPS client request's failure in a few words, with the whole chain
/// of causes (a TLS failure says which certificate problem): for the
/// webhook and the remote entropy sources.
pub fn describe_request_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".into();
    }
    let mut out = if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".into()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let a = server_identity(dir.path(), None, &[]).unwrap();
        assert!(a.generated);
        assert!(a.cert_pem.contains("BEGIN CERTIFICATE"));
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        assert!(a.warnings.is_empty());
        let b = server_identity(dir.path(), None, &[]).unwrap();
        assert!(!b.generated);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert!(!readable_by_others(&dir.path().join("tls/server.key")));
    }
}
