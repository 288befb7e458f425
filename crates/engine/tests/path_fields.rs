//! The `…Path` forms of a Map's numeric fields (MaxConcurrencyPath,
//! ToleratedFailureCountPath, ToleratedFailurePercentagePath) against values
//! of every JSON type: AWS's rule, not a list of recorded texts. A value of
//! the wrong type fails the execution with `States.Runtime` and a cause that
//! names the expected Java type ("integer" or "float") and quotes the value
//! between double quotes whatever its type; an out-of-range number has its
//! own sentence per field; a number written as a string is accepted.

use serde_json::{json, Value};
use statecraft_engine::driver::{self, VirtualClock};
use statecraft_engine::host::DeterministicHost;
use statecraft_engine::{Machine, Status};

const T0: i64 = 1_700_000_000_000;

fn run(field: &str, value: Value) -> driver::Outcome {
    let def = json!({
        "StartAt": "MapState",
        "States": {"MapState": {
            "Type": "Map",
            "ItemsPath": "$.Items",
            format!("{field}Path"): format!("$.{field}"),
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true
        }}
    });
    let sm = statecraft_language::parse_value(&def).expect("definition parses");
    let m = Machine::new(sm).expect("definition prepares");
    let mut clock = VirtualClock { now_ms: T0 };
    let host = DeterministicHost::new(1);
    let options = driver::Options {
        context: driver::context_for("paths", T0),
        clock: &mut clock,
        host: &host,
        observer: None,
        max_events: Some(1_000),
        input_text: None,
    };
    let mut input = json!({"Items": [0]});
    input[field] = value;
    driver::run(&m, input, options, &mut driver::echo)
}

const PREFIX: &str =
    "An error occurred while executing the state 'MapState' (entered at the event id #2). ";

#[test]
fn wrong_types_and_ranges_fail_with_aws_causes() {
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        // MaxConcurrency: an integer, not negative.
        ("MaxConcurrency", json!(0), None),
        ("MaxConcurrency", json!(1), None),
        ("MaxConcurrency", json!("2"), None),
        (
            "MaxConcurrency",
            json!("NoNumber"),
            Some(
                r#"The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid integer: $.MaxConcurrency"#,
            ),
        ),
        (
            "MaxConcurrency",
            json!({}),
            Some(
                r#"The MaxConcurrencyPath field refers to value "{}" which is not a valid integer: $.MaxConcurrency"#,
            ),
        ),
        (
            "MaxConcurrency",
            json!([1]),
            Some(
                r#"The MaxConcurrencyPath field refers to value "[1]" which is not a valid integer: $.MaxConcurrency"#,
            ),
        ),
        (
            "MaxConcurrency",
            json!(true),
            Some(
                r#"The MaxConcurrencyPath field refers to value "true" which is not a valid integer: $.MaxConcurrency"#,
            ),
        ),
        (
            "MaxConcurrency",
            json!(1.5),
            Some(
                r#"The MaxConcurrencyPath field refers to value "1.5" which is not a valid integer: $.MaxConcurrency"#,
            ),
        ),
        (
            "MaxConcurrency",
            json!(-1),
            Some("Expected non-negative integer for MaxConcurrency, got '-1' instead."),
        ),
        // ToleratedFailureCount: an integer, not negative.
        ("ToleratedFailureCount", json!(0), None),
        ("ToleratedFailureCount", json!(1), None),
        (
            "ToleratedFailureCount",
            json!("NoNumber"),
            Some(
                r#"The ToleratedFailureCountPath field refers to value "NoNumber" which is not a valid integer: $.ToleratedFailureCount"#,
            ),
        ),
        (
            "ToleratedFailureCount",
            json!({}),
            Some(
                r#"The ToleratedFailureCountPath field refers to value "{}" which is not a valid integer: $.ToleratedFailureCount"#,
            ),
        ),
        (
            "ToleratedFailureCount",
            json!(-1),
            Some("ToleratedFailureCount cannot be negative."),
        ),
        // ToleratedFailurePercentage: a float between 0 and 100.
        ("ToleratedFailurePercentage", json!(0), None),
        ("ToleratedFailurePercentage", json!(1.1), None),
        ("ToleratedFailurePercentage", json!(100), None),
        (
            "ToleratedFailurePercentage",
            json!("NoNumber"),
            Some(
                r#"The ToleratedFailurePercentagePath field refers to value "NoNumber" which is not a valid float: $.ToleratedFailurePercentage"#,
            ),
        ),
        (
            "ToleratedFailurePercentage",
            json!({}),
            Some(
                r#"The ToleratedFailurePercentagePath field refers to value "{}" which is not a valid float: $.ToleratedFailurePercentage"#,
            ),
        ),
        (
            "ToleratedFailurePercentage",
            json!(null),
            Some(
                r#"The ToleratedFailurePercentagePath field refers to value "null" which is not a valid float: $.ToleratedFailurePercentage"#,
            ),
        ),
        (
            "ToleratedFailurePercentage",
            json!(-1.1),
            Some("ToleratedFailurePercentage must be between 0 and 100."),
        ),
        (
            "ToleratedFailurePercentage",
            json!(100.1),
            Some("ToleratedFailurePercentage must be between 0 and 100."),
        ),
    ];
    let mut wrong = Vec::new();
    for (field, value, expected) in cases {
        let o = run(field, value.clone());
        let got = match expected {
            None if o.status == Status::Succeeded => continue,
            None => format!("{:?} {:?} {:?}", o.status, o.error, o.cause),
            Some(text) => {
                let want = format!("{PREFIX}{text}");
                if o.status == Status::Failed
                    && o.error.as_deref() == Some("States.Runtime")
                    && o.cause.as_deref() == Some(want.as_str())
                {
                    continue;
                }
                format!(
                    "{:?} {:?} {:?}\n    expected States.Runtime {want:?}",
                    o.status, o.error, o.cause
                )
            }
        };
        wrong.push(format!("{field} = {value}: {got}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
