//! `entropy_source`: where entropy comes from, one entry of the list.
//!
//! An entry is its kind, then options as `key=value` words:
//!
//! * `os`: the kernel CSPRNG;
//! * `device:PATH`: raw bytes from a character device (or a file);
//! * `qrng:https://HOST[:PORT][/PREFIX]`: a QRNG Open API server (another
//!   hsmseed, or a vendor's), `POST PREFIX/v1/entropy`;
//! * `quantis:https://HOST[:PORT][/api/2.0]`: a Quantis appliance,
//!   `GET .../streambytes?size=N`.
//!
//! Options of a remote source: `token_file=PATH` (sent as a Bearer token,
//! and as `X-API-KEY` to a QRNG Open API server), `ca_file=PATH` (trust
//! only these certificates) or `pin=SHA256HEX` (the server's certificate,
//! by the SHA-256 of its DER; colons allowed), else the public web roots;
//! `connect_timeout_ms`, `timeout_ms` (an answer's deadline, also the
//! longest a seed waits for the network), `prefetch` (bytes kept ready),
//! `refresh_ms` (a full buffer is still refreshed this often, so that a
//! silent server is noticed),
//! `min_entropy` (the claimed min-entropy per byte that sets the health
//! tests' cutoffs, default `entropy_min_entropy`). There is no way to
//! accept any certificate.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use crate::error::{Error, Result};

/// Where entropy comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EntropySourceKind {
    /// The kernel CSPRNG (getrandom).
    Os,
    /// Raw bytes from a device or file.
    Device(PathBuf),
    /// Another appliance or a network QRNG.
    Remote(Box<RemoteSpec>),
}

/// The protocol a remote source speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteProtocol {
    /// The QRNG Open API: `POST /v1/entropy`.
    Qrng,
    /// Quantis REST 2.0: `GET /api/2.0/streambytes?size=N`.
    Quantis,
}

impl RemoteProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteProtocol::Qrng => "qrng",
            RemoteProtocol::Quantis => "quantis",
        }
    }
}

/// A remote source and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSpec {
    pub protocol: RemoteProtocol,
    /// The base URL as written (https, a host, no credentials, no query).
    pub url: Url,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the server certificate's DER.
    pub pin: Option<[u8; 32]>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Raw bytes kept fetched ahead.
    pub prefetch: usize,
    /// A full buffer is still refreshed this often (a server that stopped
    /// answering is noticed within it).
    pub refresh: Duration,
    /// The claimed min-entropy per byte; `None`: `entropy_min_entropy`.
    pub min_entropy: Option<f64>,
}

/// Defaults of a remote source's options.
pub const REMOTE_CONNECT_TIMEOUT_MS: u64 = 3_000;
pub const REMOTE_TIMEOUT_MS: u64 = 5_000;
pub const REMOTE_PREFETCH: usize = 64 * 1024;
pub const REMOTE_REFRESH_MS: u64 = 10_000;
/// The smallest and largest prefetch buffer.
const PREFETCH_RANGE: std::ops::RangeInclusive<usize> = 4096..=16 * 1024 * 1024;

impl RemoteSpec {
    /// The URL of one fetch.
    pub fn request_url(&self, size: usize) -> Url {
        let mut url = self.url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        match self.protocol {
            RemoteProtocol::Qrng => url.set_path(&format!("{base}/v1/entropy")),
            RemoteProtocol::Quantis => {
                let base = if base.is_empty() { "/api/2.0" } else { &base };
                url.set_path(&format!("{base}/streambytes"));
                url.set_query(Some(&format!("size={size}")));
            }
        }
        url
    }
}

impl std::str::FromStr for EntropySourceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut words = s.split_whitespace();
        let first = words.next().unwrap_or_default();
        let bad = || {
            Error::Config(format!(
                "entropy_source `{s}` is not `os`, `device:PATH`, `qrng:https://HOST[:PORT][/PREFIX]` \
                 or `quantis:https://HOST[:PORT][/api/2.0]`"
            ))
        };
        let kind = match first.split_once(':') {
            None if first == "os" => Self::Os,
            Some(("device", path)) if !path.is_empty() => Self::Device(PathBuf::from(path)),
            Some(("qrng", url)) => Self::Remote(Box::new(remote(RemoteProtocol::Qrng, url)?)),
            Some(("quantis", url)) => Self::Remote(Box::new(remote(RemoteProtocol::Quantis, url)?)),
            _ => return Err(bad()),
        };
        let options: Vec<&str> = words.collect();
        match kind {
            Self::Remote(mut spec) => {
                for o in options {
                    option(&mut spec, o)
                        .map_err(|e| Error::Config(format!("entropy_source `{first}`: {e}")))?;
                }
                if spec.ca_file.is_some() && spec.pin.is_some() {
                    return Err(Error::Config(format!(
                        "entropy_source `{first}`: give ca_file or pin, not both"
                    )));
                }
                Ok(Self::Remote(spec))
            }
            kind => match options.first() {
                None => Ok(kind),
                Some(o) => Err(Error::Config(format!(
                    "entropy_source `{first}`: `{o}`: only remote sources take options"
                ))),
            },
        }
    }
}

/// The base URL of a remote source, checked.
fn remote(protocol: RemoteProtocol, url: &str) -> Result<RemoteSpec> {
    let name = format!("{}:{url}", protocol.as_str());
    let fail = |why: &str| Error::Config(format!("entropy_source `{name}`: {why}"));
    let parsed = Url::parse(url).map_err(|e| fail(&format!("not a URL ({e})")))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if host == "beacon.nist.gov"
        || host.ends_with(".beacon.nist.gov")
        || parsed.path().contains("/beacon/")
    {
        return Err(fail(
            "a randomness beacon publishes its values to everyone: they are public, not secret, \
             and must never seed an HSM",
        ));
    }
    if parsed.scheme() != "https" {
        return Err(fail(
            "the URL must start with https:// (entropy never travels in clear)",
        ));
    }
    if host.is_empty() {
        return Err(fail("the URL has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(fail("no user name or password in the URL; use token_file="));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(fail("no query or fragment in the URL"));
    }
    Ok(RemoteSpec {
        protocol,
        url: parsed,
        token_file: None,
        ca_file: None,
        pin: None,
        connect_timeout: Duration::from_millis(REMOTE_CONNECT_TIMEOUT_MS),
        timeout: Duration::from_millis(REMOTE_TIMEOUT_MS),
        prefetch: REMOTE_PREFETCH,
        refresh: Duration::from_millis(REMOTE_REFRESH_MS),
        min_entropy: None,
    })
}

/// Applies one `key=value` option.
fn option(spec: &mut RemoteSpec, o: &str) -> std::result::Result<(), String> {
    let Some((key, value)) = o.split_once('=').filter(|(_, v)| !v.is_empty()) else {
        return Err(format!("option `{o}` is not key=value"));
    };
    let millis = |v: &str| -> std::result::Result<Duration, String> {
        match v.parse::<u64>() {
            Ok(n @ 1..=600_000) => Ok(Duration::from_millis(n)),
            _ => Err(format!("{key}: `{v}` is not 1 to 600000 milliseconds")),
        }
    };
    match key {
        "token_file" => spec.token_file = Some(PathBuf::from(value)),
        "ca_file" => spec.ca_file = Some(PathBuf::from(value)),
        "pin" => spec.pin = Some(parse_pin(value)?),
        "connect_timeout_ms" => spec.connect_timeout = millis(value)?,
        "timeout_ms" => spec.timeout = millis(value)?,
        "refresh_ms" => spec.refresh = millis(value)?,
        "prefetch" => {
            spec.prefetch = value
                .parse::<usize>()
                .ok()
                .filter(|n| PREFETCH_RANGE.contains(n))
                .ok_or_else(|| {
                    format!(
                        "prefetch: `{value}` is not {} to {} bytes",
                        PREFETCH_RANGE.start(),
                        PREFETCH_RANGE.end()
                    )
                })?
        }
        "min_entropy" => {
            let h = value
                .parse::<f64>()
                .map_err(|_| format!("min_entropy: `{value}` is not a number"))?;
            if !(h.is_finite() && h > 0.0 && h <= 8.0) {
                return Err(format!(
                    "min_entropy must be a number in (0, 8], not {value}"
                ));
            }
            spec.min_entropy = Some(h);
        }
        _ => {
            return Err(format!(
                "unknown option `{key}` (token_file, ca_file, pin, connect_timeout_ms, \
                 timeout_ms, refresh_ms, prefetch, min_entropy)"
            ))
        }
    }
    Ok(())
}

/// A SHA-256 pin: 64 hex digits, colons allowed.
fn parse_pin(v: &str) -> std::result::Result<[u8; 32], String> {
    let digits: String = v.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&digits).map_err(|_| format!("pin: `{v}` is not hexadecimal"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| "pin: a SHA-256 pin is 32 bytes (64 hex digits)".to_string())
}

impl fmt::Display for EntropySourceKind {
    /// The source's name: its kind and path or URL, without options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Os => f.write_str("os"),
            Self::Device(p) => write!(f, "device:{}", p.display()),
            Self::Remote(r) => write!(f, "{}:{}", r.protocol.as_str(), r.url),
        }
    }
}

/// How several sources make one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntropyMix {
    /// Every source must be healthy, else nothing is delivered.
    All,
    /// The healthy ones, at least one.
    Any,
}

impl EntropyMix {
    pub fn as_str(self) -> &'static str {
        match self {
            EntropyMix::All => "all",
            EntropyMix::Any => "any",
        }
    }
}

impl std::str::FromStr for EntropyMix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "all" => Ok(EntropyMix::All),
            "any" => Ok(EntropyMix::Any),
            other => Err(Error::Config(format!(
                "entropy_mix `{other}` is not `all` or `any`"
            ))),
        }
    }
}

/// Parses the list, refusing an empty one and a source named twice.
pub(super) fn parse_sources(items: Vec<String>) -> Result<Vec<EntropySourceKind>> {
    let mut out: Vec<EntropySourceKind> = Vec::new();
    for item in items {
        let kind: EntropySourceKind = item.trim().parse()?;
        if out.iter().any(|k| k.to_string() == kind.to_string()) {
            return Err(Error::Config(format!(
                "entropy_source names `{kind}` twice"
            )));
        }
        out.push(kind);
    }
    if out.is_empty() {
        return Err(Error::Config(
            "entropy_source is empty: name at least one source".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_options_parse() {
        assert_eq!(
            "os".parse::<EntropySourceKind>().unwrap(),
            EntropySourceKind::Os
        );
        let EntropySourceKind::Remote(r) = "qrng:https://127.0.0.1:8443/ token_file=/t ca_file=/c timeout_ms=700 prefetch=8192 min_entropy=7.5"
            .parse::<EntropySourceKind>()
            .unwrap()
        else {
            panic!("not remote")
        };
        assert_eq!(r.protocol, RemoteProtocol::Qrng);
        assert_eq!(r.token_file.as_deref(), Some(std::path::Path::new("/t")));
        assert_eq!(r.timeout, Duration::from_millis(700));
        assert_eq!(r.prefetch, 8192);
        assert_eq!(r.min_entropy, Some(7.5));
        assert_eq!(
            r.request_url(64).as_str(),
            "https://127.0.0.1:8443/v1/entropy"
        );
        let q: EntropySourceKind = "quantis:https://qa.example pin=AB:"
            .to_string()
            .replace("AB:", &"ab".repeat(32))
            .parse()
            .unwrap();
        let EntropySourceKind::Remote(q) = q else {
            panic!()
        };
        assert_eq!(
            q.request_url(4096).as_str(),
            "https://qa.example/api/2.0/streambytes?size=4096"
        );
        assert_eq!(q.to_string_name(), "quantis:https://qa.example/");
    }

    impl RemoteSpec {
        fn to_string_name(&self) -> String {
            EntropySourceKind::Remote(Box::new(self.clone())).to_string()
        }
    }

    #[test]
    fn bad_sources_are_refused_with_the_reason() {
        for (bad, why) in [
            ("qrng:http://10.0.0.1/", "https://"),
            ("qrng:https://u:p@host/", "no user name"),
            ("quantis:https://host/?a=b", "no query"),
            (
                "qrng:https://beacon.nist.gov/beacon/2.0/pulse/last",
                "public",
            ),
            ("qrng:https://host/ insecure=true", "unknown option"),
            ("qrng:https://host/ pin=abcd", "64 hex digits"),
            ("qrng:https://host/ pin=", "key=value"),
            ("qrng:https://host/ timeout_ms=0", "milliseconds"),
            ("qrng:https://host/ min_entropy=9", "(0, 8]"),
            ("qrng:https://host/ prefetch=10", "prefetch"),
            ("device:/dev/x min_entropy=7", "only remote"),
            ("remote", "is not `os`"),
        ] {
            let e = bad.parse::<EntropySourceKind>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let both = format!("qrng:https://h/ ca_file=/c pin={}", "00".repeat(32));
        assert!(both
            .parse::<EntropySourceKind>()
            .unwrap_err()
            .to_string()
            .contains("not both"));
        assert!(parse_sources(vec![]).is_err());
        assert!(parse_sources(vec!["os".into(), "os".into()])
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }
}
