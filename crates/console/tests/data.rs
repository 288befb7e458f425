//! The console's data endpoints against a real SQLite store: the overview's
//! numbers, its speed with 100,000 executions (and the first page of
//! ListExecutions' store query beside it), and the live history stream.
//!
//! Executions are loaded with SQL straight into the store's database file
//! (one transaction), which is how a server with a long past looks to the
//! queries, at a fraction of the time the API would take to create them.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use statecraft_store::{
    ExecutionFilter, ExecutionStore, PageRequest, SqliteOptions, SqliteStore, Store,
};
use tower::ServiceExt;

const MACHINES: usize = 5;

fn machine(i: usize) -> String {
    format!("arn:aws:states:us-east-1:123456789012:stateMachine:m{i}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The runtime's read model over `store`, as the server hands it to the console.
fn read(store: &Arc<SqliteStore>) -> statecraft_runtime::read::ReadModel {
    let store: Arc<dyn Store> = store.clone();
    statecraft_runtime::read::ReadModel::new(store)
}

fn open() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).expect("store opens");
    (dir, Arc::new(store))
}

fn event(id: u64, kind: &str, details: Option<(&str, Value)>, ts_ms: i64) -> String {
    let mut v = serde_json::json!({
        "id": id, "previousEventId": id.saturating_sub(1),
        "timestamp": ts_ms as f64 / 1000.0, "type": kind,
    });
    if let (Some((key, d)), Some(m)) = (details, v.as_object_mut()) {
        m.insert(key.to_string(), d);
    }
    v.to_string()
}

/// What [`load`] wrote, to check the overview against.
#[derive(Debug, Default)]
struct Loaded {
    running: u64,
    succeeded: u64,
    failed: u64,
    /// Failed executions of machine 0 (they all fail in "Charge").
    failed_in_charge: u64,
}

/// Loads `n` executions, spread over the last 23 hours across
/// [`MACHINES`] machines: every 7th failed (its history ends in the state
/// "Charge" for machine 0, "Ship" for the others), every 53rd running, the
/// rest succeeded, machine `i` taking `(i + 1)` seconds.
fn load(store: &SqliteStore, n: usize) -> Loaded {
    let mut conn = rusqlite::Connection::open(store.path()).expect("db opens");
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF")
        .expect("pragmas");
    let tx = conn.transaction().expect("tx");
    let now = now_ms();
    let span = 23 * 3600 * 1000_i64;
    let mut loaded = Loaded::default();
    {
        let mut exec = tx
            .prepare(
                "INSERT INTO executions (id, arn, state_machine_arn, revision_id, name, input, \
                 start_date_ms, status, error, stop_date_ms, engine_state, version) \
                 VALUES (?1, ?2, ?3, 'r', ?4, '{}', ?5, ?6, ?7, ?8, '{}', 1)",
            )
            .expect("prepare");
        let mut hist = tx
            .prepare("INSERT INTO history (execution_id, event_id, event) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for i in 0..n {
            let m = i % MACHINES;
            let start = now - span + (i as i64 * span) / n as i64;
            let (status, error, stop) = if i % 7 == 3 {
                ("FAILED", Some("States.TaskFailed"), Some(start + 500))
            } else if i % 53 == 7 {
                ("RUNNING", None, None)
            } else {
                ("SUCCEEDED", None, Some(start + (m as i64 + 1) * 1000))
            };
            match status {
                "FAILED" => loaded.failed += 1,
                "RUNNING" => loaded.running += 1,
                _ => loaded.succeeded += 1,
            }
            let id = i as i64 + 1;
            let name = format!("e{i}");
            let arn = format!(
                "{}:{name}",
                machine(m).replace(":stateMachine:", ":execution:")
            );
            exec.execute(rusqlite::params![
                id,
                arn,
                machine(m),
                name,
                start,
                status,
                error,
                stop
            ])
            .expect("insert execution");
            if status == "FAILED" {
                let state = if m == 0 { "Charge" } else { "Ship" };
                if m == 0 {
                    loaded.failed_in_charge += 1;
                }
                let entered = serde_json::json!({"name": state, "input": "{}"});
                let events = [
                    event(1, "ExecutionStarted", None, start),
                    event(
                        2,
                        "TaskStateEntered",
                        Some(("stateEnteredEventDetails", entered)),
                        start,
                    ),
                    event(3, "ExecutionFailed", None, start + 500),
                ];
                for (k, e) in events.iter().enumerate() {
                    hist.execute(rusqlite::params![id, k as i64 + 1, e])
                        .expect("insert event");
                }
            }
        }
    }
    tx.commit().expect("commit");
    loaded
}

async fn get_json(app: Router, uri: &str) -> (StatusCode, Value) {
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("the router answers");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_with_100000_executions_opens_in_well_under_a_second() {
    let (_dir, store) = open();
    let loaded = load(&store, 100_000);
    let app = statecraft_console::data_router::<()>(read(&store), Default::default());

    // The machine page's calls: its first page of executions…
    let filter = ExecutionFilter {
        state_machine_arn: Some(machine(0)),
        ..Default::default()
    };
    let t = Instant::now();
    let first = store
        .list_executions(&filter, &PageRequest::first(100))
        .expect("first page");
    let list_time = t.elapsed();
    assert_eq!(first.items.len(), 100);
    assert!(first.next_token.is_some());
    // …paging through the store, newest first, without overlap…
    let second = store
        .list_executions(
            &filter,
            &PageRequest {
                max_results: 100,
                next_token: first.next_token.clone(),
            },
        )
        .expect("second page");
    assert_eq!(second.items.len(), 100);
    let (a, b) = (first.items.last(), second.items.first());
    assert!(a
        .zip(b)
        .is_some_and(|(a, b)| a.start_date_ms > b.start_date_ms));

    // …and its overview.
    let t = Instant::now();
    let (status, m0) = get_json(
        app.clone(),
        &format!(
            "/console/api/overview?stateMachineArn={}",
            encode(&machine(0))
        ),
    )
    .await;
    let machine_time = t.elapsed();
    assert_eq!(status, StatusCode::OK, "{m0}");
    assert_eq!(m0["total"], 20_000);
    assert_eq!(m0["failingStates"][0]["stateName"], "Charge");
    assert_eq!(m0["failingStates"][0]["error"], "States.TaskFailed");

    // The whole server's overview.
    let t = Instant::now();
    let (status, all) = get_json(app.clone(), "/console/api/overview?window=86400").await;
    let overview_time = t.elapsed();
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 100_000);
    assert_eq!(all["counts"]["FAILED"], loaded.failed);
    assert_eq!(all["counts"]["SUCCEEDED"], loaded.succeeded);
    assert_eq!(all["counts"]["RUNNING"], loaded.running);
    assert_eq!(all["activeNow"], loaded.running);
    let rate = all["failureRate"].as_f64().unwrap_or(-1.0);
    let expected = loaded.failed as f64 / (loaded.failed + loaded.succeeded) as f64;
    assert!((rate - expected).abs() < 1e-9, "{rate} vs {expected}");
    let timeline = all["timeline"].as_array().cloned().unwrap_or_default();
    assert_eq!(timeline.len(), 24);
    let summed: u64 = timeline
        .iter()
        .map(|b| b["counts"]["SUCCEEDED"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(summed, loaded.succeeded);
    // Machine 4's executions take 5 s, the longest.
    assert_eq!(all["slowestMachines"][0]["stateMachineArn"], machine(4));
    assert_eq!(all["slowestMachines"][0]["maxMs"], 5000);
    // Failures are ranked from the newest 500 failed executions, per
    // machine and state: one entry per machine, 100 each.
    let failing = all["failingStates"].as_array().cloned().unwrap_or_default();
    assert_eq!(failing.len(), MACHINES);
    let sampled: u64 = failing
        .iter()
        .map(|f| f["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(sampled, u64::from(statecraft_store::stats::FAILED_SAMPLE));
    let charge: Vec<_> = failing
        .iter()
        .filter(|f| f["stateName"] == "Charge")
        .collect();
    assert_eq!(charge.len(), 1);
    assert_eq!(charge[0]["stateMachineArn"], machine(0));
    assert!(loaded.failed_in_charge > 0);

    // The bound is for the release build; a debug build runs SQLite's C
    // code unoptimised (about four times slower), so it gets more room,
    // still below the second a page may take.
    let bound = if cfg!(debug_assertions) {
        Duration::from_millis(900)
    } else {
        Duration::from_millis(250)
    };
    for (what, took) in [
        ("ListExecutions first page", list_time),
        ("machine overview", machine_time),
        ("overview", overview_time),
    ] {
        eprintln!("{what}: {took:?}");
        assert!(took < bound, "{what} took {took:?}");
    }
}

#[tokio::test]
async fn an_unknown_execution_has_no_stream() {
    let (_dir, store) = open();
    let app = statecraft_console::data_router::<()>(read(&store), Default::default());
    let (status, body) = get_json(
        app,
        "/console/api/executions/arn%3Aaws%3Astates%3Aus-east-1%3A1%3Aexecution%3Am%3Anope/events",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["__type"], "ExecutionDoesNotExist");
}

/// Reads the SSE body until `done` says the text so far is enough.
async fn read_until(body: &mut Body, text: &mut String, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(text) {
        assert!(Instant::now() < deadline, "stream stalled at: {text}");
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("a frame in time");
        match frame {
            Some(Ok(f)) => {
                if let Some(d) = f.data_ref() {
                    text.push_str(&String::from_utf8_lossy(d));
                }
            }
            _ => break,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_stream_sends_events_as_they_commit_then_ends() {
    let (_dir, store) = open();
    let conn = rusqlite::Connection::open(store.path()).expect("db opens");
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    let arn = "arn:aws:states:us-east-1:123456789012:execution:m0:live";
    conn.execute(
        "INSERT INTO executions (id, arn, state_machine_arn, revision_id, name, input, \
         start_date_ms, status, engine_state, version) \
         VALUES (1, ?1, ?2, 'r', 'live', '{}', 1, 'RUNNING', '{}', 1)",
        rusqlite::params![arn, machine(0)],
    )
    .expect("insert");
    for (id, kind) in [(1, "ExecutionStarted"), (2, "WaitStateEntered")] {
        let details = (kind == "WaitStateEntered").then(|| {
            (
                "stateEnteredEventDetails",
                serde_json::json!({"name": "Pause"}),
            )
        });
        conn.execute(
            "INSERT INTO history VALUES (1, ?1, ?2)",
            rusqlite::params![id, event(id, kind, details, 1000)],
        )
        .expect("insert event");
    }

    let app = statecraft_console::data_router::<()>(read(&store), Default::default());
    let res = app
        .oneshot(
            Request::get(format!(
                "/console/api/executions/{}/events?after=1",
                encode(arn)
            ))
            .body(Body::empty())
            .expect("request"),
        )
        .await
        .expect("answers");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = res.into_body();
    let mut text = String::new();
    // Only what follows `after`.
    read_until(&mut body, &mut text, |t| t.contains("id: 2")).await;
    assert!(!text.contains("ExecutionStarted"), "{text}");
    assert!(text.contains("event: history"), "{text}");

    // A commit while the stream is open arrives without asking again.
    conn.execute_batch(&format!(
        "INSERT INTO history VALUES (1, 3, '{}'); \
         UPDATE executions SET status = 'SUCCEEDED', stop_date_ms = 2 WHERE id = 1;",
        event(3, "ExecutionSucceeded", None, 2000)
    ))
    .expect("commit");
    read_until(&mut body, &mut text, |t| t.contains("event: end")).await;
    assert!(text.contains("ExecutionSucceeded"), "{text}");
    assert!(text.contains("id: 3"), "{text}");
    // …and the stream closes after `end`.
    let rest = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("closes in time");
    assert!(rest.is_none(), "{rest:?}");
}

fn transition(
    arn: &str,
    version: u64,
    status: statecraft_store::ExecutionStatus,
    id: u64,
    t: statecraft_types::EventType,
) -> statecraft_store::Transition {
    statecraft_store::Transition {
        execution_arn: arn.into(),
        expected_version: version,
        state: statecraft_store::ExecutionState {
            status,
            output: None,
            error: None,
            cause: None,
            stop_date_ms: None,
            redrive_count: 0,
            redrive_date_ms: None,
            redrive_status: None,
            redrive_status_reason: None,
            engine_state: "{}".into(),
            pause: None,
            revision_id: None,
        },
        events: vec![statecraft_types::HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp_ms: now_ms(),
            event_type: t,
            details: None,
        }],
        timers: vec![],
        tasks: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_through_the_store_reaches_the_stream_at_once() {
    use statecraft_store::ExecutionStatus::{Running, Succeeded};
    use statecraft_types::EventType;

    let (_dir, store) = open();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:m0:notified";
    let execution = statecraft_store::NewExecution {
        arn: arn.into(),
        state_machine_arn: machine(0),
        version_arn: None,
        alias_arn: None,
        revision_id: "r".into(),
        name: "notified".into(),
        input: "{}".into(),
        trace_header: None,
        start_date_ms: now_ms(),
        map_run_arn: None,
        parent_arn: None,
    };
    let first = transition(arn, 0, Running, 1, EventType::ExecutionStarted);
    store
        .create_execution(execution, first)
        .await
        .expect("created");

    let app = statecraft_console::data_router::<()>(read(&store), Default::default());
    let res = app
        .oneshot(
            Request::get(format!("/console/api/executions/{}/events", encode(arn)))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answers");
    let mut body = res.into_body();
    let mut text = String::new();
    read_until(&mut body, &mut text, |t| t.contains("id: 1")).await;

    // Let the stream settle into waiting, then commit: the notice wakes it
    // well before its one-second tick would.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let step = transition(arn, 1, Running, 2, EventType::PassStateEntered);
    store.commit(step).await.expect("committed");
    read_until(&mut body, &mut text, |t| t.contains("id: 2")).await;
    let took = t.elapsed();
    assert!(took < Duration::from_millis(500), "took {took:?}");

    let last = transition(arn, 2, Succeeded, 3, EventType::ExecutionSucceeded);
    store.commit(last).await.expect("committed");
    read_until(&mut body, &mut text, |t| t.contains("event: end")).await;
    assert!(text.contains("ExecutionSucceeded"), "{text}");
}

fn new_execution(arn: &str) -> statecraft_store::NewExecution {
    statecraft_store::NewExecution {
        arn: arn.into(),
        state_machine_arn: machine(1),
        version_arn: None,
        alias_arn: None,
        revision_id: "r".into(),
        name: arn.rsplit(':').next().unwrap_or("x").into(),
        input: "{}".into(),
        trace_header: None,
        start_date_ms: now_ms(),
        map_run_arn: None,
        parent_arn: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_stream_pushes_new_numbers_when_executions_start() {
    use statecraft_store::ExecutionStatus::Running;
    use statecraft_types::EventType;

    let (_dir, store) = open();
    let first = "arn:aws:states:us-east-1:123456789012:execution:m1:one";
    store
        .create_execution(
            new_execution(first),
            transition(first, 0, Running, 1, EventType::ExecutionStarted),
        )
        .await
        .expect("created");

    let app = statecraft_console::data_router::<()>(read(&store), Default::default());
    let res = app
        .oneshot(
            Request::get("/console/api/overview/stream?window=3600")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answers");
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    let mut text = String::new();
    read_until(&mut body, &mut text, |t| t.contains("\"total\":1")).await;
    assert!(text.contains("event: overview"), "{text}");
    assert!(text.contains("\"activeNow\":1"), "{text}");

    // A new execution: the commit notice brings new numbers well before the
    // stream's 5-second tick.
    let t = Instant::now();
    let second = "arn:aws:states:us-east-1:123456789012:execution:m1:two";
    store
        .create_execution(
            new_execution(second),
            transition(second, 0, Running, 1, EventType::ExecutionStarted),
        )
        .await
        .expect("created");
    read_until(&mut body, &mut text, |t| t.contains("\"total\":2")).await;
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_streams_ends_them_for_a_graceful_shutdown() {
    let (_dir, store) = open();
    let streams = statecraft_console::live::Streams::new();
    let app = statecraft_console::data_router::<()>(read(&store), streams.clone());
    let res = app
        .oneshot(
            Request::get("/console/api/overview/stream")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answers");
    let mut body = res.into_body();
    let mut text = String::new();
    read_until(&mut body, &mut text, |t| t.contains("event: overview")).await;
    streams.close();
    // Keep-alive comments may still be in flight; the body must end soon.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the stream ends in time");
        if frame.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the stream did not end");
    }
}

/// An execution waiting on a task token: its token is listed for the
/// console to answer, and the machine's stored executions list it (the
/// list EXPRESS machines get, which ListExecutions refuses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_tasks_and_stored_executions_are_read_from_the_store() {
    use statecraft_store::ExecutionStatus::Running;
    use statecraft_types::EventType;

    let (_dir, store) = open();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:m0:waiting";
    let mut first = transition(arn, 0, Running, 1, EventType::ExecutionStarted);
    first.tasks = vec![statecraft_store::TaskChange::Queue(
        statecraft_store::PendingTask {
            task_id: 7,
            resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
            request: serde_json::json!({"task": 7, "state_name": "Approve"}).to_string(),
            token: Some("token-7".into()),
            lease_owner: None,
            lease_expires_ms: None,
        },
    )];
    let mut execution = new_execution(arn);
    execution.state_machine_arn = machine(0);
    store
        .create_execution(execution, first)
        .await
        .expect("created");
    let app = statecraft_console::data_router::<()>(read(&store), Default::default());

    let (status, body) = get_json(
        app.clone(),
        &format!("/console/api/executions/{}/tasks", encode(arn)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"tasks": [{
            "taskId": 7, "stateName": "Approve",
            "resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "taskToken": "token-7", "kind": "callback"
        }]})
    );
    let (status, _) = get_json(
        app.clone(),
        &format!(
            "/console/api/executions/{}/tasks",
            encode(&format!("{arn}-no"))
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = get_json(
        app.clone(),
        &format!(
            "/console/api/executions?stateMachineArn={}",
            encode(&machine(0))
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["more"], false);
    assert_eq!(body["executions"][0]["executionArn"], arn);
    assert_eq!(body["executions"][0]["status"], "RUNNING");
    let (_, other) = get_json(
        app,
        &format!(
            "/console/api/executions?stateMachineArn={}",
            encode(&machine(3))
        ),
    )
    .await;
    assert_eq!(other["executions"], serde_json::json!([]));
}
