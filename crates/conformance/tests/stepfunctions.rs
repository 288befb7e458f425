//! Runs every self-contained execution case of the AWS-recorded corpus
//! through the engine and compares with what AWS recorded. Prints one
//! `N passed, M failed` line per share of the corpus (JSONPath; JSONata and
//! variables) and fails on any failure not listed in `known-failures.txt`, or
//! on a listed case that now passes.

use std::path::Path;

use statecraft_conformance::{corpus, known, run};

fn main() {
    let path = corpus::corpus_path();
    let cases = corpus::load(&path).unwrap_or_else(|e| fail(&e));
    let known_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("known-failures.txt");
    let known = known::load(&known_path).unwrap_or_else(|e| fail(&e));

    let mut jsonpath = known::Verdict::default();
    let mut jsonata = known::Verdict::default();
    let mut not_run = std::collections::BTreeMap::<String, usize>::new();
    for case in &cases {
        if !case.is_runnable_execution() {
            let why = if case.is_execution() {
                let mut needs: Vec<&str> = case.requires.iter().map(String::as_str).collect();
                if needs.is_empty() {
                    needs = case
                        .features
                        .iter()
                        .filter_map(|f| f.strip_prefix("task:"))
                        .collect();
                }
                format!("execution calling outside services: {}", needs.join("+"))
            } else {
                format!("{} (checked by the language and server tests)", case.kind)
            };
            *not_run.entry(why).or_default() += 1;
            continue;
        }
        let result = run::execute(case).and_then(|actual| run::check(case, &actual));
        let verdict = if case.is_jsonata_or_variables() {
            &mut jsonata
        } else {
            &mut jsonpath
        };
        verdict.record(&known, &case.id, result);
    }

    println!(
        "stepfunctions corpus (JSONPath): {} passed, {} failed",
        jsonpath.passed, jsonpath.failed
    );
    println!(
        "stepfunctions corpus (JSONata and variables): {} passed, {} failed",
        jsonata.passed, jsonata.failed
    );
    let total: usize = not_run.values().sum();
    println!("stepfunctions corpus: {total} cases not run by this test:");
    for (why, n) in &not_run {
        println!("  {n:4}  {why}");
    }
    let mut problems = Vec::new();
    for v in [&jsonpath, &jsonata] {
        for (id, why) in &v.unexpected_failures {
            problems.push(format!(
                "FAILED (not in known-failures.txt): {id}\n    {why}"
            ));
        }
        for id in &v.stale_entries {
            problems.push(format!("PASSES but listed in known-failures.txt: {id}"));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{} conformance regressions:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}
