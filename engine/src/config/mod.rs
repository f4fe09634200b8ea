//! Settings: defaults, then the TOML file, then `HSMSEED_*` environment
//! variables. Unknown keys in the file are refused; unknown `HSMSEED_*`
//! variables are reported as warnings. Secrets may also come from a file
//! named by `HSMSEED_<KEY>_FILE`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};

mod cidr;
mod source;
pub use cidr::Cidr;
pub use source::{
    EntropyMix, EntropySourceKind, RemoteProtocol, RemoteSpec, REMOTE_CONNECT_TIMEOUT_MS,
    REMOTE_PREFETCH, REMOTE_TIMEOUT_MS,
};

/// The prefix of every environment variable hsmseed reads.
pub const ENV_PREFIX: &str = "HSMSEED_";

/// Environment variables that are not settings keys but are still ours.
const OTHER_ENV: &[&str] = &["HSMSEED_CONFIG", "HSMSEED_LOG"];

/// One settings key: its name in the file, whether it is a secret (then
/// `HSMSEED_<KEY>_FILE` may name a file holding it), and what it means.
pub struct KeyDoc {
    pub key: &'static str,
    pub secret: bool,
    pub default: &'static str,
    pub doc: &'static str,
}

/// The reference of every key, for `hsmseed serve --help` and the README.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc { key: "data_dir", secret: false, default: "./data", doc: "Directory of the database, the TLS certificate and the keys (created 0700)." },
    KeyDoc { key: "listen", secret: false, default: "127.0.0.1:8443", doc: "Address and port to serve on (port 0 picks a free port)." },
    KeyDoc { key: "tls", secret: false, default: "on", doc: "`on` serves HTTPS; `off` serves plain HTTP for local development (cookies lose `Secure`)." },
    KeyDoc { key: "tls_cert", secret: false, default: "(generated)", doc: "PEM certificate chain to serve; default: a self-signed one created in data_dir/tls on first start." },
    KeyDoc { key: "tls_key", secret: false, default: "(generated)", doc: "PEM private key for tls_cert." },
    KeyDoc { key: "pkcs11_module", secret: false, default: "(none)", doc: "Path of the PKCS#11 library (libsofthsm2.so, libCryptoki2_64.so): the module of every configuration that names none. After a space, `max_seed_bytes=N` splits each seed into calls of at most N bytes, for modules that take no more per C_SeedRandom (tpm2-pkcs11: 128)." },
    KeyDoc { key: "pkcs11_modules", secret: false, default: "(none)", doc: "More PKCS#11 libraries by name, for configurations that name one (`hsm-conf-edit --module=NAME`): a TOML table (`[pkcs11_modules]` then `luna = \"/usr/safenet/lunaclient/lib/libCryptoki2_64.so\"`), or `NAME=PATH` pairs, comma-separated, in the environment; a path may be followed by `max_seed_bytes=N` as in pkcs11_module. Names are 1 to 64 letters, digits, _ . or -." },
    KeyDoc { key: "entropy_source", secret: false, default: "os", doc: "Where entropy comes from, one or more (a TOML array, or comma-separated in the environment): `os` (kernel CSPRNG), `device:PATH` (raw bytes from a character device such as /dev/qrandom0), `qrng:https://HOST[:PORT][/PREFIX]` (a QRNG Open API server, such as another hsmseed) or `quantis:https://HOST[:PORT][/api/2.0]` (a Quantis appliance). A remote source takes options after a space: `token_file=PATH`, `ca_file=PATH` or `pin=SHA256HEX` of the server certificate (else the public web roots), `connect_timeout_ms=3000`, `timeout_ms=5000`, `refresh_ms=10000` (a full buffer is still refreshed this often, so a silent server is noticed), `prefetch=65536` (bytes fetched ahead), `min_entropy=H` (claimed bits per byte; default entropy_min_entropy)." },
    KeyDoc { key: "entropy_mix", secret: false, default: "all", doc: "With several sources, each seed is SHA-256 extracted over an equal share of every healthy source. `all`: every source must be healthy, else nothing is delivered; `any`: the healthy ones, at least one." },
    KeyDoc { key: "master_key_file", secret: false, default: "data_dir/master.key", doc: "File of the master key that encrypts partition passwords and private keys (created 0600 when it is the default and missing)." },
    KeyDoc { key: "pkcs11_timeout_secs", secret: false, default: "10", doc: "Deadline of every PKCS#11 call; a hung HSM is reported, never waited for." },
    KeyDoc { key: "entropy_min_entropy", secret: false, default: "7", doc: "Claimed min-entropy per byte (H, 0 < H <= 8) of a device source; sets the health-test cutoffs." },
    KeyDoc { key: "entropy_full_entropy", secret: false, default: "false", doc: "`true` when the device source is full-entropy: seeds are its tested bytes, not SHA-256 conditioned." },
    KeyDoc { key: "entropy_condition_ratio", secret: false, default: "16", doc: "Raw bytes of a device source SHA-256 conditioned into each delivered byte (2 to 64): more gives more entropy margin and costs more device output." },
    KeyDoc { key: "seed_bits", secret: false, default: "256", doc: "Bits of seed per reseed (a multiple of 8, 128 to 4096)." },
    KeyDoc { key: "history_retention_days", secret: false, default: "90", doc: "Seed history older than this is deleted." },
    KeyDoc { key: "audit_retention_days", secret: false, default: "0", doc: "Audit log rows older than this many days are deleted (by the server, once per ten minutes, recording that it did); 0 keeps every row. No door can delete or change a row." },
    KeyDoc { key: "entropy_public", secret: false, default: "false", doc: "`true` opens the random-number endpoints (streambytes, hexbytes, short, int, float, double and the info endpoints), and nothing else, to callers without a token, as unmodified Quantis clients call them; rate-limited per address." },
    KeyDoc { key: "entropy_public_per_minute", secret: false, default: "600", doc: "Requests a minute one address may make to the random-number endpoints without a token (then 429 with Retry-After)." },
    KeyDoc { key: "random_max_size", secret: false, default: "1048576", doc: "Largest answer of the random-number endpoints in bytes: streambytes `size`, hexbytes `quantity` times `dataLength`." },
    KeyDoc { key: "random_max_quantity", secret: false, default: "100000", doc: "Largest `quantity` of hexbytes, short, int, float and double." },
    KeyDoc { key: "random_max_data_length", secret: false, default: "1024", doc: "Largest `dataLength` (bytes per hex string) of hexbytes." },
    KeyDoc { key: "reseed_anonymous_from", secret: false, default: "(none)", doc: "Addresses (10.0.0.0/8, 192.0.2.7, 2001:db8::/32; a TOML array, or comma-separated in the environment) that may call /api/2.0/hsmseed?name= without a token, as the guide's scripts do: rate-limited, audited as anonymous with the address. Nothing else opens to them." },
    KeyDoc { key: "reseed_anonymous_per_minute", secret: false, default: "60", doc: "Reseeds a minute one of those addresses may ask for without a token (then 429 with Retry-After)." },
    KeyDoc { key: "history_max_rows", secret: false, default: "100000", doc: "At most this many seed history rows are kept (the oldest go first)." },
    KeyDoc { key: "scheduler_concurrency", secret: false, default: "8", doc: "How many partitions a scheduled round reseeds at once." },
    KeyDoc { key: "round_lease_secs", secret: false, default: "30", doc: "Appliances sharing a database split each scheduled round: a configuration an appliance claimed and did not finish within this many seconds (it died) is reseeded by another." },
    KeyDoc { key: "login_failures_per_token", secret: false, default: "3", doc: "After this many failed logins in a row on one token (by serial), only a password that worked on it before is tried there; every other configuration on it is held. (Each configuration is held after its own first failed login anyway.)" },
    KeyDoc { key: "luna_client_dir", secret: false, default: "(none)", doc: "The Luna client directory: when set, every trust-link change rewrites cert/server/CAFile.pem, cert/client/<address>.pem and Key.pem, and the server list in Chrystoki.conf." },
    KeyDoc { key: "admin_password", secret: true, default: "(random)", doc: "Password of the first admin `admin`, used only when that user is created." },
    KeyDoc { key: "site_dir", secret: false, default: "(beside the binary)", doc: "Directory of the built web assets (pkg/ with WASM, JS and CSS)." },
    KeyDoc { key: "session_idle_minutes", secret: false, default: "30", doc: "A session ends after this many minutes without a request." },
    KeyDoc { key: "session_absolute_hours", secret: false, default: "12", doc: "A session ends this many hours after login, whatever its use." },
    KeyDoc { key: "max_connections", secret: false, default: "1024", doc: "Client connections open at once (lowered to what the process may open); at the cap, the connection silent the longest is closed to make room." },
    KeyDoc { key: "header_read_timeout_secs", secret: false, default: "10", doc: "A request's headers must arrive within this time (HTTP/1.1, also between the requests of a kept-alive connection)." },
    KeyDoc { key: "idle_timeout_secs", secret: false, default: "60", doc: "A connection that moves no byte for this long is closed (any protocol, TLS handshake included)." },
    KeyDoc { key: "request_timeout_secs", secret: false, default: "30", doc: "A request that takes longer is answered 408." },
    KeyDoc { key: "database_url", secret: true, default: "(the SQLite file in the data directory)", doc: "Keep the data in PostgreSQL, shared by the appliances of a fleet: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (a Unix socket: `?host=/run/postgresql`). Every appliance on it needs the same master key file. Unset, empty or `sqlite://`: hsmseed.db in the data directory." },
    KeyDoc { key: "appliance_id", secret: false, default: "(the host name)", doc: "This appliance's name in the history and the audit log (1 to 64 letters, digits, _ . or -): which appliance of a fleet sharing one database acted. Give each appliance its own." },
    KeyDoc { key: "log_format", secret: false, default: "text", doc: "`text` or `json` (structured logs)." },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls: TlsMode,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub pkcs11_module: Option<PathBuf>,
    /// The largest seed one `C_SeedRandom` of the default module takes
    /// (`max_seed_bytes=` after `pkcs11_module`'s path); `None`: any.
    pub pkcs11_max_seed_bytes: Option<usize>,
    /// Further modules by name (a configuration may name one).
    pub pkcs11_modules: std::collections::BTreeMap<String, ModuleSpec>,
    /// At least one; names are unique.
    pub entropy_source: Vec<EntropySourceKind>,
    pub entropy_mix: EntropyMix,
    pub admin_password: Option<SecretString>,
    pub site_dir: Option<PathBuf>,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub request_timeout_secs: u32,
    pub max_connections: u32,
    pub header_read_timeout_secs: u32,
    pub idle_timeout_secs: u32,
    pub log_format: LogFormat,
    /// Which appliance acted, in the history and the audit log.
    pub appliance_id: String,
    /// A PostgreSQL database shared by a fleet; none: the SQLite file in
    /// the data directory. (Secret: the URL may hold a password.)
    pub database_url: Option<SecretString>,
    pub master_key_file: Option<PathBuf>,
    pub luna_client_dir: Option<PathBuf>,
    pub pkcs11_timeout_secs: u32,
    pub entropy_min_entropy: f64,
    pub entropy_full_entropy: bool,
    pub entropy_condition_ratio: u32,
    pub seed_bits: u32,
    pub history_retention_days: u32,
    pub history_max_rows: u32,
    pub entropy_public: bool,
    pub reseed_anonymous_from: Vec<Cidr>,
    pub reseed_anonymous_per_minute: u32,
    pub entropy_public_per_minute: u32,
    pub random_max_size: u32,
    pub random_max_quantity: u32,
    pub random_max_data_length: u32,
    /// 0: keep every audit row.
    pub audit_retention_days: u32,
    pub scheduler_concurrency: u32,
    /// A round's claim on a configuration lasts this long unfinished.
    pub round_lease_secs: u32,
    pub login_failures_per_token: u32,
    /// The length of a scheduler "minute". Always 60 s outside tests; not a
    /// setting of the file or the environment.
    pub schedule_unit: std::time::Duration,
}

/// The file as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    data_dir: Option<String>,
    listen: Option<String>,
    tls: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    pkcs11_module: Option<String>,
    pkcs11_modules: Option<NamedPaths>,
    entropy_source: Option<StringList>,
    entropy_mix: Option<String>,
    admin_password: Option<String>,
    admin_password_file: Option<String>,
    site_dir: Option<String>,
    session_idle_minutes: Option<u32>,
    session_absolute_hours: Option<u32>,
    request_timeout_secs: Option<u32>,
    max_connections: Option<u32>,
    header_read_timeout_secs: Option<u32>,
    idle_timeout_secs: Option<u32>,
    log_format: Option<String>,
    appliance_id: Option<String>,
    database_url: Option<String>,
    master_key_file: Option<String>,
    luna_client_dir: Option<String>,
    pkcs11_timeout_secs: Option<u32>,
    entropy_min_entropy: Option<f64>,
    entropy_full_entropy: Option<bool>,
    entropy_condition_ratio: Option<u32>,
    seed_bits: Option<u32>,
    history_retention_days: Option<u32>,
    history_max_rows: Option<u32>,
    entropy_public: Option<bool>,
    reseed_anonymous_from: Option<StringList>,
    reseed_anonymous_per_minute: Option<u32>,
    entropy_public_per_minute: Option<u32>,
    random_max_size: Option<u32>,
    random_max_quantity: Option<u32>,
    random_max_data_length: Option<u32>,
    audit_retention_days: Option<u32>,
    scheduler_concurrency: Option<u32>,
    round_lease_secs: Option<u32>,
    login_failures_per_token: Option<u32>,
}

/// A list in the file (`["a", "b"]`) or one string, comma-separated (as
/// the environment has it).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringList {
    One(String),
    Many(Vec<String>),
}

impl StringList {
    fn items(self) -> Vec<String> {
        match self {
            StringList::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            StringList::Many(v) => v,
        }
    }
}

/// A PKCS#11 library and how it takes seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpec {
    pub path: PathBuf,
    /// The largest seed one `C_SeedRandom` takes; `None`: any.
    pub max_seed_bytes: Option<usize>,
}

impl ModuleSpec {
    /// A library that takes seeds of any length.
    pub fn path(path: impl Into<PathBuf>) -> ModuleSpec {
        ModuleSpec {
            path: path.into(),
            max_seed_bytes: None,
        }
    }

    /// `PATH [max_seed_bytes=N]`: options are words after the path that
    /// look like one (a path may hold spaces).
    pub fn parse(s: &str) -> std::result::Result<ModuleSpec, String> {
        let mut path = s.trim();
        let mut max_seed_bytes = None;
        while let Some((head, last)) = path.rsplit_once(char::is_whitespace) {
            let Some(v) = last.strip_prefix("max_seed_bytes=") else {
                break;
            };
            let n = v
                .parse::<usize>()
                .ok()
                .filter(|n| (16..=1 << 20).contains(n))
                .ok_or_else(|| {
                    format!("max_seed_bytes `{v}` is not a number from 16 to 1048576")
                })?;
            max_seed_bytes = Some(n);
            path = head.trim_end();
        }
        if path.is_empty() {
            return Err("no path".into());
        }
        Ok(ModuleSpec {
            path: PathBuf::from(path),
            max_seed_bytes,
        })
    }
}

/// Paths by name: a table in the file, or `NAME=PATH` pairs (a list, or
/// one string comma-separated, as the environment has it).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NamedPaths {
    Table(std::collections::BTreeMap<String, String>),
    Pairs(StringList),
}

impl NamedPaths {
    fn validate(self, key: &str) -> Result<std::collections::BTreeMap<String, ModuleSpec>> {
        let pairs: Vec<(String, String)> = match self {
            NamedPaths::Table(t) => t.into_iter().collect(),
            NamedPaths::Pairs(list) => list
                .items()
                .into_iter()
                .map(|item| match item.split_once('=') {
                    Some((n, p)) => Ok((n.trim().to_string(), p.trim().to_string())),
                    None => Err(Error::Config(format!("{key}: `{item}` is not NAME=PATH"))),
                })
                .collect::<Result<_>>()?,
        };
        let mut out = std::collections::BTreeMap::new();
        for (name, path) in pairs {
            types::check_name("module name", &name)
                .map_err(|e| Error::Config(format!("{key}: {e}")))?;
            if name == "default" {
                return Err(Error::Config(format!(
                    "{key}: `default` names pkcs11_module; give this module another name"
                )));
            }
            if path.trim().is_empty() {
                return Err(Error::Config(format!("{key}: module {name} has no path")));
            }
            let spec = ModuleSpec::parse(&path)
                .map_err(|e| Error::Config(format!("{key}: module {name}: {e}")))?;
            if out.insert(name.clone(), spec).is_some() {
                return Err(Error::Config(format!(
                    "{key}: module {name} is named twice"
                )));
            }
        }
        Ok(out)
    }
}

/// What loading found besides the settings: things to tell the operator.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub file: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// The settings file of an installed appliance (the Debian package's
/// conffile), read by every command when no other is named or found.
pub const SYSTEM_FILE: &str = "/etc/hsmseed/hsmseed.toml";

impl Settings {
    /// Loads the settings: defaults, then `file` (or `HSMSEED_CONFIG`; else
    /// `hsmseed.toml` in the current directory, else [`SYSTEM_FILE`], the
    /// first that exists), then `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Settings, LoadReport)> {
        Self::load_searching(
            file,
            env,
            &[PathBuf::from("hsmseed.toml"), PathBuf::from(SYSTEM_FILE)],
        )
    }

    /// [`Settings::load`], looking for an unnamed file at `search`, in order.
    pub fn load_searching(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        search: &[PathBuf],
    ) -> Result<(Settings, LoadReport)> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut report = LoadReport::default();
        let named = file
            .map(Path::to_path_buf)
            .or_else(|| env_value(&env, "HSMSEED_CONFIG").map(PathBuf::from));
        let path = match named {
            Some(p) => Some(p),
            None => search.iter().find(|p| p.is_file()).cloned(),
        };
        let mut raw = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io("reading", p, e))?;
                parse_file(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            None => RawSettings::default(),
        };
        report.file = path;
        apply_env(&mut raw, &env, &mut report.warnings)?;
        let settings = raw.validate()?;
        Ok((settings, report))
    }

    /// [`Settings::load`] from the text of a settings file.
    pub fn load_str(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Settings, LoadReport)> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut report = LoadReport::default();
        let mut raw = parse_file(text).map_err(|e| Error::Config(format!("settings: {e}")))?;
        apply_env(&mut raw, &env, &mut report.warnings)?;
        Ok((raw.validate()?, report))
    }

    /// Settings for tests: every default, a given data directory, plain HTTP
    /// on a free port.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Settings {
        Settings {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsMode::Off,
            tls_cert: None,
            tls_key: None,
            pkcs11_module: None,
            pkcs11_max_seed_bytes: None,
            pkcs11_modules: Default::default(),
            entropy_source: vec![EntropySourceKind::Os],
            entropy_mix: EntropyMix::All,
            admin_password: None,
            site_dir: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            request_timeout_secs: 30,
            max_connections: 1024,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            log_format: LogFormat::Text,
            appliance_id: "test".into(),
            database_url: None,
            master_key_file: None,
            luna_client_dir: None,
            pkcs11_timeout_secs: 10,
            entropy_min_entropy: 7.0,
            entropy_full_entropy: false,
            entropy_condition_ratio: 16,
            seed_bits: 256,
            history_retention_days: 90,
            history_max_rows: 100_000,
            entropy_public: false,
            reseed_anonymous_from: Vec::new(),
            reseed_anonymous_per_minute: 60,
            entropy_public_per_minute: 600,
            random_max_size: 1 << 20,
            random_max_quantity: 100_000,
            random_max_data_length: 1024,
            audit_retention_days: 0,
            scheduler_concurrency: 8,
            round_lease_secs: 30,
            login_failures_per_token: 3,
            schedule_unit: std::time::Duration::from_secs(60),
        }
    }

    /// Seed bytes per reseed.
    pub fn seed_bytes(&self) -> usize {
        (self.seed_bits / 8) as usize
    }
}

fn parse_file(text: &str) -> std::result::Result<RawSettings, String> {
    toml::from_str::<RawSettings>(text).map_err(|e| e.message().to_string())
}

fn env_value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

fn apply_env(
    raw: &mut RawSettings,
    env: &[(String, String)],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if OTHER_ENV.contains(&name.as_str()) {
            continue;
        }
        let lower = rest.to_ascii_lowercase();
        let (key, from_file) = match lower.strip_suffix("_file") {
            Some(k) if KEYS.iter().any(|d| d.key == k && d.secret) => (k.to_string(), true),
            _ => (lower.clone(), false),
        };
        if !KEYS.iter().any(|d| d.key == key) {
            warnings.push(format!("unknown environment variable {name} is ignored"));
            continue;
        }
        let value = if from_file {
            let text =
                std::fs::read_to_string(value).map_err(|e| Error::io("reading", value, e))?;
            text.trim_end_matches(['\r', '\n']).to_string()
        } else {
            value.clone()
        };
        set_key(raw, &key, value).map_err(|e| Error::Config(format!("{name}: {e}")))?;
    }
    Ok(())
}

fn parse_u32(v: &str) -> std::result::Result<u32, String> {
    v.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{v}` is not a whole number"))
}

fn parse_bool(v: &str) -> std::result::Result<bool, String> {
    match v.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("`{v}` is not true or false")),
    }
}

fn set_key(raw: &mut RawSettings, key: &str, v: String) -> std::result::Result<(), String> {
    match key {
        "data_dir" => raw.data_dir = Some(v),
        "listen" => raw.listen = Some(v),
        "tls" => raw.tls = Some(v),
        "tls_cert" => raw.tls_cert = Some(v),
        "tls_key" => raw.tls_key = Some(v),
        "pkcs11_module" => raw.pkcs11_module = Some(v),
        "pkcs11_modules" => raw.pkcs11_modules = Some(NamedPaths::Pairs(StringList::One(v))),
        "entropy_source" => raw.entropy_source = Some(StringList::One(v)),
        "entropy_mix" => raw.entropy_mix = Some(v),
        "admin_password" => raw.admin_password = Some(v),
        "site_dir" => raw.site_dir = Some(v),
        "session_idle_minutes" => raw.session_idle_minutes = Some(parse_u32(&v)?),
        "session_absolute_hours" => raw.session_absolute_hours = Some(parse_u32(&v)?),
        "request_timeout_secs" => raw.request_timeout_secs = Some(parse_u32(&v)?),
        "max_connections" => raw.max_connections = Some(parse_u32(&v)?),
        "header_read_timeout_secs" => raw.header_read_timeout_secs = Some(parse_u32(&v)?),
        "idle_timeout_secs" => raw.idle_timeout_secs = Some(parse_u32(&v)?),
        "log_format" => raw.log_format = Some(v),
        "appliance_id" => raw.appliance_id = Some(v),
        "database_url" => raw.database_url = Some(v),
        "master_key_file" => raw.master_key_file = Some(v),
        "luna_client_dir" => raw.luna_client_dir = Some(v),
        "pkcs11_timeout_secs" => raw.pkcs11_timeout_secs = Some(parse_u32(&v)?),
        "entropy_min_entropy" => {
            raw.entropy_min_entropy = Some(
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{v}` is not a number"))?,
            )
        }
        "entropy_full_entropy" => raw.entropy_full_entropy = Some(parse_bool(&v)?),
        "entropy_condition_ratio" => raw.entropy_condition_ratio = Some(parse_u32(&v)?),
        "seed_bits" => raw.seed_bits = Some(parse_u32(&v)?),
        "history_retention_days" => raw.history_retention_days = Some(parse_u32(&v)?),
        "history_max_rows" => raw.history_max_rows = Some(parse_u32(&v)?),
        "entropy_public" => raw.entropy_public = Some(parse_bool(&v)?),
        "reseed_anonymous_from" => raw.reseed_anonymous_from = Some(StringList::One(v)),
        "reseed_anonymous_per_minute" => raw.reseed_anonymous_per_minute = Some(parse_u32(&v)?),
        "entropy_public_per_minute" => raw.entropy_public_per_minute = Some(parse_u32(&v)?),
        "random_max_size" => raw.random_max_size = Some(parse_u32(&v)?),
        "random_max_quantity" => raw.random_max_quantity = Some(parse_u32(&v)?),
        "random_max_data_length" => raw.random_max_data_length = Some(parse_u32(&v)?),
        "audit_retention_days" => raw.audit_retention_days = Some(parse_u32(&v)?),
        "scheduler_concurrency" => raw.scheduler_concurrency = Some(parse_u32(&v)?),
        "round_lease_secs" => raw.round_lease_secs = Some(parse_u32(&v)?),
        "login_failures_per_token" => raw.login_failures_per_token = Some(parse_u32(&v)?),
        other => return Err(format!("unknown key `{other}`")),
    }
    Ok(())
}

/// The default appliance id: the host name, in the characters an id
/// may have (`hsmseed` when there is none).
/// `database_url`: a PostgreSQL URL, or none for the SQLite default. The
/// URL is never quoted back (it may hold a password).
fn database_url(raw: Option<String>) -> Result<Option<SecretString>> {
    let Some(url) = raw else { return Ok(None) };
    let url = url.trim();
    if url.is_empty() || url == "sqlite" || url == "sqlite://" {
        return Ok(None);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Some(SecretString::from(url.to_string())));
    }
    Err(Error::Config(
        "database_url must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), \
         or unset for the SQLite file in the data directory"
            .into(),
    ))
}

fn host_appliance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let id: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(types::limits::NAME)
        .collect();
    if id.is_empty() {
        "hsmseed".into()
    } else {
        id
    }
}

fn non_empty_path(v: Option<String>) -> Option<PathBuf> {
    v.filter(|s| !s.trim().is_empty()).map(PathBuf::from)
}

impl RawSettings {
    fn validate(self) -> Result<Settings> {
        let defaults = Settings::for_data_dir("./data");
        let listen = match self.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 8443)),
            Some(s) => s.trim().parse::<SocketAddr>().map_err(|_| {
                Error::Config(format!(
                    "listen `{s}` is not an address:port such as 127.0.0.1:8443"
                ))
            })?,
        };
        let tls = match self.tls.as_deref().map(str::trim) {
            None | Some("on") => TlsMode::On,
            Some("off") => TlsMode::Off,
            Some(other) => {
                return Err(Error::Config(format!("tls `{other}` is not `on` or `off`")))
            }
        };
        let log_format = match self.log_format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(Error::Config(format!(
                    "log_format `{other}` is not `text` or `json`"
                )))
            }
        };
        let admin_password = match (self.admin_password, self.admin_password_file) {
            (Some(p), _) => Some(p),
            (None, Some(f)) => {
                let text = std::fs::read_to_string(&f).map_err(|e| Error::io("reading", &f, e))?;
                Some(text.trim_end_matches(['\r', '\n']).to_string())
            }
            (None, None) => None,
        };
        let default_module = self
            .pkcs11_module
            .filter(|s| !s.trim().is_empty())
            .map(|s| ModuleSpec::parse(&s))
            .transpose()
            .map_err(|e| Error::Config(format!("pkcs11_module: {e}")))?;
        let tls_cert = non_empty_path(self.tls_cert);
        let tls_key = non_empty_path(self.tls_key);
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(Error::Config(
                "tls_cert and tls_key must be given together".into(),
            ));
        }
        let positive = |name: &str, v: Option<u32>, d: u32| -> Result<u32> {
            match v.unwrap_or(d) {
                0 => Err(Error::Config(format!("{name} must be at least 1"))),
                n => Ok(n),
            }
        };
        Ok(Settings {
            data_dir: non_empty_path(self.data_dir).unwrap_or(defaults.data_dir),
            listen,
            tls,
            tls_cert,
            tls_key,
            pkcs11_module: default_module.as_ref().map(|m| m.path.clone()),
            pkcs11_max_seed_bytes: default_module.and_then(|m| m.max_seed_bytes),
            pkcs11_modules: match self.pkcs11_modules {
                Some(m) => m.validate("pkcs11_modules")?,
                None => Default::default(),
            },
            entropy_source: source::parse_sources(
                self.entropy_source
                    .map_or_else(|| vec!["os".to_string()], StringList::items),
            )?,
            entropy_mix: self.entropy_mix.as_deref().unwrap_or("all").parse()?,
            admin_password: admin_password
                .filter(|p| !p.is_empty())
                .map(SecretString::from),
            site_dir: non_empty_path(self.site_dir),
            session_idle_minutes: positive("session_idle_minutes", self.session_idle_minutes, 30)?,
            session_absolute_hours: positive(
                "session_absolute_hours",
                self.session_absolute_hours,
                12,
            )?,
            request_timeout_secs: positive("request_timeout_secs", self.request_timeout_secs, 30)?,
            max_connections: positive("max_connections", self.max_connections, 1024)?,
            header_read_timeout_secs: positive(
                "header_read_timeout_secs",
                self.header_read_timeout_secs,
                10,
            )?,
            idle_timeout_secs: positive("idle_timeout_secs", self.idle_timeout_secs, 60)?,
            log_format,
            appliance_id: match self.appliance_id.as_deref().map(str::trim) {
                None | Some("") => host_appliance_id(),
                Some(id) => types::check_name("appliance_id", id)
                    .map_err(|e| Error::Config(e.to_string()))?
                    .to_string(),
            },
            database_url: database_url(self.database_url)?,
            master_key_file: non_empty_path(self.master_key_file),
            luna_client_dir: non_empty_path(self.luna_client_dir),
            pkcs11_timeout_secs: positive("pkcs11_timeout_secs", self.pkcs11_timeout_secs, 10)?,
            entropy_min_entropy: match self.entropy_min_entropy.unwrap_or(7.0) {
                h if h > 0.0 && h <= 8.0 => h,
                h => {
                    return Err(Error::Config(format!(
                        "entropy_min_entropy {h} is not in (0, 8]"
                    )))
                }
            },
            entropy_full_entropy: self.entropy_full_entropy.unwrap_or(false),
            entropy_condition_ratio: match self.entropy_condition_ratio.unwrap_or(16) {
                r @ 2..=64 => r,
                r => {
                    return Err(Error::Config(format!(
                        "entropy_condition_ratio {r} is not from 2 to 64"
                    )))
                }
            },
            seed_bits: match self.seed_bits.unwrap_or(256) {
                b if b % 8 == 0 && (128..=4096).contains(&b) => b,
                b => {
                    return Err(Error::Config(format!(
                        "seed_bits {b} is not a multiple of 8 from 128 to 4096"
                    )))
                }
            },
            history_retention_days: positive(
                "history_retention_days",
                self.history_retention_days,
                90,
            )?,
            history_max_rows: positive("history_max_rows", self.history_max_rows, 100_000)?,
            entropy_public: self.entropy_public.unwrap_or(false),
            reseed_anonymous_from: self
                .reseed_anonymous_from
                .map(StringList::items)
                .unwrap_or_default()
                .iter()
                .map(|c| c.parse())
                .collect::<std::result::Result<Vec<Cidr>, String>>()
                .map_err(|e| Error::Config(format!("reseed_anonymous_from: {e}")))?,
            reseed_anonymous_per_minute: positive(
                "reseed_anonymous_per_minute",
                self.reseed_anonymous_per_minute,
                60,
            )?,
            entropy_public_per_minute: positive(
                "entropy_public_per_minute",
                self.entropy_public_per_minute,
                600,
            )?,
            random_max_size: positive("random_max_size", self.random_max_size, 1 << 20)?,
            random_max_quantity: positive(
                "random_max_quantity",
                self.random_max_quantity,
                100_000,
            )?,
            random_max_data_length: positive(
                "random_max_data_length",
                self.random_max_data_length,
                1024,
            )?,
            audit_retention_days: match self.audit_retention_days.unwrap_or(0) {
                d @ 0..=36_500 => d,
                d => {
                    return Err(Error::Config(format!(
                        "audit_retention_days {d} is not from 0 (keep every row) to 36500"
                    )))
                }
            },
            round_lease_secs: positive("round_lease_secs", self.round_lease_secs, 30)?,
            scheduler_concurrency: positive(
                "scheduler_concurrency",
                self.scheduler_concurrency,
                8,
            )?,
            // Below the 10 failed logins after which a Luna HSM locks the
            // Crypto Officer or zeroizes the partition.
            login_failures_per_token: match self.login_failures_per_token.unwrap_or(3) {
                n @ 1..=9 => n,
                n => {
                    return Err(Error::Config(format!(
                        "login_failures_per_token {n} is not from 1 to 9"
                    )))
                }
            },
            schedule_unit: defaults.schedule_unit,
        })
    }
}

/// The reference text printed by `hsmseed serve --help`.
pub fn reference() -> String {
    let mut out = String::from(
        "Settings (defaults, then --config FILE or HSMSEED_CONFIG, else ./hsmseed.toml, else /etc/hsmseed/hsmseed.toml; then environment):\n",
    );
    for d in KEYS {
        let env = env_name(d.key);
        let file = if d.secret {
            format!(" (or {env}_FILE)")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {:<24} {env}{file}\n      {} Default: {}\n",
            d.key, d.doc, d.default
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_text(text: &str, e: &[(&str, &str)]) -> Result<(Settings, LoadReport)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hsmseed.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), env(e))
    }

    #[test]
    fn defaults_apply_without_file_or_env() {
        let (s, _) = load_text("", &[]).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(s.tls, TlsMode::On);
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.entropy_source, vec![EntropySourceKind::Os]);
        assert_eq!(s.entropy_mix, EntropyMix::All);
        assert_eq!(s.session_idle_minutes, 30);
        assert!(s.admin_password.is_none());
    }

    #[test]
    fn named_modules_come_from_a_table_or_name_path_pairs() {
        let (s, _) = load_text(
            "pkcs11_module = \"/lib/soft.so\"\n[pkcs11_modules]\nluna = \"/usr/lib/luna.so\"\nkry = \"/opt/kry.so\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.pkcs11_module, Some(PathBuf::from("/lib/soft.so")));
        assert_eq!(
            s.pkcs11_modules.iter().collect::<Vec<_>>(),
            [
                (&"kry".to_string(), &ModuleSpec::path("/opt/kry.so")),
                (&"luna".to_string(), &ModuleSpec::path("/usr/lib/luna.so")),
            ]
        );
        // An inline table, as the packaged file shows it.
        let (s, _) = load_text(
            "pkcs11_modules = { luna = \"/usr/lib/luna.so\" }\nseed_bits = 512\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            s.pkcs11_modules["luna"],
            ModuleSpec::path("/usr/lib/luna.so")
        );
        assert_eq!(s.seed_bits, 512);
        // The environment replaces the file's table.
        let (s, _) = load_text(
            "[pkcs11_modules]\nluna = \"/usr/lib/luna.so\"\n",
            &[(
                "HSMSEED_PKCS11_MODULES",
                "tpm = /usr/lib/tpm.so, kry=/opt/kry.so",
            )],
        )
        .unwrap();
        assert_eq!(s.pkcs11_modules.keys().collect::<Vec<_>>(), ["kry", "tpm"]);
        assert_eq!(s.pkcs11_modules["tpm"], ModuleSpec::path("/usr/lib/tpm.so"));
        // How much one C_SeedRandom takes, after the path.
        let (s, _) = load_text(
            "pkcs11_module = \"/opt/My HSM/lib.so max_seed_bytes=64\"\n",
            &[(
                "HSMSEED_PKCS11_MODULES",
                "tpm=/usr/lib/tpm.so max_seed_bytes=128",
            )],
        )
        .unwrap();
        assert_eq!(s.pkcs11_module, Some(PathBuf::from("/opt/My HSM/lib.so")));
        assert_eq!(s.pkcs11_max_seed_bytes, Some(64));
        assert_eq!(
            s.pkcs11_modules["tpm"],
            ModuleSpec {
                path: PathBuf::from("/usr/lib/tpm.so"),
                max_seed_bytes: Some(128)
            }
        );
        let (s, _) = load_text("", &[]).unwrap();
        assert!(s.pkcs11_modules.is_empty());
    }

    #[test]
    fn a_bad_module_name_or_pair_is_refused_plainly() {
        for (text, e, says) in [
            (
                "",
                ("HSMSEED_PKCS11_MODULES", "luna"),
                "`luna` is not NAME=PATH",
            ),
            (
                "",
                ("HSMSEED_PKCS11_MODULES", "a b=/x.so"),
                "module name `a b`",
            ),
            (
                "",
                ("HSMSEED_PKCS11_MODULES", "a=/x.so,a=/y.so"),
                "module a is named twice",
            ),
            ("", ("HSMSEED_PKCS11_MODULES", "a="), "module a has no path"),
            (
                "",
                ("HSMSEED_PKCS11_MODULES", "default=/x.so"),
                "`default` names pkcs11_module",
            ),
            (
                "",
                ("HSMSEED_PKCS11_MODULES", "t=/x.so max_seed_bytes=8"),
                "module t: max_seed_bytes `8` is not",
            ),
            (
                "",
                ("HSMSEED_PKCS11_MODULE", "/x.so max_seed_bytes=big"),
                "pkcs11_module: max_seed_bytes `big`",
            ),
            (
                "[pkcs11_modules]\n\"x/y\" = \"/x.so\"\n",
                ("X", ""),
                "module name `x/y`",
            ),
        ] {
            let err = load_text(text, &[e]).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn an_unnamed_file_is_searched_for_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("hsmseed.toml");
        let system = dir.path().join("etc-hsmseed.toml");
        std::fs::write(&system, "data_dir = \"/var/lib/hsmseed\"\n").unwrap();
        let search = [local.clone(), system.clone()];
        // Only the system file: every command finds the service's data.
        let (s, report) = Settings::load_searching(None, env(&[]), &search).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/hsmseed"));
        assert_eq!(report.file.as_deref(), Some(system.as_path()));
        // A file in the working directory comes first (development).
        std::fs::write(&local, "data_dir = \"here\"\n").unwrap();
        let (s, _) = Settings::load_searching(None, env(&[]), &search).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("here"));
        // A named one (flag or HSMSEED_CONFIG) comes before both.
        let named = dir.path().join("named.toml");
        std::fs::write(&named, "data_dir = \"named\"\n").unwrap();
        let e = [("HSMSEED_CONFIG", named.to_str().unwrap())];
        let (s, _) = Settings::load_searching(None, env(&e), &search).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("named"));
        // None at all: the defaults.
        let none = [dir.path().join("no-1.toml"), dir.path().join("no-2.toml")];
        let (s, report) = Settings::load_searching(None, env(&[]), &none).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert!(report.file.is_none());
    }

    /// The settings file the Debian package installs is valid and points
    /// every command at the service's directories.
    #[test]
    fn the_packaged_settings_file_is_valid() {
        let text = include_str!("../../../packaging/hsmseed.toml");
        let (s, _) = Settings::load_str(text, env(&[])).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/hsmseed"));
        assert_eq!(
            s.site_dir.as_deref(),
            Some(Path::new("/usr/share/hsmseed/site"))
        );
        assert_eq!(s.tls, TlsMode::On);
        // Every key is mentioned, so an administrator sees what exists.
        for k in KEYS {
            assert!(text.contains(&format!("{} =", k.key)), "{} missing", k.key);
        }
    }

    #[test]
    fn anonymous_reseed_addresses_come_as_a_list_or_comma_separated() {
        let (s, _) = load_text(
            "reseed_anonymous_from = [\"10.0.0.0/8\", \"192.0.2.7\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.reseed_anonymous_from.len(), 2);
        assert!(s.reseed_anonymous_from[1].contains("192.0.2.7".parse().unwrap()));
        let (s, _) = load_text("", &[("HSMSEED_RESEED_ANONYMOUS_FROM", "127.0.0.1, ::1")]).unwrap();
        assert_eq!(s.reseed_anonymous_from.len(), 2);
        let (s, _) = load_text("", &[]).unwrap();
        assert!(s.reseed_anonymous_from.is_empty());
        let e = load_text("reseed_anonymous_from = [\"10.1.2.3/8\"]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reseed_anonymous_from") && e.contains("10.0.0.0/8"),
            "{e}"
        );
    }

    #[test]
    fn env_overrides_file() {
        let (s, _) = load_text(
            "listen = \"127.0.0.1:9000\"\ntls = \"on\"\n",
            &[("HSMSEED_LISTEN", "127.0.0.1:9001"), ("HSMSEED_TLS", "off")],
        )
        .unwrap();
        assert_eq!(s.listen.port(), 9001);
        assert_eq!(s.tls, TlsMode::Off);
    }

    #[test]
    fn unknown_file_key_is_refused_by_name() {
        let err = load_text("lisen = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn unknown_env_variable_is_a_warning() {
        let (_, report) = load_text("", &[("HSMSEED_LISTN", "x"), ("PATH", "/bin")]).unwrap();
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("HSMSEED_LISTN"));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(load_text("", &[("HSMSEED_TLS", "maybe")]).is_err());
        assert!(load_text("", &[("HSMSEED_LISTEN", "nowhere")]).is_err());
        assert!(load_text("", &[("HSMSEED_ENTROPY_SOURCE", "device:")]).is_err());
        assert!(load_text("", &[("HSMSEED_SESSION_IDLE_MINUTES", "ten")]).is_err());
        assert!(load_text("session_idle_minutes = 0\n", &[]).is_err());
        assert!(load_text("tls_cert = \"/a.pem\"\n", &[]).is_err());
        assert!(load_text("", &[("HSMSEED_SEED_BITS", "100")]).is_err());
        assert!(load_text("", &[("HSMSEED_ENTROPY_MIN_ENTROPY", "9")]).is_err());
        assert!(load_text("", &[("HSMSEED_ENTROPY_FULL_ENTROPY", "maybe")]).is_err());
    }

    #[test]
    fn engine_settings_parse_from_file_and_env() {
        let (s, _) = load_text(
            "seed_bits = 512\nentropy_min_entropy = 6.5\nentropy_full_entropy = true\n",
            &[
                ("HSMSEED_PKCS11_TIMEOUT_SECS", "3"),
                ("HSMSEED_MASTER_KEY_FILE", "/k"),
            ],
        )
        .unwrap();
        assert_eq!(s.seed_bits, 512);
        assert_eq!(s.seed_bytes(), 64);
        assert_eq!(s.entropy_min_entropy, 6.5);
        assert!(s.entropy_full_entropy);
        assert_eq!(s.pkcs11_timeout_secs, 3);
        assert_eq!(s.master_key_file, Some(PathBuf::from("/k")));
    }

    #[test]
    fn secret_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret-from-file\n").unwrap();
        let (s, report) =
            load_text("", &[("HSMSEED_ADMIN_PASSWORD_FILE", f.to_str().unwrap())]).unwrap();
        assert_eq!(
            s.admin_password.unwrap().expose_secret(),
            "s3cret-from-file"
        );
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn entropy_source_parses() {
        assert_eq!(
            "device:/dev/qrandom0".parse::<EntropySourceKind>().unwrap(),
            EntropySourceKind::Device(PathBuf::from("/dev/qrandom0"))
        );
        assert!("remote".parse::<EntropySourceKind>().is_err());
        // A list in the file, comma-separated in the environment.
        let (s, _) = load_text(
            "entropy_source = [\"os\", \"device:/dev/qrandom0\"]\nentropy_mix = \"any\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.entropy_source.len(), 2);
        assert_eq!(s.entropy_mix, EntropyMix::Any);
        let (s, _) = load_text(
            "",
            &[(
                "HSMSEED_ENTROPY_SOURCE",
                "os, qrng:https://127.0.0.1:9/ timeout_ms=100",
            )],
        )
        .unwrap();
        assert_eq!(s.entropy_source[1].to_string(), "qrng:https://127.0.0.1:9/");
        assert!(load_text("entropy_source = \"os\"\n", &[]).is_ok());
        let e = load_text("entropy_mix = \"most\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`all` or `any`"), "{e}");
        let e = load_text("entropy_source = []\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one"), "{e}");
    }

    #[test]
    fn debug_output_hides_the_admin_password() {
        let (s, _) = load_text("", &[("HSMSEED_ADMIN_PASSWORD", "hunter2-very-secret")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
