//! Building history events as AWS records them: the `*EventDetails` objects
//! with AWS's field names, and the `previousEventId` bookkeeping.
//!
//! AWS writes payloads inside details (`input`, `output`, `parameters`,
//! `assignedVariables` values) as JSON *text*, not nested JSON (see
//! `StateEnteredEventDetails` in the API model: `input` is a `SensitiveData`
//! string). Each payload is serialised exactly once, here.
//!
//! `previousEventId` follows a frame discipline: every frame of execution (the
//! top level, a Parallel branch, a Map worker and iteration) carries a
//! [`Cursor`]; an event points at the cursor's `source`, and most events then
//! become the new source. A child frame starts from its parent's source and,
//! when it closes, the parent takes the maximum of both (see
//! [`Cursor::integrate`]). This reproduces the ids AWS records for nested and
//! concurrent work.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_types::{EventType, HistoryEvent};

/// Where a frame's next event points (`source`) and the last event it wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub source: u64,
    pub last: u64,
}

impl Cursor {
    /// A child frame's cursor: it continues from this frame's source.
    pub fn child(&self) -> Cursor {
        Cursor {
            source: self.source,
            last: self.source,
        }
    }

    /// Folds a closed child frame back into this one.
    pub fn integrate(&mut self, other: &Cursor) {
        self.source = self.source.max(other.source);
        self.last = self.last.max(other.last);
    }
}

/// Appends events with dense ids to a step.
pub struct Recorder<'a> {
    pub last_id: &'a mut u64,
    pub events: &'a mut Vec<HistoryEvent>,
    pub now_ms: i64,
}

impl Recorder<'_> {
    /// Records an event on `cursor`; `advance` says whether it becomes the
    /// cursor's source (AWS does not advance for e.g. `MapIterationSucceeded`).
    pub fn emit(
        &mut self,
        cursor: &mut Cursor,
        event_type: EventType,
        details: Option<Map<String, Value>>,
        advance: bool,
    ) -> u64 {
        let id = *self.last_id + 1;
        *self.last_id = id;
        self.events.push(HistoryEvent {
            id,
            previous_event_id: cursor.source,
            timestamp_ms: self.now_ms,
            event_type,
            details,
        });
        cursor.last = id;
        if advance {
            cursor.source = id;
        }
        id
    }
}

/// An upper bound of the length of a value's JSON text (every string
/// character escaped as `\uXXXX`, numbers at their longest), cheap to
/// compute: callers that only need "is it under the limit" skip the exact
/// count when this bound already is.
pub fn text_len_bound(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 32,
        Value::String(s) => s.len() * 6 + 2,
        Value::Array(a) => 2 + a.iter().map(|v| text_len_bound(v) + 1).sum::<usize>(),
        Value::Object(o) => {
            2 + o
                .iter()
                .map(|(k, v)| k.len() * 6 + 4 + text_len_bound(v))
                .sum::<usize>()
        }
    }
}

/// The length of a value's JSON text, without building it.
pub fn text_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// JSON text of a value, as AWS writes payloads into details.
pub fn text(v: &Value) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned()))
}

/// `{"truncated": false}` (in every payload-carrying event).
pub(crate) fn not_truncated() -> Value {
    let mut m = Map::with_capacity(1);
    m.insert("truncated".into(), Value::Bool(false));
    Value::Object(m)
}

/// `{name, input, inputDetails}` of `*StateEntered`.
pub fn state_entered(name: &str, input: &Value) -> Map<String, Value> {
    state_entered_text(name, text(input))
}

/// [`state_entered`] with the input already as JSON text.
pub fn state_entered_text(name: &str, input: Value) -> Map<String, Value> {
    let mut m = Map::with_capacity(3);
    m.insert("name".into(), Value::String(name.to_owned()));
    m.insert("input".into(), input);
    m.insert("inputDetails".into(), not_truncated());
    m
}

/// `{name, output, outputDetails, assignedVariables?, assignedVariablesDetails?}` of `*StateExited`.
pub fn state_exited(
    name: &str,
    output: &Value,
    assigned: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    state_exited_text(name, text(output), assigned)
}

/// [`state_exited`] with the output already as JSON text.
pub fn state_exited_text(
    name: &str,
    output: Value,
    assigned: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut m = Map::with_capacity(5);
    m.insert("name".into(), Value::String(name.to_owned()));
    m.insert("output".into(), output);
    m.insert("outputDetails".into(), not_truncated());
    if let Some(vars) = assigned {
        let mut a = Map::with_capacity(vars.len());
        for (k, v) in vars {
            a.insert(k.clone(), text(v));
        }
        m.insert("assignedVariables".into(), Value::Object(a));
        m.insert("assignedVariablesDetails".into(), not_truncated());
    }
    m
}

/// `{input, inputDetails, roleArn}` of `ExecutionStarted`.
pub fn execution_started(input: &Value, role_arn: &str) -> Map<String, Value> {
    let mut m = Map::with_capacity(3);
    m.insert("input".into(), text(input));
    m.insert("inputDetails".into(), not_truncated());
    m.insert("roleArn".into(), Value::String(role_arn.to_owned()));
    m
}

/// `{output, outputDetails}` (ExecutionSucceeded, LambdaFunctionSucceeded, ActivitySucceeded).
pub fn output(output: &Value) -> Map<String, Value> {
    output_text(text(output))
}

/// [`output`] with the output already as JSON text.
pub fn output_text(output: Value) -> Map<String, Value> {
    let mut m = Map::with_capacity(2);
    m.insert("output".into(), output);
    m.insert("outputDetails".into(), not_truncated());
    m
}

/// `{error?, cause?}`: AWS omits a field that is absent (here: empty).
pub fn error_cause(error: &str, cause: &str) -> Map<String, Value> {
    let mut m = Map::with_capacity(2);
    if !error.is_empty() {
        m.insert("error".into(), Value::String(error.to_owned()));
    }
    if !cause.is_empty() {
        m.insert("cause".into(), Value::String(cause.to_owned()));
    }
    m
}

/// The error output a catcher passes on: `{"Error", "Cause"}`, with
/// `null` for a part the failure does not have (as AWS records it).
pub fn error_output(failure: &statecraft_types::Failure) -> Value {
    let part = |s: &str| {
        if s.is_empty() {
            Value::Null
        } else {
            Value::String(s.to_owned())
        }
    };
    let mut m = Map::with_capacity(2);
    m.insert("Error".into(), part(&failure.error));
    m.insert("Cause".into(), part(&failure.cause));
    Value::Object(m)
}

/// `{name, index}` of the `MapIteration*` events.
pub fn map_iteration(name: &str, index: usize) -> Map<String, Value> {
    let mut m = Map::with_capacity(2);
    m.insert("name".into(), Value::String(name.to_owned()));
    m.insert("index".into(), Value::from(index));
    m
}

/// A single-field details object.
pub fn one(key: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_owned(), value);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_text() {
        let d = state_entered("A", &serde_json::json!({"a": [1, 2]}));
        assert_eq!(d["input"], Value::String("{\"a\":[1,2]}".into()));
    }

    #[test]
    fn cursor_discipline() {
        let mut events = Vec::new();
        let mut last = 0;
        let mut rec = Recorder {
            last_id: &mut last,
            events: &mut events,
            now_ms: 0,
        };
        let mut top = Cursor::default();
        rec.emit(&mut top, EventType::ExecutionStarted, None, false);
        rec.emit(&mut top, EventType::MapStateEntered, None, true);
        let mut child = top.child();
        rec.emit(&mut child, EventType::PassStateEntered, None, true);
        rec.emit(&mut child, EventType::MapIterationSucceeded, None, false);
        top.integrate(&child);
        rec.emit(&mut top, EventType::MapStateExited, None, true);
        let prev: Vec<u64> = events.iter().map(|e| e.previous_event_id).collect();
        assert_eq!(prev, vec![0, 0, 2, 3, 3]);
    }
}
