//! Data-driven snapshot tests of the diagnostics. Each file in
//! `tests/data/invalid/` and `tests/data/valid/` (`.json` or `.yaml`) is run
//! through `statecraft_language::validate`, and the diagnostics, one a line
//! (`SEVERITY CODE POINTER LINE:COLUMN MESSAGE`), are compared with the
//! sibling `.expected` file. Adding a case is adding a file; run with
//! `UPDATE_EXPECT=1` to write or rewrite the `.expected` files, then review
//! the diff. Files under `valid/` must also have no ERROR diagnostic, and
//! files under `invalid/` at least one.

use std::path::{Path, PathBuf};

use statecraft_language::{Diagnostic, Severity};

fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let severity = match d.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        };
        let pointer = if d.pointer.is_empty() {
            "/"
        } else {
            &d.pointer
        };
        let position = match (d.line, d.column) {
            (Some(l), Some(c)) => format!("{l}:{c}"),
            _ => "-".to_string(),
        };
        // Messages stay on one line so that a diagnostic is a line.
        let message = d.message.replace('\n', "\\n");
        out.push_str(&format!(
            "{severity} {} {pointer} {position} {message}\n",
            d.code
        ));
    }
    out
}

fn cases(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    files
}

/// Compares every case of `folder`; returns the failures.
fn run(folder: &str, must_fail: bool) -> (usize, Vec<String>) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let files = cases(folder);
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable case");
        let diagnostics = statecraft_language::validate(&text);
        let actual = render(&diagnostics);
        let has_error = diagnostics.iter().any(|d| d.severity == Severity::Error);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        if has_error != must_fail {
            failures.push(format!(
                "{folder}/{name}: expected {} but got:\n{actual}",
                if must_fail { "an error" } else { "no error" }
            ));
        }
        // parse() must agree with validate() on acceptance.
        if statecraft_language::parse(&text).is_err() != has_error {
            failures.push(format!("{folder}/{name}: parse and validate disagree"));
        }
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).expect("writable snapshot");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{folder}/{name}: diagnostics differ (UPDATE_EXPECT=1 to accept)\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{folder}/{name}: no {} (UPDATE_EXPECT=1 to create it); actual:\n{actual}",
                expected_path.display()
            )),
        }
    }
    (files.len(), failures)
}

#[test]
fn invalid_definitions_match_their_snapshots() {
    let (count, failures) = run("invalid", true);
    println!("{count} invalid cases");
    assert!(count > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_definitions_match_their_snapshots() {
    let (count, failures) = run("valid", false);
    println!("{count} valid cases");
    assert!(count > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
