//! `[limits]` that AWS fixes and an operator may raise (issue 17), in the
//! durable runtime: a finished execution's name is reused only after
//! `execution_name_reuse_days` (judged by a virtual clock moved past the
//! window), and the payload limit refuses an input one byte over AWS's
//! 256 KiB by default and lets it through when raised, and the engine gets
//! the variable and inline Map limits.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::{Clock, Error, ExecutionStatus, Limits, Options, Runtime, StartExecution};
use statecraft_store::{HistoryQuery, MachineType};
use statecraft_testsupport::runtime;
use statecraft_types::EventType;

/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The real time moved on by `offset` milliseconds.
#[derive(Debug, Default)]
struct VirtualClock {
    offset: AtomicI64,
}

impl VirtualClock {
    fn advance_to(&self, offset_ms: i64) {
        self.offset.store(offset_ms, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        statecraft_runtime::host::now_ms() + self.offset.load(Ordering::SeqCst)
    }
}

async fn open(dir: &std::path::Path, limits: Limits) -> Runtime {
    let mut options = Options::new(dir);
    options.limits = limits;
    Runtime::open(options).await.unwrap()
}

async fn create(rt: &Runtime, name: &str, definition: Value) -> String {
    runtime::create_machine(rt, name, &definition, MachineType::Standard).await
}

async fn start(rt: &Runtime, machine: &str, name: &str, input: &str) -> Result<String, Error> {
    let started = tokio::time::timeout(
        HANG,
        rt.start_execution(StartExecution {
            target_arn: machine.into(),
            name: Some(name.into()),
            input: Some(input.into()),
            trace_header: None,
        }),
    )
    .await
    .expect("StartExecution never answered")?;
    Ok(started.execution_arn)
}

async fn finish(rt: &Runtime, arn: &str) -> statecraft_runtime::ExecutionRecord {
    tokio::time::timeout(HANG, rt.wait_for_completion(arn))
        .await
        .expect("the execution never ended")
        .unwrap()
}

fn pass_chain() -> Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "End": true}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_name_is_reused_only_after_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Limits::default()).await;
    assert_eq!(rt.limits().execution_name_reuse_days, 90, "AWS's window");
    let clock = Arc::new(VirtualClock::default());
    rt.set_clock(clock.clone());
    let machine = create(&rt, "chain", pass_chain()).await;
    let napping = create(
        &rt,
        "napping",
        json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;

    let arn = start(&rt, &machine, "nightly", r#"{"run":1}"#)
        .await
        .unwrap();
    assert_eq!(
        finish(&rt, &arn).await.state.status,
        ExecutionStatus::Succeeded
    );
    // (clock offset, what a start with the name and another input gets)
    let cases = [
        (0, false),
        (DAY_MS, false),
        (90 * DAY_MS - 60_000, false),
        (90 * DAY_MS + 1_000, true),
    ];
    for (offset, reused) in cases {
        clock.advance_to(offset);
        let again = start(&rt, &machine, "nightly", r#"{"run":2}"#).await;
        if reused {
            assert_eq!(again.as_deref(), Ok(arn.as_str()), "offset {offset}");
        } else {
            assert!(
                matches!(again, Err(Error::ExecutionAlreadyExists(_))),
                "offset {offset}: {again:?}"
            );
        }
    }
    // The name now belongs to the new execution, with a history of its own.
    let record = finish(&rt, &arn).await;
    assert_eq!(record.state.status, ExecutionStatus::Succeeded);
    assert_eq!(record.input, r#"{"run":2}"#);
    let history = rt.store().history(&arn, &HistoryQuery::default()).unwrap();
    let started: Vec<_> = history
        .items
        .iter()
        .filter(|e| e.event_type == EventType::ExecutionStarted)
        .collect();
    assert_eq!(
        started.len(),
        1,
        "the old history went with the old execution"
    );
    assert_eq!(
        started[0].details.as_ref().unwrap()["input"],
        json!(r#"{"run":2}"#)
    );

    // A running execution keeps its name however long it runs.
    clock.advance_to(0);
    let running = start(&rt, &napping, "long", "{}").await.unwrap();
    clock.advance_to(1_000 * DAY_MS);
    let again = start(&rt, &napping, "long", r#"{"other":true}"#).await;
    assert!(
        matches!(again, Err(Error::ExecutionAlreadyExists(_))),
        "{again:?}"
    );
    // The same name and input as the running execution is the idempotent start.
    assert_eq!(
        start(&rt, &napping, "long", "{}").await.as_deref(),
        Ok(running.as_str())
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reuse_window_follows_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        execution_name_reuse_days: 1,
        ..Limits::default()
    };
    let rt = open(dir.path(), limits).await;
    let clock = Arc::new(VirtualClock::default());
    rt.set_clock(clock.clone());
    let machine = create(&rt, "chain", pass_chain()).await;
    let arn = start(&rt, &machine, "daily", "{}").await.unwrap();
    finish(&rt, &arn).await;
    clock.advance_to(DAY_MS - 60_000);
    assert!(matches!(
        start(&rt, &machine, "daily", r#"{"x":1}"#).await,
        Err(Error::ExecutionAlreadyExists(_))
    ));
    clock.advance_to(DAY_MS + 1_000);
    assert_eq!(
        start(&rt, &machine, "daily", r#"{"x":1}"#).await.as_deref(),
        Ok(arn.as_str())
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_one_byte_over_is_refused_by_default_and_passes_when_raised() {
    // `"xx…x"`: a JSON string whose text is exactly `n` bytes.
    let input = |n: usize| format!("\"{}\"", "x".repeat(n - 2));
    for (payload_bytes, n, accepted) in [
        (None, 262_144, true),
        (None, 262_145, false),
        (Some(1 << 20), 262_145, true),
        (Some(1 << 20), (1 << 20) + 1, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut limits = Limits::default();
        if let Some(p) = payload_bytes {
            limits.payload_bytes = p;
        }
        let rt = open(dir.path(), limits).await;
        let machine = create(&rt, "chain", pass_chain()).await;
        let text = input(n);
        match start(&rt, &machine, "big", &text).await {
            Ok(arn) => {
                assert!(accepted, "{n} bytes under {payload_bytes:?} was accepted");
                let record = finish(&rt, &arn).await;
                assert_eq!(record.state.status, ExecutionStatus::Succeeded);
                assert_eq!(record.state.output.as_deref(), Some(text.as_str()));
            }
            Err(Error::InvalidExecutionInput(why)) => {
                assert!(!accepted, "{n} bytes under {payload_bytes:?}: {why}");
                assert!(why.contains(&n.to_string()), "{why}");
            }
            Err(e) => panic!("{n} bytes: {e}"),
        }
        rt.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_gets_the_data_limits() {
    let map = json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let assign = json!({"StartAt": "Keep", "States": {"Keep": {"Type": "Pass",
        "Assign": {"blob.$": "$.blob"}, "End": true}}});
    let blob = json!({ "blob": "v".repeat(300 * 1024) }).to_string();
    let raised = Limits {
        payload_bytes: 1 << 20,
        variables_bytes: 1 << 20,
        map_inline_items: Some(2),
        ..Limits::default()
    };
    let default_but_payload = Limits {
        payload_bytes: 1 << 20,
        ..Limits::default()
    };
    // (limits, definition, input, the error it ends with or None)
    let cases = [
        (Limits::default(), &map, "[1,2,3]".to_string(), None),
        (raised, &map, "[1,2]".to_string(), None),
        (
            raised,
            &map,
            "[1,2,3]".to_string(),
            Some("States.DataLimitExceeded"),
        ),
        (
            default_but_payload,
            &assign,
            blob.clone(),
            Some("States.DataLimitExceeded"),
        ),
        (raised, &assign, blob.clone(), None),
    ];
    for (i, (limits, definition, input, error)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let rt = open(dir.path(), limits).await;
        let machine = create(&rt, "m", definition.clone()).await;
        let arn = start(&rt, &machine, "e", &input).await.unwrap();
        let record = finish(&rt, &arn).await;
        match error {
            None => assert_eq!(
                record.state.status,
                ExecutionStatus::Succeeded,
                "case {i}: {:?}",
                record.state.cause
            ),
            Some(e) => {
                assert_eq!(record.state.status, ExecutionStatus::Failed, "case {i}");
                assert_eq!(
                    record.state.error.as_deref(),
                    Some(e),
                    "case {i}: {:?}",
                    record.state.cause
                );
            }
        }
        rt.shutdown(Duration::from_secs(5)).await;
    }
}
