//! Succeed: ends its frame (the execution, a branch or an iteration)
//! successfully with its input filtered by InputPath and OutputPath.

use serde_json::Value;

use crate::dataflow::{self, Env};
use crate::exec::{Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn succeed(
        &mut self,
        f: &mut Frame,
        node: &Node,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let io = &node.state.io;
        let env = Env {
            context: &ctx,
            vars: &f.vars,
            host: self.host,
        };
        let output = dataflow::input(io.input_path.as_ref(), &input, &env)
            .and_then(|eff| dataflow::output(io.output_path.as_ref(), eff.unwrap_or(input), &env));
        match output {
            Ok(output) => self.exit(f, node, None, output, None),
            Err(failure) => Flow::Fail {
                failure: Self::in_state(node, entered_id, failure),
                state,
                input: None,
            },
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
