//! The tidy test: house rules a machine can check, run by `cargo test`.
//!
//! 1. Every Rust source file's first line is a `//!` line saying what it is
//!    for.
//! 2. No test skips silently: none prints a "skipping" (or "unsupported",
//!    "not found"…) message and returns or moves on to the next case,
//!    none returns right after a probe (an environment variable, a tool, a
//!    file) came out the wrong way, unless a line just before says why it
//!    is not a skip (`tidy: not a skip`); and none is `#[ignore]`d or
//!    `#[should_panic]`. A test whose data or tool is missing fails.
//! 3. No file of the repository (sources, scripts, configs, docs) names an
//!    absolute path of one machine (a home or work folder, `/var/tmp`) or
//!    reads the shared folder beside the clone: the repository stands
//!    alone. [`ALLOWED_PATHS`] lists the few lines that need one.
//!
//! Each rule is a function of a file's path and text, and each has a test
//! that feeds it a breach, so a rule that stopped catching anything fails.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The files below `dir` (relative to the repository) whose names end with
/// one of `exts` (every file for `""`), passing over build output,
/// dependencies, version control and test data.
fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(p: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            // `.git` is a file in a worktree (it names the main clone's
            // directory): version control either way, not ours to check.
            if name == ".git" {
                continue;
            }
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | "data") {
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

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Rule 1 for one file: `Some(why)` when its first line is not `//!`.
fn missing_doc_line(text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("");
    (!first.starts_with("//!")).then(|| format!("first line is {first:?}, not a `//!` line"))
}

/// The marker that tells rule 2 an early return is not a skip.
const NOT_A_SKIP: &str = "tidy: not a skip";

/// Rule 2 for one test or benchmark file: the lines that skip silently.
fn silent_skips(text: &str) -> Vec<String> {
    let words = [
        "skipping",
        "skip",
        "did not run",
        "not found",
        "not installed",
        "not available",
        "unavailable",
        "missing",
        "unsupported",
    ];
    let probes = [
        "env::var",
        "var_os(",
        "Command::new",
        ".exists()",
        ".is_file()",
        ".is_dir()",
        "which(",
        ".is_err()",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut bad = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.starts_with("#[ignore") || t.starts_with("#[should_panic") {
            bad.push(format!("{}: {t}: a test that cannot fail", i + 1));
        }
        let before = &lines[i.saturating_sub(3)..i];
        let exempt = before.iter().any(|b| b.contains(NOT_A_SKIP));
        let printed = l.contains("eprintln!") || l.contains("println!");
        let message = lines[i..lines.len().min(i + 3)].join("\n").to_lowercase();
        let next = lines[i..lines.len().min(i + 5)].join("\n");
        if printed
            && words.iter().any(|w| message.contains(w))
            && (next.contains("return") || next.contains("continue;"))
            && !exempt
        {
            bad.push(format!("{}: {t}: prints and returns", i + 1));
        }
        let returns = t == "return;"
            || t.starts_with("return Ok(())")
            || t.contains("=> return")
            || t.contains("else { return");
        // A skip returns as soon as the probe answered; a mode (a test
        // that re-runs itself as a child process, a snapshot update) does
        // its work first and then returns.
        let previous = lines[..i].iter().rev().find(|b| !b.trim().is_empty());
        let probed = std::iter::once(l)
            .chain(previous)
            .any(|b| probes.iter().any(|p| b.contains(p)));
        if returns && probed && !exempt {
            bad.push(format!(
                "{}: {t}: returns after a probe (write `// {NOT_A_SKIP}: why` above if it is not a skip)",
                i + 1
            ));
        }
    }
    bad
}

/// Lines that need a machine path, by file: `(file, what the line holds)`.
/// The CI script keeps cargo's target directory outside the clone so that
/// runs on one machine share compiled dependencies, and says so.
const ALLOWED_PATHS: &[(&str, &str)] = &[(".ci/run", "${CARGO_TARGET_DIR:-/var/tmp/")];

/// Rule 3 for one file: the lines naming a machine path.
fn machine_paths(rel: &str, text: &str) -> Vec<String> {
    // Split so that this file does not match its own list.
    let forbidden = [
        concat!("/wo", "rk/"),
        concat!("/ro", "ot/"),
        concat!("/ho", "me/"),
        concat!("/Us", "ers/"),
        concat!("/var", "/tmp/"),
        concat!("C:\\", "Users"),
        concat!("../sha", "red"),
    ];
    let mut bad = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let allowed = ALLOWED_PATHS
            .iter()
            .any(|(file, what)| rel == *file && l.contains(what));
        if !allowed && forbidden.iter().any(|f| l.contains(f)) {
            bad.push(format!("{rel}:{}: {}", i + 1, l.trim()));
        }
    }
    bad
}

#[test]
fn every_rust_module_opens_with_its_doc_line() {
    let rs = files("crates", &[".rs"]);
    assert!(rs.len() > 100, "found only {} Rust files", rs.len());
    let bad: Vec<String> = rs
        .iter()
        .filter_map(|p| missing_doc_line(&read(p)).map(|why| format!("{}: {why}", rel(p))))
        .collect();
    assert!(bad.is_empty(), "modules without a `//!` doc line: {bad:#?}");
}

#[test]
fn no_test_skips_silently() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for p in files("crates", &[".rs"]) {
        let r = rel(&p);
        if !(r.contains("/tests/") || r.contains("/benches/")) || r.ends_with("tidy.rs") {
            continue;
        }
        seen += 1;
        bad.extend(
            silent_skips(&read(&p))
                .into_iter()
                .map(|b| format!("{r}:{b}")),
        );
    }
    assert!(seen > 50, "found only {seen} test files");
    assert!(bad.is_empty(), "tests that skip silently: {bad:#?}");
}

#[test]
fn no_machine_paths_and_no_reads_outside_the_repository() {
    let all = files("", &[""]);
    assert!(all.len() > 300, "found only {} files", all.len());
    let mut bad = Vec::new();
    for p in all {
        let r = rel(&p);
        if r.ends_with("tidy.rs") {
            continue;
        }
        // Binary files (images, archives) hold no text to check.
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        bad.extend(machine_paths(&r, &text));
    }
    assert!(
        bad.is_empty(),
        "machine paths or reads outside the repository: {bad:#?}"
    );
}

/// Each rule, given a breach, reports it; given the fixed text, does not.
#[test]
fn every_rule_catches_its_breach() {
    assert!(missing_doc_line("use std::fs;\n").is_some());
    assert!(missing_doc_line("\n//! late\n").is_some());
    assert!(missing_doc_line("// a plain comment\n").is_some());
    assert!(missing_doc_line("//! What this is for.\nuse std::fs;\n").is_none());

    let skips: &[(&str, &str)] = &[
        (
            "if !have_node() {\n    eprintln!(\"node not found, skipping\");\n    return;\n}\n",
            "prints and returns",
        ),
        (
            "let Ok(url) = std::env::var(\"DATABASE_URL\") else {\n    return;\n};\n",
            "returns after a probe",
        ),
        (
            "if Command::new(\"python3\").status().is_err() {\n    return;\n}\n",
            "returns after a probe",
        ),
        (
            "if !Path::new(\"corpus.jsonl\").exists() {\n    return Ok(());\n}\n",
            "returns after a probe",
        ),
        (
            "for case in cases {\n    let Ok(o) = run(&case) else {\n        eprintln!(\"unsupported: {id}\");\n        continue;\n    };\n}\n",
            "prints and returns",
        ),
        ("#[test]\n#[ignore]\nfn slow() {}\n", "cannot fail"),
        ("#[test]\n#[should_panic]\nfn boom() {}\n", "cannot fail"),
    ];
    for (text, expected) in skips {
        let found = silent_skips(text);
        assert!(
            found.iter().any(|f| f.contains(expected)),
            "{text:?}: expected {expected:?}, found {found:?}"
        );
    }
    let fine = [
        "let path = statecraft_testdata::corpus_path();\nassert!(path.exists());\n",
        // Modes, not skips: work is done before the return, or the marker
        // says why.
        "if let Ok(dir) = std::env::var(CHILD) {\n    child(&dir);\n    return;\n}\n",
        "if std::env::var_os(\"UPDATE\").is_some() {\n    // tidy: not a skip: rewriting the snapshots\n    return Ok(());\n}\n",
        "eprintln!(\"corpus: {n} passed\");\n",
    ];
    for text in fine {
        assert_eq!(silent_skips(text), Vec::<String>::new(), "{text:?}");
    }

    let home = concat!("/ho", "me/someone/statecraft");
    let work = concat!("/wo", "rk/main/tests");
    let vartmp = concat!("/var", "/tmp/x");
    let shared = concat!("../sha", "red/STYLE.md");
    for line in [home, work, vartmp, shared] {
        let text = format!("let p = \"{line}\";\n");
        assert_eq!(
            machine_paths("crates/x/src/lib.rs", &text).len(),
            1,
            "{line} not caught"
        );
    }
    let ci = concat!(
        "export CARGO_TARGET_DIR=\"${CARGO_TARGET_DIR:-/var",
        "/tmp/statecraft-target}\"\n"
    );
    assert!(machine_paths(".ci/run", ci).is_empty());
    assert_eq!(machine_paths("scripts/test", ci).len(), 1);
    assert!(machine_paths("crates/x/src/lib.rs", "let p = \"/tmp/x\";\n").is_empty());
}
