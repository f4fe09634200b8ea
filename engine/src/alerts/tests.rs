//! Alerts against the real parts: a SoftHSM2 token, the SQLite file, an
//! HTTPS receiver and syslog sockets on 127.0.0.1 or in a temporary folder.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::watch::{changes, troubles, Observed};
use super::*;
use crate::config::Settings;
use crate::hsm::testing::SoftHsmFixture;
use crate::partitions::ConfigEdit;
use crate::Engine;
use types::hsm::HsmConfig;
use types::Trigger;
use types::UserType;

fn config(name: &str, failures: u32, ok_at: Option<time::OffsetDateTime>) -> HsmConfig {
    let t0 = time::macros::datetime!(2026-11-30 10:00 UTC);
    let mut c = HsmConfig {
        name: name.into(),
        partition_name: "P".into(),
        password_set: true,
        slot: Some(1),
        token_serial: None,
        user_type: UserType::User,
        module: None,
        enabled: true,
        created_at: t0,
        updated_at: t0,
        last_outcome: None,
        last_error: (failures > 0).then(|| "CKR_PIN_INCORRECT: login failed".into()),
        last_at: None,
        held: None,
        last_ok_at: ok_at,
        failures_in_row: failures,
        seed_refused: false,
        state: types::hsm::ConfigState::Never,
    };
    c.state = c.derive_state();
    c
}

fn observed(configs: Vec<HsmConfig>) -> Observed {
    Observed {
        configs,
        entropy: types::entropy::EntropyStatus {
            source: "os".into(),
            state: types::entropy::EntropyState::Ok,
            min_entropy_per_byte: 8.0,
            full_entropy: true,
            rct_cutoff: 0,
            apt_cutoff: 0,
            bytes_read: 0,
            blocks_tested: 0,
            blocks_discarded: 0,
            permanent_failures: 0,
            last_failure: None,
            remote: None,
        },
        certs: vec![],
    }
}

/// One alert a change: failing once, quiet while it stays failing,
/// recovered once; deleted while failing is `cleared`.
#[test]
fn a_change_gives_one_alert_and_a_steady_state_none() {
    let now = time::macros::datetime!(2026-11-30 11:00 UTC);
    let ok = observed(vec![config("HSM1", 0, Some(now)), config("HSM2", 0, None)]);
    let failing = observed(vec![config("HSM1", 1, Some(now)), config("HSM2", 0, None)]);
    let failing_more = observed(vec![config("HSM1", 5, Some(now)), config("HSM2", 0, None)]);

    let t0 = troubles(&ok, now);
    assert!(t0.is_empty(), "never seeded is no trouble");
    let t1 = troubles(&failing, now);
    let a = changes(&t0, &t1, &failing, now);
    assert_eq!(a.len(), 1);
    assert_eq!(
        (
            a[0].event.as_str(),
            a[0].subject.as_str(),
            a[0].previous.as_str(),
            a[0].severity
        ),
        (
            "configuration.failing",
            "configuration HSM1",
            "ok",
            Severity::Error
        )
    );
    assert!(
        a[0].message
            .contains("1 failed reseed in a row, last: CKR_PIN_INCORRECT"),
        "{}",
        a[0].message
    );

    let t2 = troubles(&failing_more, now);
    assert!(
        changes(&t1, &t2, &failing_more, now).is_empty(),
        "still failing: no new alert"
    );

    let a = changes(&t2, &t0, &ok, now);
    assert_eq!(a.len(), 1);
    assert_eq!(
        (
            a[0].event.as_str(),
            a[0].state.as_str(),
            a[0].previous.as_str()
        ),
        ("configuration.recovered", "ok", "failing")
    );
    assert_eq!(a[0].severity, Severity::Notice);
    assert!(
        a[0].message
            .contains("recovered: reseeded at 2026-11-30 11:00:00 UTC"),
        "{}",
        a[0].message
    );

    let gone = observed(vec![config("HSM2", 0, None)]);
    let a = changes(&t2, &troubles(&gone, now), &gone, now);
    assert_eq!(
        (a[0].event.as_str(), a[0].state.as_str()),
        ("configuration.cleared", "deleted")
    );

    let mut disabled = config("HSM1", 5, Some(now));
    disabled.enabled = false;
    let off = observed(vec![disabled]);
    let a = changes(&t2, &troubles(&off, now), &off, now);
    assert_eq!(
        (a[0].event.as_str(), a[0].state.as_str()),
        ("configuration.cleared", "disabled")
    );
}

#[test]
fn held_entropy_and_certificates_have_their_own_alerts() {
    let now = time::macros::datetime!(2026-11-30 11:00 UTC);
    let mut held = config("HSM1", 0, None);
    held.held = Some(types::hsm::LoginHold {
        ckr: "CKR_PIN_INCORRECT".into(),
        detail: "wrong password".into(),
        since: now,
    });
    let mut refused = config("HSM2", 1, None);
    refused.seed_refused = true;
    refused.last_error = Some("SEED_NOT_ACCEPTED".into());
    refused.state = refused.derive_state();
    let mut o = observed(vec![held, refused]);
    o.entropy.state = types::entropy::EntropyState::Failed;
    let cert = |days: i64| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["hsm.example".into()]).unwrap();
        p.not_before = now - time::Duration::days(300);
        p.not_after = now + time::Duration::days(days);
        let pem = p.self_signed(&key).unwrap().pem();
        crate::ntl::parse_server_certificate(pem.as_bytes()).unwrap()
    };
    o.certs = vec![
        types::ntl::CertExpiry {
            name: "HSM 10.0.0.5".into(),
            cert: cert(12),
        },
        types::ntl::CertExpiry {
            name: "HSM 10.0.0.6".into(),
            cert: cert(-2),
        },
        types::ntl::CertExpiry {
            name: "HSM 10.0.0.7".into(),
            cert: cert(200),
        },
    ];
    let a = changes(&Default::default(), &troubles(&o, now), &o, now);
    let got: Vec<(&str, &str, Severity)> = a
        .iter()
        .map(|a| (a.event.as_str(), a.subject.as_str(), a.severity))
        .collect();
    assert_eq!(
        got,
        [
            (
                "certificate.expiring",
                "certificate HSM 10.0.0.5",
                Severity::Warning
            ),
            (
                "certificate.expired",
                "certificate HSM 10.0.0.6",
                Severity::Error
            ),
            (
                "configuration.held",
                "configuration HSM1",
                Severity::Critical
            ),
            (
                "configuration.unsupported",
                "configuration HSM2",
                Severity::Error
            ),
            ("entropy.failed", "entropy source os", Severity::Critical),
        ]
    );
    assert!(
        a[0].message.contains("expires in 12 days"),
        "{}",
        a[0].message
    );
    assert_eq!(
        a[3].message,
        "configuration HSM2: this token does not accept seed material; scheduled rounds skip \
         it until its slot, token serial or module is edited (last: SEED_NOT_ACCEPTED)"
    );
}

/// The watch on a real engine: a configuration whose slot holds no token
/// alerts `failing` once, then `recovered` when it works; a restart
/// neither repeats nor forgets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_configuration_alerts_once_then_recovers_across_restarts() {
    let f = SoftHsmFixture::shared();
    let _access = f.shared_access().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(dir.path());
    settings.pkcs11_module = Some(f.module_to_load().to_path_buf());
    let engine = Engine::open(settings.clone()).await.unwrap();
    let cli = Actor::cli();
    let p = engine.partitions();
    p.create_config("ALRT", &cli).await.unwrap();
    let mut edit = ConfigEdit::for_token(f.token(2), UserType::User);
    edit.slot = Some(crate::partitions::SlotId(99_999));
    p.edit_config("ALRT", edit, &cli).await.unwrap();
    assert!(
        engine.alerts().check().await.unwrap().is_empty(),
        "never seeded"
    );

    p.reseed("ALRT", Trigger::Api, &cli).await.unwrap_err();
    let a = engine.alerts().check().await.unwrap();
    assert_eq!(
        a.iter().map(|a| a.event.as_str()).collect::<Vec<_>>(),
        ["configuration.failing"]
    );
    p.reseed("ALRT", Trigger::Api, &cli).await.unwrap_err();
    assert!(
        engine.alerts().check().await.unwrap().is_empty(),
        "one alert a change"
    );

    drop(engine);
    let engine = Engine::open(settings.clone()).await.unwrap();
    assert!(
        engine.alerts().check().await.unwrap().is_empty(),
        "a restart does not repeat it"
    );

    let p = engine.partitions();
    p.edit_config(
        "ALRT",
        ConfigEdit::for_token(f.token(2), UserType::User),
        &cli,
    )
    .await
    .unwrap();
    p.reseed("ALRT", Trigger::Api, &cli).await.unwrap();
    let a = engine.alerts().check().await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].event.as_str(), a[0].previous.as_str()),
        ("configuration.recovered", "failing")
    );
    assert!(engine.alerts().check().await.unwrap().is_empty());
}

/// An HTTPS server on 127.0.0.1 that answers each request with the next
/// status of `statuses` (the last one repeats; 0: never answers) and hands
/// over each request's body.
struct Receiver {
    url: String,
    ca: String,
    bodies: mpsc::UnboundedReceiver<(String, String)>,
}

async fn receiver(statuses: Vec<u16>) -> Receiver {
    let (acceptor, cert) = crate::tls::loopback_acceptor();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, bodies) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let Ok(k) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break (head.to_string(), body.to_string());
                        }
                    }
                };
                let _ = tx.send((head, body));
                if status == 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Receiver {
        url: format!("https://127.0.0.1:{port}/hooks/T0001/secret-part"),
        ca: cert.pem(),
        bodies,
    }
}

async fn engine(dir: &tempfile::TempDir) -> Engine {
    Engine::open(Settings::for_data_dir(dir.path()))
        .await
        .unwrap()
}

/// A test alert reaches the webhook (after a 503, retried) and syslog
/// over UDP; the settings change is audited without the URL's path.
#[tokio::test]
async fn the_webhook_and_syslog_get_the_test_alert() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    engine.alerts().set_retry(Retry {
        attempts: 3,
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
    });
    let mut hook = receiver(vec![503, 200]).await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let edit = AlertEdit {
        webhook_url: Some(hook.url.clone()),
        webhook_ca: Some(hook.ca.clone()),
        syslog: Some(format!(
            "udp:127.0.0.1:{}",
            udp.local_addr().unwrap().port()
        )),
    };
    let admin = Actor::user("admin", None);
    let saved = engine.alerts().set_settings(&edit, &admin).await.unwrap();
    assert_eq!(saved.webhook_url.as_deref(), Some(hook.url.as_str()));

    let done = engine.alerts().send_test(&admin).await.unwrap();
    assert!(done.iter().all(|d| d.ok), "{done:?}");
    let webhook = done.iter().find(|d| d.channel == "webhook").unwrap();
    assert_eq!(webhook.detail, "HTTP 200 after 2 attempts");

    let (head, body) = hook.bodies.recv().await.unwrap();
    assert!(
        head.starts_with("POST /hooks/T0001/secret-part HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["event"], "test");
    assert_eq!(json["severity"], "info");
    assert_eq!(json["message"], "test alert sent by admin");
    assert!(json["appliance"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        hook.bodies.recv().await.is_some(),
        "the retry carried it again"
    );

    let mut buf = [0u8; 2048];
    let n = udp.recv(&mut buf).await.unwrap();
    let line = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(line.starts_with("<30>1 "), "daemon.info: {line}");
    assert!(
        line.contains(" hsmseed ") && line.contains(" test [hsmseed@32473 event=\"test\""),
        "{line}"
    );
    assert!(line.ends_with("] test alert sent by admin"), "{line}");

    let audit = engine
        .audit_log()
        .page(&Default::default(), 1, 10)
        .await
        .unwrap();
    let rows: Vec<(&str, &str)> = audit
        .rows
        .iter()
        .map(|r| (r.action.as_str(), r.detail.as_str()))
        .collect();
    let (_, detail) = rows.iter().find(|(a, _)| *a == "alerts.settings").unwrap();
    assert!(
        detail.starts_with("webhook=https://127.0.0.1:") && detail.contains("/… (CA: CN="),
        "{detail}"
    );
    assert!(
        !detail.contains("secret-part"),
        "the URL's path is kept out of the audit log: {detail}"
    );
    assert!(
        rows.iter()
            .any(|(a, d)| *a == "alerts.test" && d.contains("webhook: HTTP 200")),
        "{rows:?}"
    );
}

/// A webhook that never answers, or that shows a certificate of another
/// CA, is given up after the configured attempts, and says why.
#[tokio::test]
async fn a_webhook_that_does_not_answer_or_is_not_trusted_is_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    engine.alerts().set_retry(Retry {
        attempts: 2,
        timeout: Duration::from_millis(300),
        backoff: Duration::from_millis(10),
    });
    let admin = Actor::user("admin", None);
    let mut silent = receiver(vec![0]).await;
    let edit = AlertEdit {
        webhook_url: Some(silent.url.clone()),
        webhook_ca: Some(silent.ca.clone()),
        ..Default::default()
    };
    engine.alerts().set_settings(&edit, &admin).await.unwrap();
    let done = engine.alerts().send_test(&admin).await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(!done[0].ok);
    assert_eq!(done[0].detail, "no answer in time (2 attempts)");
    assert!(silent.bodies.recv().await.is_some());

    let other = receiver(vec![200]).await;
    let edit = AlertEdit {
        webhook_url: Some(other.url.clone()),
        ..Default::default()
    };
    engine.alerts().set_settings(&edit, &admin).await.unwrap();
    let done = engine.alerts().send_test(&admin).await.unwrap();
    assert!(!done[0].ok);
    assert!(
        done[0].detail.contains("cannot connect")
            && done[0].detail.to_lowercase().contains("certificate"),
        "{}",
        done[0].detail
    );
    let metrics = engine.metrics_text().await;
    assert!(
        metrics.contains("hsmseed_alerts_total{channel=\"webhook\",outcome=\"failed\"} 2\n"),
        "{metrics}"
    );
}

/// Bad settings are refused with the reason, and change nothing.
#[tokio::test]
async fn bad_alert_settings_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let admin = Actor::user("admin", None);
    let good = AlertEdit {
        syslog: Some("udp:127.0.0.1:514".into()),
        ..Default::default()
    };
    engine.alerts().set_settings(&good, &admin).await.unwrap();
    for (edit, why) in [
        (
            AlertEdit {
                webhook_url: Some("http://127.0.0.1/".into()),
                ..Default::default()
            },
            "https://",
        ),
        (
            AlertEdit {
                webhook_ca: Some("not a certificate".into()),
                ..Default::default()
            },
            "no -----BEGIN CERTIFICATE",
        ),
        (
            AlertEdit {
                syslog: Some("tcp:127.0.0.1:514".into()),
                ..Default::default()
            },
            "unknown kind of target",
        ),
    ] {
        let e = engine
            .alerts()
            .set_settings(&edit, &admin)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
    let s = engine.alerts().settings().await.unwrap();
    assert_eq!(
        s,
        AlertSettings {
            syslog: Some("udp:127.0.0.1:514".into()),
            ..Default::default()
        }
    );
    let e = AlertEdit {
        syslog: Some("off".into()),
        ..Default::default()
    };
    assert_eq!(
        engine.alerts().set_settings(&e, &admin).await.unwrap(),
        AlertSettings::default()
    );
    let e = engine.alerts().send_test(&admin).await.unwrap_err();
    assert!(
        e.to_string().contains("nothing to send a test alert to"),
        "{e}"
    );
}

/// Syslog over a local Unix datagram socket (what `local` is, at /dev/log).
#[tokio::test]
async fn syslog_goes_to_a_local_socket() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let path = dir.path().join("log.sock");
    let socket = tokio::net::UnixDatagram::bind(&path).unwrap();
    let edit = AlertEdit {
        syslog: Some(format!("unix:{}", path.display())),
        ..Default::default()
    };
    engine
        .alerts()
        .set_settings(&edit, &Actor::cli())
        .await
        .unwrap();
    let done = engine.alerts().send_test(&Actor::cli()).await.unwrap();
    assert!(done[0].ok, "{done:?}");
    let mut buf = [0u8; 2048];
    let n = socket.recv(&mut buf).await.unwrap();
    assert!(std::str::from_utf8(&buf[..n])
        .unwrap()
        .ends_with("test alert sent by cli"));
}
