//! The repository's test data, found from any clone: the AWS-recorded Step
//! Functions corpus (`tests/data/stepfunctions`), the JSONata test suite
//! (`tests/data/jsonata-suite`) and the benchmark workloads
//! (`tests/data/bench-workloads`).
//!
//! Every test, benchmark and tool that needs one of these data sets finds it
//! here, so there is one loader and one rule: data that is missing or damaged
//! is a failure with a sentence saying what and where, never a silent skip.
//! Used only by tests, benchmarks and the bench tool; nothing shipped in the
//! `statecraft` binary depends on it.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `tests/data` at the root of the repository this crate was built from.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// A path below `tests/data`, which must exist: a panic naming the path and
/// the data set's README otherwise (a test that cannot find its data fails).
pub fn path(relative: &str) -> PathBuf {
    let p = root().join(relative);
    assert!(
        p.exists(),
        "test data missing: {} does not exist; the data sets live in the repository under tests/data \
         (see tests/data/README.md for where each comes from and how to refresh it)",
        p.display()
    );
    p
}

/// The AWS-recorded corpus file (`tests/data/stepfunctions/corpus.jsonl`).
pub fn corpus_path() -> PathBuf {
    path("stepfunctions/corpus.jsonl")
}

/// Every case of the AWS-recorded corpus, in file order. Panics with the
/// file and line on unreadable or malformed data.
pub fn corpus() -> Vec<Value> {
    corpus_at(&corpus_path())
}

/// Every case of a corpus file in the corpus's format (one JSON case a
/// line), such as a freshly recorded one a tool points a test at. Panics
/// with the file and line on unreadable or malformed data, and when the
/// file holds no case.
pub fn corpus_at(p: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("cannot read the corpus at {}: {e}", p.display()));
    let cases: Vec<Value> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not a JSON case: {e}", p.display(), i + 1))
        })
        .collect();
    assert!(
        !cases.is_empty(),
        "the corpus at {} holds no case",
        p.display()
    );
    cases
}

/// The corpus's cases of one `kind` (`execution`, `test_state`, …). Panics
/// when there is none: a filter that selects nothing is a broken test.
pub fn corpus_of_kind(kinds: &[&str]) -> Vec<Value> {
    let cases: Vec<Value> = corpus()
        .into_iter()
        .filter(|c| c["kind"].as_str().is_some_and(|k| kinds.contains(&k)))
        .collect();
    assert!(
        !cases.is_empty(),
        "the corpus holds no case of kind {kinds:?}"
    );
    cases
}

/// The JSONata test suite's folder (`groups/`, `datasets/`).
pub fn jsonata_suite() -> PathBuf {
    path("jsonata-suite")
}

/// The folder of benchmark workloads (`chain10.json`, `map100.json`, …).
pub fn bench_workloads() -> PathBuf {
    path("bench-workloads")
}

/// One benchmark workload file by name (`chain10`).
pub fn bench_workload(name: &str) -> PathBuf {
    path(&format!("bench-workloads/{name}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_set_is_in_the_repository() {
        assert!(corpus().len() > 800);
        assert!(jsonata_suite().join("groups").is_dir());
        assert!(bench_workload("chain10").is_file());
    }

    #[test]
    #[allow(clippy::panic)]
    fn a_missing_file_is_a_failure_that_names_it() {
        let r = std::panic::catch_unwind(|| path("no-such-data-set/x.json"));
        let msg = *r.expect_err("must fail").downcast::<String>().unwrap();
        assert!(msg.contains("no-such-data-set/x.json"), "{msg}");
    }
}
