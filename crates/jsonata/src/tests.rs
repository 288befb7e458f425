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
    assert!(err.is_depth_limit() && !err.is_time_limit(), "{err}");
}

#[test]
fn infinite_loop_times_out() {
    let e = Expression::parse("($f := function($n){ $f($n + 1) }; $f(0))").unwrap();
    let env = Environment::new().with_limits(1000, Some(std::time::Duration::from_millis(100)));
    let err = e.evaluate(None, &env).unwrap_err();
    assert_eq!(err.code, "U1001");
    assert!(err.is_time_limit() && !err.is_depth_limit(), "{err}");
}

#[test]
fn expression_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Expression>();
    check::<Environment>();
}

#[test]
fn deeply_nested_runtime_values_do_not_overflow() {
    let e = Expression::parse("$reduce([1..30000], function($a, $x){ {'n': $a} }, {})").unwrap();
    let env = Environment::new().with_limits(1000, Some(std::time::Duration::from_secs(20)));
    // either a result-too-deep error or a timeout, never a crash
    assert!(e.evaluate(None, &env).is_err());
}

#[test]
fn step_functions_dialect() {
    let env = Environment::new().step_functions();
    let run = |src: &str| Expression::parse(src).unwrap().evaluate(None, &env);
    assert_eq!(
        run("$partition([1,2,3,4,5], 2)").unwrap(),
        Some(json!([[1, 2], [3, 4], [5]]))
    );
    assert_eq!(run("$range(0, 10, 5)").unwrap(), Some(json!([0, 5, 10])));
    assert_eq!(run("$range(1, 3)").unwrap(), Some(json!([1, 2, 3])));
    // The singleton rule, as AWS shows it: one number is that number, an
    // empty range nothing; $partition's single chunk stays an array.
    assert_eq!(run("$range(1, 9, 9)").unwrap(), Some(json!(1)));
    assert_eq!(run("[$range(1, 9, 9)]").unwrap(), Some(json!([1])));
    assert_eq!(run("$range(5, 1)").unwrap(), None);
    assert_eq!(run("$partition([0], 1)").unwrap(), Some(json!([[0]])));
    assert_eq!(run("$partition([0, 1], 2)").unwrap(), Some(json!([[0, 1]])));
    assert_eq!(
        run("$hash('hello', 'SHA-256')").unwrap(),
        Some(json!(
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        ))
    );
    assert_eq!(
        run("$hash('hello', 'MD5')").unwrap(),
        Some(json!("5d41402abc4b2a76b9719d911017c592"))
    );
    assert_eq!(
        run("$hash('hello', 'SHA-1')").unwrap(),
        Some(json!("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"))
    );
    assert_eq!(run("$hash('a', 'SHA-9')").unwrap_err().code, "D3203");
    assert_eq!(run("$random(7) = $random(7)").unwrap(), Some(json!(true)));
    let r = run("$random()").unwrap().and_then(|v| v.as_f64()).unwrap();
    assert!((0.0..1.0).contains(&r));
    assert_eq!(
        run("$parse('{\"a\": [1, 2]}').a[1]").unwrap(),
        Some(json!(2))
    );
    let u = run("$uuid()").unwrap().unwrap();
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    // $eval is removed in the Step Functions dialect
    assert_eq!(run("$eval('1 + 1')").unwrap_err().code, "T1006");
    // and still available in plain JSONata
    let plain = Expression::parse("$eval('1 + 1')")
        .unwrap()
        .evaluate(None, &Environment::new());
    assert_eq!(plain.unwrap(), Some(json!(2)));
}

struct FixedHost;

impl Host for FixedHost {
    fn now_millis(&self) -> i64 {
        1_521_801_216_617
    }
    fn random(&self) -> f64 {
        0.25
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

#[test]
fn host_hooks_make_results_deterministic() {
    let env = Environment::new()
        .step_functions()
        .with_host(std::sync::Arc::new(FixedHost));
    let run = |src: &str| {
        Expression::parse(src)
            .unwrap()
            .evaluate(None, &env)
            .unwrap()
    };
    assert_eq!(run("$now()"), Some(json!("2018-03-23T10:33:36.617Z")));
    assert_eq!(run("$millis()"), Some(json!(1_521_801_216_617i64)));
    assert_eq!(run("$random()"), Some(json!(0.25)));
    assert_eq!(
        run("$uuid()"),
        Some(json!("00000000-0000-4000-8000-000000000000"))
    );
}

#[test]
fn errors_carry_codes_and_positions() {
    let err = Expression::parse("1 +").unwrap_err();
    assert_eq!(err.code, "S0207");
    let err = ev("'a' + 1", json!(null)).unwrap_err();
    assert_eq!(err.code, "T2001");
    assert!(err.position.is_some());
}

/// A tiny deterministic generator of random and garbage expressions.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn expr(&mut self, depth: usize) -> String {
        const ATOMS: &[&str] = &[
            "a",
            "b.c",
            "$",
            "$$",
            "1",
            "-2.5",
            "'s'",
            "\"t\"",
            "true",
            "null",
            "[1,2,3]",
            "{'k': 1}",
            "$x",
            "*",
            "**",
            "%",
            "/re/i",
            "`q n`",
            "()",
            "[]",
            "{}",
            "$string",
            "function($v){$v}",
            "|a|{'b':1}|",
            "function($v){ function(){ $v } }",
            "$eval('function($q){ $q }')",
            "($g := function($n){ $n > 0 ? $g($n - 1) : function(){ $n } }; $g(3))",
            "$map([1,2], function($v){ function($w){ $v + $w } })",
            "$f",
        ];
        const OPS: &[&str] = &[
            "+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "&", "and", "or", "in", "..",
            "~>", "?:", "??", ".", ":=", "@", "#",
        ];
        const FUNCS: &[&str] = &[
            "$sum",
            "$count",
            "$string",
            "$map",
            "$filter",
            "$reduce",
            "$sort",
            "$keys",
            "$lookup",
            "$substring",
            "$split",
            "$join",
            "$replace",
            "$match",
            "$formatNumber",
            "$formatInteger",
            "$fromMillis",
            "$toMillis",
            "$number",
            "$round",
            "$spread",
            "$merge",
            "$each",
            "$sift",
            "$zip",
            "$append",
            "$distinct",
            "$single",
            "$eval",
            "$type",
            "$exists",
            "$pad",
            "$parseInteger",
        ];
        if depth == 0 {
            return self.pick(ATOMS).to_string();
        }
        match self.next() % 11 {
            0 => format!(
                "{} {} {}",
                self.expr(depth - 1),
                self.pick(OPS),
                self.expr(depth - 1)
            ),
            1 => format!(
                "{}({}, {})",
                self.pick(FUNCS),
                self.expr(depth - 1),
                self.expr(depth - 1)
            ),
            2 => format!("{}[{}]", self.expr(depth - 1), self.expr(depth - 1)),
            3 => format!("({}; {})", self.expr(depth - 1), self.expr(depth - 1)),
            4 => format!(
                "{} ? {} : {}",
                self.expr(depth - 1),
                self.expr(depth - 1),
                self.expr(depth - 1)
            ),
            5 => format!("{{{}: {}}}", self.expr(depth - 1), self.expr(depth - 1)),
            6 => format!("{}^({})", self.expr(depth - 1), self.expr(depth - 1)),
            7 => {
                // garbage: a random slice of a random expression
                let s = self.expr(depth - 1);
                let cut = (self.next() as usize) % (s.len() + 1);
                s.chars().take(cut).collect::<String>()
                    + self.pick(&["(", "]", "}", "|", "'", "/", "`", "[", ""])
            }
            8 => format!("({})({})", self.expr(depth - 1), self.expr(depth - 1)),
            9 => format!("($f := {}; {})", self.expr(depth - 1), self.expr(depth - 1)),
            _ => format!("[{}, {}]", self.expr(depth - 1), self.expr(depth - 1)),
        }
    }
}

#[test]
fn random_and_garbage_expressions_never_panic() {
    let input = json!({"a": [1, {"b": 2}], "b": {"c": [3, 4]}, "x": "text"});
    let env = Environment::new().with_limits(200, Some(std::time::Duration::from_millis(50)));
    let iters: usize = std::env::var("JSONATA_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("JSONATA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut g = Gen(seed | 1);
    for _ in 0..iters {
        let src = g.expr(3);
        if let Ok(e) = Expression::parse(&src) {
            let _ = e.evaluate(Some(&input), &env);
            let _ = e.evaluate(None, &env);
        }
    }
    // raw byte garbage
    for _ in 0..2000 {
        let len = (g.next() % 24) as usize;
        let s: String = (0..len)
            .map(|_| char::from_u32((g.next() % 128) as u32).unwrap_or('?'))
            .collect();
        if let Ok(e) = Expression::parse(&s) {
            let _ = e.evaluate(Some(&input), &env);
        }
    }
}

#[test]
fn extreme_arguments_are_errors_not_panics() {
    for src in [
        "$fromMillis(1e300)",
        "$fromMillis(-1e300, '[Y]')",
        "$fromMillis(0, '[Y]', '+999999999')",
        "$toMillis('99999999999999999999', '[Y]')",
        "$toMillis('2020-01-01 99999999999999999999', '[Y]-[M]-[D] [H]')",
        "$formatInteger(1e300, 'I')",
        "$formatInteger(1e300, 'w')",
        "$formatInteger(-1e300, 'A')",
        "$pad('x', 1e12)",
        "$round(1.5, 1e9)",
        "$formatBase(1e300, 36)",
        "$formatNumber(1e300, '#,##0.00')",
        "$substring('abc', -1e300, 1e300)",
        "0/0",
        "[1..10000001]",
    ] {
        let e = Expression::parse(src).unwrap();
        let _ = e.evaluate(None, &Environment::new());
    }
}

#[test]
fn shared_across_threads() {
    let expr =
        std::sync::Arc::new(Expression::parse("$sum($states.input.items.(price * qty))").unwrap());
    let mut env = Environment::new();
    env.bind(
        "$states",
        json!({"input": {"items": [{"price": 2, "qty": 3}, {"price": 1.5, "qty": 2}]}}),
    );
    let env = std::sync::Arc::new(env);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (expr, env) = (expr.clone(), env.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    assert_eq!(expr.evaluate(None, &env).unwrap(), Some(json!(9)));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn frames_are_reclaimed_in_loops() {
    // a long tail-recursive loop and a large $map must not keep every call's frame
    let e = Expression::parse(
        "($loop := function($i, $acc){ $i = 0 ? $acc : $loop($i - 1, $acc + 1) }; $loop(20000, 0))",
    )
    .unwrap();
    let env = Environment::new().with_limits(1000, Some(std::time::Duration::from_secs(30)));
    assert_eq!(e.evaluate(None, &env).unwrap(), Some(json!(20000)));
    let e =
        Expression::parse("$count($map([1..20000], function($v){ ($w := $v; $w * 2) }))").unwrap();
    assert_eq!(e.evaluate(None, &env).unwrap(), Some(json!(20000)));
    // closures that escape keep their frames alive
    let e = Expression::parse(
        "($fs := $map([1,2,3], function($v){ function(){ $v * 10 } }); $fs[1]())",
    )
    .unwrap();
    assert_eq!(e.evaluate(None, &env).unwrap(), Some(json!(20)));
}

#[test]
fn frame_arena_stays_small() {
    let env = Environment::new().with_limits(1000, Some(std::time::Duration::from_secs(30)));
    for src in [
        "($loop := function($i){ $i = 0 ? 0 : $loop($i - 1) }; $loop(5000))",
        "$sum($map([1..5000], function($v){ ($w := $v; $w * 2) }))",
        "$count([1..5000].{'a': $})",
    ] {
        let parsed = parser::parse(src).unwrap();
        let mut ev = eval::Evaluator::new(&env, std::sync::Arc::from(parsed.labels));
        ev.eval(&parsed.root, &value::Value::Undefined, 0).unwrap();
        assert!(
            ev.frames.len() < 50,
            "{src}: {} frames retained",
            ev.frames.len()
        );
    }
}

#[test]
fn prepared_inputs_are_shared() {
    let doc = Input::new(&json!({"order": {"qty": 4}, "items": [1, 2, 3]}));
    let e = Expression::parse("order.qty * $count(items)").unwrap();
    let env = Environment::new();
    assert_eq!(e.evaluate_input(Some(&doc), &env).unwrap(), Some(json!(12)));
    let mut env = Environment::new();
    env.bind_input("states", &doc);
    let e = Expression::parse("$states.order.qty + 1").unwrap();
    assert_eq!(e.evaluate(None, &env).unwrap(), Some(json!(5)));
    assert_eq!(
        doc.to_json(),
        json!({"order": {"qty": 4}, "items": [1, 2, 3]})
    );
    let arr = Input::new(&json!([{"a": 1}, {"a": 2}]));
    let e = Expression::parse("a").unwrap();
    assert_eq!(
        e.evaluate_input(Some(&arr), &env).unwrap(),
        Some(json!([1, 2]))
    );
}

#[test]
fn long_operator_chains_are_handled() {
    for sep in ["+", ".", " and ", "~>", "[0]", "^(a)", "{'a':1}", "=", ";"] {
        let src = format!("(a{})", format!("{sep}a").repeat(100_000));
        let r = Expression::parse(&src);
        if let Ok(e) = r {
            let _ = e.evaluate(Some(&json!({"a": 1})), &Environment::new());
        }
    }
}

#[test]
fn token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "a", "b", "$", "$$", "$x", "1", "0.5", "1e3", "'s'", "\"t\"", "`n`", "true", "null", "(",
        ")", "[", "]", "{", "}", ",", ";", ":", ".", "..", "?", "?:", "??", ":=", "~>", "@", "#",
        "^", "<", ">", "=", "!=", "+", "-", "*", "**", "/", "%", "&", "|", "and", "or", "in",
        "function", "λ", "$sum", "$map", "/x/", "<s-:s>", "$f", " ",
    ];
    let input = json!({"a": [1, 2, {"b": [3]}], "b": {"a": "x"}});
    let env = Environment::new().with_limits(200, Some(std::time::Duration::from_millis(50)));
    // JSONATA_FUZZ_ITERS / JSONATA_FUZZ_SEED allow longer local runs
    let iters: usize = std::env::var("JSONATA_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("JSONATA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xD1B5_4A32_D192_ED03);
    let mut g = Gen(seed | 1);
    for _ in 0..iters {
        let n = 1 + (g.next() % 12) as usize;
        let src: String = (0..n).map(|_| g.pick(TOKENS)).collect::<Vec<_>>().join("");
        if let Ok(e) = Expression::parse(&src) {
            let _ = e.evaluate(Some(&input), &env);
        }
    }
}

#[test]
fn builtins_with_odd_arguments_never_panic() {
    const FUNCS: &[&str] = &[
        "sum",
        "count",
        "max",
        "min",
        "average",
        "string",
        "substring",
        "substringBefore",
        "substringAfter",
        "lowercase",
        "uppercase",
        "length",
        "trim",
        "pad",
        "match",
        "contains",
        "replace",
        "split",
        "join",
        "formatNumber",
        "formatBase",
        "formatInteger",
        "parseInteger",
        "number",
        "floor",
        "ceil",
        "round",
        "abs",
        "sqrt",
        "power",
        "random",
        "boolean",
        "not",
        "map",
        "zip",
        "filter",
        "single",
        "reduce",
        "sift",
        "keys",
        "lookup",
        "append",
        "exists",
        "spread",
        "merge",
        "reverse",
        "each",
        "error",
        "assert",
        "type",
        "sort",
        "shuffle",
        "distinct",
        "base64encode",
        "base64decode",
        "encodeUrlComponent",
        "encodeUrl",
        "decodeUrlComponent",
        "decodeUrl",
        "eval",
        "toMillis",
        "fromMillis",
        "clone",
        "now",
        "millis",
        "partition",
        "range",
        "hash",
        "uuid",
        "parse",
    ];
    const ARGS: &[&str] = &[
        "0",
        "-1",
        "1.5",
        "1e300",
        "-1e300",
        "7",
        "''",
        "'abc'",
        "'[Y]-[M]'",
        "'#,##0.0'",
        "'0;o'",
        "'w'",
        "'I'",
        "'%'",
        "'e'",
        "'[Z0101010]'",
        "'12'",
        "'MD5'",
        "'{\"a\":1}'",
        "[]",
        "[1,2]",
        "['a','b']",
        "[[1],[2]]",
        "{}",
        "{'a':1}",
        "null",
        "true",
        "/a/",
        "/x*/",
        "function($v){$v}",
        "function($a,$b){$a}",
        "$string",
        "nothing",
        "%",
        "'[Y,99999999999]'",
        "'[Y,*-4][M01]'",
        "'[D#1,2]/[M1,2]'",
        "'[f001][Z][z]'",
        "'[FNn,*-3] [dwo] [xNn] [W] [w] [X]'",
        "'[h]:[m] [P]'",
        "'[E][C]'",
        "'[Y0001,2-2]'",
        "'[[ ]]'",
        "'[Y'",
        "'2018-01-01T00:00:00Z'",
        "'1 March 2018'",
        "'#,##0.00;(#)'",
        "'0.00e00'",
        "'#%'",
        "'W'",
        "'Ww;o'",
        "'a'",
        "'A'",
        "'i'",
        "'#0'",
        "'٠'",
        "'##0٠'",
    ];
    let envs = [
        Environment::new().with_limits(100, Some(std::time::Duration::from_millis(50))),
        Environment::new()
            .step_functions()
            .with_limits(100, Some(std::time::Duration::from_millis(50))),
    ];
    let input = json!({"a": [1, 2]});
    let iters: usize = std::env::var("JSONATA_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6000);
    let seed: u64 = std::env::var("JSONATA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xA076_1D64_78BD_642F);
    let mut g = Gen(seed | 1);
    for _ in 0..iters {
        let f = g.pick(FUNCS);
        let n = (g.next() % 4) as usize;
        let args: Vec<&str> = (0..n).map(|_| g.pick(ARGS)).collect();
        let src = format!("${f}({})", args.join(", "));
        if let Ok(e) = Expression::parse(&src) {
            for env in &envs {
                let _ = e.evaluate(Some(&input), env);
            }
        }
    }
}

#[test]
fn runaway_growth_is_an_error() {
    let env = Environment::new();
    for src in [
        "($f := function($s){ $f($s & $s) }; $f('x'))",
        "($f := function($a){ $f($append($a, $a)) }; $f([1]))",
        "($f := function($a){ $f([$a, $a]) }; $f([1]))",
        "($f := function($s){ $f($join([$s, $s])) }; $f('x'))",
    ] {
        let err = Expression::parse(src)
            .unwrap()
            .evaluate(None, &env)
            .unwrap_err();
        assert!(err.code == "U1002" || err.code == "U1001", "{src}: {err}");
    }
}

#[test]
fn object_constructor_single_context() {
    assert_eq!(
        ev("{'a': 1, 'b': x}", json!({"x": 2})).unwrap(),
        Some(json!({"a": 1, "b": 2}))
    );
    assert_eq!(ev("{'a': 1, 'a': 2}", json!({})).unwrap_err().code, "D1009");
    let many = (0..12)
        .map(|i| format!("'k{}': {i}", i % 11))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        ev(&format!("{{{many}}}"), json!({})).unwrap_err().code,
        "D1009"
    );
    assert_eq!(ev("{x: 1}", json!({"x": 5})).unwrap_err().code, "T1003");
    assert_eq!(
        ev("{nothing: 1, 'b': nothing}", json!({})).unwrap(),
        Some(json!({}))
    );
}

#[test]
fn eval_sees_the_caller_and_its_closures_work() {
    assert_eq!(
        ev("($x := 5; $eval('$x + 1'))", json!(null)).unwrap(),
        Some(json!(6))
    );
    assert_eq!(
        ev("$eval('function($v){ $v * 2 }')(21)", json!(null)).unwrap(),
        Some(json!(42))
    );
    assert_eq!(
        ev("$eval('a', {'a': 3})", json!(null)).unwrap(),
        Some(json!(3))
    );
    assert_eq!(ev("$eval('1 +')", json!(null)).unwrap_err().code, "D3120");
    assert_eq!(
        ev(
            "$map(['($f := function($v){ $v + 1 }; $f(1))', '$string(2)'], $eval)",
            json!(null)
        )
        .unwrap(),
        Some(json!([2, "2"]))
    );
}

#[test]
fn frame_reclamation_does_not_change_results() {
    let input =
        value::Value::from_json(&json!({"a": [1, {"b": 2}], "b": {"c": [3, 4]}, "x": "text"}));
    let env = Environment::new().with_limits(200, Some(std::time::Duration::from_millis(50)));
    let iters: usize = std::env::var("JSONATA_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("JSONATA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5851_F42D_4C95_7F2D);
    let mut g = Gen(seed | 1);
    let run = |src: &str, reclaim: bool| -> Option<Result<Option<serde_json::Value>, String>> {
        let parsed = parser::parse(src).ok()?;
        let mut ev = eval::Evaluator::new(&env, std::sync::Arc::from(parsed.labels));
        ev.reclaim = reclaim;
        ev.root = input.clone();
        let r = ev.eval(&parsed.root, &input, 0);
        Some(match r {
            Ok(v) => v.to_json().map_err(|e| e.code),
            Err(e) => Err(e.code),
        })
    };
    for _ in 0..iters {
        let src = g.expr(3);
        let with = run(&src, true);
        let without = run(&src, false);
        // timeouts may differ between runs; every other outcome must agree
        let timed_out = |r: &Option<Result<Option<serde_json::Value>, String>>| matches!(r, Some(Err(code)) if code == "U1001");
        if !timed_out(&with) && !timed_out(&without) {
            assert_eq!(with, without, "{src}");
        }
    }
}

#[test]
fn typical_step_functions_expressions() {
    let mut env = Environment::new()
        .step_functions()
        .with_host(std::sync::Arc::new(FixedHost));
    env.bind(
        "states",
        json!({
            "input": {"customer": {"name": "Ada", "age": 36}, "items": [{"sku": "a", "qty": 2, "price": 1.25}, {"sku": "b", "qty": 1, "price": 10}]},
            "context": {"Execution": {"StartTime": "2024-11-22T10:00:00.000Z", "Id": "arn:aws:states:us-east-1:1:execution:sm:run-1"}}
        }),
    );
    let run = |src: &str| {
        Expression::parse(src)
            .unwrap()
            .evaluate(None, &env)
            .unwrap()
    };
    assert_eq!(
        run("'Hello ' & $states.input.customer.name"),
        Some(json!("Hello Ada"))
    );
    assert_eq!(run("$states.input.customer.age >= 18"), Some(json!(true)));
    assert_eq!(
        run("$sum($states.input.items.(qty * price))"),
        Some(json!(12.5))
    );
    assert_eq!(run("$states.input.items[qty > 1].sku"), Some(json!("a")));
    assert_eq!(
        run("$states.input.items[qty > 1].sku[]"),
        Some(json!(["a"]))
    );
    assert_eq!(
        run("$fromMillis($toMillis($states.context.Execution.StartTime) + 3600000)"),
        Some(json!("2024-11-22T11:00:00.000Z"))
    );
    assert_eq!(
        run("$split($states.context.Execution.Id, ':')[-1]"),
        Some(json!("run-1"))
    );
    assert_eq!(
        run("$states.input.items{sku: qty}"),
        Some(json!({"a": 2, "b": 1}))
    );
    assert_eq!(
        run("( $total := $sum($states.input.items.qty); $total > 2 ? 'bulk' : 'single' )"),
        Some(json!("bulk"))
    );
    assert_eq!(
        run("$partition($states.input.items.sku, 1)"),
        Some(json!([["a"], ["b"]]))
    );
    assert_eq!(run("$states.input.missing"), None);
}
