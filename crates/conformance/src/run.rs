//! Running one recorded execution case through the engine and comparing the
//! outcome (status, output, error, cause, and the history where recorded).

use serde_json::Value;
use statecraft_engine::driver::{self, Options, Response, VirtualClock};
use statecraft_engine::{ExecutionContext, Machine, TaskRequest};
use statecraft_types::Failure;

use crate::compare::{apply_transformers, matches, normalise, string_matches};
use crate::Case;

/// The account the recorded ARNs were normalised to.
const ACCOUNT: &str = "111111111111";

/// What our engine produced for a case.
#[derive(Debug, Clone)]
pub struct Actual {
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Events in wire shape.
    pub history: Vec<Value>,
}

/// Runs an execution case. `Err` when the definition or input cannot be run at all.
pub fn execute(case: &Case) -> Result<Actual, String> {
    let text = match (&case.definition_text, &case.definition) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => d.to_string(),
        (None, None) => return Err("the case has no definition".into()),
    };
    let ast = statecraft_language::parse(&text).map_err(|ds| {
        let msgs: Vec<String> = ds.iter().map(|d| d.to_string()).collect();
        format!("definition rejected: {}", msgs.join("; "))
    })?;
    let machine = Machine::new(ast).map_err(|e| e.to_string())?;
    let start_ms = 1_700_000_000_000;
    let context = ExecutionContext {
        execution_arn: format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:machine:execution"),
        execution_name: "execution".into(),
        state_machine_arn: format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:machine"),
        state_machine_name: "machine".into(),
        role_arn: "snf_role_arn".into(),
        start_time_ms: start_ms,
        redrive_count: 0,
    };
    let host = statecraft_engine::host::DeterministicHost::new(7);
    let mut clock = VirtualClock { now_ms: start_ms };
    let options = Options {
        context,
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(100_000),
        input_text: case.input_text.clone(),
    };
    let mut no_services = |req: &TaskRequest| {
        Response::Failed(Failure::new(
            "Statecraft.NoService",
            format!("the conformance runner has no service for {}", req.resource),
        ))
    };
    let outcome = driver::run(&machine, case.input_value(), options, &mut no_services);
    let status = serde_json::to_value(outcome.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(Actual {
        status,
        output: outcome.output,
        error: outcome.error,
        cause: outcome.cause,
        history: outcome.history.iter().map(|e| e.to_wire()).collect(),
    })
}

/// Compares our outcome with the recorded one. `Err` says the first difference.
pub fn check(case: &Case, actual: &Actual) -> Result<(), String> {
    let expected = &case.expected;
    let want_status = expected.get("status").and_then(Value::as_str).unwrap_or("");
    if want_status != actual.status {
        return Err(format!(
            "status: expected {want_status}, got {} (error {:?}, cause {:?})",
            actual.status, actual.error, actual.cause
        ));
    }
    if let Some(want) = expected.get("output") {
        // Transformers address the output as the response's `output` member.
        let mut wrapped = serde_json::json!({ "executionSucceededEventDetails": { "output": normalise(actual.output.as_ref().unwrap_or(&Value::Null)) } });
        apply_transformers(&case.test_transformers, &mut wrapped);
        let got = wrapped["executionSucceededEventDetails"]["output"].take();
        matches(want, &got).map_err(|d| format!("output {d}"))?;
    }
    for (field, got) in [("error", &actual.error), ("cause", &actual.cause)] {
        if let Some(want) = expected.get(field) {
            let got = got.clone().map(Value::String).unwrap_or(Value::Null);
            text_or_json_matches(want, &got).map_err(|d| format!("{field}: {d}"))?;
        }
    }
    if let Some(history) = &case.expected_history {
        let mut got: Vec<Value> = actual.history.iter().map(normalise).collect();
        for e in &mut got {
            apply_transformers(&case.test_transformers, e);
        }
        check_history(history, &got)?;
    }
    Ok(())
}

fn text_or_json_matches(want: &Value, got: &Value) -> Result<(), String> {
    match (want, got) {
        (Value::String(w), Value::String(g)) if string_matches(w, g) => Ok(()),
        _ => matches(want, got),
    }
}

/// Sequence of event types and their details; ids and timestamps ignored.
/// Histories the recording reordered (ids written as `[0]`) compare as multisets.
fn check_history(expected: &[Value], actual: &[Value]) -> Result<(), String> {
    let strip = |e: &Value| -> Value {
        let mut e = normalise(e);
        if let Value::Object(m) = &mut e {
            m.remove("id");
            m.remove("previousEventId");
            m.remove("timestamp");
        }
        e
    };
    let want: Vec<Value> = expected.iter().map(strip).collect();
    let got: Vec<Value> = actual.iter().map(strip).collect();
    let types = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|e| {
                e.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            })
            .collect()
    };
    let reordered = expected
        .iter()
        .any(|e| e.get("id").is_some_and(Value::is_array));
    if reordered {
        // The recording's parallel transformer reordered the branch events
        // (ids written as `[0]`) and dropped some: every recorded event must
        // match a distinct one of ours, and the last recorded id gives the count.
        let last_id = expected
            .iter()
            .filter_map(|e| e.get("id").and_then(Value::as_u64))
            .max()
            .unwrap_or(0);
        if got.len() as u64 != last_id {
            return Err(format!(
                "history: expected {last_id} events, got {}: {:?}",
                got.len(),
                types(&got)
            ));
        }
        let mut remaining = got.clone();
        for w in &want {
            match remaining.iter().position(|g| matches(w, g).is_ok()) {
                Some(i) => {
                    remaining.swap_remove(i);
                }
                None => return Err(format!("history: no event matches {w}")),
            }
        }
        return Ok(());
    }
    let (wt, gt) = (types(&want), types(&got));
    if wt != gt {
        return Err(format!(
            "history types:\n  expected {wt:?}\n  got      {gt:?}"
        ));
    }
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        matches(w, g).map_err(|d| format!("history event {} ({}): {d}", i + 1, wt[i]))?;
    }
    Ok(())
}
