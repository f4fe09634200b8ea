//! The engine's shape, checked on its source: capabilities depend on each
//! other one way only, and their service methods (`impl Auth`, `impl
//! Partitions`, ...) hold no SQL: every statement sits in a repository
//! function of its capability, so that a second database is a new module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MODULES: &[&str] = &[
    "alerts",
    "audit",
    "auth",
    "clock",
    "config",
    "core",
    "entropy",
    "fleet",
    "history",
    "hsm",
    "metrics",
    "ntl",
    "overview",
    "partitions",
    "random",
    "schedule",
    "secrets",
    "store",
    "tls",
];

const CAPABILITIES: &[&str] = &[
    "Core",
    "Auth",
    "Partitions",
    "Entropy",
    "History",
    "AuditLog",
    "TrustLink",
    "Schedule",
    "Alerts",
    "Fleet",
];

const SQL: &[&str] = &[
    "sqlx::query",
    "db::query",
    "query_as(",
    "query_scalar(",
    "rusqlite",
    ".prepare(",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file of `module` (a file or a folder), tests left out.
fn files(module: &str) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let file = src().join(format!("{module}.rs"));
    let dir = src().join(module);
    let mut stack = vec![];
    if file.exists() {
        stack.push(file);
    }
    if dir.is_dir() {
        stack.push(dir);
    }
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let test_file = name == "tests.rs" || name.ends_with("_tests.rs");
        let fixture = p.components().any(|c| c.as_os_str() == "testing");
        if !name.ends_with(".rs") || test_file || fixture {
            continue;
        }
        out.push((
            p.clone(),
            without_tests(&std::fs::read_to_string(&p).unwrap()),
        ));
    }
    out
}

/// The text before the first `#[cfg(test)]` module.
fn without_tests(s: &str) -> String {
    match s.find("#[cfg(test)]\nmod ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[test]
fn capabilities_depend_on_each_other_one_way() {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &m in MODULES {
        let deps = graph.entry(m).or_default();
        for (_, text) in files(m) {
            for &other in MODULES {
                if other != m && text.contains(&format!("crate::{other}::")) {
                    deps.insert(other);
                }
            }
            assert!(
                !text.contains("crate::Engine") && !text.contains("use crate::Engine"),
                "{m} reaches back to Engine (outside its tests)"
            );
        }
    }
    // Depth-first search for a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("dependency cycle: {} -> {m}", path[i..].join(" -> "));
        }
        if done.contains(m) {
            return;
        }
        path.push(m);
        for d in &graph[m] {
            visit(d, graph, path, done);
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in MODULES {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

/// The body of every `impl NAME {` block in `text`.
fn impl_blocks<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("impl {name} {{");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&head) {
        let body = &rest[i + head.len()..];
        let mut depth = 1;
        let mut end = body.len();
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

#[test]
fn service_methods_hold_no_sql() {
    let mut seen = BTreeSet::new();
    let mut offenders = Vec::new();
    for &m in MODULES {
        for (path, text) in files(m) {
            for &cap in CAPABILITIES {
                for body in impl_blocks(&text, cap) {
                    seen.insert(cap);
                    for &sql in SQL {
                        if body.contains(sql) {
                            offenders.push(format!("{} (impl {cap}): {sql}", path.display()));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        seen.len(),
        CAPABILITIES.len(),
        "every capability was found: {seen:?}"
    );
    assert!(
        offenders.is_empty(),
        "SQL outside a repository:\n{}",
        offenders.join("\n")
    );
}
