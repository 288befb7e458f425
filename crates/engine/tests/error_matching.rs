//! Retry and Catch `ErrorEquals` matching through whole executions: each
//! row raises one error in one type of state (a Task's own failure, or a
//! Parallel branch's / Map iteration's failure surfacing as the Parallel's
//! or Map's) and checks that a Catch and a Retry listing one name take it,
//! or do not. The rules themselves are in `retry.rs` (and its unit table).

use std::cell::Cell;

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Response, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{Machine, Status, TaskRequest};
use statecraft_types::Failure;

const T0: i64 = 1_700_000_000_000;

/// How the Task state (or the Task inside the branch / iteration) fails.
#[derive(Clone, Copy, Debug)]
enum Raise {
    /// The task answers with this error.
    Error(&'static str),
    /// The task never answers; `TimeoutSeconds` lapses.
    Timeout,
    /// The task never answers; `HeartbeatSeconds` lapses.
    Heartbeat,
    /// The task succeeds, then the state's JSONata `Output` fails.
    QueryError,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Task,
    Parallel,
    Map,
}

fn task(raise: Raise) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    match raise {
        Raise::Timeout => t["TimeoutSeconds"] = json!(5),
        Raise::Heartbeat => {
            t["TimeoutSeconds"] = json!(50);
            t["HeartbeatSeconds"] = json!(2);
        }
        Raise::QueryError => {
            t["QueryLanguage"] = json!("JSONata");
            t["Output"] = json!("{% $error('the output fails') %}");
        }
        Raise::Error(_) => {}
    }
    t
}

/// A machine whose start state `S` of `kind` fails as `raise` says, with
/// `rule` (`"Catch"` or `"Retry"`) listing `name`.
fn definition(kind: Kind, raise: Raise, rule: &str, name: &str) -> Value {
    let mut s = match kind {
        Kind::Task => task(raise),
        Kind::Parallel => json!({"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "T", "States": {"T": task(raise)}}]}),
        Kind::Map => json!({"Type": "Map", "End": true, "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T", "States": {"T": task(raise)}}}),
    };
    let mut states = json!({});
    if rule == "Catch" {
        s["Catch"] = json!([{"ErrorEquals": [name], "Next": "Caught"}]);
        states["Caught"] = json!({"Type": "Pass", "Result": "caught", "End": true});
    } else {
        s["Retry"] = json!([{"ErrorEquals": [name], "IntervalSeconds": 1, "MaxAttempts": 1}]);
    }
    states["S"] = s;
    json!({"StartAt": "S", "States": states})
}

/// Runs the machine; returns the outcome and how many times the task ran.
fn run(def: Value, raise: Raise) -> (driver::Outcome, u32) {
    let sm = statecraft_language::parse_value(&def).expect("definition parses");
    let m = Machine::new(sm).expect("definition prepares");
    let mut clock = VirtualClock { now_ms: T0 };
    let host = DeterministicHost::new(5);
    let options = driver::Options {
        context: driver::context_for("matching", T0),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(1_000),
        input_text: None,
    };
    let calls = Cell::new(0u32);
    let mut handler = |r: &TaskRequest| {
        calls.set(calls.get() + 1);
        match raise {
            Raise::Error(e) => Response::Failed(Failure::new(e, "it failed")),
            Raise::Timeout | Raise::Heartbeat => Response::NoResponse,
            Raise::QueryError => Response::Succeeded(r.parameters.clone()),
        }
    };
    let o = driver::run(&m, json!({"items": [1]}), options, &mut handler);
    (o, calls.get())
}

#[test]
fn error_equals_through_executions() {
    use Kind::{Map, Parallel, Task};
    use Raise::{Error, Heartbeat, QueryError, Timeout};
    #[rustfmt::skip]
    let table: &[(Kind, Raise, &str, bool)] = &[
        // A Task's own failures: States.TaskFailed takes all but States.Timeout.
        (Task, Error("Custom.Error"), "States.TaskFailed", true),
        (Task, Error("Lambda.ResourceNotFoundException"), "States.TaskFailed", true),
        (Task, Error("States.TaskFailed"), "States.TaskFailed", true),
        (Task, Error("States.Permissions"), "States.TaskFailed", true),
        (Task, Error("States.DataLimitExceeded"), "States.TaskFailed", true),
        (Task, QueryError, "States.TaskFailed", true),
        (Task, Timeout, "States.TaskFailed", false),
        (Task, Heartbeat, "States.TaskFailed", false),
        (Task, Error("Custom.Error"), "Custom.Error", true),
        (Task, Error("Custom.Error"), "Other.Error", false),
        (Task, Error("Custom.Error"), "States.ALL", true),
        (Task, Error("States.DataLimitExceeded"), "States.ALL", true),
        (Task, Error("States.DataLimitExceeded"), "States.DataLimitExceeded", true),
        (Task, QueryError, "States.QueryEvaluationError", true),
        (Task, Timeout, "States.Timeout", true),
        (Task, Timeout, "States.ALL", true),
        (Task, Timeout, "States.HeartbeatTimeout", false),
        (Task, Heartbeat, "States.Timeout", true),
        (Task, Heartbeat, "States.HeartbeatTimeout", true),
        (Task, Heartbeat, "States.ALL", true),
        (Task, Error("Custom.Error"), "States.HeartbeatTimeout", false),
        // A branch's or iteration's failure is the Parallel's or Map's:
        // matched by its name and States.ALL, not by the TaskFailed wildcard.
        (Parallel, Error("Custom.Error"), "Custom.Error", true),
        (Parallel, Error("Custom.Error"), "States.ALL", true),
        (Parallel, Error("Custom.Error"), "States.TaskFailed", false),
        (Parallel, Error("States.TaskFailed"), "States.TaskFailed", true),
        (Parallel, Timeout, "States.Timeout", true),
        (Parallel, Heartbeat, "States.HeartbeatTimeout", true),
        (Map, Error("Custom.Error"), "Custom.Error", true),
        (Map, Error("Custom.Error"), "States.ALL", true),
        (Map, Error("Custom.Error"), "States.TaskFailed", false),
        (Map, Error("States.TaskFailed"), "States.TaskFailed", true),
    ];
    for &(kind, raise, name, expected) in table {
        let row = format!("{raise:?} in a {kind:?} state against [{name}]");
        let (caught, _) = run(definition(kind, raise, "Catch", name), raise);
        if expected {
            assert_eq!(
                caught.status,
                Status::Succeeded,
                "{row}: {:?}",
                caught.error
            );
            assert_eq!(caught.output, Some(json!("caught")), "{row}");
        } else {
            assert_eq!(caught.status, Status::Failed, "{row}: caught");
        }
        let (retried, calls) = run(definition(kind, raise, "Retry", name), raise);
        assert_eq!(retried.status, Status::Failed, "{row}");
        assert_eq!(calls, if expected { 2 } else { 1 }, "{row}: task runs");
    }
}

/// States.Runtime is neither retried nor caught, even by its own name.
#[test]
fn runtime_errors_match_nothing() {
    for name in ["States.ALL", "States.TaskFailed", "States.Runtime"] {
        let def = json!({"StartAt": "S", "States": {
            "S": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "InputPath": "$.missing",
                  "Catch": [{"ErrorEquals": [name], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }});
        let (o, calls) = run(def, Raise::Error("never"));
        assert_eq!(o.status, Status::Failed, "[{name}]");
        assert_eq!(o.error.as_deref(), Some("States.Runtime"), "[{name}]");
        assert_eq!(calls, 0);
    }
}
