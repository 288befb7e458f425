//! `statecraft executions pause|resume|restart|fail` against a real
//! `statecraft server`: the commands' output and exit codes, `--input` as
//! JSON text or `@FILE` (checked before anything is sent), and the server's
//! refusals shown with their AWS error names.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn post(port: u16, target: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Value::Null);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    if s.write_all(req.as_bytes()).is_err() {
        return (0, Value::Null);
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let text = buf.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(text).unwrap_or(Value::Null))
}

/// The server; SIGKILLed when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_statecraft"))
            .args(["server", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn statecraft server");
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while post(port, "AWSStepFunctions.ListStateMachines", &json!({})).0 != 200 {
            assert!(Instant::now() < deadline, "the server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn aws(&self, op: &str, body: Value) -> Value {
        let (status, v) = post(self.port, &format!("AWSStepFunctions.{op}"), &body);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
