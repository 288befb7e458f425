//! Property tests: whatever text a definition holds and whatever JSON an
//! execution carries, parsing and evaluating paths, intrinsic functions,
//! templates and Choice rules returns a value or an error and never panics.

use proptest::prelude::*;
use serde_json::{Map, Value};
use statecraft_language::ast::{ChoiceRule, Comparison, Operand};
use statecraft_language::choice::{self, Timestamp};
use statecraft_language::intrinsic::Call;
use statecraft_language::path::{Path, ReferencePath};
use statecraft_language::template::{Expr, Template};
use statecraft_language::{Host, Scope};

struct FixedHost;
impl Host for FixedHost {
    fn random(&self) -> f64 {
        0.999_999
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-c0-9 ,{}'*\\\\-]{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("2016-03-14T01:59:00Z"),
            Just("2016-03-14T01:59:00+01:00")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Text drawn mostly from the characters paths and calls are made of, so
/// that the parsers get deep into their grammars.
fn path_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("$".to_string()),
            Just("$$".to_string()),
            Just(".".to_string()),
            Just("..".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("*".to_string()),
            Just("[?(".to_string()),
            Just(")".to_string()),
            Just("@".to_string()),
            Just("'".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("-1".to_string()),
            Just(" == ".to_string()),
            Just(" < ".to_string()),
            Just(" && ".to_string()),
            Just("!".to_string()),
            Just("length()".to_string()),
            Just("States.Array(".to_string()),
            Just("States.Format(".to_string()),
            Just("States.ArrayRange(".to_string()),
            Just("States.MathRandom(".to_string()),
            "[a-c0-9]{1,3}",
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

fn scope_run<R>(input: &Value, f: impl FnOnce(&Scope<'_>) -> R) -> R {
    let context = serde_json::json!({"Execution": {"Input": input.clone(), "Id": "x"}});
    let mut vars = Map::new();
    vars.insert("a".into(), input.clone());
    let scope = Scope {
        input,
        context: &context,
        variables: &vars,
        host: &FixedHost,
    };
    f(&scope)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_any_text(s in "\\PC{0,40}") {
        let _ = Path::parse(&s);
        let _ = ReferencePath::parse(&s);
        let _ = Call::parse(&s);
        let _ = Expr::parse(&s);
        let _ = Timestamp::parse(&s);
        let _ = choice::matches(&s, &s);
    }

    #[test]
    fn evaluation_never_panics(text in path_like(), input in json()) {
        if let Ok(p) = Path::parse(&text) {
            scope_run(&input, |scope| {
                let _ = p.select(scope);
                if p.select(scope).ok().flatten().is_none() {
                    let _ = p.miss_reason(scope);
                }
            });
        }
        if let Ok(rp) = ReferencePath::parse(&text) {
            let _ = rp.place(input.clone(), Value::Bool(true));
        }
        if let Ok(e) = Expr::parse(&text) {
            scope_run(&input, |scope| { let _ = e.evaluate(scope); });
        }
    }

    #[test]
    fn placed_results_read_back(
        names in prop::collection::vec("[a-c]{1,2}", 1..4),
        input in json(),
        value in json(),
    ) {
        let text = format!("$.{}", names.join("."));
        let Ok(rp) = ReferencePath::parse(&text) else { return Ok(()) };
        if let Ok(placed) = rp.place(input, value.clone()) {
            let read = scope_run(&placed, |scope| rp.resolve(scope).cloned());
            prop_assert_eq!(read, Some(value));
        }
    }

    #[test]
    fn intrinsics_never_panic_on_any_arguments(
        f in prop::sample::select(vec![
            "Format", "StringToJson", "JsonToString", "Array", "ArrayPartition", "ArrayContains",
            "ArrayRange", "ArrayGetItem", "ArrayLength", "ArrayUnique", "Base64Encode",
            "Base64Decode", "Hash", "JsonMerge", "MathRandom", "MathAdd", "StringSplit", "UUID",
        ]),
        args in prop::collection::vec(prop::sample::select(vec!["$.a", "$.b", "$.a[0]", "$.c.d", "$a", "$$.Execution.Input"]), 0..4),
        input in json(),
    ) {
        let call = format!("States.{f}({})", args.join(", "));
        if let Ok(c) = Call::parse(&call) {
            scope_run(&input, |scope| { let _ = c.evaluate(scope); });
        }
    }

    #[test]
    fn templates_and_choice_rules_never_panic(template in json(), input in json(), literal in json(), op in 0usize..23) {
        let _ = Template::compile(&template).map(|t| scope_run(&input, |scope| t.evaluate(scope)));
        use Comparison::*;
        let ops = [
            StringEquals, StringLessThan, StringGreaterThan, StringLessThanEquals,
            StringGreaterThanEquals, StringMatches, NumericEquals, NumericLessThan,
            NumericGreaterThan, NumericLessThanEquals, NumericGreaterThanEquals, BooleanEquals,
            TimestampEquals, TimestampLessThan, TimestampGreaterThan, TimestampLessThanEquals,
            TimestampGreaterThanEquals, IsNull, IsPresent, IsNumeric, IsString, IsBoolean, IsTimestamp,
        ];
        let Ok(variable) = Path::parse("$.a") else { return Ok(()) };
        let rule = ChoiceRule::Not(Box::new(ChoiceRule::Compare {
            variable,
            op: ops[op % ops.len()],
            operand: Operand::Literal(literal),
        }));
        scope_run(&input, |scope| { let _ = choice::evaluate(&rule, scope); });
    }
}
