//! JSONata: the expression language that Amazon States Language uses in its
//! `JSONata` query mode. Compile an expression once, evaluate it many times.
//!
//! ```
//! use statecraft_jsonata::{Environment, Expression};
//! let expr = Expression::parse("$states.input.order.qty * 2").unwrap();
//! let mut env = Environment::new();
//! env.bind("states", serde_json::json!({"input": {"order": {"qty": 21}}}));
//! assert_eq!(expr.evaluate(None, &env).unwrap(), Some(serde_json::json!(42)));
//! ```
//!
//! * The whole language of JSONata 2.x: paths with predicates, focus (`@`),
//!   index (`#`) and parent (`%`) bindings, grouping, sorting, transforms,
//!   lambdas with signatures, partial application, tail calls, regexes and
//!   the full function library including `$formatNumber`, `$formatInteger`,
//!   `$parseInteger`, `$fromMillis` and `$toMillis` pictures. It passes every
//!   case of the official test suite (`tests/suite.rs`).
//! * Values are reference counted: [`Environment::bind`] converts a document
//!   once and evaluations share it; [`Input`] does the same for the context.
//! * Limits ([`Environment::with_limits`]): evaluation depth and wall time give
//!   error `U1001`; strings over 16 MiB or arrays over 10 million items give
//!   `U1002`. Deeply nested input never overflows the native stack.
//! * [`Environment::step_functions`] selects the AWS Step Functions dialect.
//! * Errors carry JSONata's codes (`S0xxx` syntax, `T` type, `D` dynamic).

mod ast;
mod datetime;
mod error;
mod eval;
mod format;
mod functions;
mod parser;
mod regex;
mod signature;
mod step_functions;
mod transform;
mod value;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use error::Error;

use ast::Node;
use value::{flags, Value};

/// A compiled JSONata expression. Cheap to evaluate many times; `Send + Sync`.
#[derive(Debug)]
pub struct Expression {
    root: Node,
    labels: Arc<[Arc<str>]>,
}

/// A JSON document converted once into the evaluator's shared
/// (reference-counted) representation. Cloning is cheap; binding or
/// evaluating against it never copies the document again.
#[derive(Clone, Debug)]
pub struct Input(Value);

impl Input {
    /// Convert a JSON value.
    pub fn new(json: &serde_json::Value) -> Input {
        Input(Value::from_json(json))
    }

    /// Back to JSON.
    pub fn to_json(&self) -> serde_json::Value {
        self.0
            .to_json()
            .ok()
            .flatten()
            .unwrap_or(serde_json::Value::Null)
    }
}

impl From<&serde_json::Value> for Input {
    fn from(json: &serde_json::Value) -> Input {
        Input::new(json)
    }
}

/// Services the evaluator needs from its host: time, randomness, ids.
pub trait Host: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
    /// A float in `[0, 1)`.
    fn random(&self) -> f64;
    /// A version 4 UUID string.
    fn uuid(&self) -> String;
}

/// The default host: system clock and a small xorshift PRNG.
#[derive(Debug)]
pub struct SystemHost {
    state: std::sync::atomic::AtomicU64,
}

impl Default for SystemHost {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        SystemHost {
            state: std::sync::atomic::AtomicU64::new(seed | 1),
        }
    }
}

impl SystemHost {
    fn next_u64(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let prev = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or_else(|x| x);
        step(prev).wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl Host for SystemHost {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
    fn random(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uuid(&self) -> String {
        step_functions::uuid_from_bits(self.next_u64(), self.next_u64())
    }
}

/// Variable bindings, limits and host hooks for evaluation.
#[derive(Clone)]
pub struct Environment {
    bindings: HashMap<String, Value>,
    max_depth: usize,
    time_limit: Option<Duration>,
    host: Arc<dyn Host>,
    dialect_sfn: bool,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("bindings", &self.bindings.keys().collect::<Vec<_>>())
            .field("max_depth", &self.max_depth)
            .field("time_limit", &self.time_limit)
            .field("step_functions", &self.dialect_sfn)
            .finish()
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::new()
    }
}

impl Environment {
    /// An environment with default limits (depth 1000, time 1 s) and the system host.
    pub fn new() -> Self {
        Environment {
            bindings: HashMap::new(),
            max_depth: 1000,
            time_limit: Some(Duration::from_secs(1)),
            host: Arc::new(SystemHost::default()),
            dialect_sfn: false,
        }
    }

    /// Bind `$name` (given without the `$`). The value is converted once here,
    /// so evaluations share it without copying.
    pub fn bind(&mut self, name: &str, value: serde_json::Value) {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.bindings
            .insert(name.to_string(), Value::from_json(&value));
    }

    /// Bind `$name` to an already converted document (no copy).
    pub fn bind_input(&mut self, name: &str, value: &Input) {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.bindings.insert(name.to_string(), value.0.clone());
    }

    /// Set the evaluation depth limit and the time limit (`None` = no limit).
    pub fn with_limits(mut self, max_depth: usize, time_limit: Option<Duration>) -> Self {
        self.max_depth = max_depth;
        self.time_limit = time_limit;
        self
    }

    /// Use a host for the clock, random numbers and UUIDs.
    pub fn with_host(mut self, host: Arc<dyn Host>) -> Self {
        self.host = host;
        self
    }

    /// The AWS Step Functions dialect: no `$eval`; adds `$partition`, `$range`,
    /// `$hash`, `$random([seed])`, `$uuid` and `$parse`.
    pub fn step_functions(mut self) -> Self {
        self.dialect_sfn = true;
        self
    }
}

impl Expression {
    /// Compile an expression.
    pub fn parse(src: &str) -> Result<Expression, Error> {
        let parsed = parser::parse(src)?;
        Ok(Expression {
            root: parsed.root,
            labels: Arc::from(parsed.labels),
        })
    }

    /// Evaluate against an input (`None` = undefined). `Ok(None)` means the
    /// result is undefined.
    pub fn evaluate(
        &self,
        input: Option<&serde_json::Value>,
        env: &Environment,
    ) -> Result<Option<serde_json::Value>, Error> {
        let input = match input {
            None => Value::Undefined,
            Some(j) => Value::from_json(j),
        };
        let result = self.evaluate_value(input, env)?;
        let json = result.to_json();
        value::drop_deep(result);
        json
    }

    /// Like [`Expression::evaluate`], but tells a function result apart from
    /// a JSON one (`evaluate` renders a function as `""`, as JSONata's JSON
    /// output does): hosts that must refuse non-JSON results use this.
    pub fn evaluate_to_result(
        &self,
        input: Option<&serde_json::Value>,
        env: &Environment,
    ) -> Result<Evaluation, Error> {
        let input = match input {
            None => Value::Undefined,
            Some(j) => Value::from_json(j),
        };
        let result = self.evaluate_value(input, env)?;
        if result.is_func() {
            value::drop_deep(result);
            return Ok(Evaluation::Function);
        }
        let json = result.to_json();
        value::drop_deep(result);
        Ok(match json? {
            Some(v) => Evaluation::Json(v),
            None => Evaluation::Undefined,
        })
    }

    /// Evaluate against an already converted input (no copy of the input).
    pub fn evaluate_input(
        &self,
        input: Option<&Input>,
        env: &Environment,
    ) -> Result<Option<serde_json::Value>, Error> {
        let input = input.map(|i| i.0.clone()).unwrap_or(Value::Undefined);
        let result = self.evaluate_value(input, env)?;
        let json = result.to_json();
        value::drop_deep(result);
        json
    }

    fn evaluate_value(&self, input: Value, env: &Environment) -> Result<Value, Error> {
        let input = match input {
            Value::Array(a, f) if f & flags::SEQ == 0 => Value::Array(
                Arc::new(vec![Value::Array(a, f)]),
                flags::SEQ | flags::OUTER,
            ),
            other => other,
        };
        let mut ev = eval::Evaluator::new(env, self.labels.clone());
        ev.root = input.clone();
        let result = ev.eval(&self.root, &input, 0)?;
        Ok(match result {
            Value::Array(a, f) if f & flags::SEQ != 0 && f & flags::KEEP == 0 && a.len() == 1 => {
                a[0].clone()
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests;

/// What an expression produced, for [`Expression::evaluate_to_result`].
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    /// No value (JSONata's `undefined`).
    Undefined,
    Json(serde_json::Value),
    /// A function (a lambda, a built-in or a partial application).
    Function,
}
