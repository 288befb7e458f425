//! Unit tests for the public API and selected language features.

use super::*;
use serde_json::json;

fn ev(src: &str, input: serde_json::Value) -> Result<Option<serde_json::Value>, Error> {
    Expression::parse(src)?.evaluate(Some(&input), &Environment::new())
}

#[test]
fn workflow_expressions() {
    let mut env = Environment::new();
    env.bind(
        "states",
        json!({"input": {"order": {"qty": 21}, "items": [1, 2, 3]}}),
    );
    let e = Expression::parse("$states.input.order.qty * 2").unwrap();
    assert_eq!(e.evaluate(None, &env).unwrap(), Some(json!(42)));
    let e =
        Expression::parse(r#"{"a": $states.input.order.qty, "n": $count($states.input.items)}"#)
            .unwrap();
    assert_eq!(
        e.evaluate(None, &env).unwrap(),
        Some(json!({"a": 21, "n": 3}))
    );
}

#[test]
fn undefined_result() {
    assert_eq!(ev("nothing", json!({})).unwrap(), None);
}

#[test]
fn format_number_exponent() {
    assert_eq!(
        ev(r##"$formatNumber(0.234, "#.00e0")"##, json!(null)).unwrap(),
        Some(json!("0.23e0"))
    );
}

#[test]
fn deep_nesting_is_an_error() {
    let src = "(".repeat(10_000) + &")".repeat(10_000);
    let err = Expression::parse(&src).unwrap_err();
    assert_eq!(err.code, "U1001");
    let src = "[".repeat(10_000) + &"]".repeat(10_000);
    assert!(Expression::parse(&src).is_err());
}

#[test]
fn runaway_recursion_is_an_error() {
    let e = Expression::parse("($f := function($n){ $n + $f($n + 1) }; $f(0))").unwrap();
    let err = e.evaluate(None, &Environment::new()).unwrap_err();
    assert_eq!(err.code, "U1001");
}

#[test]
fn infinite_loop_times_out() {
    let e = Expression::parse("($f := function($n){ $f($n + 1) }; $f(0))").unwrap();
    let env = Environment::new().with_limits(1000, Some(std::time::Duration::from_millis(100)));
    let err = e.evaluate(None, &env).unwrap_err();
    assert_eq!(err.code, "U1001");
}

#[test]
fn expression_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Expression>();
    check::<Environment>();
}
