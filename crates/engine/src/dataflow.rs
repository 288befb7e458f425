//! The data-flow interface: what a state does with its input, its result
//! and its fields, apart from the query language that says how.
//!
//! [`DataFlow`] has one implementation per query language:
//! [`jsonpath::JsonPath`] (InputPath → Parameters → work → ResultSelector
//! → ResultPath → OutputPath, with `Assign` templates) and
//! [`jsonata::Jsonata`] (`Arguments`, `Output`, `Assign`, `Items`,
//! `Condition`… as `{% … %}` expressions over `$states`). `Machine::new`
//! picks one per state ([`crate::machine::Node::flow`]), so each state
//! type's file (`state/*.rs`) is written once, against this interface.
//!
//! A [`Stage`] is one point of a state's life where its fields are
//! evaluated (entering, the task's answer, a catcher): the Context object,
//! the variables, and for JSONata the `$states` the expressions see. A
//! JSONata stage builds its evaluation environment on first use, so a stage
//! whose fields hold no expression costs nothing.

pub(crate) mod jsonata;
pub(crate) mod jsonpath;

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};

use serde_json::{Map, Value};
use statecraft_language::ast::{ChoiceRule, Fail, Map as MapState, Task, Wait};
use statecraft_language::scope::Variables;
use statecraft_language::Host;
use statecraft_types::Failure;

pub(crate) use jsonpath::{quoted, shown, template, Env};

use crate::machine::Node;
use crate::state::batch::Batcher;
use crate::JsonataLimits;

/// Whose fields a stage reads: the state's own, a Choice rule's (its
/// `Assign` and, in JSONata, its `Output`) or a catcher's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    State,
    Rule(usize),
    Catcher(usize),
}

/// What the stages of one state need, in a query language. Every method
/// is pure: it reads the stage and its arguments and returns a value or
/// the state's failure.
pub(crate) trait DataFlow: Sync + std::fmt::Debug {
    /// Binds what the state's expressions see at a new stage: the raw
    /// input (`$states.input`) and the Context object, under `limits`.
    fn open(&self, s: &mut Stage<'_>, input: &Value, limits: JsonataLimits);

    /// Adds `$states.<key>` (`result`, `errorOutput`) to a stage.
    fn bind(&self, s: &mut Stage<'_>, key: &'static str, value: &Value);

    /// The effective input (InputPath); `None`: the raw input itself.
    fn effective(&self, s: &Stage<'_>, raw: &Value) -> Result<Option<Value>, Failure>;

    /// What the state works on (`Parameters` on the effective input, or
    /// `Arguments`); `None`: the effective (or raw) input itself.
    fn arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        effective: Option<Value>,
    ) -> Result<Option<Value>, Failure>;

    /// The variables an `Assign` sets (`None`: nothing to assign). A
    /// JSONPath template reads `value`; a JSONata one reads `$states`.
    fn assign(
        &self,
        s: &Stage<'_>,
        part: Part,
        value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure>;

    /// The state's output from its raw input and its result (`None`: the
    /// result is the effective input). `raw` is taken when it is the
    /// output or the document the result is placed into, and left in place
    /// when a catcher may still need it.
    fn output(
        &self,
        s: &Stage<'_>,
        part: Part,
        raw: &mut Value,
        result: Option<Value>,
    ) -> Result<Value, Failure>;

    /// Whether a Choice rule holds for the effective input.
    fn condition(
        &self,
        s: &Stage<'_>,
        rule: &ChoiceRule,
        effective: &Value,
    ) -> Result<bool, Failure>;

    /// When a Wait state's timer fires (milliseconds since the epoch).
    fn wait_until(&self, s: &Stage<'_>, w: &Wait, effective: &Value) -> Result<i64, Failure>;

    /// The error and cause a Fail state fails with (`Err`: its fields
    /// could not be evaluated).
    fn fail(&self, s: &Stage<'_>, fl: &Fail, raw: &Value) -> Result<Failure, Failure>;

    /// A Task's parameters, `TimeoutSeconds` and `HeartbeatSeconds`, in the
    /// order the language evaluates them.
    fn task_inputs(
        &self,
        s: &Stage<'_>,
        t: &Task,
        raw: &Value,
    ) -> Result<(Value, Option<u64>, Option<u64>), Failure>;

    /// A payload field evaluated on the state's input (a Task's
    /// `Credentials`; a map run's JSONata `ItemBatcher`, ResultWriter
    /// `Arguments` and ItemSelector): a template on the effective input, or
    /// expressions.
    fn value(&self, s: &Stage<'_>, v: &Value, field: &str, raw: &Value) -> Result<Value, Failure>;

    /// The arguments of a resource a Map calls besides its iterations
    /// (`field`: `ItemReader`, `ResultWriter`): the object's `Parameters`
    /// as a template on the effective input, or its `Arguments` as
    /// expressions; `{}` without.
    fn resource_arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        field: &str,
        effective: &Value,
    ) -> Result<Value, Failure>;

    /// A Map state's effective input and its items (ItemsPath or `Items`).
    fn map_items(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        raw: &Value,
    ) -> Result<(Value, Vec<Value>), Failure>;

    /// A Map state's MaxConcurrency and, unless `concurrency_only`, its
    /// tolerated failures.
    fn map_settings(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure>;

    /// A Map's ItemBatcher, resolved.
    fn batcher(&self, s: &Stage<'_>, raw: &Value, effective: &Value) -> Result<Batcher, Failure>;

    /// Whether the Map has an ItemSelector (without one, an item is the
    /// iteration's input as it is).
    fn has_item_selector(&self, m: &MapState) -> bool;

    /// The Map's ItemSelector for one item. The stage's input is the Map's
    /// effective input and its Context object has `Map.Item`.
    fn item_selector(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
    ) -> Result<Value, Failure>;
}

/// The query language of a state, chosen once in `Machine::new`: a value
/// that dispatches to [`jsonpath::JsonPath`] or [`jsonata::Jsonata`]
/// statically, so the JSONPath stages inline into the state handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    JsonPath,
    Jsonata,
}

impl DataFlow for Language {
    #[inline]
    fn open(&self, s: &mut Stage<'_>, input: &Value, limits: JsonataLimits) {
        match self {
            Language::JsonPath => jsonpath::JsonPath.open(s, input, limits),
            Language::Jsonata => jsonata::Jsonata.open(s, input, limits),
        }
    }

    #[inline]
    fn bind(&self, s: &mut Stage<'_>, key: &'static str, value: &Value) {
        match self {
            Language::JsonPath => jsonpath::JsonPath.bind(s, key, value),
            Language::Jsonata => jsonata::Jsonata.bind(s, key, value),
        }
    }

    #[inline]
    fn effective(&self, s: &Stage<'_>, raw: &Value) -> Result<Option<Value>, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.effective(s, raw),
            Language::Jsonata => jsonata::Jsonata.effective(s, raw),
        }
    }

    #[inline]
    fn arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        effective: Option<Value>,
    ) -> Result<Option<Value>, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.arguments(s, raw, effective),
            Language::Jsonata => jsonata::Jsonata.arguments(s, raw, effective),
        }
    }

    #[inline]
    fn assign(
        &self,
        s: &Stage<'_>,
        part: Part,
        value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.assign(s, part, value),
            Language::Jsonata => jsonata::Jsonata.assign(s, part, value),
        }
    }

    #[inline]
    fn output(
        &self,
        s: &Stage<'_>,
        part: Part,
        raw: &mut Value,
        result: Option<Value>,
    ) -> Result<Value, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.output(s, part, raw, result),
            Language::Jsonata => jsonata::Jsonata.output(s, part, raw, result),
        }
    }

    #[inline]
    fn condition(
        &self,
        s: &Stage<'_>,
        rule: &ChoiceRule,
        effective: &Value,
    ) -> Result<bool, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.condition(s, rule, effective),
            Language::Jsonata => jsonata::Jsonata.condition(s, rule, effective),
        }
    }

    #[inline]
    fn wait_until(&self, s: &Stage<'_>, w: &Wait, effective: &Value) -> Result<i64, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.wait_until(s, w, effective),
            Language::Jsonata => jsonata::Jsonata.wait_until(s, w, effective),
        }
    }

    #[inline]
    fn fail(&self, s: &Stage<'_>, fl: &Fail, raw: &Value) -> Result<Failure, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.fail(s, fl, raw),
            Language::Jsonata => jsonata::Jsonata.fail(s, fl, raw),
        }
    }

    #[inline]
    fn task_inputs(
        &self,
        s: &Stage<'_>,
        t: &Task,
        raw: &Value,
    ) -> Result<(Value, Option<u64>, Option<u64>), Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.task_inputs(s, t, raw),
            Language::Jsonata => jsonata::Jsonata.task_inputs(s, t, raw),
        }
    }

    #[inline]
    fn value(&self, s: &Stage<'_>, v: &Value, field: &str, raw: &Value) -> Result<Value, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.value(s, v, field, raw),
            Language::Jsonata => jsonata::Jsonata.value(s, v, field, raw),
        }
    }

    #[inline]
    fn resource_arguments(
        &self,
        s: &Stage<'_>,
        raw: &Value,
        field: &str,
        effective: &Value,
    ) -> Result<Value, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.resource_arguments(s, raw, field, effective),
            Language::Jsonata => jsonata::Jsonata.resource_arguments(s, raw, field, effective),
        }
    }

    #[inline]
    fn map_items(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        raw: &Value,
    ) -> Result<(Value, Vec<Value>), Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.map_items(s, m, raw),
            Language::Jsonata => jsonata::Jsonata.map_items(s, m, raw),
        }
    }

    #[inline]
    fn map_settings(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure> {
        match self {
            Language::JsonPath => {
                jsonpath::JsonPath.map_settings(s, m, effective, concurrency_only)
            }
            Language::Jsonata => jsonata::Jsonata.map_settings(s, m, effective, concurrency_only),
        }
    }

    #[inline]
    fn batcher(&self, s: &Stage<'_>, raw: &Value, effective: &Value) -> Result<Batcher, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.batcher(s, raw, effective),
            Language::Jsonata => jsonata::Jsonata.batcher(s, raw, effective),
        }
    }

    #[inline]
    fn has_item_selector(&self, m: &MapState) -> bool {
        match self {
            Language::JsonPath => jsonpath::JsonPath.has_item_selector(m),
            Language::Jsonata => jsonata::Jsonata.has_item_selector(m),
        }
    }

    #[inline]
    fn item_selector(
        &self,
        s: &Stage<'_>,
        m: &MapState,
        effective: &Value,
    ) -> Result<Value, Failure> {
        match self {
            Language::JsonPath => jsonpath::JsonPath.item_selector(s, m, effective),
            Language::Jsonata => jsonata::Jsonata.item_selector(s, m, effective),
        }
    }
}

/// The settings a Map state resolves before it starts its iterations.
pub(crate) struct Settings {
    pub max_concurrency: usize,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
}

impl Settings {
    /// The settings with their tolerance checked, the same in both query
    /// languages: a count is not negative, a percentage is within 0..=100.
    pub(crate) fn checked(
        max_concurrency: usize,
        tolerated_count: Option<f64>,
        tolerated_percentage: Option<f64>,
    ) -> Result<Settings, Failure> {
        if tolerated_count.is_some_and(|n| n < 0.0) {
            return Err(Failure::runtime(
                "ToleratedFailureCount cannot be negative.",
            ));
        }
        if tolerated_percentage.is_some_and(|n| !(0.0..=100.0).contains(&n)) {
            return Err(Failure::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ));
        }
        Ok(Settings {
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
        })
    }
}

/// One evaluation point of a state (see the module's documentation).
pub(crate) struct Stage<'a> {
    pub node: &'a Node,
    /// `$$` (`Value::Null` when the state never reads it), owned or
    /// borrowed (a Map's ItemSelector reuses one `$$` for every item). A
    /// JSONata stage moves it into `$states.context` when its expressions
    /// read `$states`.
    pub context: Cow<'a, Value>,
    pub vars: &'a Variables,
    pub host: &'a dyn Host,
    pub now: i64,
    /// What only a JSONata stage needs (boxed: a JSONPath stage stays small,
    /// as one is made for every state entered).
    pub(crate) jsonata: Option<Box<JsonataStage<'a>>>,
}

/// The JSONata part of a [`Stage`].
pub(crate) struct JsonataStage<'a> {
    pub limits: JsonataLimits,
    /// `$states`, until the environment is built.
    pub states: Cell<Option<Map<String, Value>>>,
    /// The environment, built on first use.
    pub eval: OnceCell<crate::jsonata::Eval<'a>>,
}

impl<'a> Stage<'a> {
    /// A stage of `node` on its raw `input`.
    #[inline]
    pub fn new(
        node: &'a Node,
        input: &Value,
        context: Value,
        vars: &'a Variables,
        host: &'a dyn Host,
        now: i64,
        limits: JsonataLimits,
    ) -> Stage<'a> {
        Stage::with_context(node, input, Cow::Owned(context), vars, host, now, limits)
    }

    /// A stage whose `$$` is borrowed.
    #[inline]
    pub fn borrowing(
        node: &'a Node,
        input: &Value,
        context: &'a Value,
        vars: &'a Variables,
        host: &'a dyn Host,
        now: i64,
        limits: JsonataLimits,
    ) -> Stage<'a> {
        Stage::with_context(node, input, Cow::Borrowed(context), vars, host, now, limits)
    }

    #[inline]
    fn with_context(
        node: &'a Node,
        input: &Value,
        context: Cow<'a, Value>,
        vars: &'a Variables,
        host: &'a dyn Host,
        now: i64,
        limits: JsonataLimits,
    ) -> Stage<'a> {
        let mut s = Stage {
            node,
            context,
            vars,
            host,
            now,
            jsonata: None,
        };
        node.flow.open(&mut s, input, limits);
        s
    }

    /// Adds `$states.<key>` (JSONata; nothing in JSONPath).
    #[inline]
    pub fn with(mut self, key: &'static str, value: &Value) -> Stage<'a> {
        self.node.flow.bind(&mut self, key, value);
        self
    }

    /// The JSONPath environment of this stage.
    #[inline]
    pub fn env(&self) -> Env<'_> {
        Env {
            context: self.context.as_ref(),
            vars: self.vars,
            host: self.host,
        }
    }
}

#[cfg(test)]
mod settings_tests {
    use super::Settings;

    #[test]
    fn the_tolerance_is_checked_once_for_both_languages() {
        let cases: &[(Option<f64>, Option<f64>, Option<&str>)] = &[
            (None, None, None),
            (Some(0.0), Some(0.0), None),
            (Some(5.0), Some(100.0), None),
            (
                Some(-1.0),
                None,
                Some("ToleratedFailureCount cannot be negative."),
            ),
            (None, Some(-0.5), Some("must be between 0 and 100")),
            (None, Some(100.5), Some("must be between 0 and 100")),
        ];
        for (count, percentage, refused) in cases {
            match (Settings::checked(4, *count, *percentage), refused) {
                (Ok(s), None) => {
                    assert_eq!(
                        (s.max_concurrency, s.tolerated_count, s.tolerated_percentage),
                        (4, *count, *percentage)
                    );
                }
                (Err(f), Some(why)) => {
                    assert_eq!(f.error, "States.Runtime");
                    assert!(
                        f.cause.contains(why),
                        "{count:?} {percentage:?}: {}",
                        f.cause
                    );
                }
                (Ok(_), Some(why)) => panic!("{count:?} {percentage:?} accepted; expected {why}"),
                (Err(f), None) => panic!("{count:?} {percentage:?} refused: {}", f.cause),
            }
        }
    }
}
