//! Bulk import (`hsm-conf-import`): many configurations from a CSV file at
//! once, all or nothing.
//!
//! The configurations file starts with a header naming its columns, in any
//! order: `name` (required), `partition`, `slot`, `token_serial`,
//! `user_type` (empty: `CKU_USER`) and `module` (empty: the default
//! module). Each row gives a slot, a token serial or both. A serial alone
//! is looked up in the module's slots (exactly one slot must hold it) and
//! the configuration is pinned to it; with both, the serial is pinned.
//! The passwords come apart, from their own file or standard input, as CSV
//! with the header `name,password` (a password is taken as written: no
//! trimming).
//!
//! Every line of both is checked before anything is written, and every
//! error is reported with its file and line number. Then every
//! configuration is written in one transaction with one audit row: a
//! failure anywhere leaves the configurations as they were.

use std::collections::{HashMap, HashSet};

use secrecy::SecretString;

use super::{
    check_unique_serial, repo, ConfigEdit, HsmName, ModuleChoice, Partitions, SerialPin, SlotId,
};
use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::error::{Error, Result};
use crate::hsm::{SlotInfo, UserType};
use crate::store::shared::record_change;
use types::Outcome;

/// At most this many errors are listed (then how many more there are).
const MAX_LISTED: usize = 50;

/// One CSV record: the line it starts on and its fields.
#[derive(Debug, PartialEq)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// RFC 4180 records: fields separated by commas, records by CRLF or LF,
/// `"..."` quoting (a quote inside doubled). Blank lines are skipped; a
/// UTF-8 byte order mark is ignored. An error names its line.
fn records(text: &str) -> std::result::Result<Vec<Record>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut start = 1;
    // Whether the current record has anything (a blank line has not).
    let mut started = false;
    loop {
        let Some(c) = chars.next() else {
            if started {
                fields.push(std::mem::take(&mut field));
                out.push(Record {
                    line: start,
                    fields: std::mem::take(&mut fields),
                });
            }
            return Ok(out);
        };
        if !started {
            start = line;
        }
        match c {
            '"' if field.is_empty() => {
                started = true;
                let opened = line;
                loop {
                    match chars.next() {
                        None => return Err((opened, "a quoted field is never closed".into())),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(_) => return Err((line, "text after a closing quote".into())),
                }
            }
            ',' => {
                started = true;
                fields.push(std::mem::take(&mut field));
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if started {
                    fields.push(std::mem::take(&mut field));
                    out.push(Record {
                        line: start,
                        fields: std::mem::take(&mut fields),
                    });
                }
                started = false;
                line += 1;
            }
            '"' => return Err((line, "a quote inside an unquoted field".into())),
            c => {
                started = true;
                field.push(c);
            }
        }
    }
}

/// The columns a file's header names, by name; unknown and repeated
/// columns, and missing required ones, are errors of line 1.
fn header<'a>(
    file: &str,
    first: &Record,
    known: &[&'a str],
    required: &[&str],
) -> std::result::Result<HashMap<&'a str, usize>, String> {
    let mut columns = HashMap::new();
    for (i, raw) in first.fields.iter().enumerate() {
        let name = raw.trim().to_ascii_lowercase();
        let Some(k) = known.iter().find(|k| **k == name) else {
            // Never quoted back: a file without its header (or a passwords
            // file given as the configurations) has a password there.
            return Err(format!(
                "{file} line {}: column {} is not one of the columns (the first line names \
                 them: {})",
                first.line,
                i + 1,
                known.join(",")
            ));
        };
        if columns.insert(*k, i).is_some() {
            return Err(format!(
                "{file} line {}: column `{k}` appears twice",
                first.line
            ));
        }
    }
    for r in required {
        if !columns.contains_key(r) {
            return Err(format!(
                "{file} line {}: the header has no `{r}` column (the first line names the \
                 columns: {})",
                first.line,
                known.join(",")
            ));
        }
    }
    Ok(columns)
}

/// One configuration of the file, as written.
struct Row {
    line: usize,
    name: String,
    partition: String,
    slot: String,
    serial: String,
    user_type: String,
    module: String,
}

const CONFIG_COLUMNS: [&str; 6] = [
    "name",
    "partition",
    "slot",
    "token_serial",
    "user_type",
    "module",
];
const CONFIGS: &str = "configurations";
const PASSWORDS: &str = "passwords";

/// The records after the header, each with its fields in `known`'s order
/// (a column the header does not name is empty).
fn rows_of(file: &str, text: &str, known: &[&str], required: &[&str]) -> Result<Vec<Record>> {
    let records =
        records(text).map_err(|(line, e)| Error::Invalid(format!("{file} line {line}: {e}")))?;
    let Some(first) = records.first() else {
        return Err(Error::Invalid(format!(
            "{file}: the file is empty (its first line names the columns: {})",
            known.join(",")
        )));
    };
    let columns = header(file, first, known, required).map_err(Error::Invalid)?;
    let width = first.fields.len();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in &records[1..] {
        if r.fields.len() != width {
            errors.push(format!(
                "{file} line {}: {} fields where the header has {width}",
                r.line,
                r.fields.len()
            ));
            continue;
        }
        out.push(Record {
            line: r.line,
            fields: known
                .iter()
                .map(|k| {
                    columns
                        .get(k)
                        .map(|i| r.fields[*i].clone())
                        .unwrap_or_default()
                })
                .collect(),
        });
    }
    if !errors.is_empty() {
        return Err(report(errors));
    }
    Ok(out)
}

/// The error of a refused import: every line's error (the first
/// [`MAX_LISTED`]), each on a line of its own.
fn report(errors: Vec<String>) -> Error {
    let n = errors.len();
    let mut text = format!(
        "nothing imported: {n} error{}",
        if n == 1 { "" } else { "s" }
    );
    for e in errors.iter().take(MAX_LISTED) {
        text.push('\n');
        text.push_str(e);
    }
    if n > MAX_LISTED {
        text.push_str(&format!("\n... and {} more", n - MAX_LISTED));
    }
    Error::Invalid(text)
}

/// A checked row, ready to write.
struct Ready {
    line: usize,
    name: HsmName,
    edit: ConfigEdit,
    /// Its module (`None`: the default), for the serial lookup.
    module: Option<String>,
}

impl Partitions {
    /// `hsm-conf-import`: the configurations of `configs` (CSV, see the
    /// module's text) with their passwords from `passwords`, all or none.
    /// `confirm_so`: the administrator confirmed rows with `CKU_SO`.
    /// `source` names the file in the audit log. Answers how many were
    /// created.
    pub async fn import_configs(
        &self,
        configs: &str,
        passwords: &SecretString,
        confirm_so: bool,
        source: &str,
        actor: &Actor,
    ) -> Result<usize> {
        let checked = self.check_import(configs, passwords, confirm_so).await;
        let ready = match checked {
            Ok(r) => r,
            Err(e) => {
                let first = e.to_string();
                let first = first.lines().take(2).collect::<Vec<_>>().join(": ");
                let _ = self
                    .core
                    .audit(actor, "hsm.import", source, Outcome::Error, &first)
                    .await;
                return Err(e);
            }
        };
        let n = ready.len();
        let names: Vec<String> = ready.iter().map(|r| r.name.to_string()).collect();
        let this = self.clone();
        self.core
            .audited_tx(actor, "hsm.import", source, move |tx| {
                Box::pin(async move {
                    let now = unix_ms(this.core.now());
                    for r in &ready {
                        repo::insert(tx, &r.name, now).await.map_err(|e| {
                            Error::Invalid(format!("{CONFIGS} line {}: {e}", r.line))
                        })?;
                        this.write_edit(tx, &r.name, &r.edit).await.map_err(|e| {
                            Error::Invalid(format!("{CONFIGS} line {}: {e}", r.line))
                        })?;
                    }
                    record_change(&mut *tx, now, &format!("{n} hsm configurations imported"))
                        .await?;
                    let mut detail = format!(
                        "{n} configuration{} created: {}",
                        if n == 1 { "" } else { "s" },
                        names
                            .iter()
                            .take(20)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    if n > 20 {
                        detail.push_str(&format!(", ... ({} more)", n - 20));
                    }
                    Ok(((), detail))
                })
            })
            .await?;
        if let Err(e) = repo::refresh_statistics(self.core.store().pool()).await {
            tracing::warn!(error = %e, "the database's statistics were not refreshed after the import");
        }
        tracing::info!(count = n, "configurations imported");
        Ok(n)
    }

    /// Every check of an import, before anything is written: each error
    /// with its file and line.
    async fn check_import(
        &self,
        configs: &str,
        passwords: &SecretString,
        confirm_so: bool,
    ) -> Result<Vec<Ready>> {
        use secrecy::ExposeSecret;
        let rows: Vec<Row> = rows_of(CONFIGS, configs, &CONFIG_COLUMNS, &["name"])?
            .into_iter()
            .map(|r| {
                let mut f = r.fields.into_iter();
                let mut next = || f.next().unwrap_or_default();
                Row {
                    line: r.line,
                    name: next(),
                    partition: next(),
                    slot: next(),
                    serial: next(),
                    user_type: next(),
                    module: next(),
                }
            })
            .collect();
        if rows.is_empty() {
            return Err(Error::Invalid(format!(
                "{CONFIGS}: no configuration after the header line"
            )));
        }
        // The passwords: never quoted back, not even in an error.
        let mut pwds: HashMap<String, (usize, SecretString)> = HashMap::new();
        let mut errors = Vec::new();
        let pwd_rows = rows_of(
            PASSWORDS,
            passwords.expose_secret(),
            &["name", "password"],
            &["name", "password"],
        )?;
        // (A CSV error names a line, never its text; the header's errors
        // name only column names.)
        for r in pwd_rows {
            let line = r.line;
            let name = r.fields[0].trim().to_string();
            let pwd = SecretString::from(r.fields[1].clone());
            if let Err(e) = super::check_password(&pwd) {
                errors.push(format!("{PASSWORDS} line {line}: {e}"));
            }
            if let Some((first, _)) = pwds.get(&name) {
                // Not named: in a file with its columns swapped, the name
                // is a password.
                errors.push(format!(
                    "{PASSWORDS} line {line}: a second password for the name on line {first}"
                ));
                continue;
            }
            pwds.insert(name, (line, pwd));
        }

        let existing: HashSet<String> = {
            let mut conn = self.core.store().pool().acquire().await?;
            repo::names(&mut conn).await?.into_iter().collect()
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut ready = Vec::new();
        for r in rows {
            let at = |e: &dyn std::fmt::Display| format!("{CONFIGS} line {}: {e}", r.line);
            let name = match HsmName::parse(r.name.trim()) {
                Ok(n) => n,
                Err(e) => {
                    errors.push(at(&e));
                    continue;
                }
            };
            if let Some(first) = seen.insert(name.to_string(), r.line) {
                errors.push(at(&format!("configuration {name} is also on line {first}")));
                continue;
            }
            if existing.contains(name.as_str()) {
                errors.push(at(&format!(
                    "configuration {name} exists already (hsm-conf-edit changes it)"
                )));
            }
            let mut row_errors = Vec::new();
            let user_type = match r.user_type.trim() {
                "" => Ok(UserType::User),
                u => u.parse::<UserType>().map_err(|e| e.0),
            };
            let user_type = user_type.unwrap_or_else(|e| {
                row_errors.push(e);
                UserType::User
            });
            let module = ModuleChoice::parse(&r.module).and_then(|m| {
                let edit = ConfigEdit {
                    module: Some(m.clone()),
                    ..Default::default()
                };
                self.module_after(&edit, None).map(|named| (m, named))
            });
            let (module, module_name) = match module {
                Ok(m) => (Some(m.0), m.1),
                Err(e) => {
                    row_errors.push(e.to_string());
                    (None, None)
                }
            };
            let slot = match r.slot.trim() {
                "" => None,
                s => SlotId::parse(s)
                    .map_err(|e| row_errors.push(e.to_string()))
                    .ok(),
            };
            let serial = match r.serial.trim() {
                "" => None,
                s => super::check_serial(s)
                    .map_err(|e| row_errors.push(e.to_string()))
                    .ok(),
            };
            if r.slot.trim().is_empty() && r.serial.trim().is_empty() {
                row_errors.push("give a slot, a token_serial or both".into());
            }
            let partition_pwd = match pwds.remove(name.as_str()) {
                Some((_, p)) => Some(p),
                None => {
                    row_errors.push(format!("no password for {name} in the {PASSWORDS}"));
                    None
                }
            };
            let edit = ConfigEdit {
                partition_name: Some(r.partition.trim().to_string()),
                partition_pwd,
                slot,
                user_type: Some(user_type),
                enabled: None,
                token_serial: serial.map(SerialPin::Set),
                module,
                confirm_so,
            };
            if let Err(e) = edit.check() {
                row_errors.push(e.to_string());
            }
            if let Err(e) = edit.check_so(None) {
                row_errors.push(match e {
                    Error::NeedsConfirmation(_) => {
                        "CKU_SO needs --confirmSO (a wrong SO password zeroizes a Luna partition \
                         after 10 failed logins)"
                            .into()
                    }
                    other => other.to_string(),
                });
            }
            errors.extend(row_errors.iter().map(|e| at(e)));
            if row_errors.is_empty() {
                ready.push(Ready {
                    line: r.line,
                    name,
                    edit,
                    module: module_name,
                });
            }
        }
        let mut left: Vec<(usize, String)> = pwds
            .into_iter()
            .filter(|(name, _)| !seen.contains_key(name))
            .map(|(name, (line, _))| (line, name))
            .collect();
        left.sort();
        for (line, _) in left {
            // Not named either (see above).
            errors.push(format!(
                "{PASSWORDS} line {line}: its name matches no configuration in the {CONFIGS}"
            ));
        }
        // The serials need the modules: asked for the rows that passed,
        // so that one report still names every bad line.
        errors.extend(self.resolve_serials(&mut ready).await);
        if !errors.is_empty() {
            // The configurations' lines in order, then the passwords'.
            errors.sort_by_key(|e| {
                let line = e
                    .split_once(" line ")
                    .and_then(|(_, rest)| rest.split(':').next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or_default();
                (e.starts_with(PASSWORDS), line)
            });
            return Err(report(errors));
        }
        Ok(ready)
    }

    /// A serial without a slot becomes the slot that holds it (exactly
    /// one must); a serial several tokens share is refused, as an edit
    /// refuses it. Each module is asked once. Answers the errors.
    async fn resolve_serials(&self, ready: &mut [Ready]) -> Vec<String> {
        let mut slots: HashMap<Option<String>, std::result::Result<Vec<SlotInfo>, String>> =
            HashMap::new();
        let mut errors = Vec::new();
        for r in ready.iter_mut() {
            let Some(SerialPin::Set(serial)) = &r.edit.token_serial else {
                continue;
            };
            let serial = serial.clone();
            let at = |e: &dyn std::fmt::Display| format!("{CONFIGS} line {}: {e}", r.line);
            let known = if r.edit.slot.is_none() {
                // The slot must be found: the module is asked.
                if !slots.contains_key(&r.module) {
                    let listed = match self.module(r.module.as_deref()).await {
                        Ok(hsm) => hsm.slots().await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    slots.insert(r.module.clone(), listed);
                }
                slots.get(&r.module)
            } else {
                // As an edit: checked when the module is loaded already.
                if !slots.contains_key(&r.module) {
                    if let Some(hsm) = self.hsm.loaded(r.module.as_deref()) {
                        if let Ok(listed) = hsm.slots().await {
                            slots.insert(r.module.clone(), Ok(listed));
                        }
                    }
                }
                slots.get(&r.module)
            };
            let module_name = r.module.as_deref().unwrap_or("default");
            match known {
                Some(Err(e)) if r.edit.slot.is_none() => errors.push(at(&format!(
                    "cannot look up token serial {serial} in module {module_name}: {e}"
                ))),
                Some(Ok(list)) => {
                    if let Err(e) = check_unique_serial(&serial, list) {
                        errors.push(at(&e));
                    } else if r.edit.slot.is_none() {
                        match list.iter().find(|s| s.serial == serial) {
                            Some(s) => r.edit.slot = Some(SlotId(s.slot_id)),
                            None => errors.push(at(&format!(
                                "no slot of module {module_name} holds a token with serial \
                                 {serial}"
                            ))),
                        }
                    }
                }
                _ => {}
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<&str>)> {
        // Leaked for the comparison's convenience (a test only).
        records(text)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.line,
                    r.fields
                        .into_iter()
                        .map(|f| &*Box::leak(f.into_boxed_str()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn records_follow_rfc_4180() {
        assert_eq!(
            fields("\u{feff}name,slot\r\nA,1\n\nB,\"2\"\n\"C,\"\"x\"\"\",3"),
            [
                (1, vec!["name", "slot"]),
                (2, vec!["A", "1"]),
                (4, vec!["B", "2"]),
                (5, vec!["C,\"x\"", "3"]),
            ]
        );
        // A quoted newline: the record keeps the line it starts on, the
        // next record the line it is really on.
        assert_eq!(
            fields("a,\"b\nc\"\nd,e"),
            [(1, vec!["a", "b\nc"]), (3, vec!["d", "e"])]
        );
        assert_eq!(fields("a,\n"), [(1, vec!["a", ""])]);
        assert_eq!(records("a\n\"b").unwrap_err().0, 2);
        assert_eq!(
            records("a\nb\"c\"").unwrap_err(),
            (2, "a quote inside an unquoted field".to_string())
        );
        assert_eq!(
            records("\"a\"b").unwrap_err(),
            (1, "text after a closing quote".to_string())
        );
    }

    #[test]
    fn the_header_names_known_columns_once() {
        let first = |t: &str| records(t).unwrap().remove(0);
        let ok = header(CONFIGS, &first("Name, slot"), &CONFIG_COLUMNS, &["name"]).unwrap();
        assert_eq!((ok["name"], ok["slot"]), (0, 1));
        let e = header(CONFIGS, &first("name,pin"), &CONFIG_COLUMNS, &["name"]).unwrap_err();
        assert!(
            e.starts_with("configurations line 1: column 2 is not one of") && !e.contains("pin"),
            "{e}"
        );
        let e = header(CONFIGS, &first("slot,slot"), &CONFIG_COLUMNS, &["name"]).unwrap_err();
        assert!(e.contains("`slot` appears twice"), "{e}");
        let e = header(CONFIGS, &first("slot"), &CONFIG_COLUMNS, &["name"]).unwrap_err();
        assert!(e.contains("no `name` column"), "{e}");
        // A passwords file without its header: its first password is not
        // quoted back.
        let e = header(
            PASSWORDS,
            &first("HSM1,hunter2"),
            &["name", "password"],
            &["name", "password"],
        )
        .unwrap_err();
        assert_eq!(
            e,
            "passwords line 1: column 1 is not one of the columns (the first line names them: \
             name,password)"
        );
    }

    #[test]
    fn a_report_lists_the_first_errors_and_counts_the_rest() {
        let e = report((1..=60).map(|i| format!("line {i}: bad")).collect());
        let text = e.to_string();
        assert!(
            text.contains("nothing imported: 60 errors\nline 1: bad\n"),
            "{text}"
        );
        assert!(text.contains("line 50: bad\n... and 10 more"), "{text}");
        assert!(!text.contains("line 51:"), "{text}");
    }
}
