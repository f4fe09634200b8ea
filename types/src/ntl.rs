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

/// A certificate expiring within this many days is warned about (trust
/// page, dashboard, server list).
pub const EXPIRY_WARNING_DAYS: i64 = 30;

impl CertInfo {
    /// Whole days from `now` to its end of validity (negative once expired).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }

    /// Still valid, but for [`EXPIRY_WARNING_DAYS`] days at most.
    pub fn expires_soon(&self, now: OffsetDateTime) -> bool {
        now <= self.not_after && self.days_left(now) <= EXPIRY_WARNING_DAYS
    }

    /// `expires in 12 days`, `expires today`, `expired 3 days ago`.
    pub fn expiry_text(&self, now: OffsetDateTime) -> String {
        let d = self.days_left(now);
        if now > self.not_after {
            let ago = (now - self.not_after).whole_days();
            format!("expired {ago} day{} ago", if ago == 1 { "" } else { "s" })
        } else if d == 0 {
            "expires today".into()
        } else {
            format!("expires in {d} day{}", if d == 1 { "" } else { "s" })
        }
    }
}

/// A certificate's end of validity, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertExpiry {
    /// `HSM 192.168.1.31` or `appliance 192.168.1.21`.
    pub name: String,
    pub cert: CertInfo,
}
