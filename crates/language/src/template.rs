//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`, and the
//! JSONPath form of `Assign`): JSON in which a key ending in `.$` takes its
//! value from a path or an intrinsic function call.
//!
//! PLACEHOLDER: being written.

use serde_json::Value;

use crate::intrinsic::{Call, IntrinsicError};
use crate::path::{Path, PathError};
use crate::{Failure, Scope};

/// The value of a `.$` field: a path or an intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Path(Path),
    Intrinsic(Call),
}

/// Why a `.$` value is not a valid path or intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Intrinsic(#[from] IntrinsicError),
}

impl Expr {
    pub fn parse(s: &str) -> Result<Expr, ExprError> {
        if s.starts_with("States.") {
            Ok(Expr::Intrinsic(Call::parse(s)?))
        } else {
            Ok(Expr::Path(Path::parse(s)?))
        }
    }

    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        match self {
            Expr::Path(p) => p.select(scope)?.ok_or_else(|| {
                Failure::new(
                    statecraft_types::errors::PARAMETER_PATH_FAILURE,
                    "path matched nothing",
                )
            }),
            Expr::Intrinsic(c) => c.evaluate(scope),
        }
    }
}

/// A problem in a template, with the JSON Pointer (relative to the template) where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub pointer: String,
    pub error: ExprError,
}

/// A compiled payload template.
#[derive(Debug, Clone)]
pub struct Template {
    raw: Value,
}

impl Template {
    /// Compiles a template, reporting every bad `.$` value.
    pub fn compile(v: &Value) -> Result<Template, Vec<TemplateError>> {
        Ok(Template { raw: v.clone() })
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Evaluates against a scope. A path that matches nothing is
    /// `States.ParameterPathFailure` with AWS's cause text.
    pub fn evaluate(&self, _scope: &Scope<'_>) -> Result<Value, Failure> {
        Ok(self.raw.clone())
    }
}
