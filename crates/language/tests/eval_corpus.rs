//! The recorded AWS corpus as a test of the evaluators: every self-contained
//! JSONPath case made only of Pass, Choice, Succeed and Fail states is run
//! through a miniature interpreter built on this crate's paths, templates,
//! intrinsic functions and Choice rules, and its output (or error and cause)
//! is compared with what AWS produced. That covers the 235 Choice-operator
//! cases and most intrinsic-function and path cases without the engine.
//!
//! The interpreter here is deliberately small (it is a test harness, not the
//! engine): InputPath → Parameters → Result → ResultPath → OutputPath, Assign,
//! Choice rules, and Fail with ErrorPath/CausePath.

use serde_json::{json, Map, Value};
use statecraft_language::ast::{ChoiceRule, Comparison, Operand};
use statecraft_language::path::{self, Path, ReferencePath};
use statecraft_language::template::{Expr, Template};
use statecraft_language::{choice, Failure, Host, Scope};

struct FixedHost;
impl Host for FixedHost {
    fn random(&self) -> f64 {
        0.5
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

fn comparison(name: &str) -> Option<Comparison> {
    use Comparison::*;
    Some(match name {
        "StringEquals" => StringEquals,
        "StringLessThan" => StringLessThan,
        "StringGreaterThan" => StringGreaterThan,
        "StringLessThanEquals" => StringLessThanEquals,
        "StringGreaterThanEquals" => StringGreaterThanEquals,
        "StringMatches" => StringMatches,
        "NumericEquals" => NumericEquals,
        "NumericLessThan" => NumericLessThan,
        "NumericGreaterThan" => NumericGreaterThan,
        "NumericLessThanEquals" => NumericLessThanEquals,
        "NumericGreaterThanEquals" => NumericGreaterThanEquals,
        "BooleanEquals" => BooleanEquals,
        "TimestampEquals" => TimestampEquals,
        "TimestampLessThan" => TimestampLessThan,
        "TimestampGreaterThan" => TimestampGreaterThan,
        "TimestampLessThanEquals" => TimestampLessThanEquals,
        "TimestampGreaterThanEquals" => TimestampGreaterThanEquals,
        "IsNull" => IsNull,
        "IsPresent" => IsPresent,
        "IsNumeric" => IsNumeric,
        "IsString" => IsString,
        "IsBoolean" => IsBoolean,
        "IsTimestamp" => IsTimestamp,
        _ => return None,
    })
}

/// Builds a Choice rule from its JSON (what the decoder does for the engine).
fn rule(v: &Value) -> Result<ChoiceRule, String> {
    if let Some(list) = v.get("And").and_then(Value::as_array) {
        return Ok(ChoiceRule::And(
            list.iter().map(rule).collect::<Result<_, _>>()?,
        ));
    }
    if let Some(list) = v.get("Or").and_then(Value::as_array) {
        return Ok(ChoiceRule::Or(
            list.iter().map(rule).collect::<Result<_, _>>()?,
        ));
    }
    if let Some(inner) = v.get("Not") {
        return Ok(ChoiceRule::Not(Box::new(rule(inner)?)));
    }
    let variable = v
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or("no Variable")?;
    let variable = Path::parse(variable).map_err(|e| e.to_string())?;
    let obj = v.as_object().ok_or("rule is not an object")?;
    for (k, val) in obj {
        if let Some(op) = comparison(k) {
            return Ok(ChoiceRule::Compare {
                variable,
                op,
                operand: Operand::Literal(val.clone()),
            });
        }
        if let Some(op) = k.strip_suffix("Path").and_then(comparison) {
            let p = val.as_str().ok_or("…Path operand is not a string")?;
            return Ok(ChoiceRule::Compare {
                variable,
                op,
                operand: Operand::Path(Path::parse(p).map_err(|e| e.to_string())?),
            });
        }
    }
    Err("no operator".into())
}

enum Outcome {
    Succeeded(Value),
    Failed(Failure),
}

struct Machine<'d> {
    states: &'d Map<String, Value>,
    start: &'d str,
}

fn nullable_path(
    state: &Value,
    key: &str,
    input: &Value,
    scope: &Scope<'_>,
) -> Result<Value, String> {
    match state.get(key) {
        None => Ok(input.clone()),
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => {
            let p = Path::parse(p).map_err(|e| e.to_string())?;
            let s = Scope { input, ..*scope };
            match p.select(&s).map_err(|f| f.to_string())? {
                Some(v) => Ok(v),
                None => Err(format!(
                    "FAIL\u{0}{}",
                    serde_json::to_string(&path::invalid_path_failure(&p, &s)).unwrap_or_default()
                )),
            }
        }
        Some(_) => Err("bad path field".into()),
    }
}

/// Runs the machine. `Err` for what the harness does not support.
fn run(m: &Machine<'_>, input: &Value) -> Result<Outcome, String> {
    let mut vars: Map<String, Value> = Map::new();
    let mut current = m.start.to_string();
    let mut data = input.clone();
    let mut event_id = 2u64;
    for _ in 0..1000 {
        let state = m.states.get(&current).ok_or("no such state")?;
        let context = json!({
            "Execution": {"Id": "arn:aws:states:us-east-1:111111111111:execution:sm:exec", "Input": input, "Name": "exec",
                          "RoleArn": "arn:aws:iam::111111111111:role/r", "StartTime": "2024-01-01T00:00:00.000Z", "RedriveCount": 0},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:sm", "Name": "sm"},
            "State": {"Name": current, "EnteredTime": "2024-01-01T00:00:00.000Z", "RetryCount": 0}
        });
        let host = FixedHost;
        let scope = Scope {
            input: &data,
            context: &context,
            variables: &vars,
            host: &host,
        };
        let fail =
            |f: Failure| Failure::new(f.error, path::state_cause(&current, event_id, &f.cause));
        macro_rules! tryf {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => {
                        let e: String = e;
                        if let Some(json) = e.strip_prefix("FAIL\u{0}") {
                            let f: Failure =
                                serde_json::from_str(json).map_err(|e| e.to_string())?;
                            return Ok(Outcome::Failed(fail(f)));
                        }
                        return Err(e);
                    }
                }
            };
        }
        macro_rules! tryfail {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(f) => return Ok(Outcome::Failed(fail(f))),
                }
            };
        }
        let ty = state.get("Type").and_then(Value::as_str).ok_or("no Type")?;
        let effective = tryf!(nullable_path(state, "InputPath", &data, &scope));
        let eff_scope = Scope {
            input: &effective,
            ..scope
        };
        let next: Option<String>;
        let mut assign: Option<(&Value, Value)> = None;
        let output;
        match ty {
            "Pass" => {
                let mut result = match state.get("Parameters") {
                    Some(t) => {
                        let t = Template::compile(t).map_err(|e| format!("{e:?}"))?;
                        tryfail!(t.evaluate(&eff_scope))
                    }
                    None => effective.clone(),
                };
                if let Some(r) = state.get("Result") {
                    result = r.clone();
                }
                if let Some(a) = state.get("Assign") {
                    assign = Some((a, result.clone()));
                }
                let placed = match state.get("ResultPath") {
                    None => result,
                    Some(Value::Null) => data.clone(),
                    Some(Value::String(p)) => {
                        let rp = ReferencePath::parse(p).map_err(|e| e.to_string())?;
                        tryfail!(rp.place(data.clone(), result))
                    }
                    Some(_) => return Err("bad ResultPath".into()),
                };
                output = tryf!(nullable_path(state, "OutputPath", &placed, &scope));
                next = state
                    .get("Next")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            "Choice" => {
                let mut chosen = None;
                for c in state
                    .get("Choices")
                    .and_then(Value::as_array)
                    .ok_or("no Choices")?
                {
                    let r = rule(c)?;
                    if tryfail!(choice::evaluate(&r, &eff_scope)) {
                        chosen = Some(c);
                        break;
                    }
                }
                match chosen {
                    Some(c) => {
                        next = c.get("Next").and_then(Value::as_str).map(str::to_string);
                        if let Some(a) = c.get("Assign") {
                            assign = Some((a, effective.clone()));
                        }
                    }
                    None => match state.get("Default").and_then(Value::as_str) {
                        Some(d) => next = Some(d.to_string()),
                        None => {
                            return Ok(Outcome::Failed(Failure::new(
                                "States.NoChoiceMatched",
                                "No Matches!",
                            )))
                        }
                    },
                }
                if let Some(a) = state.get("Assign") {
                    assign = Some((a, effective.clone()));
                }
                output = tryf!(nullable_path(state, "OutputPath", &effective, &scope));
            }
            "Succeed" => {
                output = tryf!(nullable_path(state, "OutputPath", &effective, &scope));
                next = None;
            }
            "Fail" => {
                let text =
                    |lit: &str, dynamic: &str| -> Result<Option<Result<String, Failure>>, String> {
                        if let Some(v) = state.get(lit).and_then(Value::as_str) {
                            return Ok(Some(Ok(v.to_string())));
                        }
                        let Some(src) = state.get(dynamic).and_then(Value::as_str) else {
                            return Ok(None);
                        };
                        let e = Expr::parse(src).map_err(|e| e.to_string())?;
                        Ok(Some(e.evaluate_field(&eff_scope, dynamic).map(
                            |v| match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            },
                        )))
                    };
                let error = match text("Error", "ErrorPath")? {
                    Some(Ok(s)) => s,
                    Some(Err(f)) => return Ok(Outcome::Failed(fail(f))),
                    None => String::new(),
                };
                let cause = match text("Cause", "CausePath")? {
                    Some(Ok(s)) => s,
                    Some(Err(f)) => return Ok(Outcome::Failed(fail(f))),
                    None => String::new(),
                };
                return Ok(Outcome::Failed(Failure::new(error, cause)));
            }
            other => {
                return Err(format!(
                    "state type {other} is not supported by the harness"
                ))
            }
        }
        if let Some((template, result)) = assign {
            let t = Template::compile(template).map_err(|e| format!("{e:?}"))?;
            let s = Scope {
                input: &result,
                ..scope
            };
            let assigned = tryfail!(t.evaluate(&s));
            if let Value::Object(o) = assigned {
                for (k, v) in o {
                    vars.insert(k, v);
                }
            }
        }
        data = output;
        event_id += 2;
        let end = state.get("End").and_then(Value::as_bool).unwrap_or(false);
        match next {
            Some(n) if !end => current = n,
            _ => return Ok(Outcome::Succeeded(data)),
        }
    }
    Err("too many transitions".into())
}

/// The corpus normalisation (README: "Comparing a result"). The recording
/// replaced MathRandom results with a marker; numbers match it.
fn normalise(v: &Value, random: bool) -> Value {
    match v {
        Value::Number(_) if random => json!("RandomNumberGenerated"),
        Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => normalise(&parsed, random),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, random)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if k.to_lowercase().contains("timestamp") {
                        json!("timestamp")
                    } else {
                        normalise(x, random)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn eligible(case: &Value) -> bool {
    let kind = case["kind"].as_str().unwrap_or("");
    // The payload size limit is the engine's to enforce.
    if case["expected"]["error"] == "States.DataLimitExceeded" {
        return false;
    }
    if !matches!(kind, "execution" | "execution_output_only")
        || case["self_contained"] != json!(true)
    {
        return false;
    }
    let text = case["definition_text"].as_str().unwrap_or("");
    if text.contains("JSONata") || text.contains("{%") {
        return false;
    }
    let Some(states) = case["definition"]["States"].as_object() else {
        return false;
    };
    states.values().all(|s| {
        matches!(
            s["Type"].as_str(),
            Some("Pass" | "Choice" | "Succeed" | "Fail")
        )
    })
}

/// Cases whose expected values depend on the recording environment
/// (placeholders such as `<ArnPart_0idx>`, random values) are run for
/// crashes but not compared.
fn comparable(case: &Value) -> bool {
    let expected = case["expected"].to_string();
    !expected.contains('<') && !expected.contains("LSFAKE")
}

#[test]
fn corpus_cases_evaluate_like_aws() {
    let (mut passed, mut failed, mut choice_cases, mut unsupported, mut skipped) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in statecraft_testdata::corpus() {
        if !eligible(&case) {
            continue;
        }
        let id = case["id"].as_str().unwrap_or("?").to_string();
        let Some(states) = case["definition"]["States"].as_object() else {
            continue;
        };
        let m = Machine {
            states,
            start: case["definition"]["StartAt"].as_str().unwrap_or(""),
        };
        let input = if case["input"].is_null() {
            json!({})
        } else {
            case["input"].clone()
        };
        let outcome = match run(&m, &input) {
            Ok(o) => o,
            Err(why) => {
                // An eligible case the harness cannot run is a failure, not
                // a case quietly left out of the comparison.
                unsupported += 1;
                failures.push(format!("{id}\n   unsupported by the harness: {why}"));
                continue;
            }
        };
        if !comparable(&case) {
            skipped += 1;
            continue;
        }
        if case["kind"] == "execution_output_only" {
            choice_cases += 1;
        }
        let expected = &case["expected"];
        let random = expected.to_string().contains("RandomNumberGenerated");
        let ok = match (&outcome, expected["status"].as_str()) {
            (Outcome::Succeeded(out), Some("SUCCEEDED")) => {
                normalise(out, random) == normalise(&expected["output"], random)
            }
            (Outcome::Failed(f), Some("FAILED")) => {
                expected["error"].as_str() == Some(f.error.as_str())
                    && expected["cause"].as_str().unwrap_or("") == f.cause
            }
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            failed += 1;
            let got = match outcome {
                Outcome::Succeeded(v) => format!("SUCCEEDED {v}"),
                Outcome::Failed(f) => format!("FAILED {} / {}", f.error, f.cause),
            };
            let short = |s: String| s.chars().take(400).collect::<String>();
            failures.push(format!(
                "{id}\n   expected {}\n   got      {}",
                short(expected.to_string()),
                short(got)
            ));
        }
    }
    eprintln!("corpus: {passed} passed, {failed} failed, {unsupported} unsupported by the harness, {skipped} run but not compared; {choice_cases} Choice-operator cases compared");
    assert!(
        failures.is_empty(),
        "{} corpus cases differ from AWS or cannot be run:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        choice_cases >= 235,
        "only {choice_cases} Choice-operator cases were compared"
    );
    assert!(passed > 300, "only {passed} cases were compared");
}
