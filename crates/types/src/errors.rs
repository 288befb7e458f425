//! The predefined error names of Amazon States Language and the `Failure`
//! value (error name + cause) that a state raises and Retry/Catch match.

use serde::{Deserialize, Serialize};

/// Matches any error name in `ErrorEquals` (except `States.Runtime` for Retry, see ASL).
pub const ALL: &str = "States.ALL";
/// A Task state failed to send a heartbeat within `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// A Task ran longer than `TimeoutSeconds`, or the execution ran longer than its `TimeoutSeconds`.
pub const TIMEOUT: &str = "States.Timeout";
/// A Task failed during execution.
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
/// A JSONata expression failed or produced no value where one was needed.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

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
/// human-readable cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime` with the given cause.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(RUNTIME, cause)
    }

    /// Whether this error can be caught or retried by a rule listing `names`.
    /// `States.ALL` matches everything except that `States.Runtime` is never retried
    /// (the caller decides; see ASL) — this helper only does name matching.
    pub fn matches(&self, names: &[String]) -> bool {
        names.iter().any(|n| n == ALL || *n == self.error)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}
