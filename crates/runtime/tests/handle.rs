//! The runtime's handle (issue 11): what is built before the runtime and
//! calls back into it gets `Options::handle`, which the runtime fills as it
//! is constructed, before recovery dispatches a task that was pending when
//! the last process stopped; and the handle holds the runtime weakly, so an
//! integration that keeps it does not keep the runtime alive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use statecraft_engine::TaskRequest;
use statecraft_runtime::{
    ExecutionStatus, Integration, Integrations, Options, Runtime, RuntimeHandle, StartExecution,
    TaskContext, TaskFuture, TaskOutcome,
};
use statecraft_store::{MachineType, Revision};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:ask";
const RESOURCE: &str = "arn:statecraft:test:ask";
/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

/// Answers nothing itself; records whether the runtime was reachable
/// through the handle when each task was dispatched.
struct Probe {
    runtime: RuntimeHandle,
    seen: Arc<Mutex<Vec<bool>>>,
    answer: bool,
}

impl Integration for Probe {
    fn handles(&self, resource: &str) -> bool {
        resource == RESOURCE
    }

    fn invoke(&self, _: TaskContext, _: TaskRequest) -> TaskFuture {
        let reachable = self.runtime.get().is_some();
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(reachable);
        let answer = self.answer;
        Box::pin(async move {
            if answer {
                TaskOutcome::Succeeded(json!({"reachable": reachable}))
            } else {
                // Left pending: the process "stops" with the task open.
                std::future::pending().await
            }
        })
    }
}

fn options(dir: &std::path::Path, seen: &Arc<Mutex<Vec<bool>>>, answer: bool) -> Options {
    let mut options = Options::new(dir);
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Probe {
        runtime: options.handle.clone(),
        seen: Arc::clone(seen),
        answer,
    }));
    options.integrations = integrations;
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_dispatches_with_the_handle_filled_and_the_handle_keeps_nothing_alive() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let seen = Arc::new(Mutex::new(Vec::new()));

    // First process: the task is dispatched and never answered.
    let first = options(dir.path(), &seen, false);
    let handle = first.handle.clone();
    assert!(handle.get().is_none(), "filled before the runtime exists");
    let rt = Runtime::open(first)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    assert!(handle.get().is_some());
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": RESOURCE, "End": true}}});
    rt.store()
        .create_state_machine(
            "ask".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-ask".into(),
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
    let arn = rt
        .start_execution(StartExecution {
            target_arn: MACHINE.into(),
            name: Some("one".into()),
            input: None,
            trace_header: None,
        })
        .await
        .unwrap_or_else(|e| panic!("start: {e}"))
        .execution_arn;
    rt.shutdown(Duration::from_secs(5)).await;
    drop(rt);
    // The integrations (holding the handle) are gone with the runtime, and
    // the handle alone did not keep it.
    tokio::time::timeout(HANG, async {
        while handle.get().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the runtime outlived every handle to it but ours"));
    assert!(handle.wait().await.is_none());

    // Second process: recovery dispatches the pending task again, and the
    // integration already reaches the runtime.
    let rt = Runtime::open(options(dir.path(), &seen, true))
        .await
        .unwrap_or_else(|e| panic!("reopen: {e}"));
    let done = tokio::time::timeout(HANG, rt.wait_for_completion(&arn))
        .await
        .unwrap_or_else(|_| panic!("never finished"))
        .unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(done.state.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.state.output.as_deref(), Some(r#"{"reachable":true}"#));
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(seen, [true, true]);
    rt.shutdown(Duration::from_secs(5)).await;
}
