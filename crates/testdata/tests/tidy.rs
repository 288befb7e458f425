//! The tidy test: house rules a machine can check, run by `cargo test`.
//!
//! 1. Every Rust source file opens with a `//!` line saying what it is for.
//! 2. No test prints a "skipping" message and passes: a test whose data or
//!    tool is missing fails.
//! 3. No tracked source, script or config names an absolute path of one
//!    machine or reads the shared folder beside the clone (the repository
//!    stands alone).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The files below `dir` (relative to the repository) whose names end with
/// one of `exts`, skipping build output, dependencies and test data.
fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(p: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".git" | "data") {
                    walk(&path, exts, out);
                }
            } else if exts.iter().any(|x| name.ends_with(x)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join(dir), exts, &mut out);
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(repo()).unwrap_or(p).display().to_string()
}

#[test]
fn every_rust_module_opens_with_its_doc_line() {
    let rs = files("crates", &[".rs"]);
    assert!(rs.len() > 100, "found only {} Rust files", rs.len());
    let bad: Vec<String> = rs
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|p| rel(p))
        .collect();
    assert!(bad.is_empty(), "modules without a `//!` doc line: {bad:#?}");
}

#[test]
fn no_test_skips_silently() {
    let words = [
        "skipping",
        "did not run",
        "not found",
        "not installed",
        "skipped",
    ];
    let mut bad = Vec::new();
    for p in files("crates", &[".rs"]) {
        let r = rel(&p);
        if !(r.contains("/tests/") || r.contains("/benches/")) || r.ends_with("tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let printed = l.contains("eprintln!") || l.contains("println!");
            let next = lines[i..lines.len().min(i + 5)].join("\n");
            if printed
                && words.iter().any(|w| next.to_lowercase().contains(w))
                && next.contains("return")
            {
                bad.push(format!("{r}:{}: {}", i + 1, l.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "tests that print a message and pass: {bad:#?}"
    );
}

#[test]
fn no_machine_paths_and_no_reads_outside_the_repository() {
    let exts = [
        ".rs", ".sh", ".py", ".mjs", ".js", ".toml", ".json", ".yaml", ".yml",
    ];
    let mut all = files("crates", &exts);
    all.extend(files("scripts", &[""]));
    all.extend(files(".ci", &[""]));
    all.extend(files("examples", &exts));
    all.extend(files("tests/smoke", &exts));
    assert!(all.len() > 100);
    // Split so that this file does not match its own list.
    let forbidden = [
        concat!("/wo", "rk/"),
        concat!("/ro", "ot/"),
        concat!("/ho", "me/"),
        concat!("../sha", "red"),
    ];
    let mut bad = Vec::new();
    for p in all {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for (i, l) in text.lines().enumerate() {
            if forbidden.iter().any(|f| l.contains(f)) {
                bad.push(format!("{}:{}: {}", rel(&p), i + 1, l.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "machine paths or reads outside the repository: {bad:#?}"
    );
}
