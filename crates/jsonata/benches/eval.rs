//! Parse and evaluation cost of typical workflow expressions.
//! Run with `cargo bench -p statecraft-jsonata`; prints ns per operation.

use std::hint::black_box;
use std::time::Instant;

use serde_json::json;
use statecraft_jsonata::{Environment, Expression, Input};

fn time<F: FnMut()>(iters: u32, mut f: F) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

fn big_object() -> serde_json::Value {
    let mut big = serde_json::Map::new();
    for i in 0..2000 {
        big.insert(format!("k{i}"), json!({"v": i, "s": "some text value"}));
    }
    serde_json::Value::Object(big)
}

fn main() {
    let items: Vec<serde_json::Value> = (0..100)
        .map(|i| json!({"sku": format!("S{i}"), "price": i as f64 * 1.5, "qty": i % 7}))
        .collect();
    let big = big_object();
    let mut env = Environment::new();
    env.bind(
        "states",
        json!({
            "input": {"order": {"qty": 21, "id": "o-1"}, "items": items, "big": big},
            "context": {"Execution": {"Id": "exec-1"}}
        }),
    );
    let small_input = json!({"order": {"qty": 21}, "name": "x"});
    let cases: &[(&str, &str)] = &[
        ("field arithmetic", "$states.input.order.qty * 2"),
        ("object constructor", r#"{"a": $states.input.order.id, "n": $count($states.input.items)}"#),
        ("filter + sum", "$sum($states.input.items[qty > 3].price)"),
        ("map lambda", "$map($states.input.items, function($v){ $v.price * $v.qty })"),
        ("string functions", "$uppercase($substring($states.context.Execution.Id, 0, 4)) & '-' & $string($states.input.order.qty)"),
        ("conditional", "$states.input.order.qty > 10 ? 'big' : 'small'"),
        ("lookup in large input", "$states.input.big.k1999.v"),
    ];
    // BENCH_ONLY=<substring of a name> runs a single case (for profiling)
    let only = std::env::var("BENCH_ONLY").ok();
    let iters: u32 = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    println!("{:<26} {:>12} {:>12}", "expression", "parse ns", "eval ns");
    for (name, src) in cases {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let parse_ns = time(iters, || {
            black_box(Expression::parse(black_box(src)).expect("parse"));
        });
        let expr = Expression::parse(src).expect("parse");
        let eval_ns = time(iters, || {
            black_box(expr.evaluate(None, &env).expect("eval"));
        });
        println!("{name:<26} {parse_ns:>12.0} {eval_ns:>12.0}");
    }
    if only.is_some() {
        return;
    }
    let expr = Expression::parse("order.qty * 2").expect("parse");
    let ns = time(100_000, || {
        black_box(expr.evaluate(Some(&small_input), &env).expect("eval"));
    });
    println!(
        "{:<26} {:>12} {:>12.0}",
        "input path (small input)", "-", ns
    );
    // a 2000-field document as the context: converted per call vs. prepared once
    let big_doc = json!({"order": {"qty": 21}, "big": big_object()});
    let ns = time(2_000, || {
        black_box(expr.evaluate(Some(&big_doc), &env).expect("eval"));
    });
    println!("{:<26} {:>12} {:>12.0}", "large input, evaluate", "-", ns);
    let prepared = Input::new(&big_doc);
    let ns = time(100_000, || {
        black_box(expr.evaluate_input(Some(&prepared), &env).expect("eval"));
    });
    println!("{:<26} {:>12} {:>12.0}", "large input, prepared", "-", ns);
}
