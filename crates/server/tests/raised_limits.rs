//! `[limits]` past AWS's quotas through the real `statecraft` binary
//! (issue 17):
//! - by default an input or task output of 262,145 bytes is refused with
//!   AWS's ValidationException, and 262,144 bytes pass;
//! - with `payload_bytes` raised, a 50 MiB input passes StartExecution, a
//!   Pass chain, an activity Task (GetActivityTask hands it out,
//!   SendTaskSuccess answers with it) and the history, and comes out whole;
//! - with `history_events` raised, an execution of 200,000 events pages
//!   through GetExecutionHistory forwards and backwards, every event once,
//!   in order.
//!
//! Timeouts only turn a hang into a failure; nothing asserts a speed.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, IncludedData};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};

/// Only a hang reaches it.
const HANG: Duration = Duration::from_secs(300);
const AWS: usize = 262_144;

async fn wait_done(
    client: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = Instant::now() + HANG;
    loop {
        // Without the data while waiting: a payload may be 50 MiB.
        let d = client
            .describe_execution()
            .execution_arn(arn)
            .included_data(IncludedData::MetadataOnly)
            .send()
            .await
            .expect("describe");
        if d.status != ExecutionStatus::Running {
            return client
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .expect("describe");
        }
        assert!(Instant::now() < deadline, "{arn} never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A JSON string whose text is exactly `bytes` long.
fn text_of(bytes: usize) -> String {
    format!("\"{}\"", "x".repeat(bytes - 2))
}

/// Takes the activity's next task: (token, input).
async fn take_task(client: &Client, activity: &str) -> (String, String) {
    let deadline = Instant::now() + HANG;
    loop {
        let t = client
            .get_activity_task()
            .activity_arn(activity)
            .worker_name("w")
            .send()
            .await
            .expect("GetActivityTask");
        if let Some(token) = t.task_token {
            return (token, t.input.unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "no task came");
    }
}

fn work_definition(activity: &str) -> String {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "Work"},
        "Work": {"Type": "Task", "Resource": activity, "Next": "C"},
        "C": {"Type": "Pass", "End": true}}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_and_task_outputs_one_byte_over_aws_are_refused_by_default() {
    let server = common::Binary::start(None).await;
    let client = &server.client;
    let activity = client
        .create_activity()
        .name("worker")
        .send()
        .await
        .unwrap()
        .activity_arn;
    let machine = common::create(client, "work", &work_definition(&activity)).await;

    let over = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(text_of(AWS + 1))
        .send()
        .await
        .expect_err("262,145 bytes are over AWS's quota");
    assert_eq!(over.code(), Some("ValidationException"), "{over:?}");
    assert!(
        over.message().unwrap_or("").contains("262144"),
        "{:?}",
        over.message()
    );

    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(text_of(AWS))
        .send()
        .await
        .expect("262,144 bytes are within AWS's quota")
        .execution_arn;
    let (token, input) = take_task(client, &activity).await;
    assert_eq!(input.len(), AWS);
    let over = client
        .send_task_success()
        .task_token(&token)
        .output(text_of(AWS + 1))
        .send()
        .await
        .expect_err("an output of 262,145 bytes is over AWS's quota");
    assert_eq!(over.code(), Some("ValidationException"), "{over:?}");
    client
        .send_task_success()
        .task_token(&token)
        .output(text_of(AWS))
        .send()
        .await
        .expect("an output of 262,144 bytes is within AWS's quota");
    let done = wait_done(client, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output.map(|o| o.len()), Some(AWS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_payload_passes_start_a_pass_chain_a_task_and_the_history() {
    let server = common::Binary::start(Some("[limits]\npayload_bytes = 67108864\n")).await;
    let client = &server.client;
    let activity = client
        .create_activity()
        .name("worker")
        .send()
        .await
        .unwrap()
        .activity_arn;
    let machine = common::create(client, "work", &work_definition(&activity)).await;
    // 50 MiB of varied text, so that nothing can pass by being all one byte.
    let blob: String = (0..50 * 1024 * 1024)
        .map(|i: usize| char::from(b'a' + (i.wrapping_mul(7) % 26) as u8))
        .collect();
    let input = json!({ "blob": blob }).to_string();
    assert!(input.len() > 50 * 1024 * 1024);

    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(&input)
        .send()
        .await
        .expect("a 50 MiB input under payload_bytes = 64 MiB")
        .execution_arn;
    let (token, got) = take_task(client, &activity).await;
    assert!(
        got == input,
        "the task got {} bytes, not the input",
        got.len()
    );
    let output = json!({ "blob": blob, "worked": true }).to_string();
    client
        .send_task_success()
        .task_token(&token)
        .output(&output)
        .send()
        .await
        .expect("a 50 MiB task output");
    let done = wait_done(client, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    let out: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert!(
        out["blob"] == Value::String(blob.clone()),
        "the output lost the blob"
    );
    assert_eq!(out["worked"], json!(true));

    // The history carries the payload whole: the first event forwards, the
    // last few backwards (a page of every event would move 600 MB).
    let first = client
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1)
        .send()
        .await
        .expect("history page");
    assert!(first.next_token.is_some(), "one event a page");
    let mut seen = first.events;
    let newest = client
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .max_results(5)
        .send()
        .await
        .expect("reverse history page");
    seen.extend(newest.events.into_iter().rev());
    let started = seen
        .iter()
        .find_map(|e| e.execution_started_event_details.as_ref())
        .and_then(|d| d.input.as_deref())
        .expect("ExecutionStarted's input");
    assert!(started == input, "ExecutionStarted lost the input");
    let answered = seen
        .iter()
        .find_map(|e| e.activity_succeeded_event_details.as_ref())
        .and_then(|d| d.output.as_deref())
        .expect("ActivitySucceeded's output");
    assert!(answered == output, "ActivitySucceeded lost the output");
    let last = seen.last().unwrap();
    assert_eq!(last.r#type, HistoryEventType::ExecutionSucceeded);
    let ended = last
        .execution_succeeded_event_details
        .as_ref()
        .and_then(|d| d.output.as_deref())
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(ended).unwrap(), out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_of_200_000_events_pages_forwards_and_backwards() {
    let server = common::Binary::start(Some("[limits]\nhistory_events = 1000000\n")).await;
    let client = &server.client;
    // Four events an iteration (Pass and Choice, entered and exited).
    let loops = 50_000;
    let definition = json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$.i", "NumericLessThan": loops, "Next": "Inc"}],
                  "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let machine = common::create(client, "loop", &definition.to_string()).await;
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"i":0}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_done(client, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    // ExecutionStarted, the loops, SucceedStateEntered/Exited, ExecutionSucceeded.
    let total = 1 + 4 * loops as i64 + 3;

    // Forwards, 1,000 a page: every id once, in order.
    let mut expected = 1;
    let mut pages = 0;
    let mut next = None;
    let mut last_type = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(&arn)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .expect("history page");
        assert!(page.events.len() <= 1000);
        for e in &page.events {
            assert_eq!(e.id, expected, "page {pages}");
            expected += 1;
            last_type = Some(e.r#type.clone());
        }
        pages += 1;
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    let count = expected - 1;
    assert_eq!(count, total);
    assert_eq!(last_type, Some(HistoryEventType::ExecutionSucceeded));
    assert_eq!(pages, (count + 999) / 1000);

    // Backwards: the newest first, down to 1.
    let mut expected = count;
    let mut next = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(&arn)
            .reverse_order(true)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .expect("reverse history page");
        for e in &page.events {
            assert_eq!(e.id, expected);
            expected -= 1;
        }
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    assert_eq!(expected, 0, "the reverse pages reached the first event");
}
