//! `statecraft test` and Step Functions Local mock configurations, driven
//! through the real binary: the examples' own test files pass, a failing
//! case names its first difference, JUnit XML and JSON reports are written,
//! and an unchanged `MockConfigFile.json` answers Task states by invocation
//! (retries and Map iterations included) in `statecraft test` and in
//! `statecraft run --mock-config --test-case`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn statecraft(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(args)
        .current_dir(dir)
        .env_remove("SFN_MOCK_CONFIG")
        .output()
        .expect("the statecraft binary runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_example_has_a_test_file_and_they_pass() {
    let examples = repo().join("examples");
    for entry in std::fs::read_dir(&examples).expect("examples/").flatten() {
        if entry.path().is_dir() {
            let has = std::fs::read_dir(entry.path())
                .expect("example folder")
                .flatten()
                .any(|f| f.file_name().to_string_lossy().ends_with(".test.yaml"));
            assert!(has, "{} has no *.test.yaml", entry.path().display());
        }
    }
    let out = statecraft(&["test", "examples"], &repo());
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let last = t.lines().last().unwrap_or("");
    assert!(last.ends_with(" passed, 0 failed"), "{t}");
    assert!(!last.starts_with("0 passed"), "{t}");
}

const MACHINE: &str = r#"{
  "StartAt": "Charge",
  "States": {
    "Charge": {
      "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Retry": [{"ErrorEquals": ["Lambda.TimeoutException", "Lambda.ResourceNotReadyException"], "MaxAttempts": 5, "IntervalSeconds": 60}],
      "ResultSelector": {"id.$": "$.Payload.id"},
      "ResultPath": "$.charge",
      "Next": "Ship"
    },
    "Ship": {
      "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
      "ItemProcessor": {"StartAt": "Label", "States": {"Label": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}},
      "ResultPath": "$.labels", "End": true
    }
  }
}"#;

const MOCK_CONFIG: &str = r#"{
  "StateMachines": {
    "checkout": {
      "TestCases": {
        "RetryPath": {"Charge": "ChargeFlaky", "Label": "LabelEach"},
        "HybridPath": {"Charge": "ChargeOk"}
      }
    }
  },
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"id": "ch_1"}}}},
    "ChargeFlaky": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "not ready"}},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"id": "ch_4"}}}
    },
    "LabelEach": {
      "0": {"Return": {"MessageId": "m-0"}},
      "1": {"Return": {"MessageId": "m-1"}},
      "2": {"Return": {"MessageId": "m-2"}}
    }
  }
}"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("checkout.asl.json"), MACHINE).expect("write");
    std::fs::write(dir.path().join("MockConfigFile.json"), MOCK_CONFIG).expect("write");
    dir
}

#[test]
fn step_functions_local_test_cases_answer_by_invocation() {
    let dir = project();
    std::fs::create_dir(dir.path().join("tests")).expect("mkdir");
    std::fs::write(
        dir.path().join("tests/checkout.test.yaml"),
        r#"
machine: ../checkout.asl.json
mock_config: ../MockConfigFile.json
cases:
  - name: three failed charges are retried, each item gets its own label
    input: {items: [a, b, c, d]}
    test_case: RetryPath
    expect:
      status: SUCCEEDED
      output: {items: [a, b, c, d], charge: {id: ch_4}, labels: [{MessageId: m-0}, {MessageId: m-1}, {MessageId: m-2}, {MessageId: m-2}]}
      states: [Charge, Ship]
  - name: a state the test case does not name is not mocked
    input: {items: [a]}
    test_case: HybridPath
    expect:
      status: FAILED
      error: States.TaskFailed
      states: [Charge, Ship]
  - name: the case's own mocks win over the test case
    input: {items: []}
    test_case: RetryPath
    mocks: {Charge: [{Return: {Payload: {id: mine}}}]}
    expect:
      output_contains: {charge: {id: mine}}
"#,
    )
    .expect("write");
    let out = statecraft(&["test"], dir.path());
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("3 passed, 0 failed"), "{t}");

    // The same test case through `statecraft run`.
    let out = statecraft(
        &[
            "run",
            "checkout.asl.json",
            "--input",
            r#"{"items": ["a", "b"]}"#,
            "--mock-config",
            "MockConfigFile.json",
            "--test-case",
            "RetryPath",
            "--skip-waits",
            "--json",
        ],
        dir.path(),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(result["output"]["charge"]["id"], "ch_4");
    assert_eq!(result["output"]["labels"][1]["MessageId"], "m-1");

    // An unknown test case lists the known ones.
    let out = statecraft(
        &[
            "run",
            "checkout.asl.json",
            "--mock-config",
            "MockConfigFile.json",
            "--test-case",
            "SadPath",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("no test case \"SadPath\""), "{t}");
    assert!(t.contains("HybridPath, RetryPath"), "{t}");
}

#[test]
fn a_failing_case_names_its_first_difference_and_reports_are_written() {
    let dir = project();
    std::fs::write(
        dir.path().join("checkout.test.json"),
        r#"{"machine": "checkout.asl.json", "cases": [
          {"name": "good", "input": {"items": []},
           "mocks": {"Charge": [{"Return": {"Payload": {"id": "x"}}}]},
           "expect": {"output": {"items": [], "charge": {"id": "x"}, "labels": []}}},
          {"name": "wrong <charge>", "input": {"items": []},
           "mocks": {"Charge": [{"Return": {"Payload": {"id": "x"}}}]},
           "expect": {"output": {"items": [], "charge": {"id": "y"}, "labels": []}}},
          {"name": "unknown mock", "input": {"items": []},
           "mocks": {"Chrage": [{"Return": {}}]}}
        ]}"#,
    )
    .expect("write");
    let junit = dir.path().join("report.xml");
    let out = statecraft(
        &["test", ".", "--junit", junit.to_str().expect("utf-8 path")],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(
        t.contains("output: $.charge.id: expected \"y\", got \"x\""),
        "{t}"
    );
    assert!(
        t.contains("\"Chrage\" is not a state of the definition"),
        "{t}"
    );
    assert!(t.contains("1 passed, 2 failed"), "{t}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(xml.contains("tests=\"3\" failures=\"2\""), "{xml}");
    assert!(xml.contains("name=\"wrong &lt;charge&gt;\""), "{xml}");

    let out = statecraft(&["test", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["results"][0]["status"], "passed");
}

#[test]
fn unusable_test_files_and_empty_folders_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = statecraft(&["test"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no test files"), "{}", text(&out));

    std::fs::write(
        dir.path().join("broken.test.yaml"),
        "machine: nowhere.asl.json\ncases: []\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("typo.test.yaml"),
        "machine: nowhere.asl.json\ncasez: []\n",
    )
    .expect("write");
    let out = statecraft(&["test"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(t.contains("/machine: cannot read"), "{t}");
    assert!(t.contains("/casez: unknown field"), "{t}");
}
