//! Crash test of `statecraft server`: start many executions that wait, kill
//! the process with SIGKILL mid-flight (twice), restart it on the same data
//! directory, and check that every execution completes with the right output
//! and a history with no gap and no duplicate.
//!
//! It drives the real binary over plain HTTP with the test-support crate's
//! server process and API calls.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statecraft_testsupport::api;
use statecraft_testsupport::server::{Scratch, Server};

const EXECUTIONS: usize = 40;

/// Pass → Wait 2 s → Pass: the wait spans the kills.
const DEFINITION: &str = r#"{
  "StartAt": "Take",
  "States": {
    "Take": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Sleep"},
    "Sleep": {"Type": "Wait", "Seconds": 2, "Next": "Mark"},
    "Mark": {"Type": "Pass", "Result": true, "ResultPath": "$.done", "End": true}
  }
}"#;

fn start(dir: &Path) -> Server {
    Server::start_in(Path::new(env!("CARGO_BIN_EXE_statecraft")), dir, &[], &[])
}

#[test]
fn executions_survive_kill_9() {
    let scratch = Scratch::new("crash");
    let server = start(scratch.path());
    let definition: Value = serde_json::from_str(DEFINITION).expect("the definition is JSON");
    let machine = api::create_machine(server.port, "crash", &definition);
    let arns: Vec<String> = (0..EXECUTIONS)
        .map(|i| api::start_execution(server.port, &machine, &format!("e{i}"), &json!({"n": i})))
        .collect();

    // First crash while every execution waits; second one after some waits
    // may have fired (and others fell due while the process was down).
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let server = start(scratch.path());
    std::thread::sleep(Duration::from_millis(1900));
    server.kill();
    let server = start(scratch.path());

    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, arn) in arns.iter().enumerate() {
        let within = deadline.saturating_duration_since(Instant::now());
        let d = api::wait_finished(&[server.port], arn, within);
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let output: Value =
            serde_json::from_str(d["output"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(output, json!({"n": i, "done": true}), "{arn}");

        let events = api::history(server.port, arn);
        let ids: Vec<u64> = events.iter().filter_map(|e| e["id"].as_u64()).collect();
        assert_eq!(
            ids,
            (1..=events.len() as u64).collect::<Vec<_>>(),
            "{arn}: history ids have a gap or a duplicate"
        );
        let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "WaitStateEntered",
                "WaitStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ],
            "{arn}: a state ran twice or not at all"
        );
    }
    server.kill();
}
