//! Addresses of HSMs and of the appliance: an IPv4 or IPv6 address, or a
//! DNS host name.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The address of an HSM (or of this appliance) as the Luna client knows it:
/// an IPv4 address, an IPv6 address (kept in its canonical text form) or a
/// DNS host name (RFC 1123, kept in lower case).
///
/// It also names files (`cert/client/<address>.pem`), so it never holds a
/// `/`, whitespace or anything else outside `[0-9A-Za-z.:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsmAddress(String);

impl HsmAddress {
    /// Parses `s` (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<HsmAddress> {
        let t = s.trim();
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(HsmAddress(ip.to_string()));
        }
        if is_host_name(t) {
            return Ok(HsmAddress(t.to_ascii_lowercase()));
        }
        Err(Error::Invalid(format!(
            "`{}` is not an IPv4 or IPv6 address or a host name",
            printable(t)
        )))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IP address, when it is one (not a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.0.parse().ok()
    }
}

impl fmt::Display for HsmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for HsmAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        HsmAddress::parse(s)
    }
}

impl serde::Serialize for HsmAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for HsmAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HsmAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and
/// hyphens, not starting or ending with a hyphen, 253 characters at most,
/// and at least one letter somewhere (so `1.2.3.256` is not a name).
fn is_host_name(s: &str) -> bool {
    if s.is_empty() || s.len() > types::limits::HSM_ADDRESS {
        return false;
    }
    if !s.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

/// Input echoed in an error message: control characters replaced, length
/// capped, so a message never carries a whole uploaded file.
fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The address the appliance most likely has on the HSM network: the
/// host's first non-loopback, non-link-local IPv4 address, else the first
/// such IPv6 address, else `None`.
pub fn appliance_default_address() -> Option<String> {
    let ifaces = match if_addrs::get_if_addrs() {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list network interfaces");
            return None;
        }
    };
    let usable = |ip: &IpAddr| -> bool {
        if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
            return false;
        }
        match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        }
    };
    let ips: Vec<IpAddr> = ifaces.iter().map(|i| i.ip()).collect();
    ips.iter()
        .find(|ip| ip.is_ipv4() && usable(ip))
        .or_else(|| ips.iter().find(|ip| ip.is_ipv6() && usable(ip)))
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_names() {
        let a = HsmAddress::parse("192.168.1.31").unwrap();
        assert_eq!(a.as_str(), "192.168.1.31");
        assert_eq!(a.ip(), Some("192.168.1.31".parse().unwrap()));
        let b = HsmAddress::parse(" 2001:DB8:0:0::1 ").unwrap();
        assert_eq!(b.as_str(), "2001:db8::1");
        assert!(b.ip().unwrap().is_ipv6());
        let c = HsmAddress::parse("HSM-1.Example.com").unwrap();
        assert_eq!(c.as_str(), "hsm-1.example.com");
        assert_eq!(c.ip(), None);
        assert_eq!(c.to_string(), "hsm-1.example.com");
        HsmAddress::parse("localhost").unwrap();
        HsmAddress::parse("a1").unwrap();
        HsmAddress::parse(&format!("{}.b", "a".repeat(63))).unwrap();
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "   ",
            "1.2.3.256",
            "1.2.3",
            "01.2.3.4",
            "-a.example",
            "a-.example",
            "a..b",
            "a.b.",
            "a_b",
            "a b",
            "host/x",
            "[::1]",
            "fe80::1%eth0",
            "1.2.3.4:1792",
        ] {
            let err = HsmAddress::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("is not an IPv4 or IPv6 address or a host name"),
                "{bad}: {err}"
            );
            assert_eq!(err.code(), "invalid_input");
        }
        assert!(HsmAddress::parse(&format!("{}.b", "a".repeat(64))).is_err());
        let long = vec!["abc"; 64].join(".");
        assert!(long.len() > 253);
        assert!(HsmAddress::parse(&long).is_err());
        assert_eq!(
            HsmAddress::parse("1.2.3.256").unwrap_err().to_string(),
            "`1.2.3.256` is not an IPv4 or IPv6 address or a host name"
        );
    }

    #[test]
    fn serde_as_string() {
        let a = HsmAddress::parse("10.0.0.1").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"10.0.0.1\"");
        let b: HsmAddress = serde_json::from_str("\"hsm.example\"").unwrap();
        assert_eq!(b.as_str(), "hsm.example");
        assert!(serde_json::from_str::<HsmAddress>("\"not valid\"").is_err());
    }

    #[test]
    fn default_address_is_not_loopback() {
        if let Some(a) = appliance_default_address() {
            let ip: IpAddr = a.parse().unwrap();
            assert!(!ip.is_loopback());
        }
    }
}
