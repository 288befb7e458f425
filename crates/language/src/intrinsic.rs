//! Intrinsic functions (`States.Format`, `States.Array`, …): parsing of the
//! call syntax, with nesting, literals and paths as arguments, and evaluation
//! with AWS's results and `States.IntrinsicFailure` on misuse.
//!
//! PLACEHOLDER: being written.

use serde_json::Value;

use crate::{Failure, Scope};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IntrinsicError {
    pub message: String,
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    source: String,
}

impl Call {
    pub fn parse(s: &str) -> Result<Call, IntrinsicError> {
        Err(IntrinsicError {
            message: format!("intrinsic functions are not supported yet: {s}"),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn evaluate(&self, _scope: &Scope<'_>) -> Result<Value, Failure> {
        Err(Failure::new(
            statecraft_types::errors::INTRINSIC_FAILURE,
            "not supported yet",
        ))
    }
}
