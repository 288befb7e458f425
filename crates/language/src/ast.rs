//! The typed form of a state machine definition, as the decoder builds it from
//! JSON or YAML. Every state remembers its JSON Pointer so that diagnostics and
//! run-time errors can point back into the source.
//!
//! JSONPath pieces (paths, payload templates, Choice comparisons) are already
//! compiled here; JSONata pieces are kept as the raw JSON values that hold the
//! `{% … %}` expressions, and are compiled by the JSONata layer.

use serde_json::Value;

use crate::path::{Path, ReferencePath};
use crate::template::{Expr, Template};

/// The query language of a machine or of one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

/// A state machine, or one Parallel branch, or a Map's item processor: they
/// share this shape (`StartAt` + `States`).
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub start_at: String,
    /// In document order. Names are unique (duplicates are a diagnostic).
    pub states: Vec<State>,
    /// The machine's `TimeoutSeconds` (top level only).
    pub timeout_seconds: Option<u64>,
    pub version: Option<String>,
    /// The top-level `QueryLanguage` (inherited by branches and processors).
    pub query_language: QueryLanguage,
    /// JSON Pointer of this object: `""` at the top, `/States/P/Branches/0` for a branch.
    pub pointer: String,
}

impl StateMachine {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.states.iter().position(|s| s.name == name)
    }
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    /// JSON Pointer of the state object, e.g. `/States/Hello`.
    pub pointer: String,
    pub comment: Option<String>,
    /// The effective query language of this state.
    pub query_language: QueryLanguage,
    /// `Assign` (both query languages): raw, evaluated by the engine.
    pub assign: Option<Value>,
    /// The input/output processing fields this state has.
    pub io: DataFlow,
    pub kind: StateKind,
}

/// `Next` or `End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// A path field that may also be JSON `null` (`InputPath: null` discards input).
#[derive(Debug, Clone)]
pub enum NullablePath {
    Path(Path),
    Null,
}

/// `ResultPath`, which may be `null` (discard the result, keep the input).
#[derive(Debug, Clone)]
pub enum NullableReferencePath {
    Path(ReferencePath),
    Null,
}

/// The data-flow fields. Absent fields take ASL's defaults (`$`); which ones
/// a state type may carry is checked by the decoder.
#[derive(Debug, Clone, Default)]
pub struct DataFlow {
    pub input_path: Option<NullablePath>,
    pub output_path: Option<NullablePath>,
    /// `Parameters` (and, for Map, the legacy name of `ItemSelector`).
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Option<NullableReferencePath>,
    /// JSONata `Arguments` (raw).
    pub arguments: Option<Value>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
}

// A state is built once per definition and never moved in bulk, so the
// size difference between variants costs nothing worth a Box in the API.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Map),
}

impl StateKind {
    /// The ASL `Type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pass {
    pub transition: Transition,
    /// `Result`: the state's result (JSONPath only).
    pub result: Option<Value>,
}

/// A value given either as a literal number or through a path (or, in
/// JSONata, as an expression): used for TimeoutSeconds, HeartbeatSeconds,
/// MaxConcurrency, ToleratedFailure*.
#[derive(Debug, Clone)]
pub enum NumberSource {
    Literal(f64),
    Path(ReferencePath),
    /// A JSONata `{% … %}` string (raw).
    Expression(Value),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub transition: Transition,
    /// The resource ARN or URI, e.g. `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    pub resource: String,
    pub timeout: Option<NumberSource>,
    pub heartbeat: Option<NumberSource>,
    /// `Credentials` (raw; kept for fidelity).
    pub credentials: Option<Value>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// `JitterStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    #[default]
    None,
    Full,
}

/// One `Retry` rule.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    /// Default 1.
    pub interval_seconds: u64,
    /// Default 3; 0 means never retry.
    pub max_attempts: u64,
    /// Default 2.0; at least 1.0.
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
    pub pointer: String,
}

/// One `Catch` rule.
#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    /// Default `$` (the error output replaces the input).
    pub result_path: Option<NullableReferencePath>,
    pub assign: Option<Value>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
    pub pointer: String,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub choices: Vec<ChoiceBranch>,
    pub default: Option<String>,
}

/// A top-level Choice rule: a condition and where it leads.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: String,
    pub assign: Option<Value>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
    pub pointer: String,
}

/// A Boolean expression of a Choice state.
#[derive(Debug, Clone)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    /// `Variable` compared with a literal or with another path (`…Path` operators).
    Compare {
        variable: Path,
        op: Comparison,
        operand: Operand,
    },
    /// JSONata `Condition`: a `{% … %}` string or a literal boolean (raw).
    Condition(Value),
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    /// The `…Path` form of an operator.
    Path(Path),
}

/// Comparison operators; the `…Path` forms are these with [`Operand::Path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub transition: Transition,
    pub duration: WaitDuration,
}

#[derive(Debug, Clone)]
pub enum WaitDuration {
    Seconds(u64),
    SecondsPath(ReferencePath),
    /// An RFC 3339 timestamp.
    Timestamp(String),
    TimestampPath(ReferencePath),
    /// JSONata `Seconds` (raw: number or `{% … %}`).
    SecondsExpression(Value),
    /// JSONata `Timestamp` (raw).
    TimestampExpression(Value),
}

/// A string given literally, through a path or intrinsic function
/// (`ErrorPath`/`CausePath`), or as a JSONata expression.
#[derive(Debug, Clone)]
pub enum StringSource {
    Literal(String),
    Dynamic(Expr),
    Expression(Value),
}

#[derive(Debug, Clone)]
pub struct Fail {
    pub error: Option<StringSource>,
    pub cause: Option<StringSource>,
}

#[derive(Debug, Clone)]
pub struct Parallel {
    pub transition: Transition,
    pub branches: Vec<StateMachine>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// `ProcessorConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapMode {
    #[default]
    Inline,
    Distributed,
}

#[derive(Debug, Clone)]
pub struct Map {
    pub transition: Transition,
    /// `ItemProcessor` or the legacy `Iterator`.
    pub processor: Box<StateMachine>,
    pub mode: MapMode,
    /// `ProcessorConfig.ExecutionType` for distributed maps (`STANDARD`/`EXPRESS`).
    pub execution_type: Option<String>,
    /// `ItemsPath` (JSONPath; default `$`).
    pub items_path: Option<ReferencePath>,
    /// JSONata `Items` (raw).
    pub items: Option<Value>,
    /// `ItemSelector` (JSONPath; the legacy `Parameters` lands here too).
    pub item_selector: Option<Template>,
    /// JSONata `ItemSelector` (raw).
    pub item_selector_jsonata: Option<Value>,
    pub max_concurrency: Option<NumberSource>,
    pub tolerated_failure_percentage: Option<NumberSource>,
    pub tolerated_failure_count: Option<NumberSource>,
    /// Distributed-map fields, kept raw.
    pub item_reader: Option<Value>,
    pub item_batcher: Option<Value>,
    pub result_writer: Option<Value>,
    pub label: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

impl State {
    /// Where this state goes on success (`None` for Choice, Succeed, Fail).
    pub fn transition(&self) -> Option<&Transition> {
        match &self.kind {
            StateKind::Pass(s) => Some(&s.transition),
            StateKind::Task(s) => Some(&s.transition),
            StateKind::Wait(s) => Some(&s.transition),
            StateKind::Parallel(s) => Some(&s.transition),
            StateKind::Map(s) => Some(&s.transition),
            StateKind::Choice(_) | StateKind::Succeed | StateKind::Fail(_) => None,
        }
    }

    /// The Retry rules of a Task, Parallel or Map state.
    pub fn retriers(&self) -> &[Retrier] {
        match &self.kind {
            StateKind::Task(s) => &s.retry,
            StateKind::Parallel(s) => &s.retry,
            StateKind::Map(s) => &s.retry,
            _ => &[],
        }
    }

    /// The Catch rules of a Task, Parallel or Map state.
    pub fn catchers(&self) -> &[Catcher] {
        match &self.kind {
            StateKind::Task(s) => &s.catch,
            StateKind::Parallel(s) => &s.catch,
            StateKind::Map(s) => &s.catch,
            _ => &[],
        }
    }
}
