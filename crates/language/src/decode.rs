//! Decoding: a definition's JSON value → [`crate::ast::StateMachine`].
//!
//! This is the schema check. It walks the whole value and reports *every*
//! problem it finds (wrong types, missing or unknown fields, fields that do
//! not belong to a state type or to its query language, paths and templates
//! that do not compile) as [`Diagnostic`]s with code `SCHEMA_VALIDATION_FAILED`
//! and the JSON Pointer of the offending node. Where AWS has a recorded
//! message for a problem, the message starts with AWS's wording, because the
//! server hands it back verbatim inside `InvalidDefinition`.
//!
//! The decoder never stops at the first problem: a field that cannot be read
//! is reported and replaced by a harmless placeholder, so that the semantic
//! checks in [`mod@crate::validate`] can still run over the rest.

use serde_json::{Map, Value};

use crate::ast::{
    Catcher, Choice, ChoiceBranch, ChoiceRule, Comparison, DataFlow, Fail, Jitter, Map as MapState,
    MapMode, NullablePath, NullableReferencePath, NumberSource, Operand, Parallel, Pass,
    QueryLanguage, Retrier, State, StateKind, StateMachine, StringSource, Task, Transition, Wait,
    WaitDuration,
};
use crate::diagnostic::Diagnostic;
use crate::path::{Path, ReferencePath};
use crate::source::pointer_push;
use crate::template::{Expr, Template};

/// The code of every problem this module reports (AWS's code).
pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
/// Warning: a string in a JSONata field that looks like an expression but
/// is taken literally.
pub const JSONATA_CONSTANT: &str = "JSONATA_CONSTANT";
/// Warning: a distributed-Map field on an inline Map (AWS ignores it).
pub const INLINE_MAP_FIELD: &str = "INLINE_MAP_FIELD";
/// Nesting of branches/processors or of Choice rules beyond this is refused.
pub const TOO_DEEPLY_NESTED: &str = "TOO_DEEPLY_NESTED";

/// Largest value of the `…Seconds` fields and of `MaxAttempts` (AWS's limit).
pub const MAX_SECONDS: u64 = 99_999_999;
/// Largest `MaxDelaySeconds` (one year and a day, AWS's limit).
pub const MAX_DELAY_SECONDS: u64 = 31_622_400;
/// How deep Parallel branches / Map processors and Choice rules may nest.
const MAX_NESTING: usize = 64;

/// Decodes a definition. The machine is `None` only when the value is not an
/// object; otherwise it is built even when there are problems (with
/// placeholders where fields could not be read).
pub fn decode(value: &Value) -> (Option<StateMachine>, Vec<Diagnostic>) {
    let mut d = Decoder::default();
    let Some(obj) = value.as_object() else {
        d.diagnostics.push(Diagnostic::error(
            SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object; wrap the states in {\"StartAt\": …, \"States\": {…}}.",
        ));
        return (None, d.diagnostics);
    };
    let machine = d.machine(obj, "", Level::Top, 0);
    (Some(machine), d.diagnostics)
}

/// Which kind of `StartAt` + `States` object is being decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Branch,
    Processor,
}

#[derive(Default)]
struct Decoder {
    diagnostics: Vec<Diagnostic>,
    /// The machine's `QueryLanguage`: inner states inherit it (not the
    /// language of the Parallel or Map that holds them).
    machine_language: QueryLanguage,
}

/// Where a field is being read: the object's pointer and the state it is in.
#[derive(Clone, Copy)]
struct At<'a> {
    pointer: &'a str,
    state: Option<&'a str>,
}

/// A short description of a JSON value for messages: `the string "5"`.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(60).collect();
            if shown.len() < s.len() {
                format!("the string \"{shown}…\"")
            } else {
                format!("the string \"{shown}\"")
            }
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Whether a string is one whole JSONata expression, `{% … %}`.
pub fn is_jsonata(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// The value as an integer, accepting `5.0` (JSON does not distinguish).
fn as_integer(v: &Value) -> Option<i128> {
    if let Some(i) = v.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = v.as_u64() {
        return Some(i128::from(u));
    }
    match v.as_f64() {
        // The range check keeps the cast exact and in range.
        Some(f) if f.fract() == 0.0 && f.abs() < 1e30 => Some(f as i128),
        _ => None,
    }
}

/// Whether `s` is an RFC 3339 date-time as AWS accepts it: uppercase `T`,
/// `Z` or a numeric offset, optional fractional seconds.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return false;
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2))
    else {
        return false;
    };
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let (Some(oh), Some(om)) = (digits(i + 1, 2), digits(i + 4, 2)) else {
                return false;
            };
            b.get(i + 3) == Some(&b':') && oh <= 23 && om <= 59 && i + 6 == b.len()
        }
        _ => false,
    }
}

/// Fields every state may have.
const COMMON_FIELDS: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// Fields that exist only in JSONPath states, with what replaces each in JSONata.
const JSONPATH_ONLY: &[(&str, &str)] = &[
    (
        "InputPath",
        "\"Arguments\" or \"Output\" with $states.input",
    ),
    ("OutputPath", "\"Output\""),
    ("Parameters", "\"Arguments\" (or \"ItemSelector\" in a Map)"),
    ("ResultSelector", "\"Output\" with $states.result"),
    ("ResultPath", "\"Output\" (or \"Assign\")"),
    ("Result", "\"Output\""),
    ("ItemsPath", "\"Items\""),
    (
        "MaxConcurrencyPath",
        "\"MaxConcurrency\" with an expression",
    ),
    (
        "ToleratedFailurePercentagePath",
        "\"ToleratedFailurePercentage\" with an expression",
    ),
    (
        "ToleratedFailureCountPath",
        "\"ToleratedFailureCount\" with an expression",
    ),
    (
        "TimeoutSecondsPath",
        "\"TimeoutSeconds\" with an expression",
    ),
    (
        "HeartbeatSecondsPath",
        "\"HeartbeatSeconds\" with an expression",
    ),
    ("SecondsPath", "\"Seconds\" with an expression"),
    ("TimestampPath", "\"Timestamp\" with an expression"),
    ("ErrorPath", "\"Error\" with an expression"),
    ("CausePath", "\"Cause\" with an expression"),
];

/// Fields that exist only in JSONata states.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// The fields a state type may carry in a given query language (besides
/// [`COMMON_FIELDS`]).
fn allowed_fields(type_name: &str, ql: QueryLanguage) -> &'static [&'static str] {
    use QueryLanguage::{JsonPath, Jsonata};
    match (type_name, ql) {
        ("Pass", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        ("Pass", Jsonata) => &["Output", "Assign", "Next", "End"],
        ("Task", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        ("Task", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Arguments",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        ("Choice", JsonPath) => &["InputPath", "OutputPath", "Assign", "Choices", "Default"],
        ("Choice", Jsonata) => &["Output", "Assign", "Choices", "Default"],
        ("Wait", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        ("Wait", Jsonata) => &["Output", "Assign", "Next", "End", "Seconds", "Timestamp"],
        ("Succeed", JsonPath) => &["InputPath", "OutputPath"],
        ("Succeed", Jsonata) => &["Output"],
        ("Fail", JsonPath) => &["Error", "ErrorPath", "Cause", "CausePath"],
        ("Fail", Jsonata) => &["Error", "Cause"],
        ("Parallel", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
        ],
        ("Parallel", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Arguments",
            "Retry",
            "Catch",
            "Branches",
        ],
        ("Map", JsonPath) => &[
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Assign",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        ("Map", Jsonata) => &[
            "Output",
            "Assign",
            "Next",
            "End",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        _ => &[],
    }
}

/// Every field name any state may have, for "did you mean" hints.
const ALL_STATE_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "Next",
    "End",
    "Assign",
    "ResultPath",
    "Parameters",
    "Result",
    "ResultSelector",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "Label",
    "Arguments",
    "Output",
    "Items",
];

/// A known name that differs from `key` only in letter case.
fn case_hint(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key) && **k != key)
        .map(|k| format!(" (did you mean \"{k}\"?)"))
        .unwrap_or_default()
}

/// Comparison operators with a literal operand, and whether a `…Path` form exists.
const COMPARISONS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, true),
    ("StringLessThan", Comparison::StringLessThan, true),
    ("StringGreaterThan", Comparison::StringGreaterThan, true),
    (
        "StringLessThanEquals",
        Comparison::StringLessThanEquals,
        true,
    ),
    (
        "StringGreaterThanEquals",
        Comparison::StringGreaterThanEquals,
        true,
    ),
    ("StringMatches", Comparison::StringMatches, false),
    ("NumericEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, true),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, true),
    (
        "NumericLessThanEquals",
        Comparison::NumericLessThanEquals,
        true,
    ),
    (
        "NumericGreaterThanEquals",
        Comparison::NumericGreaterThanEquals,
        true,
    ),
    ("BooleanEquals", Comparison::BooleanEquals, true),
    ("TimestampEquals", Comparison::TimestampEquals, true),
    ("TimestampLessThan", Comparison::TimestampLessThan, true),
    (
        "TimestampGreaterThan",
        Comparison::TimestampGreaterThan,
        true,
    ),
    (
        "TimestampLessThanEquals",
        Comparison::TimestampLessThanEquals,
        true,
    ),
    (
        "TimestampGreaterThanEquals",
        Comparison::TimestampGreaterThanEquals,
        true,
    ),
    ("IsNull", Comparison::IsNull, false),
    ("IsPresent", Comparison::IsPresent, false),
    ("IsNumeric", Comparison::IsNumeric, false),
    ("IsString", Comparison::IsString, false),
    ("IsBoolean", Comparison::IsBoolean, false),
    ("IsTimestamp", Comparison::IsTimestamp, false),
];

/// Resolves an operator key (`NumericEquals`, `NumericEqualsPath`, …).
fn comparison(key: &str) -> Option<(Comparison, bool)> {
    for (name, op, has_path) in COMPARISONS {
        if key == *name {
            return Some((*op, false));
        }
        if *has_path && key.strip_suffix("Path") == Some(name) {
            return Some((*op, true));
        }
    }
    None
}

/// What literal an operator compares with, for messages.
fn operand_kind(op: Comparison) -> &'static str {
    use Comparison::*;
    match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals
        | StringMatches
        | TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => "a string",
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => "a number",
        BooleanEquals | IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => {
            "true or false"
        }
    }
}

fn comparison_name(op: Comparison) -> &'static str {
    COMPARISONS
        .iter()
        .find(|(_, o, _)| *o == op)
        .map(|(n, _, _)| *n)
        .unwrap_or("?")
}

impl Decoder {
    fn error(&mut self, at: At<'_>, pointer: String, message: String) {
        let mut d = Diagnostic::error(SCHEMA_VALIDATION_FAILED, pointer, message);
        d.state = at.state.map(str::to_string);
        self.diagnostics.push(d);
    }

    /// Reports `message` at the field `key` of the object at `at`.
    fn field_error(&mut self, at: At<'_>, key: &str, message: String) {
        self.error(at, pointer_push(at.pointer, key), message);
    }

    fn required(&mut self, at: At<'_>, key: &str) {
        self.error(
            at,
            at.pointer.to_string(),
            format!("The field '{key}' is required but was missing; add \"{key}\" here."),
        );
    }

    fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<&'v str> {
        match obj.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be a string, but it is {}.",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    fn boolean(&mut self, obj: &Map<String, Value>, key: &str, at: At<'_>) -> Option<bool> {
        match obj.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be true or false, but it is {}.",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<&'v Map<String, Value>> {
        match obj.get(key)? {
            Value::Object(o) => Some(o),
            other => {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be an object, but it is {}.",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// An integer field within `min..=max`.
    fn integer(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: At<'_>,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let v = obj.get(key)?;
        self.integer_value(v, key, &pointer_push(at.pointer, key), at, min, max)
    }

    fn integer_value(
        &mut self,
        v: &Value,
        key: &str,
        pointer: &str,
        at: At<'_>,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        match as_integer(v) {
            Some(i) if i >= i128::from(min) && i <= i128::from(max) => u64::try_from(i).ok(),
            _ => {
                self.error(
                    at,
                    pointer.to_string(),
                    format!(
                        "The field \"{key}\" must be an integer from {min} to {max}, but it is {}.",
                        describe(v)
                    ),
                );
                None
            }
        }
    }

    fn path(&mut self, obj: &Map<String, Value>, key: &str, at: At<'_>) -> Option<Path> {
        let s = self.string(obj, key, at)?;
        match Path::parse(s) {
            Ok(p) => Some(p),
            Err(e) => {
                self.field_error(
                    at,
                    key,
                    format!("The value of \"{key}\" is not a valid JSONPath: {e}."),
                );
                None
            }
        }
    }

    fn reference_path(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<ReferencePath> {
        let s = self.string(obj, key, at)?;
        match ReferencePath::parse(s) {
            Ok(p) => Some(p),
            Err(e) => {
                self.field_error(
                    at,
                    key,
                    format!("The value of \"{key}\" is not a valid reference path: {e}."),
                );
                None
            }
        }
    }

    fn nullable_path(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<NullablePath> {
        match obj.get(key)? {
            Value::Null => Some(NullablePath::Null),
            _ => self.path(obj, key, at).map(NullablePath::Path),
        }
    }

    fn nullable_reference_path(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<NullableReferencePath> {
        match obj.get(key)? {
            Value::Null => Some(NullableReferencePath::Null),
            _ => self
                .reference_path(obj, key, at)
                .map(NullableReferencePath::Path),
        }
    }

    /// A JSONPath payload template; `require_object` for the fields AWS
    /// only accepts as objects.
    fn template(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: At<'_>,
        require_object: bool,
    ) -> Option<Template> {
        let v = obj.get(key)?;
        if require_object && !v.is_object() {
            self.field_error(
                at,
                key,
                format!(
                    "The field \"{key}\" must be an object, but it is {}.",
                    describe(v)
                ),
            );
            return None;
        }
        self.compile_template(v, &pointer_push(at.pointer, key), key, at)
    }

    fn compile_template(
        &mut self,
        v: &Value,
        pointer: &str,
        key: &str,
        at: At<'_>,
    ) -> Option<Template> {
        match Template::compile(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    self.error(
                        at,
                        format!("{pointer}{}", e.pointer),
                        format!(
                            "In \"{key}\", the value at {} is not a valid path or intrinsic function: {}.",
                            if e.pointer.is_empty() { "/" } else { &e.pointer },
                            e.error
                        ),
                    );
                }
                None
            }
        }
    }

    /// A JSONata field's strings are expressions only when they are exactly
    /// `{% … %}`; anything else is a constant (AWS accepts `" {% x %} "` as
    /// text). A string that looks like a half-written expression is most
    /// likely a mistake, so it gets a warning, not an error.
    fn check_jsonata_strings(&mut self, v: &Value, pointer: &str, at: At<'_>) {
        let mut todo = vec![(v, pointer.to_string())];
        while let Some((v, p)) = todo.pop() {
            match v {
                Value::String(s) => {
                    let t = s.trim();
                    let looks_like = t.starts_with("{%") || t.ends_with("%}");
                    if looks_like && !is_jsonata(s) {
                        let mut d = Diagnostic::warning(
                            JSONATA_CONSTANT,
                            p,
                            "This string is not evaluated as JSONata: an expression must be the whole string, exactly \"{% … %}\" with nothing outside the delimiters. Fix the delimiters, or ignore this if the text is meant literally.",
                        );
                        d.state = at.state.map(str::to_string);
                        self.diagnostics.push(d);
                    }
                }
                Value::Array(a) => {
                    for (i, e) in a.iter().enumerate() {
                        todo.push((e, pointer_push(&p, &i.to_string())));
                    }
                }
                Value::Object(o) => {
                    for (k, e) in o {
                        todo.push((e, pointer_push(&p, k)));
                    }
                }
                _ => {}
            }
        }
    }

    /// A raw JSONata field (kept as is, delimiters checked).
    fn jsonata_raw(&mut self, obj: &Map<String, Value>, key: &str, at: At<'_>) -> Option<Value> {
        let v = obj.get(key)?;
        self.check_jsonata_strings(v, &pointer_push(at.pointer, key), at);
        Some(v.clone())
    }

    /// `Assign`: an object of variable → value; JSONPath templates compiled
    /// for their diagnostics, the raw value kept.
    fn assign(&mut self, obj: &Map<String, Value>, at: At<'_>, ql: QueryLanguage) -> Option<Value> {
        let v = obj.get("Assign")?;
        if !v.is_object() {
            self.field_error(
                at,
                "Assign",
                format!(
                    "The field \"Assign\" must be an object of variable names to values, but it is {}.",
                    describe(v)
                ),
            );
            return None;
        }
        let pointer = pointer_push(at.pointer, "Assign");
        match ql {
            QueryLanguage::JsonPath => {
                self.compile_template(v, &pointer, "Assign", at);
            }
            QueryLanguage::Jsonata => self.check_jsonata_strings(v, &pointer, at),
        }
        Some(v.clone())
    }

    /// `StartAt` + `States` (+ the top-level or processor fields).
    fn machine(
        &mut self,
        obj: &Map<String, Value>,
        pointer: &str,
        level: Level,
        depth: usize,
    ) -> StateMachine {
        let at = At {
            pointer,
            state: None,
        };
        let mut allowed: Vec<&str> = vec!["StartAt", "States", "Comment"];
        match level {
            Level::Top => allowed.extend(["QueryLanguage", "TimeoutSeconds", "Version"]),
            Level::Processor => allowed.push("ProcessorConfig"),
            Level::Branch => {}
        }
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                let what = match level {
                    Level::Top => "a state machine",
                    Level::Branch => "a Parallel branch",
                    Level::Processor => "a Map item processor",
                };
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" is not supported in {what}{}; remove it.",
                        case_hint(key, &allowed)
                    ),
                );
            }
        }

        if level == Level::Top {
            self.machine_language = match obj.get("QueryLanguage") {
                Some(v) => self.query_language(v, at).unwrap_or_default(),
                None => QueryLanguage::JsonPath,
            };
        }

        let missing: Vec<&str> = ["States", "StartAt"]
            .into_iter()
            .filter(|k| !obj.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            self.error(
                at,
                pointer.to_string(),
                format!(
                    "These fields are required: [{}]; a state machine needs \"StartAt\" (the first state's name) and \"States\" (the states by name).",
                    missing.join(", ")
                ),
            );
        }
        let start_at = self
            .string(obj, "StartAt", at)
            .unwrap_or_default()
            .to_string();
        let comment = self.string(obj, "Comment", at).map(str::to_string);
        let mut timeout_seconds = None;
        let mut version = None;
        if level == Level::Top {
            timeout_seconds = self.integer(obj, "TimeoutSeconds", at, 0, MAX_SECONDS);
            if let Some(v) = self.string(obj, "Version", at) {
                if v != "1.0" {
                    self.field_error(
                        at,
                        "Version",
                        format!("The field \"Version\" must be \"1.0\", but it is \"{v}\"."),
                    );
                }
                version = Some(v.to_string());
            }
        }

        let mut states = Vec::new();
        if let Some(states_obj) = self.object(obj, "States", at) {
            if states_obj.is_empty() {
                self.field_error(
                    at,
                    "States",
                    "The field \"States\" must hold at least one state.".to_string(),
                );
            }
            let states_ptr = pointer_push(pointer, "States");
            for (name, v) in states_obj {
                let state_ptr = pointer_push(&states_ptr, name);
                states.push(self.state(name, v, &state_ptr, depth));
            }
        }

        StateMachine {
            comment,
            start_at,
            states,
            timeout_seconds,
            version,
            query_language: self.machine_language,
            pointer: pointer.to_string(),
        }
    }

    fn query_language(&mut self, v: &Value, at: At<'_>) -> Option<QueryLanguage> {
        match v.as_str() {
            Some("JSONPath") => Some(QueryLanguage::JsonPath),
            Some("JSONata") => Some(QueryLanguage::Jsonata),
            _ => {
                self.field_error(
                    at,
                    "QueryLanguage",
                    format!(
                        "The field \"QueryLanguage\" must be \"JSONPath\" or \"JSONata\", but it is {}.",
                        describe(v)
                    ),
                );
                None
            }
        }
    }

    fn state(&mut self, name: &str, v: &Value, pointer: &str, depth: usize) -> State {
        let at = At {
            pointer,
            state: Some(name),
        };
        // A placeholder for states that cannot be read: terminal, so that it
        // causes no follow-on complaints about transitions.
        let placeholder = |ql| State {
            name: name.to_string(),
            pointer: pointer.to_string(),
            comment: None,
            query_language: ql,
            assign: None,
            io: DataFlow::default(),
            kind: StateKind::Succeed,
        };
        let Some(obj) = v.as_object() else {
            self.error(
                at,
                pointer.to_string(),
                format!(
                    "The state \"{name}\" must be an object with a \"Type\", but it is {}.",
                    describe(v)
                ),
            );
            return placeholder(self.machine_language);
        };

        let ql = match obj.get("QueryLanguage") {
            None => self.machine_language,
            Some(v) => match self.query_language(v, at) {
                Some(QueryLanguage::JsonPath)
                    if self.machine_language == QueryLanguage::Jsonata =>
                {
                    self.error(
                        at,
                        pointer.to_string(),
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine; remove the state's \"QueryLanguage\" or set the machine's to \"JSONPath\".".to_string(),
                    );
                    QueryLanguage::Jsonata
                }
                Some(ql) => ql,
                None => self.machine_language,
            },
        };

        const TYPES: &[&str] = &[
            "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
        ];
        let type_name = match obj.get("Type") {
            None => {
                self.required(at, "Type");
                return placeholder(ql);
            }
            Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.as_str(),
            Some(other) => {
                self.field_error(
                    at,
                    "Type",
                    format!(
                        "The field \"Type\" must be one of {}, but it is {}{}.",
                        TYPES.join(", "),
                        describe(other),
                        other
                            .as_str()
                            .map(|s| case_hint(s, TYPES))
                            .unwrap_or_default()
                    ),
                );
                return placeholder(ql);
            }
        };

        self.check_fields(obj, type_name, ql, at);

        let comment = self.string(obj, "Comment", at).map(str::to_string);
        let assign = self.assign(obj, at, ql);
        let io = self.data_flow(obj, type_name, ql, at);
        let kind = match type_name {
            "Pass" => StateKind::Pass(Pass {
                transition: self.transition(obj, at),
                result: obj.get("Result").cloned(),
            }),
            "Task" => StateKind::Task(self.task(obj, ql, at)),
            "Choice" => StateKind::Choice(self.choice(obj, ql, at)),
            "Wait" => StateKind::Wait(self.wait(obj, ql, at)),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail(self.fail(obj, ql, at)),
            "Parallel" => StateKind::Parallel(self.parallel(obj, ql, at, depth)),
            _ => StateKind::Map(self.map(obj, ql, at, depth)),
        };
        State {
            name: name.to_string(),
            pointer: pointer.to_string(),
            comment,
            query_language: ql,
            assign,
            io,
            kind,
        }
    }

    /// Reports every field the state type (in its query language) does not have.
    fn check_fields(
        &mut self,
        obj: &Map<String, Value>,
        type_name: &str,
        ql: QueryLanguage,
        at: At<'_>,
    ) {
        let allowed = allowed_fields(type_name, ql);
        for key in obj.keys() {
            let key = key.as_str();
            if COMMON_FIELDS.contains(&key) || allowed.contains(&key) {
                continue;
            }
            let message = if let (QueryLanguage::Jsonata, Some((_, instead))) =
                (ql, JSONPATH_ONLY.iter().find(|(k, _)| *k == key))
            {
                format!(
                    "The field \"{key}\" is not supported in JSONata states; use {instead} instead, or set \"QueryLanguage\": \"JSONPath\" on this state."
                )
            } else if ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&key) {
                format!(
                    "The field \"{key}\" is only supported in JSONata states; set \"QueryLanguage\": \"JSONata\" on this state or use the JSONPath fields."
                )
            } else if ALL_STATE_FIELDS.contains(&key) {
                format!("The field \"{key}\" is not supported in a {type_name} state; remove it.")
            } else {
                format!(
                    "The field \"{key}\" is not supported by Step Functions{}; remove it or fix its name.",
                    case_hint(key, ALL_STATE_FIELDS)
                )
            };
            self.field_error(at, key, message);
        }
    }

    /// The input/output fields. Only fields allowed for the state are read
    /// (others were reported by `check_fields`).
    fn data_flow(
        &mut self,
        obj: &Map<String, Value>,
        type_name: &str,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> DataFlow {
        let allowed = allowed_fields(type_name, ql);
        let has = |k: &str| allowed.contains(&k);
        let mut io = DataFlow::default();
        if has("InputPath") {
            io.input_path = self.nullable_path(obj, "InputPath", at);
        }
        if has("OutputPath") {
            io.output_path = self.nullable_path(obj, "OutputPath", at);
        }
        // For a Map, `Parameters` is the legacy name of `ItemSelector`.
        if has("Parameters") && type_name != "Map" {
            io.parameters = self.template(obj, "Parameters", at, type_name != "Pass");
        }
        if has("ResultSelector") {
            io.result_selector = self.template(obj, "ResultSelector", at, true);
        }
        if has("ResultPath") {
            io.result_path = self.nullable_reference_path(obj, "ResultPath", at);
        }
        if has("Arguments") {
            io.arguments = self.jsonata_raw(obj, "Arguments", at);
        }
        if has("Output") {
            io.output = self.jsonata_raw(obj, "Output", at);
        }
        io
    }

    /// `Next` or `End` (exactly one).
    fn transition(&mut self, obj: &Map<String, Value>, at: At<'_>) -> Transition {
        let next = self.string(obj, "Next", at);
        let end = self.boolean(obj, "End", at);
        if obj.contains_key("Next") && end == Some(true) {
            self.error(
                at,
                at.pointer.to_string(),
                "The state has both \"Next\" and \"End\": true; keep only one.".to_string(),
            );
        }
        // A mistyped `End` was reported already; do not add a second complaint.
        let end_unreadable = obj.contains_key("End") && end.is_none();
        if !obj.contains_key("Next") && end != Some(true) && !end_unreadable {
            self.error(
                at,
                at.pointer.to_string(),
                "The state has neither \"Next\" nor \"End\": true; add \"Next\" with the name of the following state, or \"End\": true.".to_string(),
            );
        }
        match next {
            Some(n) => Transition::Next(n.to_string()),
            None => Transition::End,
        }
    }

    /// A literal-or-path (or JSONata expression) number field.
    #[allow(clippy::too_many_arguments)]
    fn number_source(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path_key: Option<&str>,
        ql: QueryLanguage,
        at: At<'_>,
        min: u64,
        max: u64,
        integer: bool,
    ) -> Option<NumberSource> {
        let literal = obj.get(key).and_then(|v| match v {
            Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                Some(NumberSource::Expression(v.clone()))
            }
            _ if integer => self
                .integer(obj, key, at, min, max)
                // Exact: the value is at most MAX_SECONDS-sized.
                .map(|n| NumberSource::Literal(n as f64)),
            _ => match v.as_f64() {
                Some(f) if f >= min as f64 && f <= max as f64 => Some(NumberSource::Literal(f)),
                _ => {
                    self.field_error(
                        at,
                        key,
                        format!(
                            "The field \"{key}\" must be a number from {min} to {max}, but it is {}.",
                            describe(v)
                        ),
                    );
                    None
                }
            },
        });
        let path = match (path_key, ql) {
            (Some(pk), QueryLanguage::JsonPath) if obj.contains_key(pk) => {
                if obj.contains_key(key) {
                    self.error(
                        at,
                        at.pointer.to_string(),
                        format!("The fields \"{key}\" and \"{pk}\" cannot both be set; keep one."),
                    );
                }
                self.reference_path(obj, pk, at).map(NumberSource::Path)
            }
            _ => None,
        };
        literal.or(path)
    }

    fn task(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Task {
        let transition = self.transition(obj, at);
        let resource = match obj.get("Resource") {
            None => {
                self.required(at, "Resource");
                String::new()
            }
            Some(_) => self
                .string(obj, "Resource", at)
                .unwrap_or_default()
                .to_string(),
        };
        if is_jsonata(&resource) {
            self.field_error(
                at,
                "Resource",
                "The field \"Resource\" must be a constant ARN; it cannot be a JSONata expression. Pass dynamic values in \"Arguments\".".to_string(),
            );
        }
        if resource.is_empty() && obj.get("Resource").is_some_and(Value::is_string) {
            self.field_error(
                at,
                "Resource",
                "The field \"Resource\" must not be empty; give the ARN of the task's resource."
                    .to_string(),
            );
        }
        let timeout = self.number_source(
            obj,
            "TimeoutSeconds",
            Some("TimeoutSecondsPath"),
            ql,
            at,
            1,
            MAX_SECONDS,
            true,
        );
        let heartbeat = self.number_source(
            obj,
            "HeartbeatSeconds",
            Some("HeartbeatSecondsPath"),
            ql,
            at,
            1,
            MAX_SECONDS,
            true,
        );
        if let (Some(NumberSource::Literal(t)), Some(NumberSource::Literal(h))) =
            (&timeout, &heartbeat)
        {
            if h >= t {
                self.field_error(
                    at,
                    "HeartbeatSeconds",
                    format!(
                        "\"HeartbeatSeconds\" ({h}) must be smaller than \"TimeoutSeconds\" ({t}); lower it or raise the timeout."
                    ),
                );
            }
        }
        let credentials = self.credentials(obj, ql, at);
        Task {
            transition,
            resource,
            timeout,
            heartbeat,
            credentials,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }

    fn credentials(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Option<Value> {
        let creds = self.object(obj, "Credentials", at)?;
        let pointer = pointer_push(at.pointer, "Credentials");
        let cat = At {
            pointer: &pointer,
            state: at.state,
        };
        let dynamic_key = ql == QueryLanguage::JsonPath && creds.contains_key("RoleArn.$");
        if !creds.contains_key("RoleArn") && !dynamic_key {
            self.error(
                cat,
                pointer.clone(),
                "The field 'RoleArn' is required but was missing; add \"RoleArn\" with the ARN of the role to assume.".to_string(),
            );
        }
        if creds.contains_key("RoleArn") && dynamic_key {
            self.error(
                cat,
                pointer.clone(),
                "The fields \"RoleArn\" and \"RoleArn.$\" cannot both be set; keep one."
                    .to_string(),
            );
        }
        for key in creds.keys() {
            let ok = key == "RoleArn" || (key == "RoleArn.$" && ql == QueryLanguage::JsonPath);
            if !ok {
                self.field_error(
                    cat,
                    key,
                    format!("The field \"{key}\" is not supported in \"Credentials\"; only \"RoleArn\" is."),
                );
            }
        }
        if let Some(s) = creds.get("RoleArn") {
            if !s.is_string() {
                self.field_error(
                    cat,
                    "RoleArn",
                    format!(
                        "The field \"RoleArn\" must be a string, but it is {}.",
                        describe(s)
                    ),
                );
            } else if ql == QueryLanguage::Jsonata {
                self.check_jsonata_strings(s, &pointer_push(&pointer, "RoleArn"), cat);
            }
        }
        if dynamic_key {
            if let Some(s) = self.string(creds, "RoleArn.$", cat) {
                if let Err(e) = Expr::parse(s) {
                    self.field_error(
                        cat,
                        "RoleArn.$",
                        format!("The value of \"RoleArn.$\" is not a valid path or intrinsic function: {e}."),
                    );
                }
            }
        }
        Some(Value::Object(creds.clone()))
    }

    /// `ErrorEquals`: a non-empty array of strings (name checks are in validate).
    fn error_equals(&mut self, obj: &Map<String, Value>, at: At<'_>) -> Vec<String> {
        match obj.get("ErrorEquals") {
            None => {
                self.required(at, "ErrorEquals");
                Vec::new()
            }
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    self.field_error(
                        at,
                        "ErrorEquals",
                        "The field \"ErrorEquals\" must list at least one error name, e.g. [\"States.ALL\"].".to_string(),
                    );
                }
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => self.error(
                            at,
                            pointer_push(&pointer_push(at.pointer, "ErrorEquals"), &i.to_string()),
                            format!(
                                "Error names in \"ErrorEquals\" must be strings, but this is {}.",
                                describe(v)
                            ),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.field_error(
                    at,
                    "ErrorEquals",
                    format!(
                        "The field \"ErrorEquals\" must be an array of error names, but it is {}.",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    /// The array under `key`, with each element's pointer; reports a non-array.
    fn array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Vec<(String, &'v Value)> {
        match obj.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let base = pointer_push(at.pointer, key);
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (pointer_push(&base, &i.to_string()), v))
                    .collect()
            }
            Some(other) => {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be an array, but it is {}.",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    fn check_keys(&mut self, obj: &Map<String, Value>, allowed: &[&str], what: &str, at: At<'_>) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" is not supported in {what}{}; remove it.",
                        case_hint(key, allowed)
                    ),
                );
            }
        }
    }

    fn retriers(&mut self, obj: &Map<String, Value>, at: At<'_>) -> Vec<Retrier> {
        let mut out = Vec::new();
        for (pointer, v) in self.array(obj, "Retry", at) {
            let rat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(r) = v.as_object() else {
                self.error(
                    rat,
                    pointer.clone(),
                    format!(
                        "A Retry rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            self.check_keys(
                r,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                "a Retry rule",
                rat,
            );
            let error_equals = self.error_equals(r, rat);
            self.string(r, "Comment", rat);
            let interval_seconds = self
                .integer(r, "IntervalSeconds", rat, 1, MAX_SECONDS)
                .unwrap_or(1);
            let max_attempts = self
                .integer(r, "MaxAttempts", rat, 0, MAX_SECONDS)
                .unwrap_or(3);
            let backoff_rate = match r.get("BackoffRate") {
                None => 2.0,
                Some(v) => match v.as_f64() {
                    Some(f) if f >= 1.0 => f,
                    _ => {
                        self.field_error(
                            rat,
                            "BackoffRate",
                            format!(
                                "The field \"BackoffRate\" must be a number of at least 1.0, but it is {}.",
                                describe(v)
                            ),
                        );
                        2.0
                    }
                },
            };
            let max_delay_seconds = self.integer(r, "MaxDelaySeconds", rat, 1, MAX_DELAY_SECONDS);
            let jitter = match r.get("JitterStrategy") {
                None => Jitter::None,
                Some(v) => match v.as_str() {
                    Some("FULL") => Jitter::Full,
                    Some("NONE") => Jitter::None,
                    _ => {
                        self.field_error(
                            rat,
                            "JitterStrategy",
                            format!(
                                "The field \"JitterStrategy\" must be \"FULL\" or \"NONE\", but it is {}.",
                                describe(v)
                            ),
                        );
                        Jitter::None
                    }
                },
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter,
                pointer: pointer.clone(),
            });
        }
        out
    }

    fn catchers(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Vec<Catcher> {
        let mut out = Vec::new();
        for (pointer, v) in self.array(obj, "Catch", at) {
            let cat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(c) = v.as_object() else {
                self.error(
                    cat,
                    pointer.clone(),
                    format!(
                        "A Catch rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            let allowed: &[&str] = match ql {
                QueryLanguage::JsonPath => {
                    &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
                }
                QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign", "Comment"],
            };
            for key in c.keys() {
                if allowed.contains(&key.as_str()) {
                    continue;
                }
                let message = match (ql, key.as_str()) {
                    (QueryLanguage::Jsonata, "ResultPath") => "The field \"ResultPath\" is not supported in JSONata states; use \"Output\" with $states.errorOutput instead.".to_string(),
                    (QueryLanguage::JsonPath, "Output") => "The field \"Output\" is only supported in JSONata states; use \"ResultPath\" here.".to_string(),
                    _ => format!(
                        "The field \"{key}\" is not supported in a Catch rule{}; remove it.",
                        case_hint(key, allowed)
                    ),
                };
                self.field_error(cat, key, message);
            }
            let error_equals = self.error_equals(c, cat);
            self.string(c, "Comment", cat);
            let next = match c.get("Next") {
                None => {
                    self.required(cat, "Next");
                    String::new()
                }
                Some(_) => self.string(c, "Next", cat).unwrap_or_default().to_string(),
            };
            let result_path = match ql {
                QueryLanguage::JsonPath => self.nullable_reference_path(c, "ResultPath", cat),
                QueryLanguage::Jsonata => None,
            };
            let output = match ql {
                QueryLanguage::Jsonata => self.jsonata_raw(c, "Output", cat),
                QueryLanguage::JsonPath => None,
            };
            let assign = self.assign(c, cat, ql);
            out.push(Catcher {
                error_equals,
                next,
                result_path,
                assign,
                output,
                pointer: pointer.clone(),
            });
        }
        out
    }

    fn choice(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Choice {
        let default = self.string(obj, "Default", at).map(str::to_string);
        let mut choices = Vec::new();
        match obj.get("Choices") {
            None => self.required(at, "Choices"),
            Some(Value::Array(a)) if a.is_empty() => self.field_error(
                at,
                "Choices",
                "The field \"Choices\" must hold at least one rule.".to_string(),
            ),
            _ => {}
        }
        for (pointer, v) in self.array(obj, "Choices", at) {
            let rat = At {
                pointer: &pointer,
                state: at.state,
            };
            let Some(r) = v.as_object() else {
                self.error(
                    rat,
                    pointer.clone(),
                    format!(
                        "A Choice rule must be an object, but this is {}.",
                        describe(v)
                    ),
                );
                continue;
            };
            let next = match r.get("Next") {
                None => {
                    self.error(
                        rat,
                        pointer.clone(),
                        "This Choice rule has no \"Next\"; every top-level rule needs \"Next\" with the state to go to when it matches.".to_string(),
                    );
                    String::new()
                }
                Some(_) => self.string(r, "Next", rat).unwrap_or_default().to_string(),
            };
            let assign = self.assign(r, rat, ql);
            let (rule, output) = match ql {
                QueryLanguage::Jsonata => {
                    self.check_keys(
                        r,
                        &["Condition", "Next", "Assign", "Output", "Comment"],
                        "a JSONata Choice rule (use \"Condition\")",
                        rat,
                    );
                    self.string(r, "Comment", rat);
                    let condition = match r.get("Condition") {
                        None => {
                            self.required(rat, "Condition");
                            Value::Bool(false)
                        }
                        Some(v @ Value::Bool(_)) => v.clone(),
                        Some(v @ Value::String(s)) if is_jsonata(s) => v.clone(),
                        Some(v) => {
                            self.field_error(
                                rat,
                                "Condition",
                                format!(
                                    "The field \"Condition\" must be true, false or a JSONata expression \"{{% … %}}\", but it is {}.",
                                    describe(v)
                                ),
                            );
                            Value::Bool(false)
                        }
                    };
                    let output = self.jsonata_raw(r, "Output", rat);
                    (ChoiceRule::Condition(condition), output)
                }
                QueryLanguage::JsonPath => {
                    if r.contains_key("Output") {
                        self.field_error(
                            rat,
                            "Output",
                            "The field \"Output\" is only supported in JSONata Choice rules; remove it.".to_string(),
                        );
                    }
                    (self.rule(r, rat, true, 0), None)
                }
            };
            choices.push(ChoiceBranch {
                rule,
                next,
                assign,
                output,
                pointer: pointer.clone(),
            });
        }
        Choice { choices, default }
    }

    /// A JSONPath Choice rule (boolean or data-test expression).
    fn rule(&mut self, r: &Map<String, Value>, at: At<'_>, top: bool, depth: usize) -> ChoiceRule {
        let placeholder = ChoiceRule::Condition(Value::Bool(false));
        if depth > MAX_NESTING {
            let mut d = Diagnostic::error(
                TOO_DEEPLY_NESTED,
                at.pointer,
                format!("Choice rules are nested more than {MAX_NESTING} levels deep; simplify the rule."),
            );
            d.state = at.state.map(str::to_string);
            self.diagnostics.push(d);
            return placeholder;
        }
        let mut operators: Vec<&str> = Vec::new();
        for key in r.keys() {
            let key = key.as_str();
            match key {
                "Next" | "Assign" if top => {}
                "Comment" | "Variable" | "Output" => {}
                "Next" | "Assign" => self.field_error(
                    at,
                    key,
                    format!("The field \"{key}\" is only allowed in a top-level Choice rule, not inside \"And\", \"Or\" or \"Not\"; remove it."),
                ),
                "And" | "Or" | "Not" => operators.push(key),
                "Condition" => self.field_error(
                    at,
                    key,
                    "The field \"Condition\" is only supported in JSONata states; use \"Variable\" with a comparison operator, or set \"QueryLanguage\": \"JSONata\".".to_string(),
                ),
                _ if comparison(key).is_some() => operators.push(key),
                _ => {
                    let known: Vec<String> = COMPARISONS
                        .iter()
                        .flat_map(|(n, _, p)| {
                            let mut v = vec![n.to_string()];
                            if *p {
                                v.push(format!("{n}Path"));
                            }
                            v
                        })
                        .collect();
                    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
                    self.field_error(
                        at,
                        key,
                        format!(
                            "The field \"{key}\" is not a Choice rule operator{}; remove it or fix its name.",
                            case_hint(key, &refs)
                        ),
                    );
                }
            }
        }
        self.string(r, "Comment", at);
        let op = match operators.as_slice() {
            [op] => *op,
            [] => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    "This Choice rule has no operator; give \"Variable\" with one comparison (e.g. \"StringEquals\"), or \"And\", \"Or\" or \"Not\".".to_string(),
                );
                return placeholder;
            }
            many => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "This Choice rule has more than one operator ({}); a rule has exactly one, combine several with \"And\" or \"Or\".",
                        many.join(", ")
                    ),
                );
                return placeholder;
            }
        };
        match op {
            "And" | "Or" => {
                if r.contains_key("Variable") {
                    self.field_error(
                        at,
                        "Variable",
                        format!("The field \"Variable\" is not allowed beside \"{op}\"; put it in the nested rules."),
                    );
                }
                let mut rules = Vec::new();
                match r.get(op) {
                    Some(Value::Array(items)) if !items.is_empty() => {
                        let base = pointer_push(at.pointer, op);
                        for (i, v) in items.iter().enumerate() {
                            let p = pointer_push(&base, &i.to_string());
                            let nat = At {
                                pointer: &p,
                                state: at.state,
                            };
                            match v.as_object() {
                                Some(o) => rules.push(self.rule(o, nat, false, depth + 1)),
                                None => self.error(
                                    nat,
                                    p.clone(),
                                    format!(
                                        "A Choice rule must be an object, but this is {}.",
                                        describe(v)
                                    ),
                                ),
                            }
                        }
                    }
                    Some(v) => {
                        let what = if v.is_array() {
                            "an empty array".to_string()
                        } else {
                            describe(v)
                        };
                        self.field_error(
                            at,
                            op,
                            format!("The field \"{op}\" must be a non-empty array of Choice rules, but it is {what}."),
                        );
                    }
                    None => {}
                }
                if op == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                }
            }
            "Not" => {
                if r.contains_key("Variable") {
                    self.field_error(
                        at,
                        "Variable",
                        "The field \"Variable\" is not allowed beside \"Not\"; put it in the nested rule.".to_string(),
                    );
                }
                match r.get("Not") {
                    Some(Value::Object(o)) => {
                        let p = pointer_push(at.pointer, "Not");
                        let nat = At {
                            pointer: &p,
                            state: at.state,
                        };
                        ChoiceRule::Not(Box::new(self.rule(o, nat, false, depth + 1)))
                    }
                    Some(v) => {
                        self.field_error(
                            at,
                            "Not",
                            format!("The field \"Not\" must be a single Choice rule object, but it is {}.", describe(v)),
                        );
                        placeholder
                    }
                    None => placeholder,
                }
            }
            _ => self.comparison_rule(r, op, at).unwrap_or(placeholder),
        }
    }

    fn comparison_rule(
        &mut self,
        r: &Map<String, Value>,
        key: &str,
        at: At<'_>,
    ) -> Option<ChoiceRule> {
        let (op, is_path) = comparison(key)?;
        let variable = match r.get("Variable") {
            None => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!("The comparison \"{key}\" needs a \"Variable\" (the path of the value to compare); add it."),
                );
                None
            }
            Some(_) => self.path(r, "Variable", at),
        };
        let v = r.get(key)?;
        let operand = if is_path {
            self.path(r, key, at).map(Operand::Path)
        } else {
            let ok = match op {
                Comparison::StringEquals
                | Comparison::StringLessThan
                | Comparison::StringGreaterThan
                | Comparison::StringLessThanEquals
                | Comparison::StringGreaterThanEquals
                | Comparison::StringMatches => v.is_string(),
                Comparison::NumericEquals
                | Comparison::NumericLessThan
                | Comparison::NumericGreaterThan
                | Comparison::NumericLessThanEquals
                | Comparison::NumericGreaterThanEquals => v.is_number(),
                Comparison::TimestampEquals
                | Comparison::TimestampLessThan
                | Comparison::TimestampGreaterThan
                | Comparison::TimestampLessThanEquals
                | Comparison::TimestampGreaterThanEquals => v.is_string(),
                Comparison::BooleanEquals
                | Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp => v.is_boolean(),
            };
            if ok {
                Some(Operand::Literal(v.clone()))
            } else {
                let wanted = operand_kind(op);
                let hint = if matches!(v, Value::String(s) if s.starts_with('$')) {
                    format!(
                        " (to compare with a path, use \"{}Path\")",
                        comparison_name(op)
                    )
                } else {
                    String::new()
                };
                self.field_error(
                    at,
                    key,
                    format!(
                        "The operator \"{key}\" must be given {wanted}, but it is {}{hint}.",
                        describe(v)
                    ),
                );
                None
            }
        };
        Some(ChoiceRule::Compare {
            variable: variable?,
            op,
            operand: operand?,
        })
    }

    fn wait(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Wait {
        let transition = self.transition(obj, at);
        let candidates: &[&str] = match ql {
            QueryLanguage::JsonPath => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
            QueryLanguage::Jsonata => &["Seconds", "Timestamp"],
        };
        let present: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let placeholder = WaitDuration::Seconds(0);
        let key = match present.as_slice() {
            [k] => *k,
            [] => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "A Wait state needs exactly one of {}; add one.",
                        candidates.join(", ")
                    ),
                );
                return Wait {
                    transition,
                    duration: placeholder,
                };
            }
            many => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "A Wait state takes exactly one of {}, but this one has {}; keep one.",
                        candidates.join(", "),
                        many.join(" and ")
                    ),
                );
                many.first().copied().unwrap_or("Seconds")
            }
        };
        let v = obj.get(key).unwrap_or(&Value::Null);
        let duration = match key {
            "Seconds" => match v {
                Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                    Some(WaitDuration::SecondsExpression(v.clone()))
                }
                _ => self
                    .integer(obj, "Seconds", at, 0, MAX_SECONDS)
                    .map(WaitDuration::Seconds),
            },
            "SecondsPath" => self
                .reference_path(obj, key, at)
                .map(WaitDuration::SecondsPath),
            "TimestampPath" => self
                .reference_path(obj, key, at)
                .map(WaitDuration::TimestampPath),
            _ => match v {
                Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                    Some(WaitDuration::TimestampExpression(v.clone()))
                }
                Value::String(s) if is_rfc3339(s) => Some(WaitDuration::Timestamp(s.clone())),
                Value::String(_) => {
                    self.field_error(
                        at,
                        "Timestamp",
                        "String does not match RFC3339 timestamp; write it like \"2016-03-14T01:59:00Z\".".to_string(),
                    );
                    None
                }
                other => {
                    self.field_error(
                        at,
                        "Timestamp",
                        format!("The field \"Timestamp\" must be an RFC 3339 timestamp string, but it is {}.", describe(other)),
                    );
                    None
                }
            },
        };
        Wait {
            transition,
            duration: duration.unwrap_or(placeholder),
        }
    }

    fn fail(&mut self, obj: &Map<String, Value>, ql: QueryLanguage, at: At<'_>) -> Fail {
        let source = |d: &mut Self, key: &str, path_key: &str| -> Option<StringSource> {
            let literal = d.string(obj, key, at).map(|s| match ql {
                QueryLanguage::Jsonata if is_jsonata(s) => {
                    StringSource::Expression(Value::String(s.to_string()))
                }
                _ => StringSource::Literal(s.to_string()),
            });
            if ql == QueryLanguage::Jsonata {
                if let Some(v) = obj.get(key) {
                    d.check_jsonata_strings(v, &pointer_push(at.pointer, key), at);
                }
                return literal;
            }
            if !obj.contains_key(path_key) {
                return literal;
            }
            if obj.contains_key(key) {
                d.error(
                    at,
                    at.pointer.to_string(),
                    format!(
                        "The fields \"{key}\" and \"{path_key}\" cannot both be set; keep one."
                    ),
                );
            }
            let s = d.string(obj, path_key, at)?;
            match Expr::parse(s) {
                Ok(e) => literal.or(Some(StringSource::Dynamic(e))),
                Err(e) => {
                    d.field_error(
                        at,
                        path_key,
                        format!("The value of \"{path_key}\" is not a valid path or intrinsic function: {e}."),
                    );
                    literal
                }
            }
        };
        let error = source(self, "Error", "ErrorPath");
        let cause = source(self, "Cause", "CausePath");
        Fail { error, cause }
    }

    /// The nested `StartAt` + `States` objects of Parallel and Map.
    fn sub_machine(
        &mut self,
        v: &Value,
        pointer: &str,
        level: Level,
        at: At<'_>,
        depth: usize,
    ) -> StateMachine {
        let language = self.machine_language;
        let empty = |p: &str| StateMachine {
            comment: None,
            start_at: String::new(),
            states: Vec::new(),
            timeout_seconds: None,
            version: None,
            query_language: language,
            pointer: p.to_string(),
        };
        if depth >= MAX_NESTING {
            let mut d = Diagnostic::error(
                TOO_DEEPLY_NESTED,
                pointer,
                format!("Parallel and Map states are nested more than {MAX_NESTING} levels deep; flatten the machine."),
            );
            d.state = at.state.map(str::to_string);
            self.diagnostics.push(d);
            return empty(pointer);
        }
        match v.as_object() {
            Some(o) => self.machine(o, pointer, level, depth + 1),
            None => {
                self.error(
                    at,
                    pointer.to_string(),
                    format!(
                        "This must be an object with \"StartAt\" and \"States\", but it is {}.",
                        describe(v)
                    ),
                );
                empty(pointer)
            }
        }
    }

    fn parallel(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
        depth: usize,
    ) -> Parallel {
        let transition = self.transition(obj, at);
        let mut branches = Vec::new();
        match obj.get("Branches") {
            None => self.required(at, "Branches"),
            Some(Value::Array(a)) if a.is_empty() => self.field_error(
                at,
                "Branches",
                "The field \"Branches\" must hold at least one branch.".to_string(),
            ),
            _ => {}
        }
        for (pointer, v) in self.array(obj, "Branches", at) {
            branches.push(self.sub_machine(v, &pointer, Level::Branch, at, depth));
        }
        Parallel {
            transition,
            branches,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }

    /// `ItemReader`, `ItemBatcher` or `ResultWriter`: kept raw for the
    /// runtime, but their shape is checked here so that mistakes surface at
    /// creation rather than when the Map runs.
    fn distributed_part(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Option<Value> {
        let part = self.object(obj, key, at)?;
        let pointer = pointer_push(at.pointer, key);
        let pat = At {
            pointer: &pointer,
            state: at.state,
        };
        let payload = match ql {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        };
        let what = format!("\"{key}\"");
        match key {
            "ItemReader" => {
                self.check_part_keys(part, &["Resource", "ReaderConfig", payload], ql, &what, pat);
                self.part_resource(part, pat);
                if let Some(config) = self.object(part, "ReaderConfig", pat) {
                    let cp = pointer_push(&pointer, "ReaderConfig");
                    let cat = At {
                        pointer: &cp,
                        state: at.state,
                    };
                    let mut allowed = vec![
                        "InputType",
                        "CSVHeaderLocation",
                        "CSVHeaders",
                        "CSVDelimiter",
                        "MaxItems",
                        "ManifestType",
                        "ItemsPointer",
                    ];
                    if ql == QueryLanguage::JsonPath {
                        allowed.push("MaxItemsPath");
                    }
                    self.check_part_keys(config, &allowed, ql, "\"ReaderConfig\"", cat);
                    self.enumeration(
                        config,
                        "InputType",
                        &["CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"],
                        cat,
                    );
                    self.enumeration(config, "CSVHeaderLocation", &["FIRST_ROW", "GIVEN"], cat);
                    self.enumeration(
                        config,
                        "CSVDelimiter",
                        &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
                        cat,
                    );
                    // AWS accepts 0 (no limit).
                    self.count_or_expression(config, "MaxItems", ql, cat, 0);
                    if ql == QueryLanguage::JsonPath {
                        self.reference_path(config, "MaxItemsPath", cat);
                    }
                }
            }
            "ItemBatcher" => {
                let mut allowed = vec!["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"];
                if ql == QueryLanguage::JsonPath {
                    allowed.extend(["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"]);
                }
                self.check_part_keys(part, &allowed, ql, &what, pat);
                if !allowed
                    .iter()
                    .any(|k| k.starts_with("Max") && part.contains_key(*k))
                {
                    self.error(
                        pat,
                        pointer.clone(),
                        "An \"ItemBatcher\" needs \"MaxItemsPerBatch\" or \"MaxInputBytesPerBatch\" (or their Path forms); add one.".to_string(),
                    );
                }
                self.count_or_expression(part, "MaxItemsPerBatch", ql, pat, 1);
                self.count_or_expression(part, "MaxInputBytesPerBatch", ql, pat, 1);
                if ql == QueryLanguage::JsonPath {
                    self.reference_path(part, "MaxItemsPerBatchPath", pat);
                    self.reference_path(part, "MaxInputBytesPerBatchPath", pat);
                    if part.contains_key("BatchInput") {
                        self.template(part, "BatchInput", pat, true);
                    }
                }
            }
            _ => {
                self.check_part_keys(part, &["Resource", "WriterConfig", payload], ql, &what, pat);
                if part.contains_key(payload) && !part.contains_key("Resource") {
                    self.required(pat, "Resource");
                }
                if part.contains_key("Resource") {
                    self.part_resource(part, pat);
                }
                if let Some(config) = self.object(part, "WriterConfig", pat) {
                    let cp = pointer_push(&pointer, "WriterConfig");
                    let cat = At {
                        pointer: &cp,
                        state: at.state,
                    };
                    self.check_part_keys(
                        config,
                        &["OutputType", "Transformation"],
                        ql,
                        "\"WriterConfig\"",
                        cat,
                    );
                    self.enumeration(config, "OutputType", &["JSON", "JSONL"], cat);
                    self.enumeration(
                        config,
                        "Transformation",
                        &["NONE", "COMPACT", "FLATTEN"],
                        cat,
                    );
                }
            }
        }
        match ql {
            QueryLanguage::JsonPath => {
                if part.contains_key("Parameters") {
                    self.template(part, "Parameters", pat, true);
                }
            }
            QueryLanguage::Jsonata => {
                self.check_jsonata_strings(&Value::Object(part.clone()), &pointer, at)
            }
        }
        Some(Value::Object(part.clone()))
    }

    /// Unknown keys of a distributed-Map part, with the query-language hint.
    fn check_part_keys(
        &mut self,
        part: &Map<String, Value>,
        allowed: &[&str],
        ql: QueryLanguage,
        what: &str,
        at: At<'_>,
    ) {
        for key in part.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match (ql, key.as_str()) {
                (QueryLanguage::Jsonata, "Parameters") => format!("The field \"Parameters\" is not supported in JSONata states; use \"Arguments\" in {what}."),
                (QueryLanguage::JsonPath, "Arguments") => format!("The field \"Arguments\" is only supported in JSONata states; use \"Parameters\" in {what}."),
                (QueryLanguage::Jsonata, k) if k.ends_with("Path") => format!("The field \"{k}\" is not supported in JSONata states; give \"{}\" an expression instead.", k.trim_end_matches("Path")),
                _ => format!("The field \"{key}\" is not supported in {what}{}; remove it.", case_hint(key, allowed)),
            };
            self.field_error(at, key, message);
        }
    }

    fn part_resource(&mut self, part: &Map<String, Value>, at: At<'_>) {
        match part.get("Resource") {
            None => self.required(at, "Resource"),
            Some(_) => {
                self.string(part, "Resource", at);
            }
        }
    }

    fn enumeration(&mut self, obj: &Map<String, Value>, key: &str, values: &[&str], at: At<'_>) {
        if let Some(v) = obj.get(key) {
            if !v.as_str().is_some_and(|s| values.contains(&s)) {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be one of {}, but it is {}.",
                        values.join(", "),
                        describe(v)
                    ),
                );
            }
        }
    }

    /// An integer of at least `min`, or (in JSONata) an expression.
    fn count_or_expression(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ql: QueryLanguage,
        at: At<'_>,
        min: u64,
    ) {
        match obj.get(key) {
            Some(Value::String(s)) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {}
            Some(_) => {
                self.integer(obj, key, at, min, u64::from(u32::MAX));
            }
            None => {}
        }
    }

    fn map(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
        depth: usize,
    ) -> MapState {
        let transition = self.transition(obj, at);
        let processor_key = match (
            obj.contains_key("ItemProcessor"),
            obj.contains_key("Iterator"),
        ) {
            (true, true) => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    "The fields \"ItemProcessor\" and \"Iterator\" cannot both be set; keep \"ItemProcessor\" (\"Iterator\" is its deprecated name).".to_string(),
                );
                "ItemProcessor"
            }
            (true, false) => "ItemProcessor",
            (false, true) => "Iterator",
            (false, false) => {
                self.required(at, "ItemProcessor");
                "ItemProcessor"
            }
        };
        let processor_ptr = pointer_push(at.pointer, processor_key);
        let processor_value = obj.get(processor_key).cloned().unwrap_or_else(|| {
            // Keeps the AST whole; the missing field was reported above.
            serde_json::json!({"StartAt": "", "States": {}})
        });
        let missing_processor = !obj.contains_key(processor_key);
        let mut mode = MapMode::Inline;
        let mut execution_type = None;
        if let Some(config) = processor_value.get("ProcessorConfig") {
            let cp = pointer_push(&processor_ptr, "ProcessorConfig");
            let cat = At {
                pointer: &cp,
                state: at.state,
            };
            match config.as_object() {
                Some(c) => {
                    self.check_keys(c, &["Mode", "ExecutionType"], "\"ProcessorConfig\"", cat);
                    match c.get("Mode").map(|v| (v, v.as_str())) {
                        None | Some((_, Some("INLINE"))) => {}
                        Some((_, Some("DISTRIBUTED"))) => mode = MapMode::Distributed,
                        Some((v, _)) => self.field_error(
                            cat,
                            "Mode",
                            format!("The field \"Mode\" must be \"INLINE\" or \"DISTRIBUTED\", but it is {}.", describe(v)),
                        ),
                    }
                    match c.get("ExecutionType").map(|v| (v, v.as_str())) {
                        None => {}
                        Some((_, Some(t @ ("STANDARD" | "EXPRESS")))) => {
                            execution_type = Some(t.to_string());
                        }
                        Some((v, _)) => self.field_error(
                            cat,
                            "ExecutionType",
                            format!("The field \"ExecutionType\" must be \"STANDARD\" or \"EXPRESS\", but it is {}.", describe(v)),
                        ),
                    }
                    if mode == MapMode::Distributed && execution_type.is_none() {
                        self.error(
                            cat,
                            cp.clone(),
                            "A distributed Map needs \"ExecutionType\" (\"STANDARD\" or \"EXPRESS\") in \"ProcessorConfig\"; add it.".to_string(),
                        );
                    }
                    if mode == MapMode::Inline && execution_type.is_some() {
                        self.field_error(
                            cat,
                            "ExecutionType",
                            "The field \"ExecutionType\" is only used by distributed Maps; remove it or set \"Mode\": \"DISTRIBUTED\".".to_string(),
                        );
                    }
                }
                None => self.error(
                    cat,
                    cp.clone(),
                    format!(
                        "The field \"ProcessorConfig\" must be an object, but it is {}.",
                        describe(config)
                    ),
                ),
            }
        }
        // The legacy Iterator takes the same fields as ItemProcessor.
        let level = Level::Processor;
        let processor = if missing_processor {
            StateMachine {
                comment: None,
                start_at: String::new(),
                states: Vec::new(),
                timeout_seconds: None,
                version: None,
                query_language: self.machine_language,
                pointer: processor_ptr.clone(),
            }
        } else {
            self.sub_machine(&processor_value, &processor_ptr, level, at, depth)
        };

        let (items_path, items) = match ql {
            QueryLanguage::JsonPath => (self.reference_path(obj, "ItemsPath", at), None),
            QueryLanguage::Jsonata => {
                let items = self.jsonata_raw(obj, "Items", at);
                if let Some(v) = &items {
                    let ok = v.is_array() || v.is_object() || v.as_str().is_some_and(is_jsonata);
                    if !ok {
                        self.field_error(
                            at,
                            "Items",
                            format!("The field \"Items\" must be an array or a JSONata expression, but it is {}.", describe(v)),
                        );
                    }
                }
                (None, items)
            }
        };

        let (item_selector, item_selector_jsonata) = match ql {
            QueryLanguage::JsonPath => {
                if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
                    self.error(
                        at,
                        at.pointer.to_string(),
                        "The fields \"ItemSelector\" and \"Parameters\" cannot both be set; keep \"ItemSelector\" (\"Parameters\" is its deprecated name).".to_string(),
                    );
                }
                let key = if obj.contains_key("ItemSelector") {
                    "ItemSelector"
                } else {
                    "Parameters"
                };
                (self.template(obj, key, at, true), None)
            }
            QueryLanguage::Jsonata => (None, self.jsonata_raw(obj, "ItemSelector", at)),
        };

        let max_concurrency = self.number_source(
            obj,
            "MaxConcurrency",
            Some("MaxConcurrencyPath"),
            ql,
            at,
            0,
            u64::from(u32::MAX),
            true,
        );
        let tolerated_failure_percentage = self.number_source(
            obj,
            "ToleratedFailurePercentage",
            Some("ToleratedFailurePercentagePath"),
            ql,
            at,
            0,
            100,
            false,
        );
        let tolerated_failure_count = self.number_source(
            obj,
            "ToleratedFailureCount",
            Some("ToleratedFailureCountPath"),
            ql,
            at,
            0,
            u64::from(u32::MAX),
            true,
        );
        let item_reader = self.distributed_part(obj, "ItemReader", ql, at);
        let item_batcher = self.distributed_part(obj, "ItemBatcher", ql, at);
        let result_writer = self.distributed_part(obj, "ResultWriter", ql, at);
        let label = self.string(obj, "Label", at).map(str::to_string);
        if let Some(l) = &label {
            if l.chars().count() > 40
                || l.chars()
                    .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
            {
                self.field_error(
                    at,
                    "Label",
                    "The field \"Label\" must be at most 40 characters without spaces or special characters.".to_string(),
                );
            }
        }
        if mode == MapMode::Inline {
            for key in [
                "ItemReader",
                "ItemBatcher",
                "ResultWriter",
                "Label",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
            ] {
                // AWS accepts these on inline Maps (the corpus runs such
                // machines), so this is only a warning.
                if obj.contains_key(key) {
                    let mut d = Diagnostic::warning(
                        INLINE_MAP_FIELD,
                        pointer_push(at.pointer, key),
                        format!("The field \"{key}\" is meant for distributed Maps; set \"ProcessorConfig\": {{\"Mode\": \"DISTRIBUTED\", …}} or check that it does what you expect here."),
                    );
                    d.state = at.state.map(str::to_string);
                    self.diagnostics.push(d);
                }
            }
        }

        MapState {
            transition,
            processor: Box::new(processor),
            mode,
            execution_type,
            items_path,
            items,
            item_selector,
            item_selector_jsonata,
            max_concurrency,
            tolerated_failure_percentage,
            tolerated_failure_count,
            item_reader,
            item_batcher,
            result_writer,
            label,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(v: Value) -> StateMachine {
        let (machine, diagnostics) = decode(&v);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        machine.expect("an object")
    }

    #[test]
    fn choice_rules_decode_into_the_ast() {
        let m = decoded(
            serde_json::json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [
                {"And": [{"Variable": "$.a", "NumericGreaterThanPath": "$.b"},
                         {"Not": {"Variable": "$$.Execution.Name", "StringMatches": "x*"}}],
                 "Next": "C", "Assign": {"seen": true}},
                {"Variable": "$.t", "IsTimestamp": true, "Next": "C"}],
            "Default": "C"}}}),
        );
        let StateKind::Choice(c) = &m.states[0].kind else {
            panic!("not a Choice")
        };
        assert_eq!(c.default.as_deref(), Some("C"));
        assert_eq!(c.choices.len(), 2);
        assert_eq!(c.choices[0].pointer, "/States/C/Choices/0");
        assert!(c.choices[0].assign.is_some());
        let ChoiceRule::And(rules) = &c.choices[0].rule else {
            panic!("not And")
        };
        assert!(matches!(
            &rules[0],
            ChoiceRule::Compare { op: Comparison::NumericGreaterThan, operand: Operand::Path(p), .. }
                if p.as_str() == "$.b"
        ));
        assert!(matches!(&rules[1], ChoiceRule::Not(inner)
            if matches!(**inner, ChoiceRule::Compare { op: Comparison::StringMatches, .. })));
        assert!(matches!(
            &c.choices[1].rule,
            ChoiceRule::Compare {
                op: Comparison::IsTimestamp,
                operand: Operand::Literal(Value::Bool(true)),
                ..
            }
        ));
    }

    #[test]
    fn legacy_map_fields_land_in_the_new_ones() {
        let m = decoded(
            serde_json::json!({"StartAt": "M", "States": {"M": {"Type": "Map",
            "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "MaxConcurrencyPath": "$.n",
            "End": true}}}),
        );
        let StateKind::Map(map) = &m.states[0].kind else {
            panic!("not a Map")
        };
        assert_eq!(map.processor.pointer, "/States/M/Iterator");
        assert_eq!(map.processor.start_at, "I");
        assert!(map.item_selector.is_some());
        assert!(m.states[0].io.parameters.is_none());
        assert!(matches!(map.max_concurrency, Some(NumberSource::Path(_))));
        assert_eq!(map.mode, MapMode::Inline);
    }

    #[test]
    fn jsonata_fields_stay_raw_and_languages_inherit() {
        let m = decoded(
            serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Arguments": {"x": "{% $states.input.x %}"},
                  "Branches": [{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": "{% 2 %}", "End": true}}}],
                  "Output": "{% $states.result %}", "End": true}}}),
        );
        let p = &m.states[0];
        assert_eq!(p.query_language, QueryLanguage::Jsonata);
        assert!(p.io.arguments.is_some() && p.io.output.is_some());
        let StateKind::Parallel(par) = &p.kind else {
            panic!("not a Parallel")
        };
        let w = &par.branches[0].states[0];
        assert_eq!(w.pointer, "/States/P/Branches/0/States/W");
        assert_eq!(w.query_language, QueryLanguage::Jsonata);
        assert!(matches!(
            &w.kind,
            StateKind::Wait(Wait {
                duration: WaitDuration::SecondsExpression(_),
                ..
            })
        ));
    }

    #[test]
    fn retry_defaults() {
        let m = decoded(
            serde_json::json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSecondsPath": "$.t",
            "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": true}}}),
        );
        let r = &m.states[0].retriers()[0];
        assert_eq!(
            (r.interval_seconds, r.max_attempts, r.backoff_rate),
            (1, 3, 2.0)
        );
        assert_eq!(r.jitter, Jitter::None);
        assert_eq!(r.pointer, "/States/T/Retry/0");
        let StateKind::Task(t) = &m.states[0].kind else {
            panic!("not a Task")
        };
        assert!(matches!(t.timeout, Some(NumberSource::Path(_))));
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00+01:00",
            "2024-02-29T00:00:00Z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2016-13-05T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "05-12-2016T21:29:29Z",
            "2023-02-29T00:00:00Z",
            "2016-03-14t01:59:00z",
            "",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn comparison_names() {
        assert_eq!(
            comparison("NumericEqualsPath"),
            Some((Comparison::NumericEquals, true))
        );
        assert_eq!(comparison("StringMatchesPath"), None);
        assert_eq!(comparison("IsNull"), Some((Comparison::IsNull, false)));
        assert_eq!(comparison_name(Comparison::IsTimestamp), "IsTimestamp");
    }
}
