//! Property tests: no text and no JSON value makes parsing or validation
//! panic. Definitions come from users, so every input must end in either a
//! machine or diagnostics.

use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON values, biased towards the shapes of a definition so that
/// the decoder gets past the first checks.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("StartAt".to_string()),
        Just("States".to_string()),
        Just("Type".to_string()),
        Just("Next".to_string()),
        Just("End".to_string()),
        Just("Choices".to_string()),
        Just("Variable".to_string()),
        Just("Branches".to_string()),
        Just("ItemProcessor".to_string()),
        Just("Retry".to_string()),
        Just("Catch".to_string()),
        Just("ErrorEquals".to_string()),
        Just("QueryLanguage".to_string()),
        Just("Seconds".to_string()),
        Just("Parameters".to_string()),
        Just("Assign".to_string()),
        "[A-Za-z.$]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("Pass".to_string()),
            Just("Task".to_string()),
            Just("Choice".to_string()),
            Just("Wait".to_string()),
            Just("Succeed".to_string()),
            Just("Fail".to_string()),
            Just("Parallel".to_string()),
            Just("Map".to_string()),
            Just("JSONata".to_string()),
            Just("$.a".to_string()),
            Just("{% $x %}".to_string()),
            Just("States.ALL".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = statecraft_language::validate(&text);
        let _ = statecraft_language::parse(&text);
    }

    #[test]
    fn arbitrary_json_like_text_never_panics(text in r#"[{}\[\]:,"a-zA-Z0-9 \n\-.$%&*!|>#']{0,120}"#) {
        let _ = statecraft_language::validate(&text);
    }

    #[test]
    fn arbitrary_values_never_panic(value in arb_json()) {
        let _ = statecraft_language::parse_value(&value);
        let text = serde_json::to_string(&value).expect("serialisable");
        let _ = statecraft_language::validate(&text);
    }

    #[test]
    fn arbitrary_machines_never_panic(states in prop::collection::vec(("[A-C]", arb_json()), 0..4), start in "[A-C]") {
        let states: serde_json::Map<String, Value> = states.into_iter().collect();
        let machine = json!({"StartAt": start, "States": states});
        let _ = statecraft_language::parse_value(&machine);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let _ = statecraft_language::validate(&format!("{{\"a\": {deep}}}"));
    let yaml = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let _ = statecraft_language::validate(&yaml);
    let mut rule = json!({"Variable": "$.a", "IsNull": true});
    for _ in 0..200 {
        rule = json!({ "Not": rule });
    }
    rule["Next"] = json!("S");
    let machine = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule]},
        "S": {"Type": "Succeed"}}});
    let errs = statecraft_language::parse_value(&machine).expect_err("too deep");
    assert!(errs.iter().any(|d| d.code == "TOO_DEEPLY_NESTED"));
}

#[test]
fn yaml_alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let diagnostics = statecraft_language::validate(&text);
    assert!(diagnostics
        .iter()
        .any(|d| d.code == "INVALID_YAML_DESCRIPTION"));
}
