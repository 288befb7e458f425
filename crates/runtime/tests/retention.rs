//! Retention removes finished executions older than the kept time, with
//! their history, and keeps recent and running ones.

use std::time::Duration;

use statecraft_runtime::retention::{self, Options};
use statecraft_store::{
    ExecutionState, ExecutionStatus, ExecutionStore, HistoryQuery, HistoryStore, NewExecution,
    SqliteOptions, SqliteStore, Transition,
};
use statecraft_types::{EventType, HistoryEvent};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn state(status: ExecutionStatus, stop: Option<i64>) -> ExecutionState {
    ExecutionState {
        status,
        output: None,
        error: None,
        cause: None,
        stop_date_ms: stop,
        redrive_count: 0,
        redrive_date_ms: None,
        redrive_status: None,
        redrive_status_reason: None,
        engine_state: "{}".into(),
        pause: None,
        revision_id: None,
    }
}

fn event(id: u64, t: EventType) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp_ms: 0,
        event_type: t,
        details: None,
    }
}

/// An execution that stopped at `stop` (or is still running).
fn seed(store: &SqliteStore, name: &str, stop: Option<i64>) -> String {
    let arn = format!("arn:aws:states:us-east-1:123456789012:execution:Kept:{name}");
    let new = NewExecution {
        arn: arn.clone(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:Kept".into(),
        version_arn: None,
        alias_arn: None,
        revision_id: "r".into(),
        name: name.into(),
        input: "{}".into(),
        trace_header: None,
        start_date_ms: stop.unwrap_or_else(now_ms),
        map_run_arn: None,
        parent_arn: None,
    };
    let first = Transition {
        execution_arn: arn.clone(),
        expected_version: 0,
        state: state(ExecutionStatus::Running, None),
        events: vec![event(1, EventType::ExecutionStarted)],
        timers: vec![],
        tasks: vec![],
    };
    store.create_execution(new, first).wait().unwrap();
    if let Some(stop) = stop {
        let end = Transition {
            execution_arn: arn.clone(),
            expected_version: 1,
            state: state(ExecutionStatus::Failed, Some(stop)),
            events: vec![event(2, EventType::ExecutionFailed)],
            timers: vec![],
            tasks: vec![],
        };
        store.commit(end).wait().unwrap();
    }
    arn
}

#[test]
fn sweep_removes_old_finished_executions_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
    let now = now_ms();
    let old: Vec<String> = (0..7)
        .map(|i| seed(&store, &format!("old-{i}"), Some(now - 100 * DAY_MS - i)))
        .collect();
    let recent = seed(&store, "recent", Some(now - 10 * DAY_MS));
    let running = seed(&store, "running", None);

    let options = Options {
        batch: 3,
        pause: Duration::from_millis(1),
        ..Options::days(90)
    };
    // Seeding waits on the store synchronously; the sweep is async.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // 7 old ones in batches of 3: 3 + 3 + 1.
    assert_eq!(rt.block_on(retention::sweep(&store, &options)).unwrap(), 7);
    assert_eq!(rt.block_on(retention::sweep(&store, &options)).unwrap(), 0);

    for arn in &old {
        assert_eq!(store.get_execution(arn).unwrap(), None, "{arn}");
    }
    assert!(store.get_execution(&recent).unwrap().is_some());
    assert!(store.get_execution(&running).unwrap().is_some());
    let history = store.history(&recent, &HistoryQuery::default()).unwrap();
    assert_eq!(history.items.len(), 2);
    assert!(statecraft_telemetry::metrics::render()
        .contains("statecraft_retention_deleted_executions_total 7"));
}
