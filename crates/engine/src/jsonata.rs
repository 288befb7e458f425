//! JSONata query mode: states with `QueryLanguage: JSONata` write their
//! fields (`Arguments`, `Output`, `Assign`, `Items`, `ItemSelector`,
//! `Condition`, `Seconds`, `Timestamp`, `Error`, `Cause`, the timeouts …) as
//! JSON in which a string that is a whole `{% … %}` template is a JSONata
//! expression; any other string stays verbatim. Expressions see
//! `$states` = `{input, result, errorOutput, context}` and the variables.
//!
//! Every expression of a state is compiled once, in `Machine::new`; an
//! expression that does not compile fails the state at run time with
//! `States.QueryEvaluationError`, as AWS reports it.
//!
//! Every evaluation runs under [`JsonataLimits`]: a wall-clock time budget
//! and a depth limit, so a non-terminating expression (a recursive function,
//! a loop through `$reduce`) fails its state with
//! `States.QueryEvaluationError` naming the limit instead of pinning a
//! thread or overflowing the stack. The time budget is the one place where
//! the engine's outcome depends on the clock: only an evaluation that runs
//! that long can differ between runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use statecraft_jsonata::{Environment, Evaluation, Expression};
use statecraft_language::ast::{
    ChoiceRule, Map as MapState, NumberSource, QueryLanguage, State, StateKind, StringSource,
    WaitDuration,
};
use statecraft_language::scope::Variables;
use statecraft_types::errors::QUERY_EVALUATION_ERROR;
use statecraft_types::Failure;

use crate::dataflow::shown;
use crate::exec::{Active, At, Flow, Frame, Run, TimerKind};
use crate::machine::Node;
use crate::state::map::Settings;
use crate::time::parse_iso8601;
use crate::Error;

/// How long and how deep one JSONata evaluation may go ([`Machine`]'s
/// `jsonata_limits`). Beyond either, the state fails with
/// `States.QueryEvaluationError` and a cause that names the limit.
///
/// [`Machine`]: crate::Machine
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonataLimits {
    /// Wall-clock time one evaluation may take.
    pub time: Duration,
    /// How deeply an evaluation may nest (function calls that are not tail
    /// calls, nested sub-expressions). The evaluator grows its stack on the
    /// heap, so the limit is about runaway recursion, not the thread's stack.
    pub depth: usize,
}

/// The default [`JsonataLimits::time`]: one second per evaluation.
pub const DEFAULT_JSONATA_TIME: Duration = Duration::from_secs(1);
/// The default [`JsonataLimits::depth`].
pub const DEFAULT_JSONATA_DEPTH: usize = 500;

impl Default for JsonataLimits {
    fn default() -> Self {
        JsonataLimits {
            time: DEFAULT_JSONATA_TIME,
            depth: DEFAULT_JSONATA_DEPTH,
        }
    }
}

/// The compiled expressions of one state, by their source text, and what
/// they read (so evaluation binds only that).
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    enabled: bool,
    exprs: HashMap<String, Result<Arc<Expression>, String>>,
    /// The variables the expressions name; `None`: possibly any (`$eval`).
    vars: Option<Vec<String>>,
    /// Whether any expression reads `$states`, and `$states.context`.
    needs_states: bool,
    needs_context: bool,
}

/// What the expressions of a state read: `$name`s, `$states`, `$states.context`.
fn scan(bodies: &[&str]) -> (Option<Vec<String>>, bool, bool) {
    let mut names: Vec<String> = Vec::new();
    let (mut states, mut context, mut dynamic) = (false, false, false);
    for body in bodies {
        let b = body.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b.get(i) == Some(&b'$') {
                let start = i + 1;
                let mut end = start;
                while b
                    .get(end)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    end += 1;
                }
                let name = body.get(start..end).unwrap_or_default();
                match name {
                    "states" => {
                        states = true;
                        let rest = body.get(end..).unwrap_or_default();
                        // `$states.context…`, or `$states` used whole.
                        if rest.starts_with(".context")
                            || !(rest.starts_with(".input")
                                || rest.starts_with(".result")
                                || rest.starts_with(".errorOutput"))
                        {
                            context = true;
                        }
                    }
                    "eval" => dynamic = true,
                    "" => {}
                    n => {
                        if !names.iter().any(|x| x == n) {
                            names.push(n.to_owned());
                        }
                    }
                }
                i = end.max(i + 1);
            } else {
                i += 1;
            }
        }
    }
    ((!dynamic).then_some(names), states, context)
}

/// The expression inside a `{% … %}` template, if `s` is one.
pub(crate) fn template_body(s: &str) -> Option<&str> {
    s.strip_prefix("{%")
        .and_then(|r| r.strip_suffix("%}"))
        .map(str::trim)
}

fn collect(v: &Value, out: &mut HashMap<String, Result<Arc<Expression>, String>>) {
    match v {
        Value::String(s) => {
            if let Some(body) = template_body(s) {
                out.entry(body.to_owned()).or_insert_with(|| {
                    Expression::parse(body)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                });
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
        Value::Object(o) => o.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn collect_number(
    n: &Option<NumberSource>,
    out: &mut HashMap<String, Result<Arc<Expression>, String>>,
) {
    if let Some(NumberSource::Expression(v)) = n {
        collect(v, out);
    }
}

impl Compiled {
    pub fn for_state(state: &State) -> Result<Compiled, Error> {
        if state.query_language != QueryLanguage::Jsonata {
            return Ok(Compiled::default());
        }
        let mut exprs = HashMap::new();
        let io = &state.io;
        for v in [&io.arguments, &io.output, &state.assign]
            .into_iter()
            .flatten()
        {
            collect(v, &mut exprs);
        }
        for c in state.catchers() {
            for v in [&c.assign, &c.output].into_iter().flatten() {
                collect(v, &mut exprs);
            }
        }
        match &state.kind {
            StateKind::Task(t) => {
                collect_number(&t.timeout, &mut exprs);
                collect_number(&t.heartbeat, &mut exprs);
                if let Some(c) = &t.credentials {
                    collect(c, &mut exprs);
                }
            }
            StateKind::Choice(c) => {
                for b in &c.choices {
                    if let ChoiceRule::Condition(v) = &b.rule {
                        collect(v, &mut exprs);
                    }
                    for v in [&b.assign, &b.output].into_iter().flatten() {
                        collect(v, &mut exprs);
                    }
                }
            }
            StateKind::Wait(w) => match &w.duration {
                WaitDuration::SecondsExpression(v) | WaitDuration::TimestampExpression(v) => {
                    collect(v, &mut exprs)
                }
                _ => {}
            },
            StateKind::Fail(f) => {
                for s in [&f.error, &f.cause].into_iter().flatten() {
                    if let StringSource::Expression(v) = s {
                        collect(v, &mut exprs);
                    }
                }
            }
            StateKind::Map(m) => {
                for v in [
                    &m.items,
                    &m.item_selector_jsonata,
                    &m.item_reader,
                    &m.item_batcher,
                ]
                .into_iter()
                .flatten()
                {
                    collect(v, &mut exprs);
                }
                collect_number(&m.max_concurrency, &mut exprs);
                collect_number(&m.tolerated_failure_count, &mut exprs);
                collect_number(&m.tolerated_failure_percentage, &mut exprs);
            }
            StateKind::Pass(_) | StateKind::Succeed | StateKind::Parallel(_) => {}
        }
        let bodies: Vec<&str> = exprs.keys().map(String::as_str).collect();
        let (vars, needs_states, needs_context) = scan(&bodies);
        Ok(Compiled {
            enabled: true,
            exprs,
            vars,
            needs_states,
            needs_context,
        })
    }

    pub fn uses_context(&self) -> bool {
        self.enabled && self.needs_context
    }
}

/// Randomness and time for JSONata (`$random()`, `$now()`, `$uuid()`),
/// seeded from the engine's host so runs stay reproducible.
#[derive(Debug)]
struct Bridge {
    now_ms: i64,
    state: std::sync::atomic::AtomicU64,
}

impl Bridge {
    fn next(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let s = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl statecraft_jsonata::Host for Bridge {
    fn now_millis(&self) -> i64 {
        self.now_ms
    }
    fn random(&self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uuid(&self) -> String {
        let (hi, lo) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0x0FFF,
            0x8000 | ((lo >> 48) & 0x3FFF),
            lo & 0xFFFF_FFFF_FFFF
        )
    }
}

fn query_error(cause: String) -> Failure {
    Failure::new(QUERY_EVALUATION_ERROR, cause)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An evaluation context: the environment (variables and `$states`), the
/// state's compiled expressions and the limits the environment enforces.
struct Eval<'a> {
    env: Environment,
    compiled: &'a Compiled,
    limits: JsonataLimits,
}

impl Eval<'_> {
    /// Evaluates one expression. `Ok(None)` is JSONata's undefined.
    fn expr(&self, body: &str, field: &str) -> Result<Option<Value>, Failure> {
        let compiled = match self.compiled.exprs.get(body) {
            Some(Ok(e)) => e.clone(),
            Some(Err(msg)) => {
                return Err(query_error(format!(
                    "The JSONata expression '{body}' specified for the field '{field}' could not be compiled: {msg}"
                )))
            }
            None => Arc::new(Expression::parse(body).map_err(|e| {
                query_error(format!(
                    "The JSONata expression '{body}' specified for the field '{field}' could not be compiled: {e}"
                ))
            })?),
        };
        match compiled.evaluate_to_result(None, &self.env) {
            Ok(Evaluation::Json(v)) => Ok(Some(v)),
            Ok(Evaluation::Undefined) => Ok(None),
            Ok(Evaluation::Function) => Err(query_error(format!(
                "The JSONata expression '{body}' specified for the field '{field}' returned an unsupported result type."
            ))),
            Err(e) if e.is_time_limit() => Err(query_error(format!(
                "The JSONata expression '{body}' specified for the field '{field}' exceeded the evaluation time limit of {} ms.",
                self.limits.time.as_millis()
            ))),
            Err(e) if e.is_depth_limit() => Err(query_error(format!(
                "The JSONata expression '{body}' specified for the field '{field}' exceeded the evaluation depth limit of {} (non-terminating recursion?).",
                self.limits.depth
            ))),
            Err(e) => Err(query_error(format!(
                "The JSONata expression '{body}' specified for the field '{field}' threw an error during evaluation: {e}"
            ))),
        }
    }

    /// Evaluates a template: `{% … %}` strings anywhere in `v` are replaced
    /// by their values; an expression yielding nothing is an error naming
    /// the field (`Output/result`).
    fn template(&self, v: &Value, field: &str) -> Result<Value, Failure> {
        match v {
            Value::String(s) => match template_body(s) {
                Some(body) => self.expr(body, field)?.ok_or_else(|| {
                    query_error(format!(
                        "The JSONata expression '{body}' specified for the field '{field}' returned nothing (undefined)."
                    ))
                }),
                None => Ok(v.clone()),
            },
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| self.template(v, &format!("{field}/{i}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.insert(k.clone(), self.template(v, &format!("{field}/{k}"))?);
                }
                Ok(Value::Object(m))
            }
            other => Ok(other.clone()),
        }
    }

    fn assign(&self, assign: Option<&Value>) -> Result<Option<Map<String, Value>>, Failure> {
        match assign {
            None => Ok(None),
            Some(v) => match self.template(v, "Assign")? {
                Value::Object(m) if !m.is_empty() => Ok(Some(m)),
                _ => Ok(None),
            },
        }
    }

    fn number(&self, src: &NumberSource, field: &str) -> Result<f64, Failure> {
        match src {
            NumberSource::Literal(n) => Ok(*n),
            NumberSource::Expression(v) => {
                let value = self.template(v, field)?;
                value.as_f64().ok_or_else(|| {
                    query_error(format!(
                        "The JSONata expression specified for the field '{field}' returned an unexpected result type. Expected 'number', but was '{}' for value: {}",
                        type_name(&value),
                        shown(&value)
                    ))
                })
            }
            NumberSource::Path(p) => Err(query_error(format!(
                "The field '{field}Path' ({}) is not allowed in a JSONata state",
                p.as_str()
            ))),
        }
    }
}

impl Run<'_> {
    /// The evaluation context of a JSONata state.
    fn jsonata_env<'c>(
        &self,
        node: &'c Node,
        vars: &Variables,
        states: Map<String, Value>,
    ) -> Eval<'c> {
        let seed = if node.jsonata.exprs.is_empty() {
            0
        } else {
            (self.host.random() * 9.007e15) as u64
        };
        let bridge = Bridge {
            now_ms: self.now,
            state: std::sync::atomic::AtomicU64::new(seed),
        };
        let limits = self.m.jsonata_limits;
        let mut env = Environment::new()
            .step_functions()
            .with_limits(limits.depth, Some(limits.time))
            .with_host(Arc::new(bridge));
        let compiled = &node.jsonata;
        // Bind only what the expressions read: converting values for the
        // evaluator is the main cost of a JSONata state.
        match &compiled.vars {
            Some(names) => {
                for n in names {
                    if let Some(v) = vars.get(n) {
                        env.bind(n, v.clone());
                    }
                }
            }
            None => {
                for (k, v) in vars {
                    env.bind(k, v.clone());
                }
            }
        }
        if compiled.needs_states {
            env.bind("states", Value::Object(states));
        }
        Eval {
            env,
            compiled: &node.jsonata,
            limits,
        }
    }

    /// `$states` with `input` and `context` (empty when the state's
    /// expressions never read `$states`).
    fn states(&self, node: &Node, input: &Value, context: Value) -> Map<String, Value> {
        if !node.jsonata.needs_states {
            return Map::new();
        }
        let mut m = Map::with_capacity(4);
        m.insert("input".into(), input.clone());
        m.insert("context".into(), context);
        m
    }

    #[allow(clippy::too_many_arguments)]
    /// Enters a state in JSONata mode (Task, Parallel and Map continue in
    /// their own handlers, which ask this module for their fields).
    pub(crate) fn jsonata_state(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        state: usize,
        input: Value,
        entered_id: u64,
        entered_prev: u64,
    ) -> Flow {
        if matches!(
            node.state.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        ) {
            f.at = At::Attempt(Active {
                state,
                input,
                entered_id,
                entered_prev,
                entered_ms: self.now,
                retry_count: 0,
                attempts: vec![0; node.state.retriers().len()],
                partial: None,
                map_run: None,
            });
            return Flow::Continue;
        }
        let ctx = self.context_for(node, self.now, None, None, None);
        let ev = self.jsonata_env(node, &f.vars, self.states(node, &input, ctx));
        let outcome = (|| -> Result<Simple, Failure> {
            let io = &node.state.io;
            match &node.state.kind {
                StateKind::Pass(_) | StateKind::Succeed => {
                    let assigned = ev.assign(node.state.assign.as_ref())?;
                    let output = match &io.output {
                        Some(o) => ev.template(o, "Output")?,
                        None => input.clone(),
                    };
                    let next = if matches!(node.state.kind, StateKind::Succeed) {
                        None
                    } else {
                        node.next
                    };
                    Ok(Simple::Exit(next, output, assigned))
                }
                StateKind::Fail(fl) => {
                    let text = |s: &Option<StringSource>, field: &str| -> Result<String, Failure> {
                        match s {
                            None => Ok(String::new()),
                            Some(StringSource::Literal(s)) => Ok(s.clone()),
                            Some(StringSource::Expression(v)) => match ev.template(v, field)? {
                                Value::String(s) => Ok(s),
                                other => Ok(shown(&other)),
                            },
                            Some(StringSource::Dynamic(e)) => Err(query_error(format!(
                                "The field '{field}Path' is not allowed in a JSONata state: {}",
                                match e {
                                    statecraft_language::template::Expr::Path(p) => p.as_str(),
                                    statecraft_language::template::Expr::Intrinsic(c) => c.as_str(),
                                }
                            ))),
                        }
                    };
                    Ok(Simple::Fail(Failure::new(
                        text(&fl.error, "Error")?,
                        text(&fl.cause, "Cause")?,
                    )))
                }
                StateKind::Choice(c) => {
                    for (i, b) in c.choices.iter().enumerate() {
                        let holds = match &b.rule {
                            ChoiceRule::Condition(v) => match ev.template(v, "Condition")? {
                                Value::Bool(b) => b,
                                other => {
                                    return Err(query_error(format!(
                                        "The JSONata expression specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{}' for value: {}",
                                        type_name(&other),
                                        shown(&other)
                                    )))
                                }
                            },
                            _ => false,
                        };
                        if holds {
                            let assigned = ev.assign(b.assign.as_ref())?;
                            let output = match &b.output {
                                Some(o) => ev.template(o, "Output")?,
                                None => input.clone(),
                            };
                            return Ok(Simple::Exit(
                                node.choice_next.get(i).copied(),
                                output,
                                assigned,
                            ));
                        }
                    }
                    match node.default {
                        Some(d) => {
                            let assigned = ev.assign(node.state.assign.as_ref())?;
                            let output = match &io.output {
                                Some(o) => ev.template(o, "Output")?,
                                None => input.clone(),
                            };
                            Ok(Simple::Exit(Some(d), output, assigned))
                        }
                        None => Ok(Simple::Fail(Failure::new(
                            statecraft_types::errors::NO_CHOICE_MATCHED,
                            "No Matches!",
                        ))),
                    }
                }
                StateKind::Wait(w) => {
                    let fire_at = match &w.duration {
                        WaitDuration::Seconds(s) => {
                            self.now.saturating_add((*s as i64).saturating_mul(1000))
                        }
                        WaitDuration::SecondsExpression(v) => {
                            let value = ev.template(v, "Seconds")?;
                            let secs = value.as_i64().filter(|s| *s >= 0).ok_or_else(|| {
                                query_error(format!(
                                    "The JSONata expression specified for the field 'Seconds' returned an unexpected result type. Expected 'non-negative integer', but was '{}' for value: {}",
                                    type_name(&value),
                                    shown(&value)
                                ))
                            })?;
                            self.now.saturating_add(secs.saturating_mul(1000))
                        }
                        WaitDuration::Timestamp(t) => parse_iso8601(t).ok_or_else(|| {
                            query_error(format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"))
                        })?,
                        WaitDuration::TimestampExpression(v) => {
                            let value = ev.template(v, "Timestamp")?;
                            let text = match &value {
                                Value::String(s) => s.clone(),
                                other => shown(other),
                            };
                            parse_iso8601(&text).ok_or_else(|| {
                                query_error(format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"))
                            })?
                        }
                        WaitDuration::SecondsPath(p) | WaitDuration::TimestampPath(p) => {
                            return Err(query_error(format!(
                                "Paths are not allowed in a JSONata state: {}",
                                p.as_str()
                            )))
                        }
                    };
                    let assigned = ev.assign(node.state.assign.as_ref())?;
                    let output = match &io.output {
                        Some(o) => ev.template(o, "Output")?,
                        None => input.clone(),
                    };
                    Ok(Simple::Wait(fire_at, output, assigned))
                }
                StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                    Err(Failure::runtime("unreachable"))
                }
            }
        })();
        match outcome {
            Ok(Simple::Exit(next, output, assigned)) => self.exit(f, node, next, output, assigned),
            Ok(Simple::Fail(failure)) => Flow::Fail {
                failure,
                state,
                input: Some(input),
            },
            Ok(Simple::Wait(fire_at, output, assigned)) => {
                if fire_at <= self.now {
                    return self.exit(f, node, node.next, output, assigned);
                }
                let timer = self.arm(id, TimerKind::Wait, fire_at);
                f.at = At::Wait(Box::new(crate::state::wait::Pending {
                    state,
                    input,
                    output,
                    assigned,
                    timer,
                }));
                Flow::Block
            }
            Err(failure) => {
                self.jsonata_failed(f, node, state, input, entered_id, entered_prev, failure)
            }
        }
    }

    /// A JSONata evaluation failed: AWS records `EvaluationFailed` (with
    /// `previousEventId` 0) before the failure moves on.
    #[allow(clippy::too_many_arguments)]
    fn jsonata_failed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        state: usize,
        input: Value,
        entered_id: u64,
        entered_prev: u64,
        failure: Failure,
    ) -> Flow {
        let failure = Self::in_state(node, entered_id, failure);
        // AWS points EvaluationFailed at the event before the state was
        // entered, except in a Wait state (recorded in the corpus).
        let prev = if matches!(node.state.kind, StateKind::Wait(_)) {
            entered_id
        } else {
            entered_prev
        };
        self.evaluation_failed(f, node, &failure, prev);
        Flow::Fail {
            failure,
            state,
            input: Some(input),
        }
    }

    pub(crate) fn evaluation_failed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        failure: &Failure,
        prev: u64,
    ) {
        if failure.error != QUERY_EVALUATION_ERROR {
            return;
        }
        let mut d = crate::history::error_cause(&failure.error, &failure.cause);
        if let Some(location) = location(&failure.cause) {
            d.insert("location".into(), Value::String(location.to_owned()));
        }
        d.insert("state".into(), Value::String(node.state.name.clone()));
        let mut zero = crate::history::Cursor {
            source: prev,
            last: prev,
        };
        let id = self.emit(
            f.silent,
            &mut zero,
            statecraft_types::EventType::EvaluationFailed,
            Some(d),
            true,
        );
        if id != 0 {
            f.cursor.source = id;
            f.cursor.last = id;
        }
    }

    /// Task `Arguments` and timeouts in JSONata mode.
    pub(crate) fn jsonata_task_prepare(
        &self,
        f: &Frame,
        node: &Node,
        t: &statecraft_language::ast::Task,
        active: &Active,
        token: Option<&str>,
    ) -> Result<(Value, Option<u64>, Option<u64>), Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            token,
            None,
        );
        let ev = self.jsonata_env(node, &f.vars, self.states(node, &active.input, ctx));
        let params = match &node.state.io.arguments {
            Some(a) => ev.template(a, "Arguments")?,
            None => active.input.clone(),
        };
        let secs = |src: &Option<NumberSource>, field: &str| -> Result<Option<u64>, Failure> {
            match src {
                None => Ok(None),
                Some(s) => {
                    let n = ev.number(s, field)?;
                    if n < 1.0 || n.fract() != 0.0 {
                        return Err(query_error(format!(
                            "The field '{field}' must be a positive integer, but was {n}"
                        )));
                    }
                    Ok(Some(n as u64))
                }
            }
        };
        Ok((
            params,
            secs(&t.timeout, "TimeoutSeconds")?,
            secs(&t.heartbeat, "HeartbeatSeconds")?,
        ))
    }

    /// The end of a Task/Parallel/Map state's work in JSONata mode: Assign
    /// and Output see `$states.result`.
    pub(crate) fn jsonata_complete(
        &mut self,
        f: &mut Frame,
        node: &Node,
        active: Active,
        result: Value,
    ) -> Flow {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let mut states = self.states(node, &active.input, ctx);
        states.insert("result".into(), result.clone());
        let ev = self.jsonata_env(node, &f.vars, states);
        let done = ev.assign(node.state.assign.as_ref()).and_then(|assigned| {
            let output = match &node.state.io.output {
                Some(o) => ev.template(o, "Output")?,
                None => result,
            };
            Ok((output, assigned))
        });
        match done {
            Ok((output, assigned)) => self.exit(f, node, node.next, output, assigned),
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                self.evaluation_failed(f, node, &failure, active.entered_prev);
                self.handle_failure(f, node, active, failure)
            }
        }
    }

    /// A catcher in JSONata mode: Assign and Output see `$states.errorOutput`.
    pub(crate) fn jsonata_catch(
        &mut self,
        f: &mut Frame,
        node: &Node,
        active: Active,
        failure: Failure,
        catcher: usize,
    ) -> Flow {
        let error_output = crate::history::error_output(&failure);
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let mut states = self.states(node, &active.input, ctx);
        states.insert("errorOutput".into(), error_output.clone());
        let ev = self.jsonata_env(node, &f.vars, states);
        let c = node.state.catchers().get(catcher);
        let done = ev
            .assign(c.and_then(|c| c.assign.as_ref()))
            .and_then(|assigned| {
                let output = match c.and_then(|c| c.output.as_ref()) {
                    Some(o) => ev.template(o, "Output")?,
                    None => error_output,
                };
                Ok((output, assigned))
            });
        match done {
            Ok((output, assigned)) => {
                let next = node.catch_next.get(catcher).copied();
                self.exit(f, node, next, output, assigned)
            }
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                self.evaluation_failed(f, node, &failure, active.entered_prev);
                Flow::Fail {
                    failure,
                    state: active.state,
                    input: Some(active.input),
                }
            }
        }
    }

    /// Evaluates one JSONata-capable value of a state (e.g. ItemReader
    /// `Arguments`) against `$states.input`.
    pub(crate) fn jsonata_value(
        &self,
        f: &Frame,
        node: &Node,
        active: &Active,
        value: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let ev = self.jsonata_env(node, &f.vars, self.states(node, &active.input, ctx));
        ev.template(value, field)
    }

    /// Parallel `Arguments` in JSONata mode.
    pub(crate) fn jsonata_arguments(
        &self,
        f: &Frame,
        node: &Node,
        active: &Active,
    ) -> Result<Value, Failure> {
        match &node.state.io.arguments {
            Some(a) => self.jsonata_value(f, node, active, a, "Arguments"),
            None => Ok(active.input.clone()),
        }
    }

    /// Map `Items` in JSONata mode (default: the input, which must be an array).
    pub(crate) fn jsonata_map_items(
        &self,
        f: &Frame,
        node: &Node,
        active: &Active,
    ) -> Result<(Value, Vec<Value>), Failure> {
        let StateKind::Map(m) = &node.state.kind else {
            return Err(Failure::runtime("not a Map state"));
        };
        let items = match &m.items {
            None => active.input.clone(),
            Some(v) => {
                let ctx = self.context_for(
                    node,
                    active.entered_ms,
                    Some(active.retry_count),
                    None,
                    None,
                );
                let ev = self.jsonata_env(node, &f.vars, self.states(node, &active.input, ctx));
                let value = ev.template(v, "Items")?;
                if !value.is_array() {
                    let body = v.as_str().and_then(template_body).unwrap_or_default();
                    return Err(query_error(format!(
                        "The JSONata expression '{body}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                        type_name(&value),
                        shown(&value)
                    )));
                }
                value
            }
        };
        match items {
            Value::Array(a) => Ok((active.input.clone(), a)),
            other => Err(query_error(format!(
                "Map state input must be an array but was: {}",
                shown(&other)
            ))),
        }
    }

    pub(crate) fn jsonata_map_settings(
        &self,
        f: &Frame,
        node: &Node,
        m: &MapState,
        active: &Active,
        _effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let ev = self.jsonata_env(node, &f.vars, self.states(node, &active.input, ctx));
        let max_concurrency = match &m.max_concurrency {
            None => 0,
            Some(s) => ev.number(s, "MaxConcurrency")?.max(0.0) as usize,
        };
        if concurrency_only {
            return Ok(Settings {
                max_concurrency,
                tolerated_count: None,
                tolerated_percentage: None,
            });
        }
        let tolerated_count = match &m.tolerated_failure_count {
            None => None,
            Some(s) => Some(ev.number(s, "ToleratedFailureCount")?),
        };
        let tolerated_percentage = match &m.tolerated_failure_percentage {
            None => None,
            Some(s) => {
                let n = ev.number(s, "ToleratedFailurePercentage")?;
                if !(0.0..=100.0).contains(&n) {
                    return Err(Failure::runtime(
                        "ToleratedFailurePercentage must be between 0 and 100.",
                    ));
                }
                Some(n)
            }
        };
        Ok(Settings {
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
        })
    }

    /// A map run's JSONata ItemSelector for one item, with `context`
    /// (`$$` with `Map.Item`) given rather than built from a frame.
    pub(crate) fn jsonata_select(
        &self,
        node: &Node,
        vars: &Variables,
        effective: &Value,
        context: Value,
        selector: &Value,
    ) -> Result<Value, Failure> {
        let ev = self.jsonata_env(node, vars, self.states(node, effective, context));
        ev.template(selector, "ItemSelector")
    }

    /// Map `ItemSelector` in JSONata mode (`$states.context.Map.Item`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn jsonata_item_selector(
        &self,
        f: &Frame,
        node: &Node,
        m: &MapState,
        active: &Active,
        effective: &Value,
        index: usize,
        item: Value,
    ) -> Result<Value, Failure> {
        let Some(selector) = &m.item_selector_jsonata else {
            return Ok(item);
        };
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            Some((index, &item)),
        );
        let ev = self.jsonata_env(node, &f.vars, self.states(node, effective, ctx));
        ev.template(selector, "ItemSelector")
    }
}

/// The field an evaluation failure names (`EvaluationFailed.location`).
fn location(cause: &str) -> Option<&str> {
    const MARK: &str = "specified for the field '";
    if let Some(at) = cause.find(MARK) {
        let rest = &cause[at + MARK.len()..];
        return rest.find('\'').map(|end| &rest[..end]);
    }
    if cause.contains("The Timestamp field") {
        return Some("Timestamp");
    }
    None
}

/// What a simple (non-execution) JSONata state does.
enum Simple {
    Exit(Option<usize>, Value, Option<Map<String, Value>>),
    Fail(Failure),
    Wait(i64, Value, Option<Map<String, Value>>),
}
