//! Pass: passes its input (or its `Result`, or its `Parameters`) to its
//! output through the usual data flow, without doing work.

use serde_json::Value;
use statecraft_language::ast::{NullableReferencePath, Pass};
use statecraft_types::Failure;

use crate::dataflow::{self, Env};
use crate::exec::{Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn pass(
        &mut self,
        f: &mut Frame,
        node: &Node,
        p: &Pass,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        match self.pass_output(f, node, p, input, &ctx) {
            Ok((output, assigned)) => self.exit(f, node, node.next, output, assigned),
            Err(failure) => Flow::Fail {
                failure: Self::in_state(node, entered_id, failure),
                state,
                input: None,
            },
        }
    }

    fn pass_output(
        &self,
        f: &Frame,
        node: &Node,
        p: &Pass,
        input: Value,
        ctx: &Value,
    ) -> Result<(Value, Option<serde_json::Map<String, Value>>), Failure> {
        let io = &node.state.io;
        let env = Env {
            context: ctx,
            vars: &f.vars,
            host: self.host,
        };
        let effective = dataflow::input(io.input_path.as_ref(), &input, &env)?;
        // `None`: the result is the effective input itself.
        // Parameters shape the effective input; `Result`, when present, is
        // the "work" of a Pass state and so replaces it (AWS's order).
        let effective = match &io.parameters {
            Some(t) => Some(dataflow::template(
                t,
                effective.as_ref().unwrap_or(&input),
                &env,
            )?),
            None => effective,
        };
        let result = match &p.result {
            Some(r) => Some(r.clone()),
            None => effective,
        };
        let assigned = self.eval_assign(
            node.assign.as_ref(),
            result.as_ref().unwrap_or(&input),
            ctx,
            &f.vars,
        )?;
        let combined = match (io.result_path.as_ref(), result) {
            (None, Some(r)) => r,
            (None, None) | (Some(NullableReferencePath::Null), _) => input,
            (Some(NullableReferencePath::Path(rp)), Some(r)) => rp.place(input, r)?,
            (Some(NullableReferencePath::Path(rp)), None) => {
                let r = input.clone();
                rp.place(input, r)?
            }
        };
        let output = dataflow::output(io.output_path.as_ref(), combined, &env)?;
        Ok((output, assigned))
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
