//! Passivation (issue 17): an execution that waits only on what the store
//! holds (a timer, an activity or callback task, an answer) has no actor in
//! memory; the next message for it (its timer, a task's answer, a stop, an
//! operator's call) activates it again from the store, and nothing is lost
//! or applied twice, however the message and the passivation meet.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::activity::WaitForToken;
use statecraft_runtime::{
    ExecutionStatus, Integration, Integrations, Options, Runtime, RuntimeHandle, StartExecution,
    TaskAnswer, TaskContext, TaskFuture, TaskOutcome,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_types::{EventType, HistoryEvent};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";
/// Only a hang (a lost message) reaches it.
const HANG: Duration = Duration::from_secs(120);

async fn open_with(dir: &std::path::Path, integrations: Integrations) -> Runtime {
    let mut options = Options::new(dir);
    options.integrations = integrations;
    Runtime::open(options).await.unwrap()
}

async fn create(rt: &Runtime, name: &str, definition: Value) -> String {
    let arn = format!("{PREFIX}{name}");
    rt.store()
        .create_state_machine(
            name.into(),
            MachineType::Standard,
            Revision {
                revision_id: format!("rev-{name}"),
                state_machine_arn: arn.clone(),
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
        .unwrap();
    arn
}

async fn start(rt: &Runtime, machine: &str, name: &str, input: Value) -> String {
    rt.start_execution(StartExecution {
        target_arn: machine.into(),
        name: Some(name.into()),
        input: Some(input.to_string()),
        trace_header: None,
    })
    .await
    .unwrap()
    .execution_arn
}

fn history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    let mut q = HistoryQuery {
        page: PageRequest::first(1000),
        reverse: false,
    };
    loop {
        let p = rt.history(arn, &q).unwrap();
        out.extend(p.items);
        match p.next_token {
            Some(t) => q.page.next_token = Some(t),
            None => return out,
        }
    }
}

fn count(h: &[HistoryEvent], t: EventType) -> usize {
    h.iter().filter(|e| e.event_type == t).count()
}

/// Ids 1..=n, no gap, no duplicate.
fn assert_dense(arn: &str, h: &[HistoryEvent]) {
    let ids: Vec<u64> = h.iter().map(|e| e.id).collect();
    let expected: Vec<u64> = (1..=h.len() as u64).collect();
    assert_eq!(ids, expected, "{arn}");
}

fn wait_machine(seconds: u64) -> Value {
    json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    })
}

/// Polls `what` until it holds (the actors end asynchronously).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_waiting_on_timers_hold_no_actor_and_complete_when_they_fire() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open_with(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "wait2", wait_machine(2)).await;
    let n = 200;
    let mut arns = Vec::new();
    for i in 0..n {
        arns.push(start(&rt, &sm, &format!("w-{i}"), json!({"i": i})).await);
    }
    eventually("every waiting execution passivated", || {
        rt.active_executions() == 0 && rt.passive_executions() == n
    })
    .await;
    for (i, arn) in arns.iter().enumerate() {
        let done = tokio::time::timeout(HANG, rt.wait_for_completion(arn))
            .await
            .expect("never finished")
            .unwrap();
        assert_eq!(done.state.status, ExecutionStatus::Succeeded, "{arn}");
        assert_eq!(
            done.state.output.as_deref(),
            Some(&*json!({"i": i}).to_string())
        );
        let h = history(&rt, arn);
        assert_dense(arn, &h);
        let types: Vec<EventType> = h.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            vec![
                EventType::ExecutionStarted,
                EventType::WaitStateEntered,
                EventType::WaitStateExited,
                EventType::PassStateEntered,
                EventType::PassStateExited,
                EventType::ExecutionSucceeded,
            ],
            "{arn}"
        );
    }
    eventually("nothing left in memory", || {
        rt.active_executions() == 0 && rt.passive_executions() == 0
    })
    .await;
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_reaches_a_passivated_execution() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open_with(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "wait600", wait_machine(600)).await;
    let arn = start(&rt, &sm, "long", json!({})).await;
    eventually("passivated", || {
        rt.active_executions() == 0 && rt.passive_executions() == 1
    })
    .await;
    rt.stop_execution(&arn, Some("Halt".into()), Some("by the test".into()))
        .await
        .unwrap();
    let record = rt.describe_execution(&arn).unwrap();
    assert_eq!(record.state.status, ExecutionStatus::Aborted);
    assert_eq!(record.state.error.as_deref(), Some("Halt"));
    let stopped = record.state.stop_date_ms.unwrap();
    let h = history(&rt, &arn);
    assert_dense(&arn, &h);
    assert_eq!(h.last().unwrap().event_type, EventType::ExecutionAborted);
    assert_eq!(count(&h, EventType::ExecutionAborted), 1);
    eventually("nothing left in memory", || {
        rt.active_executions() == 0 && rt.passive_executions() == 0
    })
    .await;
    // A second stop answers the same date from the store.
    assert_eq!(rt.stop_execution(&arn, None, None).await.unwrap(), stopped);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_pause_and_resume_reach_a_passivated_execution() {
    let dir = tempfile::tempdir().unwrap();
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(WaitForToken));
    let rt = open_with(dir.path(), integrations).await;
    let sm = create(
        &rt,
        "ask",
        json!({
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"token.$": "$$.Task.Token"},
                    "End": true
                }
            }
        }),
    )
    .await;
    let arn = start(&rt, &sm, "ask-1", json!({})).await;
    eventually("passivated", || {
        rt.active_executions() == 0 && rt.passive_executions() == 1
    })
    .await;
    rt.pause_execution(&arn, "tester").await.unwrap();
    eventually("passivated while paused", || {
        rt.active_executions() == 0 && rt.passive_executions() == 1
    })
    .await;
    let tasks = rt.store().pending_tasks(&arn).unwrap();
    assert_eq!(tasks.len(), 1);
    let token = tasks[0].token.clone().unwrap();
    // Answered while paused: held in the pause record, applied at resume.
    assert!(rt
        .answer_task(&token, TaskAnswer::Succeeded(json!({"ok": 1})))
        .await
        .unwrap());
    eventually("passivated with the held answer", || {
        rt.active_executions() == 0 && rt.passive_executions() == 1
    })
    .await;
    assert_eq!(
        rt.describe_execution(&arn).unwrap().state.status,
        ExecutionStatus::Running
    );
    rt.resume_execution(&arn, "tester").await.unwrap();
    let done = tokio::time::timeout(HANG, rt.wait_for_completion(&arn))
        .await
        .expect("never finished")
        .unwrap();
    assert_eq!(done.state.status, ExecutionStatus::Succeeded);
    assert_eq!(done.state.output.as_deref(), Some(r#"{"ok":1}"#));
    let h = history(&rt, &arn);
    assert_dense(&arn, &h);
    assert_eq!(count(&h, EventType::TaskSucceeded), 1);
    assert_eq!(count(&h, EventType::ExecutionPaused), 1);
    assert_eq!(count(&h, EventType::ExecutionResumed), 1);
    // The callback task was dispatched once: activations do not send its
    // request again.
    assert_eq!(count(&h, EventType::TaskScheduled), 1);
    rt.shutdown(Duration::from_secs(5)).await;
}

/// A `.waitForTaskToken` integration that answers its own token at once,
/// from another task, after a random number of yields: the answer meets
/// the execution's actor before, during or after its passivation.
struct AnswersItself {
    runtime: RuntimeHandle,
    invoked: Arc<AtomicUsize>,
}

impl Integration for AnswersItself {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:aws:states:::test:echo.waitForTaskToken"
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        self.invoked.fetch_add(1, Ordering::Relaxed);
        let runtime = self.runtime.clone();
        let token = request.task_token.clone().expect("a token");
        let n = request.parameters["n"].clone();
        Box::pin(async move {
            tokio::spawn(async move {
                for _ in 0..fastrand::usize(0..4) {
                    tokio::task::yield_now().await;
                }
                let rt = runtime.get().expect("the runtime is open");
                let answered = rt
                    .answer_task(&token, TaskAnswer::Succeeded(json!({"n": n})))
                    .await;
                assert!(matches!(answered, Ok(true)), "{answered:?}");
            });
            if fastrand::bool() {
                tokio::task::yield_now().await;
            }
            TaskOutcome::Deferred
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_racing_passivation_are_each_applied_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let invoked = Arc::new(AtomicUsize::new(0));
    let handle = RuntimeHandle::new();
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(AnswersItself {
        runtime: handle.clone(),
        invoked: Arc::clone(&invoked),
    }));
    let mut options = Options::new(dir.path());
    options.integrations = integrations;
    options.handle = handle;
    let rt = Runtime::open(options).await.unwrap();
    let rounds = 25;
    let sm = create(
        &rt,
        "loop",
        json!({
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::test:echo.waitForTaskToken",
                    "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                    "Next": "More?"
                },
                "More?": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.n", "NumericLessThan": rounds, "Next": "Ask"}],
                    "Default": "Done"
                },
                "Done": {"Type": "Succeed"}
            }
        }),
    )
    .await;
    let executions = 40;
    let mut arns = Vec::new();
    for i in 0..executions {
        arns.push(start(&rt, &sm, &format!("loop-{i}"), json!({"n": 0})).await);
    }
    for arn in &arns {
        let done = tokio::time::timeout(HANG, rt.wait_for_completion(arn))
            .await
            .expect("an answer was lost")
            .unwrap();
        assert_eq!(done.state.status, ExecutionStatus::Succeeded, "{arn}");
        assert_eq!(
            done.state.output.as_deref(),
            Some(&*json!({"n": rounds}).to_string()),
            "{arn}"
        );
        let h = history(&rt, arn);
        assert_dense(arn, &h);
        assert_eq!(count(&h, EventType::TaskScheduled), rounds, "{arn}");
        assert_eq!(count(&h, EventType::TaskSucceeded), rounds, "{arn}");
        assert_eq!(count(&h, EventType::TaskFailed), 0, "{arn}");
    }
    // Every task was dispatched exactly once.
    assert_eq!(invoked.load(Ordering::Relaxed), executions * rounds);
    eventually("nothing left in memory", || {
        rt.active_executions() == 0 && rt.passive_executions() == 0
    })
    .await;
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_actor_stays_for_passivate_after_then_goes() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path());
    options.passivate_after = Duration::from_millis(1500);
    let rt = Runtime::open(options).await.unwrap();
    let sm = create(&rt, "wait600", wait_machine(600)).await;
    let arn = start(&rt, &sm, "idle", json!({})).await;
    assert_eq!(rt.active_executions(), 1);
    assert_eq!(rt.passive_executions(), 0);
    eventually("passivated after the idle time", || {
        rt.active_executions() == 0 && rt.passive_executions() == 1
    })
    .await;
    rt.stop_execution(&arn, None, None).await.unwrap();
    assert_eq!(
        rt.describe_execution(&arn).unwrap().state.status,
        ExecutionStatus::Aborted
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passivated_execution_keeps_its_lease() {
    // Two nodes on one store with a lease of 300 ms: if the renewal did not
    // cover executions without an actor, the second node would take the
    // waiting one over within the wait.
    let dir = tempfile::tempdir().unwrap();
    let a = {
        let mut options = Options::new(dir.path());
        options.node_id = "a".into();
        options.lease = Duration::from_millis(300);
        Runtime::open(options).await.unwrap()
    };
    let b = Runtime::with_store_leased(
        Arc::clone(a.store()),
        "b".into(),
        Integrations::new(),
        Duration::from_millis(300),
    )
    .await
    .unwrap();
    let sm = create(&a, "wait3", wait_machine(3)).await;
    let arn = start(&a, &sm, "leased", json!({})).await;
    eventually("passivated on a", || {
        a.active_executions() == 0 && a.passive_executions() == 1
    })
    .await;
    // Several lease periods pass while it waits.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.active_executions() + b.passive_executions(), 0);
    assert_eq!(a.passive_executions(), 1);
    let done = tokio::time::timeout(HANG, a.wait_for_completion(&arn))
        .await
        .expect("never finished")
        .unwrap();
    assert_eq!(done.state.status, ExecutionStatus::Succeeded);
    let h = history(&a, &arn);
    assert_dense(&arn, &h);
    assert_eq!(count(&h, EventType::WaitStateExited), 1);
    assert_eq!(b.active_executions() + b.passive_executions(), 0);
    b.shutdown(Duration::from_secs(5)).await;
    a.shutdown(Duration::from_secs(5)).await;
}
