//! A task to invoke, as the engine asks for it and an integration receives
//! it: shared here so that the engine (which builds requests) and the task
//! interface (`statecraft-tasks`, which carries them out) need not depend
//! on each other.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Identifies one outstanding task invocation within an execution.
pub type TaskId = u64;

/// A task to invoke: everything an integration needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRequest {
    pub task: TaskId,
    pub state_name: String,
    /// The `Resource` ARN as written in the definition.
    pub resource: String,
    /// The effective parameters (after InputPath/Parameters or Arguments).
    pub parameters: Value,
    /// `$$.Task.Token` for `.waitForTaskToken` resources and activities.
    pub task_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
}
