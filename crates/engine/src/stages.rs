//! One state's data-flow stages run alone, without a machine or an
//! execution: what TestState shows stage by stage (InputPath, Parameters or
//! Arguments, ResultSelector, ResultPath) and what it decides instead of
//! doing it (would Retry retry, which catcher catches and with what
//! output). Every stage is the engine's own ([`crate::dataflow`] and
//! [`crate::retry`]), so TestState and executions cannot disagree.

use serde_json::Value;
use statecraft_language::ast::{QueryLanguage, State};
use statecraft_language::scope::Variables;
use statecraft_language::Host;
use statecraft_types::Failure;

use crate::context::{self, StateInfo};
use crate::dataflow::{jsonpath, DataFlow, Part, Stage};
use crate::machine::Node;
use crate::retry::{self, StateType};
use crate::{Error, ExecutionContext, JsonataLimits};

/// A state compiled on its own, with the context its stages run in.
pub struct StateStages<'h> {
    node: Node,
    context: ExecutionContext,
    host: &'h dyn Host,
    now_ms: i64,
    /// The time and depth one JSONata evaluation may take.
    pub jsonata_limits: JsonataLimits,
    vars: Variables,
}

/// A retrier would retry: which one and after how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Retriable {
    /// The retrier's index in `Retry`.
    pub index: usize,
    /// The back-off before jitter ([`retry::backoff_seconds`]).
    pub backoff_seconds: f64,
}

/// A catcher catches: which one, where it goes and the state's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Caught {
    /// The catcher's index in `Catch`.
    pub index: usize,
    pub next: String,
    pub output: Value,
}

impl<'h> StateStages<'h> {
    /// Compiles `state` (its paths, templates and JSONata expressions, as
    /// `Machine::new` does) to run its stages in `context` at `now_ms`.
    pub fn new(
        state: &State,
        context: ExecutionContext,
        host: &'h dyn Host,
        now_ms: i64,
    ) -> Result<StateStages<'h>, Error> {
        Ok(StateStages {
            node: Node::alone(state)?,
            context,
            host,
            now_ms,
            jsonata_limits: JsonataLimits::default(),
            vars: Variables::new(),
        })
    }

    /// Whether the state's query language is JSONata.
    pub fn is_jsonata(&self) -> bool {
        self.node.state.query_language == QueryLanguage::Jsonata
    }

    /// A stage on `input`, whose `$$` has `input` as the execution's input.
    fn stage(&self, input: &Value) -> Stage<'_> {
        let ctx = if self.node.uses_context {
            context::build(
                &self.context,
                input,
                &StateInfo {
                    name: &self.node.state.name,
                    entered_ms: self.now_ms,
                    retry_count: None,
                    token: None,
                },
                None,
            )
        } else {
            Value::Null
        };
        Stage::new(
            &self.node,
            input,
            ctx,
            &self.vars,
            self.host,
            self.now_ms,
            self.jsonata_limits,
        )
    }

    /// The effective input: `InputPath` applied to `input` (JSONata: the
    /// input itself).
    pub fn input_path(&self, input: &Value) -> Result<Value, Failure> {
        let s = self.stage(input);
        let effective = self.node.flow.effective(&s, input)?;
        Ok(effective.unwrap_or_else(|| input.clone()))
    }

    /// What the state works on: `Parameters` applied to `effective`
    /// (JSONPath), or `Arguments` evaluated with `effective` as
    /// `$states.input` (JSONata); without either, `effective` itself.
    pub fn arguments(&self, effective: &Value) -> Result<Value, Failure> {
        let s = self.stage(effective);
        let args = self.node.flow.arguments(&s, effective, None)?;
        Ok(args.unwrap_or_else(|| effective.clone()))
    }

    /// `ResultSelector` applied to a task's result (JSONPath; otherwise the
    /// result itself).
    pub fn result_selector(&self, result: &Value) -> Result<Value, Failure> {
        match &self.node.state.io.result_selector {
            Some(t) => {
                let s = self.stage(result);
                jsonpath::template(t, result, &s.env())
            }
            None => Ok(result.clone()),
        }
    }

    /// `ResultPath`: `result` placed into the state's raw `input`.
    pub fn result_path(&self, input: Value, result: Value) -> Result<Value, Failure> {
        jsonpath::place_result(self.node.state.io.result_path.as_ref(), input, result)
    }

    /// The retrier that would retry `failure` (raised by a state of type
    /// `raised_by`) after `retry_count` retries, as the engine chooses it:
    /// the first whose `ErrorEquals` matches, if it has attempts left.
    pub fn retry(
        &self,
        failure: &Failure,
        raised_by: Option<StateType>,
        retry_count: u64,
    ) -> Option<Retriable> {
        let retriers = self.node.state.retriers();
        let index = retry::find(retriers, failure, raised_by)?;
        let r = retriers.get(index)?;
        (retry_count < r.max_attempts).then(|| Retriable {
            index,
            backoff_seconds: retry::backoff_seconds(
                r,
                u32::try_from(retry_count).unwrap_or(u32::MAX),
            ),
        })
    }

    /// The catcher that catches `failure`, and the state's output through
    /// it (`ResultPath` on `input`, or the catcher's JSONata `Output`);
    /// `None` when no catcher matches, `Err` when the output cannot be
    /// built (the state then fails with that error, as in an execution).
    pub fn catch(
        &self,
        failure: &Failure,
        raised_by: Option<StateType>,
        input: Value,
    ) -> Option<Result<Caught, Failure>> {
        let (index, c) = self
            .node
            .state
            .catchers()
            .iter()
            .enumerate()
            .find(|(_, c)| retry::matches(&c.error_equals, failure, raised_by))?;
        let error_output = crate::history::error_output(failure);
        let s = self.stage(&input).with("errorOutput", &error_output);
        let mut raw = input;
        let output = self
            .node
            .flow
            .output(&s, Part::Catcher(index), &mut raw, Some(error_output));
        Some(output.map(|output| Caught {
            index,
            next: c.next.clone(),
            output,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use statecraft_types::Failure;

    use super::*;
    use crate::host::DeterministicHost;

    /// State `S` of a machine where every state it can go to is a Succeed.
    fn state(def: serde_json::Value) -> State {
        let mut states = serde_json::Map::new();
        let catchers = def["Catch"].as_array().cloned().unwrap_or_default();
        for target in catchers.iter().map(|c| &c["Next"]).chain([&def["Next"]]) {
            if let Some(name) = target.as_str() {
                states.insert(name.into(), json!({"Type": "Succeed"}));
            }
        }
        states.insert("S".into(), def);
        let sm = statecraft_language::parse_value(&json!({"StartAt": "S", "States": states}))
            .expect("parses");
        sm.states.into_iter().find(|s| s.name == "S").expect("S")
    }

    fn context() -> ExecutionContext {
        crate::driver::context_for("TestState", 0)
    }

    #[test]
    fn jsonpath_stages_one_by_one() {
        let host = DeterministicHost::new(1);
        let s = state(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "InputPath": "$.in", "Parameters": {"x.$": "$.a"},
            "ResultSelector": {"r.$": "$.v"}, "ResultPath": "$.out", "Next": "Next1"}),
        );
        let st = StateStages::new(&s, context(), &host, 0).expect("compiles");
        assert!(!st.is_jsonata());
        let input = json!({"in": {"a": 1}});
        let effective = st.input_path(&input).unwrap();
        assert_eq!(effective, json!({"a": 1}));
        assert_eq!(st.arguments(&effective).unwrap(), json!({"x": 1}));
        let selected = st.result_selector(&json!({"v": 2})).unwrap();
        assert_eq!(selected, json!({"r": 2}));
        assert_eq!(
            st.result_path(input, selected).unwrap(),
            json!({"in": {"a": 1}, "out": {"r": 2}})
        );
        // A path that selects nothing is the engine's States.Runtime.
        let err = st.input_path(&json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn jsonata_arguments_see_states_input() {
        let host = DeterministicHost::new(1);
        let s = state(json!({"Type": "Task", "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"sum": "{% $states.input.a + 1 %}"}, "Next": "Next1"}));
        let st = StateStages::new(&s, context(), &host, 0).expect("compiles");
        assert!(st.is_jsonata());
        assert_eq!(st.arguments(&json!({"a": 1})).unwrap(), json!({"sum": 2}));
        let err = st.arguments(&json!({"a": "x"})).unwrap_err();
        assert_eq!(err.error, "States.QueryEvaluationError");
    }

    #[test]
    fn retry_and_catch_decide_as_the_engine_does() {
        let host = DeterministicHost::new(1);
        let s = state(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [
                {"ErrorEquals": ["Other"]},
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 3,
                 "BackoffRate": 2.0, "MaxDelaySeconds": 10}
            ],
            "Catch": [
                {"ErrorEquals": ["Other"], "Next": "Next1"},
                {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Handler"}
            ],
            "Next": "Next1"}),
        );
        let st = StateStages::new(&s, context(), &host, 0).expect("compiles");
        let failure = Failure::new("Boom", "");
        let task = Some(StateType::Task);
        // (retry count, expected retrier decision)
        let cases = [(0, Some((1, 3.0))), (1, Some((1, 6.0))), (2, None)];
        for (count, want) in cases {
            let got = st
                .retry(&failure, task, count)
                .map(|r| (r.index, r.backoff_seconds));
            assert_eq!(got, want, "retry count {count}");
        }
        // States.TaskFailed catches a Task's error, not a Parallel's.
        let caught = st
            .catch(&failure, task, json!({"a": 1}))
            .expect("caught")
            .expect("placed");
        assert_eq!(
            caught,
            Caught {
                index: 1,
                next: "Handler".into(),
                output: json!({"a": 1, "err": {"Error": "Boom", "Cause": null}}),
            }
        );
        assert!(st
            .catch(&failure, Some(StateType::Parallel), json!({}))
            .is_none());
        // The runtime error is matched by nothing.
        let runtime = Failure::new("States.Runtime", "x");
        assert!(st.retry(&runtime, task, 0).is_none());
        assert!(st.catch(&runtime, task, json!({})).is_none());
    }
}
