//! AWS's per-state-machine `loggingConfiguration` applied to our own log:
//! which execution history events are also written as log lines.
//!
//! - `ALL`: every event; `ERROR`: events that report a failure, a timeout
//!   or an abort; `FATAL`: only the execution's own failure, timeout or
//!   abort; `OFF` (the default): none.
//! - `includeExecutionData`: whether the event's input, output, parameters
//!   and results go into the line (they may hold personal data, so AWS
//!   leaves them out unless asked, and so do we).
//!
//! Each line carries the execution ARN as the `execution_arn` field.

use serde_json::{Map, Value};
use statecraft_types::{EventType, HistoryEvent};

/// The `level` of a `loggingConfiguration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    All,
    Error,
    Fatal,
    #[default]
    Off,
}

/// A state machine's `loggingConfiguration`, as far as our log is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Config {
    pub level: Level,
    pub include_execution_data: bool,
}

/// Members of `*EventDetails` that carry execution data.
const DATA_MEMBERS: &[&str] = &["input", "output", "parameters", "result", "payload"];

impl Config {
    /// Reads the `loggingConfiguration` object as the API shows it. Missing
    /// or unrecognised members mean "log nothing".
    pub fn from_api(value: Option<&Value>) -> Config {
        let Some(obj) = value.and_then(Value::as_object) else {
            return Config::default();
        };
        let level = match obj.get("level").and_then(Value::as_str) {
            Some("ALL") => Level::All,
            Some("ERROR") => Level::Error,
            Some("FATAL") => Level::Fatal,
            _ => Level::Off,
        };
        Config {
            level,
            include_execution_data: obj
                .get("includeExecutionData")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// Whether an event of this type is logged at this level.
    pub fn logs(&self, t: EventType) -> bool {
        match self.level {
            Level::Off => false,
            Level::All => true,
            Level::Error => is_error(t),
            Level::Fatal => matches!(
                t,
                EventType::ExecutionFailed
                    | EventType::ExecutionTimedOut
                    | EventType::ExecutionAborted
            ),
        }
    }

    /// The details of an event as they go into the log: without the
    /// execution data members unless `includeExecutionData`.
    pub fn details(&self, event: &HistoryEvent) -> Value {
        let Some(details) = &event.details else {
            return Value::Null;
        };
        if self.include_execution_data {
            return Value::Object(details.clone());
        }
        let kept: Map<String, Value> = details
            .iter()
            .filter(|(k, _)| !DATA_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(kept)
    }
}

fn is_error(t: EventType) -> bool {
    let name = t.as_str();
    name.ends_with("Failed") || name.ends_with("TimedOut") || name.ends_with("Aborted")
}

/// Writes the events `config` selects as `INFO` lines (`ERROR` for the
/// execution's own failure) under the `statecraft::execution` target.
pub fn log_events(config: Config, execution_arn: &str, events: &[HistoryEvent]) {
    if config.level == Level::Off {
        return;
    }
    for e in events.iter().filter(|e| config.logs(e.event_type)) {
        let details = config.details(e);
        let fatal = matches!(
            e.event_type,
            EventType::ExecutionFailed | EventType::ExecutionTimedOut | EventType::ExecutionAborted
        );
        if fatal {
            tracing::error!(
                target: "statecraft::execution",
                execution_arn,
                event_id = e.id,
                event_type = e.event_type.as_str(),
                details = %details,
                "execution event"
            );
        } else {
            tracing::info!(
                target: "statecraft::execution",
                execution_arn,
                event_id = e.id,
                event_type = e.event_type.as_str(),
                details = %details,
                "execution event"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_select_events() {
        use EventType::*;
        let cases = [
            (json!({"level": "ALL"}), PassStateEntered, true),
            (json!({"level": "ALL"}), ExecutionSucceeded, true),
            (json!({"level": "ERROR"}), PassStateEntered, false),
            (json!({"level": "ERROR"}), TaskFailed, true),
            (json!({"level": "ERROR"}), ExecutionTimedOut, true),
            (json!({"level": "FATAL"}), TaskFailed, false),
            (json!({"level": "FATAL"}), ExecutionFailed, true),
            (json!({"level": "FATAL"}), ExecutionAborted, true),
            (json!({"level": "OFF"}), ExecutionFailed, false),
            (json!({}), ExecutionFailed, false),
            (json!("nonsense"), ExecutionFailed, false),
        ];
        for (cfg, t, logged) in cases {
            assert_eq!(
                Config::from_api(Some(&cfg)).logs(t),
                logged,
                "{cfg} {}",
                t.as_str()
            );
        }
        assert!(!Config::from_api(None).logs(ExecutionFailed));
    }

    #[test]
    fn execution_data_only_when_asked() {
        let event = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_ms: 0,
            event_type: EventType::ExecutionStarted,
            details: json!({"input": "{\"secret\":1}", "roleArn": "r"})
                .as_object()
                .cloned(),
        };
        let without = Config::from_api(Some(&json!({"level": "ALL"})));
        assert_eq!(without.details(&event), json!({"roleArn": "r"}));
        let with = Config::from_api(Some(&json!({"level": "ALL", "includeExecutionData": true})));
        assert_eq!(
            with.details(&event),
            json!({"input": "{\"secret\":1}", "roleArn": "r"})
        );
    }
}
