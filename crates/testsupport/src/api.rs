//! The Step Functions API over plain HTTP/1.1 (AWS JSON 1.0, one
//! connection per request), for tests that drive a server process: no SDK,
//! so a call to a node that was just killed is an answer of `None`, not a
//! retry loop. Plus the steps most tests take: create a machine, start an
//! execution, wait for its result, read its whole history.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The role ARN tests give their state machines (the server checks only
/// its shape).
pub const ROLE: &str = "arn:aws:iam::123456789012:role/statecraft-test";

/// One HTTP/1.1 request (the raw text, `Connection: close`) to
/// `127.0.0.1:port`: the status and the body (de-chunked), or `None` when
/// nothing answers (the node is down or was killed).
pub fn exchange(port: u16, request: &str, timeout: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

/// A chunked body put back together.
pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(rest.get(..n).unwrap_or(rest));
        body = rest.get(n + 2..).unwrap_or("");
    }
    out
}

/// `GET path`: status and body, or `None` when nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
        Duration::from_secs(10),
    )
}

/// Whether the server on `port` answers `/healthz` with 200 `ok`.
pub fn healthy(port: u16) -> bool {
    get(port, "/healthz").is_some_and(|(status, body)| status == 200 && body.trim() == "ok")
}

/// One Step Functions API call with a raw body text: the status and the
/// answer (JSON, or `{"raw": text}` when it is not JSON); `None` when
/// nothing answers. Waits up to 90 s (a GetActivityTask long poll is 60).
pub fn try_call_raw(port: u16, operation: &str, body: &str) -> Option<(u16, Value)> {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AWSStepFunctions.{operation}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = exchange(port, &request, Duration::from_secs(90))?;
    let value = serde_json::from_str(&text).unwrap_or(json!({ "raw": text }));
    Some((status, value))
}

/// [`try_call_raw`] with a JSON body.
pub fn try_call(port: u16, operation: &str, body: &Value) -> Option<(u16, Value)> {
    try_call_raw(port, operation, &body.to_string())
}

/// One call that must answer 200; a failure names the operation and the
/// answer.
pub fn call(port: u16, operation: &str, body: &Value) -> Value {
    let (status, value) =
        try_call(port, operation, body).unwrap_or_else(|| panic!("{operation}: no HTTP answer"));
    assert_eq!(status, 200, "{operation}: {value}");
    value
}

/// CreateStateMachine (STANDARD); the machine's ARN.
pub fn create_machine(port: u16, name: &str, definition: &Value) -> String {
    let created = call(
        port,
        "CreateStateMachine",
        &json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE}),
    );
    text(&created, "stateMachineArn")
}

/// CreateActivity; the activity's ARN.
pub fn create_activity(port: u16, name: &str) -> String {
    text(
        &call(port, "CreateActivity", &json!({"name": name})),
        "activityArn",
    )
}

/// StartExecution; the execution's ARN.
pub fn start_execution(port: u16, machine: &str, name: &str, input: &Value) -> String {
    text(
        &call(
            port,
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": name, "input": input.to_string()}),
        ),
        "executionArn",
    )
}

/// DescribeExecution, asked of the first of `ports` that answers, until the
/// execution is no longer RUNNING: its description. Fails after `within`.
pub fn wait_finished(ports: &[u16], arn: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        for port in ports {
            if let Some((200, d)) =
                try_call(*port, "DescribeExecution", &json!({"executionArn": arn}))
            {
                if d["status"] != "RUNNING" {
                    return d;
                }
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{arn} is still running after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The execution's whole history, every page, oldest first.
pub fn history(port: u16, arn: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = call(port, "GetExecutionHistory", &body);
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return events,
        }
    }
}

fn text(answer: &Value, member: &str) -> String {
    answer[member]
        .as_str()
        .unwrap_or_else(|| panic!("no {member} in {answer}"))
        .to_string()
}
