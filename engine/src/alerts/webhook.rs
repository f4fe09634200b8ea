//! Alerts to a webhook: each alert POSTed as JSON to an HTTPS URL, over
//! TLS that trusts the configured CA (or the public web roots), with a
//! timeout per attempt and a few retries.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::Serialize;
use types::alerts::Alert;

use crate::error::{Error, Result};

/// How hard a delivery tries.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all (the first included).
    pub attempts: u32,
    /// The wait for one attempt's answer (connection and TLS included).
    pub timeout: Duration,
    /// The wait before the second attempt; doubled before each next one.
    pub backoff: Duration,
}

impl Default for Retry {
    /// Four attempts of 5 s at most, 1, 2 and 4 s apart: about 30 s in
    /// all for an alert that cannot be delivered.
    fn default() -> Retry {
        Retry {
            attempts: 4,
            timeout: Duration::from_secs(5),
            backoff: Duration::from_secs(1),
        }
    }
}

/// A checked webhook URL: `https://`, a host, no user or password in it.
pub(crate) fn parse_url(s: &str) -> Result<Url> {
    let refuse = |why: &str| Error::Invalid(format!("webhook URL `{}`: {why}", types::shown(s)));
    let url = Url::parse(s.trim()).map_err(|e| refuse(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(refuse(
            "it must start with https:// (alerts go over TLS only)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("the host is missing"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("put no user name or password in the URL"));
    }
    if url.fragment().is_some() {
        return Err(refuse("a #fragment is never sent; remove it"));
    }
    Ok(url)
}

/// The URL as logs and the audit log show it: scheme, host and port only,
/// since webhook paths often carry a secret.
pub(crate) fn shown_url(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() == "/" && url.query().is_none() {
        ""
    } else {
        "/…"
    };
    format!(
        "{}://{}{port}{rest}",
        url.scheme(),
        url.host_str().unwrap_or("")
    )
}

/// The CA certificates of a PEM text: at least one `CERTIFICATE` block,
/// nothing else in it.
pub(crate) fn parse_ca(pem: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    crate::tls::parse_certificates(pem, "webhook CA")
}

/// The subjects of the CA certificates of a PEM text.
pub fn ca_subjects(pem: &str) -> Result<Vec<String>> {
    Ok(parse_ca(pem)?
        .iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, c)| c.subject().to_string())
        .collect())
}

/// What the receiver gets: the alert and which appliance sent it.
#[derive(Serialize)]
struct Body<'a> {
    appliance: &'a str,
    #[serde(flatten)]
    alert: &'a Alert,
}

/// A webhook ready to post to.
pub(crate) struct Webhook {
    url: Url,
    client: reqwest::Client,
}

impl Webhook {
    pub(crate) fn new(url: Url, ca_pem: Option<&str>, retry: &Retry) -> Result<Webhook> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                for der in parse_ca(pem)? {
                    roots.add(der).map_err(|e| {
                        Error::Invalid(format!("webhook CA: not usable as a trust anchor: {e}"))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Internal(format!("TLS set-up: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry.timeout)
            .user_agent(concat!("hsmseed/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        Ok(Webhook { url, client })
    }

    /// Posts `alert`, retrying after a failure to connect, a timeout, a
    /// 429 or a 5xx answer; another answer ends it at once. Answers what
    /// happened, for the settings page and the log.
    pub(crate) async fn post(
        &self,
        alert: &Alert,
        appliance: &str,
        retry: &Retry,
    ) -> std::result::Result<String, String> {
        let body = Body { appliance, alert };
        let mut wait = retry.backoff;
        let mut last = String::new();
        let attempts = retry.attempts.max(1);
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            match self.client.post(self.url.clone()).json(&body).send().await {
                Ok(answer) => {
                    let status = answer.status();
                    if status.is_success() {
                        return Ok(format!(
                            "HTTP {} after {attempt} attempt{}",
                            status.as_u16(),
                            if attempt == 1 { "" } else { "s" }
                        ));
                    }
                    last = format!("HTTP {}", status.as_u16());
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(format!("refused with {last}; not retried"));
                    }
                }
                Err(e) => last = crate::tls::describe_request_error(&e),
            }
        }
        Err(format!("{last} ({attempts} attempts)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example:8443/a/b?c=d").is_ok());
        for (bad, why) in [
            ("http://hooks.example/", "https://"),
            ("https://user:pw@hooks.example/", "no user name or password"),
            ("https://hooks.example/#x", "fragment"),
            ("hooks.example", "relative URL"),
            ("", "relative URL"),
        ] {
            let e = parse_url(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn the_shown_url_hides_the_path() {
        let u = parse_url("https://hooks.example:8443/T000/B000/secret").unwrap();
        assert_eq!(shown_url(&u), "https://hooks.example:8443/…");
        let u = parse_url("https://10.0.0.9").unwrap();
        assert_eq!(shown_url(&u), "https://10.0.0.9");
    }

    #[test]
    fn a_ca_is_certificates_and_nothing_else() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        assert_eq!(parse_ca(&cert.cert.pem()).unwrap().len(), 1);
        let with_key = format!("{}{}", cert.cert.pem(), cert.signing_key.serialize_pem());
        assert!(parse_ca(&with_key)
            .unwrap_err()
            .to_string()
            .contains("never a key"));
        assert!(parse_ca("hello")
            .unwrap_err()
            .to_string()
            .contains("no -----BEGIN"));
    }
}
