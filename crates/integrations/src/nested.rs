//! Nested executions: `arn:aws:states:::states:startExecution` and its
//! `.sync`, `.sync:2` and `.waitForTaskToken` forms.
//!
//! The integration talks to the runtime through the small [`Executions`]
//! trait (start one execution, wait for one to end), so it can be tested
//! with a fake and the runtime need not know this crate.
//! [`RuntimeExecutions`] implements it over a [`Runtime`].
//!
//! Results are AWS's:
//! - `startExecution`: `{ExecutionArn, SdkHttpMetadata, SdkResponseMetadata, StartDate}`;
//! - `.sync`: the `DescribeExecution` shape with `Input` and `Output` as
//!   JSON text; `.sync:2`: the same with both parsed;
//! - a child that does not succeed fails the task with `States.TaskFailed`
//!   and that shape (with `Error` and `Cause`, without `Output`) as JSON
//!   text for cause;
//! - `.waitForTaskToken`: the child is started and the task waits for its
//!   token (the definition passes `$$.Task.Token` in the child's input).
//!
//! Dates are milliseconds since the epoch, as AWS's Java SDK writes them.
//! An API error (unknown state machine, name in use …) fails the task with
//! `StepFunctions.<Code>Exception` and AWS's cause format.
//!
//! Parent and child are linked: [`StartRequest::parent_execution_arn`]
//! carries the parent, and a definition that follows AWS's convention
//! passes `"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"`
//! in the child's input itself (AWS adds nothing to the input either).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use statecraft_runtime::{ExecutionStatus, Runtime, RuntimeHandle, StartExecution};
use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome, TaskRequest};
use statecraft_types::Failure;

use crate::invalid;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the integration asks the runtime to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRequest {
    /// A state machine, version or alias ARN.
    pub state_machine_arn: String,
    /// Always set: the task's `Name`, or one derived from the parent and
    /// the task so that a task re-dispatched after a restart asks for the
    /// same child again.
    pub name: String,
    /// The input JSON text.
    pub input: String,
    pub trace_header: Option<String>,
    /// The execution whose Task state starts this one.
    pub parent_execution_arn: String,
}

/// StartExecution's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    pub start_date_ms: i64,
}

/// A finished execution, as `DescribeExecution` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    pub start_date_ms: i64,
    pub stop_date_ms: i64,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: Option<u32>,
    pub redrive_status: Option<String>,
    pub redrive_status_reason: Option<String>,
}

/// An AWS API error: `code` as the API names it (`StateMachineDoesNotExist`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// The HTTP status AWS answers it with (400 for client errors).
    pub status: u16,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>, status: u16) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    /// The API error the server gives for a runtime error.
    pub fn from_runtime(e: &statecraft_runtime::Error) -> ApiError {
        use statecraft_runtime::Error as E;
        let code = match e {
            E::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            E::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            E::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            E::InvalidArn(_) => "InvalidArn",
            E::InvalidDefinition(_) => "InvalidDefinition",
            E::InvalidExecutionInput(_) => "InvalidExecutionInput",
            E::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            E::StateMachineDeleting(_) => "StateMachineDeleting",
            E::ExecutionNotRedrivable(_) => "ExecutionNotRedrivable",
            E::ExecutionLimitExceeded(_) => "ExecutionLimitExceeded",
            E::TaskNotOpen(_) => "TaskTimedOut",
            E::Validation(_) => "Validation",
            // `StepFunctions.ThrottlingException`, AWS's common throttling error.
            E::Throttled(_) => "Throttling",
            E::Store(_) | E::Shutdown => {
                return ApiError::new("InternalFailure", e.to_string(), 500)
            }
        };
        ApiError::new(code, e.to_string(), 400)
    }

    /// The task failure AWS records for it.
    fn failure(&self) -> Failure {
        Failure::new(
            format!("StepFunctions.{}Exception", self.code),
            format!(
                "{} (Service: AWSStepFunctions; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                self.message,
                self.status,
                self.code,
                uuid::Uuid::new_v4()
            ),
        )
    }
}

/// Starting executions and observing their end: what the runtime offers
/// this integration.
///
/// Contract for implementers:
/// - `start` with the name and input of an execution that is running
///   returns that execution (StartExecution's idempotency), so a task
///   re-dispatched after a restart does not start a second child; it should
///   record `parent_execution_arn` as the child's parent.
/// - `wait_for_end` resolves once the execution is no longer running, and
///   may be called for an execution that has long ended.
pub trait Executions: Send + Sync {
    fn start(&self, request: StartRequest) -> BoxFuture<Result<Started, ApiError>>;
    fn wait_for_end(&self, execution_arn: String) -> BoxFuture<Result<Ended, ApiError>>;
}

/// Which form of `startExecution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Start,
    Sync,
    Sync2,
    WaitForToken,
}

fn pattern_of(resource: &str) -> Option<Pattern> {
    match crate::service_resource(resource)? {
        "states:startExecution" => Some(Pattern::Start),
        "states:startExecution.sync" => Some(Pattern::Sync),
        "states:startExecution.sync:2" => Some(Pattern::Sync2),
        "states:startExecution.waitForTaskToken" => Some(Pattern::WaitForToken),
        _ => None,
    }
}

/// The nested-execution integration.
#[derive(Clone)]
pub struct NestedExecutions {
    executions: Arc<dyn Executions>,
}

impl NestedExecutions {
    pub fn new(executions: Arc<dyn Executions>) -> Self {
        NestedExecutions { executions }
    }
}

impl Integration for NestedExecutions {
    fn handles(&self, resource: &str) -> bool {
        pattern_of(resource).is_some()
    }

    fn invoke(&self, context: TaskContext, request: TaskRequest) -> TaskFuture {
        let executions = Arc::clone(&self.executions);
        Box::pin(async move {
            let Some(pattern) = pattern_of(&request.resource) else {
                return TaskOutcome::Failed(statecraft_tasks::unsupported(&request.resource));
            };
            run(executions.as_ref(), pattern, &context, &request)
                .await
                .unwrap_or_else(TaskOutcome::Failed)
        })
    }
}

fn parse_start(
    context: &TaskContext,
    request: &TaskRequest,
) -> Result<(StartRequest, bool), Failure> {
    let p = request
        .parameters
        .as_object()
        .ok_or_else(|| invalid("The startExecution parameters must be an object."))?;
    if let Some(key) = p.keys().find(|k| {
        !matches!(
            k.as_str(),
            "StateMachineArn" | "Name" | "Input" | "TraceHeader"
        )
    }) {
        return Err(invalid(format!(
            "The startExecution parameters have an unknown field '{key}'."
        )));
    }
    let state_machine_arn = p
        .get("StateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("startExecution needs a string 'StateMachineArn'."))?
        .to_owned();
    let given = match p.get("Name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("Name must be a string.")),
    };
    let derived = given.is_none();
    let name = given.unwrap_or_else(|| derived_name(&context.execution_arn, request.task));
    // A string is the input text itself (AWS passes it through); anything
    // else is serialised compactly; no input at all is `{}`.
    let input = match p.get("Input") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let trace_header = p
        .get("TraceHeader")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((
        StartRequest {
            state_machine_arn,
            name,
            input,
            trace_header,
            parent_execution_arn: context.execution_arn.clone(),
        },
        derived,
    ))
}

/// A child's name when the task gives none: a UUID (as AWS generates),
/// but derived from the parent and the task so that it is the same when
/// the task is dispatched again after a restart.
fn derived_name(parent: &str, task: u64) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{parent}#task-{task}").as_bytes(),
    )
    .to_string()
}

/// The ARN of the execution `name` of a state machine, version or alias.
fn execution_arn_of(target: &str, name: &str) -> Option<String> {
    let (head, rest) = target.split_once(":stateMachine:")?;
    let machine = rest.split(':').next()?;
    Some(format!("{head}:execution:{machine}:{name}"))
}

async fn run(
    executions: &dyn Executions,
    pattern: Pattern,
    context: &TaskContext,
    request: &TaskRequest,
) -> Result<TaskOutcome, Failure> {
    let (start, derived) = parse_start(context, request)?;
    let target = start.state_machine_arn.clone();
    let name = start.name.clone();
    let started = match executions.start(start).await {
        Ok(s) => s,
        // Our own derived name in use: this task started that child before
        // a restart, and it has ended since. Wait for it (it has).
        Err(e) if derived && e.code == "ExecutionAlreadyExists" && pattern != Pattern::Start => {
            let arn = execution_arn_of(&target, &name).ok_or_else(|| e.failure())?;
            Started {
                execution_arn: arn,
                start_date_ms: 0,
            }
        }
        Err(e) => return Err(e.failure()),
    };
    match pattern {
        Pattern::Start => Ok(TaskOutcome::Succeeded(start_result(&started))),
        // Started: recorded as TaskSubmitted; the result comes by token.
        Pattern::WaitForToken => Ok(TaskOutcome::Submitted(start_result(&started))),
        Pattern::Sync | Pattern::Sync2 => {
            let ended = executions
                .wait_for_end(started.execution_arn.clone())
                .await
                .map_err(|e| e.failure())?;
            let parsed = pattern == Pattern::Sync2;
            let shape = describe(&ended, parsed);
            if ended.status == "SUCCEEDED" {
                Ok(TaskOutcome::Succeeded(shape))
            } else {
                Err(Failure::new(
                    statecraft_types::errors::TASK_FAILED,
                    shape.to_string(),
                ))
            }
        }
    }
}

/// `startExecution`'s result.
fn start_result(s: &Started) -> Value {
    let body = json!({"executionArn": s.execution_arn, "startDate": s.start_date_ms}).to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    let flat = json!({
        "Content-Length": body.len().to_string(),
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-RequestId": request_id,
    });
    let all: Map<String, Value> = flat
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), Value::Array(vec![v.clone()])))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "ExecutionArn": s.execution_arn,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": flat,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": s.start_date_ms,
    })
}

/// The `DescribeExecution` shape of `.sync` results and failure causes, in
/// AWS's key order. `parsed` (`.sync:2`) parses Input and Output.
fn describe(e: &Ended, parsed: bool) -> Value {
    let text = |s: &str| -> Value {
        if parsed {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
        } else {
            Value::String(s.to_owned())
        }
    };
    let mut m = Map::new();
    if let Some(c) = &e.cause {
        m.insert("Cause".into(), Value::String(c.clone()));
    }
    if let Some(err) = &e.error {
        m.insert("Error".into(), Value::String(err.clone()));
    }
    m.insert(
        "ExecutionArn".into(),
        Value::String(e.execution_arn.clone()),
    );
    m.insert("Input".into(), text(&e.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), Value::String(e.name.clone()));
    if let Some(o) = &e.output {
        m.insert("Output".into(), text(o));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(n) = e.redrive_count {
        m.insert("RedriveCount".into(), Value::from(n));
    }
    if let Some(s) = &e.redrive_status {
        m.insert("RedriveStatus".into(), Value::String(s.clone()));
    }
    if let Some(s) = &e.redrive_status_reason {
        m.insert("RedriveStatusReason".into(), Value::String(s.clone()));
    }
    m.insert("StartDate".into(), Value::from(e.start_date_ms));
    m.insert(
        "StateMachineArn".into(),
        Value::String(e.state_machine_arn.clone()),
    );
    m.insert("Status".into(), Value::String(e.status.clone()));
    m.insert("StopDate".into(), Value::from(e.stop_date_ms));
    Value::Object(m)
}

/// [`Executions`] over the runtime. The runtime is built with its
/// integrations, so it does not exist yet when this is made: make it with
/// the [`RuntimeHandle`] of the runtime's `Options` (which the runtime
/// fills as it is constructed, before it dispatches any task).
#[derive(Clone)]
pub struct RuntimeExecutions {
    runtime: RuntimeHandle,
    poll: Duration,
}

impl RuntimeExecutions {
    pub fn new(runtime: RuntimeHandle) -> Self {
        RuntimeExecutions {
            runtime,
            poll: Duration::from_millis(250),
        }
    }

    fn runtime(&self) -> BoxFuture<Result<Runtime, ApiError>> {
        let handle = self.runtime.clone();
        Box::pin(async move {
            handle
                .wait()
                .await
                .ok_or_else(|| ApiError::new("InternalFailure", "the runtime is gone", 500))
        })
    }
}

impl Executions for RuntimeExecutions {
    fn start(&self, request: StartRequest) -> BoxFuture<Result<Started, ApiError>> {
        let runtime = self.runtime();
        Box::pin(async move {
            let rt = runtime.await?;
            // The child records its parent so the console can link them.
            let started = rt
                .start_child_execution(
                    StartExecution {
                        target_arn: request.state_machine_arn,
                        name: Some(request.name),
                        input: Some(request.input),
                        trace_header: request.trace_header,
                    },
                    &request.parent_execution_arn,
                )
                .await
                .map_err(|e| ApiError::from_runtime(&e))?;
            Ok(Started {
                execution_arn: started.execution_arn,
                start_date_ms: started.start_date_ms,
            })
        })
    }

    fn wait_for_end(&self, execution_arn: String) -> BoxFuture<Result<Ended, ApiError>> {
        let runtime = self.runtime();
        let max_poll = self.poll;
        Box::pin(async move {
            let rt = runtime.await?;
            // Woken by the child's actor when it commits its end; only a
            // child waiting for a redrive is looked at again periodically.
            loop {
                let record = rt
                    .wait_for_completion(&execution_arn)
                    .await
                    .map_err(|e| ApiError::from_runtime(&e))?;
                if !matches!(
                    record.state.status,
                    ExecutionStatus::Running | ExecutionStatus::PendingRedrive
                ) {
                    return Ok(Ended {
                        execution_arn: record.arn,
                        state_machine_arn: record.state_machine_arn,
                        name: record.name,
                        status: record.state.status.as_str().to_owned(),
                        start_date_ms: record.start_date_ms,
                        stop_date_ms: record.state.stop_date_ms.unwrap_or(record.start_date_ms),
                        input: record.input,
                        output: record.state.output,
                        error: record.state.error,
                        cause: record.state.cause,
                        redrive_count: Some(record.state.redrive_count),
                        redrive_status: record.state.redrive_status,
                        redrive_status_reason: record.state.redrive_status_reason,
                    });
                }
                tokio::time::sleep(max_poll).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_patterns() {
        for (r, p) in [
            (
                "arn:aws:states:::states:startExecution",
                Some(Pattern::Start),
            ),
            (
                "arn:aws:states:::states:startExecution.sync",
                Some(Pattern::Sync),
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                Some(Pattern::Sync2),
            ),
            (
                "arn:aws:states:::states:startExecution.waitForTaskToken",
                Some(Pattern::WaitForToken),
            ),
            ("arn:aws:states:::states:describeExecution", None),
        ] {
            assert_eq!(pattern_of(r), p, "{r}");
        }
    }

    #[test]
    fn derives_stable_names_and_arns() {
        let a = derived_name("arn:aws:states:r:1:execution:m:e", 3);
        assert_eq!(a, derived_name("arn:aws:states:r:1:execution:m:e", 3));
        assert_ne!(a, derived_name("arn:aws:states:r:1:execution:m:e", 4));
        assert_eq!(
            execution_arn_of("arn:aws:states:r:1:stateMachine:child:prod", "n").as_deref(),
            Some("arn:aws:states:r:1:execution:child:n")
        );
        assert_eq!(execution_arn_of("nonsense", "n"), None);
    }
}
