//! Reading an uploaded HSM server certificate (`server.pem`): strict checks
//! with operator-friendly refusals, a summary ([`CertInfo`]) and warnings
//! about the certificate against the address it is registered under.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::address::HsmAddress;
use super::der::{self, Reader, Tlv};
use super::oids;
use crate::error::{Error, Result};
use crate::tls::colon_hex;
pub use types::ntl::CertInfo;

/// Largest certificate file accepted for upload (64 KiB).
pub const MAX_CERT_FILE: usize = 64 * 1024;

/// Parses an uploaded `server.pem`: exactly one PEM `CERTIFICATE` block
/// holding one well-formed X.509 certificate and nothing else.
///
/// Refused with [`Error::Invalid`] and a message for the operator: a private
/// key of any kind (checked before anything else, so a key never goes
/// further), a file over [`MAX_CERT_FILE`], an empty file, binary or non-PEM
/// content, several PEM blocks, a block that is not `CERTIFICATE`, corrupt
/// base64 or DER, or data after the certificate.
pub fn parse_server_certificate(bytes: &[u8]) -> Result<CertInfo> {
    let der = decode_single_certificate(bytes)?;
    cert_info_from_der(&der)
}

/// The checks of [`parse_server_certificate`], returning the DER.
pub(crate) fn decode_single_certificate(bytes: &[u8]) -> Result<Vec<u8>> {
    // A key must never get further than this.
    if let Some(label) = der::begin_labels(bytes)
        .into_iter()
        .find(|l| l.to_ascii_uppercase().contains("PRIVATE KEY"))
    {
        tracing::warn!(label = %label, "refused an upload that holds a private key");
        return Err(invalid(
            "this is a private key, not a certificate; never upload a key \
             (upload the HSM's server.pem, which holds only its certificate)",
        ));
    }
    if looks_like_der_private_key(bytes) {
        tracing::warn!("refused an upload that looks like a DER private key");
        return Err(invalid(
            "this is a private key, not a certificate; never upload a key \
             (upload the HSM's server.pem, which holds only its certificate)",
        ));
    }
    if bytes.len() > MAX_CERT_FILE {
        return Err(Error::Invalid(format!(
            "the file is {} bytes, larger than the 64 KiB ({MAX_CERT_FILE} bytes) limit \
             for a certificate",
            bytes.len()
        )));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(invalid("the file is empty; upload the HSM's server.pem"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            if bytes.first() == Some(&der::TAG_SEQUENCE) && X509Certificate::from_der(bytes).is_ok()
            {
                return Err(invalid(
                    "this is a binary (DER) certificate; upload it in PEM form \
                     (convert with: openssl x509 -inform der -in server.der -out server.pem)",
                ));
            }
            return Err(invalid(
                "this is not a PEM certificate (the file is not text); \
                 upload the HSM's server.pem",
            ));
        }
    };
    let blocks = match der::pem_blocks(text) {
        Ok(b) => b,
        Err(der::PemError::Unterminated(label)) => {
            return Err(Error::Invalid(format!(
                "the certificate is truncated: the `{}` PEM block has no \
                 -----END {}----- line",
                short(&label),
                short(&label)
            )))
        }
    };
    match blocks.len() {
        0 => {
            return Err(invalid(
                "this is not a PEM certificate: no -----BEGIN CERTIFICATE----- line found",
            ))
        }
        1 => {}
        n => {
            let labels: Vec<String> = blocks.iter().map(|b| short(&b.label)).collect();
            return Err(if labels.iter().all(|l| l == "CERTIFICATE") {
                Error::Invalid(format!(
                    "exactly one certificate is expected, found {n}; \
                     upload only the HSM's own server certificate"
                ))
            } else {
                Error::Invalid(format!(
                    "exactly one certificate is expected, found {n} PEM blocks ({})",
                    labels.join(", ")
                ))
            });
        }
    }
    let block = &blocks[0];
    if block.label != "CERTIFICATE" {
        return Err(Error::Invalid(format!(
            "the PEM block is `{}`, not a CERTIFICATE",
            short(&block.label)
        )));
    }
    let der = der::base64_decode(&block.body)
        .ok_or_else(|| invalid("the certificate is corrupt: its PEM block is not valid base64"))?;
    if der.is_empty() {
        return Err(invalid(
            "the certificate is empty: its PEM block holds no data",
        ));
    }
    let mut reader = Reader::new(&der);
    let outer = reader.read().map_err(|e| {
        Error::Invalid(format!(
            "the certificate is truncated or corrupt ({e}); upload the complete server.pem"
        ))
    })?;
    if outer.tag != der::TAG_SEQUENCE {
        return Err(invalid(
            "the certificate is corrupt: it is not an X.509 structure",
        ));
    }
    if !reader.is_empty() {
        return Err(Error::Invalid(format!(
            "the certificate is corrupt: {} bytes of trailing data after it",
            reader.rest().len()
        )));
    }
    match X509Certificate::from_der(&der) {
        Ok(([], _)) => {}
        Ok((rest, _)) => {
            return Err(Error::Invalid(format!(
                "the certificate is corrupt: {} bytes of trailing data after it",
                rest.len()
            )))
        }
        Err(e) => {
            return Err(Error::Invalid(format!(
                "the certificate is corrupt: it does not parse as X.509 ({e})"
            )))
        }
    }
    Ok(der)
}

fn invalid(msg: &str) -> Error {
    Error::Invalid(msg.to_owned())
}

/// A PEM label echoed in a message, capped and without control characters.
fn short(label: &str) -> String {
    label.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// A DER private key (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8) rather than a
/// certificate: a SEQUENCE whose first element is a small INTEGER, or a
/// SEQUENCE { SEQUENCE { OID ... }, OCTET STRING }.
fn looks_like_der_private_key(bytes: &[u8]) -> bool {
    let Ok(outer) = Reader::new(bytes).read() else {
        return false;
    };
    if outer.tag != der::TAG_SEQUENCE {
        return false;
    }
    let mut inner = outer.reader();
    let Ok(first) = inner.read() else {
        return false;
    };
    match first.tag {
        der::TAG_INTEGER => first.content.len() == 1 && first.content[0] <= 1,
        der::TAG_SEQUENCE => {
            let alg_is_oid = first.reader().peek_tag() == Some(der::TAG_OID);
            let second = inner.read().ok();
            alg_is_oid && second.is_some_and(|s| s.tag == der::TAG_OCTET_STRING) && inner.is_empty()
        }
        _ => false,
    }
}

/// Builds the summary of a certificate already checked by
/// [`decode_single_certificate`].
pub(crate) fn cert_info_from_der(der_bytes: &[u8]) -> Result<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der_bytes)
        .map_err(|e| Error::Certificate(format!("unreadable certificate: {e}")))?;
    let subject = name_line(cert.subject().as_raw());
    let issuer = name_line(cert.issuer().as_raw());
    let subject_cn = name_attributes(cert.subject().as_raw())
        .into_iter()
        .flatten()
        .find(|(oid, _)| oid == "2.5.4.3")
        .and_then(|(_, v)| der::decode_string(v.tag, v.content));
    let mut san = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(names) = ext.parsed_extension() {
            for name in &names.general_names {
                match name {
                    GeneralName::DNSName(d) => san.push((*d).to_owned()),
                    GeneralName::IPAddress(ip) => {
                        if let Some(ip) = ip_from_bytes(ip) {
                            san.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let (magnitude, negative) = der::integer_magnitude(cert.raw_serial());
    let mut serial_hex = if magnitude.is_empty() {
        "00".to_owned()
    } else {
        colon_hex(&magnitude)
    };
    if negative {
        serial_hex.insert(0, '-');
    }
    let same_names = cert.subject().as_raw() == cert.issuer().as_raw();
    let self_signed = same_names && signature_by_own_key(der_bytes).unwrap_or(true);
    Ok(CertInfo {
        pem: der::pem_encode("CERTIFICATE", der_bytes),
        subject,
        subject_cn,
        issuer,
        san,
        serial_hex,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        fingerprint_sha256: colon_hex(&Sha256::digest(der_bytes)),
        self_signed,
    })
}

pub(crate) fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// Whether the signature verifies with the certificate's own public key;
/// `None` when the algorithm is not one this check knows.
fn signature_by_own_key(der_bytes: &[u8]) -> Option<bool> {
    use aws_lc_rs::signature as sig;
    let parts = split_certificate(der_bytes).ok()?;
    let alg_oid = parts.sig_alg_oid.as_str();
    let (key_alg, curve, key) = spki_parts(parts.spki).ok()?;
    let alg: &'static dyn sig::VerificationAlgorithm = match (alg_oid, key_alg.as_str()) {
        ("1.2.840.113549.1.1.5", "1.2.840.113549.1.1.1") => {
            &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        ("1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1") => {
            &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        }
        ("1.2.840.113549.1.1.12", "1.2.840.113549.1.1.1") => &sig::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", "1.2.840.113549.1.1.1") => {
            &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
        }
        ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1") => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => &sig::ECDSA_P256_SHA256_ASN1,
            Some("1.3.132.0.34") => &sig::ECDSA_P384_SHA256_ASN1,
            Some("1.3.132.0.35") => &sig::ECDSA_P521_SHA256_ASN1,
            _ => return None,
        },
        ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1") => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => &sig::ECDSA_P256_SHA384_ASN1,
            Some("1.3.132.0.34") => &sig::ECDSA_P384_SHA384_ASN1,
            Some("1.3.132.0.35") => &sig::ECDSA_P521_SHA384_ASN1,
            _ => return None,
        },
        ("1.2.840.10045.4.3.4", "1.2.840.10045.2.1") => match curve.as_deref() {
            Some("1.2.840.10045.3.1.7") => &sig::ECDSA_P256_SHA512_ASN1,
            Some("1.3.132.0.34") => &sig::ECDSA_P384_SHA512_ASN1,
            Some("1.3.132.0.35") => &sig::ECDSA_P521_SHA512_ASN1,
            _ => return None,
        },
        ("1.3.101.112", "1.3.101.112") => &sig::ED25519,
        _ => return None,
    };
    let signature = parts.signature.get(1..)?; // skip the unused-bits octet
    Some(
        sig::UnparsedPublicKey::new(alg, key)
            .verify(parts.tbs, signature)
            .is_ok(),
    )
}

/// The top-level pieces of a DER certificate.
pub(crate) struct CertParts<'a> {
    pub tbs: &'a [u8],
    pub sig_alg_oid: String,
    /// The BIT STRING content (first octet: unused bits).
    pub signature: &'a [u8],
    pub spki: Tlv<'a>,
}

pub(crate) fn split_certificate(der_bytes: &[u8]) -> der::DerResult<CertParts<'_>> {
    let cert = Reader::new(der_bytes).expect(der::TAG_SEQUENCE)?;
    let mut r = cert.reader();
    let tbs_tlv = r.expect(der::TAG_SEQUENCE)?;
    let sig_alg = r.expect(der::TAG_SEQUENCE)?;
    let signature = r.expect(der::TAG_BIT_STRING)?.content;
    let sig_alg_oid = der::oid_to_string(sig_alg.reader().expect(der::TAG_OID)?.content)?;
    let mut t = tbs_tlv.reader();
    t.optional(0xa0)?; // version
    t.expect(der::TAG_INTEGER)?; // serial
    t.expect(der::TAG_SEQUENCE)?; // signature
    t.expect(der::TAG_SEQUENCE)?; // issuer
    t.expect(der::TAG_SEQUENCE)?; // validity
    t.expect(der::TAG_SEQUENCE)?; // subject
    let spki = t.expect(der::TAG_SEQUENCE)?;
    Ok(CertParts {
        tbs: tbs_tlv.raw,
        sig_alg_oid,
        signature,
        spki,
    })
}

/// `(algorithm OID, named curve OID if any, key bytes)` of a
/// SubjectPublicKeyInfo.
pub(crate) fn spki_parts(spki: Tlv<'_>) -> der::DerResult<(String, Option<String>, &[u8])> {
    let mut r = spki.reader();
    let alg = r.expect(der::TAG_SEQUENCE)?;
    let bits = r.expect(der::TAG_BIT_STRING)?.content;
    let mut a = alg.reader();
    let oid = der::oid_to_string(a.expect(der::TAG_OID)?.content)?;
    let curve = match a.optional(der::TAG_OID)? {
        Some(c) => Some(der::oid_to_string(c.content)?),
        None => None,
    };
    let key = bits.get(1..).ok_or(der::DerError("empty public key"))?;
    Ok((oid, curve, key))
}

/// The attributes of a Name (full DER element), RDN by RDN, as
/// `(dotted OID, value element)`; unreadable parts are skipped.
pub(crate) fn name_attributes(name_raw: &[u8]) -> Vec<Vec<(String, Tlv<'_>)>> {
    let Ok(name) = Reader::new(name_raw).expect(der::TAG_SEQUENCE) else {
        return Vec::new();
    };
    let mut rdns = Vec::new();
    let mut r = name.reader();
    while let Ok(rdn) = r.read() {
        let mut attrs = Vec::new();
        let mut a = rdn.reader();
        while let Ok(atv) = a.read() {
            let mut v = atv.reader();
            let (Ok(oid), Ok(value)) = (v.expect(der::TAG_OID), v.read()) else {
                continue;
            };
            let dotted = der::oid_to_string(oid.content).unwrap_or_else(|_| "?".into());
            attrs.push((dotted, value));
        }
        rdns.push(attrs);
    }
    rdns
}

/// A Name (full DER element) on one line, RFC 4514 style but in
/// certificate order: `C=CA, O=Gemalto, CN=192.168.1.31`.
pub(crate) fn name_line(name_raw: &[u8]) -> String {
    name_attributes(name_raw)
        .into_iter()
        .map(|rdn| {
            rdn.into_iter()
                .map(|(dotted, value)| {
                    let key = oids::short_name(&dotted).map_or(dotted.clone(), str::to_owned);
                    let text = match der::decode_string(value.tag, value.content) {
                        Some(s) => escape_4514(&s),
                        None => format!("#{}", hex::encode(value.raw)),
                    };
                    format!("{key}={text}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape_4514(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i + 1 == n => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Warnings (not errors) about a server certificate registered for
/// `address`: the address is neither the common name nor a subject
/// alternative name (IPs compared as IPs, names case-insensitively), the
/// certificate has expired, or it is not valid yet.
pub fn check_server_certificate(
    info: &CertInfo,
    address: &HsmAddress,
    now: OffsetDateTime,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let matches = |candidate: &str| -> bool {
        let candidate = candidate.trim();
        match (address.ip(), candidate.parse::<IpAddr>()) {
            (Some(a), Ok(c)) => a == c,
            (None, Err(_)) => candidate.eq_ignore_ascii_case(address.as_str()),
            _ => false,
        }
    };
    let named =
        info.subject_cn.as_deref().is_some_and(matches) || info.san.iter().any(|s| matches(s));
    if !named {
        let mut names: Vec<String> = Vec::new();
        if let Some(cn) = &info.subject_cn {
            names.push(format!("CN {cn}"));
        }
        if !info.san.is_empty() {
            names.push(format!("SAN {}", info.san.join(", ")));
        }
        let names = if names.is_empty() {
            "no common name or alternative name".to_owned()
        } else {
            names.join("; ")
        };
        warnings.push(format!(
            "the certificate does not name {address} (it has {names}); check that it is \
             the server certificate of the HSM at {address}"
        ));
    }
    let fmt = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    if now > info.not_after {
        warnings.push(format!(
            "the certificate expired on {}; the HSM's NTLS connection will be refused",
            fmt(info.not_after)
        ));
    }
    if info.expires_soon(now) {
        warnings.push(format!(
            "the certificate {} (on {}): get the HSM's new server.pem and import it \
             before then, or its NTLS connection will be refused",
            info.expiry_text(now),
            fmt(info.not_after)
        ));
    }
    if now < info.not_before {
        warnings.push(format!(
            "the certificate is not valid before {}; check the clocks of the HSM and the appliance",
            fmt(info.not_before)
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn openssl(args: &[&str], dir: &std::path::Path) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// An RSA certificate and its key made by `openssl req -x509`.
    fn openssl_cert(subj: &str, extra: &[&str]) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
            "-subj", subj, "-days", "30",
        ];
        args.extend_from_slice(extra);
        openssl(&args, dir.path());
        (
            std::fs::read_to_string(dir.path().join("c.pem")).unwrap(),
            std::fs::read_to_string(dir.path().join("k.pem")).unwrap(),
        )
    }

    fn err(bytes: &[u8]) -> String {
        let e = parse_server_certificate(bytes).unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{e}");
        e.to_string()
    }

    #[test]
    fn parses_an_openssl_certificate() {
        let (pem, _) = openssl_cert(
            "/C=CA/O=Gemalto/CN=192.168.1.31",
            &[
                "-addext",
                "subjectAltName=DNS:hsm.example,IP:192.168.1.31,IP:2001:db8::1",
            ],
        );
        let info = parse_server_certificate(pem.as_bytes()).unwrap();
        assert_eq!(info.subject, "C=CA, O=Gemalto, CN=192.168.1.31");
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.subject_cn.as_deref(), Some("192.168.1.31"));
        assert_eq!(info.san, vec!["hsm.example", "192.168.1.31", "2001:db8::1"]);
        assert!(info.self_signed);
        assert_eq!(info.pem, pem);
        assert!(
            (info.not_after - info.not_before - time::Duration::days(30)).abs()
                < time::Duration::seconds(2)
        );
        // Fingerprint and serial as openssl shows them.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), &pem).unwrap();
        let out = Command::new("openssl")
            .args([
                "x509",
                "-in",
                "c.pem",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-serial",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&format!("Fingerprint={}", info.fingerprint_sha256)),
            "{text}"
        );
        let serial = text
            .lines()
            .find_map(|l| l.strip_prefix("serial="))
            .unwrap();
        assert_eq!(serial, info.serial_hex.replace(':', ""));
        // JSON uses RFC 3339 times.
        let json = serde_json::to_value(&info).unwrap();
        assert!(json["not_after"].as_str().unwrap().ends_with('Z'));
        let back: CertInfo = serde_json::from_value(json).unwrap();
        assert_eq!(back, info);
    }

    #[test]
    fn normalises_crlf_and_surrounding_text() {
        let (pem, _) = openssl_cert("/CN=hsm", &[]);
        let messy = format!(
            "Some text before\r\n{}\r\nafter\r\n",
            pem.replace('\n', "\r\n")
        );
        let info = parse_server_certificate(messy.as_bytes()).unwrap();
        assert_eq!(info.pem, pem);
    }

    #[test]
    fn refuses_keys_first() {
        let (pem, key) = openssl_cert("/CN=hsm", &[]);
        for bytes in [
            key.clone(),
            format!("{pem}{key}"),
            format!("{key}{pem}"),
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(),
            "-----BEGIN EC PRIVATE KEY-----\n".into(),
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nxx".into(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nxx".into(),
        ] {
            let m = err(bytes.as_bytes());
            assert!(
                m.starts_with("this is a private key, not a certificate; never upload a key"),
                "{m}"
            );
            assert!(!m.contains("AAAA"));
        }
        // Key in binary junk, and a key bigger than the limit: still "key".
        let mut big = vec![0xffu8; 100_000];
        big.extend_from_slice(key.as_bytes());
        assert!(err(&big).contains("private key"));
        // DER PKCS#8 key.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k.pem"), &key).unwrap();
        openssl(
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "k.pem", "-outform", "DER", "-out", "k.der",
            ],
            dir.path(),
        );
        openssl(
            &[
                "rsa",
                "-in",
                "k.pem",
                "-outform",
                "DER",
                "-out",
                "k1.der",
                "-traditional",
            ],
            dir.path(),
        );
        for f in ["k.der", "k1.der"] {
            let der = std::fs::read(dir.path().join(f)).unwrap();
            assert!(err(&der).contains("private key"), "{f}");
        }
    }

    #[test]
    fn refuses_bad_uploads_with_clear_messages() {
        let (pem, _) = openssl_cert("/CN=hsm", &[]);
        assert!(err(&vec![b'A'; MAX_CERT_FILE + 1]).contains("64 KiB"));
        assert!(err(b"").contains("empty"));
        assert!(err(b" \n\n").contains("empty"));
        assert!(err(&[0x00, 0xff, 0xfe, 0x80]).contains("not text"));
        assert!(err(b"hello world\n").contains("no -----BEGIN CERTIFICATE----- line"));
        assert_eq!(
            err(format!("{pem}{pem}").as_bytes()),
            "exactly one certificate is expected, found 2; upload only the HSM's own server certificate"
        );
        let crl = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
        assert!(err(format!("{pem}{crl}").as_bytes()).starts_with(
            "exactly one certificate is expected, found 2 PEM blocks (CERTIFICATE, X509 CRL)"
        ));
        assert_eq!(
            err(crl.as_bytes()),
            "the PEM block is `X509 CRL`, not a CERTIFICATE"
        );
        assert!(
            err(pem.replace("-----END CERTIFICATE-----\n", "").as_bytes()).contains("truncated")
        );
        // Cut the base64 in the middle: DER length no longer matches.
        let lines: Vec<&str> = pem.lines().collect();
        let cut = format!(
            "{}\n{}\n-----END CERTIFICATE-----\n",
            lines[0],
            lines[1..6].join("\n")
        );
        assert!(
            err(cut.as_bytes()).contains("truncated or corrupt"),
            "{}",
            err(cut.as_bytes())
        );
        let bad64 = pem.replacen("M", "*", 2);
        assert!(err(bad64.as_bytes()).contains("not valid base64"));
        // Trailing garbage after the DER.
        let info = parse_server_certificate(pem.as_bytes()).unwrap();
        let mut der = der::base64_decode(&der::pem_blocks(&info.pem).unwrap()[0].body).unwrap();
        der.extend_from_slice(&[0x05, 0x00]);
        let garbage = der::pem_encode("CERTIFICATE", &der);
        assert!(err(garbage.as_bytes()).contains("2 bytes of trailing data"));
        // A DER certificate: told how to convert it.
        der.truncate(der.len() - 2);
        assert!(err(&der).contains("binary (DER) certificate"));
        // Corrupt inside: flip the tag of the TBS sequence.
        let mut bad = der.clone();
        bad[4] = 0x31;
        assert!(err(der::pem_encode("CERTIFICATE", &bad).as_bytes()).contains("corrupt"));
        assert!(err(der::pem_encode("CERTIFICATE", &[0x04, 0x00]).as_bytes()).contains("corrupt"));
    }

    #[test]
    fn warns_about_address_and_validity() {
        let (pem, _) = openssl_cert(
            "/C=CA/O=Gemalto/CN=192.168.1.31",
            &["-addext", "subjectAltName=DNS:HSM.example,IP:2001:db8::1"],
        );
        let info = parse_server_certificate(pem.as_bytes()).unwrap();
        let now = info.not_before + time::Duration::days(1);
        let a = |s: &str| HsmAddress::parse(s).unwrap();
        // A 30-day certificate, one day in: named right, only its expiry
        // is worth a warning.
        for named in ["192.168.1.31", "hsm.EXAMPLE", "2001:db8:0::1"] {
            let w = check_server_certificate(&info, &a(named), now);
            assert_eq!(w.len(), 1, "{named}: {w:?}");
            assert!(w[0].contains("expires in 29 days"), "{w:?}");
        }
        let early = info.not_before - time::Duration::days(40);
        assert!(check_server_certificate(&info, &a("192.168.1.31"), early)
            .iter()
            .all(|w| w.contains("not valid before")));
        let w = check_server_certificate(&info, &a("192.168.1.32"), now);
        assert_eq!(w.len(), 2);
        assert!(w[0].contains("does not name 192.168.1.32"), "{w:?}");
        let w = check_server_certificate(
            &info,
            &a("192.168.1.31"),
            info.not_after + time::Duration::days(1),
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("expired"), "{w:?}");
        let w = check_server_certificate(
            &info,
            &a("other"),
            info.not_before - time::Duration::days(1),
        );
        assert_eq!(w.len(), 2);
        assert!(w[1].contains("not valid before"), "{w:?}");
    }

    #[test]
    fn escapes_names() {
        let (pem, _) = openssl_cert("/O=a\\,b/CN= x\\+", &["-utf8"]);
        let info = parse_server_certificate(pem.as_bytes()).unwrap();
        assert_eq!(info.subject, "O=a\\,b, CN=\\ x\\+");
    }
}
