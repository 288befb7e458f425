//! Fail: ends its frame with an error name and a cause, given literally,
//! through `ErrorPath`/`CausePath` (a path or an intrinsic function), or (in
//! JSONata) as expressions.

use serde_json::Value;
use statecraft_language::ast::Fail;

use crate::dataflow::DataFlow;
use crate::exec::{Entered, Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn fail(
        &mut self,
        f: &mut Frame,
        node: &Node,
        fl: &Fail,
        at: Entered,
        input: Value,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let failure = {
            let s = self.stage(f, node, &input, ctx);
            node.flow.fail(&s, fl, &input)
        };
        match failure {
            // The state's own error is not about the state: no prefix.
            Ok(failure) => Flow::Fail {
                failure,
                state: at.state,
                input: Some(input),
            },
            Err(e) => self.state_failed(f, node, at, e, input),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::run;
    use serde_json::json;

    #[test]
    fn literal_and_path_forms() {
        let def =
            json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}});
        let o = run(&def, json!({}));
        assert_eq!(
            (o.error.as_deref(), o.cause.as_deref()),
            (Some("E"), Some("C"))
        );
        let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}});
        let o = run(&def, json!({"e": "X", "c": "Y"}));
        assert_eq!(
            (o.error.as_deref(), o.cause.as_deref()),
            (Some("X"), Some("Y"))
        );
        let o = run(&def, json!({"e": "X"}));
        assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    }
}
