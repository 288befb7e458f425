//! The corpus's TestState cases as a step-by-step test of the data flow:
//! AWS's TestState API reports every intermediate value of a JSONPath state
//! (`afterInputPath`, `afterParameters`, `result`, `afterResultSelector`,
//! `afterResultPath`), so each of this crate's evaluators (InputPath,
//! Parameters, ResultSelector, ResultPath, OutputPath) can be checked against
//! AWS one stage at a time, without the engine.

use serde_json::{json, Value};
use statecraft_language::path::{Path, ReferencePath};
use statecraft_language::template::Template;
use statecraft_language::{Host, Scope};

struct FixedHost;
impl Host for FixedHost {
    fn random(&self) -> f64 {
        0.5
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

/// Whether an expected string (with the corpus's `<placeholder>` and `date`
/// markers) matches an actual one.
fn text_matches(expected: &str, actual: &str) -> bool {
    // The recording replaced its environment's names (README, point 4).
    let actual = actual
        .replace("arn:aws:", "arn:<partition>:")
        .replace("LSFAKEACCOUNT000", "111111111111")
        .replace("lsfakeregion-1", "<region>");
    if expected == actual {
        return true;
    }
    if expected == "date" {
        return actual.len() >= 10 && actual.as_bytes().get(4) == Some(&b'-');
    }
    if !expected.contains('<') {
        return false;
    }
    // Literal pieces between placeholders must appear in order.
    let mut rest = actual.as_str();
    let mut first = true;
    for piece in expected.split('<') {
        let literal = match piece.split_once('>') {
            Some((_, after)) => after,
            None => piece,
        };
        match rest.find(literal) {
            Some(at) if !first || at == 0 => rest = &rest[at + literal.len()..],
            _ => return false,
        }
        first = false;
    }
    true
}

/// Compares a recorded value with ours: strings that hold JSON text are
/// compared as JSON (the corpus kept non-object JSON as text).
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        // Stage values were recorded as JSON text; a string may be either.
        (Value::String(e), a) => {
            a.as_str().is_some_and(|a| text_matches(e, a))
                || serde_json::from_str::<Value>(e).is_ok_and(|v| v != *expected && same(&v, a))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| same(x, y))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, x)| a.get(k).is_some_and(|y| same(x, y)))
        }
        (e, a) => e == a,
    }
}

fn as_json(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn path_field(state: &Value, key: &str, input: &Value, scope: &Scope<'_>) -> Value {
    match state.get(key) {
        None => input.clone(),
        Some(Value::Null) => json!({}),
        Some(p) => {
            let p = Path::parse(p.as_str().unwrap_or("")).expect("valid path");
            p.select(&Scope { input, ..*scope })
                .expect("selects")
                .expect("path matches")
        }
    }
}

#[test]
fn test_state_stages_match_aws() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in statecraft_testdata::corpus() {
        let state = &case["definition"];
        let data = &case["expected"]["inspectionData"];
        if case["kind"] != "test_state"
            || !data.is_object()
            || case["definition_text"]
                .as_str()
                .is_some_and(|t| t.contains("JSONata"))
            || !matches!(state["Type"].as_str(), Some("Task" | "Pass" | "Choice"))
        {
            continue;
        }
        let id = case["id"].as_str().unwrap_or("?");
        let context = case["test_state_request"]["context"]
            .as_str()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_else(|| json!({}));
        let vars = serde_json::Map::new();
        let input = as_json(&data["input"]);
        let scope = Scope {
            input: &input,
            context: &context,
            variables: &vars,
            host: &FixedHost,
        };
        let mut check = |stage: &str, ours: &Value| {
            if let Some(expected) = data.get(stage) {
                if !same(expected, ours) {
                    failures.push(format!("{id} {stage}: expected {expected}, got {ours}"));
                }
            }
        };

        let after_input = path_field(state, "InputPath", &input, &scope);
        check("afterInputPath", &after_input);
        if state["Type"] == "Choice" {
            checked += 1;
            continue;
        }
        let after_parameters = match state.get("Parameters") {
            Some(t) => Template::compile(t)
                .expect("compiles")
                .evaluate(&Scope {
                    input: &after_input,
                    ..scope
                })
                .expect("evaluates"),
            None => after_input.clone(),
        };
        check("afterParameters", &after_parameters);
        let result = match (state.get("Result"), data.get("result")) {
            (Some(r), _) => r.clone(),
            (None, Some(r)) => as_json(r),
            (None, None) => after_parameters.clone(),
        };
        let after_selector = match state.get("ResultSelector") {
            Some(t) => Template::compile(t)
                .expect("compiles")
                .evaluate(&Scope {
                    input: &result,
                    ..scope
                })
                .expect("evaluates"),
            None => result.clone(),
        };
        check("afterResultSelector", &after_selector);
        let after_result_path = match state.get("ResultPath") {
            None => after_selector,
            Some(Value::Null) => input.clone(),
            Some(p) => ReferencePath::parse(p.as_str().unwrap_or(""))
                .expect("reference path")
                .place(input.clone(), after_selector)
                .expect("places"),
        };
        check("afterResultPath", &after_result_path);
        let output = path_field(state, "OutputPath", &after_result_path, &scope);
        if let Some(expected) = case["expected"].get("output") {
            if !same(expected, &output) {
                failures.push(format!("{id} output: expected {expected}, got {output}"));
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} stages differ from AWS:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 20, "only {checked} TestState cases were checked");
}
