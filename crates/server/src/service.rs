//! The API service: what every operation shares (the ARN scope, the
//! runtime with its catalogue and read model, the clock) and the dispatch
//! from an operation name to its implementation in [`crate::ops`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use statecraft_runtime::activity::ActivityTasks;
use statecraft_runtime::catalog::Catalog;
use statecraft_runtime::model::StoreError;
use statecraft_runtime::read::ReadModel;
use statecraft_runtime::Runtime;

use crate::arn::Scope;
use crate::protocol::{ApiError, Request};

/// The Step Functions API over one store and runtime. Cheap to share behind
/// an `Arc`; every operation takes `&self`.
pub struct Service {
    pub(crate) scope: Scope,
    /// State machines, versions, aliases, activities, tags, schedules.
    pub(crate) catalog: Catalog,
    /// Executions, history, map runs, statistics, as the store has them.
    pub(crate) read: ReadModel,
    pub(crate) runtime: Runtime,
    /// RedriveExecution's client tokens: (execution, token) → redrive date,
    /// so a retried request answers as the first one did.
    pub(crate) redrive_tokens: Mutex<HashMap<(String, String), (i64, Instant)>>,
    /// Wakes GetActivityTask long polls; the same instance is registered
    /// with the runtime as the activity integration.
    pub(crate) activities: Arc<ActivityTasks>,
    /// Step Functions Local test cases (`--mock-config`), for
    /// `StartExecution` with `stateMachineArn#TestCase`.
    pub(crate) mocks: Option<Arc<statecraft_integrations::mock_config::MockedIntegrations>>,
}

/// An operation's answer: members to encode, or JSON text made already.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Value(Value),
    Text(String),
}

impl Reply {
    /// The response body.
    pub fn into_text(self) -> String {
        match self {
            Reply::Value(v) => v.to_string(),
            Reply::Text(t) => t,
        }
    }
}

/// Maps a store failure that the caller did not branch on. Token errors are
/// the client's; everything else is ours.
pub(crate) fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::InvalidToken => {
            ApiError::InvalidToken("Invalid Token: the pagination token is not valid".into())
        }
        e => ApiError::internal(e),
    }
}

/// Maps a runtime failure to the API error AWS gives for it.
pub(crate) fn runtime_err(e: statecraft_runtime::Error) -> ApiError {
    use statecraft_runtime::Error as E;
    let m = e.to_string();
    match e {
        E::StateMachineDoesNotExist(_) => ApiError::StateMachineDoesNotExist(m),
        E::ExecutionDoesNotExist(_) => ApiError::ExecutionDoesNotExist(m),
        E::ExecutionAlreadyExists(_) => ApiError::ExecutionAlreadyExists(m),
        E::InvalidArn(_) => ApiError::InvalidArn(m),
        E::InvalidDefinition(_) => ApiError::InvalidDefinition(m),
        E::InvalidExecutionInput(_) => ApiError::InvalidExecutionInput(m),
        E::StateMachineTypeNotSupported(_) => ApiError::StateMachineTypeNotSupported(m),
        E::StateMachineDeleting(_) => ApiError::StateMachineDeleting(m),
        E::ExecutionNotRedrivable(_) => ApiError::ExecutionNotRedrivable(m),
        E::ExecutionLimitExceeded(_) => ApiError::ExecutionLimitExceeded(m),
        E::TaskNotOpen(_) => ApiError::TaskTimedOut(m),
        E::Throttled(_) => ApiError::ThrottlingException(m),
        E::Validation(_) => ApiError::validation(m),
        E::Store(e) => store_err(e),
        E::Shutdown => ApiError::internal("the server is shutting down"),
    }
}

/// A fresh identifier (revision ids, generated execution names).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every operation the service answers, by its `X-Amz-Target` name.
pub const OPERATIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "DescribeStateMachineForExecution",
    "PublishStateMachineVersion",
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "ValidateStateMachineDefinition",
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "RedriveExecution",
    "DescribeMapRun",
    "ListMapRuns",
    "UpdateMapRun",
    "TestState",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateActivity",
    "DescribeActivity",
    "ListActivities",
    "DeleteActivity",
    "GetActivityTask",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
];

impl Service {
    /// `SensitiveData` (execution input, task output) as this server sizes
    /// it: `[limits] payload_bytes`, AWS's 262,144 by default.
    pub(crate) fn data_len(&self) -> crate::protocol::Len {
        crate::protocol::Len::new(0, self.runtime.limits().payload_bytes)
    }

    /// A service over `runtime` (and the store it runs on).
    pub fn new(scope: Scope, runtime: Runtime) -> Service {
        Service::with_activities(scope, runtime, Arc::new(ActivityTasks::new()))
    }

    /// A service whose GetActivityTask polls are woken by `activities`,
    /// which must be the activity integration registered with `runtime`.
    pub fn with_activities(
        scope: Scope,
        runtime: Runtime,
        activities: Arc<ActivityTasks>,
    ) -> Service {
        Service {
            scope,
            catalog: runtime.catalog(),
            read: runtime.read_model(),
            runtime,
            redrive_tokens: Mutex::new(HashMap::new()),
            activities,
            mocks: None,
        }
    }

    /// Answers executions started with `stateMachineArn#TestCase` from
    /// `mocks` (the same instance the runtime's tasks go through).
    pub fn with_mocks(
        mut self,
        mocks: Option<Arc<statecraft_integrations::mock_config::MockedIntegrations>>,
    ) -> Service {
        self.mocks = mocks;
        self
    }

    pub(crate) fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// [`Service::call_by`] as the HTTP front end sends it: operations
    /// whose answer is kept as JSON text (GetExecutionHistory) answer with
    /// that text, not parsed and written again.
    pub async fn reply_by(
        &self,
        op: &str,
        body: &[u8],
        who: Option<&str>,
    ) -> Result<Reply, ApiError> {
        if op == "GetExecutionHistory" {
            let req = Request::parse(body)?;
            return self.get_execution_history_text(&req).map(Reply::Text);
        }
        self.call_by(op, body, who).await.map(Reply::Value)
    }

    /// Runs operation `op` on a raw request body.
    pub async fn call(&self, op: &str, body: &[u8]) -> Result<Value, ApiError> {
        self.call_by(op, body, None).await
    }

    /// Runs operation `op` on a raw request body on behalf of `who` (the
    /// authenticated caller, if any; operators' actions record it). `op`
    /// is an AWS operation's name, or a Statecraft operation's with its
    /// `Statecraft.` prefix.
    pub async fn call_by(
        &self,
        op: &str,
        body: &[u8],
        who: Option<&str>,
    ) -> Result<Value, ApiError> {
        if let Some(name) = op.strip_prefix(crate::ops::operators::TARGET_PREFIX) {
            if !crate::ops::operators::OPERATIONS.contains(&name) {
                return Err(ApiError::UnknownOperationException(format!(
                    "Unknown operation: {op}"
                )));
            }
            let req = Request::parse(body)?;
            let who = who.unwrap_or(statecraft_runtime::operators::DEFAULT_ACTOR);
            return self.call_operator(name, req, who).await;
        }
        if !OPERATIONS.contains(&op) {
            return Err(ApiError::UnknownOperationException(format!(
                "Unknown operation: {op}"
            )));
        }
        let req = Request::parse(body)?;
        match op {
            "CreateStateMachine" => self.create_state_machine(req).await,
            "DescribeStateMachine" => self.describe_state_machine(req).await,
            "UpdateStateMachine" => self.update_state_machine(req).await,
            "DeleteStateMachine" => self.delete_state_machine(req).await,
            "ListStateMachines" => self.list_state_machines(req).await,
            "DescribeStateMachineForExecution" => {
                self.describe_state_machine_for_execution(req).await
            }
            "PublishStateMachineVersion" => self.publish_state_machine_version(req).await,
            "ListStateMachineVersions" => self.list_state_machine_versions(req).await,
            "DeleteStateMachineVersion" => self.delete_state_machine_version(req).await,
            "CreateStateMachineAlias" => self.create_state_machine_alias(req).await,
            "DescribeStateMachineAlias" => self.describe_state_machine_alias(req).await,
            "UpdateStateMachineAlias" => self.update_state_machine_alias(req).await,
            "DeleteStateMachineAlias" => self.delete_state_machine_alias(req).await,
            "ListStateMachineAliases" => self.list_state_machine_aliases(req).await,
            "ValidateStateMachineDefinition" => self.validate_state_machine_definition(req).await,
            "StartExecution" => self.start_execution(req).await,
            "StartSyncExecution" => self.start_sync_execution(req).await,
            "StopExecution" => self.stop_execution(req).await,
            "DescribeExecution" => self.describe_execution(req).await,
            "ListExecutions" => self.list_executions(req).await,
            "GetExecutionHistory" => self.get_execution_history(req).await,
            "RedriveExecution" => self.redrive_execution(req).await,
            "DescribeMapRun" => self.describe_map_run(req).await,
            "ListMapRuns" => self.list_map_runs(req).await,
            "UpdateMapRun" => self.update_map_run(req).await,
            "TestState" => self.test_state(req).await,
            "TagResource" => self.tag_resource(req).await,
            "UntagResource" => self.untag_resource(req).await,
            "ListTagsForResource" => self.list_tags_for_resource(req).await,
            "CreateActivity" => self.create_activity(req).await,
            "DescribeActivity" => self.describe_activity(req).await,
            "ListActivities" => self.list_activities(req).await,
            "DeleteActivity" => self.delete_activity(req).await,
            "GetActivityTask" => self.get_activity_task(req).await,
            "SendTaskSuccess" => self.send_task_success(req).await,
            "SendTaskFailure" => self.send_task_failure(req).await,
            "SendTaskHeartbeat" => self.send_task_heartbeat(req).await,
            other => Err(ApiError::UnknownOperationException(format!(
                "Unknown operation: {other}"
            ))),
        }
    }
}
