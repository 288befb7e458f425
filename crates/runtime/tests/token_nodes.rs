//! A worker's calls about a task reach its execution whichever node they
//! arrive at (issue 11): two runtimes share one store, node `a` runs an
//! execution waiting on an activity task, and the worker talks only to node
//! `b`: `take_activity_task` (its `ActivityStarted`), `heartbeat_task`
//! (which keeps the task past its `HeartbeatSeconds`) and `answer_task`.
//! The execution stays on `a` and ends with the worker's output.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_runtime::activity::ActivityTasks;
use statecraft_runtime::{
    Error, ExecutionStatus, Integrations, Options, Runtime, StartExecution, TaskAnswer,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_types::{EventType, HistoryEvent};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:work";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:work";
/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);
/// The task's `HeartbeatSeconds`: the worker outlives it only by its
/// heartbeats.
const HEARTBEAT_SECONDS: u64 = 3;

fn history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
    rt.history(
        arn,
        &HistoryQuery {
            page: PageRequest::first(1000),
            reverse: false,
        },
    )
    .unwrap_or_else(|e| panic!("history of {arn}: {e}"))
    .items
}

async fn node_a(dir: &std::path::Path) -> Runtime {
    let mut integrations = Integrations::new();
    // Of no runtime: every activity is taken to exist.
    integrations.register(Arc::new(ActivityTasks::new()));
    let mut options = Options::new(dir);
    options.node_id = "a".into();
    options.integrations = integrations;
    Runtime::open(options)
        .await
        .unwrap_or_else(|e| panic!("open a: {e}"))
}

async fn start(a: &Runtime) -> String {
    let definition = json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task",
            "Resource": ACTIVITY,
            "HeartbeatSeconds": HEARTBEAT_SECONDS,
            "TimeoutSeconds": 600,
            "End": true
        }}
    });
    a.store()
        .create_state_machine(
            "work".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-work".into(),
                state_machine_arn: MACHINE.into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    a.start_execution(StartExecution {
        target_arn: MACHINE.into(),
        name: Some("job".into()),
        input: Some(json!({"n": 7}).to_string()),
        trace_header: None,
    })
    .await
    .unwrap_or_else(|e| panic!("start: {e}"))
    .execution_arn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_served_by_another_node_takes_heartbeats_and_answers_its_task() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = node_a(dir.path()).await;
    let b = Runtime::with_store(Arc::clone(a.store()), "b".into(), Integrations::new())
        .await
        .unwrap_or_else(|e| panic!("open b: {e}"));
    let arn = start(&a).await;

    // The worker polls node b until the task is there (dispatched by a).
    let taken = tokio::time::timeout(HANG, async {
        loop {
            match b
                .take_activity_task(ACTIVITY, "worker-1", Some("worker-1"), 3_600_000)
                .await
            {
                Ok(Some(t)) => return t,
                Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("take: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the task never reached node b"));
    let input: Value = serde_json::from_str(&taken.input).unwrap_or(Value::Null);
    assert_eq!(input, json!({"n": 7}));

    // Heartbeats through b keep the task alive for twice its
    // HeartbeatSeconds; without them it would time out.
    let until = tokio::time::Instant::now() + Duration::from_secs(2 * HEARTBEAT_SECONDS);
    while tokio::time::Instant::now() < until {
        let beat = b.heartbeat_task(&taken.token).await;
        assert!(matches!(beat, Ok(true)), "heartbeat: {beat:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let answered = b
        .answer_task(&taken.token, TaskAnswer::Succeeded(json!({"done": 7})))
        .await;
    assert!(matches!(answered, Ok(true)), "answer: {answered:?}");

    let done = tokio::time::timeout(HANG, a.wait_for_completion(&arn))
        .await
        .unwrap_or_else(|_| panic!("never finished"))
        .unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(done.state.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.state.output.as_deref(), Some(r#"{"done":7}"#));
    let h = history(&a, &arn);
    let started: Vec<&HistoryEvent> = h
        .iter()
        .filter(|e| e.event_type == EventType::ActivityStarted)
        .collect();
    assert_eq!(started.len(), 1, "{h:?}");
    assert!(
        !h.iter()
            .any(|e| e.event_type == EventType::ActivityTimedOut),
        "{h:?}"
    );
    // The execution never moved to b.
    assert_eq!(b.active_executions(), 0);

    // A token whose task has ended is refused on either node.
    for node in [&a, &b] {
        let late = node.heartbeat_task(&taken.token).await;
        assert!(matches!(late, Err(Error::TaskNotOpen(_))), "{late:?}");
    }
    b.shutdown(Duration::from_secs(5)).await;
    a.shutdown(Duration::from_secs(5)).await;
}
