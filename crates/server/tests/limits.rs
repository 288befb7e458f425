//! Runaway work and quotas through the real `statecraft` binary (issue 14),
//! and a task token answered many times at once (issue 10):
//! - a Pass → Choice loop fails at AWS's history quota with AWS's error and
//!   cause while the server keeps answering and other executions complete;
//! - StopExecution aborts a loop that a raised quota lets run;
//! - `[limits] open_executions` stops a workflow that starts itself, with
//!   `ExecutionLimitExceeded`;
//! - `[limits] start_rate_per_second` answers `ThrottlingException` in AWS's
//!   shape;
//! - of 50 concurrent SendTaskSuccess/SendTaskFailure with one token exactly
//!   one is accepted, every other is `TaskTimedOut`.
//!
//! Timeouts here only turn a hang into a failure; nothing asserts a speed.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::json;

/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

/// Pass → Choice → Pass … with no Wait.
const SPIN: &str = r#"{"StartAt":"Spin","States":{
  "Spin":{"Type":"Pass","Result":"x","ResultPath":"$.spun","Next":"Again"},
  "Again":{"Type":"Choice","Choices":[{"Variable":"$.never","IsPresent":true,"Next":"Done"}],"Default":"Spin"},
  "Done":{"Type":"Succeed"}}}"#;

impl common::Binary {
    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn start_execution(&self, machine: &str) -> String {
        tokio::time::timeout(
            HANG,
            self.client
                .start_execution()
                .state_machine_arn(machine)
                .input("{}")
                .send(),
        )
        .await
        .expect("StartExecution never answered")
        .expect("start")
        .execution_arn
    }

    async fn wait_done(
        &self,
        arn: &str,
    ) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        let deadline = Instant::now() + HANG;
        loop {
            let d = self
                .client
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .expect("describe");
            if d.status != ExecutionStatus::Running {
                return d;
            }
            assert!(Instant::now() < deadline, "{arn} never finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last event of an execution's history.
    async fn last_event(&self, arn: &str) -> aws_sdk_sfn::types::HistoryEvent {
        self.client
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(1)
            .send()
            .await
            .expect("history")
            .events
            .into_iter()
            .next()
            .expect("an event")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_fails_at_the_history_quota_while_the_server_keeps_serving() {
    let server = common::Binary::start(None).await;
    let spin = common::create(&server.client, "spin", SPIN).await;
    let quick = common::create(&server.client, "quick", common::PASS).await;
    let looping = server.start_execution(&spin).await;
    // Meanwhile the API answers and other executions run to their end.
    for _ in 0..10 {
        let arn = server.start_execution(&quick).await;
        let done = server.wait_done(&arn).await;
        assert_eq!(done.status, ExecutionStatus::Succeeded);
    }
    let (status, _) = common::raw_post(
        server.addr(),
        Some("AWSStepFunctions.ListStateMachines"),
        "{}",
    )
    .await;
    assert_eq!(status, 200);

    let done = server.wait_done(&looping).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        done.cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
    let last = server.last_event(&looping).await;
    assert_eq!(last.id, 25_000);
    assert_eq!(last.previous_event_id, 24_999);
    assert_eq!(last.r#type, HistoryEventType::ExecutionFailed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_aborts_a_loop_under_a_raised_quota() {
    let server = common::Binary::start(Some("[limits]\nhistory_events = 1000000000\n")).await;
    let spin = common::create(&server.client, "spin", SPIN).await;
    let looping = server.start_execution(&spin).await;
    // Well past AWS's quota: the configured one is in force.
    let deadline = Instant::now() + HANG;
    while server.last_event(&looping).await.id <= 25_000 {
        assert!(Instant::now() < deadline, "the loop made no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::timeout(
        HANG,
        server
            .client
            .stop_execution()
            .execution_arn(&looping)
            .error("Halt")
            .send(),
    )
    .await
    .expect("StopExecution never answered")
    .expect("stop");
    let done = server.wait_done(&looping).await;
    assert_eq!(done.status, ExecutionStatus::Aborted);
    let last = server.last_event(&looping).await;
    assert_eq!(last.r#type, HistoryEventType::ExecutionAborted);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.last_event(&looping).await.id,
        last.id,
        "nothing runs after the stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_executions_quota_stops_a_workflow_that_starts_itself() {
    let server = common::Binary::start(Some("[limits]\nopen_executions = 20\n")).await;
    // Each execution starts another of the same machine, then waits.
    let selfstart = common::create(
        &server.client,
        "selfstart",
        &json!({
            "StartAt": "Again",
            "States": {
                "Again": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "Input": {}},
                    "Next": "Nap"
                },
                "Nap": {"Type": "Wait", "Seconds": 3600, "End": true}
            }
        })
        .to_string(),
    )
    .await;
    let first = server.start_execution(&selfstart).await;
    // The chain ends when a start is refused: that execution fails.
    let deadline = Instant::now() + HANG;
    let refused = loop {
        let failed = server
            .client
            .list_executions()
            .state_machine_arn(&selfstart)
            .status_filter(ExecutionStatus::Failed)
            .send()
            .await
            .expect("list")
            .executions;
        if let Some(f) = failed.first() {
            break f.execution_arn.clone();
        }
        assert!(Instant::now() < deadline, "the chain never hit the quota");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let d = server.wait_done(&refused).await;
    assert_eq!(
        d.error.as_deref(),
        Some("StepFunctions.ExecutionLimitExceededException")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = server
        .client
        .list_executions()
        .state_machine_arn(&selfstart)
        .max_results(1000)
        .send()
        .await
        .expect("list")
        .executions;
    let running = all
        .iter()
        .filter(|e| e.status == ExecutionStatus::Running)
        .count();
    // The 20th execution's start of a 21st was refused, and it failed.
    assert_eq!(all.len(), 20, "executions made");
    assert_eq!(running, 19, "still open");
    assert!(all.iter().any(|e| e.execution_arn == first));
    // One place is free again; after it is taken, StartExecution from
    // outside is refused with AWS's error.
    let nap = common::create(
        &server.client,
        "nap",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
    )
    .await;
    server.start_execution(&nap).await;
    let err = server
        .client
        .start_execution()
        .state_machine_arn(&nap)
        .send()
        .await
        .expect_err("over the quota");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_execution_limit_exceeded()),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_over_the_rate_are_throttling_exception() {
    let server = common::Binary::start(Some(
        "[limits]\nstart_rate_per_second = 0.01\nstart_burst = 2\n",
    ))
    .await;
    let quick = common::create(&server.client, "quick", common::PASS).await;
    let body = json!({"stateMachineArn": quick}).to_string();
    let target = Some("AWSStepFunctions.StartExecution");
    for _ in 0..2 {
        let (status, _) = common::raw_post(server.addr(), target, &body).await;
        assert_eq!(status, 200);
    }
    let (status, answer) = common::raw_post(server.addr(), target, &body).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_fifty_concurrent_answers_to_one_token_exactly_one_is_accepted() {
    let server = common::Binary::start(None).await;
    let ask = common::create(
        &server.client,
        "ask",
        &json!({
            "StartAt": "Ask",
            "States": {"Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                    "MessageBody": {"token.$": "$$.Task.Token"}
                },
                "End": true
            }}
        })
        .to_string(),
    )
    .await;
    let arn = server.start_execution(&ask).await;
    let scheduled = server
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history")
        .events
        .into_iter()
        .find_map(|e| e.task_scheduled_event_details)
        .expect("TaskScheduled");
    let parameters: serde_json::Value =
        serde_json::from_str(&scheduled.parameters).expect("parameters are JSON");
    let token = parameters["MessageBody"]["token"]
        .as_str()
        .expect("the token")
        .to_string();

    let addr = server.addr();
    let answers: Vec<_> = (0..50)
        .map(|i| {
            let token = token.clone();
            tokio::spawn(async move {
                let (target, body) = if i % 2 == 0 {
                    (
                        "AWSStepFunctions.SendTaskSuccess",
                        json!({"taskToken": token, "output": json!({"by": i}).to_string()}),
                    )
                } else {
                    (
                        "AWSStepFunctions.SendTaskFailure",
                        json!({"taskToken": token, "error": "Nope", "cause": format!("by {i}")}),
                    )
                };
                common::raw_post(addr, Some(target), &body.to_string()).await
            })
        })
        .collect();
    let mut accepted = 0;
    for a in answers {
        match a.await.expect("answer task") {
            (200, _) => accepted += 1,
            (400, body) => assert_eq!(body["__type"], "TaskTimedOut", "{body}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
    let done = server.wait_done(&arn).await;
    assert_ne!(done.status, ExecutionStatus::Running);
    let history = server
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history")
        .events;
    let answered = history
        .iter()
        .filter(|e| {
            matches!(
                e.r#type,
                HistoryEventType::TaskSucceeded | HistoryEventType::TaskFailed
            )
        })
        .count();
    assert_eq!(answered, 1);
}
