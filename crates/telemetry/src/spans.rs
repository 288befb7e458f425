//! The span model of executions, built from committed history events: an
//! execution is one trace with a root span, each state entered is a child
//! span (closed when the state exits, or when the execution ends), and a
//! Retrier's next attempt or a task failure is an event on its state's span.
//!
//! Span ids are derived from the execution ARN and the id of the
//! `*StateEntered` event (see [`crate::trace`]), so they are the same on
//! every node and after a restart; a state entered before a restart keeps
//! its id but its span is not exported (its start was not seen).
//!
//! Recording is off until an exporter turns it on ([`enable`]): without
//! one, nothing is kept and the hooks return at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

use statecraft_types::{EventType, HistoryEvent};

use crate::trace::TraceContext;

/// Finished spans waiting for the exporter beyond this many are dropped
/// (oldest first): a collector that is down must not grow memory forever.
const MAX_QUEUED: usize = 20_000;

/// A span event: a retry or a failure inside a state.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub time_ms: i64,
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

/// A finished span, ready to export.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// `None` for the execution's root span.
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub attributes: Vec<(String, String)>,
    pub events: Vec<SpanEvent>,
    /// The error, for spans that ended in one.
    pub error: Option<String>,
}

/// One execution's spans still open.
#[derive(Default)]
struct Open {
    root_start_ms: Option<i64>,
    /// Open state spans by state name (the latest entry of each name).
    states: HashMap<String, Span>,
    /// The state entered last: where a retry without a state name goes.
    last_entered: Option<String>,
}

#[derive(Default)]
struct Tracker {
    executions: HashMap<String, Open>,
    finished: Vec<Span>,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static TRACKER: LazyLock<Mutex<Tracker>> = LazyLock::new(Mutex::default);

fn tracker() -> std::sync::MutexGuard<'static, Tracker> {
    match TRACKER.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Turns span recording on (an exporter is running).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether spans are recorded.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The span of a state entered by event `entered_event_id`.
pub fn state_span_id(execution_arn: &str, entered_event_id: u64) -> [u8; 8] {
    TraceContext::child(execution_arn, &format!("state-{entered_event_id}")).span_id
}

/// The `traceparent` for a task of state `state_name`: its state's span
/// when that span is open here, else the execution's root span (after a
/// restart, or with recording off), so the callee is in the trace either way.
pub fn task_traceparent(execution_arn: &str, state_name: &str) -> String {
    let mut context = TraceContext::execution(execution_arn);
    if enabled() {
        if let Some(span) = tracker()
            .executions
            .get(execution_arn)
            .and_then(|o| o.states.get(state_name))
        {
            context.span_id = span.span_id;
        }
    }
    context.traceparent()
}

/// Takes the finished spans (for the exporter).
pub fn drain() -> Vec<Span> {
    std::mem::take(&mut tracker().finished)
}

fn detail(e: &HistoryEvent, key: &str) -> Option<String> {
    e.details
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Feeds the events of one committed transition to the span model.
pub fn record(execution_arn: &str, events: &[HistoryEvent]) {
    if !enabled() || events.is_empty() {
        return;
    }
    let root = TraceContext::execution(execution_arn);
    let mut guard = tracker();
    let t = &mut *guard;
    let mut previous: Option<EventType> = None;
    for e in events {
        let name = e.event_type.as_str();
        let open = t.executions.entry(execution_arn.to_string()).or_default();
        match e.event_type {
            EventType::ExecutionStarted => open.root_start_ms = Some(e.timestamp_ms),
            EventType::ExecutionSucceeded
            | EventType::ExecutionFailed
            | EventType::ExecutionTimedOut
            | EventType::ExecutionAborted => {
                let error = (e.event_type != EventType::ExecutionSucceeded)
                    .then(|| detail(e, "error").unwrap_or_else(|| name.to_string()));
                let open = t.executions.remove(execution_arn).unwrap_or_default();
                for (_, mut span) in open.states {
                    span.end_ms = e.timestamp_ms;
                    if span.error.is_none() {
                        span.error = error.clone();
                    }
                    t.finished.push(span);
                }
                t.finished.push(Span {
                    trace_id: root.trace_id,
                    span_id: root.span_id,
                    parent_span_id: None,
                    name: machine_name(execution_arn),
                    start_ms: open.root_start_ms.unwrap_or(e.timestamp_ms),
                    end_ms: e.timestamp_ms,
                    attributes: vec![
                        ("execution.arn".into(), execution_arn.into()),
                        ("execution.status".into(), status_of(e.event_type).into()),
                    ],
                    events: Vec::new(),
                    error,
                });
            }
            _ if name.ends_with("StateEntered") => {
                let state = detail(e, "name").unwrap_or_default();
                let span = Span {
                    trace_id: root.trace_id,
                    span_id: state_span_id(execution_arn, e.id),
                    parent_span_id: Some(root.span_id),
                    name: state.clone(),
                    start_ms: e.timestamp_ms,
                    end_ms: e.timestamp_ms,
                    attributes: vec![
                        ("execution.arn".into(), execution_arn.into()),
                        (
                            "state.type".into(),
                            name.trim_end_matches("StateEntered").into(),
                        ),
                    ],
                    events: Vec::new(),
                    error: None,
                };
                open.last_entered = Some(state.clone());
                open.states.insert(state, span);
            }
            _ if name.ends_with("StateExited") => {
                let state = detail(e, "name").unwrap_or_default();
                if let Some(mut span) = open.states.remove(&state) {
                    span.end_ms = e.timestamp_ms;
                    t.finished.push(span);
                }
            }
            _ => {
                let retry = name.ends_with("Scheduled")
                    && !previous.is_some_and(|p| p.as_str().ends_with("StateEntered"));
                let failure = name.ends_with("Failed") || name.ends_with("TimedOut");
                if retry || failure {
                    let target = open.last_entered.clone().unwrap_or_default();
                    if let Some(span) = open.states.get_mut(&target) {
                        let mut attributes = Vec::new();
                        for key in ["error", "cause", "resource"] {
                            if let Some(v) = detail(e, key) {
                                attributes.push((key.to_string(), v));
                            }
                        }
                        if failure {
                            span.error = detail(e, "error").or_else(|| Some(name.to_string()));
                        } else {
                            // A retry means the failure before it was handled.
                            span.error = None;
                        }
                        span.events.push(SpanEvent {
                            time_ms: e.timestamp_ms,
                            name: if retry { "retry".into() } else { name.into() },
                            attributes,
                        });
                    }
                }
            }
        }
        previous = Some(e.event_type);
    }
    if t.finished.len() > MAX_QUEUED {
        let excess = t.finished.len() - MAX_QUEUED;
        t.finished.drain(..excess);
    }
}

fn status_of(t: EventType) -> &'static str {
    match t {
        EventType::ExecutionSucceeded => "SUCCEEDED",
        EventType::ExecutionFailed => "FAILED",
        EventType::ExecutionTimedOut => "TIMED_OUT",
        _ => "ABORTED",
    }
}

/// The root span's name: the state machine's name.
fn machine_name(execution_arn: &str) -> String {
    execution_arn
        .split(':')
        .nth(6)
        .map(|m| m.split('/').next().unwrap_or(m).to_string())
        .unwrap_or_else(|| "execution".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: u64, t: EventType, details: serde_json::Value) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp_ms: 1_000 + i64::try_from(id).unwrap_or(0),
            event_type: t,
            details: details.as_object().cloned(),
        }
    }

    #[test]
    fn an_execution_becomes_a_span_tree_with_retries_as_events() {
        enable();
        let arn = "arn:aws:states:us-east-1:1:execution:SpanTree:run";
        record(
            arn,
            &[
                event(1, EventType::ExecutionStarted, json!({})),
                event(2, EventType::TaskStateEntered, json!({"name": "Call"})),
                event(
                    3,
                    EventType::TaskScheduled,
                    json!({"resource": "http:invoke"}),
                ),
            ],
        );
        let tp = task_traceparent(arn, "Call");
        let ctx = TraceContext::parse(&tp).unwrap();
        assert_eq!(ctx.span_id, state_span_id(arn, 2));
        record(
            arn,
            &[
                event(4, EventType::TaskFailed, json!({"error": "Boom"})),
                event(
                    5,
                    EventType::TaskScheduled,
                    json!({"resource": "http:invoke"}),
                ),
            ],
        );
        record(
            arn,
            &[
                event(6, EventType::TaskSucceeded, json!({})),
                event(7, EventType::TaskStateExited, json!({"name": "Call"})),
                event(8, EventType::ExecutionSucceeded, json!({})),
            ],
        );
        let spans: Vec<Span> = drain()
            .into_iter()
            .filter(|s| s.trace_id == ctx.trace_id)
            .collect();
        assert_eq!(spans.len(), 2, "{spans:?}");
        let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
        let call = spans.iter().find(|s| s.name == "Call").unwrap();
        assert_eq!(root.name, "SpanTree");
        assert_eq!((root.start_ms, root.end_ms), (1_001, 1_008));
        assert_eq!(root.error, None);
        assert_eq!(call.parent_span_id, Some(root.span_id));
        assert_eq!((call.start_ms, call.end_ms), (1_002, 1_007));
        let names: Vec<&str> = call.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["TaskFailed", "retry"]);
        assert_eq!(call.error, None);
        // Finished executions leave nothing behind.
        assert_eq!(
            TraceContext::parse(&task_traceparent(arn, "Call")).map(|c| c.span_id),
            Some(TraceContext::execution(arn).span_id)
        );
    }
}
