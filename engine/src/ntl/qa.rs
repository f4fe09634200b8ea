//! The appliance ("QA") client certificate the HSMs register: self-signed,
//! RSA-2048, sha256WithRSAEncryption, ten years.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::address::HsmAddress;
use super::cert::{cert_info_from_der, decode_single_certificate, CertInfo};
use crate::error::{Error, Result};

/// Validity of the QA certificate: 3650 days (ten years, ignoring leap days).
pub const QA_CERT_VALIDITY_DAYS: i64 = 3650;

/// The optional subject fields of the QA certificate (the common name is
/// always the appliance address). Empty strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaSubject {
    /// Two ASCII letters (ISO 3166 code); stored upper-case.
    pub country: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Locality (city).
    pub locality: Option<String>,
    /// Organization.
    pub organization: Option<String>,
}

impl QaSubject {
    /// Checks the fields and returns them normalised: surrounding whitespace
    /// trimmed, empty strings turned into `None`, the country upper-cased.
    /// The country must be exactly two ASCII letters; the other fields 1 to
    /// 64 characters without control characters.
    pub fn validate(&self) -> Result<QaSubject> {
        let country = match norm(&self.country) {
            None => None,
            Some(c) => {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(Error::Invalid(
                        "the country must be exactly two letters (an ISO 3166 code such as CH)"
                            .into(),
                    ));
                }
                Some(c.to_ascii_uppercase())
            }
        };
        let text = |v: &Option<String>, what: &str| -> Result<Option<String>> {
            match norm(v) {
                None => Ok(None),
                Some(s) => {
                    if s.chars().count() > types::limits::SUBJECT_FIELD {
                        return Err(Error::Invalid(format!(
                            "the {what} is longer than 64 characters"
                        )));
                    }
                    if s.chars().any(char::is_control) {
                        return Err(Error::Invalid(format!(
                            "the {what} contains control characters"
                        )));
                    }
                    Ok(Some(s))
                }
            }
        };
        Ok(QaSubject {
            country,
            state: text(&self.state, "state or province")?,
            locality: text(&self.locality, "locality")?,
            organization: text(&self.organization, "organization")?,
        })
    }
}

fn norm(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A freshly generated QA certificate and its private key.
///
/// `Debug` never shows the key.
pub struct QaCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: zeroize::Zeroizing<String>,
    /// The certificate summary.
    pub info: CertInfo,
}

impl fmt::Debug for QaCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QaCertificate")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<hidden>")
            .field("info", &self.info)
            .finish()
    }
}

/// Generates the appliance client certificate.
///
/// * self-signed, version 3, RSA-2048 key, sha256WithRSAEncryption;
/// * serial: 16 random bytes, top bit cleared (positive), first byte never
///   zero (so always 16 octets, never zero);
/// * validity: `now` (whole seconds) to `now` + [`QA_CERT_VALIDITY_DAYS`];
/// * subject = issuer = C, ST, L, O (those given, in that order), CN = the
///   address; C is a PrintableString, the others UTF8String;
/// * extensions: Subject Alternative Name (IP address or DNS name),
///   Extended Key Usage = TLS Web Client Authentication, Subject Key
///   Identifier, Basic Constraints (critical) CA:FALSE. No Key Usage: a Key
///   Usage without keyCertSign would make OpenSSL (which the HSM uses)
///   stop treating the certificate as self-signed.
///
/// Key generation takes a while (seconds in debug builds).
pub fn generate_qa_certificate(
    subject: &QaSubject,
    address: &HsmAddress,
    now: OffsetDateTime,
) -> Result<QaCertificate> {
    let subject = subject.validate()?;
    let cert_err = |e: rcgen::Error| Error::Certificate(e.to_string());

    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    if let Some(c) = &subject.country {
        let c = rcgen::string::PrintableString::try_from(c.as_str()).map_err(cert_err)?;
        dn.push(
            rcgen::DnType::CountryName,
            rcgen::DnValue::PrintableString(c),
        );
    }
    if let Some(s) = &subject.state {
        dn.push(rcgen::DnType::StateOrProvinceName, s.as_str());
    }
    if let Some(l) = &subject.locality {
        dn.push(rcgen::DnType::LocalityName, l.as_str());
    }
    if let Some(o) = &subject.organization {
        dn.push(rcgen::DnType::OrganizationName, o.as_str());
    }
    dn.push(rcgen::DnType::CommonName, address.as_str());
    params.distinguished_name = dn;
    params.subject_alt_names = vec![match address.ip() {
        Some(ip) => rcgen::SanType::IpAddress(ip),
        None => rcgen::SanType::DnsName(
            rcgen::string::Ia5String::try_from(address.as_str()).map_err(cert_err)?,
        ),
    }];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = false;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
    let start = now
        .replace_nanosecond(0)
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_offset(time::UtcOffset::UTC);
    params.not_before = start;
    params.not_after = start + time::Duration::days(QA_CERT_VALIDITY_DAYS);

    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(cert_err)?;
    let cert = params.self_signed(&key).map_err(cert_err)?;
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    let cert_pem = cert.pem();
    // Re-read what was produced, through the same checks as an upload.
    let der = decode_single_certificate(cert_pem.as_bytes())?;
    let info = cert_info_from_der(&der)?;
    tracing::info!(address = %address, fingerprint = %info.fingerprint_sha256,
        "generated the appliance client certificate");
    Ok(QaCertificate {
        cert_pem: info.pem.clone(),
        key_pem,
        info,
    })
}

/// 16 random bytes, top bit cleared, first byte non-zero.
fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    loop {
        rand::rngs::OsRng.fill_bytes(&mut serial);
        serial[0] &= 0x7f;
        if serial[0] != 0 {
            return serial;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_subjects() {
        let s = QaSubject {
            country: Some(" ch ".into()),
            state: Some("".into()),
            locality: Some("  Genève ".into()),
            organization: None,
        }
        .validate()
        .unwrap();
        assert_eq!(
            s,
            QaSubject {
                country: Some("CH".into()),
                state: None,
                locality: Some("Genève".into()),
                organization: None,
            }
        );
        for bad in ["C", "CHE", "C1", "É1"] {
            let e = QaSubject {
                country: Some(bad.into()),
                ..Default::default()
            }
            .validate()
            .unwrap_err();
            assert!(e.to_string().contains("two letters"), "{bad}");
        }
        assert!(QaSubject {
            organization: Some("x".repeat(65)),
            ..Default::default()
        }
        .validate()
        .is_err());
        QaSubject {
            organization: Some("é".repeat(64)),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert!(QaSubject {
            state: Some("a\nb".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    fn openssl(args: &[&str], dir: &std::path::Path) -> (bool, String) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    #[test]
    fn generates_a_self_signed_client_certificate_openssl_accepts() {
        let now = time::macros::datetime!(2026-11-28 10:20:30.456 UTC);
        let subject = QaSubject {
            country: Some("ch".into()),
            state: Some("Genève".into()),
            locality: Some("Carouge".into()),
            organization: Some("ID Quantique".into()),
        };
        let address = HsmAddress::parse("192.168.1.21").unwrap();
        let qa = generate_qa_certificate(&subject, &address, now).unwrap();
        let info = &qa.info;
        assert_eq!(
            info.subject,
            "C=CH, ST=Genève, L=Carouge, O=ID Quantique, CN=192.168.1.21"
        );
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.subject_cn.as_deref(), Some("192.168.1.21"));
        assert_eq!(info.san, vec!["192.168.1.21"]);
        assert!(info.self_signed);
        assert_eq!(
            info.not_before,
            time::macros::datetime!(2026-11-28 10:20:30 UTC)
        );
        assert_eq!(info.not_after - info.not_before, time::Duration::days(3650));
        assert_eq!(info.serial_hex.len(), 16 * 3 - 1);
        assert!(qa.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(qa.cert_pem, info.pem);
        let debug = format!("{qa:?}");
        assert!(debug.contains("<hidden>") && !debug.contains("PRIVATE KEY"));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("c.pem"), &qa.cert_pem).unwrap();
        std::fs::write(p.join("k.pem"), qa.key_pem.as_bytes()).unwrap();
        // The key belongs to the certificate.
        let (ok, cert_pub) = openssl(&["x509", "-in", "c.pem", "-noout", "-pubkey"], p);
        assert!(ok, "{cert_pub}");
        let (ok, key_pub) = openssl(&["pkey", "-in", "k.pem", "-pubout"], p);
        assert!(ok, "{key_pub}");
        assert_eq!(cert_pub, key_pub);
        // OpenSSL takes it as a trusted self-signed TLS client certificate
        // (what the HSM does with a registered client).
        let (ok, out) = openssl(
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslclient",
                "-attime",
                "1800000000",
                "-CAfile",
                "c.pem",
                "c.pem",
            ],
            p,
        );
        assert!(ok && out.contains("c.pem: OK"), "{out}");
        let (_, text) = openssl(&["x509", "-in", "c.pem", "-noout", "-text"], p);
        assert!(text.contains("RSA") || text.contains("rsaEncryption"));
        assert!(text.contains("Public-Key: (2048 bit)"));

        // CN only, DNS name.
        let address = HsmAddress::parse("qa.example").unwrap();
        let qa = generate_qa_certificate(&QaSubject::default(), &address, now).unwrap();
        assert_eq!(qa.info.subject, "CN=qa.example");
        assert_eq!(qa.info.san, vec!["qa.example"]);

        // A bad subject is refused before any key is made.
        let bad = QaSubject {
            country: Some("Switzerland".into()),
            ..Default::default()
        };
        assert!(generate_qa_certificate(&bad, &address, now).is_err());
    }

    #[test]
    fn serials_are_positive_and_full_length() {
        for _ in 0..200 {
            let s = random_serial();
            assert!(s[0] != 0 && s[0] & 0x80 == 0);
        }
    }
}
