//! Property tests of the parsers that read what others wrote: uploaded
//! certificates (PEM and DER), the Luna client's `Chrystoki.conf`, the
//! settings file and the names and numbers every door takes. Whatever the
//! input, they answer `Ok` or a clear error, never panic, and what they
//! write reads back the same. `make test` runs each with proptest's 256
//! cases; `make fuzz` runs them with many more (`PROPTEST_CASES`).

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::ntl::address::HsmAddress;
use crate::ntl::cert::parse_server_certificate;
use crate::ntl::luna::update_chrystoki_conf;

/// A real server certificate (PEM), made once.
fn certificate() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        crate::tls::server_identity(dir.path(), None, &["192.0.2.10".into()])
            .unwrap()
            .cert_pem
    })
}

/// An error is for an operator: some words, not a dump.
fn clear(e: &crate::Error) -> bool {
    let m = e.to_string();
    !m.trim().is_empty() && m.len() < 2000
}

/// Lines that look like a Chrystoki.conf, with some junk among them.
fn conf_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("LunaSA Client = {".to_string()),
        Just("}".to_string()),
        Just("Chrystoki2 = {".to_string()),
        Just("   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;".to_string()),
        Just("   ServerName00 = 192.0.2.1;".to_string()),
        Just("   ServerPort00 = 1792;".to_string()),
        Just("   ClientCertFile = /old/cert.pem;".to_string()),
        Just("   NetClient = 1;".to_string()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn address() -> impl Strategy<Value = HsmAddress> {
    prop_oneof![
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("10.0.{a}.{b}")),
        "[a-z]{1,10}\\.example",
    ]
    .prop_map(|s| HsmAddress::parse(&s).unwrap())
}

proptest! {
    #[test]
    fn fuzz_any_bytes_are_a_certificate_or_a_clear_refusal(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        if let Err(e) = parse_server_certificate(&bytes) {
            prop_assert!(clear(&e), "{e}");
        }
    }

    #[test]
    fn fuzz_a_damaged_certificate_is_refused_or_read_never_a_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let pem = certificate();
        let der = crate::ntl::cert::decode_single_certificate(pem.as_bytes()).unwrap();
        let mut damaged = der.clone();
        for (at, byte) in flips {
            let i = at.index(damaged.len());
            damaged[i] ^= byte | 1;
        }
        if truncate {
            damaged.truncate(cut.index(damaged.len()));
        }
        for input in [
            crate::ntl::der::pem_encode("CERTIFICATE", &damaged).into_bytes(),
            damaged.clone(),
        ] {
            if let Err(e) = parse_server_certificate(&input) {
                prop_assert!(clear(&e), "{e}");
            }
        }
    }

    #[test]
    fn fuzz_text_around_a_certificate_is_read_or_refused(
        before in "\\PC{0,200}",
        after in "\\PC{0,200}",
    ) {
        let text = format!("{before}\n{}\n{after}", certificate());
        if let Err(e) = parse_server_certificate(text.as_bytes()) {
            prop_assert!(clear(&e), "{e}");
        }
    }

    #[test]
    fn fuzz_chrystoki_conf_keeps_every_other_line_and_settles(
        lines in prop::collection::vec(conf_line(), 0..30),
        crlf in any::<bool>(),
        servers in prop::collection::vec(address(), 0..4),
        client in prop::option::of(address()),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let existing = lines.join(nl);
        let servers: Vec<&HsmAddress> = servers.iter().collect();
        match update_chrystoki_conf(&existing, "/usr/safenet/lunaclient", &servers, client.as_ref()) {
            Err(e) => prop_assert!(clear(&e), "{e}"),
            Ok(out) => {
                // Every server is listed.
                for s in &servers {
                    prop_assert!(out.contains(&format!("= {s};")), "{out}");
                }
                // Applying the same change again changes nothing.
                let again = update_chrystoki_conf(&out, "/usr/safenet/lunaclient", &servers, client.as_ref()).unwrap();
                prop_assert_eq!(&again, &out);
                // Lines outside the LunaSA Client section are all kept.
                let mut inside = false;
                for l in existing.split(nl) {
                    let t = l.trim();
                    if t.to_ascii_lowercase().starts_with("lunasa client") && t.ends_with('{') {
                        inside = true;
                    } else if inside && t == "}" {
                        inside = false;
                    } else if !inside && !l.is_empty() {
                        prop_assert!(out.contains(l), "lost `{l}` from:\n{out}");
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_any_settings_file_loads_or_says_what_is_wrong(
        text in prop_oneof![
            "\\PC{0,300}",
            prop::collection::vec(
                prop_oneof![
                    Just("listen = \"127.0.0.1:0\"".to_string()),
                    Just("seed_bits = 512".to_string()),
                    Just("tls = \"maybe\"".to_string()),
                    Just("[section]".to_string()),
                    Just("max_connections = -1".to_string()),
                    Just("login_failures_per_token = 10".to_string()),
                    "[a-z_]{1,24} = [0-9]{1,12}",
                    "[a-z_]{1,24} = \"[ -~]{0,20}\"",
                ],
                0..8
            ).prop_map(|l| l.join("\n")),
        ],
    ) {
        match crate::config::Settings::load_str(&text, Vec::<(String, String)>::new()) {
            Ok((s, _)) => prop_assert!(s.seed_bits % 8 == 0 && (1..=9).contains(&s.login_failures_per_token)),
            Err(e) => prop_assert!(clear(&e), "{e}"),
        }
    }

    #[test]
    fn fuzz_names_slots_periods_and_user_types_parse_or_refuse(s in "\\PC{0,80}") {
        use crate::partitions::{HsmName, SlotId};
        if let Ok(n) = HsmName::parse(&s) {
            prop_assert_eq!(n.as_str(), s.as_str());
            prop_assert!(n.as_str().len() <= 64);
        }
        if let Ok(SlotId(n)) = SlotId::parse(&s) {
            prop_assert_eq!(Ok(n), s.trim().parse::<u64>());
        }
        if let Ok(p) = crate::schedule::SeedPeriod::parse(&s) {
            prop_assert!(p.minutes() <= 9);
        }
        if let Ok(u) = s.parse::<crate::hsm::UserType>() {
            prop_assert_eq!(u.as_str(), s.as_str());
        }
        for r in [
            HsmName::parse(&s).err(),
            SlotId::parse(&s).err(),
            crate::schedule::SeedPeriod::parse(&s).err(),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(clear(&r), "{r}");
        }
    }
}
