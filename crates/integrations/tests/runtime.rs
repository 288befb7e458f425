//! The integrations inside a real runtime (SQLite in a temporary
//! directory): a parent workflow starts children with
//! `startExecution.sync:2` and `.sync` through [`RuntimeExecutions`], and
//! runs a command task, end to end.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use statecraft_integrations::{Executions, RuntimeExecutions};
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::MachineType;
use statecraft_testsupport::runtime;

async fn create(rt: &Runtime, name: &str, definition: Value) -> String {
    runtime::create_machine(rt, name, &definition, MachineType::Standard).await
}

async fn finish(rt: &Runtime, arn: &str) -> statecraft_runtime::ExecutionRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let e = rt
            .describe_execution(arn)
            .unwrap_or_else(|e| panic!("{arn}: {e}"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_runs_children_and_a_command_through_the_runtime() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut options = Options::new(dir.path());
    // Nested executions reach the runtime through the options' handle,
    // filled as the runtime is constructed: nothing is bound afterwards.
    let executions = RuntimeExecutions::new(options.handle.clone());
    let config = common::config(
        "[integrations.commands]\nenabled = true\n[integrations.commands.programs.echo]\nprogram = \"/bin/echo\"",
    );
    let as_trait: Arc<dyn Executions> = Arc::new(executions);
    options.integrations = common::registry(&config, Some(as_trait));
    let rt = Runtime::open(options)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));

    let child = create(
        &rt,
        "child",
        json!({"StartAt": "Double", "States": {"Double": {"Type": "Pass",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}}),
    )
    .await;
    let failing = create(
        &rt,
        "failing",
        json!({"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it broke"}}}),
    )
    .await;
    let parent = create(
        &rt,
        "parent",
        json!({"StartAt": "Child", "States": {
            "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n",
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
                "ResultSelector": {"doubled.$": "$.Output.doubled", "status.$": "$.Status"},
                "ResultPath": "$.child", "Next": "Echo"},
            "Echo": {"Type": "Task", "Resource": "arn:statecraft:command:echo",
                "Parameters": {"Args.$": "States.Array(States.JsonToString($.child))"},
                "ResultSelector": {"echoed.$": "$.Stdout"}, "ResultPath": "$.echo", "Next": "Failing"},
            "Failing": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": failing, "Name": "must-fail"},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Done"}],
                "End": true},
            "Done": {"Type": "Pass", "End": true}
        }}),
    )
    .await;
    let started = rt
        .start_execution(StartExecution {
            target_arn: parent,
            name: Some("p1".into()),
            input: Some(json!({"n": 21}).to_string()),
            trace_header: None,
        })
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let done = finish(&rt, &started.execution_arn).await;
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state
    );
    let output: Value =
        serde_json::from_str(done.state.output.as_deref().unwrap_or("null")).unwrap_or(Value::Null);
    assert_eq!(
        output["child"],
        json!({"doubled": 42, "status": "SUCCEEDED"})
    );
    assert_eq!(
        output["echo"]["echoed"],
        json!({"doubled": 42, "status": "SUCCEEDED"})
    );
    assert_eq!(output["failure"]["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(output["failure"]["Cause"].as_str().unwrap_or(""))
        .unwrap_or(Value::Null);
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "SomeFailure");
    assert_eq!(cause["Cause"], "it broke");
    assert_eq!(
        cause["ExecutionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:failing:must-fail"
    );

    rt.shutdown(Duration::from_secs(5)).await;
}
