//! ValidateStateMachineDefinition: the language crate's diagnostics in AWS's
//! shape (`result`, `diagnostics[{severity, code, message, location}]`,
//! `truncated`).

use serde_json::{json, Value};
use statecraft_language::Severity;
use statecraft_runtime::model::MachineType;

use crate::definition::problems;
use crate::protocol::{ApiError, Request, DEFINITION};
use crate::service::Service;

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
    }
}

/// The response for `text`: `severity` is the lowest severity reported
/// (`ERROR` by default), `max` the most diagnostics returned.
pub fn answer(text: &str, kind: MachineType, include_warnings: bool, max: usize) -> Value {
    let all: Vec<_> = problems(text, kind)
        .into_iter()
        .filter(|p| include_warnings || p.severity == Severity::Error)
        .collect();
    let failed = all.iter().any(|p| p.severity == Severity::Error);
    let truncated = all.len() > max;
    let diagnostics: Vec<Value> = all
        .into_iter()
        .take(max)
        .map(|p| {
            let mut d = json!({
                "severity": severity_name(p.severity),
                "code": p.code,
                "message": p.message,
            });
            if let Some(l) = p.location {
                d["location"] = Value::from(l);
            }
            d
        })
        .collect();
    json!({
        "result": if failed { "FAIL" } else { "OK" },
        "diagnostics": diagnostics,
        "truncated": truncated,
    })
}

impl Service {
    pub async fn validate_state_machine_definition(&self, req: Request) -> Result<Value, ApiError> {
        let text = req.str("definition", DEFINITION)?;
        let kind = req.opt_enum("type", &["STANDARD", "EXPRESS"])?;
        let severity = req.opt_enum("severity", &["ERROR", "WARNING"])?;
        let max = req.opt_int("maxResults", 0, 100)?.unwrap_or(0);
        let max = if max == 0 { 100 } else { max as usize };
        let kind = MachineType::parse(kind.unwrap_or("STANDARD")).unwrap_or(MachineType::Standard);
        Ok(answer(text, kind, severity == Some("WARNING"), max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_and_fail_answers() {
        let ok = answer(
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            MachineType::Standard,
            false,
            100,
        );
        assert_eq!(
            ok,
            json!({"result": "OK", "diagnostics": [], "truncated": false})
        );
        let fail = answer(r#"{"States":{}}"#, MachineType::Standard, false, 100);
        assert_eq!(fail["result"], "FAIL");
        assert_eq!(fail["diagnostics"][0]["severity"], "ERROR");
        let one = answer("not json", MachineType::Standard, false, 1);
        assert_eq!(one["result"], "FAIL");
        assert_eq!(one["diagnostics"].as_array().map(Vec::len), Some(1));
    }
}
