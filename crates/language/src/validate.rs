//! Semantic checks over a decoded [`StateMachine`]: the rules that the
//! schema cannot express because they relate one part of the machine to
//! another. Transitions must name a state in the same scope (a Parallel
//! branch and a Map processor are scopes of their own), every state must be
//! reachable, a terminal state must be reachable, state names must be unique
//! in the whole machine, error names and variable names must be well formed.
//!
//! Like the decoder, this reports every problem in one pass. Codes are AWS's
//! where AWS has one (`MISSING_TRANSITION_TARGET`, `DUPLICATE_STATE_NAME`,
//! `MISSING_END_STATE`, `INVALID_STATE_NAME`), and messages start with AWS's
//! wording where it is known.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;
use statecraft_types::errors;

use crate::ast::{
    NumberSource, QueryLanguage, State, StateKind, StateMachine, StringSource, Transition,
    WaitDuration,
};
use crate::decode::is_jsonata;
use crate::diagnostic::Diagnostic;
use crate::source::pointer_push;

pub mod variables;

pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
/// Warning: a template value looks like a path but its key lacks `.$`.
pub const NO_DOLLAR: &str = "NO_DOLLAR";
/// Warning: a Pass state's `Result` has `.$` keys, which are not evaluated.
pub const PASS_RESULT_IS_STATIC: &str = "PASS_RESULT_IS_STATIC";

/// The longest state name AWS accepts (in characters).
pub const MAX_STATE_NAME: usize = 80;
/// The longest variable name AWS accepts (in characters).
pub const MAX_VARIABLE_NAME: usize = 80;
/// How many state names a "use one of" hint lists.
const HINT_NAMES: usize = 10;

/// Error names AWS raises besides the ASL-predefined ones.
const AWS_ERRORS: &[&str] = &["States.DataLimitExceeded", "States.Http.Socket"];

/// Runs every semantic check over `machine`.
pub fn validate(machine: &StateMachine) -> Vec<Diagnostic> {
    let mut v = Validator::default();
    v.collect_names(machine);
    v.scope(machine);
    variables::check(machine, &mut v.diagnostics);
    v.diagnostics
}

#[derive(Default)]
struct Validator {
    diagnostics: Vec<Diagnostic>,
    /// Every state name in the whole machine → the pointer of its first use.
    all_names: HashMap<String, String>,
}

fn quoted_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        return "(none: this scope has no states)".to_string();
    }
    let mut shown: Vec<String> = names
        .iter()
        .take(HINT_NAMES)
        .map(|n| format!("\"{n}\""))
        .collect();
    if names.len() > HINT_NAMES {
        shown.push(format!("… ({} more)", names.len() - HINT_NAMES));
    }
    shown.join(", ")
}

/// Whether `name` is a valid variable name: an identifier (Unicode letters,
/// digits and `_`, not starting with a digit).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether a `States.*` name is one AWS knows.
fn is_known_states_error(name: &str) -> bool {
    errors::PREDEFINED.contains(&name)
        || AWS_ERRORS.contains(&name)
        || name
            .strip_prefix("States.Http.StatusCode.")
            .is_some_and(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
}

impl Validator {
    fn push(&mut self, code: &str, pointer: &str, state: Option<&str>, message: String) {
        let mut d = Diagnostic::error(code, pointer, message);
        d.state = state.map(str::to_string);
        self.diagnostics.push(d);
    }

    /// Names must be unique across the whole machine, branches included.
    fn collect_names(&mut self, machine: &StateMachine) {
        for state in &machine.states {
            let len = state.name.chars().count();
            if len == 0 || len > MAX_STATE_NAME {
                self.push(
                    INVALID_STATE_NAME,
                    &state.pointer,
                    Some(&state.name),
                    format!(
                        "The state name \"{}\" is {len} characters long; state names must have 1 to {MAX_STATE_NAME} characters.",
                        state.name
                    ),
                );
            }
            if let Some(first) = self.all_names.get(&state.name) {
                let first = first.clone();
                self.push(
                    DUPLICATE_STATE_NAME,
                    &state.pointer,
                    Some(&state.name),
                    format!(
                        "Duplicate State name: {}. The name is already used at {first}; state names must be unique in the whole machine, including inside Parallel branches and Map processors.",
                        state.name
                    ),
                );
            } else {
                self.all_names
                    .insert(state.name.clone(), state.pointer.clone());
            }
            for sub in children(state) {
                self.collect_names(sub);
            }
        }
    }

    /// The checks within one `StartAt` + `States` scope, then its children.
    fn scope(&mut self, machine: &StateMachine) {
        let names: HashSet<&str> = machine.states.iter().map(|s| s.name.as_str()).collect();
        let ordered = || machine.states.iter().map(|s| s.name.as_str());

        let start_ok = names.contains(machine.start_at.as_str());
        if !start_ok && !machine.start_at.is_empty() {
            let pointer = pointer_push(&machine.pointer, "StartAt");
            let message = format!(
                "Missing 'StartAt' target: {}. \"StartAt\" must name a state of this scope; use one of: {}.",
                machine.start_at,
                quoted_list(ordered())
            );
            self.push(MISSING_TRANSITION_TARGET, &pointer, None, message);
        }

        for state in &machine.states {
            for (pointer, field, target) in transitions(state) {
                if target.is_empty() || names.contains(target) {
                    continue;
                }
                let elsewhere = if self.all_names.contains_key(target) {
                    format!(
                        " (\"{target}\" is in another scope: a transition cannot enter or leave a Parallel branch or a Map processor)"
                    )
                } else {
                    String::new()
                };
                let message = format!(
                    "Missing '{field}' target: {target}. State \"{}\" has \"{field}\": \"{target}\", but there is no state named \"{target}\" in this scope{elsewhere}; use one of: {}.",
                    state.name,
                    quoted_list(ordered())
                );
                self.push(
                    MISSING_TRANSITION_TARGET,
                    &pointer,
                    Some(&state.name),
                    message,
                );
            }
            self.retry_and_catch(state);
            self.assignments(state);
            self.static_values(state);
            self.jsonata_variables(state);
        }

        // AWS's order: dangling targets (above), then either "no terminal
        // state" or the unreachable states, not both.
        if start_ok {
            let reachable = reachable(machine);
            // Like AWS, ask whether the scope has a terminal state at all: an
            // unreachable one is reported as unreachable below, so a machine
            // is accepted only when a terminal state can be reached.
            let terminal = machine.states.iter().any(is_terminal);
            if !terminal {
                self.push(
                    MISSING_END_STATE,
                    &machine.pointer,
                    None,
                    "Workflow has no terminal state; add \"End\": true to a state, or a Succeed or Fail state.".to_string(),
                );
            } else {
                for state in &machine.states {
                    if !reachable.contains(state.name.as_str()) {
                        self.push(
                            MISSING_TRANSITION_TARGET,
                            &state.pointer,
                            Some(&state.name),
                            format!(
                                "State \"{}\" is not reachable. No \"StartAt\", \"Next\", \"Default\" or Catch \"Next\" leads to it; link it or remove it.",
                                state.name
                            ),
                        );
                    }
                }
            }
        }

        for state in &machine.states {
            for sub in children(state) {
                self.scope(sub);
            }
        }
    }

    /// `ErrorEquals` rules of Retry and Catch.
    fn retry_and_catch(&mut self, state: &State) {
        let retry: Vec<(&str, &[String])> = state
            .retriers()
            .iter()
            .map(|r| (r.pointer.as_str(), r.error_equals.as_slice()))
            .collect();
        let catch: Vec<(&str, &[String])> = state
            .catchers()
            .iter()
            .map(|c| (c.pointer.as_str(), c.error_equals.as_slice()))
            .collect();
        for (what, rules) in [("Retry", retry), ("Catch", catch)] {
            let count = rules.len();
            for (i, (pointer, names)) in rules.into_iter().enumerate() {
                let ee = pointer_push(pointer, "ErrorEquals");
                let has_all = names.iter().any(|n| n == errors::ALL);
                if has_all && names.len() > 1 {
                    self.push(
                        SCHEMA_VALIDATION_FAILED,
                        &ee,
                        Some(&state.name),
                        format!(
                            "\"States.ALL\" must appear alone in \"ErrorEquals\"; move the other error names of this {what} rule to an earlier rule."
                        ),
                    );
                }
                if has_all && i + 1 != count {
                    self.push(
                        SCHEMA_VALIDATION_FAILED,
                        &ee,
                        Some(&state.name),
                        format!(
                            "A {what} rule with \"States.ALL\" must be the last one, since no rule after it can match; move it to the end."
                        ),
                    );
                }
                for (j, name) in names.iter().enumerate() {
                    if name.starts_with("States.") && !is_known_states_error(name) {
                        self.push(
                            SCHEMA_VALIDATION_FAILED,
                            &pointer_push(&ee, &j.to_string()),
                            Some(&state.name),
                            format!(
                                "\"{name}\" is not a predefined error name; names starting with \"States.\" are reserved. Use one of: {}, or a name of your own without the \"States.\" prefix.",
                                quoted_list(errors::PREDEFINED.iter().copied())
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Variable names in every `Assign` of the state.
    fn assignments(&mut self, state: &State) {
        let mut assigns: Vec<(String, &Value)> = Vec::new();
        if let Some(a) = &state.assign {
            assigns.push((pointer_push(&state.pointer, "Assign"), a));
        }
        if let StateKind::Choice(c) = &state.kind {
            for b in &c.choices {
                if let Some(a) = &b.assign {
                    assigns.push((pointer_push(&b.pointer, "Assign"), a));
                }
            }
        }
        for c in state.catchers() {
            if let Some(a) = &c.assign {
                assigns.push((pointer_push(&c.pointer, "Assign"), a));
            }
        }
        for (pointer, value) in assigns {
            let Some(obj) = value.as_object() else {
                continue;
            };
            for key in obj.keys() {
                let name = match state.query_language {
                    QueryLanguage::JsonPath => key.strip_suffix(".$").unwrap_or(key),
                    QueryLanguage::Jsonata => key.as_str(),
                };
                let problem = if name == "states" {
                    Some("\"states\" is reserved (it holds $states.input, $states.result …); choose another name".to_string())
                } else if name.chars().count() > MAX_VARIABLE_NAME {
                    Some(format!(
                        "variable names have at most {MAX_VARIABLE_NAME} characters"
                    ))
                } else if !is_identifier(name) {
                    Some("a variable name must start with a letter or \"_\" and hold only letters, digits and \"_\" (assign whole variables, not paths like \"x.y\" or \"x[0]\")".to_string())
                } else {
                    None
                };
                if let Some(problem) = problem {
                    self.push(
                        SCHEMA_VALIDATION_FAILED,
                        &pointer_push(&pointer, key),
                        Some(&state.name),
                        format!("\"{name}\" is not a valid variable name: {problem}."),
                    );
                }
            }
        }
    }
}

impl Validator {
    /// Warnings for JSONPath values that look dynamic but are taken literally.
    fn static_values(&mut self, state: &State) {
        if state.query_language != QueryLanguage::JsonPath {
            return;
        }
        let mut templates: Vec<(&str, &Value)> = Vec::new();
        if let Some(t) = &state.io.parameters {
            templates.push(("Parameters", t.raw()));
        }
        if let Some(t) = &state.io.result_selector {
            templates.push(("ResultSelector", t.raw()));
        }
        if let StateKind::Map(m) = &state.kind {
            if let Some(t) = &m.item_selector {
                templates.push(("ItemSelector", t.raw()));
            }
        }
        for (field, value) in templates {
            let base = pointer_push(&state.pointer, field);
            walk_members(value, &base, &mut |pointer, key, v| {
                let Some(s) = v.as_str() else { return };
                let looks_dynamic = s.starts_with("$.")
                    || s.starts_with("$$.")
                    || (s.starts_with("States.") && s.contains('('));
                if !key.ends_with(".$") && looks_dynamic {
                    let mut d = Diagnostic::warning(
                        NO_DOLLAR,
                        pointer,
                        format!(
                            "The value of \"{key}\" looks like a path or intrinsic function, but it is used as plain text because the key does not end in \".$\"; rename the key to \"{key}.$\" to evaluate it."
                        ),
                    );
                    d.state = Some(state.name.clone());
                    self.diagnostics.push(d);
                }
            });
        }
        if let StateKind::Pass(p) = &state.kind {
            if let Some(result) = &p.result {
                let base = pointer_push(&state.pointer, "Result");
                walk_members(result, &base, &mut |pointer, key, _| {
                    if key.ends_with(".$") {
                        let mut d = Diagnostic::warning(
                            PASS_RESULT_IS_STATIC,
                            pointer,
                            format!(
                                "Attempt to use a path in the result of a pass state: \"{key}\" is not evaluated in \"Result\"; use \"Parameters\" to build the output from paths."
                            ),
                        );
                        d.state = Some(state.name.clone());
                        self.diagnostics.push(d);
                    }
                });
            }
        }
    }
}

/// Where JSONata's reserved `$states` fields may be read.
#[derive(Clone, Copy)]
struct Availability {
    /// `$states.result`: the Output and Assign of Task, Parallel and Map.
    result: bool,
    /// `$states.errorOutput`: the Output and Assign of a Catch rule.
    error_output: bool,
}

impl Validator {
    /// `$states.result` and `$states.errorOutput` exist only in some
    /// fields; AWS refuses a definition that reads them elsewhere, because
    /// the expression could never produce a value there.
    fn jsonata_variables(&mut self, state: &State) {
        if state.query_language != QueryLanguage::Jsonata {
            return;
        }
        let none = Availability {
            result: false,
            error_output: false,
        };
        let has_result = matches!(
            state.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        );
        let top = Availability {
            result: has_result,
            error_output: false,
        };
        // A catcher runs after the task: its result may be read there too.
        let catcher = Availability {
            result: true,
            error_output: true,
        };
        let field = |name: &str| pointer_push(&state.pointer, name);
        let mut values: Vec<(String, &Value, Availability)> = Vec::new();
        if let Some(v) = &state.io.output {
            values.push((field("Output"), v, top));
        }
        if let Some(v) = &state.assign {
            values.push((field("Assign"), v, top));
        }
        if let Some(v) = &state.io.arguments {
            values.push((field("Arguments"), v, none));
        }
        for c in state.catchers() {
            if let Some(v) = &c.output {
                values.push((pointer_push(&c.pointer, "Output"), v, catcher));
            }
            if let Some(v) = &c.assign {
                values.push((pointer_push(&c.pointer, "Assign"), v, catcher));
            }
        }
        match &state.kind {
            StateKind::Task(t) => {
                if let Some(v) = number(&t.timeout) {
                    values.push((field("TimeoutSeconds"), v, none));
                }
                if let Some(v) = number(&t.heartbeat) {
                    values.push((field("HeartbeatSeconds"), v, none));
                }
                if let Some(v) = &t.credentials {
                    values.push((field("Credentials"), v, none));
                }
            }
            StateKind::Choice(c) => {
                for b in &c.choices {
                    if let crate::ast::ChoiceRule::Condition(v) = &b.rule {
                        values.push((pointer_push(&b.pointer, "Condition"), v, none));
                    }
                    if let Some(v) = &b.output {
                        values.push((pointer_push(&b.pointer, "Output"), v, none));
                    }
                    if let Some(v) = &b.assign {
                        values.push((pointer_push(&b.pointer, "Assign"), v, none));
                    }
                }
            }
            StateKind::Wait(w) => match &w.duration {
                WaitDuration::SecondsExpression(v) => values.push((field("Seconds"), v, none)),
                WaitDuration::TimestampExpression(v) => {
                    values.push((field("Timestamp"), v, none));
                }
                _ => {}
            },
            StateKind::Fail(f) => {
                for (name, src) in [("Error", &f.error), ("Cause", &f.cause)] {
                    if let Some(StringSource::Expression(v)) = src {
                        values.push((field(name), v, none));
                    }
                }
            }
            StateKind::Map(m) => {
                for (name, v) in [
                    ("Items", m.items.as_ref()),
                    ("ItemSelector", m.item_selector_jsonata.as_ref()),
                    ("ItemReader", m.item_reader.as_ref()),
                    ("ItemBatcher", m.item_batcher.as_ref()),
                    ("ResultWriter", m.result_writer.as_ref()),
                    ("MaxConcurrency", number(&m.max_concurrency)),
                    (
                        "ToleratedFailurePercentage",
                        number(&m.tolerated_failure_percentage),
                    ),
                    ("ToleratedFailureCount", number(&m.tolerated_failure_count)),
                ] {
                    if let Some(v) = v {
                        values.push((field(name), v, none));
                    }
                }
            }
            _ => {}
        }
        for (pointer, value, available) in values {
            let mut todo = vec![(value, pointer)];
            while let Some((v, p)) = todo.pop() {
                match v {
                    Value::String(s) if is_jsonata(s) => {
                        self.reserved_reads(state, &p, s, available);
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
    }

    fn reserved_reads(
        &mut self,
        state: &State,
        pointer: &str,
        expr: &str,
        available: Availability,
    ) {
        let checks = [
            (
                "$states.result",
                available.result,
                "only in the \"Output\" and \"Assign\" of Task, Parallel and Map states (and their Catch rules)",
            ),
            (
                "$states.errorOutput",
                available.error_output,
                "only in the \"Output\" and \"Assign\" of a Catch rule",
            ),
        ];
        for (name, ok, where_) in checks {
            if !ok && reads(expr, name) {
                self.push(
                    SCHEMA_VALIDATION_FAILED,
                    pointer,
                    Some(&state.name),
                    format!(
                        "The JSONata expression reads {name}, which is not available here: it exists {where_}. Use $states.input or a variable instead."
                    ),
                );
            }
        }
    }
}

/// The JSONata expression of a number field, if it has one.
fn number(n: &Option<NumberSource>) -> Option<&Value> {
    match n {
        Some(NumberSource::Expression(v)) => Some(v),
        _ => None,
    }
}

/// Whether `expr` mentions the reserved name (not as a prefix of a longer name).
fn reads(expr: &str, name: &str) -> bool {
    expr.match_indices(name).any(|(i, _)| {
        !expr[i + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Calls `f(pointer, key, value)` for every object member in `value`, at any depth.
fn walk_members(value: &Value, pointer: &str, f: &mut dyn FnMut(&str, &str, &Value)) {
    let mut todo = vec![(value, pointer.to_string())];
    while let Some((v, p)) = todo.pop() {
        match v {
            Value::Object(o) => {
                for (k, e) in o {
                    let child = pointer_push(&p, k);
                    f(&child, k, e);
                    todo.push((e, child));
                }
            }
            Value::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    todo.push((e, pointer_push(&p, &i.to_string())));
                }
            }
            _ => {}
        }
    }
}

/// Checks for machines of type EXPRESS, which AWS applies at creation: no
/// `.sync` or `.waitForTaskToken` integrations and no activities. These
/// depend on the machine's type, which is not part of the definition, so
/// they are not run by [`validate()`]; the server calls this for EXPRESS.
pub fn express_restrictions(machine: &StateMachine) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut scopes = vec![machine];
    while let Some(scope) = scopes.pop() {
        for state in &scope.states {
            if let StateKind::Task(t) = &state.kind {
                let r = t.resource.as_str();
                let problem = if r.ends_with(".waitForTaskToken") {
                    Some("Express state machine does not support '.waitForTaskToken' service integration; use a STANDARD state machine to wait for a task token.")
                } else if r.ends_with(".sync") || r.contains(".sync:") {
                    Some("Express state machine does not support '.sync' service integration; use a STANDARD state machine, or call the service without waiting.")
                } else if r.split(':').nth(5) == Some("activity") && r.starts_with("arn:") {
                    Some("Express state machine does not support Activity ARN; use a STANDARD state machine for activities.")
                } else {
                    None
                };
                if let Some(message) = problem {
                    let mut d = Diagnostic::error(
                        SCHEMA_VALIDATION_FAILED,
                        pointer_push(&state.pointer, "Resource"),
                        message,
                    );
                    d.state = Some(state.name.clone());
                    out.push(d);
                }
            }
            scopes.extend(children(state));
        }
    }
    out
}

/// The Parallel branches or the Map processor of a state.
fn children(state: &State) -> Vec<&StateMachine> {
    match &state.kind {
        StateKind::Parallel(p) => p.branches.iter().collect(),
        StateKind::Map(m) => vec![m.processor.as_ref()],
        _ => Vec::new(),
    }
}

/// Every transition out of a state: (pointer of the field, field name, target).
fn transitions(state: &State) -> Vec<(String, &'static str, &str)> {
    let mut out = Vec::new();
    if let Some(Transition::Next(n)) = state.transition() {
        out.push((pointer_push(&state.pointer, "Next"), "Next", n.as_str()));
    }
    if let StateKind::Choice(c) = &state.kind {
        for b in &c.choices {
            out.push((pointer_push(&b.pointer, "Next"), "Next", b.next.as_str()));
        }
        if let Some(d) = &c.default {
            out.push((
                pointer_push(&state.pointer, "Default"),
                "Default",
                d.as_str(),
            ));
        }
    }
    for c in state.catchers() {
        out.push((pointer_push(&c.pointer, "Next"), "Next", c.next.as_str()));
    }
    out
}

fn is_terminal(state: &State) -> bool {
    matches!(state.kind, StateKind::Succeed | StateKind::Fail(_))
        || state.transition() == Some(&Transition::End)
}

/// The names of the states reachable from `StartAt` within one scope.
fn reachable(machine: &StateMachine) -> HashSet<&str> {
    let by_name: HashMap<&str, &State> = machine
        .states
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([machine.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        let Some(state) = by_name.get(name) else {
            continue;
        };
        if !seen.insert(name) {
            continue;
        }
        for (_, _, target) in transitions(state) {
            queue.push_back(target);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("x"));
        assert!(is_identifier("_tmp1"));
        assert!(is_identifier("größe"));
        assert!(!is_identifier("1x"));
        assert!(!is_identifier("x.y"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn states_error_names() {
        assert!(is_known_states_error("States.ALL"));
        assert!(is_known_states_error("States.Http.StatusCode.404"));
        assert!(is_known_states_error("States.DataLimitExceeded"));
        assert!(!is_known_states_error("States.Nope"));
        assert!(!is_known_states_error("States.Http.StatusCode.4044"));
    }
}
