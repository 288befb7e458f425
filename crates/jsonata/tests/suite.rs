//! Runs every case of the official JSONata test suite (shared/conformance/
//! jsonata-suite) and checks the failures against `known-failures.txt`.
//!
//! A plain `harness = false` test so its summary line
//! `jsonata-suite: N passed, M failed` is always printed. Set
//! `JSONATA_SUITE_FILTER=group/` to run a subset, `JSONATA_SUITE_DIR` to
//! point at another copy of the suite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as J;
use statecraft_jsonata::{Environment, Expression};

fn suite_dir() -> PathBuf {
    if let Ok(d) = std::env::var("JSONATA_SUITE_DIR") {
        return PathBuf::from(d);
    }
    statecraft_testdata::jsonata_suite()
}

fn numbers_close(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs());
    (a - b).abs() <= scale * 1e-10
}

fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => numbers_close(p, q),
            _ => x == y,
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).map(|w| json_eq(v, w)).unwrap_or(false))
        }
        _ => a == b,
    }
}

fn replace_lone_surrogates(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 5 < chars.len() && chars[i + 1] == 'u' {
            let hex: String = chars[i + 2..i + 6].iter().collect();
            if let Ok(v) = u32::from_str_radix(&hex, 16) {
                let next_low = chars.get(i + 6) == Some(&'\\')
                    && chars.get(i + 7) == Some(&'u')
                    && chars
                        .get(i + 8..i + 12)
                        .and_then(|h| u32::from_str_radix(&h.iter().collect::<String>(), 16).ok())
                        .is_some_and(|lo| (0xDC00..0xE000).contains(&lo));
                if (0xD800..0xDC00).contains(&v) && next_low {
                    out.extend(&chars[i..i + 12]);
                    i += 12;
                    continue;
                }
                if (0xD800..0xE000).contains(&v) {
                    out.push_str("\\uFFFD");
                    i += 6;
                    continue;
                }
            }
            out.extend(&chars[i..i + 2]);
            i += 2;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

struct Case {
    id: String,
    body: J,
}

fn load_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut groups: Vec<_> = std::fs::read_dir(dir.join("groups"))
        .expect("read groups")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    groups.sort();
    for g in groups {
        let gname = g
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let mut files: Vec<_> = std::fs::read_dir(&g)
            .expect("read group")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let stem = f
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let text = std::fs::read_to_string(&f).expect("read case");
            let body: J = match serde_json::from_str(&text) {
                Ok(b) => b,
                // Rust strings cannot hold lone UTF-16 surrogates; such cases use U+FFFD instead.
                Err(_) => {
                    serde_json::from_str(&replace_lone_surrogates(&text)).expect("parse case")
                }
            };
            match body {
                J::Array(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        cases.push(Case {
                            id: format!("{gname}/{stem}[{i}]"),
                            body: item,
                        });
                    }
                }
                other => cases.push(Case {
                    id: format!("{gname}/{stem}"),
                    body: other,
                }),
            }
        }
    }
    cases
}

/// Run one case; `Ok(())` when it passes, `Err(description)` otherwise.
fn run_case(
    case: &J,
    group: &str,
    datasets: &mut BTreeMap<String, Option<J>>,
    dir: &Path,
) -> Result<(), String> {
    let expr_owned = match (case.get("expr"), case.get("expr-file")) {
        (Some(J::String(e)), _) => e.clone(),
        (_, Some(J::String(f))) => std::fs::read_to_string(dir.join("groups").join(group).join(f))
            .map_err(|e| format!("cannot read expression file {f}: {e}"))?,
        _ => String::new(),
    };
    let expr_src = expr_owned.as_str();
    let input: Option<J> = if let Some(d) = case.get("data") {
        Some(d.clone())
    } else {
        match case.get("dataset") {
            Some(J::String(name)) => datasets
                .entry(name.clone())
                .or_insert_with(|| {
                    let p = dir.join("datasets").join(format!("{name}.json"));
                    std::fs::read_to_string(p)
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                })
                .clone(),
            _ => None,
        }
    };
    let depth = case
        .get("depth")
        .and_then(|d| d.as_u64())
        .map(|d| d as usize)
        .unwrap_or(1000);
    let time = case
        .get("timelimit")
        .and_then(|d| d.as_u64())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(10));
    let mut env = Environment::new().with_limits(depth, Some(time));
    if let Some(J::Object(b)) = case.get("bindings") {
        for (k, v) in b {
            env.bind(k, v.clone());
        }
    }
    let outcome = Expression::parse(expr_src).and_then(|e| e.evaluate(input.as_ref(), &env));
    let code = case
        .get("code")
        .or_else(|| case.get("error").and_then(|e| e.get("code")))
        .and_then(|c| c.as_str());
    if let Some(code) = code {
        return match outcome {
            Err(e) if e.code == code => Ok(()),
            Err(e) => Err(format!(
                "expected error {code}, got error {}: {}",
                e.code, e.message
            )),
            Ok(v) => Err(format!(
                "expected error {code}, got {}",
                v.map(|v| v.to_string()).unwrap_or("undefined".into())
            )),
        };
    }
    if case.get("undefinedResult").is_some() {
        return match outcome {
            Ok(None) => Ok(()),
            Ok(Some(v)) => Err(format!("expected undefined, got {v}")),
            Err(e) => Err(format!(
                "expected undefined, got error {}: {}",
                e.code, e.message
            )),
        };
    }
    let expected = case.get("result").cloned().unwrap_or(J::Null);
    match outcome {
        Ok(Some(v)) if json_eq(&v, &expected) => Ok(()),
        Ok(Some(v)) => Err(format!("got {v}, expected {expected}")),
        Ok(None) => Err(format!("expected {expected}, got undefined")),
        Err(e) => Err(format!(
            "expected {expected}, got error {}: {}",
            e.code, e.message
        )),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

fn main() {
    let dir = suite_dir();
    if !dir.join("groups").is_dir() {
        eprintln!(
            "jsonata-suite: the JSONata test suite was not found at {} (expected tests/data/jsonata-suite in the repository)",
            dir.display()
        );
        std::process::exit(1);
    }
    let known_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-failures.txt"),
    )
    .unwrap_or_default();
    let known: BTreeMap<String, String> = known_text
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('#') {
            Some((id, why)) => (id.trim().to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let filter = std::env::var("JSONATA_SUITE_FILTER").ok();
    let cases = load_cases(&dir);
    // run on a thread with a generous stack so a bug cannot take the harness down silently
    let handle = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let mut datasets = BTreeMap::new();
            let mut results = Vec::new();
            for c in &cases {
                if let Some(f) = &filter {
                    if !c.id.starts_with(f.as_str()) {
                        continue;
                    }
                }
                let group = c.id.split('/').next().unwrap_or("");
                let r = run_case(&c.body, group, &mut datasets, &dir);
                let expr = c
                    .body
                    .get("expr")
                    .and_then(|e| e.as_str())
                    .unwrap_or("")
                    .to_string();
                results.push((c.id.clone(), expr, r));
            }
            results
        })
        .expect("spawn suite thread");
    let results = handle.join().expect("suite thread panicked");
    let passed = results.iter().filter(|r| r.2.is_ok()).count();
    let failed = results.len() - passed;
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for (id, expr, r) in &results {
        match r {
            Err(msg) if !known.contains_key(id) => unexpected.push(format!(
                "  {id}: {}  =>  {}",
                truncate(expr, 120),
                truncate(msg, 200)
            )),
            Ok(()) if known.contains_key(id) => fixed.push(format!("  {id}")),
            _ => {}
        }
    }
    println!("jsonata-suite: {passed} passed, {failed} failed");
    if !unexpected.is_empty() {
        println!("unexpected failures ({}):", unexpected.len());
        for u in &unexpected {
            println!("{u}");
        }
    }
    if !fixed.is_empty() {
        println!(
            "listed in known-failures.txt but now passing ({}):",
            fixed.len()
        );
        for f in &fixed {
            println!("{f}");
        }
    }
    let filtered = std::env::var("JSONATA_SUITE_FILTER").is_ok();
    assert!(
        unexpected.is_empty(),
        "{} unexpected failures",
        unexpected.len()
    );
    assert!(
        filtered || fixed.is_empty(),
        "{} known failures now pass; remove them from known-failures.txt",
        fixed.len()
    );
}
