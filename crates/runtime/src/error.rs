//! The runtime's error type. Each variant maps to one AWS API error the
//! server returns; `Store` and `Shutdown` are the server's 500s.

/// Why a runtime operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
    #[error("Invalid Arn: '{0}'")]
    InvalidArn(String),
    /// The stored definition does not parse or cannot be prepared.
    #[error("Invalid State Machine Definition: {0}")]
    InvalidDefinition(String),
    #[error("Invalid execution input: {0}")]
    InvalidExecutionInput(String),
    /// E.g. StartSyncExecution on a STANDARD machine.
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    /// The state machine is being deleted; no new executions start.
    #[error("State Machine is being deleted: '{0}'")]
    StateMachineDeleting(String),
    /// RedriveExecution on an execution that cannot be redriven.
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    /// SendTaskSuccess/Failure with a token whose task is no longer open
    /// (answered already, timed out, cancelled, or never issued).
    #[error("{0}")]
    TaskNotOpen(String),
    /// StartExecution with as many open executions as the configured limit.
    #[error("{0}")]
    ExecutionLimitExceeded(String),
    /// StartExecution faster than the configured start rate.
    #[error("{0}")]
    Throttled(String),
    /// A request that cannot be carried out as asked (an operator's action
    /// on an execution in the wrong status, a state that cannot be
    /// restarted from): AWS's `ValidationException`.
    #[error("{0}")]
    Validation(String),
    /// The store failed; the operation may be retried.
    #[error(transparent)]
    Store(#[from] statecraft_store::Error),
    /// The runtime is shutting down.
    #[error("the runtime is shutting down")]
    Shutdown,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
