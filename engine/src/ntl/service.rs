//! The trust link as the engine keeps it: the HSM server list and the
//! appliance (QA) certificate in the database (the key sealed with the
//! master key), the subject settings, every change audited, and the Luna
//! client files rewritten after each change when `luna_client_dir` is set.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::repo;
use super::{
    appliance_default_address, check_server_certificate, generate_qa_certificate, openssl_text,
    parse_server_certificate, write_luna_client_files, HsmAddress, LunaFiles, QaSubject,
};
use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::core::Core;
use crate::error::{Error, Result};
pub use types::ntl::{QaCert, ServerCert};

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Imported {
    pub cert: ServerCert,
    /// A certificate for this address was replaced.
    pub replaced: bool,
}

/// What the appliance certificate's subject is made of.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct QaSettings {
    pub subject: QaSubject,
    /// The configured appliance address (CN), if set.
    pub address: Option<String>,
    /// What is used when none is set: the host's first non-loopback address.
    pub default_address: Option<String>,
}

const KEYS: [&str; 5] = [
    "qa_country",
    "qa_state",
    "qa_locality",
    "qa_organization",
    "appliance_address",
];

fn key_context(address: &str) -> String {
    format!("hsmseed:qa-key:{address}")
}

/// The trust link capability (`ntl-*` commands, the Trust link page).
#[derive(Clone)]
pub struct TrustLink {
    core: Core,
}

impl TrustLink {
    pub(crate) fn new(core: Core) -> TrustLink {
        TrustLink { core }
    }
}

impl TrustLink {
    pub async fn qa_settings(&self) -> Result<QaSettings> {
        let mut v = Vec::with_capacity(KEYS.len());
        for k in KEYS {
            v.push(self.core.app_setting(k).await?.filter(|s| !s.is_empty()));
        }
        Ok(QaSettings {
            subject: QaSubject {
                country: v[0].clone(),
                state: v[1].clone(),
                locality: v[2].clone(),
                organization: v[3].clone(),
            },
            address: v[4].clone(),
            default_address: appliance_default_address(),
        })
    }

    /// Sets the appliance certificate's subject (C, ST, L, O) and address
    /// (CN); takes effect at the next `ntl-qa-cert-new`.
    pub async fn set_qa_settings(
        &self,
        subject: &QaSubject,
        address: Option<&str>,
        actor: &Actor,
    ) -> Result<()> {
        let subject = subject.validate()?;
        let address = match address.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => Some(HsmAddress::parse(a)?.to_string()),
            None => None,
        };
        let detail = format!(
            "C={} ST={} L={} O={} address={}",
            subject.country.as_deref().unwrap_or("-"),
            subject.state.as_deref().unwrap_or("-"),
            subject.locality.as_deref().unwrap_or("-"),
            subject.organization.as_deref().unwrap_or("-"),
            address.as_deref().unwrap_or("(default)")
        );
        self.core
            .audited(actor, "ntl.qa.subject", "appliance", async {
                let values = [
                    &subject.country,
                    &subject.state,
                    &subject.locality,
                    &subject.organization,
                    &address,
                ];
                let pairs: Vec<(&str, String)> = KEYS
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (*k, v.clone().unwrap_or_default()))
                    .collect();
                self.core.set_app_settings(&pairs).await?;
                Ok(((), detail))
            })
            .await
    }

    // --- the HSM server list ----------------------------------------------

    /// `ntl-hsm-cert-import`: adds (or, with `replace`, replaces) the
    /// certificate of the HSM at `address`. Refused with a clear message
    /// and nothing stored when the file is not exactly one certificate.
    pub async fn import_server_cert(
        &self,
        address: &str,
        pem: &[u8],
        replace: bool,
        actor: &Actor,
    ) -> Result<Imported> {
        self.core.audited(actor, "ntl.server.import", address, async {
            let addr = HsmAddress::parse(address)?;
            let info = parse_server_certificate(pem)?;
            let now = unix_ms(self.core.now());
            let pool = self.core.store().pool();
            let exists = repo::server_exists(pool, addr.as_str()).await?;
            if exists && !replace {
                return Err(Error::NeedsConfirmation(format!(
                    "the server list already holds a certificate for {addr}: confirm to replace it (--replace)"
                )));
            }
            repo::put_server(pool, addr.as_str(), &info.pem, now).await?;
            self.sync_luna_files().await?;
            let warnings = check_server_certificate(&info, &addr, self.core.now());
            let detail = format!(
                "{} {}{}",
                if exists { "replaced" } else { "added" },
                info.fingerprint_sha256,
                if warnings.is_empty() { String::new() } else { format!(" (warnings: {})", warnings.join("; ")) }
            );
            tracing::info!(address = %addr, "HSM server certificate imported");
            Ok((
                Imported {
                    cert: ServerCert {
                        address: addr.to_string(),
                        info,
                        warnings,
                    },
                    replaced: exists,
                },
                detail,
            ))
        })
        .await
    }

    pub async fn server_certs(&self) -> Result<Vec<ServerCert>> {
        let rows = repo::servers(self.core.store().pool()).await?;
        let now = self.core.now();
        rows.into_iter()
            .map(|(address, pem)| {
                let info = parse_server_certificate(pem.as_bytes())?;
                let warnings = HsmAddress::parse(&address)
                    .map(|a| check_server_certificate(&info, &a, now))
                    .unwrap_or_default();
                Ok(ServerCert {
                    address,
                    info,
                    warnings,
                })
            })
            .collect()
    }

    /// The stored certificate of one HSM, as PEM.
    pub async fn server_cert_pem(&self, address: &str) -> Result<String> {
        let addr = HsmAddress::parse(address)?;
        repo::server_pem(self.core.store().pool(), addr.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(format!("HSM server {addr}")))
    }

    pub async fn delete_server_cert(&self, address: &str, actor: &Actor) -> Result<()> {
        self.core
            .audited(actor, "ntl.server.delete", address, async {
                let addr = HsmAddress::parse(address)?;
                if !repo::delete_server(self.core.store().pool(), addr.as_str()).await? {
                    return Err(Error::NotFound(format!("HSM server {addr}")));
                }
                self.sync_luna_files().await?;
                Ok(((), String::new()))
            })
            .await
    }

    // --- the appliance certificate ------------------------------------------

    /// `ntl-qa-cert-new`: a new self-signed RSA-2048 client certificate for
    /// the appliance address. When one exists, `replace` must say so: every
    /// HSM then has to register the appliance again.
    pub async fn create_qa_cert(&self, replace: bool, actor: &Actor) -> Result<(QaCert, bool)> {
        let settings = self.qa_settings().await?;
        let address = settings
            .address
            .clone()
            .or(settings.default_address.clone());
        let target = address.clone().unwrap_or_else(|| "-".into());
        self.core.audited(actor, "ntl.qa.create", &target, async {
            let address = address.ok_or_else(|| {
                Error::NotConfigured("the appliance address is unknown: set it first (ntl-qa-subject --address=...)".into())
            })?;
            let addr = HsmAddress::parse(&address)?;
            let existed = self.qa_cert().await?.is_some();
            if existed && !replace {
                return Err(Error::NeedsConfirmation(
                    "an appliance certificate exists already: replacing it means every HSM must register the appliance again; confirm to replace it".into(),
                ));
            }
            let subject = settings.subject.clone();
            let now = self.core.now();
            let generated = tokio::task::spawn_blocking(move || generate_qa_certificate(&subject, &addr, now)).await??;
            let sealed = self.core.master_key().seal(generated.key_pem.as_bytes(), &key_context(&address))?;
            repo::put_qa_cert(self.core.store().pool(), &address, &generated.cert_pem, &sealed, unix_ms(now)).await?;
            self.sync_luna_files().await?;
            let cert = QaCert {
                text: openssl_text(&generated.cert_pem)?,
                address,
                info: generated.info,
            };
            let detail = format!("{}{}", cert.info.fingerprint_sha256, if existed { " (replaced)" } else { "" });
            Ok(((cert, existed), detail))
        })
        .await
    }

    /// The appliance certificate, if created.
    pub async fn qa_cert(&self) -> Result<Option<QaCert>> {
        let row = repo::qa_cert(self.core.store().pool()).await?;
        row.map(|(address, pem)| {
            Ok(QaCert {
                info: parse_server_certificate(pem.as_bytes())?,
                text: openssl_text(&pem)?,
                address,
            })
        })
        .transpose()
    }

    /// Every certificate of the trust link with its address, for what
    /// watches their expiry (no openssl-style text: cheap enough to poll).
    pub async fn expiries(&self) -> Result<Vec<types::ntl::CertExpiry>> {
        let pool = self.core.store().pool();
        let mut out = Vec::new();
        for (address, pem) in repo::servers(pool).await? {
            out.push(types::ntl::CertExpiry {
                name: format!("HSM {address}"),
                cert: parse_server_certificate(pem.as_bytes())?,
            });
        }
        if let Some((address, pem)) = repo::qa_cert(pool).await? {
            out.push(types::ntl::CertExpiry {
                name: format!("appliance {address}"),
                cert: parse_server_certificate(pem.as_bytes())?,
            });
        }
        Ok(out)
    }

    /// `ntl-qa-cert-export`: the certificate only (never the key), as PEM.
    pub async fn export_qa_cert(&self, actor: &Actor) -> Result<(String, String)> {
        self.core
            .audited(actor, "ntl.qa.export", "appliance", async {
                let cert = self.qa_cert().await?.ok_or_else(|| {
                    Error::NotFound("an appliance certificate (ntl-qa-cert-new creates it)".into())
                })?;
                let detail = cert.info.fingerprint_sha256.clone();
                Ok(((cert.address, cert.info.pem), detail))
            })
            .await
    }

    /// Rewrites the Luna client files from the stored state, when
    /// `luna_client_dir` is set.
    async fn sync_luna_files(&self) -> Result<()> {
        let Some(dir) = self.core.settings().luna_client_dir.clone() else {
            return Ok(());
        };
        let pool = self.core.store().pool();
        let servers = repo::servers(pool).await?;
        let servers = servers
            .into_iter()
            .map(|(a, pem)| Ok((HsmAddress::parse(&a)?, pem)))
            .collect::<Result<Vec<_>>>()?;
        let qa = repo::qa_cert_with_key(pool).await?;
        let client = match qa {
            Some((address, cert, sealed)) => {
                let key = self
                    .core
                    .master_key()
                    .open(&sealed, &key_context(&address))?;
                let key = Zeroizing::new(
                    String::from_utf8(key.to_vec())
                        .map_err(|_| Error::Internal("stored key is not PEM".into()))?,
                );
                Some((HsmAddress::parse(&address)?, cert, key))
            }
            None => None,
        };
        tokio::task::spawn_blocking(move || {
            let files = LunaFiles {
                servers: &servers,
                client: client.as_ref().map(|(a, c, k)| (a, c.as_str(), k.as_str())),
            };
            write_luna_client_files(&dir, &files)
        })
        .await??;
        tracing::info!("Luna client files rewritten");
        Ok(())
    }
}
