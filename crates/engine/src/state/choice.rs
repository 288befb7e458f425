//! Choice: the first rule that holds picks the next state; otherwise
//! `Default`, otherwise `States.NoChoiceMatched`. A matching rule's `Assign`
//! applies; the state's own `Assign` applies when `Default` is taken.

use serde_json::{Map, Value};
use statecraft_language::ast::Choice;
use statecraft_types::errors::NO_CHOICE_MATCHED;
use statecraft_types::Failure;

use crate::dataflow::{DataFlow, Part};
use crate::exec::{Entered, Flow, Frame, Run};
use crate::machine::Node;

type Chosen = (Option<usize>, Value, Option<Map<String, Value>>);

impl Run<'_> {
    pub(crate) fn choice(
        &mut self,
        f: &mut Frame,
        node: &Node,
        c: &Choice,
        at: Entered,
        mut input: Value,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let chosen = {
            let s = self.stage(f, node, &input, ctx);
            let flow = node.flow;
            (|| -> Result<Chosen, Failure> {
                let effective = flow.effective(&s, &input)?;
                let eff = effective.as_ref().unwrap_or(&input);
                let mut picked = None;
                for (i, branch) in c.choices.iter().enumerate() {
                    if flow.condition(&s, &branch.rule, eff)? {
                        picked = Some(i);
                        break;
                    }
                }
                let (next, part) = match picked {
                    Some(i) => (node.choice_next.get(i).copied(), Part::Rule(i)),
                    None => match node.default {
                        Some(d) => (Some(d), Part::State),
                        None => return Err(Failure::new(NO_CHOICE_MATCHED, "No Matches!")),
                    },
                };
                let assigned = flow.assign(&s, part, eff)?;
                let output = flow.output(&s, part, &mut input, effective)?;
                Ok((next, output, assigned))
            })()
        };
        match chosen {
            Ok((next, output, assigned)) => self.exit(f, node, next, output, assigned),
            // No rule matched: the error is not about evaluating the state.
            Err(failure) if failure.error == NO_CHOICE_MATCHED => Flow::Fail {
                failure,
                state: at.state,
                input: Some(input),
            },
            Err(failure) => self.state_failed(f, node, at, failure, input),
        }
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
