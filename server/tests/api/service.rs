//! The systemd service protocol, with a real notify socket: READY once the
//! server answers, WATCHDOG while it runs, STOPPING at SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::net::UnixDatagram;

async fn next_datagram(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), socket.recv(&mut buf))
        .await
        .expect("a notification in time")
        .unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[tokio::test]
async fn a_notify_service_is_told_ready_petted_and_told_stopping() {
    let data = tempfile::tempdir().unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hsmseed"))
        .arg("serve")
        .env("HSMSEED_DATA_DIR", data.path())
        .env("HSMSEED_LISTEN", "127.0.0.1:0")
        .env("HSMSEED_TLS", "off")
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .env_remove("HSMSEED_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();

    let ready = next_datagram(&socket).await;
    let url = ready
        .strip_prefix("READY=1\nSTATUS=serving ")
        .unwrap_or_else(|| panic!("not READY first: {ready:?}"))
        .to_string();
    // Ready means ready: the server answers at once, and said the same URL.
    let r = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let mut printed = None;
    while let Some(line) = stdout.next_line().await.unwrap() {
        if let Some(u) = line.strip_prefix("hsmseed 0.1.0 serving ") {
            printed = Some(u.to_string());
            break;
        }
    }
    assert_eq!(printed.as_deref(), Some(url.as_str()));

    // Petted at half the interval, more than once.
    for _ in 0..2 {
        assert_eq!(next_datagram(&socket).await, "WATCHDOG=1");
    }

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = Vec::new();
    loop {
        let d = next_datagram(&socket).await;
        if d == "STOPPING=1" {
            break;
        }
        rest.push(d);
    }
    assert!(rest.iter().all(|d| d == "WATCHDOG=1"), "{rest:?}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Without a service manager, nothing is sent and nothing fails.
#[test]
fn without_a_notify_socket_nothing_is_sent() {
    // The test process has no NOTIFY_SOCKET (cargo test is not a service).
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        assert!(!server::systemd::notify("READY=1").unwrap());
    }
}
