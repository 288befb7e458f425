//! `statecraft test [PATH…]`: the test kit for workflow authors. Finds
//! workflow test files (`*.test.json`, `*.test.yaml`, `*.test.yml`) under the
//! given files and folders, runs every case in-process on a virtual clock
//! (Waits and retry intervals take no time), many at once, and reports each
//! case, with the first difference and its JSON path for a failure. Exit
//! status 0 when every case passes, 1 otherwise, 2 when nothing could be
//! tested. `--junit FILE` also writes JUnit XML for CI; `--json` prints one
//! JSON object instead of the report.
//!
//! A test file (JSON or YAML; paths relative to the file):
//!
//! ```yaml
//! machine: ../checkout.asl.json
//! mock_config: mocks.json            # optional, Step Functions Local format
//! cases:
//!   - name: card declined is retried then refunded
//!     input: {order: {id: 7}}
//!     mocks: {ChargeCard: [{Throw: {Error: Payment.Declined, Cause: expired}}, {Return: {id: ch_1}}]}
//!     test_case: HappyPath           # optional, a test case of mock_config
//!     expect:
//!       status: SUCCEEDED            # or FAILED with error / cause
//!       output: {charged: true}      # exact; or output_contains for a subset
//!       states: [Validate, ChargeCard, Ship]
//! ```
//!
//! `mocks` is the `--mock` format of `statecraft run` (an object, or the
//! path of a mock file); it wins over the test case's mocks for the states
//! it names. A Task state answered by neither fails with
//! `States.TaskFailed`, as in `statecraft run` without `--config`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Map, Value};
use statecraft_engine::driver::{self, Options, Response, VirtualClock};
use statecraft_engine::{host::DeterministicHost, Machine, Status, TaskRequest};
use statecraft_integrations::mock_config::{MockConfig, MockedResponse};
use statecraft_language::ast::StateMachine;
use statecraft_types::{errors::TASK_FAILED, Failure};

use crate::run::mocks::Mocks;

#[derive(clap::Args)]
pub struct Args {
    /// Test files, or folders to search for `*.test.json` / `*.test.yaml`
    /// (default: the current folder).
    paths: Vec<PathBuf>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print one JSON object with every result instead of the report.
    #[arg(long)]
    json: bool,
    /// How many cases run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

/// The virtual start time of every case: fixed, so runs repeat exactly.
const T0: i64 = 1_700_000_000_000;

/// The most history events one case may record: a looping workflow fails
/// its case instead of running forever.
const MAX_EVENTS: u64 = 100_000;

pub fn main(args: Args) -> ExitCode {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_file() {
            files.push(root.clone());
        } else if root.is_dir() {
            find(root, &mut files);
        } else {
            eprintln!("statecraft test: {} does not exist", root.display());
            return ExitCode::from(2);
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        eprintln!(
            "statecraft test: no test files (*.test.json, *.test.yaml) under {}",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::from(2);
    }

    // Load every file; a file that cannot be used is one failed result.
    let mut jobs: Vec<Job> = Vec::new();
    let mut results: Vec<CaseResult> = Vec::new();
    for file in &files {
        match load(file) {
            Ok(suite) => {
                let suite = std::sync::Arc::new(suite);
                for i in 0..suite.cases.len() {
                    jobs.push(Job {
                        suite: suite.clone(),
                        case: i,
                    });
                }
            }
            Err(message) => results.push(CaseResult {
                file: file.display().to_string(),
                case: "(file)".into(),
                failure: Some(message),
                duration_ms: 0,
            }),
        }
    }

    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, CaseResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.min(jobs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let r = run_case(job);
                if let Ok(mut d) = done.lock() {
                    d.push((i, r));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_default();
    done.sort_by_key(|(i, _)| *i);
    results.extend(done.into_iter().map(|(_, r)| r));

    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    let passed = results.len() - failed;
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit(&results)) {
            eprintln!("statecraft test: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if args.json {
        let out = json!({
            "passed": passed,
            "failed": failed,
            "results": results.iter().map(|r| json!({
                "file": r.file,
                "case": r.case,
                "status": if r.failure.is_some() { "failed" } else { "passed" },
                "message": r.failure,
                "duration_ms": r.duration_ms,
            })).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        let mut out = std::io::stdout().lock();
        let mut current = "";
        for r in &results {
            if r.file != current {
                let _ = writeln!(out, "{}", r.file);
                current = &r.file;
            }
            match &r.failure {
                None => {
                    let _ = writeln!(out, "  ✓ {} ({} ms)", r.case, r.duration_ms);
                }
                Some(why) => {
                    let _ = writeln!(out, "  ✗ {}", r.case);
                    for line in why.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
        }
        let _ = writeln!(out, "{passed} passed, {failed} failed");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The test files below `dir`, skipping build output and dependencies.
fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | ".git") {
                find(&path, out);
            }
        } else if is_test_file(&name) {
            out.push(path);
        }
    }
}

fn is_test_file(name: &str) -> bool {
    [".test.json", ".test.yaml", ".test.yml"]
        .iter()
        .any(|x| name.ends_with(x))
}

/// One loaded test file.
struct Suite {
    file: String,
    machine: Machine,
    definition: StateMachine,
    machine_name: String,
    mock_config: Option<MockConfig>,
    cases: Vec<Case>,
}

struct Case {
    name: String,
    input: Value,
    mocks: Option<Value>,
    /// Where relative mock files are found.
    base: PathBuf,
    test_case: Option<String>,
    expect: Expect,
}

#[derive(Default)]
struct Expect {
    status: String,
    output: Option<Value>,
    output_contains: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    states: Option<Vec<String>>,
}

struct Job {
    suite: std::sync::Arc<Suite>,
    case: usize,
}

struct CaseResult {
    file: String,
    case: String,
    failure: Option<String>,
    duration_ms: u128,
}

fn read_document(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    match statecraft_language::source::read(&text) {
        Ok(source) => Ok(source.value),
        Err(diagnostics) => Err(diagnostics
            .iter()
            .map(|d| match (d.line, d.column) {
                (Some(l), Some(c)) => format!("{l}:{c}: {}", d.message),
                _ => d.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

fn load(file: &Path) -> Result<Suite, String> {
    let doc = read_document(file)?;
    let Value::Object(doc) = doc else {
        return Err("a test file is an object with `machine` and `cases`".into());
    };
    for key in doc.keys() {
        if !matches!(
            key.as_str(),
            "machine" | "mock_config" | "cases" | "state_machine_name"
        ) {
            return Err(format!(
                "/{key}: unknown field (a test file has machine, mock_config, state_machine_name and cases)"
            ));
        }
    }
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let machine_rel = doc
        .get("machine")
        .and_then(Value::as_str)
        .ok_or("/machine: the path of the state machine definition is required")?;
    let machine_path = base.join(machine_rel);
    let text = std::fs::read_to_string(&machine_path)
        .map_err(|e| format!("/machine: cannot read {}: {e}", machine_path.display()))?;
    let definition = statecraft_language::parse(&text).map_err(|diagnostics| {
        format!(
            "/machine: {} is not a valid definition: {}",
            machine_path.display(),
            diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let machine = Machine::new(definition.clone()).map_err(|e| format!("/machine: {e}"))?;
    let mock_config = match doc.get("mock_config") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => {
            Some(MockConfig::load(&base.join(p)).map_err(|e| format!("/mock_config: {e}"))?)
        }
        Some(_) => return Err("/mock_config must be the path of a mock configuration".into()),
    };
    let machine_name = match doc.get("state_machine_name").and_then(Value::as_str) {
        Some(n) => n.to_owned(),
        None => {
            let stem = Path::new(machine_rel)
                .file_name()
                .and_then(|s| s.to_str())
                .and_then(|s| s.split('.').next())
                .unwrap_or("machine")
                .to_owned();
            match &mock_config {
                Some(cfg)
                    if !cfg.machine_names().contains(&stem.as_str())
                        && cfg.machine_names().len() == 1 =>
                {
                    cfg.machine_names()[0].to_owned()
                }
                _ => stem,
            }
        }
    };
    let Some(Value::Array(raw_cases)) = doc.get("cases") else {
        return Err("/cases must be a list of cases".into());
    };
    if raw_cases.is_empty() {
        return Err("/cases is empty: a test file needs at least one case".into());
    }
    let mut cases = Vec::new();
    for (i, c) in raw_cases.iter().enumerate() {
        cases.push(case(c, &base).map_err(|e| format!("/cases/{i}{e}"))?);
    }
    Ok(Suite {
        file: file.display().to_string(),
        machine,
        definition,
        machine_name,
        mock_config,
        cases,
    })
}

fn case(c: &Value, base: &Path) -> Result<Case, String> {
    let Value::Object(c) = c else {
        return Err(": a case is an object with name, input and expect".into());
    };
    for key in c.keys() {
        if !matches!(
            key.as_str(),
            "name" | "input" | "mocks" | "test_case" | "expect"
        ) {
            return Err(format!(
                "/{key}: unknown field (a case has name, input, mocks, test_case and expect)"
            ));
        }
    }
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .ok_or("/name: every case needs a name")?
        .to_owned();
    let expect = match c.get("expect") {
        Some(Value::Object(e)) => expectation(e)?,
        None => Expect {
            status: "SUCCEEDED".into(),
            ..Expect::default()
        },
        Some(_) => return Err("/expect must be an object".into()),
    };
    Ok(Case {
        name,
        input: c.get("input").cloned().unwrap_or_else(|| json!({})),
        mocks: c.get("mocks").cloned(),
        base: base.to_path_buf(),
        test_case: match c.get("test_case") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("/test_case must be a test case name".into()),
        },
        expect,
    })
}

fn expectation(e: &Map<String, Value>) -> Result<Expect, String> {
    for key in e.keys() {
        if !matches!(
            key.as_str(),
            "status" | "output" | "output_contains" | "error" | "cause" | "states"
        ) {
            return Err(format!(
                "/expect/{key}: unknown field (status, output, output_contains, error, cause, states)"
            ));
        }
    }
    let status = match e.get("status") {
        None => "SUCCEEDED".to_owned(),
        Some(Value::String(s))
            if matches!(s.as_str(), "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED") =>
        {
            s.clone()
        }
        Some(other) => {
            return Err(format!(
                "/expect/status: {other} is not SUCCEEDED, FAILED, TIMED_OUT or ABORTED"
            ))
        }
    };
    let text = |k: &str| -> Result<Option<String>, String> {
        match e.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("/expect/{k} must be a string")),
        }
    };
    let states = match e.get("states") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("/expect/states must be a list of state names")?,
        ),
        Some(_) => return Err("/expect/states must be a list of state names".into()),
    };
    Ok(Expect {
        status,
        output: e.get("output").cloned(),
        output_contains: e.get("output_contains").cloned(),
        error: text("error")?,
        cause: text("cause")?,
        states,
    })
}

fn run_case(job: &Job) -> CaseResult {
    let suite = &job.suite;
    let case = &suite.cases[job.case];
    let started = Instant::now();
    let failure = check(suite, case).err();
    CaseResult {
        file: suite.file.clone(),
        case: case.name.clone(),
        failure,
        duration_ms: started.elapsed().as_millis(),
    }
}

fn check(suite: &Suite, case: &Case) -> Result<(), String> {
    let mut mocks = match &case.mocks {
        None => Mocks::default(),
        Some(Value::String(path)) => {
            Mocks::load(&case.base.join(path)).map_err(|e| format!("mocks: {}", e.0))?
        }
        Some(v) => Mocks::from_value(v.clone(), "mocks").map_err(|e| e.0)?,
    };
    let unused = mocks.unused_keys(&suite.definition);
    if !unused.is_empty() {
        return Err(unused.join("\n"));
    }
    let mut test_case = match (&case.test_case, &suite.mock_config) {
        (None, _) => None,
        (Some(name), Some(cfg)) => Some(
            cfg.test_case(&suite.machine_name, name)
                .map_err(|e| e.to_string())?,
        ),
        (Some(_), None) => {
            return Err("test_case is set but the file has no mock_config".into());
        }
    };
    let mut handler = |req: &TaskRequest| -> Response {
        if let Some(r) = mocks.answer(req) {
            return r;
        }
        match test_case.as_mut().and_then(|t| t.answer(&req.state_name)) {
            Some(MockedResponse::Return(v)) => Response::Succeeded(v),
            Some(MockedResponse::Throw(f)) => Response::Failed(f),
            None => Response::Failed(Failure::new(
                TASK_FAILED,
                format!(
                    "No mock response for the Task state '{}' (resource {}): add it to the case's mocks or to its test case",
                    req.state_name, req.resource
                ),
            )),
        }
    };
    let top: Vec<&str> = suite
        .definition
        .states
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let mut entered: Vec<String> = Vec::new();
    let mut observer = |e: &statecraft_types::HistoryEvent| {
        if e.event_type.as_str().ends_with("StateEntered") {
            if let Some(name) = e
                .details
                .as_ref()
                .and_then(|d| d.get("name"))
                .and_then(Value::as_str)
            {
                if top.contains(&name) {
                    entered.push(name.to_owned());
                }
            }
        }
    };
    let mut clock = VirtualClock { now_ms: T0 };
    let host = DeterministicHost::new(1);
    let options = Options {
        context: driver::context_for(&suite.machine_name, T0),
        clock: &mut clock,
        host: &host,
        observer: Some(&mut observer),
        max_events: Some(MAX_EVENTS),
        input_text: None,
    };
    let outcome = driver::run(&suite.machine, case.input.clone(), options, &mut handler);
    let status = match outcome.status {
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Aborted => "ABORTED",
    };
    let e = &case.expect;
    if status != e.status {
        let mut why = format!("status: expected {}, got {status}", e.status);
        if let Some(err) = &outcome.error {
            why.push_str(&format!(
                "\nerror: {err}: {}",
                outcome.cause.as_deref().unwrap_or("")
            ));
        }
        return Err(why);
    }
    if let Some(want) = &e.error {
        if outcome.error.as_deref() != Some(want) {
            return Err(format!(
                "error: expected {want:?}, got {:?}",
                outcome.error.as_deref().unwrap_or("")
            ));
        }
    }
    if let Some(want) = &e.cause {
        if outcome.cause.as_deref() != Some(want) {
            return Err(format!(
                "cause: expected {want:?}, got {:?}",
                outcome.cause.as_deref().unwrap_or("")
            ));
        }
    }
    let got = outcome.output.clone().unwrap_or(Value::Null);
    if let Some(want) = &e.output {
        if let Some(diff) = first_difference(want, &got, "$", false) {
            return Err(format!("output: {diff}"));
        }
    }
    if let Some(want) = &e.output_contains {
        if let Some(diff) = first_difference(want, &got, "$", true) {
            return Err(format!("output_contains: {diff}"));
        }
    }
    if let Some(want) = &e.states {
        if *want != entered {
            let at = want
                .iter()
                .zip(&entered)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(entered.len()));
            return Err(format!(
                "states: expected {want:?}, entered {entered:?} (first difference at position {at})"
            ));
        }
    }
    Ok(())
}

/// The first place where `got` differs from `want`, with its JSONPath.
/// With `subset`, objects in `got` may have members `want` does not name.
fn first_difference(want: &Value, got: &Value, at: &str, subset: bool) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let path = member_path(at, k);
                match g.get(k) {
                    None => return Some(format!("{path}: missing, expected {wv}")),
                    Some(gv) => {
                        if let Some(d) = first_difference(wv, gv, &path, subset) {
                            return Some(d);
                        }
                    }
                }
            }
            if !subset {
                if let Some(extra) = g.keys().find(|k| !w.contains_key(*k)) {
                    let path = member_path(at, extra);
                    return Some(format!("{path}: not expected, got {}", g[extra]));
                }
            }
            None
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                if let Some(d) = first_difference(wv, gv, &format!("{at}[{i}]"), subset) {
                    return Some(d);
                }
            }
            (w.len() != g.len())
                .then(|| format!("{at}: expected {} items, got {}", w.len(), g.len()))
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        _ if want == got => None,
        _ => Some(format!("{at}: expected {want}, got {got}")),
    }
}

fn member_path(at: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{at}.{key}")
    } else {
        format!("{at}['{}']", key.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The results as JUnit XML: one `<testsuite>` per test file.
fn junit(results: &[CaseResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = results.len();
    let failures = results.iter().filter(|r| r.failure.is_some()).count();
    out.push_str(&format!(
        "<testsuites name=\"statecraft test\" tests=\"{total}\" failures=\"{failures}\">\n"
    ));
    let mut files: Vec<&str> = results.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    for file in files {
        let mine: Vec<&CaseResult> = results.iter().filter(|r| r.file == file).collect();
        let f = mine.iter().filter(|r| r.failure.is_some()).count();
        let secs: f64 = mine.iter().map(|r| r.duration_ms as f64 / 1000.0).sum();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" time=\"{secs:.3}\">\n",
            xml_escape(file),
            mine.len()
        ));
        for r in mine {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(file),
                xml_escape(&r.case),
                r.duration_ms as f64 / 1000.0
            ));
            match &r.failure {
                None => out.push_str("/>\n"),
                Some(why) => {
                    let first = why.lines().next().unwrap_or("");
                    out.push_str(&format!(
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml_escape(first),
                        xml_escape(why)
                    ));
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_their_path() {
        let want = json!({"a": {"b": [1, {"c": "x"}]}, "weird key": 1});
        assert_eq!(
            first_difference(
                &want,
                &json!({"a": {"b": [1, {"c": "y"}]}, "weird key": 1}),
                "$",
                false
            ),
            Some("$.a.b[1].c: expected \"x\", got \"y\"".into())
        );
        assert_eq!(
            first_difference(&want, &json!({"a": {"b": [1]}, "weird key": 1}), "$", false),
            Some("$.a.b: expected 2 items, got 1".into())
        );
        assert_eq!(
            first_difference(&want, &json!({"a": {"b": [1, {"c": "x"}]}}), "$", false),
            Some("$['weird key']: missing, expected 1".into())
        );
        let got = json!({"a": {"b": [1, {"c": "x", "d": 2}]}, "weird key": 1.0, "e": 3});
        assert!(first_difference(&want, &got, "$", true).is_none());
        assert_eq!(
            first_difference(&want, &got, "$", false),
            Some("$.a.b[1].d: not expected, got 2".into())
        );
    }

    #[test]
    fn junit_escapes_and_counts() {
        let results = vec![
            CaseResult {
                file: "a.test.yaml".into(),
                case: "ok <1>".into(),
                failure: None,
                duration_ms: 5,
            },
            CaseResult {
                file: "a.test.yaml".into(),
                case: "bad".into(),
                failure: Some("output: $.x: expected \"1\", got 2\nmore".into()),
                duration_ms: 7,
            },
        ];
        let xml = junit(&results);
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("name=\"ok &lt;1&gt;\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"output: $.x: expected &quot;1&quot;, got 2\">"),
            "{xml}"
        );
    }
}
