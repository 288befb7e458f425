//! Crash test of `statecraft server`: start many executions that wait, kill
//! the process with SIGKILL mid-flight (twice), restart it on the same data
//! directory, and check that every execution completes with the right output
//! and a history with no gap and no duplicate.
//!
//! It drives the real binary over HTTP with a minimal hand-written AWS JSON
//! 1.0 client (std only), so it needs no dependency beyond the CLI's own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A scratch directory removed at the end of the test.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("statecraft-crash-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server process; killed with SIGKILL when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data: &Path) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_statecraft"))
            .args(["server", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn statecraft server");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if get(port, "/healthz").is_some_and(|b| b.starts_with("ok")) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not come up on port {port}");
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn call(&self, op: &str, body: &Value) -> Value {
        let (status, v) = post(self.port, op, &body.to_string());
        assert_eq!(status, 200, "{op} {body}: {v}");
        v
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exchange(port: u16, request: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1)?.to_string();
    Some((status, body))
}

fn get(port: u16, path: &str) -> Option<String> {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
    .map(|r| r.1)
}

fn post(port: u16, op: &str, body: &str) -> (u16, Value) {
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = exchange(port, &req).unwrap_or((0, String::new()));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn executions_survive_kill_9() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch.0);
    let machine = server.call(
        "CreateStateMachine",
        &json!({
            "name": "crash",
            "definition": DEFINITION,
            "roleArn": "arn:aws:iam::123456789012:role/crash",
        }),
    )["stateMachineArn"]
        .as_str()
        .expect("machine ARN")
        .to_string();
    let mut arns = Vec::new();
    for i in 0..EXECUTIONS {
        let started = server.call(
            "StartExecution",
            &json!({
                "stateMachineArn": machine,
                "name": format!("e{i}"),
                "input": json!({"n": i}).to_string(),
            }),
        );
        arns.push(started["executionArn"].as_str().expect("arn").to_string());
    }

    // First crash while every execution waits; second one after some waits
    // may have fired (and others fell due while the process was down).
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let server = Server::start(&scratch.0);
    std::thread::sleep(Duration::from_millis(1900));
    server.kill();
    let server = Server::start(&scratch.0);

    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, arn) in arns.iter().enumerate() {
        let d = loop {
            let d = server.call("DescribeExecution", &json!({ "executionArn": arn }));
            if d["status"] != "RUNNING" || Instant::now() > deadline {
                break d;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let output: Value =
            serde_json::from_str(d["output"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(output, json!({"n": i, "done": true}), "{arn}");

        let history = server.call(
            "GetExecutionHistory",
            &json!({ "executionArn": arn, "maxResults": 1000 }),
        );
        let events = history["events"].as_array().expect("events");
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
