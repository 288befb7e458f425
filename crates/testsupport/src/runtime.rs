//! The steps a test of the runtime takes again and again, through the
//! runtime itself (no server): create a state machine, start an
//! execution, wait for its result. Behind the `runtime` feature, so the
//! store's tests do not build the runtime.

use std::time::Duration;

use serde_json::Value;
use statecraft_runtime::{ExecutionRecord, Runtime, StartExecution};
use statecraft_store::{MachineType, Revision};

/// The ARN prefix of the machines [`create_machine`] makes.
pub const MACHINE_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";

/// Creates state machine `name` (revision `rev-<name>`) with `definition`;
/// its ARN.
pub async fn create_machine(
    rt: &Runtime,
    name: &str,
    definition: &Value,
    machine_type: MachineType,
) -> String {
    let arn = format!("{MACHINE_PREFIX}{name}");
    rt.store()
        .create_state_machine(
            name.into(),
            machine_type,
            Revision {
                revision_id: format!("rev-{name}"),
                state_machine_arn: arn.clone(),
                definition: definition.to_string(),
                role_arn: crate::api::ROLE.into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .unwrap_or_else(|e| panic!("creating state machine {name}: {e}"));
    arn
}

/// Starts execution `name` of `machine` with `input`; its ARN.
pub async fn start(rt: &Runtime, machine: &str, name: &str, input: &Value) -> String {
    rt.start_execution(StartExecution {
        target_arn: machine.into(),
        name: Some(name.into()),
        input: Some(input.to_string()),
        trace_header: None,
    })
    .await
    .unwrap_or_else(|e| panic!("starting {name} of {machine}: {e}"))
    .execution_arn
}

/// Polls DescribeExecution until the execution is no longer active
/// (neither RUNNING nor PENDING_REDRIVE); fails after `within`.
pub async fn finished(rt: &Runtime, arn: &str, within: Duration) -> ExecutionRecord {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let e = rt
            .describe_execution(arn)
            .unwrap_or_else(|e| panic!("describing {arn}: {e}"));
        if !e.state.status.is_active() {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{arn} is still running after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
