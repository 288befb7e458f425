//! Tasks of resources that may wait in a flow-limit queue
//! (`Options::started_later`): a stored execution records `TaskScheduled`
//! and waits for `TaskStarted` from whoever starts the task (the server's
//! flow wrapper, through `Runtime::send_event`), with its timeout counted
//! from there; a StartSyncExecution run, which nothing queues, starts such
//! tasks at once.

use std::sync::Arc;

use serde_json::{json, Value};
use statecraft_engine::{Event, TaskRequest};
use statecraft_runtime::{
    Integration, Integrations, Options, Runtime, RuntimeHandle, StartExecution, SyncStatus,
    TaskContext, TaskFuture, TaskOutcome,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_types::EventType;

const RESOURCE: &str = "arn:aws:states:::http:invoke";

/// Answers every task with its parameters after `TaskStarted` was sent
/// for it, as the flow wrapper does once a slot is free (reaching the
/// runtime through the handle of its options, as the server's does).
struct StartsThenEchoes(RuntimeHandle);

impl Integration for StartsThenEchoes {
    fn handles(&self, resource: &str) -> bool {
        resource == RESOURCE
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        let runtime = self.0.get();
        Box::pin(async move {
            if let Some(rt) = runtime {
                // A stored execution: this is the start.
                let _ = rt.send_event(
                    &context.execution_arn,
                    Event::TaskStarted {
                        task: request.task,
                        worker_name: None,
                    },
                );
            }
            TaskOutcome::Succeeded(request.parameters)
        })
    }
}

async fn create(rt: &Runtime, name: &str, machine_type: MachineType) -> String {
    let arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}");
    let definition = json!({"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": RESOURCE, "TimeoutSeconds": 30,
        "Parameters": {"n": 1}, "End": true}}});
    rt.store()
        .create_state_machine(
            name.into(),
            machine_type,
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

fn types(rt: &Runtime, arn: &str) -> Vec<EventType> {
    rt.history(
        arn,
        &HistoryQuery {
            page: PageRequest::first(1000),
            reverse: false,
        },
    )
    .unwrap()
    .items
    .into_iter()
    .map(|e| e.event_type)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_started_later_records_its_start_once_and_a_sync_run_starts_it_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path());
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(StartsThenEchoes(options.handle.clone())));
    options.integrations = integrations;
    options.started_later = vec!["arn:aws:states:::http:".into()];
    let rt = Runtime::open(options).await.unwrap();

    let standard = create(&rt, "standard", MachineType::Standard).await;
    let started = rt
        .start_execution(StartExecution {
            target_arn: standard,
            name: Some("one".into()),
            input: Some("{}".into()),
            trace_header: None,
        })
        .await
        .unwrap();
    let done = rt
        .wait_for_completion(&started.execution_arn)
        .await
        .unwrap();
    assert_eq!(
        done.state.status,
        statecraft_runtime::ExecutionStatus::Succeeded
    );
    let seen = types(&rt, &started.execution_arn);
    let at = |t: EventType| seen.iter().position(|e| *e == t).expect("recorded");
    assert_eq!(
        seen.iter()
            .filter(|e| **e == EventType::TaskStarted)
            .count(),
        1,
        "{seen:?}"
    );
    assert!(at(EventType::TaskScheduled) < at(EventType::TaskStarted));
    assert!(at(EventType::TaskStarted) < at(EventType::TaskSucceeded));

    // Express, in memory: started at once, whoever invokes it.
    let express = create(&rt, "express", MachineType::Express).await;
    let r = rt
        .start_sync_execution(StartExecution {
            target_arn: express,
            name: Some("x".into()),
            input: Some("{}".into()),
            trace_header: None,
        })
        .await
        .unwrap();
    assert_eq!(r.status, SyncStatus::Succeeded);
    let output: Value = serde_json::from_str(r.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!({"n": 1}));
    let sync: Vec<EventType> = r.events.iter().map(|e| e.event_type).collect();
    assert!(sync.contains(&EventType::TaskStarted), "{sync:?}");
}
