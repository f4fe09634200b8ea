//! OpenSC's PKCS#11 spy: what the calls made during an exclusive section
//! of the fixture were, read from its log (format in the fixture's
//! documentation).

use std::path::PathBuf;

/// The PKCS#11 calls made while an [`SoftHsmFixture::exclusive`] section runs.
pub struct SpyCapture {
    pub(super) _guard: tokio::sync::RwLockWriteGuard<'static, ()>,
    pub(super) log: Option<PathBuf>,
    pub(super) start: u64,
}

impl SpyCapture {
    /// Forget the calls logged so far: [`calls`](Self::calls) starts anew.
    pub fn restart(&mut self) {
        if let Some(len) = self
            .log
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
        {
            self.start = len;
        }
    }

    /// Calls logged since the capture began (empty without a spy).
    pub fn calls(&self) -> Vec<SpyCall> {
        let Some(log) = &self.log else {
            return Vec::new();
        };
        let text = std::fs::read(log).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        parse_spy_log(&text)
            .into_iter()
            .filter(|call| call.offset as u64 >= self.start)
            .collect()
    }

    /// Calls of one function (e.g. `C_SeedRandom`) since the capture began.
    pub fn calls_of(&self, function: &str) -> Vec<SpyCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.function == function)
            .collect()
    }
}

/// One PKCS#11 call as the spy logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpyCall {
    /// Byte offset of the call's header line in the log.
    pub offset: usize,
    /// E.g. `C_SeedRandom`.
    pub function: String,
    /// `[in] hSession`.
    pub session: Option<u64>,
    /// `[in] slotID`, or the slot the session was opened on.
    pub slot: Option<u64>,
    /// `[in] userType` of `C_Login`, e.g. `CKU_USER`.
    pub user_type: Option<String>,
    /// Length of the input buffer (`pSeed` of `C_SeedRandom`, …). Not
    /// recorded for `C_Login` (its buffer is the PIN).
    pub data_len: Option<usize>,
    /// The input buffer's bytes (same exception).
    pub data: Vec<u8>,
    /// The return value's name, e.g. `CKR_OK`.
    pub rv: Option<String>,
}

/// Parse an OpenSC `pkcs11-spy` log (format in the module docs), resolving
/// each call's slot through the `C_OpenSession` calls before it.
pub fn parse_spy_log(text: &str) -> Vec<SpyCall> {
    let mut calls: Vec<SpyCall> = Vec::new();
    let mut opened: Option<u64> = None;
    let mut sessions = std::collections::HashMap::<u64, u64>::new();
    let mut in_buffer = false;

    let finish = |call: &mut SpyCall,
                  opened: Option<u64>,
                  sessions: &mut std::collections::HashMap<u64, u64>| {
        if call.function == "C_OpenSession" {
            if let (Some(slot), Some(session)) = (call.slot, opened) {
                sessions.insert(session, slot);
            }
        } else if call.slot.is_none() {
            call.slot = call.session.and_then(|s| sessions.get(&s).copied());
        }
    };

    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(function) = header(line) {
            if let Some(last) = calls.last_mut() {
                finish(last, opened, &mut sessions);
            }
            opened = None;
            in_buffer = false;
            calls.push(SpyCall {
                offset: here,
                function: function.to_owned(),
                session: None,
                slot: None,
                user_type: None,
                data_len: None,
                data: Vec::new(),
                rv: None,
            });
            continue;
        }
        let Some(call) = calls.last_mut() else {
            continue;
        };
        if let Some(v) = line.strip_prefix("[in] hSession = ") {
            call.session = parse_hex(v);
        } else if let Some(v) = line.strip_prefix("[in] slotID = ") {
            call.slot = parse_hex(v);
        } else if let Some(v) = line.strip_prefix("[out] *phSession = ") {
            opened = parse_hex(v);
        } else if let Some(v) = line.strip_prefix("[in] userType = ") {
            call.user_type = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Returned:") {
            call.rv = v.split_whitespace().nth(1).map(str::to_owned);
            in_buffer = false;
        } else if line.starts_with("[in] p") && line.contains(" / ") {
            in_buffer = call.function != "C_Login";
            if in_buffer {
                call.data_len = line
                    .rsplit(" / ")
                    .next()
                    .and_then(|n| n.trim().parse().ok());
            }
        } else if line.starts_with('[') {
            in_buffer = false;
        } else if in_buffer && line.starts_with("    ") {
            // "    00000010  07 07 … 07  ascii": 16 bytes in columns 14..62.
            let bytes = line.get(14..).unwrap_or("");
            let bytes = bytes.get(..48).unwrap_or(bytes);
            call.data.extend(
                bytes
                    .split_whitespace()
                    .map_while(|b| u8::from_str_radix(b, 16).ok()),
            );
        }
    }
    if let Some(last) = calls.last_mut() {
        finish(last, opened, &mut sessions);
    }
    calls
}

/// `"22: C_SeedRandom"` → `Some("C_SeedRandom")`.
fn header(line: &str) -> Option<&str> {
    let (number, function) = line.split_once(": ")?;
    let is_header = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && function.starts_with("C_")
        && function
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_header.then_some(function)
}

fn parse_hex(v: &str) -> Option<u64> {
    let v = v.trim();
    let digits = v.strip_prefix("0x").unwrap_or(v);
    u64::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"

*************** OpenSC PKCS#11 spy *****************
Loaded: "/usr/lib/softhsm/libsofthsm2.so"

4: C_OpenSession
2026-11-28 06:14:36.306
[in] slotID = 0x11d2a76b
[in] flags = 0x6
[in] pApplication = (nil)
[in] Notify = (nil)
[out] *phSession = 0x1
Returned:  0 CKR_OK

6: C_Login
2026-11-28 06:14:36.306
[in] hSession = 0x1
[in] userType = CKU_USER
[in] pPin[ulPinLen] 00007ffc7e425982 / 8
    00000000  75 73 65 72 70 69 6E 31                          userpin1
Returned:  0 CKR_OK

22: C_SeedRandom
2026-11-28 06:16:30.679
[in] hSession = 0x1
[in] pSeed[ulSeedLen] 000055b58750e5f8 / 20
    00000000  07 07 07 07 07 07 07 07 07 07 07 07 07 07 07 07  ................
    00000010  20 41 42 43                                       ABC
Returned:  0 CKR_OK

23: C_Logout
2026-11-28 06:16:30.680
[in] hSession = 0x2
Returned:  257 CKR_USER_NOT_LOGGED_IN
"#;

    #[test]
    fn parses_the_spy_log() {
        let calls = parse_spy_log(LOG);
        let names: Vec<_> = calls.iter().map(|c| c.function.as_str()).collect();
        assert_eq!(
            names,
            ["C_OpenSession", "C_Login", "C_SeedRandom", "C_Logout"]
        );
        assert_eq!(calls[0].slot, Some(0x11d2a76b));
        assert_eq!(calls[1].user_type.as_deref(), Some("CKU_USER"));
        assert_eq!(calls[1].data_len, None, "PIN buffers are not recorded");
        assert!(calls[1].data.is_empty());
        let seed = &calls[2];
        assert_eq!(seed.session, Some(1));
        assert_eq!(seed.slot, Some(0x11d2a76b));
        assert_eq!(seed.data_len, Some(20));
        let mut expected = vec![7u8; 16];
        expected.extend([0x20, 0x41, 0x42, 0x43]);
        assert_eq!(seed.data, expected);
        assert_eq!(seed.rv.as_deref(), Some("CKR_OK"));
        assert_eq!(calls[3].slot, None, "session 2 was never opened");
        assert_eq!(calls[3].rv.as_deref(), Some("CKR_USER_NOT_LOGGED_IN"));
        assert!(LOG[calls[2].offset..].starts_with("22: C_SeedRandom"));
    }
}
