//! Pass: passes its input (or its `Result`, or its `Parameters`) to its
//! output through the usual data flow, without doing work.

use serde_json::{Map, Value};
use statecraft_language::ast::Pass;
use statecraft_types::Failure;

use crate::dataflow::{DataFlow, Part};
use crate::exec::{Entered, Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn pass(
        &mut self,
        f: &mut Frame,
        node: &Node,
        p: &Pass,
        at: Entered,
        mut input: Value,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let done = {
            let s = self.stage(f, node, &input, ctx);
            let flow = node.flow;
            (|| -> Result<(Value, Option<Map<String, Value>>), Failure> {
                let effective = flow.effective(&s, &input)?;
                // Parameters shape the effective input; `Result`, when
                // present, is the "work" of a Pass state and so replaces it
                // (AWS's order). `None`: the result is the input itself.
                let effective = flow.arguments(&s, &input, effective)?;
                let result = match &p.result {
                    Some(r) => Some(r.clone()),
                    None => effective,
                };
                let assigned = flow.assign(&s, Part::State, result.as_ref().unwrap_or(&input))?;
                let output = flow.output(&s, Part::State, &mut input, result)?;
                Ok((output, assigned))
            })()
        };
        match done {
            Ok((output, assigned)) => self.exit(f, node, node.next, output, assigned),
            Err(failure) => self.state_failed(f, node, at, failure, input),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::run_ok;
    use serde_json::json;

    #[test]
    fn result_parameters_and_paths() {
        let cases = [
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
                json!({"a": 1}),
                json!({"a": 1}),
            ),
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "End": true}}}),
                json!({"a": 1}),
                json!({"a": 1, "r": {"x": 1}}),
            ),
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.a", "Parameters": {"v.$": "$"}, "End": true}}}),
                json!({"a": 7}),
                json!({"v": 7}),
            ),
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": null, "OutputPath": "$.a", "End": true}}}),
                json!({"a": 2}),
                json!(2),
            ),
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "End": true}}}),
                json!({"a": 2}),
                json!({}),
            ),
            // With both, Parameters shape the input and Result is the result.
            (
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Result": {"r": 1}, "End": true}}}),
                json!({"a": 2}),
                json!({"r": 1}),
            ),
        ];
        for (def, input, want) in cases {
            assert_eq!(run_ok(&def, input), want, "{def}");
        }
    }
}
