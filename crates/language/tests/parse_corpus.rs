//! The recorded AWS corpus as a test of the parser and validator: every
//! definition AWS ran must be accepted (no ERROR diagnostics), and every
//! definition AWS rejected must be rejected, with AWS's message where we
//! produce the same check.

use serde_json::Value;
use statecraft_language::{Diagnostic, Severity};

/// The corpus, or the file `STATECRAFT_CORPUS` names (a new recording
/// checked before it replaces the one in the repository).
fn cases() -> Vec<Value> {
    match std::env::var_os("STATECRAFT_CORPUS") {
        Some(p) => statecraft_testdata::corpus_at(std::path::Path::new(&p)),
        None => statecraft_testdata::corpus(),
    }
}

fn definition_text(case: &Value) -> Option<&str> {
    case.get("definition_text").and_then(Value::as_str)
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

#[test]
fn every_executed_definition_is_accepted() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let kind = case["kind"].as_str().unwrap_or_default();
        if !matches!(
            kind,
            "execution" | "execution_output_only" | "sync_execution"
        ) {
            continue;
        }
        let Some(text) = definition_text(&case) else {
            continue;
        };
        checked += 1;
        let diagnostics = statecraft_language::validate(text);
        let errs = errors(&diagnostics);
        if !errs.is_empty() {
            failures.push(format!(
                "{}:\n    {}",
                case["id"].as_str().unwrap_or("?"),
                errs.iter()
                    .map(|d| format!("{} {} {}", d.code, d.pointer, d.message))
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    println!(
        "{checked} executed definitions checked, {} rejected",
        failures.len()
    );
    assert!(
        checked > 600,
        "only {checked} definitions found in the corpus"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} definitions AWS accepted were rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// AWS's `SCHEMA_VALIDATION_FAILED: <message> at <pointer>` (or the code,
/// message and location of a ValidateStateMachineDefinition diagnostic).
struct Rejection {
    code: String,
    message: String,
    pointer: Option<String>,
}

fn rejection(case: &Value) -> Option<Rejection> {
    let expected = &case["expected"];
    match case["kind"].as_str()? {
        "create_error" => {
            if expected["error"].as_str()? != "InvalidDefinition" {
                return None;
            }
            // Invalid State Machine Definition: 'CODE: message at /pointer'
            let text = expected["message"].as_str()?;
            let inner = text
                .strip_prefix("Invalid State Machine Definition: '")?
                .strip_suffix('\'')?;
            let (code, rest) = inner.split_once(": ")?;
            let (message, pointer) = rest.rsplit_once(" at ")?;
            Some(Rejection {
                code: code.to_string(),
                message: message.trim().to_string(),
                pointer: Some(pointer.to_string()),
            })
        }
        "validate_definition" => {
            let d = expected["diagnostics"].as_array()?.first()?;
            Some(Rejection {
                code: d["code"].as_str()?.to_string(),
                message: d["message"].as_str()?.trim().to_string(),
                pointer: d["location"]
                    .as_str()
                    .filter(|l| l.starts_with('/'))
                    .map(str::to_string),
            })
        }
        _ => None,
    }
}

/// Checks that need AWS's list of service integrations per region; they are
/// not part of parsing a definition.
fn outside_parsing(message: &str) -> bool {
    message.contains("is not recognized")
}

/// The corpus does not record the machine type of rejected definitions; the
/// Express-only messages say it.
fn is_express(message: &str) -> bool {
    message.starts_with("Express state machine")
}

#[test]
fn every_rejected_definition_is_rejected() {
    let mut checked = 0;
    let mut same_message = 0;
    let mut problems = Vec::new();
    for case in cases() {
        let Some(text) = definition_text(&case) else {
            continue;
        };
        let id = case["id"].as_str().unwrap_or("?");
        let expected_ok = case["expected"]["result"].as_str() == Some("OK");
        if case["kind"] == "validate_definition" && expected_ok {
            checked += 1;
            let errs: Vec<String> = errors(&statecraft_language::validate(text))
                .iter()
                .map(|d| d.to_string())
                .collect();
            if !errs.is_empty() {
                problems.push(format!("{id}: AWS accepted it, we said {errs:?}"));
            }
            continue;
        }
        let Some(want) = rejection(&case) else {
            continue;
        };
        if outside_parsing(&want.message) {
            continue;
        }
        checked += 1;
        let mut diagnostics = statecraft_language::validate(text);
        if is_express(&want.message) {
            if let Ok(machine) = statecraft_language::parse(text) {
                diagnostics.extend(statecraft_language::validate::express_restrictions(
                    &machine,
                ));
            }
        }
        let errs = errors(&diagnostics);
        if errs.is_empty() {
            problems.push(format!(
                "{id}: AWS rejected it ({}), we accepted it",
                want.message
            ));
            continue;
        }
        let matching = errs.iter().find(|d| {
            // AWS's JSON syntax messages are its JSON library's (Jackson's);
            // only the code can match for those.
            d.code == want.code
                && (d.code == "INVALID_JSON_DESCRIPTION" || d.message.contains(&want.message))
                && want
                    .pointer
                    .as_ref()
                    .is_none_or(|p| d.pointer == *p || (p == "/" && d.pointer.is_empty()))
        });
        match matching {
            Some(_) => same_message += 1,
            None => problems.push(format!(
                "{id}: AWS said {} {:?} at {:?}, we said {:?}",
                want.code,
                want.message,
                want.pointer,
                errs.iter().map(|d| d.to_string()).collect::<Vec<_>>()
            )),
        }
    }
    println!("{checked} AWS validation answers checked, {same_message} with AWS's code, message and pointer");
    assert!(checked >= 15, "only {checked} cases found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The TestState cases send single states (or whole machines with a state
/// name); AWS accepted every one whose answer is not `InvalidDefinition`, so
/// each must decode without schema errors. Transitions are not judged: a
/// lone state's `Next` names a state that is not there.
#[test]
fn every_test_state_definition_is_accepted() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let kind = case["kind"].as_str().unwrap_or_default();
        if !kind.starts_with("test_state") || case["expected"]["error"] == "InvalidDefinition" {
            continue;
        }
        let Some(definition) = case.get("definition").filter(|d| d.is_object()) else {
            continue;
        };
        let machine = if definition.get("States").is_some() {
            definition.clone()
        } else {
            serde_json::json!({"StartAt": "S", "States": {"S": definition}})
        };
        checked += 1;
        let diagnostics = match statecraft_language::parse_value(&machine) {
            Ok(_) => Vec::new(),
            Err(d) => d,
        };
        let errs: Vec<String> = errors(&diagnostics)
            .into_iter()
            .filter(|d| {
                !matches!(
                    d.code.as_str(),
                    "MISSING_TRANSITION_TARGET" | "MISSING_END_STATE"
                )
            })
            .map(|d| d.to_string())
            .collect();
        if !errs.is_empty() {
            failures.push(format!("{}: {errs:?}", case["id"].as_str().unwrap_or("?")));
        }
    }
    println!(
        "{checked} TestState definitions checked, {} rejected",
        failures.len()
    );
    assert!(checked > 100, "only {checked} TestState definitions found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
