//! Choice: the first rule that holds picks the next state; otherwise
//! `Default`, otherwise `States.NoChoiceMatched`. A matching rule's `Assign`
//! applies; the state's own `Assign` applies when `Default` is taken.

use serde_json::Value;
use statecraft_language::ast::{Choice, ChoiceRule};
use statecraft_types::errors::NO_CHOICE_MATCHED;
use statecraft_types::Failure;

use crate::dataflow::{self, Env};
use crate::exec::{Flow, Frame, Run};
use crate::machine::Node;

/// The outcome of a Choice state: where to go, what it outputs and assigns.
type Chosen = (Option<usize>, Value, Option<serde_json::Map<String, Value>>);

impl Run<'_> {
    pub(crate) fn choice(
        &mut self,
        f: &mut Frame,
        node: &Node,
        c: &Choice,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        match self.choose(f, node, c, input, &ctx) {
            Ok((next, output, assigned)) => self.exit(f, node, next, output, assigned),
            Err(failure) if failure.error == NO_CHOICE_MATCHED => Flow::Fail {
                failure,
                state,
                input: None,
            },
            Err(failure) => Flow::Fail {
                failure: Self::in_state(node, entered_id, failure),
                state,
                input: None,
            },
        }
    }

    fn choose(
        &self,
        f: &Frame,
        node: &Node,
        c: &Choice,
        input: Value,
        ctx: &Value,
    ) -> Result<Chosen, Failure> {
        let io = &node.state.io;
        let env = Env {
            context: ctx,
            vars: &f.vars,
            host: self.host,
        };
        let effective = dataflow::input(io.input_path.as_ref(), &input, &env)?;
        let eff = effective.as_ref().unwrap_or(&input);
        let mut picked = None;
        for (i, branch) in c.choices.iter().enumerate() {
            let holds = match &branch.rule {
                ChoiceRule::Condition(_) => false,
                rule => statecraft_language::choice::evaluate(rule, &env.scope(eff))?,
            };
            if holds {
                picked = Some(i);
                break;
            }
        }
        let (next, template) = match picked {
            Some(i) => (
                node.choice_next.get(i).copied(),
                node.choice_assign.get(i).and_then(Option::as_ref),
            ),
            None => match node.default {
                Some(d) => (Some(d), node.assign.as_ref()),
                None => {
                    return Err(Failure::new(NO_CHOICE_MATCHED, "No Matches!"));
                }
            },
        };
        let assigned = self.eval_assign(template, eff, ctx, &f.vars)?;
        let output = dataflow::output(io.output_path.as_ref(), effective.unwrap_or(input), &env)?;
        Ok((next, output, assigned))
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::{run, run_ok};
    use serde_json::json;

    #[test]
    fn first_match_default_and_no_match() {
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.v", "NumericEquals": 1, "Next": "One"},
                {"Variable": "$.v", "NumericGreaterThan": 0, "Next": "Pos"}
            ], "Default": "Other"},
            "One": {"Type": "Pass", "Result": "one", "End": true},
            "Pos": {"Type": "Pass", "Result": "pos", "End": true},
            "Other": {"Type": "Pass", "Result": "other", "End": true}
        }});
        assert_eq!(run_ok(&def, json!({"v": 1})), json!("one"));
        assert_eq!(run_ok(&def, json!({"v": 5})), json!("pos"));
        assert_eq!(run_ok(&def, json!({"v": -5})), json!("other"));
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.v", "NumericEquals": 1, "Next": "One"}
            ]},
            "One": {"Type": "Pass", "End": true}
        }});
        assert_eq!(
            run(&def, json!({"v": 2})).error.as_deref(),
            Some("States.NoChoiceMatched")
        );
    }
}
