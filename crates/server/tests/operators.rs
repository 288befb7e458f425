//! Operators in control, end to end through the real `statecraft` binary
//! and raw HTTP: `Statecraft.PauseExecution` holds a Wait-and-Pass chain and
//! `ResumeExecution` finishes it; `RestartExecution` continues FAILED,
//! SUCCEEDED and ABORTED executions from a middle state (with the state's
//! original input or an edited one); a machine that pauses on failure waits
//! for an operator while a flaky HTTP service is repaired; `kill -9` while
//! paused loses nothing; bad requests get AWS-style errors.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROLE: &str = common::ROLE;

/// A `statecraft server` process over a data directory; SIGKILLed when
/// dropped.
struct Node {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Node {
    async fn start(data: &Path, config: Option<&Path>) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut cmd = Command::new(common::statecraft_binary());
        cmd.args(["server", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let child = cmd.spawn().expect("spawn statecraft server");
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let node = Node { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                let (status, _) =
                    common::raw_post(addr, Some("AWSStepFunctions.ListStateMachines"), "{}").await;
                if status == 200 {
                    return node;
                }
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A request by its full target; status and JSON body.
    async fn raw(&self, target: &str, body: &Value) -> (u16, Value) {
        common::raw_post(self.addr, Some(target), &body.to_string()).await
    }

    /// An AWS operation that must succeed.
    async fn aws(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.raw(&format!("AWSStepFunctions.{op}"), &body).await;
        assert_eq!(status, 200, "{op} {body}: {v}");
        v
    }

    /// A Statecraft operation that must succeed.
    async fn op(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.raw(&format!("Statecraft.{op}"), &body).await;
        assert_eq!(status, 200, "Statecraft.{op} {body}: {v}");
        v
    }

    async fn create(&self, name: &str, definition: &Value) -> String {
        let v = self
            .aws(
                "CreateStateMachine",
                json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE}),
            )
            .await;
        v["stateMachineArn"].as_str().expect("arn").to_string()
    }

    async fn start_execution(&self, machine: &str, input: Value) -> String {
        let v = self
            .aws(
                "StartExecution",
                json!({"stateMachineArn": machine, "input": input.to_string()}),
            )
            .await;
        v["executionArn"].as_str().expect("arn").to_string()
    }

    async fn describe(&self, arn: &str) -> Value {
        self.aws("DescribeExecution", json!({"executionArn": arn}))
            .await
    }

    async fn history(&self, arn: &str) -> Vec<Value> {
        let v = self
            .aws(
                "GetExecutionHistory",
                json!({"executionArn": arn, "maxResults": 1000}),
            )
            .await;
        v["events"].as_array().cloned().unwrap_or_default()
    }

    /// Polls until the execution is no longer RUNNING (or 30 s passed).
    async fn wait_done(&self, arn: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = self.describe(arn).await;
            if d["status"] != "RUNNING" || Instant::now() > deadline {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls until `check` holds for DescribeExecution (or fails after 30 s).
    async fn wait_for(&self, arn: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = self.describe(arn).await;
            if check(&d) {
                return d;
            }
            assert!(Instant::now() < deadline, "{what} never happened: {d}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn metrics(&self) -> String {
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read");
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn types(history: &[Value]) -> Vec<String> {
    history
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The details of the events of one type, in order.
fn details_of(history: &[Value], event_type: &str) -> Vec<Value> {
    history
        .iter()
        .filter(|e| e["type"] == event_type)
        .map(|e| {
            e.as_object()
                .and_then(|m| {
                    m.iter()
                        .find(|(k, _)| k.ends_with("EventDetails"))
                        .map(|(_, v)| v.clone())
                })
                .unwrap_or(Value::Null)
        })
        .collect()
}

/// The inputs (parsed) the state `name` was entered with, in order.
fn inputs_of(history: &[Value], name: &str) -> Vec<Value> {
    history
        .iter()
        .filter_map(|e| e["stateEnteredEventDetails"].as_object())
        .filter(|d| d["name"] == name)
        .map(|d| serde_json::from_str(d["input"].as_str().unwrap_or("null")).unwrap_or_default())
        .collect()
}

fn wait_and_pass() -> Value {
    json!({
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 1, "Next": "P1"},
            "P1": {"Type": "Pass", "Result": "one", "ResultPath": "$.p1", "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 1, "Next": "P2"},
            "P2": {"Type": "Pass", "Result": "two", "ResultPath": "$.p2", "End": true}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_a_wait_and_pass_chain_and_resume_finishes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let machine = node.create("chain", &wait_and_pass()).await;
    let arn = node.start_execution(&machine, json!({"k": 1})).await;
    let paused = node
        .op("PauseExecution", json!({"executionArn": arn}))
        .await;
    assert!(paused["pauseDate"].is_number(), "{paused}");

    let d = node.describe(&arn).await;
    assert_eq!(d["status"], "RUNNING", "AWS clients still see RUNNING: {d}");
    assert_eq!(d["paused"], true, "{d}");
    assert_eq!(d["pauseDetails"]["pausedBy"], "operator", "{d}");
    let before = node.history(&arn).await;
    assert_eq!(
        types(&before).last().map(String::as_str),
        Some("ExecutionPaused")
    );

    // W1's second passes while paused: its firing is held, nothing moves.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = node.history(&arn).await;
    assert_eq!(types(&during), types(&before), "no new events while paused");
    let d = node.describe(&arn).await;
    assert_eq!(
        d["pauseDetails"]["heldEvents"], 1,
        "the timer's firing is held: {d}"
    );

    // The paused filter finds it, the unpaused one does not.
    let listed = node
        .aws(
            "ListExecutions",
            json!({"stateMachineArn": machine, "pausedFilter": true}),
        )
        .await;
    assert_eq!(listed["executions"][0]["executionArn"], arn.as_str());
    assert_eq!(listed["executions"][0]["paused"], true);
    let unpaused = node
        .aws(
            "ListExecutions",
            json!({"stateMachineArn": machine, "pausedFilter": false}),
        )
        .await;
    assert_eq!(unpaused["executions"], json!([]));

    let resumed = node
        .op("ResumeExecution", json!({"executionArn": arn}))
        .await;
    assert!(resumed["resumeDate"].is_number());
    // The Wait whose time passed while paused continued at once: W1 exited
    // in the resume's own transition.
    let h = node.history(&arn).await;
    let t = types(&h);
    let resumed_at = t
        .iter()
        .position(|x| x == "ExecutionResumed")
        .expect("resumed");
    assert_eq!(t[resumed_at + 1], "WaitStateExited", "{t:?}");
    assert_eq!(h[resumed_at]["timestamp"], h[resumed_at + 1]["timestamp"]);

    let done = node.wait_done(&arn).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(
        serde_json::from_str::<Value>(done["output"].as_str().unwrap_or("null"))
            .unwrap_or_default(),
        json!({"k": 1, "p1": "one", "p2": "two"})
    );
    assert!(done.get("paused").is_none(), "{done}");
    let h = node.history(&arn).await;
    assert_eq!(details_of(&h, "ExecutionPaused")[0]["pausedBy"], "operator");
    assert_eq!(
        details_of(&h, "ExecutionResumed")[0]["resumedBy"],
        "operator"
    );
    assert_eq!(details_of(&h, "ExecutionResumed")[0]["heldEvents"], 1);
    let metrics = node.metrics().await;
    for action in ["pause", "resume"] {
        assert!(
            metrics.contains(&format!(
                "statecraft_operator_actions_total{{action=\"{action}\"}} 1"
            )),
            "{action} is counted:\n{metrics}"
        );
    }
}

/// A → B → Check: Boom (Fail) when `fail`, else Hold (a Wait of `wait`
/// seconds) → Done.
fn three_ways() -> Value {
    json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "Next": "Check"},
            "Check": {"Type": "Choice",
                "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}],
                "Default": "Hold"},
            "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
            "Boom": {"Type": "Fail", "Error": "Bad", "Cause": "fail was true"},
            "Done": {"Type": "Succeed"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_continues_failed_succeeded_and_aborted_executions_from_a_middle_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let machine = node.create("three", &three_ways()).await;

    // FAILED, restarted from B with an edited input.
    let failed = node
        .start_execution(&machine, json!({"fail": true, "wait": 0}))
        .await;
    assert_eq!(node.wait_done(&failed).await["status"], "FAILED");
    let edited = json!({"fail": false, "wait": 0, "note": "fixed"});
    node.op(
        "RestartExecution",
        json!({"executionArn": failed, "fromState": "B", "input": edited.to_string()}),
    )
    .await;
    let d = node.wait_done(&failed).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["redriveCount"], 1);
    let h = node.history(&failed).await;
    assert_eq!(inputs_of(&h, "B").last(), Some(&edited));
    assert_eq!(inputs_of(&h, "A").len(), 1, "A did not run again");
    let redriven = &details_of(&h, "ExecutionRedriven")[0];
    assert_eq!(redriven["fromState"], "B");
    assert_eq!(redriven["restartedBy"], "operator");
    assert_eq!(redriven["inputEdited"], true);
    assert_eq!(redriven["redriveCount"], 1);
    // The first part is kept: the failure, then the restart.
    let t = types(&h);
    let failed_at = t
        .iter()
        .position(|x| x == "ExecutionFailed")
        .expect("failed");
    assert_eq!(t[failed_at + 1], "ExecutionRedriven");

    // SUCCEEDED, restarted from B with the input B received.
    let ok = node
        .start_execution(&machine, json!({"fail": false, "wait": 0}))
        .await;
    assert_eq!(node.wait_done(&ok).await["status"], "SUCCEEDED");
    node.op(
        "RestartExecution",
        json!({"executionArn": ok, "fromState": "B"}),
    )
    .await;
    let d = node.wait_done(&ok).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["redriveCount"], 1);
    let h = node.history(&ok).await;
    let b = inputs_of(&h, "B");
    assert_eq!(b.len(), 2);
    assert_eq!(b[0], b[1], "the original input of B again");
    assert_eq!(b[0], json!({"fail": false, "wait": 0, "a": 1}));
    assert_eq!(details_of(&h, "ExecutionRedriven")[0]["inputEdited"], false);

    // ABORTED while waiting, restarted from Check with a shorter wait.
    let aborted = node
        .start_execution(&machine, json!({"fail": false, "wait": 600}))
        .await;
    node.aws("StopExecution", json!({"executionArn": aborted}))
        .await;
    assert_eq!(node.wait_done(&aborted).await["status"], "ABORTED");
    node.op(
        "RestartExecution",
        json!({"executionArn": aborted, "fromState": "Check",
               "input": json!({"fail": false, "wait": 0}).to_string()}),
    )
    .await;
    let d = node.wait_done(&aborted).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    // And once more: a restarted execution can be restarted again.
    node.op(
        "RestartExecution",
        json!({"executionArn": aborted, "fromState": "Done"}),
    )
    .await;
    let d = node.wait_done(&aborted).await;
    assert_eq!(
        (d["status"].clone(), d["redriveCount"].clone()),
        (json!("SUCCEEDED"), json!(2))
    );
    assert!(node
        .metrics()
        .await
        .contains("statecraft_operator_actions_total{action=\"restart\"} 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_runs_a_newer_version_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let machine = node.create("versions", &three_ways()).await;
    let failed = node
        .start_execution(&machine, json!({"fail": true, "wait": 0}))
        .await;
    assert_eq!(node.wait_done(&failed).await["status"], "FAILED");
    // The fix: Boom no longer fails.
    let mut fixed = three_ways();
    fixed["States"]["Boom"] = json!({"Type": "Pass", "Result": "repaired", "End": true});
    node.aws(
        "UpdateStateMachine",
        json!({"stateMachineArn": machine, "definition": fixed.to_string(), "publish": true}),
    )
    .await;
    let versions = node
        .aws(
            "ListStateMachineVersions",
            json!({"stateMachineArn": machine}),
        )
        .await;
    let version = versions["stateMachineVersions"][0]["stateMachineVersionArn"]
        .as_str()
        .expect("a version")
        .to_string();
    node.op(
        "RestartExecution",
        json!({"executionArn": failed, "fromState": "Check", "definition": version}),
    )
    .await;
    let d = node.wait_done(&failed).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "\"repaired\"");
    let h = node.history(&failed).await;
    assert!(details_of(&h, "ExecutionRedriven")[0]["revisionId"].is_string());
    // DescribeStateMachineForExecution now shows the definition it runs.
    let sm = node
        .aws(
            "DescribeStateMachineForExecution",
            json!({"executionArn": failed}),
        )
        .await;
    assert!(sm["definition"].as_str().unwrap_or("").contains("repaired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_aws_style_errors_a_person_can_act_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let nested = json!({
        "StartAt": "Par",
        "States": {
            "Par": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}}
            ]}
        }
    });
    let machine = node.create("nested", &nested).await;
    let done = node.start_execution(&machine, json!({})).await;
    assert_eq!(node.wait_done(&done).await["status"], "SUCCEEDED");
    let waits = node
        .create(
            "waits",
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
        )
        .await;
    let running = node.start_execution(&waits, json!({})).await;
    let missing = format!(
        "{}:nope",
        done.rsplit_once(':').map(|(a, _)| a).unwrap_or("")
    );
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(262_145));

    // (operation, request, expected __type, words the message must hold)
    let cases: Vec<(&str, Value, &str, Vec<&str>)> = vec![
        (
            "RestartExecution",
            json!({"executionArn": done, "fromState": "Nope"}),
            "ValidationException",
            vec!["no state named 'Nope'", "top-level states are: Par"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": done, "fromState": "Inner"}),
            "ValidationException",
            vec!["inside a Parallel or Map", "only top-level states"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": done, "fromState": "Par", "input": "{not json"}),
            "InvalidExecutionInput",
            vec!["not valid JSON"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": done, "fromState": "Par", "input": huge}),
            "InvalidExecutionInput",
            vec!["at most 262144 bytes"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": running, "fromState": "W"}),
            "ExecutionNotRedrivable",
            vec!["RUNNING", "stop it"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": done}),
            "ValidationException",
            vec!["'fromState'", "must not be null"],
        ),
        (
            "RestartExecution",
            json!({"executionArn": done, "fromState": "Par", "definition": "not-a-revision"}),
            "ValidationException",
            vec!["not-a-revision"],
        ),
        (
            "PauseExecution",
            json!({"executionArn": done}),
            "ValidationException",
            vec!["is not running", "RestartExecution"],
        ),
        (
            "ResumeExecution",
            json!({"executionArn": running}),
            "ValidationException",
            vec!["is not paused"],
        ),
        (
            "FailExecution",
            json!({"executionArn": running}),
            "ValidationException",
            vec!["not paused on a failure", "StopExecution"],
        ),
        (
            "PauseExecution",
            json!({"executionArn": missing}),
            "ExecutionDoesNotExist",
            vec!["nope"],
        ),
        (
            "PauseExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}),
            "InvalidArn",
            vec!["execution ARN"],
        ),
        (
            "Teleport",
            json!({}),
            "UnknownOperationException",
            vec!["Statecraft.Teleport"],
        ),
    ];
    for (op, body, expected, words) in cases {
        let (status, v) = node.raw(&format!("Statecraft.{op}"), &body).await;
        let shown = format!(
            "{op} {}",
            body.to_string().chars().take(200).collect::<String>()
        );
        assert_eq!(status, 400, "{shown}: {v}");
        assert_eq!(v["__type"], expected, "{shown}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        for w in words {
            assert!(message.contains(w), "{shown}: {message:?} should say {w:?}");
        }
    }
    // Pausing twice says so.
    node.op("PauseExecution", json!({"executionArn": running}))
        .await;
    let (status, v) = node
        .raw(
            "Statecraft.PauseExecution",
            &json!({"executionArn": running}),
        )
        .await;
    assert_eq!(
        (status, v["__type"].clone()),
        (400, json!("ValidationException"))
    );
    assert!(v["message"]
        .as_str()
        .unwrap_or("")
        .contains("already paused"));
}

/// A local HTTP service that answers 503 until `healthy` is set, then 200
/// with `{"ok": true}`.
async fn flaky_service(healthy: Arc<AtomicBool>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let healthy = Arc::clone(&healthy);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = s.read(&mut buf).await;
                let (status, body) = if healthy.load(Ordering::SeqCst) {
                    ("200 OK", "{\"ok\":true}")
                } else {
                    ("503 Service Unavailable", "{\"ok\":false}")
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

fn calls(addr: std::net::SocketAddr) -> Value {
    json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("http://{addr}/work"), "Method": "GET"},
                "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
                "Next": "After"},
            "After": {"Type": "Pass", "End": true}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_on_failure_waits_for_the_fix_then_resume_retries_the_state() {
    let healthy = Arc::new(AtomicBool::new(false));
    let service = flaky_service(Arc::clone(&healthy)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("statecraft.toml");
    std::fs::write(&config, "[machines.flaky]\non_failure = \"pause\"\n").expect("config");
    let node = Node::start(&dir.path().join("data"), Some(&config)).await;

    // By configuration.
    let machine = node.create("flaky", &calls(service)).await;
    let arn = node.start_execution(&machine, json!({})).await;
    let d = node
        .wait_for(&arn, "the pause on failure", |d| d["paused"] == true)
        .await;
    assert_eq!(d["status"], "RUNNING", "{d}");
    assert_eq!(d["pauseDetails"]["reason"], "failure");
    assert_eq!(d["pauseDetails"]["state"], "Call");
    assert_eq!(d["pauseDetails"]["error"], "States.Http.StatusCode.503");
    assert!(d.get("error").is_none(), "not failed: {d}");
    let h = node.history(&arn).await;
    assert!(
        !types(&h).contains(&"ExecutionFailed".to_string()),
        "{:?}",
        types(&h)
    );
    assert_eq!(
        details_of(&h, "ExecutionPaused")[0]["pausedBy"],
        "statecraft"
    );

    // Still paused a while later: it waits for the operator.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(node.describe(&arn).await["paused"], true);

    healthy.store(true, Ordering::SeqCst);
    node.op("ResumeExecution", json!({"executionArn": arn}))
        .await;
    let d = node.wait_done(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"ok\":true}");
    let t = types(&node.history(&arn).await);
    let resumed = t
        .iter()
        .position(|x| x == "ExecutionResumed")
        .expect("resumed");
    assert_eq!(t[resumed + 1], "ExecutionRedriven", "{t:?}");
    assert!(!t.contains(&"ExecutionFailed".to_string()));

    // By tag, on a machine the configuration does not name; this time the
    // operator lets it fail.
    healthy.store(false, Ordering::SeqCst);
    let tagged = node.create("tagged", &calls(service)).await;
    node.aws(
        "TagResource",
        json!({"resourceArn": tagged, "tags": [{"key": "statecraft:onFailure", "value": "pause"}]}),
    )
    .await;
    let arn = node.start_execution(&tagged, json!({})).await;
    node.wait_for(&arn, "the pause on failure", |d| d["paused"] == true)
        .await;
    node.op("FailExecution", json!({"executionArn": arn})).await;
    let d = node.wait_done(&arn).await;
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "States.Http.StatusCode.503");
    let h = node.history(&arn).await;
    assert_eq!(details_of(&h, "ExecutionFailed")[0]["failedBy"], "operator");

    // Paused on failure, then stopped: ABORTED, as a stop of a running
    // execution ends; paused on failure, then restarted with an edited
    // input: the failure is recorded first, then the restart.
    let arn = node.start_execution(&tagged, json!({})).await;
    node.wait_for(&arn, "the pause on failure", |d| d["paused"] == true)
        .await;
    node.aws(
        "StopExecution",
        json!({"executionArn": arn, "error": "Operator.Gave.Up"}),
    )
    .await;
    let d = node.wait_done(&arn).await;
    assert_eq!(
        (d["status"].clone(), d["error"].clone()),
        (json!("ABORTED"), json!("Operator.Gave.Up"))
    );
    let arn = node.start_execution(&tagged, json!({})).await;
    node.wait_for(&arn, "the pause on failure", |d| d["paused"] == true)
        .await;
    healthy.store(true, Ordering::SeqCst);
    node.op(
        "RestartExecution",
        json!({"executionArn": arn, "fromState": "Call", "input": "{\"again\": true}"}),
    )
    .await;
    let d = node.wait_done(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let t = types(&node.history(&arn).await);
    let failed_at = t
        .iter()
        .position(|x| x == "ExecutionFailed")
        .expect("failed first");
    assert_eq!(t[failed_at + 1], "ExecutionRedriven", "{t:?}");
    healthy.store(false, Ordering::SeqCst);

    // An untagged machine not in the configuration fails as on AWS.
    let plain = node.create("plain", &calls(service)).await;
    let arn = node.start_execution(&plain, json!({})).await;
    assert_eq!(node.wait_done(&arn).await["status"], "FAILED");

    let metrics = node.metrics().await;
    assert!(
        metrics.contains("statecraft_operator_actions_total{action=\"pause_on_failure\"} 4"),
        "{metrics}"
    );
    assert!(metrics.contains("statecraft_operator_actions_total{action=\"fail\"} 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_paused_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let machine = node.create("chain", &wait_and_pass()).await;
    let held = node.start_execution(&machine, json!({"k": 1})).await;
    let early = node.start_execution(&machine, json!({"k": 2})).await;
    node.op("PauseExecution", json!({"executionArn": held}))
        .await;
    node.op("PauseExecution", json!({"executionArn": early}))
        .await;
    // `held`'s timer fires (and is held) before the crash; `early` is
    // killed with its timer still armed.
    node.wait_for(&held, "the held firing", |d| {
        d["pauseDetails"]["heldEvents"] == 1
    })
    .await;
    let before = node.history(&held).await;
    node.kill();

    let node = Node::start(dir.path(), None).await;
    let d = node.describe(&held).await;
    assert_eq!(
        (d["status"].clone(), d["paused"].clone()),
        (json!("RUNNING"), json!(true))
    );
    assert_eq!(d["pauseDetails"]["heldEvents"], 1, "{d}");
    assert_eq!(types(&node.history(&held).await), types(&before));
    // The recovered timer of `early` fires into the pause, not past it.
    node.wait_for(&early, "the recovered firing", |d| {
        d["pauseDetails"]["heldEvents"] == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!types(&node.history(&early).await).contains(&"WaitStateExited".to_string()));

    for arn in [&held, &early] {
        node.op("ResumeExecution", json!({"executionArn": arn}))
            .await;
        let d = node.wait_done(arn).await;
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        let t = types(&node.history(arn).await);
        assert_eq!(
            t.iter().filter(|x| *x == "WaitStateExited").count(),
            2,
            "each Wait exited once: {t:?}"
        );
    }
}

/// A local HTTP service that answers each request after `delay` with
/// `{"n": <how many requests so far>}`, counting them.
async fn slow_service(
    delay: Duration,
    count: Arc<std::sync::atomic::AtomicUsize>,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = s.read(&mut buf).await;
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(delay).await;
                let body = format!("{{\"n\":{n}}}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_in_flight_finishes_while_paused_and_its_held_result_survives_kill_9() {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let service = slow_service(Duration::from_millis(800), Arc::clone(&count)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), None).await;
    let machine = node
        .create(
            "inflight",
            &json!({
                "StartAt": "Call",
                "States": {
                    "Call": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                        "Parameters": {"ApiEndpoint": format!("http://{service}/slow"), "Method": "GET"},
                        "OutputPath": "$.ResponseBody", "Next": "After"},
                    "After": {"Type": "Pass", "End": true}
                }
            }),
        )
        .await;
    let arn = node.start_execution(&machine, json!({})).await;
    node.op("PauseExecution", json!({"executionArn": arn}))
        .await;
    // The call goes on while paused; its answer is held, not applied.
    let d = node
        .wait_for(&arn, "the held task result", |d| {
            d["pauseDetails"]["heldEvents"] == 1
        })
        .await;
    assert_eq!(d["status"], "RUNNING");
    assert!(!types(&node.history(&arn).await).contains(&"TaskSucceeded".to_string()));
    node.kill();

    let node = Node::start(dir.path(), None).await;
    assert_eq!(node.describe(&arn).await["pauseDetails"]["heldEvents"], 1);
    // Held, so not called again after the crash.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count.load(Ordering::SeqCst), 1, "the task ran once");
    node.op("ResumeExecution", json!({"executionArn": arn}))
        .await;
    let d = node.wait_done(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"n\":1}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_on_failure_setting_stops_the_start_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("statecraft.toml");
    std::fs::write(&config, "[machines.flaky]\non_failure = \"sometimes\"\n").expect("config");
    let out = Command::new(common::statecraft_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run statecraft server");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("machines.<name>.on_failure")
            && err.contains("sometimes (machine flaky)")
            && err.contains("use \"pause\" or \"fail\""),
        "{err}"
    );
}
