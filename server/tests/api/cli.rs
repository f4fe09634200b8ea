//! The console commands, as the guide shows them, in a separate process on
//! the server's data directory.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_guides_hsm_commands_print_the_guides_lines() {
    let app = TestApp::spawn().await;
    let out = app.cli(&["hsm-conf-new", "--name=HSM1"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "New HSM1 configuration created successfully.\n"),
        "{}",
        out.stderr
    );

    let out = app
        .cli(&[
            "hsm-conf-edit",
            "--name=HSM1",
            "--partitionName=Partition1",
            "--partitionPwd=myPassword",
            "--slot=1",
            "--userType=CKU_USER",
        ])
        .await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Configuration edited successfully.\n"),
        "{}",
        out.stderr
    );

    let out = app.cli(&["hsm-conf-show", "--name=HSM1"]).await;
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        "partitionName=Partition1\npartitionPwd=********\nslot=1\nuserType=CKU_USER\n"
    );

    // Both spellings of the period flag.
    let out = app.cli(&["hsm-conf-seed", "--period", "1"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Seed period configured successfully.\n")
    );
    let out = app.cli(&["hsm-conf-seed", "--period=0"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Seed period configured successfully.\n")
    );

    let out = app.cli(&["hsm-conf-list"]).await;
    assert!(
        out.stdout.contains("HSM1")
            && out.stdout.contains("CKU_USER")
            && !out.stdout.contains("myPassword")
    );

    // The running server sees what the console did.
    let c = app.config("HSM1").await;
    assert_eq!(
        (c.partition_name.as_str(), c.slot, c.password_set),
        ("Partition1", Some(1), true)
    );

    let out = app.cli(&["hsm-conf-delete", "--name=HSM1"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Configuration HSM1 deleted successfully.\n")
    );
    assert!(app
        .engine
        .partitions()
        .list_configs()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_password_can_come_from_standard_input() {
    let app = TestApp::spawn().await;
    app.cli(&["hsm-conf-new", "--name=HSM1"]).await;
    let out = app
        .cli_with_stdin(
            &["hsm-conf-edit", "--name=HSM1", "--partitionPwd=-"],
            "from-stdin\n",
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(app.config("HSM1").await.password_set);
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.cli(&["hsm-conf-new", "--name=HSM1"]).await;
    app.cli(&[
        "hsm-conf-edit",
        "--name=HSM1",
        "--slot=1",
        "--partitionName=P1",
    ])
    .await;
    let before = app.config("HSM1").await;

    let cases: &[(&[&str], &str)] = &[
        (
            &["hsm-conf-show", "--name=NOPE"],
            "configuration NOPE not found",
        ),
        (
            &["hsm-conf-edit", "--name=NOPE", "--slot=2"],
            "configuration NOPE not found",
        ),
        (&["hsm-seed", "--name=NOPE"], "configuration NOPE not found"),
        (
            &["hsm-conf-delete", "--name=NOPE"],
            "configuration NOPE not found",
        ),
        (
            &["hsm-conf-new", "--name=HSM1"],
            "configuration HSM1 already exists",
        ),
        (&["hsm-conf-new", "--name=HSM 2"], "is not 1 to 64 letters"),
        (&["hsm-conf-new", "--name=HSM/2"], "is not 1 to 64 letters"),
        (
            &[
                "hsm-conf-edit",
                "--name=HSM1",
                "--slot=one",
                "--partitionName=Changed",
            ],
            "slot `one` is not a number",
        ),
        (
            &[
                "hsm-conf-edit",
                "--name=HSM1",
                "--userType=CKU_ADMIN",
                "--slot=7",
            ],
            "user type must be CKU_USER, CKU_SO or CKU_CRYPTO_USER",
        ),
        (&["hsm-conf-edit", "--name=HSM1"], "nothing to change"),
        (&["hsm-conf-seed", "--period", "10"], "period must be 0"),
        (&["hsm-conf-seed", "--period=-1"], "period must be 0"),
        (&["hsm-seed", "--name=HSM1"], "not complete"),
        (
            &["token-new", "--name=x", "--scope=admin"],
            "scope `admin` is not seed, read or entropy",
        ),
    ];
    for (args, message) in cases {
        let out = app.cli(args).await;
        assert_ne!(out.code, 0, "{args:?} must fail");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?} printed {}", out.stdout);
    }
    assert_eq!(app.config("HSM1").await, before, "nothing changed");
    assert_eq!(
        app.engine.partitions().list_configs().await.unwrap().len(),
        1
    );
    assert_eq!(
        app.engine.schedule().seed_period().await.unwrap().minutes(),
        0
    );
    assert!(app.engine.auth().list_tokens().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_period_set_at_the_console_reaches_the_running_server_within_a_second() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let out = app.cli(&["hsm-conf-seed", "--period", "3"]).await;
    assert_eq!(out.code, 0);
    let started = Instant::now();
    loop {
        let r = app.get("/api/2.0/status").await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: serde_json::Value = r.json().await.unwrap();
        if body["schedule"]["periodMinutes"] == 3 && !body["schedule"]["nextRunAt"].is_null() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not seen within a second: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn token_new_prints_the_token_once_and_it_works() {
    let app = TestApp::spawn().await;
    let out = app
        .cli(&["token-new", "--name=ceremony", "--scope=read"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let token = out.stdout.trim();
    assert!(token.starts_with("hss_") && token.len() == 68, "{token}");
    assert!(out.stderr.contains("shown only this once"));
    let r = app.get_with_token("/api/2.0/hsms", token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let out = app.cli(&["token-list"]).await;
    assert!(out.stdout.contains("ceremony") && !out.stdout.contains(token));
    let out = app.cli(&["token-revoke", "--name=ceremony"]).await;
    assert_eq!(out.code, 0);
    // Revoked at the console: the running server refuses it within a second.
    let started = Instant::now();
    loop {
        let r = app.get_with_token("/api/2.0/hsms", token).await;
        if r.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still accepted after a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Run from the wrong directory, a console command refuses, says where it
/// looked and how to point it elsewhere, and creates nothing.
#[tokio::test]
async fn a_console_command_refuses_a_data_directory_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"));
        c.args(args)
            .current_dir(dir.path())
            .env_remove("HSMSEED_CONFIG")
            .env_remove("HSMSEED_DATA_DIR")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // The default ./data, relative to where it runs.
    let out = run(&["hsm-conf-list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let looked = dir.path().join("data");
    assert!(
        err.contains(&format!("no data directory at {}", looked.display())),
        "{err}"
    );
    assert!(
        err.contains("--data-dir=DIR, HSMSEED_DATA_DIR=DIR"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!looked.exists(), "nothing was created");
    // The same from the environment and the flag; the shell too.
    let elsewhere = dir.path().join("elsewhere");
    let e = elsewhere.to_str().unwrap();
    for out in [
        run(&["user-list"], &[("HSMSEED_DATA_DIR", e)]),
        run(&["hsm-conf-list", &format!("--data-dir={e}")], &[]),
        run(&["shell", "--data-dir", e], &[]),
    ] {
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(e));
    }
    assert!(!elsewhere.exists());
}

/// `--data-dir` points a console command at an existing appliance.
#[tokio::test]
async fn the_data_dir_flag_finds_the_appliance() {
    let app = TestApp::spawn().await;
    app.engine
        .partitions()
        .create_config("HSM7", &engine::audit::Actor::cli())
        .await
        .unwrap();
    let data = app.engine.settings().data_dir.display().to_string();
    // (On PostgreSQL the database is named apart from the directory.)
    let database: Vec<(String, String)> = app
        .cli_env()
        .into_iter()
        .filter(|(k, _)| k == "HSMSEED_DATABASE_URL")
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .args(["hsm-conf-list", &format!("--data-dir={data}")])
        .env_remove("HSMSEED_CONFIG")
        .env_remove("HSMSEED_DATA_DIR")
        .envs(database)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("HSM7"));
}

/// The console on a data directory with no administrator says so and how
/// to make one, instead of "Login incorrect".
#[tokio::test]
async fn the_shell_without_an_administrator_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A data directory as a console command leaves it: set up, no user.
    engine::Engine::open(engine::config::Settings::for_data_dir(&data))
        .await
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .args(["shell", &format!("--data-dir={}", data.display())])
        .env_remove("HSMSEED_CONFIG")
        .env_remove("HSMSEED_DATA_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no administrator exists yet"), "{err}");
    assert!(err.contains("hsmseed user-add --name=admin"), "{err}");
    assert!(!err.contains("Login incorrect"), "{err}");
}

/// `alert-conf-edit` checks every flag before it saves; `alert-conf-show`
/// shows what is set; `alert-test` says where it sent and fails when a
/// channel did not get it.
#[tokio::test]
async fn the_alert_commands_check_save_show_and_test() {
    let app = TestApp::spawn().await;
    let out = app.cli(&["alert-test"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("nothing to send a test alert to"),
        "{}",
        out.stderr
    );

    for (args, why) in [
        (vec!["alert-conf-edit"], "nothing to change"),
        (
            vec!["alert-conf-edit", "--webhookUrl=http://127.0.0.1:9/"],
            "must start with https://",
        ),
        (
            vec!["alert-conf-edit", "--webhookCa=/nonexistent/ca.pem"],
            "--webhookCa /nonexistent/ca.pem",
        ),
        (
            vec!["alert-conf-edit", "--syslog=udp:127.0.0.1"],
            "the port is missing",
        ),
    ] {
        let out = app.cli(&args).await;
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
    let out = app.cli(&["alert-conf-show"]).await;
    assert_eq!(
        out.stdout,
        "Log        : always (one line a change of state)\nWebhook    : none\nSyslog     : off\n"
    );

    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let target = format!(
        "--syslog=udp:127.0.0.1:{}",
        udp.local_addr().unwrap().port()
    );
    let out = app.cli(&["alert-conf-edit", &target]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("Alert settings saved.\n"));
    let out = app.cli(&["alert-test"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("syslog  : delivered: sent to udp:127.0.0.1:"),
        "{}",
        out.stdout
    );
    let mut buf = [0u8; 2048];
    let n = udp.recv(&mut buf).unwrap();
    assert!(std::str::from_utf8(&buf[..n])
        .unwrap()
        .ends_with("test alert sent by cli"));

    // A webhook nobody listens on: the test says so and fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "--webhookUrl=https://127.0.0.1:{}/hook",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    assert_eq!(app.cli(&["alert-conf-edit", &url]).await.code, 0);
    let out = app.cli(&["alert-test"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("webhook : FAILED: cannot connect"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("the test alert did not reach 1 of 2 channels"),
        "{}",
        out.stderr
    );
}

/// `hsm-conf-list` keeps its columns under their headers, whatever the
/// width of a name or a slot; times are written as on the web.
#[tokio::test]
async fn hsm_conf_list_columns_line_up_with_long_values() {
    let app = TestApp::spawn().await;
    for (name, slot) in [
        ("A", "1"),
        ("a-much-longer-configuration-name", "123456789"),
    ] {
        assert_eq!(
            app.cli(&["hsm-conf-new", &format!("--name={name}")])
                .await
                .code,
            0
        );
        let out = app
            .cli(&[
                "hsm-conf-edit",
                &format!("--name={name}"),
                &format!("--slot={slot}"),
            ])
            .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let out = app.cli(&["hsm-conf-list"]).await;
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    let at = |l: &str, word: &str| l.find(word).unwrap();
    let user_type = at(lines[0], "User type");
    for l in &lines[1..] {
        assert_eq!(at(l, "CKU_USER"), user_type, "{}", out.stdout);
    }
    let out = app.cli(&["user-list"]).await;
    assert!(out.stdout.contains(" UTC"), "{}", out.stdout);
}

/// Each command's help says what its flags mean for that command.
#[tokio::test]
async fn every_commands_help_speaks_of_its_own_thing() {
    let app = TestApp::spawn().await;
    for (command, says) in [
        ("user-add", "Name of the administrator"),
        ("user-passwd", "Name of the administrator"),
        ("user-remove", "Name of the administrator"),
        ("token-new", "Name of the new API token"),
        ("token-revoke", "Name of the API token"),
        ("hsm-conf-new", "Name of the configuration"),
        ("alert-conf-edit", "The webhook every alert is POSTed to"),
    ] {
        let out = app.cli(&[command, "--help"]).await;
        assert_eq!(out.code, 0, "{command}");
        assert!(
            out.stdout.contains(says),
            "{command} --help:\n{}",
            out.stdout
        );
        if command.starts_with("user-") || command.starts_with("token-") {
            assert!(
                !out.stdout.contains("Name of the configuration"),
                "{command} --help:\n{}",
                out.stdout
            );
        }
    }
}

/// A configuration names its PKCS#11 module at the console (kryoptic beside
/// SoftHSM2); the console and the server seed it through that module.
#[tokio::test]
async fn a_configuration_names_its_module_at_the_console() {
    use engine::hsm::testing::KryopticFixture;
    fn with_kryoptic(s: &mut engine::config::Settings) {
        let k = KryopticFixture::shared();
        s.pkcs11_modules
            .insert("kry".into(), engine::config::ModuleSpec::path(&k.module));
    }
    let app = TestApp::spawn_with(crate::helpers::Options {
        hsm: true,
        settings: Some(with_kryoptic),
        ..Default::default()
    })
    .await;
    let k = &KryopticFixture::shared().token;
    app.cli(&["hsm-conf-new", "--name=KRY"]).await;
    let slot = format!("--slot={}", k.slot);
    let label = format!("--partitionName={}", k.label);

    // A name the settings do not have: refused, nothing changed.
    let out = app
        .cli(&["hsm-conf-edit", "--name=KRY", "--module=nope", &slot])
        .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("no PKCS#11 module named `nope`: the settings name kry"),
        "{}",
        out.stderr
    );
    let config = app.config("KRY").await;
    assert_eq!((config.slot, config.module), (None, None));

    let out = app
        .cli_with_stdin(
            &[
                "hsm-conf-edit",
                "--name=KRY",
                "--module=kry",
                &slot,
                &label,
                "--partitionPwd=-",
            ],
            &format!("{}\n", k.user_pin),
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = app.cli(&["hsm-conf-show", "--name=KRY"]).await;
    assert!(out.stdout.contains("\nmodule=kry\n"), "{}", out.stdout);
    let out = app.cli(&["hsm-conf-list"]).await;
    assert!(
        out.stdout.contains(&format!("{} (kry)", k.slot)),
        "{}",
        out.stdout
    );

    let out = app.cli(&["hsm-seed", "--name=KRY"]).await;
    assert!(
        out.stdout
            .contains(&format!("(slot {}, token {},", k.slot, k.serial)),
        "{}{}",
        out.stdout,
        out.stderr
    );
    // The server (another process) seeds it through kryoptic too.
    let token = app.token("seeder", engine::auth::tokens::Scope::Seed).await;
    let r = app.api_reseed(&token, "KRY").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["tokenSerial"], k.serial.as_str());
}

/// `hsm-conf-import`: many configurations from CSV at once, passwords from
/// standard input; a serial alone finds its slot; a file with any error
/// imports nothing and names every bad line (never a password).
#[tokio::test]
async fn hsm_conf_import_is_all_or_nothing_with_a_line_numbered_report() {
    let app = TestApp::spawn_with(crate::helpers::Options::with_hsm()).await;
    let f = crate::helpers::fixture();
    let (t2, t3) = (f.token(2), f.token(3));
    app.cli(&["hsm-conf-new", "--name=OLD"]).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("configs.csv");

    // Every kind of mistake, once each; the password file too.
    std::fs::write(
        &csv,
        format!(
            "name,partition,slot,token_serial,user_type,module\n\
             GOOD,p,{slot},,CKU_USER,\n\
             OLD,p,{slot},,,\n\
             bad name!,p,{slot},,,\n\
             TYPE,p,{slot},,CKU_ADMIN,\n\
             MOD,p,{slot},,,nope\n\
             NOSLOT,p,,,,\n\
             SO,p,{slot},,CKU_SO,\n\
             GOOD,p,{slot},,,\n\
             SERIAL,p,,not-a-serial-here,,\n\
             NOPWD,p,{slot},,,\n",
            slot = t2.slot
        ),
    )
    .unwrap();
    let secret = "s3cret-never-shown";
    let pwds: String = [
        "GOOD", "OLD", "TYPE", "MOD", "NOSLOT", "SO", "SERIAL", "STRAY",
    ]
    .iter()
    .map(|n| format!("{n},{secret}\n"))
    .collect();
    let pwds = format!("name,password\n{pwds}");
    let file = format!("--file={}", csv.display());
    let out = app
        .cli_with_stdin(&["hsm-conf-import", &file, "--passwords=-"], &pwds)
        .await;
    assert_ne!(out.code, 0);
    let said = &out.stderr;
    for line in [
        "nothing imported: 10 errors",
        "configurations line 3: configuration OLD exists already",
        "configurations line 4: configuration name",
        "configurations line 5: user type must be CKU_USER, CKU_SO or CKU_CRYPTO_USER",
        "configurations line 6: no PKCS#11 module named `nope`",
        "configurations line 7: give a slot, a token_serial or both",
        "configurations line 8: CKU_SO needs --confirmSO",
        "configurations line 9: configuration GOOD is also on line 2",
        "configurations line 10: no slot of module default holds a token with serial \
         not-a-serial-here",
        "configurations line 11: no password for NOPWD in the passwords",
        "passwords line 9: its name matches no configuration in the configurations",
    ] {
        assert!(said.contains(line), "{line:?} not in:\n{said}");
    }
    assert!(!said.contains(secret) && !out.stdout.contains(secret));
    // Its columns swapped: the names are passwords, never shown either.
    let swapped = format!("name,password\n{secret},GOOD\n{secret},GOOD\n");
    let out = app
        .cli_with_stdin(&["hsm-conf-import", &file, "--passwords=-"], &swapped)
        .await;
    assert!(
        out.stderr
            .contains("passwords line 3: a second password for the name on line 2")
            && out
                .stderr
                .contains("passwords line 2: its name matches no configuration"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret) && !out.stdout.contains(secret));
    let names: Vec<String> = app
        .engine
        .partitions()
        .list_configs()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["OLD"], "nothing was imported");

    // A serial no slot holds: found only when the module is asked.
    std::fs::write(&csv, "name,slot,token_serial\nSERIAL,,no-such-serial\n").unwrap();
    let out = app
        .cli_with_stdin(
            &["hsm-conf-import", &file, "--passwords=-"],
            &format!("name,password\nSERIAL,{secret}\n"),
        )
        .await;
    assert!(
        out.stderr.contains(
            "configurations line 2: no slot of module default holds a token with serial \
             no-such-serial"
        ),
        "{}",
        out.stderr
    );

    // A good file: columns in any order, quoting, a serial alone finds
    // its slot, passwords from a file.
    std::fs::write(
        &csv,
        format!(
            "token_serial,name,slot,partition\n\
             ,A,{},\"Partition, one\"\n\
             {},B,,p2\n",
            t2.slot, t3.serial
        ),
    )
    .unwrap();
    let pwd_file = dir.path().join("passwords.csv");
    std::fs::write(
        &pwd_file,
        format!("name,password\nA,{}\nB,\"{}\"\n", t2.user_pin, t3.user_pin),
    )
    .unwrap();
    let out = app
        .cli(&[
            "hsm-conf-import",
            &file,
            &format!("--passwords={}", pwd_file.display()),
        ])
        .await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "2 configurations imported successfully.\n"),
        "{}",
        out.stderr
    );
    let a = app.config("A").await;
    assert_eq!(
        (a.partition_name.as_str(), a.slot, a.token_serial),
        ("Partition, one", Some(t2.slot), None)
    );
    let b = app.config("B").await;
    assert_eq!(
        (b.slot, b.token_serial.as_deref()),
        (Some(t3.slot), Some(t3.serial.as_str()))
    );
    for name in ["A", "B"] {
        let out = app.cli(&["hsm-seed", &format!("--name={name}")]).await;
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
    }
    let detail: String = engine::store::db::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'hsm.import' AND outcome = 'ok'",
    )
    .fetch_one(app.engine.store().pool())
    .await
    .unwrap();
    assert_eq!(detail, "2 configurations created: A, B");

    // In the console, standard input holds the commands.
    let out = app
        .cli_with_stdin(
            &["shell"],
            &format!(
                "admin\n{}\nhsm-conf-import {file} --passwords=-\nexit\n",
                crate::helpers::ADMIN_PASSWORD
            ),
        )
        .await;
    assert!(
        out.stdout.contains("give the passwords as a file")
            || out.stderr.contains("give the passwords as a file"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

/// A console command (another process) given another master key than the
/// one the database's secrets are sealed with refuses to start, and says
/// why; nothing is changed.
#[tokio::test]
async fn a_process_with_another_master_key_refuses_to_start() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.key");
    std::fs::write(&other, format!("{}\n", "c3".repeat(32))).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .args(["hsm-conf-new", "--name=ELSEWHERE"])
        .env_remove("HSMSEED_CONFIG")
        .envs(app.cli_env())
        .env("HSMSEED_MASTER_KEY_FILE", &other)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("is not the key this database's secrets are sealed with")
            && stderr.contains("other.key"),
        "{stderr}"
    );
    assert!(app
        .engine
        .partitions()
        .get_config("ELSEWHERE")
        .await
        .is_err());
}

/// Each history and audit row names the appliance that acted (settings
/// `appliance_id`): the server and a console on another appliance id
/// reseed the same configuration; the API, the CSV and the pages say which.
#[tokio::test]
async fn each_row_names_the_appliance_that_acted() {
    use engine::hsm::UserType;
    let app = TestApp::spawn_with(crate::helpers::Options::with_hsm()).await;
    app.configure("HSM1", crate::helpers::fixture().token(2), UserType::User)
        .await;
    let token = app.token("seeder", engine::auth::tokens::Scope::Seed).await;
    assert_eq!(
        app.api_reseed(&token, "HSM1").await.status(),
        StatusCode::OK
    );
    let console = |id: &'static str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
            .args(["hsm-seed", "--name=HSM1"])
            .env_remove("HSMSEED_CONFIG")
            .envs(app.cli_env())
            .env("HSMSEED_APPLIANCE_ID", id)
            .output()
    };
    let out = console("console-1").await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = console("not an id!").await.unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("appliance_id"));

    let mut by: Vec<(String, String)> = app
        .history("HSM1")
        .await
        .into_iter()
        .map(|r| {
            (
                r.trigger.as_str().to_string(),
                r.appliance.unwrap_or_default(),
            )
        })
        .collect();
    by.sort();
    assert_eq!(
        by,
        [
            ("api".to_string(), "test".to_string()),
            ("cli".to_string(), "console-1".to_string())
        ]
    );
    let read = app.token("reader", engine::auth::tokens::Scope::Read).await;
    let api: serde_json::Value = app
        .get_with_token("/api/2.0/history?config=HSM1", &read)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        api["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["appliance"] == "console-1"),
        "{api}"
    );
    let audited: Vec<Option<String>> = engine::store::db::query_scalar(
        "SELECT appliance FROM audit_log WHERE action = 'hsm.reseed' ORDER BY id",
    )
    .fetch_all(app.engine.store().pool())
    .await
    .unwrap();
    assert_eq!(
        audited,
        [Some("test".to_string()), Some("console-1".to_string())]
    );

    app.login_as_admin().await;
    let page = crate::helpers::html(app.get("/history").await).await;
    assert!(
        page.contains(r#"data-testid="appliance" class="muted">console-1<"#),
        "{page}"
    );
    let page = crate::helpers::html(app.get("/audit").await).await;
    assert!(
        page.contains(r#"data-testid="appliance" class="muted">test<"#),
        "{page}"
    );
    let csv = app.get("/history.csv").await.text().await.unwrap();
    assert!(csv.lines().any(|l| l.ends_with(",console-1")), "{csv}");
}
