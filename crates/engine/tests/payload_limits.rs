//! The engine's data limits (`Limits::payload_bytes`, `variables_bytes`,
//! `map_inline_items`): AWS's values by default, exactly at the edge (a
//! payload of 262,144 bytes passes, 262,145 fails with
//! `States.DataLimitExceeded`), and what an operator raised really passes.

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Response, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{Limits, Machine, Status, TaskRequest};

const T0: i64 = 1_700_000_000_000;
const AWS: usize = 262_144;

fn run(def: &Value, input: Value, limits: Limits) -> driver::Outcome {
    let sm = statecraft_language::parse_value(def).expect("definition parses");
    let mut m = Machine::new(sm).expect("definition prepares");
    m.limits = limits;
    let mut clock = VirtualClock { now_ms: T0 };
    let host = DeterministicHost::new(3);
    let options = driver::Options {
        context: driver::context_for("t", T0),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(10_000),
        input_text: None,
    };
    // A task answers with a string as long as its `n` parameter says.
    let mut answer = |r: &TaskRequest| {
        let n = r.parameters["n"].as_u64().unwrap_or(0) as usize;
        Response::Succeeded(Value::String("r".repeat(n)))
    };
    driver::run(&m, input, options, &mut answer)
}

/// A JSON string whose text (with its quotes) is `bytes` long.
fn text_of(bytes: usize) -> Value {
    Value::String("x".repeat(bytes - 2))
}

fn raised(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

#[test]
fn the_defaults_are_aws_quotas() {
    let l = Limits::default();
    assert_eq!(l.history_events, 25_000);
    assert_eq!(l.payload_bytes, 262_144);
    assert_eq!(l.variables_bytes, 262_144);
    assert_eq!(l.map_inline_items, None);
}

#[test]
fn each_limit_refuses_one_byte_more_by_default_and_passes_when_raised() {
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let task = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"n.$": "$.n"}, "End": true}}});
    let assign = json!({"StartAt": "A", "States": {"A": {"Type": "Pass",
        "Assign": {"blob.$": "$"}, "End": true}}});
    let map = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let items = |n: usize| Value::Array((0..n).map(|i| json!(i)).collect());
    let big = raised(|l| {
        l.payload_bytes = 1 << 20;
        l.variables_bytes = 1 << 20;
    });
    // (what, definition, input, limits, passes)
    let cases: Vec<(&str, &Value, Value, Limits, bool)> = vec![
        (
            "state output at the limit",
            &pass,
            text_of(AWS),
            Limits::default(),
            true,
        ),
        (
            "state output one byte over",
            &pass,
            text_of(AWS + 1),
            Limits::default(),
            false,
        ),
        ("state output, raised", &pass, text_of(AWS + 1), big, true),
        (
            "state output over a raised limit",
            &pass,
            text_of((1 << 20) + 1),
            big,
            false,
        ),
        // The task's result is its output: `"r…r"`, two quotes added.
        (
            "task result at the limit",
            &task,
            json!({"n": AWS - 2}),
            Limits::default(),
            true,
        ),
        (
            "task result one byte over",
            &task,
            json!({"n": AWS - 1}),
            Limits::default(),
            false,
        ),
        (
            "task result, raised",
            &task,
            json!({"n": AWS - 1}),
            big,
            true,
        ),
        (
            "variable at the limit",
            &assign,
            text_of(AWS),
            Limits::default(),
            true,
        ),
        (
            "variable one byte over",
            &assign,
            text_of(AWS + 1),
            raised(|l| l.payload_bytes = 1 << 20),
            false,
        ),
        ("variable, raised", &assign, text_of(AWS + 1), big, true),
        (
            "inline Map, no item cap (AWS)",
            &map,
            items(500),
            Limits::default(),
            true,
        ),
        (
            "inline Map at its cap",
            &map,
            items(5),
            raised(|l| l.map_inline_items = Some(5)),
            true,
        ),
        (
            "inline Map over its cap",
            &map,
            items(6),
            raised(|l| l.map_inline_items = Some(5)),
            false,
        ),
    ];
    for (what, def, input, limits, passes) in cases {
        let o = run(def, input, limits);
        if passes {
            assert_eq!(
                o.status,
                Status::Succeeded,
                "{what}: {:?} {:?}",
                o.error,
                o.cause
            );
        } else {
            assert_eq!(o.status, Status::Failed, "{what}");
            assert_eq!(
                o.error.as_deref(),
                Some("States.DataLimitExceeded"),
                "{what}"
            );
            assert!(
                !o.cause.as_deref().unwrap_or("").is_empty(),
                "{what}: no cause"
            );
        }
    }
}

#[test]
fn an_inline_map_over_its_cap_names_the_state_and_the_cap() {
    let map = json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let o = run(
        &map,
        json!([1, 2, 3]),
        raised(|l| l.map_inline_items = Some(2)),
    );
    assert_eq!(
        o.cause.as_deref(),
        Some("The Map state 'Fan' has 3 items, more than the limit of 2 items of an inline Map.")
    );
}
