//! Map `ItemReader`: the items of a (distributed) Map read from a resource
//! (`arn:aws:states:::s3:getObject` for one object, `…:s3:listObjectsV2`
//! for the objects under a prefix) instead of the state input.
//!
//! The engine asks for the read as an ordinary [`crate::Command::InvokeTask`]
//! with the reader's `Resource` and evaluated `Parameters`/`Arguments`, but
//! records no task events (AWS shows none: the read belongs to the map run).
//! The answer may be the object's body as a string, an object with a `Body`
//! string (as the S3 API returns it), an object with `Contents` (a listing),
//! or the items themselves as an array. `ReaderConfig` says how to read the
//! body: `JSON` (an array), `JSONL` (one value a line) or `CSV` (rows as
//! objects, headers from the first row or `CSVHeaders`), and `MaxItems`
//! caps the count. A failed read or a body that does not parse is
//! `States.ItemReaderFailed`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::ast::StateKind;
use statecraft_types::errors::ITEM_READER_FAILED;
use statecraft_types::{EventType, Failure};

use crate::dataflow::shown;
use crate::dataflow::DataFlow;
use crate::exec::{Active, At, Flow, Frame, Run};
use crate::history;
use crate::machine::Node;
use crate::state::map::Settings;
use crate::{Command, TaskId, TaskRequest};

/// A Map state waiting for its items to be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub active: Active,
    pub effective: Value,
    pub task: TaskId,
    pub max_concurrency: usize,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    pub map_run_event: u64,
    pub config: Value,
    pub max_items: Option<usize>,
    pub listing: bool,
}

fn reader_failed(cause: impl Into<String>) -> Failure {
    Failure::new(ITEM_READER_FAILED, cause)
}

/// Splits one CSV record, honouring double quotes.
fn csv_fields(line: &str, delimiter: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Reads the items out of a body, as `config` says.
fn parse_body(body: &str, config: &Value) -> Result<Vec<Value>, Failure> {
    let input_type = config["InputType"].as_str().unwrap_or("JSON");
    match input_type {
        "JSON" => match serde_json::from_str::<Value>(body) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(other) => Err(reader_failed(format!(
                "Attempting to map over non-iterable node: the JSON is a {}",
                match other {
                    Value::Object(_) => "object",
                    _ => "scalar",
                }
            ))),
            Err(e) => Err(reader_failed(format!(
                "The JSON content could not be parsed: {e}"
            ))),
        },
        "JSONL" => body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| reader_failed(format!("A JSONL line could not be parsed: {e}")))
            })
            .collect(),
        "CSV" => {
            let delimiter = match config["CSVDelimiter"].as_str().unwrap_or("COMMA") {
                "PIPE" => '|',
                "SEMICOLON" => ';',
                "SPACE" => ' ',
                "TAB" => '\t',
                _ => ',',
            };
            let mut lines = body.lines().filter(|l| !l.is_empty());
            let headers: Vec<String> = match config["CSVHeaderLocation"].as_str() {
                Some("GIVEN") => config["CSVHeaders"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|h| h.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => lines
                    .next()
                    .map(|l| csv_fields(l, delimiter))
                    .unwrap_or_default(),
            };
            let mut seen = std::collections::HashSet::new();
            if headers.iter().any(|h| !seen.insert(h.as_str())) {
                return Err(reader_failed("CSV headers cannot contain duplicates."));
            }
            Ok(lines
                .map(|l| {
                    let fields = csv_fields(l, delimiter);
                    let mut row = Map::with_capacity(headers.len());
                    for (i, h) in headers.iter().enumerate() {
                        let v = fields.get(i).cloned().unwrap_or_default();
                        row.insert(h.clone(), Value::String(v));
                    }
                    Value::Object(row)
                })
                .collect())
        }
        other => Err(reader_failed(format!(
            "The ReaderConfig InputType '{other}' is not supported."
        ))),
    }
}

/// The items of a read's answer: the body as a string or in `Body`, a
/// listing's `Contents`, or the items themselves as an array.
pub(crate) fn items_of(
    answer: Value,
    config: &Value,
    listing: bool,
) -> Result<Vec<Value>, Failure> {
    Ok(match answer {
        Value::Array(items) => items,
        Value::String(body) => parse_body(&body, config)?,
        Value::Object(o) if listing => match o.get("Contents") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
        Value::Object(o) => match o.get("Body") {
            Some(Value::String(body)) => parse_body(body, config)?,
            Some(other) => parse_body(&other.to_string(), config)?,
            None => return Err(reader_failed("The read returned no Body.")),
        },
        other => {
            return Err(reader_failed(format!(
                "The read returned {} instead of items.",
                shown(&other)
            )))
        }
    })
}

impl Run<'_> {
    /// An ItemReader's evaluated `Parameters` (or `Arguments`) and its
    /// `MaxItems` (or resolved `MaxItemsPath`).
    pub(crate) fn reader_request(
        &self,
        f: &Frame,
        node: &Node,
        raw: &Value,
        active: &Active,
        effective: &Value,
    ) -> Result<(Value, Option<usize>), Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let s = self.stage(f, node, &active.input, ctx);
        let parameters = node
            .flow
            .resource_arguments(&s, raw, "ItemReader", effective)?;
        let env = s.env();
        let config = &raw["ReaderConfig"];
        let max_items = match (config.get("MaxItems"), config.get("MaxItemsPath")) {
            (Some(v), _) => Some(v.as_u64().ok_or_else(|| {
                Failure::runtime(format!(
                    "MaxItems must be a positive integer, but was {}",
                    shown(v)
                ))
            })? as usize),
            (None, Some(Value::String(p))) => {
                let path = statecraft_language::path::Path::parse(p).map_err(|e| {
                    Failure::runtime(format!("The MaxItemsPath field is invalid: {e}"))
                })?;
                let found = path.select(&env.scope(effective))?;
                let n = found.as_ref().and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                });
                Some(n.ok_or_else(|| {
                        Failure::runtime(format!(
                            "The MaxItemsPath field refers to value {} which is not a valid integer: {p}",
                            found.as_ref().map(shown).unwrap_or_else(|| "nothing".into())
                        ))
                    })? as usize)
            }
            _ => None,
        };
        Ok((parameters, max_items.filter(|n| *n > 0)))
    }

    /// The effective input of a Map state with an ItemReader (its items come
    /// later, from the read).
    pub(crate) fn reader_input(
        &self,
        f: &Frame,
        node: &Node,
        active: &Active,
    ) -> Result<(Value, Vec<Value>), Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let s = self.stage(f, node, &active.input, ctx);
        let eff = node
            .flow
            .effective(&s, &active.input)?
            .unwrap_or_else(|| active.input.clone());
        Ok((eff, Vec::new()))
    }

    /// Asks for the read and parks the Map state until it is answered.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_reader(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        raw: &Value,
        active: Active,
        effective: Value,
        settings: Settings,
        map_run_event: u64,
    ) -> Flow {
        let prepared = self.reader_request(f, node, raw, &active, &effective);
        let (parameters, max_items) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                return self.handle_failure(f, node, active, failure);
            }
        };
        let resource = raw["Resource"].as_str().unwrap_or_default().to_owned();
        let task = self.new_task(id);
        self.step.commands.push(Command::InvokeTask(TaskRequest {
            task,
            state_name: node.state.name.clone(),
            resource: resource.clone(),
            parameters,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
        }));
        f.at = At::MapReader(Box::new(Pending {
            active,
            effective,
            task,
            max_concurrency: settings.max_concurrency,
            tolerated_count: settings.tolerated_count,
            tolerated_percentage: settings.tolerated_percentage,
            map_run_event,
            config: raw["ReaderConfig"].clone(),
            max_items,
            listing: resource.ends_with("listObjectsV2"),
        }));
        Flow::Block
    }

    /// The read was answered (or failed): read the items and run the map.
    pub(crate) fn reader_finish(
        &mut self,
        f: &mut Frame,
        id: usize,
        p: Pending,
        outcome: Result<Value, Failure>,
    ) -> Flow {
        let Some(node) = self.node(f.graph, p.active.state) else {
            return Flow::Fail {
                failure: Failure::runtime("unknown state"),
                state: p.active.state,
                input: None,
            };
        };
        let StateKind::Map(m) = &node.state.kind else {
            return Flow::Fail {
                failure: Failure::runtime("not a Map state"),
                state: p.active.state,
                input: None,
            };
        };
        let items = outcome
            .map_err(|e| reader_failed(e.cause))
            .and_then(|answer| items_of(answer, &p.config, p.listing));
        match items {
            Ok(mut items) => {
                if let Some(n) = p.max_items {
                    items.truncate(n);
                }
                let settings = Settings {
                    max_concurrency: p.max_concurrency,
                    tolerated_count: p.tolerated_count,
                    tolerated_percentage: p.tolerated_percentage,
                };
                self.map_begin(
                    f,
                    id,
                    node,
                    m,
                    p.active,
                    p.effective,
                    items,
                    settings,
                    p.map_run_event,
                )
            }
            Err(failure) => {
                if m.mode == statecraft_language::ast::MapMode::Distributed {
                    let details = history::error_cause(&failure.error, &failure.cause);
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::MapRunFailed,
                        Some(details),
                        true,
                    );
                }
                f.at = At::Settle {
                    active: p.active,
                    outcome: Err(failure),
                };
                Flow::Continue
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_json_jsonl_and_csv() {
        assert_eq!(
            parse_body("[1, 2]", &json!({"InputType": "JSON"})).ok(),
            Some(vec![json!(1), json!(2)])
        );
        assert_eq!(
            parse_body("{\"a\":1}\n\n{\"a\":2}\n", &json!({"InputType": "JSONL"})).ok(),
            Some(vec![json!({"a": 1}), json!({"a": 2})])
        );
        assert_eq!(
            parse_body("A,B\n1,\"x,y\"\n2\n", &json!({"InputType": "CSV"})).ok(),
            Some(vec![
                json!({"A": "1", "B": "x,y"}),
                json!({"A": "2", "B": ""})
            ])
        );
        assert!(parse_body("A,A\n1,2", &json!({"InputType": "CSV"})).is_err());
        assert!(parse_body("{}", &json!({"InputType": "JSON"})).is_err());
    }
}
