//! The trust link: the guide's NTL steps at the console, refusals, the Luna
//! client files, and ntl-verify against SoftHSM2.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{fixture, Options, TestApp};

/// A self-signed server certificate made by openssl, as an HSM has one
/// (valid for a year).
fn openssl_cert(dir: &std::path::Path, name: &str, cn: &str) -> std::path::PathBuf {
    openssl_cert_for(dir, name, cn, 365)
}

fn openssl_cert_for(dir: &std::path::Path, name: &str, cn: &str, days: u32) -> std::path::PathBuf {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days"])
        .arg(days.to_string())
        .arg("-subj")
        .arg(format!("/C=CA/O=Gemalto/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cert
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn the_guides_ntl_steps_at_the_console() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let server = openssl_cert(dir.path(), "server", "192.168.1.31");

    let out = app
        .cli(&[
            "ntl-hsm-cert-import",
            &format!("--hsmCert={}", server.display()),
            "--hsmIp=192.168.1.31",
        ])
        .await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "New server added to the list successfully\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.is_empty(),
        "no warning: the CN names the address: {}",
        out.stderr
    );

    let out = app
        .cli(&[
            "ntl-qa-subject",
            "--country=CA",
            "--state=Ontario",
            "--locality=Ottawa",
            "--organization=My company",
            "--address=192.168.1.21",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = app.cli(&["ntl-qa-cert-new"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "New QA certificate created successfully for the NTL.\n"),
        "{}",
        out.stderr
    );

    let show = app.cli(&["ntl-qa-cert-show"]).await;
    assert_eq!(show.code, 0);
    assert!(show
        .stdout
        .starts_with("Certificate:\n    Data:\n        Version: 3 (0x2)\n"));

    let out = app
        .cli(&[
            "ntl-qa-cert-export",
            "--name=192.168.1.21.pem",
            &format!("--dir={}", dir.path().display()),
        ])
        .await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Certificate saved successfully\n"),
        "{}",
        out.stderr
    );
    let exported = dir.path().join("192.168.1.21.pem");
    let pem = std::fs::read_to_string(&exported).unwrap();
    assert!(
        !pem.contains("PRIVATE KEY"),
        "only the certificate is exported"
    );

    // openssl reads it, prints exactly what ntl-qa-cert-show printed, and
    // verifies it (self-signed).
    let path = exported.to_str().unwrap();
    let (ok, text) = openssl(&["x509", "-in", path, "-text", "-noout"]);
    assert!(ok, "{text}");
    let ours: Vec<&str> = show.stdout.lines().collect();
    let theirs: Vec<&str> = text.lines().collect();
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {}", i + 1);
    }
    assert_eq!(ours.len(), theirs.len());
    assert!(text.contains("Public-Key: (2048 bit)"));
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"));
    assert!(text
        .contains("Subject: C = CA, ST = Ontario, L = Ottawa, O = My company, CN = 192.168.1.21"));
    assert!(text.contains("IP Address:192.168.1.21"));
    let (ok, out) = openssl(&["verify", "-CAfile", path, path]);
    assert!(ok, "{out}");

    let out = app.cli(&["ntl-hsm-cert-list"]).await;
    assert!(
        out.stdout.contains("192.168.1.31") && out.stdout.contains("CN=192.168.1.31"),
        "{}",
        out.stdout
    );

    // Creating it again says what that means.
    let out = app.cli(&["ntl-qa-cert-new"]).await;
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("every HSM must register the appliance (192.168.1.21) again"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn bad_certificates_and_addresses_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let good = openssl_cert(dir.path(), "good", "192.168.1.31");
    let other = openssl_cert(dir.path(), "other", "192.168.1.32");
    let good_pem = std::fs::read_to_string(&good).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let truncated = &good_pem[..good_pem.len() / 2];
    let two = format!("{good_pem}{}", std::fs::read_to_string(&other).unwrap());
    let mut big = good_pem.clone().into_bytes();
    big.resize(65 * 1024, b'\n');
    let cases: Vec<(std::path::PathBuf, &str, &str)> = vec![
        (
            write("notpem.txt", b"hello, this is not a certificate"),
            "192.168.1.31",
            "PEM",
        ),
        (write("empty.pem", b""), "192.168.1.31", "empty"),
        (
            write("two.pem", two.as_bytes()),
            "192.168.1.31",
            "exactly one certificate",
        ),
        (dir.path().join("good.key"), "192.168.1.31", "private key"),
        (write("big.pem", &big), "192.168.1.31", "64 KiB"),
        (
            write("truncated.pem", truncated.as_bytes()),
            "192.168.1.31",
            "",
        ),
        (
            good.clone(),
            "192.168.1.999",
            "is not an IPv4 or IPv6 address or a host name",
        ),
        (
            good.clone(),
            "hsm_1.example",
            "is not an IPv4 or IPv6 address or a host name",
        ),
        (
            dir.path().join("missing.pem"),
            "192.168.1.31",
            "cannot read",
        ),
    ];
    for (file, address, message) in &cases {
        let out = app
            .cli(&[
                "ntl-hsm-cert-import",
                &format!("--hsmCert={}", file.display()),
                &format!("--hsmIp={address}"),
            ])
            .await;
        assert_ne!(out.code, 0, "{file:?} must be refused");
        assert!(out.stderr.contains(message), "{file:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    assert!(
        app.engine.trust().server_certs().await.unwrap().is_empty(),
        "nothing stored"
    );

    // A second import for the same address needs --replace.
    app.cli(&[
        "ntl-hsm-cert-import",
        &format!("--hsmCert={}", good.display()),
        "--hsmIp=192.168.1.31",
    ])
    .await;
    let out = app
        .cli(&[
            "ntl-hsm-cert-import",
            &format!("--hsmCert={}", other.display()),
            "--hsmIp=192.168.1.31",
        ])
        .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("confirm to replace it"),
        "{}",
        out.stderr
    );
    let out = app
        .cli(&[
            "ntl-hsm-cert-import",
            &format!("--hsmCert={}", other.display()),
            "--hsmIp=192.168.1.31",
            "--replace",
        ])
        .await;
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        "Server 192.168.1.31 replaced in the list successfully\n"
    );
    assert!(
        out.stderr.contains("Warning:"),
        "the CN no longer names the address: {}",
        out.stderr
    );

    // Export refuses a path for a name, and there is no QA certificate yet.
    let out = app.cli(&["ntl-qa-cert-export", "--name=../x.pem"]).await;
    assert!(out.stderr.contains("not a plain file name"));
    let out = app.cli(&["ntl-qa-cert-show"]).await;
    assert!(out.stderr.contains("no QA certificate yet"));
}

#[tokio::test]
async fn luna_client_files_follow_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let luna = dir.path().join("luna");
    std::fs::create_dir_all(&luna).unwrap();
    let existing =
        "Chrystoki2 = {\n   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;\n}\n\
                    LunaSA Client = {\n   ReceiveTimeout = 20000;\n   NetClient = 1;\n}\n\
                    Misc = {\n   PE1746Enabled = 0;\n}\n";
    std::fs::write(luna.join("Chrystoki.conf"), existing).unwrap();
    let app = TestApp::spawn_with(Options {
        luna_client_dir: Some(luna.clone()),
        ..Options::default()
    })
    .await;
    let actor = engine::audit::Actor::cli();
    let a = std::fs::read(openssl_cert(dir.path(), "a", "192.168.1.31")).unwrap();
    let b = std::fs::read(openssl_cert(dir.path(), "b", "hsm2.example")).unwrap();

    app.engine
        .trust()
        .import_server_cert("192.168.1.31", &a, false, &actor)
        .await
        .unwrap();
    let conf = std::fs::read_to_string(luna.join("Chrystoki.conf")).unwrap();
    assert!(
        conf.contains("ServerName00 = 192.168.1.31;")
            && conf.contains("ServerPort00 = 1792;")
            && conf.contains("ServerHtl00 = 0;")
    );
    assert!(conf.starts_with(
        "Chrystoki2 = {\n   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;\n}\n"
    ));
    assert!(
        conf.ends_with("Misc = {\n   PE1746Enabled = 0;\n}\n"),
        "{conf}"
    );
    assert_eq!(
        std::fs::read(luna.join("cert/server/CAFile.pem")).unwrap(),
        a
    );

    app.engine
        .trust()
        .import_server_cert("hsm2.example", &b, false, &actor)
        .await
        .unwrap();
    let conf = std::fs::read_to_string(luna.join("Chrystoki.conf")).unwrap();
    assert!(conf.contains("ServerName01 = hsm2.example;"));
    let ca = std::fs::read_to_string(luna.join("cert/server/CAFile.pem")).unwrap();
    assert_eq!(ca.matches("BEGIN CERTIFICATE").count(), 2);

    app.engine
        .trust()
        .set_qa_settings(&Default::default(), Some("192.168.1.21"), &actor)
        .await
        .unwrap();
    app.engine
        .trust()
        .create_qa_cert(false, &actor)
        .await
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    let key = luna.join("cert/client/192.168.1.21Key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .contains("PRIVATE KEY"));
    assert!(
        std::fs::read_to_string(luna.join("cert/client/192.168.1.21.pem"))
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let conf = std::fs::read_to_string(luna.join("Chrystoki.conf")).unwrap();
    assert!(conf.contains("192.168.1.21Key.pem;") && conf.contains("ReceiveTimeout = 20000;"));

    app.engine
        .trust()
        .delete_server_cert("192.168.1.31", &actor)
        .await
        .unwrap();
    let conf = std::fs::read_to_string(luna.join("Chrystoki.conf")).unwrap();
    assert!(!conf.contains("192.168.1.31"), "{conf}");
    assert!(conf.contains("ServerName00 = hsm2.example;") && !conf.contains("ServerName01"));
    let ca = std::fs::read_to_string(luna.join("cert/server/CAFile.pem")).unwrap();
    assert_eq!(ca.matches("BEGIN CERTIFICATE").count(), 1);
    assert!(ca.as_bytes() == b.as_slice());
}

#[tokio::test]
async fn ntl_verify_lists_the_tokens_softhsm_holds() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let out = app.cli(&["ntl-verify"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "The following SafeNet Luna Network HSM Slots/Partitions were found:"
    );
    assert_eq!(lines[2], "Slot\tSerial #\tLabel");
    assert_eq!(lines[3], "====\t=====\t=====");
    for t in [f.token(1), f.token(2)] {
        assert!(
            lines.contains(&format!("{}\t{}\t{}", t.slot, t.serial, t.label).as_str()),
            "{t:?} in {}",
            out.stdout
        );
    }
    // A module that does not load is a clear message, not a crash.
    let bad = TestApp::spawn_with(Options {
        pkcs11_module: Some("/nonexistent/libCryptoki2_64.so".into()),
        ..Options::default()
    })
    .await;
    let out = bad.cli(&["ntl-verify"]).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("MODULE_LOAD")
            && out.stderr.contains("/nonexistent/libCryptoki2_64.so"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn the_trust_page_uploads_shows_and_downloads() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = std::fs::read(openssl_cert(dir.path(), "s", "192.168.1.31")).unwrap();
    let upload = |bytes: Vec<u8>, address: &str| {
        let form = reqwest::multipart::Form::new()
            .text("address", address.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("server.pem"),
            );
        app.client
            .post(app.at("/trust/servers"))
            .header("origin", &app.url)
            .multipart(form)
            .send()
    };
    let r = upload(pem.clone(), "192.168.1.31").await.unwrap();
    assert_eq!(crate::helpers::location(&r), "/trust");
    let page = app.get("/trust").await.text().await.unwrap();
    assert!(
        page.contains("New server 192.168.1.31 added to the list successfully."),
        "the message shows once"
    );
    assert!(page.contains("C=CA, O=Gemalto, CN=192.168.1.31"));
    assert!(!app
        .get("/trust")
        .await
        .text()
        .await
        .unwrap()
        .contains("added to the list successfully"));

    // A key is refused, with its reason, and not stored.
    let key = std::fs::read(dir.path().join("s.key")).unwrap();
    upload(key, "192.168.1.40").await.unwrap();
    let page = app.get("/trust").await.text().await.unwrap();
    assert!(page.contains("this is a private key, not a certificate"));
    assert!(!page.contains("192.168.1.40"));

    let r = app.get("/trust/servers/192.168.1.31").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(crate::helpers::header(&r, "content-disposition").contains("192.168.1.31.pem"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), pem.as_slice());

    // The QA certificate: create, see its text, download it (never a key).
    let r = app
        .server_fn(
            "set_qa_subject",
            &[
                ("country", "CA"),
                ("state", ""),
                ("locality", ""),
                ("organization", "My company"),
                ("address", "192.168.1.21"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = app.server_fn("create_qa_cert", &[]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = app.server_fn("create_qa_cert", &[]).await;
    assert!(
        r.text().await.unwrap().contains("confirm to replace it"),
        "re-creating needs the confirmation"
    );
    let page = app.get("/trust").await.text().await.unwrap();
    assert!(page.contains("Signature Algorithm: sha256WithRSAEncryption"));
    let r = app.get("/trust/qa-cert.pem").await;
    assert!(crate::helpers::header(&r, "content-disposition").contains("192.168.1.21.pem"));
    let body = r.text().await.unwrap();
    assert!(body.starts_with("-----BEGIN CERTIFICATE-----") && !body.contains("PRIVATE"));

    // Downloads need a session.
    let (other, _) = app.new_client();
    let r = other
        .get(app.at("/trust/qa-cert.pem"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// A certificate that ends within 30 days is warned about when imported and
/// whenever the list is shown.
#[tokio::test]
async fn a_certificate_expiring_within_30_days_is_warned_about() {
    // Made before the app starts: its test clock stands at its start.
    let dir = tempfile::tempdir().unwrap();
    let soon = openssl_cert_for(dir.path(), "soon", "192.168.1.33", 20);
    let app = TestApp::spawn().await;
    let out = app
        .cli(&[
            "ntl-hsm-cert-import",
            &format!("--hsmCert={}", soon.display()),
            "--hsmIp=192.168.1.33",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Warning:") && out.stderr.contains("expires in 19 days"),
        "{}",
        out.stderr
    );
    let certs = app.engine.trust().server_certs().await.unwrap();
    assert_eq!(certs[0].warnings.len(), 1, "{certs:?}");
    assert!(
        certs[0].warnings[0].contains("expires in 19 days"),
        "{certs:?}"
    );
}
