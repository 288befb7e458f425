//! Task tokens answered through [`Runtime::answer_task`] (issue 10): of many
//! concurrent answers to one token exactly one is accepted and every other
//! is `TaskNotOpen` (the server's `TaskTimedOut`), decided by the store and
//! not by timing; and an answer that comes before the task's invocation
//! returned is recorded after the invocation's `TaskSubmitted`, as on AWS.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_engine::TaskRequest;
use statecraft_runtime::activity::WaitForToken;
use statecraft_runtime::{
    Error, ExecutionStatus, Integration, Integrations, Options, Runtime, TaskAnswer, TaskContext,
    TaskFuture, TaskOutcome,
};
use statecraft_store::{HistoryQuery, MachineType, PageRequest};
use statecraft_testsupport::runtime;
use statecraft_types::{EventType, Failure, HistoryEvent};
use tokio::sync::Notify;

/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

fn waiting(resource: &str) -> Value {
    json!({
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"token.$": "$$.Task.Token"},
                "End": true
            }
        }
    })
}

async fn open(dir: &std::path::Path, integrations: Integrations) -> Runtime {
    let mut options = Options::new(dir);
    options.integrations = integrations;
    Runtime::open(options).await.unwrap()
}

async fn create(rt: &Runtime, name: &str, definition: Value) -> String {
    runtime::create_machine(rt, name, &definition, MachineType::Standard).await
}

async fn start(rt: &Runtime, machine: &str, name: &str) -> String {
    runtime::start(rt, machine, name, &serde_json::json!({})).await
}

/// The token of the execution's one pending task.
fn token(rt: &Runtime, arn: &str) -> String {
    let tasks = rt.store().pending_tasks(arn).unwrap();
    assert_eq!(tasks.len(), 1, "{arn}: {tasks:?}");
    tasks[0].token.clone().expect("the task has a token")
}

fn history(rt: &Runtime, arn: &str) -> Vec<HistoryEvent> {
    rt.history(
        arn,
        &HistoryQuery {
            page: PageRequest::first(1000),
            reverse: false,
        },
    )
    .unwrap()
    .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_fifty_concurrent_answers_to_one_token_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(WaitForToken));
    let rt = open(dir.path(), integrations).await;
    let sm = create(
        &rt,
        "ask",
        waiting("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
    )
    .await;
    for round in 0..4 {
        let arn = start(&rt, &sm, &format!("ask-{round}")).await;
        let token = token(&rt, &arn);
        let answers: Vec<_> = (0..50)
            .map(|i| {
                let rt = rt.clone();
                let token = token.clone();
                tokio::spawn(async move {
                    let answer = if i % 2 == 0 {
                        TaskAnswer::Succeeded(json!({"by": i}))
                    } else {
                        TaskAnswer::Failed(Failure::new("Nope", format!("by {i}")))
                    };
                    (i, rt.answer_task(&token, answer).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for a in answers {
            match a.await.unwrap() {
                (i, Ok(true)) => winners.push(i),
                (_, Err(Error::TaskNotOpen(m))) => {
                    assert_eq!(m, "Task Timed Out: 'Provided task does not exist anymore'")
                }
                (i, other) => panic!("answer {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner = winners[0];
        let done = tokio::time::timeout(HANG, rt.wait_for_completion(&arn))
            .await
            .expect("never finished")
            .unwrap();
        let events = history(&rt, &arn);
        let answered: Vec<_> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.event_type,
                    EventType::TaskSucceeded | EventType::TaskFailed
                )
            })
            .collect();
        assert_eq!(answered.len(), 1, "round {round}: {events:?}");
        if winner % 2 == 0 {
            assert_eq!(done.state.status, ExecutionStatus::Succeeded);
            assert_eq!(
                done.state.output.as_deref(),
                Some(&*json!({"by": winner}).to_string())
            );
        } else {
            assert_eq!(done.state.status, ExecutionStatus::Failed);
            assert_eq!(done.state.error.as_deref(), Some("Nope"));
            assert_eq!(done.state.cause, Some(format!("by {winner}")));
        }
        // Later answers to the closed task are refused too.
        assert!(matches!(
            rt.answer_task(&token, TaskAnswer::Succeeded(json!(1)))
                .await,
            Err(Error::TaskNotOpen(_))
        ));
    }
    rt.shutdown(Duration::from_secs(5)).await;
}

/// A `.waitForTaskToken` integration whose request is accepted only when
/// the test says so: the token can be answered before it returns.
struct Slow {
    release: Arc<Notify>,
}

impl Integration for Slow {
    fn handles(&self, resource: &str) -> bool {
        resource == "arn:aws:states:::test:slow.waitForTaskToken"
    }

    fn invoke(&self, _: TaskContext, _: TaskRequest) -> TaskFuture {
        let release = Arc::clone(&self.release);
        Box::pin(async move {
            release.notified().await;
            TaskOutcome::Submitted(json!({"accepted": true}))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_before_the_invocation_returned_is_recorded_after_task_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let release = Arc::new(Notify::new());
    let mut integrations = Integrations::new();
    integrations.register(Arc::new(Slow {
        release: Arc::clone(&release),
    }));
    let rt = open(dir.path(), integrations).await;
    let sm = create(
        &rt,
        "slow",
        waiting("arn:aws:states:::test:slow.waitForTaskToken"),
    )
    .await;
    let arn = start(&rt, &sm, "slow").await;
    let token = token(&rt, &arn);
    // The invocation has not returned: the answer is accepted and waits.
    assert_eq!(
        rt.answer_task(&token, TaskAnswer::Succeeded(json!({"done": 1})))
            .await,
        Ok(true)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rt.describe_execution(&arn).unwrap().state.status,
        ExecutionStatus::Running
    );
    release.notify_one();
    let done = tokio::time::timeout(HANG, rt.wait_for_completion(&arn))
        .await
        .expect("never finished")
        .unwrap();
    assert_eq!(done.state.status, ExecutionStatus::Succeeded);
    let types: Vec<EventType> = history(&rt, &arn).iter().map(|e| e.event_type).collect();
    let submitted = types.iter().position(|t| *t == EventType::TaskSubmitted);
    let succeeded = types.iter().position(|t| *t == EventType::TaskSucceeded);
    assert!(
        matches!((submitted, succeeded), (Some(a), Some(b)) if a < b),
        "{types:?}"
    );
    rt.shutdown(Duration::from_secs(5)).await;
}
