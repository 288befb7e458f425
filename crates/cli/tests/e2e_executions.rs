//! `statecraft executions pause|resume|restart|fail` against a real
//! `statecraft server`: the commands' output and exit codes, `--input` as
//! JSON text or `@FILE` (checked before anything is sent), and the server's
//! refusals shown with their AWS error names.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statecraft_testsupport::api;
use statecraft_testsupport::server::free_port;

/// The server (the real binary, on a free port); killed when dropped.
struct Server(statecraft_testsupport::server::Server);

impl Server {
    fn start() -> Server {
        Server(statecraft_testsupport::server::Server::start(
            Path::new(env!("CARGO_BIN_EXE_statecraft")),
            "executions",
            &[],
        ))
    }

    fn aws(&self, op: &str, body: Value) -> Value {
        api::call(self.0.port, op, &body)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_statecraft"))
            .arg("executions")
            .args(args)
            .args(["--endpoint", &self.endpoint()])
            .output()
            .expect("run statecraft executions")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn pause_resume_restart_and_their_errors_from_the_command_line() {
    let server = Server::start();
    let definition = json!({
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Echo"},
            "Echo": {"Type": "Pass", "End": true}
        }
    });
    let machine = server.aws(
        "CreateStateMachine",
        json!({"name": "cli", "definition": definition.to_string(),
               "roleArn": "arn:aws:iam::123456789012:role/r"}),
    )["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let arn = server.aws(
        "StartExecution",
        json!({"stateMachineArn": machine, "input": "{\"wait\":600}"}),
    )["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();

    let out = server.cli(&["pause", &arn]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pauseDate"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        server.aws("DescribeExecution", json!({"executionArn": arn}))["paused"],
        true
    );

    let out = server.cli(&["pause", &arn]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ValidationException: Execution")
            && text(&out.stderr).contains("already paused"),
        "{}",
        text(&out.stderr)
    );

    let out = server.cli(&["resume", &arn]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.aws("StopExecution", json!({"executionArn": arn}));

    // A bad --input is refused before anything is sent.
    let out = server.cli(&[
        "restart",
        &arn,
        "--from-state",
        "Hold",
        "--input",
        "{wait:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--input is not valid JSON"),
        "{}",
        text(&out.stderr)
    );

    let out = server.cli(&["restart", &arn, "--from-state", "Nope", "--input", "{}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ValidationException")
            && text(&out.stderr).contains("no state named 'Nope'"),
        "{}",
        text(&out.stderr)
    );

    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), "{\"wait\": 0, \"from\": \"file\"}").expect("write input");
    let at = format!("@{}", file.path().display());
    let out = server.cli(&["restart", &arn, "--from-state", "Hold", "--input", &at]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("restartDate"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let d = loop {
        let d = server.aws("DescribeExecution", json!({"executionArn": arn}));
        if d["status"] != "RUNNING" || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"wait\":0,\"from\":\"file\"}");
    assert_eq!(d["redriveCount"], 1);

    // Nobody listening.
    let out = Command::new(env!("CARGO_BIN_EXE_statecraft"))
        .args(["executions", "pause", &arn, "--endpoint"])
        .arg(format!("http://127.0.0.1:{}", free_port()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "{}",
        text(&out.stderr)
    );
}
