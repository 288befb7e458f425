//! Wait: pauses its frame for a number of seconds or until a timestamp,
//! given literally or through a path, by arming a timer. A wait that is
//! already over (0 seconds, a past timestamp) does not arm one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::ast::Wait;
use statecraft_types::Failure;

use crate::dataflow::{DataFlow, Part};
use crate::exec::{At, Entered, Flow, Frame, Run, TimerKind};
use crate::machine::Node;
use crate::TimerId;

/// When a wait ends, and the state's output and assignments.
type Prepared = (i64, Value, Option<Map<String, Value>>);

/// A Wait state waiting for its timer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub state: usize,
    /// The raw input (for redrive).
    pub input: Value,
    pub output: Value,
    pub assigned: Option<Map<String, Value>>,
    pub timer: TimerId,
}

impl Run<'_> {
    pub(crate) fn wait(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        w: &Wait,
        at: Entered,
        input: Value,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let prepared = {
            let s = self.stage(f, node, &input, ctx);
            let flow = node.flow;
            (|| -> Result<Prepared, Failure> {
                let effective = flow.effective(&s, &input)?;
                let eff = effective.as_ref().unwrap_or(&input);
                let fire_at = flow.wait_until(&s, w, eff)?;
                let assigned = flow.assign(&s, Part::State, eff)?;
                // The input is kept (for a redrive while the state waits).
                let mut raw = input.clone();
                let output = flow.output(&s, Part::State, &mut raw, effective)?;
                Ok((fire_at, output, assigned))
            })()
        };
        let (fire_at, output, assigned) = match prepared {
            Ok(p) => p,
            Err(failure) => return self.state_failed(f, node, at, failure, input),
        };
        if fire_at <= self.now {
            return self.exit(f, node, node.next, output, assigned);
        }
        let timer = self.arm(id, TimerKind::Wait, fire_at);
        f.at = At::Wait(Box::new(Pending {
            state: at.state,
            input,
            output,
            assigned,
            timer,
        }));
        Flow::Block
    }

    pub(crate) fn wait_done(&mut self, f: &mut Frame, p: Pending) -> Flow {
        let Some(node) = self.node(f.graph, p.state) else {
            return Flow::Fail {
                failure: Failure::runtime("unknown state"),
                state: p.state,
                input: Some(p.input),
            };
        };
        self.exit(f, node, node.next, p.output, p.assigned)
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::run;
    use serde_json::json;

    #[test]
    fn waits_then_continues_and_reports_bad_paths() {
        let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
        let o = run(&def, json!({"s": 5}));
        assert_eq!(o.output, Some(json!({"s": 5})));
        let o = run(&def, json!({"s": -1}));
        assert!(o
            .cause
            .unwrap_or_default()
            .ends_with("The SecondsPath parameter references a negative value: $.s == -1"));
        let o = run(&def, json!({"s": 1.5}));
        assert!(o
            .cause
            .unwrap_or_default()
            .ends_with("cannot be parsed as a long value: $.s == 1.5"));
        let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}}});
        assert!(run(&def, json!({})).output.is_some());
    }
}
