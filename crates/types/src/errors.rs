//! The predefined error names of Amazon States Language and the `Failure`
//! value (error name + cause) that a state raises and Retry/Catch match.

use serde::{Deserialize, Serialize};

/// In `ErrorEquals`: a wildcard for every error except `States.Runtime`.
pub const ALL: &str = "States.ALL";
/// In `ErrorEquals`: a Task state failed to send a heartbeat within
/// `HeartbeatSeconds`. AWS names that failure `States.Timeout` (see
/// [`Failure::heartbeat`]); this name selects it among the timeouts.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// A Task ran longer than `TimeoutSeconds` or its heartbeat lapsed, or the
/// execution ran longer than its `TimeoutSeconds`.
pub const TIMEOUT: &str = "States.Timeout";
/// A Task failed during execution. In `ErrorEquals`, a wildcard for every
/// error a Task state raises except `States.Timeout`.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// Insufficient privileges to run the task.
pub const PERMISSIONS: &str = "States.Permissions";
/// A state's result could not be placed into its input with `ResultPath`.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A field in `Parameters`/`ItemSelector`/`ResultSelector` referenced a path that does not exist.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A Parallel branch or Map iteration failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// A Choice state matched no rule and has no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state exceeded its tolerated failure threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A Map state's ItemReader failed.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A Map state's ResultWriter failed.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// A runtime error that cannot be retried (for example an InputPath into nothing).
pub const RUNTIME: &str = "States.Runtime";
/// A JSONata expression failed, produced no value where one was needed, or
/// exceeded its evaluation limits.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// A payload exceeded AWS's size quota. Raised by AWS though not among the
/// ASL-reserved names, so it is not in [`PREDEFINED`].
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// Every predefined `States.*` error name, for validation of `ErrorEquals`.
pub const PREDEFINED: &[&str] = &[
    ALL,
    HEARTBEAT_TIMEOUT,
    TIMEOUT,
    TASK_FAILED,
    PERMISSIONS,
    RESULT_PATH_MATCH_FAILURE,
    PARAMETER_PATH_FAILURE,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    RUNTIME,
    QUERY_EVALUATION_ERROR,
];

/// An error raised by a state: the name that Retry and Catch match on, and a
/// human-readable cause. The matching rules live in the engine
/// (`statecraft_engine::retry::matches`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    pub cause: String,
    /// The `States.Timeout` of a Task whose heartbeat lapsed: AWS reports it
    /// as `States.Timeout`, and `States.HeartbeatTimeout` in `ErrorEquals`
    /// matches it (and only it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub heartbeat: bool,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
            heartbeat: false,
        }
    }

    /// The failure of a Task whose heartbeat lapsed: `States.Timeout`, as
    /// AWS names it, marked so that `States.HeartbeatTimeout` matches it.
    pub fn heartbeat_timeout(cause: impl Into<String>) -> Self {
        Failure {
            heartbeat: true,
            ..Self::new(TIMEOUT, cause)
        }
    }

    /// `States.Runtime` with the given cause.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(RUNTIME, cause)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}
