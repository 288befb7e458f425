//! SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: how activity
//! workers and `.waitForTaskToken` callbacks answer a task by its token.
//!
//! A token names a pending task in the store (it was committed with the
//! step that scheduled the task), so tokens keep working across restarts.
//! SendTaskSuccess/Failure close the task in the store in one statement
//! that records the answer only if the task is still open: of concurrent
//! answers to one token exactly one is accepted, every other gets
//! `TaskTimedOut` (AWS's error for a token whose task is closed; a string
//! that cannot be a token at all is `InvalidToken`). The runtime answers
//! the token ([`statecraft_runtime::Runtime::answer_task`],
//! [`statecraft_runtime::Runtime::heartbeat_task`]) on whichever node
//! receives the call; this module checks the request and maps the
//! runtime's errors to AWS's.

use serde_json::{json, Value};
use statecraft_types::Failure;

use statecraft_runtime::TaskAnswer;

use crate::protocol::{ApiError, Len, Request, CAUSE, ERROR};
use crate::service::{runtime_err, Service};

/// The model's `TaskToken` shape.
pub const TASK_TOKEN: Len = Len::new(1, 2048);

/// Whether `token` could be a token this server handed out (a UUID). Any
/// other string is `InvalidToken`; a well-formed token that names no
/// pending task belonged to a task that has ended (`TaskTimedOut`, AWS's
/// answer for a token that is no longer valid).
fn well_formed(token: &str) -> bool {
    uuid::Uuid::try_parse(token).is_ok()
}

impl Service {
    /// Closes the token's task with `answer` (see the module's note).
    async fn close(&self, token: &str, answer: TaskAnswer) -> Result<Value, ApiError> {
        if !well_formed(token) {
            return Err(ApiError::InvalidToken("Invalid token".into()));
        }
        delivered(self.runtime.answer_task(token, answer).await)
    }

    pub async fn send_task_success(&self, req: Request) -> Result<Value, ApiError> {
        let token = req.str("taskToken", TASK_TOKEN)?;
        let output_text = req.str("output", self.data_len())?;
        let output: Value = serde_json::from_str(output_text).map_err(|e| {
            ApiError::InvalidOutput(format!("Invalid Output: the output is not valid JSON: {e}"))
        })?;
        self.close(token, TaskAnswer::Succeeded(output)).await
    }

    pub async fn send_task_failure(&self, req: Request) -> Result<Value, ApiError> {
        let token = req.str("taskToken", TASK_TOKEN)?;
        let error = req.opt_str("error", ERROR)?.unwrap_or("");
        let cause = req.opt_str("cause", CAUSE)?.unwrap_or("");
        self.close(token, TaskAnswer::Failed(Failure::new(error, cause)))
            .await
    }

    pub async fn send_task_heartbeat(&self, req: Request) -> Result<Value, ApiError> {
        let token = req.str("taskToken", TASK_TOKEN)?;
        if !well_formed(token) {
            return Err(ApiError::InvalidToken("Invalid token".into()));
        }
        delivered(self.runtime.heartbeat_task(token).await)
    }
}

/// The API's answer to a token call the runtime carried out: `{}`, or
/// `TaskDoesNotExist` if the task's execution is no longer running.
fn delivered(result: statecraft_runtime::Result<bool>) -> Result<Value, ApiError> {
    let delivered = result.or_else(|e| match e {
        statecraft_runtime::Error::ExecutionDoesNotExist(_) => Ok(false),
        e => Err(runtime_err(e)),
    })?;
    if !delivered {
        return Err(ApiError::TaskDoesNotExist(
            "Task Does Not Exist: the task's execution is no longer running".into(),
        ));
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_uuids() {
        assert!(well_formed("0f8fad5b-d9cb-469f-a165-70867728950e"));
        for bad in [
            "",
            "x",
            "0f8fad5b-d9cb-469f-a165",
            "AAAAKgAAAAIAAAAAAAAAA==",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
