//! Alerts to syslog as RFC 5424 messages, over the local log socket (a
//! Unix datagram socket, `/dev/log`) or UDP.

use std::path::PathBuf;

use types::alerts::Alert;

use crate::error::{Error, Result};

/// The facility alerts are logged under: `daemon` (3).
const FACILITY: u8 = 3;

/// The SD-ID of the alert's fields: `hsmseed` under the enterprise number
/// RFC 5612 reserves for documentation (there is no private one yet).
const SD_ID: &str = "hsmseed@32473";

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A Unix datagram socket (`local` is `/dev/log`).
    Unix(PathBuf),
    /// `HOST:PORT` over UDP.
    Udp { host: String, port: u16 },
}

impl Target {
    /// `local`, `unix:/absolute/path` or `udp:HOST:PORT` (`udp:[::1]:514`
    /// for an IPv6 address).
    pub(crate) fn parse(s: &str) -> Result<Target> {
        let s = s.trim();
        let refuse = |why: &str| {
            Error::Invalid(format!(
                "syslog target `{}`: {why}; write local, unix:/PATH or udp:HOST:PORT",
                types::shown(s)
            ))
        };
        if s == "local" {
            return Ok(Target::Unix(PathBuf::from("/dev/log")));
        }
        if let Some(path) = s.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(refuse("the socket path must be absolute"));
            }
            return Ok(Target::Unix(path));
        }
        if let Some(rest) = s.strip_prefix("udp:") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| refuse("the port is missing"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port: u16 = port
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| refuse("the port must be a number from 1 to 65535"))?;
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !host_ok {
                return Err(refuse("the host is not a name or an IP address"));
            }
            return Ok(Target::Udp {
                host: host.to_string(),
                port,
            });
        }
        Err(refuse("unknown kind of target"))
    }

    /// Sends one message.
    pub(crate) async fn send(&self, message: &str) -> std::result::Result<(), String> {
        match self {
            Target::Unix(path) => {
                let socket = tokio::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
                socket
                    .send_to(message.as_bytes(), path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Target::Udp { host, port } => {
                let to = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|e| format!("{host}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("{host}: no address"))?;
                let from: std::net::SocketAddr = match to.ip() {
                    ip if ip.is_loopback() => (ip, 0).into(),
                    std::net::IpAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
                    std::net::IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
                };
                let socket = tokio::net::UdpSocket::bind(from)
                    .await
                    .map_err(|e| e.to_string())?;
                socket
                    .send_to(message.as_bytes(), to)
                    .await
                    .map_err(|e| format!("{to}: {e}"))?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(p) if p.as_os_str() == "/dev/log" => f.write_str("local"),
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::Udp { host, port } if host.contains(':') => write!(f, "udp:[{host}]:{port}"),
            Target::Udp { host, port } => write!(f, "udp:{host}:{port}"),
        }
    }
}

/// A header field: printable ASCII without spaces, at most `max`
/// characters, or the nil value `-`.
fn field(s: &str, max: usize) -> &str {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| (33..=126).contains(&b)) {
        "-"
    } else {
        s
    }
}

/// A structured-data parameter value: `"`, `\` and `]` escaped.
fn param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The RFC 5424 message of `alert`: `<PRI>1 TIMESTAMP HOSTNAME hsmseed
/// PROCID MSGID [hsmseed@32473 ...] MSG`, MSGID being the event.
pub(crate) fn format(alert: &Alert, hostname: &str, pid: u32) -> String {
    let pri = FACILITY * 8 + alert.severity.code();
    let at = alert.at.to_offset(time::UtcOffset::UTC);
    let timestamp = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    );
    format!(
        "<{pri}>1 {timestamp} {} hsmseed {pid} {} [{SD_ID} event=\"{}\" subject=\"{}\" state=\"{}\" previous=\"{}\" severity=\"{}\"] {}",
        field(hostname, 255),
        field(&alert.event, 32),
        param(&alert.event),
        param(&alert.subject),
        param(&alert.state),
        param(&alert.previous),
        alert.severity,
        alert.message.replace(['\n', '\r'], " ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::alerts::Severity;

    #[test]
    fn targets_parse_and_show_as_written() {
        for s in [
            "local",
            "unix:/run/log.sock",
            "udp:127.0.0.1:514",
            "udp:[::1]:5514",
            "udp:logs.example:514",
        ] {
            assert_eq!(Target::parse(s).unwrap().to_string(), s);
        }
        for bad in [
            "",
            "tcp:127.0.0.1:514",
            "udp:127.0.0.1",
            "udp:127.0.0.1:0",
            "udp::514",
            "unix:relative",
            "udp:a b:1",
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("write local, unix:/PATH or udp:HOST:PORT"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn messages_follow_rfc_5424() {
        let alert = Alert {
            event: "configuration.failing".into(),
            severity: Severity::Error,
            subject: "configuration H\"S]M2".into(),
            state: "failing".into(),
            previous: "ok".into(),
            message: "configuration HSM2 failing:\n1 failed reseed".into(),
            at: time::macros::datetime!(2026-11-30 10:51:52.25 UTC),
        };
        assert_eq!(
            format(&alert, "qa-appliance", 42),
            "<27>1 2026-11-30T10:51:52.250Z qa-appliance hsmseed 42 configuration.failing \
             [hsmseed@32473 event=\"configuration.failing\" subject=\"configuration H\\\"S\\]M2\" \
             state=\"failing\" previous=\"ok\" severity=\"error\"] configuration HSM2 failing: 1 failed reseed"
        );
        assert!(format(&alert, "has space", 1).contains(" - hsmseed 1 "));
    }
}
