//! Statecraft's own operations for operators, served beside AWS's under the
//! `Statecraft.` target prefix (same endpoint, same JSON 1.0 protocol, same
//! error shapes): PauseExecution, ResumeExecution, RestartExecution and
//! FailExecution. They only check the request; the runtime owns what they
//! do (`statecraft_runtime::operators`).

use serde_json::{json, Value};
use statecraft_runtime::operators::Restart;

use super::executions::execution_arn;
use crate::protocol::{timestamp, ApiError, Request, ARN, NAME};
use crate::service::{runtime_err, Service};

/// The `X-Amz-Target` prefix of these operations.
pub const TARGET_PREFIX: &str = "Statecraft.";

/// Every operation under [`TARGET_PREFIX`], by its name after the prefix.
pub const OPERATIONS: &[&str] = &[
    "PauseExecution",
    "ResumeExecution",
    "RestartExecution",
    "FailExecution",
];

/// The same with their prefix, as `X-Amz-Target` and the metrics name them.
pub const TARGETS: &[&str] = &[
    "Statecraft.PauseExecution",
    "Statecraft.ResumeExecution",
    "Statecraft.RestartExecution",
    "Statecraft.FailExecution",
];

/// `definition` may be a version or state machine ARN (up to 256
/// characters) or a revision id.
const DEFINITION_REF: crate::protocol::Len = crate::protocol::Len::new(1, 256);

impl Service {
    /// Runs Statecraft operation `op` (without its prefix) for `who`.
    pub async fn call_operator(
        &self,
        op: &str,
        req: Request,
        who: &str,
    ) -> Result<Value, ApiError> {
        match op {
            "PauseExecution" => {
                let arn = req.str("executionArn", ARN)?;
                execution_arn(arn)?;
                let at = self
                    .runtime
                    .pause_execution(arn, who)
                    .await
                    .map_err(runtime_err)?;
                Ok(json!({ "pauseDate": timestamp(at) }))
            }
            "ResumeExecution" => {
                let arn = req.str("executionArn", ARN)?;
                execution_arn(arn)?;
                let at = self
                    .runtime
                    .resume_execution(arn, who)
                    .await
                    .map_err(runtime_err)?;
                Ok(json!({ "resumeDate": timestamp(at) }))
            }
            "FailExecution" => {
                let arn = req.str("executionArn", ARN)?;
                execution_arn(arn)?;
                let at = self
                    .runtime
                    .fail_execution(arn, who)
                    .await
                    .map_err(runtime_err)?;
                Ok(json!({ "stopDate": timestamp(at) }))
            }
            "RestartExecution" => {
                let arn = req.str("executionArn", ARN)?;
                execution_arn(arn)?;
                let from_state = req.str("fromState", NAME)?;
                // Checked here for its size first, so an oversized input
                // gets InvalidExecutionInput (as StartExecution's would)
                // rather than a generic length error.
                let input = req.opt_str("input", crate::protocol::ANY)?;
                if let Some(text) = input {
                    let max = self.data_len().max;
                    if text.len() > max {
                        return Err(ApiError::InvalidExecutionInput(format!(
                            "Invalid execution input: the input is {} bytes; at most {max} bytes are allowed",
                            text.len(),
                        )));
                    }
                }
                let definition = req.opt_str("definition", DEFINITION_REF)?;
                let at = self
                    .runtime
                    .restart_execution(Restart {
                        execution_arn: arn.to_string(),
                        from_state: from_state.to_string(),
                        input: input.map(str::to_string),
                        definition: definition.map(str::to_string),
                        by: who.to_string(),
                    })
                    .await
                    .map_err(runtime_err)?;
                Ok(json!({ "restartDate": timestamp(at) }))
            }
            other => Err(ApiError::UnknownOperationException(format!(
                "Unknown operation: {TARGET_PREFIX}{other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_are_the_operations_with_their_prefix() {
        let prefixed: Vec<String> = OPERATIONS
            .iter()
            .map(|o| format!("{TARGET_PREFIX}{o}"))
            .collect();
        assert_eq!(prefixed, TARGETS);
    }
}
