//! Execution history events in the wire shape of AWS Step Functions'
//! `GetExecutionHistory`: an id, the id of the event it follows, a timestamp,
//! a type, and one `*EventDetails` object whose field name depends on the type.
//!
//! The details are kept as JSON objects (already in AWS's field names) rather
//! than one Rust struct per event type: the engine builds them once, the store
//! persists them as they are and the server serves them unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

macro_rules! event_types {
    ($($name:ident => $details:expr,)*) => {
        /// Every `HistoryEventType` of the Step Functions API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $($name,)* }

        impl EventType {
            /// The wire name, e.g. `"PassStateEntered"`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name),)* }
            }
            /// The `HistoryEvent` member that carries this type's details, if any.
            pub fn details_key(self) -> Option<&'static str> {
                match self { $(EventType::$name => $details,)* }
            }
            /// Parses a wire name.
            pub fn parse(name: &str) -> Option<EventType> {
                match name { $(stringify!($name) => Some(EventType::$name),)* _ => None }
            }
            /// All event types.
            pub const ALL: &'static [EventType] = &[$(EventType::$name,)*];
        }
    };
}

event_types! {
ActivityFailed => Some("activityFailedEventDetails"),
ActivityScheduled => Some("activityScheduledEventDetails"),
ActivityScheduleFailed => Some("activityScheduleFailedEventDetails"),
ActivityStarted => Some("activityStartedEventDetails"),
ActivitySucceeded => Some("activitySucceededEventDetails"),
ActivityTimedOut => Some("activityTimedOutEventDetails"),
ChoiceStateEntered => Some("stateEnteredEventDetails"),
ChoiceStateExited => Some("stateExitedEventDetails"),
ExecutionAborted => Some("executionAbortedEventDetails"),
ExecutionFailed => Some("executionFailedEventDetails"),
ExecutionStarted => Some("executionStartedEventDetails"),
ExecutionSucceeded => Some("executionSucceededEventDetails"),
ExecutionTimedOut => Some("executionTimedOutEventDetails"),
FailStateEntered => Some("stateEnteredEventDetails"),
LambdaFunctionFailed => Some("lambdaFunctionFailedEventDetails"),
LambdaFunctionScheduled => Some("lambdaFunctionScheduledEventDetails"),
LambdaFunctionScheduleFailed => Some("lambdaFunctionScheduleFailedEventDetails"),
LambdaFunctionStarted => None,
LambdaFunctionStartFailed => Some("lambdaFunctionStartFailedEventDetails"),
LambdaFunctionSucceeded => Some("lambdaFunctionSucceededEventDetails"),
LambdaFunctionTimedOut => Some("lambdaFunctionTimedOutEventDetails"),
MapIterationAborted => Some("mapIterationAbortedEventDetails"),
MapIterationFailed => Some("mapIterationFailedEventDetails"),
MapIterationStarted => Some("mapIterationStartedEventDetails"),
MapIterationSucceeded => Some("mapIterationSucceededEventDetails"),
MapStateAborted => None,
MapStateEntered => Some("stateEnteredEventDetails"),
MapStateExited => Some("stateExitedEventDetails"),
MapStateFailed => None,
MapStateStarted => Some("mapStateStartedEventDetails"),
MapStateSucceeded => None,
ParallelStateAborted => None,
ParallelStateEntered => Some("stateEnteredEventDetails"),
ParallelStateExited => Some("stateExitedEventDetails"),
ParallelStateFailed => None,
ParallelStateStarted => None,
ParallelStateSucceeded => None,
PassStateEntered => Some("stateEnteredEventDetails"),
PassStateExited => Some("stateExitedEventDetails"),
SucceedStateEntered => Some("stateEnteredEventDetails"),
SucceedStateExited => Some("stateExitedEventDetails"),
TaskFailed => Some("taskFailedEventDetails"),
TaskScheduled => Some("taskScheduledEventDetails"),
TaskStarted => Some("taskStartedEventDetails"),
TaskStartFailed => Some("taskStartFailedEventDetails"),
TaskStateAborted => None,
TaskStateEntered => Some("stateEnteredEventDetails"),
TaskStateExited => Some("stateExitedEventDetails"),
TaskSubmitFailed => Some("taskSubmitFailedEventDetails"),
TaskSubmitted => Some("taskSubmittedEventDetails"),
TaskSucceeded => Some("taskSucceededEventDetails"),
TaskTimedOut => Some("taskTimedOutEventDetails"),
WaitStateAborted => None,
WaitStateEntered => Some("stateEnteredEventDetails"),
WaitStateExited => Some("stateExitedEventDetails"),
MapRunAborted => None,
MapRunFailed => Some("mapRunFailedEventDetails"),
MapRunStarted => Some("mapRunStartedEventDetails"),
MapRunSucceeded => None,
ExecutionRedriven => Some("executionRedrivenEventDetails"),
MapRunRedriven => Some("mapRunRedrivenEventDetails"),
EvaluationFailed => Some("evaluationFailedEventDetails"),
// Statecraft's own: an operator paused or resumed the execution
// (`Statecraft.PauseExecution`, `Statecraft.ResumeExecution`, or a pause on
// failure). AWS clients see an event type they do not know, as they would a
// type AWS adds later.
ExecutionPaused => Some("executionPausedEventDetails"),
ExecutionResumed => Some("executionResumedEventDetails"),}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based, dense and increasing within an execution.
    pub id: u64,
    /// The id of the event this one follows causally (0 for none).
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub event_type: EventType,
    /// The `*EventDetails` object, in AWS's field names; `None` for types without details.
    pub details: Option<Map<String, Value>>,
}

impl HistoryEvent {
    /// The event as the `HistoryEvent` shape of the API. `timestamp` is written as
    /// epoch seconds (a JSON number), as the AWS JSON 1.0 protocol encodes timestamps.
    pub fn to_wire(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            serde_json::Number::from_f64(self.timestamp_ms as f64 / 1000.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        m.insert(
            "type".into(),
            Value::String(self.event_type.as_str().into()),
        );
        m.insert("id".into(), Value::from(self.id));
        m.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let (Some(key), Some(details)) = (self.event_type.details_key(), &self.details) {
            m.insert(key.into(), Value::Object(details.clone()));
        }
        Value::Object(m)
    }

    /// Reads an event back from its wire shape (as written by [`HistoryEvent::to_wire`]).
    pub fn from_wire(v: &Value) -> Option<HistoryEvent> {
        let event_type = EventType::parse(v.get("type")?.as_str()?)?;
        let details = event_type
            .details_key()
            .and_then(|k| v.get(k))
            .and_then(|d| d.as_object().cloned());
        Some(HistoryEvent {
            id: v.get("id")?.as_u64()?,
            previous_event_id: v
                .get("previousEventId")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            timestamp_ms: v
                .get("timestamp")
                .and_then(Value::as_f64)
                .map(|s| (s * 1000.0).round() as i64)
                .unwrap_or(0),
            event_type,
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_by_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::ALL.len(), 64);
    }

    #[test]
    fn wire_shape_uses_the_details_key_of_the_type() {
        let mut d = Map::new();
        d.insert("name".into(), Value::from("A"));
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp_ms: 1_500,
            event_type: EventType::PassStateEntered,
            details: Some(d),
        };
        let w = e.to_wire();
        assert_eq!(w["stateEnteredEventDetails"]["name"], "A");
        assert_eq!(w["timestamp"], 1.5);
        assert_eq!(HistoryEvent::from_wire(&w), Some(e));
    }
}
