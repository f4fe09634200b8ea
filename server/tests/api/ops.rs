//! Operations and accountability: the audit log from every door, users,
//! the `qa-cli>` console, and no secret in any log, audit row or metric.

use std::process::Stdio;
use std::time::Duration;

use engine::audit::AuditFilter;
use engine::auth::tokens::Scope;
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use crate::helpers::{fixture, Options, TestApp, ADMIN_PASSWORD};

async fn audit(app: &TestApp) -> Vec<engine::audit::AuditRow> {
    app.engine
        .audit_log()
        .page(&AuditFilter::default(), 1, 200)
        .await
        .unwrap()
        .rows
}

fn has(
    rows: &[engine::audit::AuditRow],
    actor: &str,
    action: &str,
    target: &str,
    outcome: &str,
) -> bool {
    rows.iter().any(|r| {
        r.actor == actor && r.action == action && r.target == target && r.outcome == outcome
    })
}

#[tokio::test]
async fn every_door_leaves_audit_rows_with_its_actor() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let t = f.token(1);

    // Web: a failed and a good sign-in, then changes through the pages.
    app.login("admin", "wrong password here").await;
    app.login_as_admin().await;
    let pin = t.user_pin.clone();
    let slot = t.slot.to_string();
    let r = app
        .server_fn(
            "create_hsm",
            &[
                ("name", "WEB1"),
                ("partition_pwd", &pin),
                ("slot", &slot),
                ("user_type", "CKU_USER"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    app.server_fn("reseed_hsm", &[("name", "WEB1")]).await;
    app.server_fn("set_period", &[("period", "2")]).await;
    app.server_fn("create_token", &[("name", "robot"), ("scope", "seed")])
        .await;
    app.server_fn(
        "add_user",
        &[
            ("name", "auditor"),
            ("password", "auditor password 1"),
            ("confirm", "auditor password 1"),
        ],
    )
    .await;
    app.server_fn("remove_user", &[("name", "auditor"), ("confirm", "yes")])
        .await;

    // REST with a token.
    let secret = app.token("ceremony", Scope::Seed).await;
    assert_eq!(
        app.api_reseed(&secret, "WEB1").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api_reseed(&secret, "NOPE").await.status(),
        StatusCode::NOT_FOUND
    );

    // The console.
    let out = app.cli(&["hsm-conf-new", "--name=CLI1"]).await;
    assert_eq!(out.code, 0);
    app.post_form("/logout", &[]).await;

    let rows = audit(&app).await;
    let web = |action: &str, target: &str| has(&rows, "admin", action, target, "ok");
    assert!(
        has(&rows, "admin", "login", "admin", "error"),
        "failed sign-in"
    );
    assert!(web("login", "admin"));
    assert!(web("hsm.create", "WEB1"));
    assert!(web("hsm.reseed", "WEB1"));
    assert!(web("schedule.period", "scheduler"));
    assert!(web("token.create", "robot"));
    assert!(web("user.add", "auditor"));
    assert!(web("user.remove", "auditor"));
    assert!(web("logout", "admin"));
    assert!(
        has(&rows, "ceremony", "hsm.reseed", "WEB1", "ok"),
        "the token reseed: {rows:#?}"
    );
    assert!(
        has(&rows, "ceremony", "hsm.reseed", "NOPE", "error"),
        "the refused one too"
    );
    assert!(rows
        .iter()
        .any(|r| r.actor == "ceremony" && r.actor_kind == "token"));
    assert!(has(&rows, "cli", "hsm.create", "CLI1", "ok"));
    let web_row = rows
        .iter()
        .find(|r| r.action == "hsm.create" && r.target == "WEB1")
        .unwrap();
    assert_eq!(web_row.address.as_deref(), Some("127.0.0.1"));
    let period = rows.iter().find(|r| r.action == "schedule.period").unwrap();
    assert_eq!(period.detail, "0 -> 2 min");

    // No secret in any row.
    let all = serde_json::to_string(&rows).unwrap();
    for secret in [
        pin.as_str(),
        secret.as_str(),
        ADMIN_PASSWORD,
        "auditor password 1",
        "wrong password here",
    ] {
        assert!(!all.contains(secret), "an audit row holds a secret");
    }

    // The Audit page shows them, and filters.
    app.login_as_admin().await;
    let page = app.get("/audit?action=hsm.").await.text().await.unwrap();
    assert!(
        page.contains("hsm.create") && page.contains("WEB1") && !page.contains(">token.create<")
    );
    let out = app.cli(&["audit-show", "--limit", "5"]).await;
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.lines().count(),
        6,
        "a header and five rows: {}",
        out.stdout
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app
        .server_fn("remove_user", &[("name", "admin"), ("confirm", "yes")])
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("the last administrator cannot be removed"));
    let out = app.cli(&["user-remove", "--name=admin"]).await;
    assert_ne!(out.code, 0);
    assert!(out
        .stderr
        .contains("the last administrator cannot be removed"));
    assert_eq!(app.engine.auth().list_users().await.unwrap().len(), 1);

    // With a second one, it can go; passwords come from stdin, never flags.
    let out = app
        .cli_with_stdin(&["user-add", "--name=second"], "second password 1\n")
        .await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "User second added successfully.\n"),
        "{}",
        out.stderr
    );
    let out = app
        .cli_with_stdin(&["user-add", "--name=third"], "short\n")
        .await;
    assert!(out.stderr.contains("at least 12 characters"));
    let out = app
        .cli_with_stdin(&["user-passwd", "--name=second"], "second password 2\n")
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (other, _) = app.new_client();
    let r = other
        .post(app.at("/login"))
        .header("origin", &app.url)
        .form(&[("username", "second"), ("password", "second password 2")])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::helpers::location(&r), "/");
    let out = app.cli(&["user-remove", "--name=admin"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The removed admin's session ends at its next request.
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    app.login_as_admin().await;
    let r = app
        .server_fn(
            "change_password",
            &[
                ("current", "not it at all"),
                ("password", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("the current password is not right"));
    let r = app
        .server_fn(
            "change_password",
            &[
                ("current", ADMIN_PASSWORD),
                ("password", "a brand new password"),
                ("confirm", "another one entirely"),
            ],
        )
        .await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The two passwords differ."));
    let r = app
        .server_fn(
            "change_password",
            &[
                ("current", ADMIN_PASSWORD),
                ("password", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (other, _) = app.new_client();
    let login = |pw: &'static str| {
        other
            .post(app.at("/login"))
            .header("origin", &app.url)
            .form(&[("username", "admin"), ("password", pw)])
            .send()
    };
    assert_eq!(
        crate::helpers::location(&login(ADMIN_PASSWORD).await.unwrap()),
        "/login?m=invalid&user=admin"
    );
    assert_eq!(
        crate::helpers::location(&login("a brand new password").await.unwrap()),
        "/"
    );
}

#[tokio::test]
async fn the_console_runs_the_guides_whole_sequence() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    let t = f.token(3);
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("server.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=192.168.1.31",
        ])
        .arg("-keyout")
        .arg(dir.path().join("k"))
        .arg("-out")
        .arg(&server)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok);
    let script = format!(
        "admin\n{ADMIN_PASSWORD}\n\
         ntl-hsm-cert-import --hsmCert={server} --hsmIp=192.168.1.31\n\
         ntl-qa-subject --address=192.168.1.21\n\
         ntl-qa-cert-new\n\
         ntl-qa-cert-show\n\
         ntl-qa-cert-export --name=192.168.1.21.pem --dir={dir}\n\
         ntl-verify\n\
         hsm-conf-new --name=HSM1\n\
         hsm-conf-edit --name=HSM1 --partitionName=Partition1 --partitionPwd={pin} --slot={slot} --userType=CKU_USER\n\
         hsm-conf-show --name=HSM1\n\
         hsm-conf-seed --period 1\n\
         hsm-seed --name=HSM1\n\
         no-such-command\n\
         help\n\
         exit\n\
         hsm-conf-new --name=AFTER_EXIT\n",
        server = server.display(),
        dir = dir.path().display(),
        pin = t.user_pin,
        slot = t.slot,
    );
    let out = app.cli_with_stdin(&["shell"], &script).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = [
        "Welcome to hsmseed Appliance CLI",
        "New server added to the list successfully",
        "New QA certificate created successfully for the NTL.",
        "Certificate:",
        "Certificate saved successfully",
        "The following SafeNet Luna Network HSM Slots/Partitions were found:",
        &format!("{}\t{}\t{}", t.slot, t.serial, t.label),
        "New HSM1 configuration created successfully.",
        "Configuration edited successfully.",
        "partitionName=Partition1",
        "partitionPwd=********",
        &format!("slot={}", t.slot),
        "userType=CKU_USER",
        "Seed period configured successfully.",
        "Commands:",
    ];
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut at = 0;
    for e in expected {
        match lines[at..].iter().position(|l| *l == e) {
            Some(i) => at += i + 1,
            None => panic!("`{e}` missing (in order) from:\n{}", out.stdout),
        }
    }
    assert!(out
        .stdout
        .contains("HSM HSM1 reseeded successfully with 256 bits"));
    assert!(
        out.stderr.contains("no-such-command"),
        "unknown commands are refused: {}",
        out.stderr
    );
    assert!(!out.stdout.contains(&t.user_pin));
    assert!(
        app.engine
            .partitions()
            .get_config("AFTER_EXIT")
            .await
            .is_err(),
        "nothing runs after exit"
    );
    assert!(dir.path().join("192.168.1.21.pem").is_file());
    // Changes made at the console are the signed-in user's.
    let rows = audit(&app).await;
    assert!(has(&rows, "admin", "hsm.create", "HSM1", "ok"));
    assert!(has(&rows, "admin", "login", "admin", "ok"));
}

#[tokio::test]
async fn wrong_console_logins_are_throttled_apart_from_the_web() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let out = app
            .cli_with_stdin(&["shell"], "admin\nnot the password\n")
            .await;
        assert_ne!(out.code, 0);
        assert!(out.stderr.contains("Login incorrect"), "{}", out.stderr);
    }
    let out = app
        .cli_with_stdin(&["shell"], &format!("admin\n{ADMIN_PASSWORD}\n"))
        .await;
    assert!(
        out.stderr.contains("Too many failed attempts"),
        "{}",
        out.stderr
    );
    // The web has its own buckets: the console's failures do not lock it
    // (nor the web's the console: engine's the_console_has_its_own_bucket).
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(crate::helpers::location(&r), "/");
}

/// The real binary with debug logs, driven over HTTP and the console; then
/// its logs, the audit log and the metrics are searched for every secret.
#[tokio::test]
async fn no_secret_reaches_a_log_line_an_audit_row_or_a_metric() {
    let f = fixture();
    let mut spy = f.exclusive().await;
    let data = tempfile::tempdir().unwrap();
    let t = f.token(0);
    let admin_pw = "no-secret admin password";
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env("HSMSEED_DATA_DIR", data.path())
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .env("HSMSEED_PKCS11_MODULE", f.module_to_load())
        .env("HSMSEED_ADMIN_PASSWORD", admin_pw)
        .env("HSMSEED_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(u) = line.strip_prefix("hsmseed 0.1.0 serving ") {
            break u.to_string();
        }
    };
    // The password given in the environment is not left there.
    let environ = std::fs::read(format!("/proc/{}/environ", child.id().unwrap())).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !environ.contains(admin_pw),
        "the admin password is still in /proc/PID/environ"
    );
    assert!(environ.contains("HSMSEED_DATA_DIR="), "{environ}");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(format!("{url}{path}"))
            .header("origin", &url)
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    post(
        "/login",
        vec![
            ("username", "admin".into()),
            ("password", "a wrong guess here".into()),
        ],
    )
    .await
    .unwrap();
    post(
        "/login",
        vec![("username", "admin".into()), ("password", admin_pw.into())],
    )
    .await
    .unwrap();
    let r = post(
        "/sfn/create_hsm",
        vec![
            ("name", "HSM1".into()),
            ("partition_pwd", t.user_pin.clone()),
            ("slot", t.slot.to_string()),
            ("user_type", "CKU_USER".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(
        "/sfn/create_token",
        vec![("name", "robot".into()), ("scope", "seed".into())],
    )
    .await
    .unwrap();
    let (_, token): (String, String) = r.json().await.unwrap();
    spy.restart();
    let r = client
        .post(format!("{url}/api/2.0/hsmseed?name=HSM1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("hsmseed_seeds_total"), "{metrics}");
    let audit_rows = client
        .get(format!("{url}/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut secrets = vec![
        admin_pw.to_string(),
        "a wrong guess here".into(),
        t.user_pin.clone(),
        token.clone(),
    ];
    if f.spy.is_some() {
        let seeds = spy.calls_of("C_SeedRandom");
        assert_eq!(seeds.len(), 1);
        let seed = &seeds[0].data;
        assert_eq!(seed.len(), 32);
        secrets.push(hex::encode(seed));
        secrets.push(hex::encode_upper(seed));
        secrets.push(
            seed.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        );
    }
    drop(spy);
    let _ = child.start_kill();
    let _ = child.wait().await;
    let logs = logs.await.unwrap();
    assert!(logs.contains("reseeded"), "debug logs were captured");
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a log line holds a secret");
        assert!(!metrics.contains(s.as_str()), "a metric holds a secret");
        assert!(
            !audit_rows.contains(s.as_str()),
            "the audit page holds a secret"
        );
    }
}

/// A strict reading of the Prometheus text format: `# HELP`/`# TYPE` lines,
/// then samples `name{label="value",...} number` of declared metrics.
type Sample = (String, Vec<(String, String)>, f64);

fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut declared = std::collections::HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            declared.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line `{line}`"
        );
        let (head, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in `{line}`"));
        let (name, labels) = match head.split_once('{') {
            None => (head.to_string(), Vec::new()),
            Some((n, l)) => {
                let l = l.strip_suffix('}').expect("labels close");
                let labels = l
                    .split("\",")
                    .map(|kv| {
                        let (k, v) = kv.split_once("=\"").expect("label=\"value\"");
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (n.to_string(), labels)
            }
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|b| declared.get(*b).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(&name)
            .to_string();
        assert!(declared.contains_key(&base), "{name} is not declared");
        samples.push((name, labels, value));
    }
    samples
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_read_tokens_and_sessions() {
    let f = fixture();
    let _g = f.shared_access().await;
    let app = TestApp::spawn_with(Options::with_hsm()).await;
    app.configure("HSM1", f.token(2), engine::hsm::UserType::User)
        .await;
    let seed = app.token("seeder", Scope::Seed).await;
    let read = app.token("prometheus", Scope::Read).await;
    app.api_reseed(&seed, "HSM1").await;
    app.api_reseed(&seed, "HSM1").await;

    let r = app.client.get(app.at("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.get_with_token("/metrics", &seed).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.get_with_token("/metrics", &read).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(crate::helpers::header(&r, "content-type").starts_with("text/plain; version=0.0.4"));
    let samples = parse_prometheus(&r.text().await.unwrap());
    let get = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
    };
    assert_eq!(
        get(
            "hsmseed_seeds_total",
            &[("hsm", "HSM1"), ("outcome", "ok"), ("trigger", "api")]
        ),
        Some(2.0)
    );
    assert_eq!(get("hsmseed_seed_duration_seconds_count", &[]), Some(2.0));
    assert_eq!(
        get("hsmseed_seed_duration_seconds_bucket", &[("le", "+Inf")]),
        Some(2.0)
    );
    assert_eq!(get("hsmseed_entropy_source_up", &[]), Some(1.0));
    assert_eq!(
        get("hsmseed_scheduler_next_run_timestamp_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(
        get("hsmseed_build_info", &[("version", "0.1.0")]),
        Some(1.0)
    );

    app.login_as_admin().await;
    assert_eq!(
        app.get("/metrics").await.status(),
        StatusCode::OK,
        "a session may read them too"
    );
}

#[tokio::test]
async fn the_piped_console_reads_passwords_from_its_own_input() {
    let app = TestApp::spawn().await;
    let script = format!(
        "admin\n{ADMIN_PASSWORD}\n\
         user-add --name=bob\n\
         bob's long password\n\
         hsm-conf-new --name=H1\n\
         hsm-conf-edit --name=H1 --partitionPwd=- --slot=3\n\
         piped partition secret\n\
         user-list\n\
         exit\n"
    );
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        app.cli_with_stdin(&["shell"], &script),
    )
    .await
    .expect("the console does not hang on a password from the pipe");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("User bob added successfully."),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Configuration edited successfully."));
    assert!(!out.stdout.contains("piped partition secret"));
    assert!(app.config("H1").await.password_set);
    app.engine
        .auth()
        .login(
            "bob",
            &secrecy::SecretString::from("bob's long password"),
            None,
            "test",
        )
        .await
        .unwrap();
}

/// A terminal session driven like a person: wait for a prompt, type.
struct Tty {
    input: tokio::process::ChildStdin,
    output: tokio::process::ChildStdout,
    seen: String,
    transcript: String,
}

impl Tty {
    /// Reads the terminal until `prompt` shows, then types `line`.
    async fn step(&mut self, prompt: &str, line: &str) {
        self.step_after(prompt, Duration::ZERO, line).await;
    }

    /// Like `step`, but waits `pause` after the prompt before typing, as a
    /// person would: a password prompt is printed just before echo is
    /// turned off, and what is typed within those microseconds is echoed
    /// (on a busy machine, a program typing at once can land there).
    async fn step_after(&mut self, prompt: &str, pause: Duration, line: &str) {
        use tokio::io::AsyncWriteExt;
        let mut buf = [0u8; 4096];
        while !self.seen.contains(prompt) {
            let n = tokio::time::timeout(Duration::from_secs(20), self.output.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no `{prompt}` in:\n{}", self.seen))
                .unwrap();
            assert!(n > 0, "the console ended before `{prompt}`:\n{}", self.seen);
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        self.transcript.push_str(&self.seen);
        self.seen.clear();
        tokio::time::sleep(pause).await;
        self.input
            .write_all(format!("{line}\r").as_bytes())
            .await
            .unwrap();
    }
}

/// The console under a real terminal (a pty from util-linux `script`):
/// a partition password typed at `--partitionPwd=-` is not echoed.
#[tokio::test]
async fn the_console_asks_for_a_partition_password_without_echo() {
    let app = TestApp::spawn().await;
    let cmd = format!("{} shell", env!("CARGO_BIN_EXE_hsmseed"));
    let mut child = tokio::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .envs(app.cli_env())
        .env_remove("HSMSEED_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut tty = Tty {
        input: child.stdin.take().unwrap(),
        output: child.stdout.take().unwrap(),
        seen: String::new(),
        transcript: String::new(),
    };
    tty.step("qa login: ", "admin").await;
    tty.step_after("Password: ", Duration::from_millis(300), ADMIN_PASSWORD)
        .await;
    tty.step("qa-cli> ", "hsm-conf-new --name=TTY").await;
    tty.step("qa-cli> ", "hsm-conf-edit --name=TTY --partitionPwd=-")
        .await;
    tty.step_after(
        "Partition password: ",
        Duration::from_millis(300),
        "typed-partition-secret",
    )
    .await;
    tty.step("qa-cli> ", "exit").await;
    let mut rest = String::new();
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        tty.output.read_to_string(&mut rest),
    )
    .await;
    let transcript = format!("{}{rest}", tty.transcript);
    assert!(
        transcript.contains("Configuration edited successfully."),
        "{transcript}"
    );
    assert!(
        !transcript.contains("typed-partition-secret"),
        "{transcript}"
    );
    assert!(app.config("TTY").await.password_set);
}

/// The default log, as `serve` writes it into a file or a journal: no
/// colour codes, no line per request, no tower-sessions warning for the
/// cookie of a session that ended; the first-start credentials are the last
/// lines of standard output.
#[tokio::test]
async fn the_default_log_is_plain_and_quiet_and_the_first_password_comes_last() {
    let data = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env("HSMSEED_DATA_DIR", data.path())
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .env_remove("HSMSEED_LOG")
        .env_remove("HSMSEED_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    // Start-up's standard output, up to the credentials' last line.
    let mut out = String::new();
    let mut buf = [0u8; 1024];
    while !out.contains("until the first sign-in; change it under Settings)\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), stdout.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "standard output ended: {out}");
        out.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    let url = out
        .lines()
        .find_map(|l| l.strip_prefix("hsmseed 0.1.0 serving "))
        .unwrap()
        .to_string();
    let password = out
        .lines()
        .find_map(|l| l.split_once("with password: ").map(|(_, p)| p.to_string()))
        .unwrap();
    // Also in a private file (a service's output may be gone), named on
    // standard output, until the first sign-in.
    let file = data.path().join("first-admin-password");
    assert!(
        out.contains(&format!("also kept in {}", file.display())),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{password}\n")
    );

    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{url}/login"))
        .header("origin", &url)
        .form(&[("username", "admin"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !file.exists(),
        "the first sign-in removes the password file"
    );
    let cookie = reqwest::cookie::CookieStore::cookies(&*jar, &url.parse().unwrap())
        .expect("a session cookie");
    for path in ["/", "/hsms", "/settings", "/api/2.0/status"] {
        let r = client.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = client
        .post(format!("{url}/logout"))
        .header("origin", &url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Requests still in flight with the ended session's cookie.
    let stale = reqwest::Client::new();
    for _ in 0..5 {
        stale
            .get(format!("{url}/"))
            .header("cookie", cookie.clone())
            .send()
            .await
            .unwrap();
    }

    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    let _ = child.wait().await;
    let logs = logs.await.unwrap();
    assert_eq!(
        rest, "",
        "nothing follows the credentials on standard output"
    );
    assert!(logs.contains("INFO") && logs.contains("serving"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "no colour codes: {logs:?}");
    assert!(
        !logs.contains("request served"),
        "no line per request: {logs}"
    );
    assert!(!logs.contains("suspicious"), "{logs}");
    assert!(!logs.contains(&password), "the password is not in the log");
}
