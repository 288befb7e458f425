//! The runtime against a real SQLite store in a temporary directory: runs
//! Pass chains and Waits to the end, restarts over the same data mid-wait,
//! stops, redrives, runs express executions and many executions at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::{
    Error, ExecutionStatus, Integration, Integrations, Options, Runtime, StartExecution,
    SyncStatus, TaskContext, TaskFuture, TaskOutcome,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest};
use statecraft_testsupport::runtime;
use statecraft_types::{EventType, Failure, HistoryEvent};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";

async fn open(dir: &std::path::Path, integrations: Integrations) -> Runtime {
    let mut options = Options::new(dir);
    options.integrations = integrations;
    Runtime::open(options).await.unwrap()
}

async fn create(rt: &Runtime, name: &str, definition: Value, machine_type: MachineType) -> String {
    runtime::create_machine(rt, name, &definition, machine_type).await
}

async fn start(rt: &Runtime, machine: &str, name: &str, input: Value) -> String {
    runtime::start(rt, machine, name, &input).await
}

/// Polls until the execution is no longer running.
async fn finished(
    rt: &Runtime,
    arn: &str,
    within: Duration,
) -> statecraft_runtime::ExecutionRecord {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let e = rt.describe_execution(arn).unwrap();
        if e.state.status != ExecutionStatus::Running {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{arn} still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all_history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
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

fn types(h: &[HistoryEvent]) -> Vec<EventType> {
    h.iter().map(|e| e.event_type).collect()
}

/// Ids are 1..=n with no gap and no duplicate.
fn assert_dense(h: &[HistoryEvent]) {
    let ids: Vec<u64> = h.iter().map(|e| e.id).collect();
    let expected: Vec<u64> = (1..=h.len() as u64).collect();
    assert_eq!(ids, expected);
}

fn pass_chain() -> Value {
    json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "Next": "C"},
            "C": {"Type": "Pass", "End": true}
        }
    })
}

fn wait_machine(seconds: u64) -> Value {
    json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "waited", "ResultPath": "$.r", "End": true}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_chain_completes_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "chain", pass_chain(), MachineType::Standard).await;
    let arn = start(&rt, &sm, "one", json!({"x": 0})).await;
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:execution:chain:one"
    );
    let e = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(e.state.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!({"x": 0, "a": 1, "b": 2}));
    assert!(e.state.stop_date_ms.is_some());
    let h = all_history(&rt, &arn);
    assert_dense(&h);
    assert_eq!(
        types(&h),
        vec![
            EventType::ExecutionStarted,
            EventType::PassStateEntered,
            EventType::PassStateExited,
            EventType::PassStateEntered,
            EventType::PassStateExited,
            EventType::PassStateEntered,
            EventType::PassStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_fires_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    // Two seconds, so the timer is surely still armed when looked at below.
    let sm = create(&rt, "wait", wait_machine(2), MachineType::Standard).await;
    let arn = start(&rt, &sm, "w", json!({})).await;
    let running = rt.describe_execution(&arn).unwrap();
    assert_eq!(running.state.status, ExecutionStatus::Running);
    assert_eq!(
        rt.store().timers(&arn).unwrap().len(),
        1,
        "the wait's timer is durable"
    );
    let e = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    assert!(e.state.stop_date_ms.unwrap() - e.start_date_ms >= 2000);
    let h = all_history(&rt, &arn);
    assert_dense(&h);
    assert!(types(&h).contains(&EventType::WaitStateExited));
    assert!(rt.store().timers(&arn).unwrap().is_empty());
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_wait_resumes_and_completes_once() {
    let dir = tempfile::tempdir().unwrap();
    let (sm, arns) = {
        let rt = open(dir.path(), Integrations::new()).await;
        let sm = create(&rt, "restart", wait_machine(1), MachineType::Standard).await;
        let mut arns = Vec::new();
        for i in 0..20 {
            arns.push(start(&rt, &sm, &format!("r{i}"), json!({"i": i})).await);
        }
        rt.shutdown(Duration::from_secs(5)).await;
        (sm, arns)
    };
    // Stay down past the wait: the timers fall due while nothing runs.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let rt = open(dir.path(), Integrations::new()).await;
    for (i, arn) in arns.iter().enumerate() {
        let e = finished(&rt, arn, Duration::from_secs(5)).await;
        assert_eq!(e.state.status, ExecutionStatus::Succeeded, "{arn}");
        let output: Value = serde_json::from_str(e.state.output.as_deref().unwrap()).unwrap();
        assert_eq!(output, json!({"i": i, "r": "waited"}));
        let h = all_history(&rt, arn);
        assert_dense(&h);
        let entered = types(&h)
            .iter()
            .filter(|t| **t == EventType::PassStateEntered)
            .count();
        assert_eq!(entered, 1, "the state after the wait ran once");
    }
    let _ = sm;
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_takes_over_when_a_lease_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let lease = Duration::from_millis(1500);
    let node = |id: &str| {
        let mut o = Options::new(dir.path());
        o.node_id = id.into();
        o.lease = lease;
        o
    };
    let a = Runtime::open(node("a")).await.unwrap();
    let sm = create(&a, "takeover", wait_machine(1), MachineType::Standard).await;
    let arn = start(&a, &sm, "t", json!({})).await;
    // Node a stops renewing (as if it died); node b starts while a's lease
    // still holds, so b must not take the execution at startup...
    a.shutdown(Duration::from_secs(5)).await;
    let b = Runtime::open(node("b")).await.unwrap();
    assert_eq!(b.active_executions(), 0);
    // ...but takes it over once the lease has run out, and finishes it.
    let e = finished(&b, &arn, Duration::from_secs(10)).await;
    assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    let h = all_history(&b, &arn);
    assert_dense(&h);
    assert_eq!(
        types(&h)
            .iter()
            .filter(|t| **t == EventType::WaitStateExited)
            .count(),
        1
    );
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_executions_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "many", pass_chain(), MachineType::Standard).await;
    let mut handles = Vec::new();
    for i in 0..300 {
        let rt = rt.clone();
        let sm = sm.clone();
        handles.push(tokio::spawn(async move {
            start(&rt, &sm, &format!("m{i}"), json!({"i": i})).await
        }));
    }
    for h in handles {
        let arn = h.await.unwrap();
        let e = finished(&rt, &arn, Duration::from_secs(10)).await;
        assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    }
    let stats = rt.store().commit_stats();
    assert!(
        stats.max_batch > 1,
        "concurrent starts share commits: {stats:?}"
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_completion_wakes_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "waited", wait_machine(1), MachineType::Standard).await;
    let parent = start(&rt, &sm, "parent", json!({})).await;
    let child = rt
        .start_child_execution(
            StartExecution {
                target_arn: sm.clone(),
                name: Some("child".into()),
                input: None,
                trace_header: None,
            },
            &parent,
        )
        .await
        .unwrap()
        .execution_arn;
    let waiters: Vec<_> = [&parent, &child]
        .into_iter()
        .map(|arn| {
            let rt = rt.clone();
            let arn = arn.clone();
            tokio::spawn(async move { rt.wait_for_completion(&arn).await })
        })
        .collect();
    for w in waiters {
        let e = tokio::time::timeout(Duration::from_secs(5), w)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    }
    let c = rt.describe_execution(&child).unwrap();
    assert_eq!(c.parent_arn.as_deref(), Some(parent.as_str()));
    // Already finished: returns at once.
    let again = rt.wait_for_completion(&child).await.unwrap();
    assert_eq!(again.state.status, ExecutionStatus::Succeeded);
    assert!(matches!(
        rt.wait_for_completion(&format!("{child}-nobody")).await,
        Err(Error::ExecutionDoesNotExist(_))
    ));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_is_idempotent_by_name_and_input() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "idem", wait_machine(30), MachineType::Standard).await;
    let a = start(&rt, &sm, "same", json!({"k": 1})).await;
    let b = start(&rt, &sm, "same", json!({"k": 1})).await;
    assert_eq!(a, b);
    let clash = rt
        .start_execution(StartExecution {
            target_arn: sm.clone(),
            name: Some("same".into()),
            input: Some("{\"k\":2}".into()),
            trace_header: None,
        })
        .await;
    assert_eq!(clash, Err(Error::ExecutionAlreadyExists(a.clone())));
    let bad = rt
        .start_execution(StartExecution {
            target_arn: sm.clone(),
            name: Some("bad".into()),
            input: Some("{not json".into()),
            trace_header: None,
        })
        .await;
    assert!(matches!(bad, Err(Error::InvalidExecutionInput(_))));
    let nobody = rt
        .start_execution(StartExecution {
            target_arn: format!("{PREFIX}nobody"),
            ..StartExecution::default()
        })
        .await;
    assert!(matches!(nobody, Err(Error::StateMachineDoesNotExist(_))));
    let not_arn = rt
        .start_execution(StartExecution {
            target_arn: "nope".into(),
            ..StartExecution::default()
        })
        .await;
    assert!(matches!(not_arn, Err(Error::InvalidArn(_))));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_aborts_a_waiting_execution() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "stop", wait_machine(300), MachineType::Standard).await;
    let arn = start(&rt, &sm, "s", json!({})).await;
    let stopped = rt
        .stop_execution(&arn, Some("Halt".into()), Some("by test".into()))
        .await
        .unwrap();
    let e = rt.describe_execution(&arn).unwrap();
    assert_eq!(e.state.status, ExecutionStatus::Aborted);
    assert!(stopped >= e.start_date_ms);
    let h = all_history(&rt, &arn);
    assert_dense(&h);
    assert_eq!(
        h.last().map(|e| e.event_type),
        Some(EventType::ExecutionAborted)
    );
    assert!(rt.store().timers(&arn).unwrap().is_empty());
    // Stopping again leaves it as it is.
    rt.stop_execution(&arn, None, None).await.unwrap();
    assert_eq!(all_history(&rt, &arn).len(), h.len());
    assert!(matches!(
        rt.stop_execution(&format!("{arn}-nobody"), None, None)
            .await,
        Err(Error::ExecutionDoesNotExist(_))
    ));
    rt.shutdown(Duration::from_secs(5)).await;
}

fn task_machine(resource: &str) -> Value {
    json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": resource, "End": true}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_without_integration_fails_the_execution() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(
        &rt,
        "unsupported",
        task_machine("arn:aws:lambda:us-east-1:123456789012:function:f"),
        MachineType::Standard,
    )
    .await;
    let arn = start(&rt, &sm, "t", json!({})).await;
    let e = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(e.state.status, ExecutionStatus::Failed);
    assert_eq!(e.state.error.as_deref(), Some("States.TaskFailed"));
    assert!(e
        .state
        .cause
        .as_deref()
        .unwrap_or_default()
        .contains("not supported by this server"));
    assert_eq!(e.state.redrive_status.as_deref(), Some("REDRIVABLE"));
    assert!(rt.store().pending_tasks(&arn).unwrap().is_empty());
    rt.shutdown(Duration::from_secs(5)).await;
}

/// Fails its first call, then echoes its parameters.
struct Flaky {
    calls: AtomicUsize,
}

impl Integration for Flaky {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:test:flaky"
    }

    fn invoke(&self, _: TaskContext, request: TaskRequest) -> TaskFuture {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n == 0 {
                TaskOutcome::Failed(Failure::new("Flaky.Error", "first call fails"))
            } else {
                TaskOutcome::Succeeded(json!({"echo": request.parameters}))
            }
        })
    }
}

/// Panics: a bug in an integration.
struct Broken;

impl Integration for Broken {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:test:broken"
    }

    fn invoke(&self, _: TaskContext, _: TaskRequest) -> TaskFuture {
        Box::pin(async move { panic!("integration bug") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_integration_fails_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Broken));
    let rt = open(dir.path(), integrations).await;
    let sm = create(
        &rt,
        "broken",
        task_machine("arn:test:broken"),
        MachineType::Standard,
    )
    .await;
    let arn = start(&rt, &sm, "b", json!({})).await;
    let e = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(e.state.status, ExecutionStatus::Failed);
    assert_eq!(e.state.error.as_deref(), Some("States.TaskFailed"));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_reruns_the_failed_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Flaky {
        calls: AtomicUsize::new(0),
    }));
    let rt = open(dir.path(), integrations).await;
    let sm = create(
        &rt,
        "flaky",
        task_machine("arn:test:flaky"),
        MachineType::Standard,
    )
    .await;
    let arn = start(&rt, &sm, "f", json!({"v": 7})).await;
    let failed = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(failed.state.status, ExecutionStatus::Failed);
    assert_eq!(failed.state.error.as_deref(), Some("Flaky.Error"));
    assert_eq!(rt.redrive_status(&failed).unwrap(), ("REDRIVABLE", None));

    rt.redrive_execution(&arn).await.unwrap();
    let e = finished(&rt, &arn, Duration::from_secs(5)).await;
    assert_eq!(e.state.status, ExecutionStatus::Succeeded);
    assert_eq!(e.state.redrive_count, 1);
    assert!(e.state.redrive_date_ms.is_some());
    let h = all_history(&rt, &arn);
    assert_dense(&h);
    assert!(types(&h).contains(&EventType::ExecutionRedriven));
    assert_eq!(
        rt.redrive_status(&e).unwrap(),
        (
            "NOT_REDRIVABLE",
            Some("Execution is SUCCEEDED and cannot be redriven".to_string())
        )
    );
    assert!(matches!(
        rt.redrive_execution(&arn).await,
        Err(Error::ExecutionNotRedrivable(_))
    ));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_express_runs_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let express = create(&rt, "fast", pass_chain(), MachineType::Express).await;
    let writes_before = rt.store().commit_stats().writes;
    let r = rt
        .start_sync_execution(StartExecution {
            target_arn: express.clone(),
            name: Some("x".into()),
            input: Some("{\"x\":1}".into()),
            trace_header: None,
        })
        .await
        .unwrap();
    assert_eq!(r.status, SyncStatus::Succeeded);
    let output: Value = serde_json::from_str(r.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!({"x": 1, "a": 1, "b": 2}));
    assert!(r
        .execution_arn
        .starts_with("arn:aws:states:us-east-1:123456789012:express:fast:x:"));
    assert_eq!(r.billed_duration_ms % 100, 0);
    assert_eq!(
        rt.store().commit_stats().writes,
        writes_before,
        "nothing persisted"
    );
    assert!(rt.describe_execution(&r.execution_arn).is_err());

    let standard = create(&rt, "slow", pass_chain(), MachineType::Standard).await;
    let refused = rt
        .start_sync_execution(StartExecution {
            target_arn: standard,
            ..StartExecution::default()
        })
        .await;
    assert!(matches!(
        refused,
        Err(Error::StateMachineTypeNotSupported(_))
    ));
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_express_executions_get_express_arns() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let express = create(&rt, "quick", pass_chain(), MachineType::Express).await;
    let start = |name: &str| StartExecution {
        target_arn: express.clone(),
        name: Some(name.into()),
        input: Some("{\"x\":1}".into()),
        trace_header: None,
    };
    let first = rt.start_execution(start("same")).await.unwrap();
    // Express names are not unique: the same name starts another execution.
    let second = rt.start_execution(start("same")).await.unwrap();
    for started in [&first, &second] {
        assert!(
            started
                .execution_arn
                .starts_with("arn:aws:states:us-east-1:123456789012:express:quick:same:"),
            "{}",
            started.execution_arn
        );
    }
    assert_ne!(first.execution_arn, second.execution_arn);
    let done = rt.wait_for_completion(&first.execution_arn).await.unwrap();
    assert_eq!(
        done.state.status,
        statecraft_store::ExecutionStatus::Succeeded
    );
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_express_waits_and_fails_like_a_durable_one() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let waits = create(&rt, "express-wait", wait_machine(1), MachineType::Express).await;
    let r = rt
        .start_sync_execution(StartExecution {
            target_arn: waits,
            ..StartExecution::default()
        })
        .await
        .unwrap();
    assert_eq!(r.status, SyncStatus::Succeeded);
    assert!(r.stop_date_ms - r.start_date_ms >= 1000);
    assert!(r.billed_duration_ms >= 1000);
    assert!(types(&r.events).contains(&EventType::WaitStateExited));
    assert_eq!(r.output.as_deref(), Some("{\"r\":\"waited\"}"));

    let failing = create(
        &rt,
        "express-task",
        task_machine("arn:aws:lambda:us-east-1:123456789012:function:f"),
        MachineType::Express,
    )
    .await;
    let r = rt
        .start_sync_execution(StartExecution {
            target_arn: failing,
            ..StartExecution::default()
        })
        .await
        .unwrap();
    assert_eq!(r.status, SyncStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(r.output, None);
    rt.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_aliases_are_recorded_on_executions() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path(), Integrations::new()).await;
    let sm = create(&rt, "versioned", pass_chain(), MachineType::Standard).await;
    let v1 = rt.store().publish_version(&sm, None, 1).await.unwrap();
    rt.store()
        .create_alias(statecraft_store::Alias {
            arn: format!("{sm}:live"),
            state_machine_arn: sm.clone(),
            name: "live".into(),
            description: None,
            routing: vec![statecraft_store::Route {
                version_arn: v1.arn.clone(),
                weight: 100,
            }],
            creation_date_ms: 1,
            update_date_ms: None,
        })
        .await
        .unwrap();
    let by_version = start(&rt, &v1.arn, "v", json!({})).await;
    let by_alias = start(&rt, &format!("{sm}:live"), "a", json!({})).await;
    let v = rt.describe_execution(&by_version).unwrap();
    assert_eq!(v.version_arn.as_deref(), Some(v1.arn.as_str()));
    assert_eq!(v.state_machine_arn, sm);
    let a = rt.describe_execution(&by_alias).unwrap();
    assert_eq!(a.alias_arn.as_deref(), Some(format!("{sm}:live").as_str()));
    assert_eq!(a.version_arn.as_deref(), Some(v1.arn.as_str()));
    rt.shutdown(Duration::from_secs(5)).await;
}
