//! Fail: ends its frame with an error name and a cause, given literally,
//! through `ErrorPath`/`CausePath` (a path or an intrinsic function), or (in
//! JSONata) as expressions.

use serde_json::Value;
use statecraft_language::ast::{Fail, StringSource};
use statecraft_types::Failure;

use crate::dataflow::Env;
use crate::exec::{Flow, Frame, Run};
use crate::machine::Node;

impl Run<'_> {
    pub(crate) fn fail(
        &mut self,
        f: &mut Frame,
        node: &Node,
        fl: &Fail,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let env = Env {
            context: &ctx,
            vars: &f.vars,
            host: self.host,
        };
        let text = |src: &Option<StringSource>, field: &str| -> Result<String, Failure> {
            match src {
                None => Ok(String::new()),
                Some(StringSource::Literal(s)) => Ok(s.clone()),
                Some(StringSource::Dynamic(e)) => {
                    let v = e.evaluate_field(&env.scope(&input), field)?;
                    match v {
                        Value::String(s) => Ok(s),
                        other => Ok(other.to_string()),
                    }
                }
                Some(StringSource::Expression(_)) => Err(Failure::runtime(format!(
                    "{field} as a JSONata expression in a JSONPath state"
                ))),
            }
        };
        let failure = text(&fl.error, "ErrorPath")
            .and_then(|error| text(&fl.cause, "CausePath").map(|cause| Failure::new(error, cause)));
        match failure {
            Ok(failure) => Flow::Fail {
                failure,
                state,
                input: Some(input),
            },
            Err(e) => Flow::Fail {
                failure: Self::in_state(node, entered_id, e),
                state,
                input: Some(input),
            },
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
