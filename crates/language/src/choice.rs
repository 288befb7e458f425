//! Evaluation of JSONPath Choice rules (`And`/`Or`/`Not` and every comparison
//! operator, including `StringMatches` with its escapes and the timestamp
//! comparisons), with AWS's treatment of missing and mistyped values.
//!
//! PLACEHOLDER: being written.

use crate::ast::ChoiceRule;
use crate::{Failure, Scope};

/// Whether `rule` holds for `scope`. JSONata `Condition` rules are not
/// handled here (the JSONata layer evaluates them).
pub fn evaluate(rule: &ChoiceRule, scope: &Scope<'_>) -> Result<bool, Failure> {
    let _ = (rule, scope);
    Err(Failure::runtime("choice rules not supported yet"))
}
