//! The `--mock` file of `statecraft run`: responses by Task state name,
//! consumed in order (across retries and Map iterations), the last one
//! repeating. The format is in the README.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;
use statecraft_engine::driver::Response;
use statecraft_engine::TaskRequest;
use statecraft_language::ast::{StateKind, StateMachine};
use statecraft_types::Failure;

use super::Unusable;

/// Mock responses by state name.
#[derive(Default)]
pub struct Mocks {
    /// Where they were read from, for messages.
    origin: String,
    by_state: HashMap<String, Vec<Response>>,
    used: HashMap<String, usize>,
}

impl Mocks {
    pub fn load(path: &Path) -> Result<Mocks, Unusable> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Unusable(format!("cannot read the mock file {shown}: {e}")))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            Unusable(format!(
                "the mock file {shown} is not a JSON object of state names: {e}"
            ))
        })?;
        Mocks::from_value(doc, &shown.to_string())
    }

    /// Mocks from an already parsed document (a `statecraft test` case's
    /// `mocks`); `shown` names it in errors.
    pub fn from_value(doc: Value, shown: &str) -> Result<Mocks, Unusable> {
        let doc: BTreeMap<String, Value> = match doc {
            Value::Object(m) => m.into_iter().collect(),
            _ => {
                return Err(Unusable(format!(
                    "{shown}: mocks must be an object of state names, each a list of responses"
                )))
            }
        };
        let mut by_state = HashMap::new();
        for (state, responses) in doc {
            let list = match responses {
                Value::Array(list) if !list.is_empty() => list,
                _ => {
                    return Err(Unusable(format!(
                        "{shown}: /{state} must be a non-empty array of responses ({{\"Return\": …}} or {{\"Throw\": {{\"Error\": …, \"Cause\": …}}}})"
                    )))
                }
            };
            let parsed = list
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    parse_response(r)
                        .map_err(|why| Unusable(format!("{shown}: /{state}/{i}: {why}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            by_state.insert(state, parsed);
        }
        Ok(Mocks {
            origin: shown.to_string(),
            by_state,
            used: HashMap::new(),
        })
    }

    /// The keys that can never be used: names that are not Task states of
    /// `definition` (a typo, or a state renamed since), one message each.
    pub fn unused_keys(&self, definition: &StateMachine) -> Vec<String> {
        let mut kinds = HashMap::new();
        state_kinds(definition, &mut kinds);
        let mut tasks: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| **k == "Task")
            .map(|(n, _)| n.as_str())
            .collect();
        tasks.sort_unstable();
        let mut keys: Vec<&String> = self.by_state.keys().collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|key| match kinds.get(key.as_str()) {
                Some(&"Task") => None,
                Some(kind) => Some(format!(
                    "{}: {key:?} is a {kind} state: only Task states are answered from mocks",
                    self.origin
                )),
                None => Some(format!(
                    "{}: {key:?} is not a state of the definition, so its responses are never used (its Task states: {})",
                    self.origin,
                    if tasks.is_empty() {
                        "none".to_owned()
                    } else {
                        tasks.join(", ")
                    }
                )),
            })
            .collect()
    }

    /// The next mocked response of the request's state, if it has mocks.
    pub fn answer(&mut self, req: &TaskRequest) -> Option<Response> {
        let responses = self.by_state.get(&req.state_name)?;
        let n = self.used.entry(req.state_name.clone()).or_insert(0);
        let response = responses.get((*n).min(responses.len().saturating_sub(1)))?;
        *n += 1;
        Some(response.clone())
    }
}

fn state_kinds(machine: &StateMachine, out: &mut HashMap<String, &'static str>) {
    for state in &machine.states {
        out.insert(state.name.clone(), state.kind.type_name());
        match &state.kind {
            StateKind::Parallel(p) => p.branches.iter().for_each(|b| state_kinds(b, out)),
            StateKind::Map(m) => state_kinds(&m.processor, out),
            _ => {}
        }
    }
}

fn parse_response(v: &Value) -> Result<Response, String> {
    let obj = v
        .as_object()
        .ok_or("a response must be an object with \"Return\" or \"Throw\"")?;
    match (obj.get("Return"), obj.get("Throw")) {
        (Some(value), None) => Ok(Response::Succeeded(value.clone())),
        (None, Some(Value::Object(t))) => {
            let error = t
                .get("Error")
                .and_then(Value::as_str)
                .ok_or("\"Throw\" needs a string \"Error\"")?;
            let cause = t.get("Cause").and_then(Value::as_str).unwrap_or("");
            Ok(Response::Failed(Failure::new(error, cause)))
        }
        (None, Some(_)) => Err("\"Throw\" must be an object with \"Error\" and \"Cause\"".into()),
        _ => Err("a response has exactly one of \"Return\" or \"Throw\"".into()),
    }
}
