//! A certificate of the trust link as every interface shows it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the appliance shows and stores about one certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInfo {
    /// The certificate as one normalised PEM block (64-column base64, `\n`
    /// line ends, final newline).
    pub pem: String,
    /// The subject on one line, RFC 4514 style in certificate order, e.g.
    /// `C=CA, O=Gemalto, CN=192.168.1.31`.
    pub subject: String,
    /// The (first) common name of the subject.
    pub subject_cn: Option<String>,
    /// The issuer, formatted like `subject`.
    pub issuer: String,
    /// DNS names and IP addresses of the Subject Alternative Name extension.
    pub san: Vec<String>,
    /// The serial number as colon-separated upper-case hex (`01:A2:...`),
    /// without the sign octet DER may add.
    pub serial_hex: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER certificate as `AB:CD:...` (as `openssl x509
    /// -fingerprint -sha256` shows it).
    pub fingerprint_sha256: String,
    /// The issuer equals the subject and, for the usual RSA, ECDSA and
    /// Ed25519 algorithms, the signature verifies with the certificate's
    /// own key (for other algorithms only the names are compared).
    pub self_signed: bool,
}

/// A certificate in the HSM server list, with what is worth a warning.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerCert {
    pub address: String,
    pub info: CertInfo,
    pub warnings: Vec<String>,
}

/// The appliance certificate (never its key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QaCert {
    pub address: String,
    pub info: CertInfo,
    /// As `openssl x509 -text -noout` prints it.
    pub text: String,
}
