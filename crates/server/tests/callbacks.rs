//! `.waitForTaskToken` callbacks end to end with the SDK: a Lambda-style
//! function over HTTP receives the token and answers later by
//! SendTaskSuccess/SendTaskFailure; a nested execution is handed the token;
//! a callback nobody answers times out (TimeoutSeconds, HeartbeatSeconds)
//! into the state's Catch.

mod common;

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use aws_sdk_sfn::Client;
use common::create;
use serde_json::{json, Value};
use tokio::sync::mpsc;

fn parse(s: Option<&str>) -> Value {
    s.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// A function endpoint that forwards every payload it receives to the test
/// and answers `{"accepted": true}`.
async fn function_endpoint() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/fn",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(serde_json::from_str(&body).unwrap_or(Value::Null));
                (
                    [("content-type", "application/json")],
                    r#"{"accepted":true}"#,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/fn"), rx)
}

/// A server whose function `notify` is served at `url`.
async fn server(url: &str) -> (Client, tempfile::TempDir, tokio::sync::oneshot::Sender<()>) {
    let integrations = toml::from_str(&format!("[functions.notify]\nurl = \"{url}\"\n"))
        .expect("integrations config");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = common::config(dir.path(), integrations);
    let server = statecraft_server::Server::start(&cfg).await.expect("start");
    let (addr, stop, _task) = common::serve(server).await;
    (common::client(&format!("http://{addr}")), dir, stop)
}

async fn start(c: &Client, machine: &str, input: Value) -> String {
    c.start_execution()
        .state_machine_arn(machine)
        .input(input.to_string())
        .send()
        .await
        .expect("start")
        .execution_arn
}

async fn history_types(c: &Client, execution: &str) -> Vec<HistoryEventType> {
    c.get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .expect("history")
        .events
        .into_iter()
        .map(|e| e.r#type)
        .collect()
}

async fn wait_done(
    c: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        if d.status != ExecutionStatus::Running || tokio::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn callback_machine(extra: Value) -> String {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "notify",
            "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}
        },
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": true
    });
    if let (Some(t), Some(e)) = (task.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            t.insert(k.clone(), v.clone());
        }
    }
    json!({
        "StartAt": "Notify",
        "States": {"Notify": task, "Caught": {"Type": "Pass", "End": true}}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_gets_the_token_and_answers_later() {
    let (url, mut seen) = function_endpoint().await;
    let (c, _dir, _stop) = server(&url).await;
    let machine = create(&c, "callback", &callback_machine(json!({}))).await;

    // Success.
    let execution = start(&c, &machine, json!({"order": 1})).await;
    let payload = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("the function is called")
        .expect("payload");
    assert_eq!(payload["order"], json!(1));
    let token = payload["token"].as_str().expect("token").to_string();
    // Answered at once, typically before the invocation has returned: the
    // answer waits for it, so TaskSubmitted still comes first (as on AWS).
    c.send_task_success()
        .task_token(&token)
        .output(r#"{"shipped":true}"#)
        .send()
        .await
        .expect("success");
    let d = wait_done(&c, &execution).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(parse(d.output.as_deref()), json!({"shipped": true}));
    let types = history_types(&c, &execution).await;
    let at = |t: &HistoryEventType| types.iter().position(|x| x == t);
    let order = [
        HistoryEventType::TaskScheduled,
        HistoryEventType::TaskStarted,
        HistoryEventType::TaskSubmitted,
        HistoryEventType::TaskSucceeded,
    ]
    .map(|t| at(&t).unwrap_or_else(|| panic!("{t:?} missing from {types:?}")));
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{types:?}");
    // The token is spent.
    let err = c
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_task_timed_out(), "{err:?}");

    // Failure, caught.
    let execution = start(&c, &machine, json!({"order": 2})).await;
    let payload = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("the function is called")
        .expect("payload");
    c.send_task_failure()
        .task_token(payload["token"].as_str().expect("token"))
        .error("Order.Cancelled")
        .cause("by the customer")
        .send()
        .await
        .expect("failure");
    let d = wait_done(&c, &execution).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        parse(d.output.as_deref())["error"],
        json!({"Error": "Order.Cancelled", "Cause": "by the customer"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_callbacks_time_out() {
    let (url, _seen) = function_endpoint().await;
    let (c, _dir, _stop) = server(&url).await;
    let timeout = create(
        &c,
        "cb-timeout",
        &callback_machine(json!({"TimeoutSeconds": 1})),
    )
    .await;
    let heartbeat = create(
        &c,
        "cb-heartbeat",
        &callback_machine(json!({"TimeoutSeconds": 30, "HeartbeatSeconds": 1})),
    )
    .await;
    let e1 = start(&c, &timeout, json!({"order": 3})).await;
    let e2 = start(&c, &heartbeat, json!({"order": 4})).await;
    // AWS names a lapsed heartbeat States.Timeout, like a lapsed TimeoutSeconds.
    for (e, error) in [(e1, "States.Timeout"), (e2, "States.Timeout")] {
        let d = wait_done(&c, &e).await;
        assert_eq!(d.status, ExecutionStatus::Succeeded);
        assert_eq!(parse(d.output.as_deref())["error"]["Error"], json!(error));
        let types = history_types(&c, &e).await;
        assert!(types.contains(&HistoryEventType::TaskTimedOut), "{types:?}");
    }
}

/// `states:startExecution.waitForTaskToken`: the child gets the token in
/// its input; whoever finishes the child's work answers with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_execution_is_handed_the_token() {
    let (url, _seen) = function_endpoint().await;
    let (c, _dir, _stop) = server(&url).await;
    let child = create(
        &c,
        "child",
        r#"{"StartAt":"W","States":{"W":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let parent_def = json!({
        "StartAt": "Delegate",
        "States": {
            "Delegate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "Parameters": {
                    "StateMachineArn": child,
                    "Input": {
                        "token.$": "$$.Task.Token",
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"
                    }
                },
                "End": true
            }
        }
    })
    .to_string();
    let parent = create(&c, "parent", &parent_def).await;
    let execution = start(&c, &parent, json!({})).await;
    let child_execution = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let listed = c
                .list_executions()
                .state_machine_arn(&child)
                .send()
                .await
                .expect("list")
                .executions;
            if let Some(e) = listed.into_iter().next() {
                break e.execution_arn;
            }
            assert!(tokio::time::Instant::now() < deadline, "no child");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    let d = wait_done(&c, &child_execution).await;
    let input = parse(d.input.as_deref());
    assert_eq!(
        input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(execution)
    );
    let token = input["token"].as_str().expect("token");
    c.send_task_success()
        .task_token(token)
        .output(r#"{"child":"done"}"#)
        .send()
        .await
        .expect("success");
    let d = wait_done(&c, &execution).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(parse(d.output.as_deref()), json!({"child": "done"}));
    let types = history_types(&c, &execution).await;
    let at = |t: &HistoryEventType| types.iter().position(|x| x == t);
    assert!(
        matches!(
            (at(&HistoryEventType::TaskSubmitted), at(&HistoryEventType::TaskSucceeded)),
            (Some(a), Some(b)) if a < b
        ),
        "{types:?}"
    );
}
