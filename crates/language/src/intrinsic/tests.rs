//! Table-driven tests of intrinsic function parsing and evaluation.

use serde_json::{json, Value};

use super::*;
use crate::scope::{Host, Variables};

struct FixedHost;
impl Host for FixedHost {
    fn random(&self) -> f64 {
        0.25
    }
    fn uuid(&self) -> String {
        "1b4f0e98-5a9d-4b8c-9c3e-2f6a7d8e9f01".into()
    }
}

fn eval(call: &str, input: &Value) -> Result<Value, Failure> {
    let ctx =
        json!({"StateMachine": {"Name": "my-machine-1"}, "Execution": {"Input": {"csv": "a,b"}}});
    let mut vars = Variables::new();
    vars.insert("greeting".into(), json!("hi"));
    let scope = Scope {
        input,
        context: &ctx,
        variables: &vars,
        host: &FixedHost,
    };
    Call::parse(call)
        .unwrap_or_else(|e| panic!("{call}: {e}"))
        .evaluate_field(&scope, "r.$")
}

#[test]
fn evaluates_like_aws() {
    let input = json!({
        "s": "input data", "n": 5, "f": 1.5, "arr": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "obj": {"Arg1": 1, "Arg2": []}, "tmpl": "It's {}!", "nul": null,
        "dups": [1, 1, "a", "a", {"x": 1}, {"x": 1}, [1], [1], null, null, 1.0]
    });
    let cases: &[(&str, Value)] = &[
        ("States.Format('Hello {}', $.s)", json!("Hello input data")),
        ("States.Format('{} and {}', $.n, $.f)", json!("5 and 1.5")),
        ("States.Format('arg {}.', $.nul)", json!("arg null.")),
        ("States.Format('x={}', $.obj)", json!("x={Arg1=1, Arg2=[]}")),
        ("States.Format('a={}', $.arr)", json!("a=[1, 2, 3, 4, 5, 6, 7, 8, 9]")),
        ("States.Format('no slots')", json!("no slots")),
        (r"States.Format('\{\} {} it\'s \\ ok', 1)", json!(r"{} 1 it's \ ok")),
        ("States.Format($.tmpl, 'Pikachu')", json!("It's Pikachu!")),
        ("States.Format('{}', $greeting)", json!("hi")),
        ("States.StringToJson('{\"a\": [1]}')", json!({"a": [1]})),
        ("States.StringToJson('')", Value::Null),
        ("States.StringToJson(' ')", Value::Null),
        ("States.StringToJson('1.1')", json!(1.1)),
        ("States.JsonToString($.obj)", json!("{\"Arg1\":1,\"Arg2\":[]}")),
        ("States.JsonToString($.nul)", json!("null")),
        ("States.Array()", json!([])),
        ("States.Array(1, 'two', true, null, $.n)", json!([1, "two", true, null, 5])),
        ("States.ArrayPartition($.arr, 4)", json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        ("States.ArrayPartition(States.Array(), 2)", json!([])),
        ("States.ArrayContains($.arr, 5)", json!(true)),
        ("States.ArrayContains($.arr, 10)", json!(false)),
        ("States.ArrayContains(States.Array($.obj), $.obj)", json!(true)),
        // Observed on AWS: membership compares text.
        ("States.ArrayContains(States.Array('true', '5'), true)", json!(true)),
        ("States.ArrayContains(States.Array('true', '5'), 5)", json!(true)),
        ("States.ArrayContains(States.Array(0, 1), false)", json!(false)),
        ("States.ArrayContains(States.Array(States.StringToJson('{\"a\":1,\"b\":2}')), States.StringToJson('{\"b\":2,\"a\":1}'))", json!(false)),
        ("States.ArrayRange(0, 9, 3)", json!([0, 3, 6, 9])),
        ("States.ArrayRange(1, 9, 9)", json!([1])),
        ("States.ArrayRange(5, 1, -2)", json!([5, 3, 1])),
        ("States.ArrayRange(5, 1, 2)", json!([])),
        ("States.ArrayGetItem($.arr, 5)", json!(6)),
        ("States.ArrayLength($.arr)", json!(9)),
        ("States.ArrayUnique($.dups)", json!([1, "a", {"x": 1}, [1], null, 1.0])),
        ("States.Base64Encode('Hello World')", json!("SGVsbG8gV29ybGQ=")),
        ("States.Base64Decode('SGVsbG8gV29ybGQ=')", json!("Hello World")),
        ("States.Hash($.s, 'MD5')", json!("812f45842bc6d66ee14572ce20db8e86")),
        ("States.Hash($.s, 'SHA-1')", json!("aaff4a450a104cd177d28d18d74485e8cae074b7")),
        ("States.Hash($.s, 'SHA-256')", json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3")),
        ("States.Hash($.s, 'SHA-512')", json!("6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4")),
        ("States.Hash('Hash this string', 'SHA-256')", json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e")),
        ("States.JsonMerge(States.StringToJson('{\"a\":1,\"d\":3}'), States.StringToJson('{\"c\":3,\"d\":4}'), false)", json!({"a": 1, "d": 4, "c": 3})),
        ("States.MathRandom(0, 100)", json!(25)),
        ("States.MathRandom(0, 999, 3)", json!(239)),
        ("States.MathAdd($.n, -1)", json!(4)),
        ("States.MathAdd(1.49, 1.5)", json!(3)),
        ("States.MathAdd(-1.49, -1.5)", json!(-2)),
        ("States.MathAdd(States.MathAdd(1, 2), 3)", json!(6)),
        ("States.StringSplit('a,b,,c', ',')", json!(["a", "b", "c"])),
        ("States.StringSplit('split on T and \nnew line', 'T\n')", json!(["split on ", " and ", "new line"])),
        (r"States.StringSplit('Hello\nWorld', '\n')", json!(["Hello", "World"])),
        ("States.StringSplit($$.Execution.Input.csv, ',')", json!(["a", "b"])),
        ("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)", json!("my")),
        ("States.UUID()", json!("1b4f0e98-5a9d-4b8c-9c3e-2f6a7d8e9f01")),
        ("States.ArrayLength($.arr[?(@ > 4)])", json!(5)),
        ("  States.Array( 1 ,2 )  ", json!([1, 2])),
        // Integer arguments are truncated as Java's intValue() does.
        ("States.ArrayGetItem($.arr, 1.2)", json!(2)),
        ("States.ArrayRange(1.4, 5.6, 2.2)", json!([1, 3, 5])),
        ("States.ArrayPartition($.arr, 4.9)", json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        ("States.MathRandom(1.6, 5.4)", json!(2)),
        // Observed on AWS: an empty array reads null at any index.
        ("States.ArrayGetItem(States.Array(), 999)", Value::Null),
        // Non-string data is hashed as its JSON text.
        ("States.Hash($.n, 'MD5')", json!("e4da3b7fbbce2345d7772b0674a318d5")),
        ("States.Base64Decode(' SGVsbG8gV29ybGQ= ')", json!("Hello World")),
        ("States.Base64Decode('!!!')", json!("")),
    ];
    for (call, want) in cases {
        assert_eq!(eval(call, &input).as_ref(), Ok(want), "{call}");
    }
}

#[test]
fn misuse_fails_at_run_time_like_aws() {
    let input = json!({"arr": [1, 2], "s": "x", "n": 2, "bad": "{", "big": 5000, "t": "{} {}", "lone": "a { b"});
    for call in [
        "States.ArrayGetItem($.arr, 2)",
        "States.ArrayGetItem($.arr, -1)",
        "States.ArrayGetItem($.arr, '1')",
        "States.ArrayPartition($.arr, 0)",
        "States.ArrayPartition($.arr, 0.49)",
        "States.ArrayRange(0, 10, 0)",
        "States.ArrayRange(0, $.big, 1)",
        "States.ArrayRange(1, 1001, 1)",
        "States.ArrayRange('a', 5, 1)",
        "States.ArrayRange(1, 2)",
        "States.ArrayLength($.s)",
        "States.StringToJson($.bad)",
        "States.Base64Decode('Z')",
        "States.Base64Decode(123)",
        "States.Hash($.s, 'SHA-3')",
        "States.Hash($.s, 'sha-256')",
        "States.Hash('x', 123)",
        "States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), $.n)",
        "States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), true)",
        "States.MathRandom(5, 5)",
        "States.MathRandom(1.4, 1.6)",
        "States.MathRandom(1, 10, null)",
        "States.MathAdd($.s, 1)",
        "States.Format($.t, 1)",
        "States.Format('{} {}', 1)",
        "States.Format('Hello {', 1)",
        "States.Format('}')",
        "States.Format('Hello {{}}', 1)",
        "States.Format($.lone)",
        "States.UUID(1)",
        "States.Base64Decode()",
    ] {
        let f = eval(call, &input).expect_err(call);
        assert_eq!(f.error, "States.Runtime", "{call}: {f}");
        let name = call.split('(').next().unwrap_or_default();
        assert_eq!(f.cause, format!("Invalid arguments in {name}"), "{call}");
    }
}

#[test]
fn missing_path_argument_is_a_runtime_failure() {
    let f = eval("States.Format('{}', $.nope)", &json!({"a": 1})).expect_err("fails");
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(
        f.cause,
        "The JSONPath '$.nope' specified for the field 'r.$' could not be found in the input '{\"a\":1}'"
    );
}

#[test]
fn rejects_bad_calls_at_parse_time() {
    for (bad, needle) in [
        ("States.Nope()", "unknown intrinsic function 'States.Nope'"),
        ("States.Array(", "expected an argument"),
        ("States.Array(1", "expected ',' or ')'"),
        ("States.Array(1) x", "unexpected text"),
        ("States.Format('unterminated)", "unterminated string"),
        ("States.Array(x)", "expected an argument"),
        ("$.a", "expected 'States.'"),
        ("States.Array($.a b)", "expected ',' or ')'"),
        ("States.Array($.a[)", "invalid path"),
    ] {
        let err = Call::parse(bad).expect_err(bad);
        assert!(err.message.contains(needle), "{bad}: {}", err.message);
    }
}

#[test]
fn reports_certain_run_time_failures_as_problems() {
    for (call, needle) in [
        ("States.Format()", "takes at least 1 argument"),
        ("States.UUID(1)", "takes 0 arguments, but 1 was given"),
        ("States.ArrayRange(1, 2)", "takes 3 arguments"),
        ("States.MathRandom(1)", "takes 2 to 3 arguments"),
        (
            "States.Format('{} {}', 1)",
            "2 placeholders but 1 value is given",
        ),
        ("States.Format('a { b')", "not part of '{}'"),
        ("States.ArrayLength('x')", "must be an array"),
        ("States.MathAdd('1', 2)", "must be a number"),
        ("States.Array(States.MathAdd('1', 2))", "must be a number"),
        ("States.JsonMerge($.a, $.b, true)", "shallow merge"),
    ] {
        let problems = Call::parse(call).expect(call).problems();
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{call}: {problems:?}"
        );
    }
    for fine in [
        "States.Format('{} {}', 1, $.x)",
        "States.Format($.t)",
        "States.Array()",
        "States.MathRandom(1, 2, 3)",
    ] {
        assert_eq!(
            Call::parse(fine).expect(fine).problems(),
            Vec::<String>::new(),
            "{fine}"
        );
    }
}

#[test]
fn reports_variables_and_structure() {
    let c = Call::parse("States.Format('{} {}', $a.b, States.Array($c, $a))").expect("parses");
    assert_eq!(c.function(), Function::Format);
    assert_eq!(c.args().len(), 3);
    assert_eq!(
        c.references_variables(),
        vec!["a".to_string(), "c".to_string()]
    );
    assert_eq!(
        c.as_str(),
        "States.Format('{} {}', $a.b, States.Array($c, $a))"
    );
}
