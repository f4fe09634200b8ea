//! The systemd service protocol (`Type=notify`): `READY=1` once the
//! listener is bound and the database open, `STOPPING=1` at shutdown, and
//! `WATCHDOG=1` while the database answers (when the unit sets
//! `WatchdogSec=`). A datagram to `$NOTIFY_SOCKET`; nothing at all when the
//! variable is unset (not started by systemd).

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends `state` (`KEY=VALUE` lines) to the service manager. Returns
/// whether there was one to tell.
pub fn notify(state: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let socket = UnixDatagram::unbound()?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    match bytes.strip_prefix(b"@") {
        // An abstract socket (systemd's own choice in containers).
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            socket.send_to(state.as_bytes(), &path)?;
        }
    }
    Ok(true)
}

/// [`notify`], logging a failure instead of returning it: the service
/// manager not hearing from us is its own alarm.
pub fn tell(state: &str) {
    if let Err(e) = notify(state) {
        tracing::warn!(error = %e, state, "cannot notify the service manager");
    }
}

/// The watchdog interval the service manager asks for, when it asks this
/// process (`WATCHDOG_USEC`, and `WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}
