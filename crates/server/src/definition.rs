//! Definition checks at the API boundary: the language crate's validator
//! plus the rules that depend on the machine type (EXPRESS machines cannot
//! wait for callbacks or run `.sync` jobs), turned into AWS's
//! `InvalidDefinition` message and `ValidateStateMachineDefinition`
//! diagnostics.

use serde_json::Value;
use statecraft_language::{Diagnostic, Severity};
use statecraft_runtime::model::MachineType;

use crate::protocol::ApiError;

/// A problem found in a definition, in the form both API surfaces need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    /// JSON Pointer; `None` when the problem has no place (unparseable text).
    pub location: Option<String>,
}

/// The language crate's messages are AWS's wording followed by advice
/// (`"<AWS message>; <what to do>."`). The API answers with AWS's wording
/// alone, so that clients matching on it see what AWS would say; the CLI
/// shows the advice.
fn aws_wording(message: &str) -> String {
    match message.split_once("; ") {
        Some((aws, _advice)) => aws.to_string(),
        None => message.to_string(),
    }
}

impl From<Diagnostic> for Problem {
    fn from(d: Diagnostic) -> Problem {
        Problem {
            severity: d.severity,
            code: d.code,
            message: aws_wording(&d.message),
            location: Some(if d.pointer.is_empty() {
                "/".into()
            } else {
                d.pointer
            }),
        }
    }
}

/// Every problem of `text` for a machine of type `kind`, errors first.
pub fn problems(text: &str, kind: MachineType) -> Vec<Problem> {
    // The API takes JSON only (the language crate also reads YAML, for
    // files): text that is not JSON gets AWS's INVALID_JSON_DESCRIPTION,
    // except blank text, which AWS reports as "not a JSON object".
    let not_object = || Problem {
        severity: Severity::Error,
        code: "SCHEMA_VALIDATION_FAILED".into(),
        message: "Definition must be a valid JSON object".into(),
        location: None,
    };
    if text.trim().is_empty() {
        return vec![not_object()];
    }
    let value = match serde_json::from_str::<Value>(text) {
        Ok(v) => v,
        Err(e) => {
            // serde_json's text ends with the position, which `location`
            // carries: keep it once, or the message repeats it.
            let text = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
            return vec![Problem {
                severity: Severity::Error,
                code: "INVALID_JSON_DESCRIPTION".into(),
                message,
                location: Some(format!("line: {}, column: {}", e.line(), e.column())),
            }];
        }
    };
    if !value.is_object() {
        return vec![not_object()];
    }
    let mut out: Vec<Problem> = statecraft_language::validate(text)
        .into_iter()
        .map(Problem::from)
        .collect();
    if kind == MachineType::Express {
        express_rules(&value, "", &mut out);
    }
    out.sort_by_key(|p| p.severity != Severity::Error);
    out
}

/// EXPRESS machines run at most five minutes and cannot be called back: AWS
/// rejects the callback and `.sync` integration patterns in them.
fn express_rules(v: &Value, pointer: &str, out: &mut Vec<Problem>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("Resource") {
                // AWS's wording differs per case, down to the spacing.
                let what = if r.ends_with(".waitForTaskToken") {
                    Some("'.waitForTaskToken' service integration ")
                } else if r.ends_with(".sync") || r.contains(".sync:") {
                    Some("'.sync' service integration")
                } else if r.split(':').nth(5) == Some("activity") {
                    Some("Activity ARN")
                } else {
                    None
                };
                if let Some(what) = what {
                    out.push(Problem {
                        severity: Severity::Error,
                        code: "SCHEMA_VALIDATION_FAILED".into(),
                        message: format!("Express state machine does not support {what}"),
                        location: Some(format!("{pointer}/Resource")),
                    });
                }
            }
            for (k, child) in m {
                let key = k.replace('~', "~0").replace('/', "~1");
                express_rules(child, &format!("{pointer}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                express_rules(child, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Accepts a definition for CreateStateMachine / UpdateStateMachine, or
/// rejects it with AWS's `InvalidDefinition` message for its first error.
pub fn check(text: &str, kind: MachineType) -> Result<(), ApiError> {
    let first = problems(text, kind)
        .into_iter()
        .find(|p| p.severity == Severity::Error);
    match first {
        None => Ok(()),
        Some(p) => Err(ApiError::InvalidDefinition(format!(
            "Invalid State Machine Definition: '{}: {} at {}'",
            p.code,
            p.message,
            p.location.as_deref().unwrap_or("/")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

    #[test]
    fn a_valid_definition_passes() {
        assert!(check(PASS, MachineType::Standard).is_ok());
        assert!(check(PASS, MachineType::Express).is_ok());
    }

    #[test]
    fn express_machines_refuse_callbacks_with_aws_message() {
        let def = r#"{"StartAt":"Publish","States":{"Publish":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"QueueUrl":"q","MessageBody":{"t.$":"$$.Task.Token"}},"End":true}}}"#;
        let e = check(def, MachineType::Express).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' service integration  at /States/Publish/Resource'"
        );
    }

    /// YAML (or any text that is not JSON) names its position once.
    #[test]
    fn invalid_json_names_its_location_once() {
        for (text, location) in [
            ("StartAt: P\nStates: {}\n", "line: 1, column: 1"),
            (
                "{\"StartAt\": \"P\",\n  \"States\": {,}}",
                "line: 2, column: 14",
            ),
        ] {
            let e = check(text, MachineType::Standard).unwrap_err().to_string();
            assert_eq!(e.matches("line").count(), 1, "{e}");
            assert!(
                e.starts_with("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ")
                    && e.ends_with(&format!(" at {location}'")),
                "{e}"
            );
        }
    }

    #[test]
    fn missing_fields_are_invalid_definitions() {
        let e = check(r#"{"Comment":"x"}"#, MachineType::Standard).unwrap_err();
        assert_eq!(e.type_name(), "InvalidDefinition");
        assert!(
            e.to_string()
                .starts_with("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "),
            "{e}"
        );
    }
}
