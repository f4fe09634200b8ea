//! The files the SafeNet Luna client (`vtl addServer`, `vtl createCert`)
//! keeps in its directory (`/usr/safenet/lunaclient` by default):
//!
//! ```text
//! <dir>/cert/server/CAFile.pem             server certificates of the HSMs
//! <dir>/cert/client/<address>.pem          this appliance's certificate
//! <dir>/cert/client/<address>Key.pem       its private key (0600)
//! <dir>/Chrystoki.conf                     `LunaSA Client` section: the servers
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::address::HsmAddress;
use super::der;
use crate::error::{Error, Result};
use crate::store::write_private_file;

/// The NTLS port the Luna client connects to.
pub const NTLS_PORT: u16 = 1792;

/// What [`write_luna_client_files`] writes.
pub struct LunaFiles<'a> {
    /// The HSMs, in order (`ServerName00`, `ServerName01`, ...), each with
    /// its server certificate (PEM).
    pub servers: &'a [(HsmAddress, String)],
    /// The appliance's client certificate: its address (names the files),
    /// the certificate PEM and the private key PEM. `None` leaves existing
    /// client files and the client lines of `Chrystoki.conf` alone.
    pub client: Option<(&'a HsmAddress, &'a str, &'a str)>,
}

impl fmt::Debug for LunaFiles<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<&str> = self.servers.iter().map(|(a, _)| a.as_str()).collect();
        f.debug_struct("LunaFiles")
            .field("servers", &servers)
            .field("client", &self.client.map(|(a, _, _)| a.as_str()))
            .finish()
    }
}

/// Writes the Luna client files under `dir` (created when missing), each
/// file atomically (temporary file, then rename):
///
/// * `cert/server/CAFile.pem`: the server certificates concatenated in the
///   given order (an empty file when there are none), mode 0644;
/// * with a client: `cert/client/<address>.pem` (0644) and
///   `cert/client/<address>Key.pem` (0600);
/// * `Chrystoki.conf` (0644): see [`update_chrystoki_conf`]. When the file
///   does not exist it is created with a `Chrystoki2` section pointing at
///   `<dir>/lib/libCryptoki2_64.so` and a `LunaSA Client` section.
///
/// Paths written into `Chrystoki.conf` are absolute (`dir` is made absolute
/// against the current directory if needed).
pub fn write_luna_client_files(dir: &Path, files: &LunaFiles<'_>) -> Result<()> {
    let dir = std::path::absolute(dir).map_err(|e| Error::io("resolving", dir, e))?;
    let dir_str = dir
        .to_str()
        .filter(|s| !s.contains([';', '\n', '\r', '{', '}']))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the Luna client directory {} cannot be written into Chrystoki.conf",
                dir.display()
            ))
        })?;
    for (address, pem) in files.servers {
        refuse_keys(pem, &format!("the server certificate of {address}"))?;
    }
    if let Some((address, cert, key)) = files.client {
        refuse_keys(cert, &format!("the client certificate of {address}"))?;
        if key.trim().is_empty() {
            return Err(Error::Invalid("the client private key is empty".into()));
        }
    }

    let server_dir = dir.join("cert").join("server");
    let client_dir = dir.join("cert").join("client");
    for d in [&server_dir, &client_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io("creating", d, e))?;
    }

    let mut ca = String::new();
    for (_, pem) in files.servers {
        ca.push_str(pem);
        if !pem.is_empty() && !pem.ends_with('\n') {
            ca.push('\n');
        }
    }
    write_public_file(&server_dir.join("CAFile.pem"), ca.as_bytes())?;

    if let Some((address, cert, key)) = files.client {
        let mut cert = cert.to_owned();
        if !cert.ends_with('\n') {
            cert.push('\n');
        }
        write_public_file(&client_dir.join(format!("{address}.pem")), cert.as_bytes())?;
        write_private_file(
            &client_dir.join(format!("{address}Key.pem")),
            key.as_bytes(),
        )?;
    }

    let conf_path = dir.join("Chrystoki.conf");
    let existing = match std::fs::read_to_string(&conf_path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("reading", &conf_path, e)),
    };
    let base = existing.unwrap_or_else(|| default_chrystoki_conf(dir_str));
    let servers: Vec<&HsmAddress> = files.servers.iter().map(|(a, _)| a).collect();
    let updated = update_chrystoki_conf(&base, dir_str, &servers, files.client.map(|c| c.0))?;
    write_public_file(&conf_path, updated.as_bytes())?;
    tracing::info!(dir = %dir.display(), servers = servers.len(),
        client = files.client.is_some(), "wrote the Luna client files");
    Ok(())
}

fn refuse_keys(pem: &str, what: &str) -> Result<()> {
    if der::begin_labels(pem.as_bytes())
        .iter()
        .any(|l| l.contains("PRIVATE KEY"))
    {
        return Err(Error::Invalid(format!(
            "{what} holds a private key; refusing to write it"
        )));
    }
    Ok(())
}

/// A new `Chrystoki.conf`, before the servers and client are filled in.
fn default_chrystoki_conf(dir: &str) -> String {
    format!(
        "Chrystoki2 = {{\n\
         \x20  LibUNIX64 = {dir}/lib/libCryptoki2_64.so;\n\
         }}\n\
         LunaSA Client = {{\n\
         \x20  ReceiveTimeout = 20000;\n\
         \x20  NetClient = 1;\n\
         \x20  TCPKeepAlive = 1;\n\
         \x20  ServerCAFile = {dir}/cert/server/CAFile.pem;\n\
         }}\n"
    )
}

const SECTION: &str = "LunaSA Client";

/// Section header `Name = {` → `Name`.
fn section_header(line: &str) -> Option<&str> {
    let (name, rest) = line.split_once('=')?;
    (rest.trim() == "{").then(|| name.trim())
}

/// `   Key = value;` → `Key`.
fn entry_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

/// `ServerName00`, `ServerPort01`, `ServerHtl12`, ...
fn is_server_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    ["servername", "serverport", "serverhtl"].iter().any(|p| {
        lower
            .strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Rewrites the server list of the `LunaSA Client = { ... }` section of a
/// `Chrystoki.conf` text and returns the new text. Rules:
///
/// * every line outside that section is kept byte for byte (other sections,
///   comments, blank lines, line endings);
/// * inside it, all `ServerNameNN`, `ServerPortNN` and `ServerHtlNN` lines
///   are removed and `ServerNameNN = <address>;`, `ServerPortNN = 1792;`,
///   `ServerHtlNN = 0;` written for each server, numbered from `00`, where
///   the first old server line was (else at the end of the section);
/// * with a client, `ClientPrivKeyFile`, `ClientCertFile` and
///   `ServerCAFile` are set to the files under `dir` (replaced in place
///   when present, else added before the server lines);
/// * every other line of the section is kept as it was;
/// * a missing section is appended at the end of the file.
///
/// New lines use the indentation of the section's first entry (three
/// spaces by default) and the file's line ending (`\r\n` if it has any).
pub fn update_chrystoki_conf(
    existing: &str,
    dir: &str,
    servers: &[&HsmAddress],
    client: Option<&HsmAddress>,
) -> Result<String> {
    let nl = if existing.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let lines: Vec<&str> = existing.split_inclusive('\n').collect();
    let content = |l: &str| l.trim_end_matches(['\n', '\r']).to_owned();

    let start = lines
        .iter()
        .position(|l| section_header(&content(l)).is_some_and(|n| n.eq_ignore_ascii_case(SECTION)));
    let Some(start) = start else {
        // No section: append one.
        let mut out = existing.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(nl);
        }
        out.push_str(&format!("{SECTION} = {{{nl}"));
        for line in client_lines("   ", dir, client, nl) {
            out.push_str(&line);
        }
        for line in server_lines("   ", servers, nl) {
            out.push_str(&line);
        }
        out.push_str(&format!("}}{nl}"));
        return Ok(out);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| content(l).trim() == "}")
        .map(|p| start + 1 + p)
        .ok_or_else(|| {
            Error::Config(format!(
                "Chrystoki.conf: the `{SECTION}` section is not closed by a `}}` line"
            ))
        })?;

    let indent: String = lines[start + 1..end]
        .iter()
        .find(|l| entry_key(&content(l)).is_some())
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').collect())
        .unwrap_or_else(|| "   ".to_owned());

    let mut body: Vec<String> = Vec::new();
    let mut server_at: Option<usize> = None;
    let mut seen = [false; 3];
    let client_values = client.map(|a| client_values(dir, a));
    for raw in &lines[start + 1..end] {
        let line = content(raw);
        let ending = &raw[line.len()..];
        match entry_key(&line) {
            Some(key) if is_server_key(key) => {
                server_at.get_or_insert(body.len());
            }
            Some(key) => {
                let replaced = client_values.as_ref().and_then(|vals| {
                    vals.iter()
                        .enumerate()
                        .find(|(_, (k, _))| k.eq_ignore_ascii_case(key))
                        .map(|(i, (k, v))| (i, format!("{k} = {v};")))
                });
                match replaced {
                    Some((i, text)) => {
                        seen[i] = true;
                        let own_indent: String = line
                            .chars()
                            .take_while(|c| *c == ' ' || *c == '\t')
                            .collect();
                        let ending = if ending.is_empty() { nl } else { ending };
                        body.push(format!("{own_indent}{text}{ending}"));
                    }
                    None => body.push((*raw).to_owned()),
                }
            }
            None => body.push((*raw).to_owned()),
        }
    }
    let insert_at = server_at.unwrap_or(body.len());
    let mut added: Vec<String> = Vec::new();
    if let Some(vals) = &client_values {
        for (i, (k, v)) in vals.iter().enumerate() {
            if !seen[i] {
                added.push(format!("{indent}{k} = {v};{nl}"));
            }
        }
    }
    added.extend(server_lines(&indent, servers, nl));
    // A last body line without a line ending (cannot happen before `}`,
    // but keep the output well-formed anyway).
    if insert_at == body.len() {
        if let Some(last) = body.last_mut() {
            if !last.ends_with('\n') {
                last.push_str(nl);
            }
        }
    }
    body.splice(insert_at..insert_at, added);

    let mut out = String::with_capacity(existing.len() + 256);
    for l in &lines[..=start] {
        out.push_str(l);
    }
    for l in &body {
        out.push_str(l);
    }
    for l in &lines[end..] {
        out.push_str(l);
    }
    Ok(out)
}

fn client_values(dir: &str, address: &HsmAddress) -> [(&'static str, String); 3] {
    [
        (
            "ClientPrivKeyFile",
            format!("{dir}/cert/client/{address}Key.pem"),
        ),
        ("ClientCertFile", format!("{dir}/cert/client/{address}.pem")),
        ("ServerCAFile", format!("{dir}/cert/server/CAFile.pem")),
    ]
}

fn client_lines(indent: &str, dir: &str, client: Option<&HsmAddress>, nl: &str) -> Vec<String> {
    client
        .map(|a| {
            client_values(dir, a)
                .iter()
                .map(|(k, v)| format!("{indent}{k} = {v};{nl}"))
                .collect()
        })
        .unwrap_or_default()
}

fn server_lines(indent: &str, servers: &[&HsmAddress], nl: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(servers.len() * 3);
    for (i, address) in servers.iter().enumerate() {
        out.push(format!("{indent}ServerName{i:02} = {address};{nl}"));
        out.push(format!("{indent}ServerPort{i:02} = {NTLS_PORT};{nl}"));
        out.push(format!("{indent}ServerHtl{i:02} = 0;{nl}"));
    }
    out
}

/// Like [`crate::store::write_private_file`] but for public files: written
/// to a temporary file in the same directory, mode 0644, synced, then
/// renamed over `path`.
pub(crate) fn write_public_file(path: &Path, contents: &[u8]) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| Error::io("creating", &tmp, e))?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io("setting the mode of", &tmp, e))?;
        f.write_all(contents)
            .map_err(|e| Error::io("writing", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming to", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const PEM_A: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const PEM_B: &str = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nKKKK\n-----END PRIVATE KEY-----\n";

    fn addr(s: &str) -> HsmAddress {
        HsmAddress::parse(s).unwrap()
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    fn no_temp_files(dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                !name.ends_with(".tmp"),
                "leftover {}",
                entry.path().display()
            );
            if entry.file_type().unwrap().is_dir() {
                no_temp_files(&entry.path());
            }
        }
    }

    #[test]
    fn one_server_then_two_then_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let d = dir.to_str().unwrap();

        // One server, no client, no Chrystoki.conf yet.
        let servers = vec![(addr("192.168.1.31"), PEM_A.to_string())];
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &servers,
                client: None,
            },
        )
        .unwrap();
        let ca = dir.join("cert/server/CAFile.pem");
        assert_eq!(read(&ca), PEM_A);
        assert_eq!(mode(&ca), 0o644);
        let conf = dir.join("Chrystoki.conf");
        assert_eq!(mode(&conf), 0o644);
        assert_eq!(
            read(&conf),
            format!(
                "Chrystoki2 = {{\n   LibUNIX64 = {d}/lib/libCryptoki2_64.so;\n}}\n\
                 LunaSA Client = {{\n   ReceiveTimeout = 20000;\n   NetClient = 1;\n   \
                 TCPKeepAlive = 1;\n   ServerCAFile = {d}/cert/server/CAFile.pem;\n   \
                 ServerName00 = 192.168.1.31;\n   ServerPort00 = 1792;\n   ServerHtl00 = 0;\n}}\n"
            )
        );
        assert_eq!(
            std::fs::read_dir(dir.join("cert/client")).unwrap().count(),
            0
        );

        // Two servers and the client certificate.
        let me = addr("192.168.1.21");
        let servers = vec![
            (addr("192.168.1.31"), PEM_A.to_string()),
            (addr("hsm2.example"), PEM_B.to_string()),
        ];
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &servers,
                client: Some((&me, PEM_A, KEY)),
            },
        )
        .unwrap();
        assert_eq!(read(&ca), format!("{PEM_A}{PEM_B}\n"));
        let cert = dir.join("cert/client/192.168.1.21.pem");
        let key = dir.join("cert/client/192.168.1.21Key.pem");
        assert_eq!(read(&cert), PEM_A);
        assert_eq!(read(&key), KEY);
        assert_eq!(mode(&cert), 0o644);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(
            read(&conf),
            format!(
                "Chrystoki2 = {{\n   LibUNIX64 = {d}/lib/libCryptoki2_64.so;\n}}\n\
                 LunaSA Client = {{\n   ReceiveTimeout = 20000;\n   NetClient = 1;\n   \
                 TCPKeepAlive = 1;\n   ServerCAFile = {d}/cert/server/CAFile.pem;\n   \
                 ClientPrivKeyFile = {d}/cert/client/192.168.1.21Key.pem;\n   \
                 ClientCertFile = {d}/cert/client/192.168.1.21.pem;\n   \
                 ServerName00 = 192.168.1.31;\n   ServerPort00 = 1792;\n   ServerHtl00 = 0;\n   \
                 ServerName01 = hsm2.example;\n   ServerPort01 = 1792;\n   ServerHtl01 = 0;\n}}\n"
            )
        );

        // Remove the first server; no client given: client files untouched.
        let servers = vec![(addr("hsm2.example"), PEM_B.to_string())];
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &servers,
                client: None,
            },
        )
        .unwrap();
        assert_eq!(read(&ca), format!("{PEM_B}\n"));
        assert_eq!(read(&key), KEY);
        let text = read(&conf);
        assert!(text.contains(
            "   ServerName00 = hsm2.example;\n   ServerPort00 = 1792;\n   ServerHtl00 = 0;\n}\n"
        ));
        assert!(!text.contains("192.168.1.31"));
        assert!(
            !text.contains("ServerName01")
                && !text.contains("ServerPort01")
                && !text.contains("ServerHtl01")
        );
        assert!(text.contains(&format!(
            "   ClientCertFile = {d}/cert/client/192.168.1.21.pem;\n"
        )));

        // No servers at all: empty CA file, no server lines.
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &[],
                client: None,
            },
        )
        .unwrap();
        assert_eq!(read(&ca), "");
        assert!(!read(&conf).contains("ServerName"));
        no_temp_files(dir);
    }

    #[test]
    fn existing_file_is_kept_outside_the_server_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let d = dir.to_str().unwrap();
        let before = "\
# Luna client configuration
Chrystoki2 = {
   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;
}

Luna = {
  DefaultTimeOut = 500000;
  # a comment inside a section
  ServerName00 = not-touched-here;
}
LunaSA Client = {
   ReceiveTimeout = 20000;
   SSLConfigFile = /usr/safenet/lunaclient/openssl.cnf;
   ClientPrivKeyFile = /usr/safenet/lunaclient/cert/client/10.0.0.1Key.pem;
   ClientCertFile = /usr/safenet/lunaclient/cert/client/10.0.0.1.pem;
   ServerCAFile = /usr/safenet/lunaclient/cert/server/CAFile.pem;
   NetClient = 1;
   TCPKeepAlive = 1;
   ServerName00 = 192.168.1.31;
   ServerPort00 = 1792;
   ServerHtl00 = 0;
   ServerName01 = 192.168.1.32;
   ServerPort01 = 1792;
   ServerHtl01 = 0;
   ServerName02 = 192.168.1.33;
   ServerPort02 = 1792;
   ServerHtl02 = 0;
}
Misc = {
   PE1746Enabled = 0;
}

# trailing comment
";
        std::fs::write(dir.join("Chrystoki.conf"), before).unwrap();
        let me = addr("192.168.1.21");
        let servers = vec![(addr("192.168.1.32"), PEM_A.to_string())];
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &servers,
                client: Some((&me, PEM_A, KEY)),
            },
        )
        .unwrap();
        let expected = format!(
            "\
# Luna client configuration
Chrystoki2 = {{
   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;
}}

Luna = {{
  DefaultTimeOut = 500000;
  # a comment inside a section
  ServerName00 = not-touched-here;
}}
LunaSA Client = {{
   ReceiveTimeout = 20000;
   SSLConfigFile = /usr/safenet/lunaclient/openssl.cnf;
   ClientPrivKeyFile = {d}/cert/client/192.168.1.21Key.pem;
   ClientCertFile = {d}/cert/client/192.168.1.21.pem;
   ServerCAFile = {d}/cert/server/CAFile.pem;
   NetClient = 1;
   TCPKeepAlive = 1;
   ServerName00 = 192.168.1.32;
   ServerPort00 = 1792;
   ServerHtl00 = 0;
}}
Misc = {{
   PE1746Enabled = 0;
}}

# trailing comment
"
        );
        assert_eq!(read(&dir.join("Chrystoki.conf")), expected);

        // Without a client and with no servers, only the server lines change.
        write_luna_client_files(
            dir,
            &LunaFiles {
                servers: &[],
                client: None,
            },
        )
        .unwrap();
        let expected_none = expected.replace(
            "   ServerName00 = 192.168.1.32;\n   ServerPort00 = 1792;\n   ServerHtl00 = 0;\n",
            "",
        );
        assert_eq!(read(&dir.join("Chrystoki.conf")), expected_none);
        no_temp_files(dir);
    }

    #[test]
    fn section_is_added_when_missing_and_crlf_is_kept() {
        let a = addr("10.0.0.5");
        let out = update_chrystoki_conf("Misc = {\r\n   X = 1;\r\n}", "/d", &[&a], None).unwrap();
        assert_eq!(
            out,
            "Misc = {\r\n   X = 1;\r\n}\r\nLunaSA Client = {\r\n   ServerName00 = 10.0.0.5;\r\n   \
             ServerPort00 = 1792;\r\n   ServerHtl00 = 0;\r\n}\r\n"
        );
        let out = update_chrystoki_conf(
            "LunaSA Client = {\r\n\tNetClient = 1;\r\n}\r\n",
            "/d",
            &[&a],
            None,
        )
        .unwrap();
        assert_eq!(
            out,
            "LunaSA Client = {\r\n\tNetClient = 1;\r\n\tServerName00 = 10.0.0.5;\r\n\t\
             ServerPort00 = 1792;\r\n\tServerHtl00 = 0;\r\n}\r\n"
        );
        assert!(
            update_chrystoki_conf("LunaSA Client = {\n   NetClient = 1;\n", "/d", &[], None)
                .is_err()
        );
    }

    #[test]
    fn keys_are_never_written_as_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let servers = vec![(addr("10.0.0.5"), KEY.to_string())];
        let err = write_luna_client_files(
            tmp.path(),
            &LunaFiles {
                servers: &servers,
                client: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("private key"));
        let me = addr("10.0.0.1");
        let files = LunaFiles {
            servers: &[],
            client: Some((&me, PEM_A, KEY)),
        };
        assert!(!format!("{files:?}").contains("KKKK"));
    }

    #[test]
    fn public_file_is_0644_and_atomic() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.pem");
        write_public_file(&p, b"one").unwrap();
        write_public_file(&p, b"two").unwrap();
        assert_eq!(read(&p), "two");
        assert_eq!(mode(&p), 0o644);
        no_temp_files(tmp.path());
    }
}
