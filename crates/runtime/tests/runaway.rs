//! Runaway work (issue 14): executions that loop without waiting (Pass →
//! Choice → Pass …), with and without a Wait first. Each fails at AWS's
//! history quota with AWS's error and cause; StartExecution answers; other
//! executions keep completing meanwhile; StopExecution aborts a looping
//! execution between two turns; a runtime reopened over the data of one
//! killed mid-loop finishes the loop at the quota instead of resuming it
//! forever; and the start quotas answer AWS's errors.
//!
//! The timeouts below only turn a hang (the behaviour before the fix) into
//! a failure; no test asserts how fast anything is.

use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::{
    Error, ExecutionStatus, Limits, Options, Runtime, StartExecution, StartRate,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_testsupport::child::ChildTest;
use statecraft_testsupport::runtime;
use statecraft_types::{EventType, HistoryEvent};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";
/// Long enough for any machine however loaded; only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);
const CHILD_ENV: &str = "STATECRAFT_RUNAWAY_CHILD_DIR";

/// Pass → Choice → Pass … forever, optionally after a one-second Wait.
fn spin(wait_first: bool) -> Value {
    let mut states = json!({
        "Spin": {"Type": "Pass", "Result": "x", "ResultPath": "$.spun", "Next": "Again"},
        "Again": {"Type": "Choice",
                  "Choices": [{"Variable": "$.never", "IsPresent": true, "Next": "Done"}],
                  "Default": "Spin"},
        "Done": {"Type": "Succeed"}
    });
    let start = if wait_first {
        states["Nap"] = json!({"Type": "Wait", "Seconds": 1, "Next": "Spin"});
        "Nap"
    } else {
        "Spin"
    };
    json!({"StartAt": start, "States": states})
}

fn chain() -> Value {
    json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "End": true}
        }
    })
}

async fn open(dir: &std::path::Path, limits: Limits) -> Runtime {
    let mut options = Options::new(dir);
    options.limits = limits;
    Runtime::open(options).await.unwrap()
}

fn limits(history_events: u64, steps_per_turn: u32) -> Limits {
    Limits {
        history_events,
        steps_per_turn,
        ..Limits::default()
    }
}

async fn create(rt: &Runtime, name: &str, definition: Value) -> String {
    runtime::create_machine(rt, name, &definition, MachineType::Standard).await
}

async fn try_start(rt: &Runtime, machine: &str, name: &str) -> Result<String, Error> {
    let started = tokio::time::timeout(
        HANG,
        rt.start_execution(StartExecution {
            target_arn: machine.into(),
            name: Some(name.into()),
            input: Some("{}".into()),
            trace_header: None,
        }),
    )
    .await
    .expect("StartExecution never answered")?;
    Ok(started.execution_arn)
}

async fn start(rt: &Runtime, machine: &str, name: &str) -> String {
    try_start(rt, machine, name).await.unwrap()
}

async fn finished(rt: &Runtime, arn: &str) -> statecraft_runtime::ExecutionRecord {
    tokio::time::timeout(HANG, rt.wait_for_completion(arn))
        .await
        .unwrap_or_else(|_| panic!("{arn} never finished"))
        .unwrap()
}

fn history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = rt
            .history(
                arn,
                &HistoryQuery {
                    page: page.clone(),
                    reverse: false,
                },
            )
            .unwrap();
        all.extend(p.items);
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => return all,
        }
    }
}

/// The id of the last event recorded so far.
fn last_event_id(rt: &Runtime, arn: &str) -> u64 {
    rt.history(
        arn,
        &HistoryQuery {
            page: PageRequest::first(1),
            reverse: true,
        },
    )
    .unwrap()
    .items
    .first()
    .map_or(0, |e| e.id)
}

/// AWS's end of an execution that reached the quota: event `limit` is
/// `ExecutionFailed` (States.Runtime, AWS's cause) right after event
/// `limit - 1`, with no gap and no duplicate before it.
fn assert_failed_at_quota(rt: &Runtime, arn: &str, limit: u64) {
    let record = rt.describe_execution(arn).unwrap();
    assert_eq!(record.state.status, ExecutionStatus::Failed, "{arn}");
    assert_eq!(record.state.error.as_deref(), Some("States.Runtime"));
    let cause = format!("The execution reached the maximum number of history events ({limit}).");
    assert_eq!(record.state.cause.as_deref(), Some(cause.as_str()));
    let events = history(rt, arn);
    assert_eq!(events.len() as u64, limit, "{arn}: history length");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1, "{arn}: ids are contiguous");
    }
    let last = events.last().unwrap();
    assert_eq!(last.event_type, EventType::ExecutionFailed);
    assert_eq!(last.previous_event_id, limit - 1);
    let details = last.details.as_ref().unwrap();
    assert_eq!(details["error"], "States.Runtime");
    assert_eq!(details["cause"], cause.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_without_a_wait_fails_at_the_history_quota() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Limits::default()).await;
    let sm = create(&rt, "spin", spin(false)).await;
    let arn = start(&rt, &sm, "spin").await;
    finished(&rt, &arn).await;
    assert_failed_at_quota(&rt, &arn, 25_000);
    // Nothing is left to run: no actor, nothing appended later.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(last_event_id(&rt, &arn), 25_000);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_after_a_wait_fails_at_the_history_quota() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Limits::default()).await;
    let sm = create(&rt, "nap-spin", spin(true)).await;
    let arn = start(&rt, &sm, "nap-spin").await;
    finished(&rt, &arn).await;
    assert_failed_at_quota(&rt, &arn, 25_000);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_express_loop_ends_at_the_quota_too() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Limits::default()).await;
    let arn = format!("{PREFIX}spin-express");
    rt.store()
        .create_state_machine(
            "spin-express".into(),
            MachineType::Express,
            Revision {
                revision_id: "rev-spin-express".into(),
                state_machine_arn: arn.clone(),
                definition: spin(false).to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .unwrap();
    let run = tokio::time::timeout(
        HANG,
        rt.start_sync_execution(StartExecution {
            target_arn: arn,
            name: None,
            input: None,
            trace_header: None,
        }),
    )
    .await
    .expect("StartSyncExecution never answered")
    .unwrap();
    assert_eq!(run.status, statecraft_runtime::SyncStatus::Failed);
    assert_eq!(run.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        run.cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
    assert_eq!(run.events.len(), 25_000);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_map_over_100000_items_fails_at_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Limits::default()).await;
    let sm = create(
        &rt,
        "big-map",
        json!({
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Touch",
                    "States": {"Touch": {"Type": "Pass", "End": true}}
                },
                "End": true
            }}
        }),
    )
    .await;
    // 100,000 items in 200 kB, under the 256 KiB input limit.
    let items = format!("[{}0]", "0,".repeat(99_999));
    let arn = tokio::time::timeout(
        HANG,
        rt.start_execution(StartExecution {
            target_arn: sm,
            name: Some("big-map".into()),
            input: Some(items),
            trace_header: None,
        }),
    )
    .await
    .expect("StartExecution never answered")
    .unwrap()
    .execution_arn;
    finished(&rt, &arn).await;
    assert_failed_at_quota(&rt, &arn, 25_000);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_quota_is_the_one_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), limits(30_001, 1_000)).await;
    let sm = create(&rt, "spin", spin(false)).await;
    let arn = start(&rt, &sm, "spin").await;
    finished(&rt, &arn).await;
    assert_failed_at_quota(&rt, &arn, 30_001);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_executions_complete_while_one_loops_and_stop_aborts_it() {
    let dir = tempfile::tempdir().unwrap();
    // A quota no loop reaches during the test: it keeps looping until stopped.
    let rt = open(dir.path(), limits(u64::MAX, 1_000)).await;
    let spinning = create(&rt, "spin", spin(false)).await;
    let quick = create(&rt, "chain", chain()).await;
    let looping = start(&rt, &spinning, "looping").await;
    for i in 0..20 {
        let arn = start(&rt, &quick, &format!("quick-{i}")).await;
        let done = finished(&rt, &arn).await;
        assert_eq!(done.state.status, ExecutionStatus::Succeeded);
    }
    // The loop went on meanwhile, in turns, committing as it goes.
    let record = rt.describe_execution(&looping).unwrap();
    assert_eq!(record.state.status, ExecutionStatus::Running);
    let before = last_event_id(&rt, &looping);
    assert!(before > 2, "the loop made progress: {before} events");

    tokio::time::timeout(HANG, rt.stop_execution(&looping, Some("Halt".into()), None))
        .await
        .expect("StopExecution never answered")
        .unwrap();
    let record = rt.describe_execution(&looping).unwrap();
    assert_eq!(record.state.status, ExecutionStatus::Aborted);
    assert_eq!(record.state.error.as_deref(), Some("Halt"));
    let stopped_at = last_event_id(&rt, &looping);
    let events = history(&rt, &looping);
    assert_eq!(events.len() as u64, stopped_at);
    assert_eq!(
        events.last().map(|e| e.event_type),
        Some(EventType::ExecutionAborted)
    );
    // Nothing runs after the stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(last_event_id(&rt, &looping), stopped_at);
    assert_eq!(rt.active_executions(), 0);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_reopened_after_a_kill_mid_loop_ends_the_loop_at_the_quota() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let child = ChildTest::spawn(
        "a_runtime_reopened_after_a_kill_mid_loop_ends_the_loop_at_the_quota",
        CHILD_ENV,
        dir.path(),
        "LOOPING ",
    );
    let arn = child.next(HANG);
    child.kill();

    // Reopened with the default quota and budget: the loop resumes from its
    // last committed turn and ends at the quota, once.
    let rt = open(dir.path(), Limits::default()).await;
    let killed_at = last_event_id(&rt, &arn);
    assert!(
        killed_at > 1_000 && killed_at < 25_000,
        "killed mid-loop: {killed_at} events"
    );
    finished(&rt, &arn).await;
    assert_failed_at_quota(&rt, &arn, 25_000);
    rt.shutdown(Duration::from_secs(5)).await;

    // And a second restart finds nothing to resume.
    let rt = open(dir.path(), Limits::default()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rt.active_executions(), 0);
    assert_eq!(last_event_id(&rt, &arn), 25_000);
    rt.shutdown(Duration::from_secs(5)).await;
}

/// Child mode: a loop after a Wait, in small turns (so that it is still
/// looping when killed); reports once it has recorded over 1,000 events.
async fn child(dir: &str) {
    let rt = open(std::path::Path::new(dir), limits(25_000, 5)).await;
    let sm = create(&rt, "nap-spin", spin(true)).await;
    let arn = start(&rt, &sm, "nap-spin").await;
    loop {
        if last_event_id(&rt, &arn) > 1_000 {
            println!("LOOPING {arn}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_beyond_the_open_executions_quota_are_execution_limit_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(
        dir.path(),
        Limits {
            open_executions: Some(3),
            ..Limits::default()
        },
    )
    .await;
    let napping = create(
        &rt,
        "nap",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let quick = create(&rt, "chain", chain()).await;
    // Concurrent starts cannot overshoot the quota.
    let starts: Vec<_> = (0..8)
        .map(|i| {
            let rt = rt.clone();
            let sm = napping.clone();
            tokio::spawn(async move { try_start(&rt, &sm, &format!("nap-{i}")).await })
        })
        .collect();
    let mut open_arns = Vec::new();
    let mut refused = 0;
    for s in starts {
        match s.await.unwrap() {
            Ok(arn) => open_arns.push(arn),
            Err(Error::ExecutionLimitExceeded(m)) => {
                assert!(m.contains("(3)"), "{m}");
                refused += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    // Never more than the quota. (A start that commits just as another is
    // checked may be counted twice, in flight and in the store, and refuse
    // that one: the check errs on the side of the quota.)
    assert!(
        open_arns.len() <= 3,
        "{} admitted: {open_arns:?}",
        open_arns.len()
    );
    assert_eq!(open_arns.len() + refused, 8);
    // One at a time, the places left are given, and no more.
    let mut n = 0;
    while open_arns.len() < 3 {
        open_arns.push(start(&rt, &napping, &format!("top-up-{n}")).await);
        n += 1;
    }
    assert!(matches!(
        try_start(&rt, &quick, "one-more").await,
        Err(Error::ExecutionLimitExceeded(_))
    ));
    // A stopped execution frees its place.
    rt.stop_execution(&open_arns[0], None, None).await.unwrap();
    let arn = start(&rt, &quick, "after-stop").await;
    assert_eq!(
        finished(&rt, &arn).await.state.status,
        ExecutionStatus::Succeeded
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_beyond_the_start_rate_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(
        dir.path(),
        Limits {
            start_rate: Some(StartRate {
                per_second: 0.01,
                burst: 4,
            }),
            ..Limits::default()
        },
    )
    .await;
    let quick = create(&rt, "chain", chain()).await;
    for i in 0..4 {
        start(&rt, &quick, &format!("ok-{i}")).await;
    }
    match try_start(&rt, &quick, "too-fast").await {
        Err(Error::Throttled(m)) => assert_eq!(m, "Rate exceeded"),
        other => panic!("expected a throttle, got {other:?}"),
    }
    rt.shutdown(Duration::from_secs(5)).await;
}
