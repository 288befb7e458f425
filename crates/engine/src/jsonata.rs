//! JSONata evaluation (the engine's side of `crate::dataflow::jsonata`):
//! states with `QueryLanguage: JSONata` write their
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
    ChoiceRule, NumberSource, QueryLanguage, State, StateKind, StringSource, WaitDuration,
};
use statecraft_language::scope::Variables;
use statecraft_types::errors::QUERY_EVALUATION_ERROR;
use statecraft_types::Failure;

use crate::dataflow::shown;
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

    /// Whether the expressions read `$states` (else a stage need not
    /// build it).
    pub fn needs_states(&self) -> bool {
        self.enabled && self.needs_states
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

pub(crate) fn query_error(cause: String) -> Failure {
    Failure::new(QUERY_EVALUATION_ERROR, cause)
}

pub(crate) fn type_name(v: &Value) -> &'static str {
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
pub(crate) struct Eval<'a> {
    env: Environment,
    compiled: &'a Compiled,
    limits: JsonataLimits,
}

impl Eval<'_> {
    /// Evaluates one expression. `Ok(None)` is JSONata's undefined.
    pub(crate) fn expr(&self, body: &str, field: &str) -> Result<Option<Value>, Failure> {
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
    pub(crate) fn template(&self, v: &Value, field: &str) -> Result<Value, Failure> {
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

    pub(crate) fn assign(
        &self,
        assign: Option<&Value>,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        match assign {
            None => Ok(None),
            Some(v) => match self.template(v, "Assign")? {
                Value::Object(m) if !m.is_empty() => Ok(Some(m)),
                _ => Ok(None),
            },
        }
    }

    pub(crate) fn number(&self, src: &NumberSource, field: &str) -> Result<f64, Failure> {
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

/// The evaluation environment of a JSONata stage: the variables its
/// expressions name, `$states` when they read it, the limits, and `$now`,
/// `$random` and `$uuid` seeded from the engine's host (one draw per
/// environment of a state that has expressions).
pub(crate) fn environment<'c>(
    compiled: &'c Compiled,
    vars: &Variables,
    states: Map<String, Value>,
    host: &dyn statecraft_language::Host,
    now_ms: i64,
    limits: JsonataLimits,
) -> Eval<'c> {
    let seed = if compiled.exprs.is_empty() {
        0
    } else {
        (host.random() * 9.007e15) as u64
    };
    let bridge = Bridge {
        now_ms,
        state: std::sync::atomic::AtomicU64::new(seed),
    };
    let mut env = Environment::new()
        .step_functions()
        .with_limits(limits.depth, Some(limits.time))
        .with_host(Arc::new(bridge));
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
        compiled,
        limits,
    }
}

/// The field an evaluation failure names (`EvaluationFailed.location`).
pub(crate) fn location(cause: &str) -> Option<&str> {
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
