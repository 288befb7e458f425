//! Succeed: ends its frame (the execution, a branch or an iteration)
//! successfully with its input filtered by InputPath and OutputPath.

use serde_json::{Map, Value};
use statecraft_types::Failure;

use crate::dataflow::{DataFlow, Part};
use crate::exec::{Entered, Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn succeed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        at: Entered,
        mut input: Value,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let done = {
            let s = self.stage(f, node, &input, ctx);
            let flow = node.flow;
            (|| -> Result<(Value, Option<Map<String, Value>>), Failure> {
                let effective = flow.effective(&s, &input)?;
                let assigned =
                    flow.assign(&s, Part::State, effective.as_ref().unwrap_or(&input))?;
                let output = flow.output(&s, Part::State, &mut input, effective)?;
                Ok((output, assigned))
            })()
        };
        match done {
            Ok((output, assigned)) => self.exit(f, node, None, output, assigned),
            Err(failure) => self.state_failed(f, node, at, failure, input),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::run_ok;
    use serde_json::json;

    #[test]
    fn succeed_filters_and_ends() {
        let def = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}});
        assert_eq!(run_ok(&def, json!({"a": {"b": 3}})), json!(3));
    }
}
