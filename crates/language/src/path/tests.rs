//! Table-driven tests of path parsing, selection, failure texts and
//! ResultPath placement.

use serde_json::{json, Value};

use super::*;
use crate::scope::{Host, Variables};

struct NoHost;
impl Host for NoHost {
    fn random(&self) -> f64 {
        0.5
    }
    fn uuid(&self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

fn store() -> Value {
    json!({
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        },
        "expensive": 10,
        "a b": 1,
        "int-literal": 0,
        "nums": [0, 1, 2, 3, 4],
        "s": "text"
    })
}

fn sel(path: &str, input: &Value) -> Option<Value> {
    let ctx = json!({"Execution": {"Id": "arn:exec", "Input": {"x": 1}}, "State": {"Name": "S"}});
    let mut vars = Variables::new();
    vars.insert("v".into(), json!({"f": [10, 20]}));
    vars.insert("limit".into(), json!(9));
    let scope = Scope {
        input,
        context: &ctx,
        variables: &vars,
        host: &NoHost,
    };
    Path::parse(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .select(&scope)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn selects_like_jayway() {
    let input = store();
    let cases: &[(&str, Option<Value>)] = &[
        ("$", Some(input.clone())),
        ("$.expensive", Some(json!(10))),
        ("$['a b']", Some(json!(1))),
        ("$[\"a b\"]", Some(json!(1))),
        ("$.int-literal", Some(json!(0))),
        ("$.store.book[0].author", Some(json!("Nigel Rees"))),
        ("$.store.book[-1].title", Some(json!("LOTR"))),
        ("$.store.book[9]", None),
        ("$.missing", None),
        ("$.missing.deeper", None),
        ("$.s.x", None),
        ("$.nums[1:3]", Some(json!([1, 2]))),
        ("$.nums[:2]", Some(json!([0, 1]))),
        ("$.nums[-1:]", Some(json!([4]))),
        ("$.nums[3:]", Some(json!([3, 4]))),
        ("$.nums[3:1]", Some(json!([]))),
        ("$.nums[-10:2]", Some(json!([0, 1]))),
        ("$.nums[0,2]", Some(json!([0, 2]))),
        ("$.nums[*]", Some(json!([0, 1, 2, 3, 4]))),
        ("$.store.bicycle.*", Some(json!(["red", 19.95]))),
        // Jayway merges a trailing union of names into one object.
        (
            "$.store.bicycle['color','price']",
            Some(json!({"color": "red", "price": 19.95})),
        ),
        (
            "$.store.bicycle['color','nope']",
            Some(json!({"color": "red"})),
        ),
        (
            "$['s','expensive','nope']",
            Some(json!({"s": "text", "expensive": 10})),
        ),
        ("$.s['a','b']", None),
        (
            "$.store.book[*]['title','isbn']",
            Some(json!([
                {"title": "Sayings"},
                {"title": "Sword"},
                {"title": "Moby Dick", "isbn": "0-553"},
                {"title": "LOTR", "isbn": "0-395"}
            ])),
        ),
        ("$.nums[*]['a','b']", Some(json!([]))),
        (
            "$.store.book[*].author",
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])),
        ),
        (
            "$..author",
            Some(json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])),
        ),
        (
            "$.store..price",
            Some(json!([8.95, 12.99, 8.99, 22.99, 19.95])),
        ),
        ("$..book[2].title", Some(json!(["Moby Dick"]))),
        ("$..nope", Some(json!([]))),
        (
            "$.store.book[?(@.isbn)].title",
            Some(json!(["Moby Dick", "LOTR"])),
        ),
        (
            "$.store.book[?(!@.isbn)].title",
            Some(json!(["Sayings", "Sword"])),
        ),
        (
            "$.store.book[?(@.price < 10)].title",
            Some(json!(["Sayings", "Moby Dick"])),
        ),
        (
            "$.store.book[?(@.price < $.expensive)].title",
            Some(json!(["Sayings", "Moby Dick"])),
        ),
        (
            "$.store.book[?(@.price < $limit)].title",
            Some(json!(["Sayings", "Moby Dick"])),
        ),
        // `$` in a filter is the document the path started at.
        (
            "$$.Execution[?(@.Id == $.Execution.Id)].Input",
            Some(json!([{"x": 1}])),
        ),
        ("$v.f[?(@ > $.f[0])]", Some(json!([20]))),
        (
            "$.store.book[?(@.category == 'reference')].author",
            Some(json!(["Nigel Rees"])),
        ),
        (
            "$.store.book[?(@.category != 'fiction')].author",
            Some(json!(["Nigel Rees"])),
        ),
        (
            "$.store.book[?(@.price > 10 && @.category == 'fiction')].title",
            Some(json!(["Sword", "LOTR"])),
        ),
        (
            "$.store.book[?(@.price < 9 || @.price > 20)].title",
            Some(json!(["Sayings", "Moby Dick", "LOTR"])),
        ),
        (
            "$.store.book[?((@.price < 9) && !(@.isbn))].title",
            Some(json!(["Sayings"])),
        ),
        (
            "$.store.book[?(@.category in ['reference', 'x'])].title",
            Some(json!(["Sayings"])),
        ),
        (
            "$.store.book[?(@.category nin ['fiction'])].title",
            Some(json!(["Sayings"])),
        ),
        ("$.nums[?(@ >= 3)]", Some(json!([3, 4]))),
        (
            "$.store.book[?(@.price == 8.95)].title",
            Some(json!(["Sayings"])),
        ),
        ("$.nums.length()", Some(json!(5))),
        (
            "$.store.book[?(@.author =~ /.*Rees/)].title",
            Some(json!(["Sayings"])),
        ),
        ("$.store.book[?(@.author =~ /rees/)].title", Some(json!([]))),
        (
            "$.store.book[?(@.author =~ /.*rees/i)].title",
            Some(json!(["Sayings"])),
        ),
        (
            "$.store.book[?(@.isbn =~ /0-\\d+/ && @.price > 10)].title",
            Some(json!(["LOTR"])),
        ),
        ("$.store.book[?(@.price =~ /8.*/)].title", Some(json!([]))),
        (
            "$.store.book[?(@.title.length() > 5)].title",
            Some(json!(["Sayings", "Moby Dick"])),
        ),
        (
            "$.store.book[?(@['category'] == \"fiction\" && @.price > 20)].title",
            Some(json!(["LOTR"])),
        ),
        ("$.store.book[*].length()", Some(json!(4))),
        ("$$.Execution.Id", Some(json!("arn:exec"))),
        ("$$.Execution.Input.x", Some(json!(1))),
        (
            "$$",
            Some(
                json!({"Execution": {"Id": "arn:exec", "Input": {"x": 1}}, "State": {"Name": "S"}}),
            ),
        ),
        ("$v", Some(json!({"f": [10, 20]}))),
        ("$v.f[1]", Some(json!(20))),
        ("$v.f[*]", Some(json!([10, 20]))),
        ("$undefined", None),
        ("$undefined[*]", Some(json!([]))),
    ];
    for (path, want) in cases {
        assert_eq!(&sel(path, &input), want, "{path}");
    }
}

#[test]
fn rejects_bad_syntax() {
    for bad in [
        "",
        "a",
        "$.",
        "$..",
        "$[",
        "$[']",
        "$[0",
        "$.a[x]",
        "$.a[1:2:3]",
        "$.a b",
        "$.f()",
        "$[?(@.a =~ /x)]",
        "$[?(@.a =~ /(/)]",
        "$[(@.length-1)]",
        "$[?(@.a <)]",
        "$.length().x",
        "$[?(1)]",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn definiteness() {
    for (p, definite) in [
        ("$", true),
        ("$.a.b[0]", true),
        ("$['a']", true),
        ("$$.Execution.Id", true),
        ("$x.y", true),
        ("$.a[*]", false),
        ("$..a", false),
        ("$.a[0,1]", false),
        ("$.a['b','c']", true),
        ("$['b','c'].d", false),
        ("$.a[1:]", false),
        ("$.a[?(@.b)]", false),
    ] {
        assert_eq!(Path::parse(p).map(|p| p.is_definite()), Ok(definite), "{p}");
    }
}

#[test]
fn reports_referenced_variables() {
    let p = Path::parse("$a.b[?(@.x < $limit && @.y == $a)]").expect("parses");
    assert_eq!(
        p.references_variables(),
        vec!["a".to_string(), "limit".to_string()]
    );
    assert_eq!(p.variable(), Some("a"));
    assert!(Path::parse("$.a")
        .expect("parses")
        .references_variables()
        .is_empty());
}

fn miss(path: &str, input: Value) -> Failure {
    let ctx = json!({});
    let vars = Variables::new();
    let scope = Scope {
        input: &input,
        context: &ctx,
        variables: &vars,
        host: &NoHost,
    };
    let p = Path::parse(path).expect("parses");
    assert_eq!(p.select(&scope), Ok(None), "{path} should miss");
    invalid_path_failure(&p, &scope)
}

#[test]
fn invalid_path_texts_match_aws() {
    // Recorded from AWS (conformance corpus, test_invalid_jsonpath and
    // test_catch_states_runtime).
    let cases = [
        ("$.NoSuchOutputPath", json!({"int-literal": 0}), "Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']"),
        ("$.no.such.result.path", json!({}), "Invalid path '$.no.such.result.path' : Missing property in path $['no']"),
        // Jayway's wording for the other misses.
        ("$.a[3]", json!({"a": [1]}), "Invalid path '$.a[3]' : No results for path: $['a'][3]"),
        ("$.a.b", json!({"a": null}), "Invalid path '$.a.b' : Expected to find an object with property ['b'] in path $['a'] but found 'null'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'."),
        ("$.a[0]", json!({"a": null}), "Invalid path '$.a[0]' : The path $['a'] is null"),
    ];
    for (path, input, cause) in cases {
        let f = miss(path, input);
        assert_eq!(f.error, "States.Runtime");
        assert_eq!(f.cause, cause, "{path}");
    }
}

#[test]
fn field_and_state_causes_match_aws() {
    let f = field_path_failure("$.no_such_jsonpath", "value.$", &json!({"int-literal": 0}));
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(
        state_cause("pass", 2, &f.cause),
        "An error occurred while executing the state 'pass' (entered at the event id #2). The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
    );
    let items = Path::parse("$$.Execution.Input").expect("parses");
    assert_eq!(
        items_path_not_array(&items).cause,
        "Reference path \"$.Execution.Input\" must point to array."
    );
    let items = Path::parse("$$").expect("parses");
    assert_eq!(
        items_path_not_array(&items).cause,
        "Reference path \"$\" must point to array."
    );
}

#[test]
fn reference_paths_are_definite() {
    for ok in [
        "$",
        "$.a.b",
        "$['a']",
        "$.a[0]",
        "$$.Execution.Input",
        "$items",
    ] {
        assert!(ReferencePath::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "$.a[*]",
        "$..a",
        "$.a[0:1]",
        "$.a.length()",
        "$['a','b']",
        "x",
    ] {
        assert!(ReferencePath::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn places_results() {
    let cases: &[(&str, Value, Value, Result<Value, ()>)] = &[
        ("$", json!({"a": 1}), json!(2), Ok(json!(2))),
        (
            "$.r",
            json!({"a": 1}),
            json!(2),
            Ok(json!({"a": 1, "r": 2})),
        ),
        ("$.a", json!({"a": 1}), json!(2), Ok(json!({"a": 2}))),
        (
            "$.x.y.z",
            json!({}),
            json!(true),
            Ok(json!({"x": {"y": {"z": true}}})),
        ),
        (
            "$.x.y",
            json!({"x": {"k": 1}}),
            json!(3),
            Ok(json!({"x": {"k": 1, "y": 3}})),
        ),
        ("$['a b']", json!({}), json!(1), Ok(json!({"a b": 1}))),
        (
            "$.l[1]",
            json!({"l": [1, 2]}),
            json!(9),
            Ok(json!({"l": [1, 9]})),
        ),
        (
            "$.l[-1].k",
            json!({"l": [{}, {}]}),
            json!(9),
            Ok(json!({"l": [{}, {"k": 9}]})),
        ),
        ("$.l[5]", json!({"l": [1, 2]}), json!(9), Err(())),
        ("$.x", json!("a string"), json!(1), Err(())),
        ("$.x", json!([1]), json!(1), Err(())),
        ("$.x.y", json!({"x": 5}), json!(1), Err(())),
        ("$.x.y", json!({"x": null}), json!(1), Err(())),
        ("$$.Execution", json!({}), json!(1), Err(())),
    ];
    for (path, target, value, want) in cases {
        let rp = ReferencePath::parse(path).expect("parses");
        let got = rp.place(target.clone(), value.clone());
        match (got, want) {
            (Ok(v), Ok(w)) => assert_eq!(&v, w, "{path}"),
            (Err(f), Err(())) => {
                assert_eq!(f.error, "States.ResultPathMatchFailure", "{path}");
                assert!(f.cause.contains(path), "{path}: {}", f.cause);
            }
            (got, want) => panic!("{path}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn keeps_key_order_when_placing() {
    let rp = ReferencePath::parse("$.b").expect("parses");
    let out = rp.place(json!({"z": 1, "a": 2}), json!(3)).expect("places");
    assert_eq!(
        serde_json::to_string(&out).ok().as_deref(),
        Some(r#"{"z":1,"a":2,"b":3}"#)
    );
}

/// Bracketed names with quotes and backslashes, read as Jayway reads them
/// (`Utils.unescape`) and written back escaped in the normalized path of a
/// miss, so that the cause text names the key the way AWS prints it.
#[test]
fn bracket_names_with_escapes_follow_jayway() {
    let input = json!({
        "it's": 1, "say \"hi\"": 2, "back\\slash": 3, "tab\there": 4, "é": 5, "a,b": 6
    });
    let cases: &[(&str, Value)] = &[
        (r"$['it\'s']", json!(1)),
        (r#"$["it's"]"#, json!(1)),
        (r#"$['say "hi"']"#, json!(2)),
        (r#"$["say \"hi\""]"#, json!(2)),
        (r"$['back\\slash']", json!(3)),
        (r"$['tab\there']", json!(4)),
        (r"$['\u00e9']", json!(5)),
        (r"$['a,b']", json!(6)),
    ];
    for (path, want) in cases {
        assert_eq!(sel(path, &input).as_ref(), Some(want), "{path}");
    }
    let misses = [
        (
            r"$['no\'pe']",
            r"Invalid path '$['no\'pe']' : No results for path: $['no\'pe']",
        ),
        (
            r"$['no\\pe']",
            r"Invalid path '$['no\\pe']' : No results for path: $['no\\pe']",
        ),
        (
            r"$['x']['it\'s']",
            r"Invalid path '$['x']['it\'s']' : Missing property in path $['x']",
        ),
    ];
    for (path, cause) in misses {
        assert_eq!(miss(path, json!({"a": 1})).cause, cause, "{path}");
    }
    let f = miss(r"$.a['it\'s']", json!({"a": 1}));
    assert!(
        f.cause.contains(r"property ['it\'s'] in path $['a']"),
        "{}",
        f.cause
    );
    assert!(Path::parse(r"$['\u00zz']").is_err());
}
