//! TestState against the conformance corpus recorded from AWS
//! (`tests/data/stepfunctions/corpus.jsonl`, kinds `test_state` and
//! `test_state_error`): status, output, error and next state are compared
//! for every case.
//!
//! Not every case passes yet (mock-schema validation per service and
//! Map-specific inspection data are not implemented); the test pins the
//! number that does, so a regression fails and an improvement is noticed.

mod common;

use serde_json::{json, Map, Value};

/// Cases that pass today. FIXME: raise as TestState learns more.
const EXPECTED_PASSING: usize = 117;
/// Of the passing cases with DEBUG/TRACE inspection data, how many match it
/// member for member.
const EXPECTED_INSPECTION_MATCHING: usize = 55;

/// Inspection data with its JSON-text members parsed, as the corpus keeps
/// them.
fn inspection(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let parsed = v
                        .as_str()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_else(|| v.clone());
                    (k.clone(), parsed)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn corpus() -> Vec<Value> {
    statecraft_testdata::corpus_of_kind(&["test_state", "test_state_error"])
}

fn parse_json_string(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_state_matches_aws_recordings() {
    let cases = corpus();
    let srv = common::TestServer::start().await;
    let service = srv.service.clone();
    let mut passed = 0;
    let mut inspected = (0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        // `test_state` cases keep the request in `test_state_request`,
        // `test_state_error` ones in `request`.
        let mut req = match (&case["test_state_request"], &case["request"]) {
            (Value::Object(m), _) | (_, Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        req.insert("definition".into(), case["definition_text"].clone());
        if let Some(i) = case["input_text"].as_str() {
            req.entry("input").or_insert_with(|| Value::from(i));
        }
        req.entry("roleArn")
            .or_insert_with(|| json!("arn:aws:iam::123456789012:role/test"));
        let body = Value::Object(req).to_string();
        let got = service.call("TestState", body.as_bytes()).await;
        let want = &case["expected"];
        let ok = match (&got, want.get("accepted")) {
            (Err(e), Some(Value::Bool(false))) => want["error"] == e.type_name(),
            (Ok(out), None) => {
                out["status"] == want["status"]
                    && (want.get("output").is_none()
                        || parse_json_string(&out["output"]) == want["output"])
                    && out.get("error") == want.get("error")
                    && out.get("nextState") == want.get("nextState")
            }
            _ => false,
        };
        if ok {
            passed += 1;
            if let (Ok(out), Some(want_data)) = (&got, want.get("inspectionData")) {
                inspected.1 += 1;
                if inspection(&out["inspectionData"]) == inspection(want_data) {
                    inspected.0 += 1;
                } else {
                    failures.push(format!(
                        "{} (inspection data)\n  want {}\n  got  {}",
                        case["id"],
                        inspection(want_data),
                        inspection(&out["inspectionData"])
                    ));
                }
            }
        } else {
            failures.push(format!(
                "{}\n  want {}\n  got  {}",
                case["id"],
                want,
                match &got {
                    Ok(v) => v.to_string(),
                    Err(e) => e.body().to_string(),
                }
            ));
        }
    }
    eprintln!(
        "TestState corpus: {passed} of {} cases match AWS",
        cases.len()
    );
    eprintln!(
        "TestState corpus: inspection data matches in {} of {} passing cases that have it",
        inspected.0, inspected.1
    );
    for f in failures.iter().take(10) {
        eprintln!("{f}");
    }
    assert!(
        passed >= EXPECTED_PASSING,
        "TestState regressed: {passed} of {} cases pass, expected at least {EXPECTED_PASSING}",
        cases.len()
    );
    assert!(
        inspected.0 >= EXPECTED_INSPECTION_MATCHING,
        "TestState inspection data regressed: {} match, expected at least {EXPECTED_INSPECTION_MATCHING}",
        inspected.0
    );
    srv.stop().await;
}
