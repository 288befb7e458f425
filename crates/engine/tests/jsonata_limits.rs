//! Every JSONata evaluation runs under the machine's `JsonataLimits`: a
//! non-terminating expression (tail recursion, nested `$reduce`) fails its
//! state with `States.QueryEvaluationError` naming the time limit, and
//! runaway non-tail recursion fails the same way at the depth limit, never
//! overflowing the thread's stack.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Response, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{JsonataLimits, Machine, Status, TaskRequest};

const T0: i64 = 1_700_000_000_000;

/// Runs `def` on a thread of its own with a small stack (256 KiB: deep
/// recursion must not need the native stack) and gives up loudly if the run
/// does not end within `patience`: a hang is a failure, not a stuck test.
fn run(
    def: Value,
    limits: Option<JsonataLimits>,
    patience: Duration,
) -> (driver::Outcome, Duration) {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let sm = statecraft_language::parse_value(&def).expect("definition parses");
            let mut m = Machine::new(sm).expect("definition prepares");
            if let Some(l) = limits {
                m.jsonata_limits = l;
            }
            let mut clock = VirtualClock { now_ms: T0 };
            let host = DeterministicHost::new(7);
            let options = driver::Options {
                context: driver::context_for("limits", T0),
                clock: &mut clock,
                host: &host,
                observer: None,
                max_events: Some(1_000),
                input_text: None,
            };
            let mut echo = |r: &TaskRequest| Response::Succeeded(r.parameters.clone());
            let started = Instant::now();
            let outcome = driver::run(&m, json!({"n": 3}), options, &mut echo);
            let _ = tx.send((outcome, started.elapsed()));
        })
        .expect("thread starts");
    rx.recv_timeout(patience)
        .expect("the execution ended (a JSONata evaluation ran past every limit)")
}

fn pass_with_output(expr: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}
    }})
}

const TAIL_RECURSION: &str = "($f := function($x){ $f($x) }; $f(1))";
const NESTED_REDUCE: &str =
    "$reduce([1..100000], function($a, $b){ $reduce([1..100000], function($c, $d){ $c + $d }) })";
const DEEP_RECURSION: &str = "($f := function($x){ 1 + $f($x + 1) }; $f(0))";

fn limits(time_ms: u64, depth: usize) -> Option<JsonataLimits> {
    Some(JsonataLimits {
        time: Duration::from_millis(time_ms),
        depth,
    })
}

#[test]
fn non_terminating_expressions_fail_at_the_time_limit() {
    for expr in [TAIL_RECURSION, NESTED_REDUCE] {
        let (o, took) = run(
            pass_with_output(expr),
            limits(200, 500),
            Duration::from_secs(120),
        );
        assert_eq!(o.status, Status::Failed, "{expr}");
        assert_eq!(
            o.error.as_deref(),
            Some("States.QueryEvaluationError"),
            "{expr}"
        );
        let cause = o.cause.unwrap_or_default();
        assert!(
            cause.contains(
                "specified for the field 'Output' exceeded the evaluation time limit of 200 ms"
            ),
            "{expr}: {cause}"
        );
        assert!(
            took >= Duration::from_millis(200),
            "{expr} stopped early: {took:?}"
        );
    }
}

#[test]
fn the_default_budget_is_one_second() {
    let sm = statecraft_language::parse_value(&pass_with_output("1")).expect("parses");
    let m = Machine::new(sm).expect("prepares");
    assert_eq!(m.jsonata_limits.time, Duration::from_secs(1));
    assert_eq!(m.jsonata_limits, JsonataLimits::default());
    let (o, _) = run(
        pass_with_output(TAIL_RECURSION),
        None,
        Duration::from_secs(120),
    );
    assert_eq!(o.error.as_deref(), Some("States.QueryEvaluationError"));
    let cause = o.cause.unwrap_or_default();
    assert!(
        cause.contains("evaluation time limit of 1000 ms"),
        "{cause}"
    );
}

#[test]
fn runaway_recursion_fails_at_the_depth_limit_without_overflowing_the_stack() {
    for depth in [50, 500, 5_000] {
        let (o, _) = run(
            pass_with_output(DEEP_RECURSION),
            limits(60_000, depth),
            Duration::from_secs(120),
        );
        assert_eq!(o.status, Status::Failed);
        assert_eq!(o.error.as_deref(), Some("States.QueryEvaluationError"));
        let cause = o.cause.unwrap_or_default();
        assert!(
            cause.contains(&format!("exceeded the evaluation depth limit of {depth}")),
            "{cause}"
        );
    }
    // Recursion within the limit still works.
    let (o, _) = run(
        pass_with_output("($f := function($x){ $x = 0 ? 0 : 1 + $f($x - 1) }; $f(40))"),
        limits(60_000, 500),
        Duration::from_secs(120),
    );
    assert_eq!(o.status, Status::Succeeded, "{:?}", o.cause);
    assert_eq!(o.output, Some(json!(40)));
}

/// The limit fails the state like any other evaluation error: a Task's
/// Catch can take it, and the state after it runs.
#[test]
fn a_timed_out_evaluation_is_caught_like_any_query_error() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"x": format!("{{% {TAIL_RECURSION} %}}")},
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
            "End": true
        },
        "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": true}
    }});
    let (o, _) = run(def, limits(100, 500), Duration::from_secs(120));
    assert_eq!(o.status, Status::Succeeded, "{:?}", o.cause);
    assert_eq!(o.output, Some(json!("States.QueryEvaluationError")));
}
