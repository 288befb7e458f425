//! Observability read through the real endpoints: `/metrics` scraped after
//! executions ran, and the JSON log of the real binary with a state
//! machine whose `loggingConfiguration` is `ALL`.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, ExecutionStatus, LogDestination, LogLevel, LoggingConfiguration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path` over plain HTTP/1.1; returns status, content type and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// The value of the sample `name{labels}` in a scrape, if present.
fn sample(scrape: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_executions_transitions_api_calls_and_commits() {
    let server = common::TestServer::start().await;
    let client = &server.client;
    let ok = common::create(client, "metrics-ok", common::PASS).await;
    let failing = common::create(
        client,
        "metrics-fail",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"on purpose"}}}"#,
    )
    .await;
    for (machine, times) in [(&ok, 2), (&failing, 1)] {
        for _ in 0..times {
            let exec = client
                .start_execution()
                .state_machine_arn(machine)
                .send()
                .await
                .expect("start")
                .execution_arn;
            let done = common::wait_done(client, &exec).await;
            assert_ne!(done.status, ExecutionStatus::Running);
        }
    }
    // One client error, for the outcome label.
    let _ = client
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nope:nope")
        .send()
        .await;

    let (status, content_type, scrape) = get(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let ok_labels = format!("state_machine=\"{ok}\"");
    let fail_labels = format!("state_machine=\"{failing}\"");
    assert_eq!(
        sample(&scrape, "statecraft_executions_started_total", &ok_labels),
        Some(2.0),
        "{scrape}"
    );
    assert_eq!(
        sample(&scrape, "statecraft_executions_succeeded_total", &ok_labels),
        Some(2.0)
    );
    assert_eq!(
        sample(&scrape, "statecraft_executions_failed_total", &fail_labels),
        Some(1.0)
    );
    assert_eq!(
        sample(&scrape, "statecraft_executions_failed_total", &ok_labels),
        None
    );
    assert_eq!(
        sample(&scrape, "statecraft_state_transitions_total", &ok_labels),
        Some(2.0)
    );
    assert!(
        sample(
            &scrape,
            "statecraft_api_requests_total",
            "operation=\"StartExecution\",outcome=\"ok\""
        )
        .is_some_and(|v| v >= 3.0),
        "{scrape}"
    );
    assert!(sample(
        &scrape,
        "statecraft_api_requests_total",
        "operation=\"DescribeExecution\",outcome=\"client_error\""
    )
    .is_some_and(|v| v >= 1.0));
    assert!(sample(
        &scrape,
        "statecraft_api_request_duration_seconds_count",
        "operation=\"CreateStateMachine\""
    )
    .is_some_and(|v| v >= 2.0));
    // The writer committed batches (machines, executions, transitions).
    let batches = scrape
        .lines()
        .find_map(|l| l.strip_prefix("statecraft_store_commit_batch_size_count "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(batches.is_some_and(|b| b >= 3.0), "{batches:?}");
    // No execution ids in any label.
    assert!(
        !scrape.contains(":execution:"),
        "an execution ARN is a label"
    );
    server.stop().await;
}

/// Unknown operations share one label value instead of one per name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operations_do_not_grow_the_label_set() {
    let server = common::TestServer::start().await;
    let (status, _) = server
        .raw(Some("AWSStepFunctions.MadeUpOperation42"), "{}")
        .await;
    assert_eq!(status, 400);
    let (_, _, scrape) = get(server.addr, "/metrics").await;
    assert!(!scrape.contains("MadeUpOperation42"));
    assert!(scrape.contains("operation=\"unknown\""), "{scrape}");
    server.stop().await;
}

/// `statecraft server --log-format json`: every line is a JSON object; the
/// startup line and the execution lines carry their fields, and the
/// `loggingConfiguration` (ALL, without execution data) decides which
/// history events are logged and that inputs stay out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_carry_the_execution_arn() {
    let bin = common::statecraft_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(&bin)
        .args(["server", "--log-format", "json"])
        .args(["--log-level", "info,statecraft_telemetry::metrics=debug"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn statecraft server");
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let logging = LoggingConfiguration::builder()
        .level(LogLevel::All)
        .include_execution_data(false)
        .destinations(
            LogDestination::builder()
                .cloud_watch_logs_log_group(
                    CloudWatchLogsLogGroup::builder()
                        .log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:sf:*")
                        .build(),
                )
                .build(),
        )
        .build();
    let machine = client
        .create_state_machine()
        .name("logged")
        .definition(common::PASS)
        .role_arn(common::ROLE)
        .logging_configuration(logging)
        .send()
        .await
        .expect("create")
        .state_machine_arn;
    let exec = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"secret":"do-not-log"}"#)
        .send()
        .await
        .expect("start")
        .execution_arn;
    assert_eq!(
        common::wait_done(&client, &exec).await.status,
        ExecutionStatus::Succeeded
    );

    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(child.try_wait(), Ok(Some(_))) {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }

    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let listening = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("statecraft server listening"))
        })
        .unwrap_or_else(|| panic!("no startup line in {stderr}"));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["addr"], format!("127.0.0.1:{port}"));
    assert!(listening["timestamp"].is_string());

    let about_exec: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["execution_arn"] == exec.as_str())
        .collect();
    let event_types: Vec<&str> = about_exec
        .iter()
        .filter(|l| l["message"] == "execution event")
        .filter_map(|l| l["event_type"].as_str())
        .collect();
    assert_eq!(
        event_types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ],
        "{stderr}"
    );
    assert!(about_exec
        .iter()
        .any(|l| l["message"] == "execution finished" && l["status"] == "SUCCEEDED"));
    // includeExecutionData is false: the input stays out of the log.
    assert!(!stderr.contains("do-not-log"), "{stderr}");
}

/// A tiny OTLP collector: records the body of every POST to `/v1/traces`.
fn collector() -> (
    u16,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind collector");
    let port = listener.local_addr().expect("addr").port();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            if request_line.starts_with("POST /v1/traces ") {
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().expect("lock").push(v);
                }
            }
            let mut stream = reader.into_inner();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        }
    });
    (port, received)
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, an execution arrives at the
/// collector as one trace: a root span named after the state machine and
/// one child span per state, the Retrier's second attempt as a span event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_are_exported_as_otlp_traces() {
    let bin = common::statecraft_binary();
    let (collector_port, received) = collector();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(&bin)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{collector_port}"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn statecraft server");
    let client = common::client(&format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.list_state_machines().send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The task fails (nothing listens on port 9), is retried once, then
    // caught into Done.
    let machine = common::create(
        &client,
        "traced",
        r#"{"StartAt":"First","States":{
            "First":{"Type":"Pass","Next":"Call"},
            "Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
                    "Parameters":{"ApiEndpoint":"http://127.0.0.1:9/x","Method":"GET"},
                    "Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":1}],
                    "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done"}],
                    "End":true},
            "Done":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let exec = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start")
        .execution_arn;
    assert_eq!(
        common::wait_done(&client, &exec).await.status,
        ExecutionStatus::Succeeded
    );
    let trace_id: String = statecraft_telemetry::TraceContext::execution(&exec)
        .trace_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // The exporter sends every half second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let spans: Vec<serde_json::Value> = loop {
        let spans: Vec<serde_json::Value> = received
            .lock()
            .expect("lock")
            .iter()
            .flat_map(|r| {
                r["resourceSpans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
                    .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .filter(|s| s["traceId"] == trace_id.as_str())
            .collect();
        if spans.iter().any(|s| s.get("parentSpanId").is_none()) || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;

    let root = spans
        .iter()
        .find(|s| s.get("parentSpanId").is_none())
        .unwrap_or_else(|| panic!("no root span in {spans:?}"));
    assert_eq!(root["name"], "traced");
    assert_eq!(root["status"]["code"], 1);
    let mut states: Vec<&str> = spans
        .iter()
        .filter(|s| s["parentSpanId"] == root["spanId"])
        .filter_map(|s| s["name"].as_str())
        .collect();
    states.sort_unstable();
    assert_eq!(states, ["Call", "Done", "First"], "{spans:?}");
    let call = spans
        .iter()
        .find(|s| s["name"] == "Call")
        .expect("Call span");
    let events: Vec<&str> = call["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(events.contains(&"retry"), "{call}");
    // The start and end are nanosecond strings, start before end.
    let ns = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u128>().ok());
    assert!(ns(&root["startTimeUnixNano"]) <= ns(&root["endTimeUnixNano"]));
}

/// Activity queues are measured (waiting tasks), and a GetActivityTask
/// that found a task is timed under its activity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_queue_depth_and_poll_waits() {
    let server = common::TestServer::start().await;
    let client = &server.client;
    let activity = client
        .create_activity()
        .name("metrics-activity")
        .send()
        .await
        .expect("create activity")
        .activity_arn;
    let machine = common::create(
        client,
        "metrics-activity-machine",
        &format!(r#"{{"StartAt":"A","States":{{"A":{{"Type":"Task","Resource":"{activity}","End":true}}}}}}"#),
    )
    .await;
    client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start");
    // The task is queued once the execution reaches the state.
    let depth_label = format!("activity=\"{activity}\"");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, scrape) = get(server.addr, "/metrics").await;
        let depth = sample(&scrape, "statecraft_activity_queue_depth", &depth_label);
        if depth == Some(1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "queue depth {depth:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("poll");
    assert!(task.task_token.is_some());
    let (_, _, scrape) = get(server.addr, "/metrics").await;
    assert_eq!(
        sample(
            &scrape,
            "statecraft_activity_poll_wait_seconds_count",
            &format!("activity=\"{activity}\"")
        ),
        Some(1.0),
        "{scrape}"
    );
    // Taken by the worker: no longer waiting.
    assert_eq!(
        sample(&scrape, "statecraft_activity_queue_depth", &depth_label),
        Some(0.0)
    );
    server.stop().await;
}

/// Synchronous express executions (never stored) are counted too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_express_executions_are_counted() {
    let server = common::TestServer::start().await;
    let client = &server.client;
    let machine = client
        .create_state_machine()
        .name("metrics-express")
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(common::PASS)
        .role_arn(common::ROLE)
        .send()
        .await
        .expect("create express")
        .state_machine_arn;
    client
        .start_sync_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("sync");
    let (_, _, scrape) = get(server.addr, "/metrics").await;
    let labels = format!("state_machine=\"{machine}\"");
    assert_eq!(
        sample(&scrape, "statecraft_executions_started_total", &labels),
        Some(1.0),
        "{scrape}"
    );
    assert_eq!(
        sample(&scrape, "statecraft_executions_succeeded_total", &labels),
        Some(1.0)
    );
    server.stop().await;
}
