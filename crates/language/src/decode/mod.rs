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
//!
//! This module holds the machine- and state-level walk and the typed field
//! readers; `fields` says which fields each state type has, and the state
//! types with their own rules live in `task` (with Retry and Catch),
//! `choice`, `map` and `states` (Wait, Fail, Parallel).

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

mod choice;
mod fields;
mod map;
mod states;
mod task;
mod timestamp;

use fields::{
    allowed_fields, case_hint, ALL_STATE_FIELDS, COMMON_FIELDS, JSONATA_ONLY, JSONPATH_ONLY,
};
pub use timestamp::is_rfc3339;

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

    /// A field the object at `at` may not have. AWS reports these at the
    /// object (`Field 'X' is not supported at /States/S`); the line and
    /// column are the field's.
    fn unsupported(&mut self, at: At<'_>, key: &str, message: String) {
        let mut d = Diagnostic::error(SCHEMA_VALIDATION_FAILED, at.pointer, message);
        d.state = at.state.map(str::to_string);
        d.located_at = Some(pointer_push(at.pointer, key));
        self.diagnostics.push(d);
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
                Value::String(s) if is_jsonata(s) => self.check_expression(s, &p, at),
                Value::String(s) => {
                    let t = s.trim();
                    let looks_like = t.starts_with("{%") || t.ends_with("%}");
                    if looks_like {
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

    /// Parses a whole `{% … %}` string, as AWS does at creation, so that a
    /// syntax error is reported before the state runs. The parsed form is
    /// dropped: the engine compiles it again where it evaluates it.
    fn check_expression(&mut self, s: &str, pointer: &str, at: At<'_>) {
        let inner = s
            .strip_prefix("{%")
            .and_then(|r| r.strip_suffix("%}"))
            .unwrap_or(s);
        if let Err(e) = statecraft_jsonata::Expression::parse(inner) {
            let place = e
                .position
                .map(|p| format!(" (at character {p})"))
                .unwrap_or_default();
            self.error(
                at,
                pointer.to_string(),
                format!(
                    "The JSONata expression is not valid: {} [{}]{place}; fix the expression.",
                    e.message.trim_end_matches('.'),
                    e.code
                ),
            );
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
                self.unsupported(
                    at,
                    key,
                    format!(
                        "Field '{key}' is not supported in {what}{}; remove it.",
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
                    "Field '{key}' is not supported in JSONata states; use {instead} instead, or set \"QueryLanguage\": \"JSONPath\" on this state."
                )
            } else if ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&key) {
                format!(
                    "Field '{key}' is not supported in JSONPath states (it is a JSONata field); set \"QueryLanguage\": \"JSONata\" on this state or use the JSONPath fields."
                )
            } else if ALL_STATE_FIELDS.contains(&key) {
                format!("Field '{key}' is not supported in a {type_name} state; remove it.")
            } else {
                format!(
                    "Field '{key}' is not supported by Step Functions{}; remove it or fix its name.",
                    case_hint(key, ALL_STATE_FIELDS)
                )
            };
            self.unsupported(at, key, message);
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
        if ql == QueryLanguage::Jsonata {
            if let Some(v) = obj.get(key) {
                self.check_jsonata_strings(v, &pointer_push(at.pointer, key), at);
            }
        }
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
                self.unsupported(
                    at,
                    key,
                    format!(
                        "Field '{key}' is not supported in {what}{}; remove it.",
                        case_hint(key, allowed)
                    ),
                );
            }
        }
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
}
