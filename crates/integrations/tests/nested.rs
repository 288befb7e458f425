//! Nested executions over a fake [`Executions`]: AWS's result shapes for
//! `startExecution`, `.sync`, `.sync:2` and `.waitForTaskToken`, child
//! failures as `States.TaskFailed`, API errors as
//! `StepFunctions.<Code>Exception`, input forms and the parent link.

mod common;

use std::sync::{Arc, Mutex};

use common::{config, failed, run, succeeded};
use serde_json::{json, Value};
use statecraft_integrations::nested::{ApiError, BoxFuture, Ended, StartRequest, Started};
use statecraft_integrations::Executions;
use statecraft_runtime::TaskOutcome;

const MACHINES: &str = "arn:aws:states:eu-west-1:111122223333:stateMachine:";

/// Children named by their state machine: `ok` succeeds with
/// `{"Arg1":"argument1"}`, `fails` fails, `missing` does not exist.
#[derive(Default)]
struct Fake {
    started: Mutex<Vec<StartRequest>>,
}

impl Fake {
    fn last(&self) -> StartRequest {
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("nothing started"))
    }
}

fn machine_of(arn: &str) -> String {
    arn.rsplit(':').nth(1).unwrap_or_default().to_owned()
}

impl Executions for Fake {
    fn start(&self, request: StartRequest) -> BoxFuture<Result<Started, ApiError>> {
        let machine = request
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let arn = format!(
            "arn:aws:states:eu-west-1:111122223333:execution:{machine}:{}",
            request.name
        );
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
        Box::pin(async move {
            if machine == "missing" {
                return Err(ApiError::new(
                    "StateMachineDoesNotExist",
                    format!(
                        "State Machine Does Not Exist: '{}'",
                        request.state_machine_arn
                    ),
                    400,
                ));
            }
            Ok(Started {
                execution_arn: arn,
                start_date_ms: 1_700_000_000_000,
            })
        })
    }

    fn wait_for_end(&self, execution_arn: String) -> BoxFuture<Result<Ended, ApiError>> {
        let input = self.last().input;
        Box::pin(async move {
            let machine = machine_of(&execution_arn);
            let ok = machine == "ok";
            Ok(Ended {
                name: execution_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                state_machine_arn: format!("{MACHINES}{machine}"),
                execution_arn,
                status: if ok { "SUCCEEDED" } else { "FAILED" }.into(),
                start_date_ms: 1_700_000_000_000,
                stop_date_ms: 1_700_000_000_500,
                input,
                output: ok.then(|| r#"{"Arg1":"argument1"}"#.to_owned()),
                error: (!ok).then(|| "SomeFailure".to_owned()),
                cause: (!ok)
                    .then(|| "This state machines raises a 'SomeFailure' failure.".to_owned()),
                redrive_count: None,
                redrive_status: None,
                redrive_status_reason: None,
            })
        })
    }
}

fn setup() -> (Arc<Fake>, statecraft_runtime::Integrations) {
    let fake = Arc::new(Fake::default());
    let executions: Arc<dyn Executions> = fake.clone();
    let reg = common::registry(&config(""), Some(executions));
    (fake, reg)
}

const START: &str = "arn:aws:states:::states:startExecution";

#[tokio::test]
async fn start_returns_arn_and_date() {
    let (fake, reg) = setup();
    let out = succeeded(
        run(
            &reg,
            START,
            json!({"StateMachineArn": format!("{MACHINES}ok"), "Name": "TestStartTarget",
                   "Input": {"Hello": "World"}}),
        )
        .await,
    );
    assert_eq!(
        out["ExecutionArn"],
        "arn:aws:states:eu-west-1:111122223333:execution:ok:TestStartTarget"
    );
    assert_eq!(out["StartDate"], 1_700_000_000_000i64);
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    let started = fake.last();
    assert_eq!(started.input, r#"{"Hello":"World"}"#);
    assert_eq!(started.parent_execution_arn, common::EXECUTION);
}

#[tokio::test]
async fn sync_returns_describe_execution_with_text_output() {
    let (_, reg) = setup();
    let out = succeeded(
        run(
            &reg,
            &format!("{START}.sync"),
            json!({"StateMachineArn": format!("{MACHINES}ok"), "Name": "TestStartTarget", "Input": null}),
        )
        .await,
    );
    assert_eq!(
        out,
        json!({
            "ExecutionArn": "arn:aws:states:eu-west-1:111122223333:execution:ok:TestStartTarget",
            "Input": "{}",
            "InputDetails": {"Included": true},
            "Name": "TestStartTarget",
            "Output": "{\"Arg1\":\"argument1\"}",
            "OutputDetails": {"Included": true},
            "StartDate": 1_700_000_000_000i64,
            "StateMachineArn": format!("{MACHINES}ok"),
            "Status": "SUCCEEDED",
            "StopDate": 1_700_000_000_500i64,
        })
    );
}

#[tokio::test]
async fn sync2_parses_input_and_output() {
    let (_, reg) = setup();
    let out = succeeded(
        run(
            &reg,
            &format!("{START}.sync:2"),
            json!({"StateMachineArn": format!("{MACHINES}ok"), "Input": {"Payload": null}}),
        )
        .await,
    );
    assert_eq!(out["Output"], json!({"Arg1": "argument1"}));
    assert_eq!(out["Input"], json!({"Payload": null}));
}

#[tokio::test]
async fn child_failure_is_task_failed_with_the_execution_as_cause() {
    let (_, reg) = setup();
    let f = failed(
        run(
            &reg,
            &format!("{START}.sync"),
            json!({"StateMachineArn": format!("{MACHINES}fails"), "Name": "TestStartTarget"}),
        )
        .await,
    );
    assert_eq!(f.error, "States.TaskFailed");
    let cause: Value = serde_json::from_str(&f.cause).unwrap_or(Value::Null);
    assert_eq!(
        cause,
        json!({
            "Cause": "This state machines raises a 'SomeFailure' failure.",
            "Error": "SomeFailure",
            "ExecutionArn": "arn:aws:states:eu-west-1:111122223333:execution:fails:TestStartTarget",
            "Input": "{}",
            "InputDetails": {"Included": true},
            "Name": "TestStartTarget",
            "StartDate": 1_700_000_000_000i64,
            "StateMachineArn": format!("{MACHINES}fails"),
            "Status": "FAILED",
            "StopDate": 1_700_000_000_500i64,
        })
    );
    // AWS's key order, which consumers of the text may rely on.
    assert!(f.cause.starts_with("{\"Cause\":"), "{}", f.cause);
}

#[tokio::test]
async fn api_errors_are_step_functions_exceptions() {
    let (_, reg) = setup();
    let f = failed(
        run(
            &reg,
            START,
            json!({"StateMachineArn": format!("{MACHINES}missing")}),
        )
        .await,
    );
    assert_eq!(f.error, "StepFunctions.StateMachineDoesNotExistException");
    assert!(f.cause.starts_with(&format!(
        "State Machine Does Not Exist: '{MACHINES}missing' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "
    )), "{}", f.cause);
    assert!(f.cause.ends_with("; Proxy: null)"));
}

#[tokio::test]
async fn input_forms_and_derived_names() {
    let (fake, reg) = setup();
    // A string is the input text as it is.
    succeeded(
        run(
            &reg,
            START,
            json!({"StateMachineArn": format!("{MACHINES}ok"), "Input": "\"text\""}),
        )
        .await,
    );
    let first = fake.last();
    assert_eq!(first.input, "\"text\"");
    // No Name: a UUID derived from the parent and the task, the same when
    // the task is dispatched again.
    assert_eq!(first.name.len(), 36);
    succeeded(
        run(
            &reg,
            START,
            json!({"StateMachineArn": format!("{MACHINES}ok"), "Input": "\"text\""}),
        )
        .await,
    );
    assert_eq!(fake.last().name, first.name);
    // The linkage field is passed through as the definition wrote it.
    succeeded(
        run(
            &reg,
            START,
            json!({"StateMachineArn": format!("{MACHINES}ok"),
                   "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": common::EXECUTION}}),
        )
        .await,
    );
    let input: Value = serde_json::from_str(&fake.last().input).unwrap_or(Value::Null);
    assert_eq!(
        input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        common::EXECUTION
    );
    let f = failed(run(&reg, START, json!({"Input": {}})).await);
    assert_eq!(f.error, "Statecraft.InvalidParameters");
}

#[tokio::test]
async fn wait_for_task_token_starts_and_defers() {
    let (fake, reg) = setup();
    let out = run(
        &reg,
        &format!("{START}.waitForTaskToken"),
        json!({"StateMachineArn": format!("{MACHINES}ok"), "Input": {"token": "T-9"}}),
    )
    .await;
    assert!(matches!(out, TaskOutcome::Submitted(_)), "{out:?}");
    assert_eq!(fake.last().input, r#"{"token":"T-9"}"#);
}
