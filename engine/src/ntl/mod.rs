//! The Network Trust Link: HSM server certificates, the appliance client certificate, Luna client files.
//!
//! The pure parts of the Quantis Appliance's NTL commands, re-implemented
//! for any HSM the appliance seeds (SafeNet Luna Network HSM and other
//! PKCS#11 HSMs):
//!
//! * `ntl-hsm-cert-import`: [`HsmAddress::parse`] the HSM's address,
//!   [`parse_server_certificate`] its `server.pem` (strict; keys refused)
//!   and [`check_server_certificate`] for warnings;
//! * `ntl-qa-cert-new`: [`generate_qa_certificate`] from a [`QaSubject`]
//!   and the appliance address ([`appliance_default_address`] suggests one);
//! * `ntl-qa-cert-show`: [`openssl_text`], the certificate as
//!   `openssl x509 -text -noout` prints it;
//! * the files the Luna client (`vtl`) would write:
//!   [`write_luna_client_files`].
//!
//! Nothing here touches the database; callers store what they get back.
//! No function logs or returns key material in errors or `Debug` output.

pub(crate) mod address;
pub(crate) mod cert;
pub(crate) mod der;
pub(crate) mod luna;
mod oids;
mod qa;
pub(crate) mod repo;
mod service;
mod text;

pub use address::{appliance_default_address, HsmAddress};
pub use cert::{check_server_certificate, parse_server_certificate, CertInfo, MAX_CERT_FILE};
pub use luna::{update_chrystoki_conf, write_luna_client_files, LunaFiles, NTLS_PORT};
pub use qa::{generate_qa_certificate, QaCertificate, QaSubject, QA_CERT_VALIDITY_DAYS};
pub use service::{Imported, QaCert, QaSettings, ServerCert, TrustLink};
pub use text::openssl_text;
