//! Wait: pauses its frame for a number of seconds or until a timestamp,
//! given literally or through a path, by arming a timer. A wait that is
//! already over (0 seconds, a past timestamp) does not arm one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::ast::{Wait, WaitDuration};
use statecraft_types::Failure;

use crate::dataflow::{self, shown, Env};
use crate::exec::{At, Flow, Frame, Run, TimerKind};
use crate::machine::Node;
use crate::time::parse_iso8601;
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn wait(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        w: &Wait,
        state: usize,
        input: Value,
        entered_id: u64,
    ) -> Flow {
        let ctx = self.context_for(node, self.now, None, None, None);
        let prepared = self.wait_prepare(f, node, w, &input, &ctx);
        let (fire_at, output, assigned) = match prepared {
            Ok(p) => p,
            Err(failure) => {
                return Flow::Fail {
                    failure: Self::in_state(node, entered_id, failure),
                    state,
                    input: Some(input),
                }
            }
        };
        if fire_at <= self.now {
            return self.exit(f, node, node.next, output, assigned);
        }
        let timer = self.arm(id, TimerKind::Wait, fire_at);
        f.at = At::Wait(Box::new(Pending {
            state,
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

    /// When the wait ends, and the state's output and assignments.
    fn wait_prepare(
        &self,
        f: &Frame,
        node: &Node,
        w: &Wait,
        input: &Value,
        ctx: &Value,
    ) -> Result<Prepared, Failure> {
        let io = &node.state.io;
        let env = Env {
            context: ctx,
            vars: &f.vars,
            host: self.host,
        };
        let effective = dataflow::input(io.input_path.as_ref(), input, &env)?;
        let eff = effective.as_ref().unwrap_or(input);
        let fire_at = match &w.duration {
            WaitDuration::Seconds(s) => self.now.saturating_add((*s as i64).saturating_mul(1000)),
            WaitDuration::Timestamp(t) => parse_iso8601(t).ok_or_else(|| {
                Failure::runtime(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {t}"
                ))
            })?,
            WaitDuration::SecondsPath(p) => {
                let v = p.resolve(&env.scope(eff)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.as_str()
                    ))
                })?;
                let secs = v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX)).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        p.as_str(),
                        shown_raw(v)
                    ))
                })?;
                if secs < 0 {
                    return Err(Failure::runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {}",
                        p.as_str(),
                        secs
                    )));
                }
                self.now.saturating_add(secs.saturating_mul(1000))
            }
            WaitDuration::TimestampPath(p) => {
                let v = p.resolve(&env.scope(eff));
                let parsed = v.and_then(Value::as_str).and_then(parse_iso8601);
                match (v, parsed) {
                    (_, Some(t)) => t,
                    (None, _) => {
                        return Err(Failure::runtime(format!(
                            "The TimestampPath parameter does not reference an input value: {}",
                            p.as_str()
                        )))
                    }
                    (Some(v), None) => {
                        return Err(Failure::runtime(format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            shown_raw(v)
                        )))
                    }
                }
            }
            WaitDuration::SecondsExpression(_) | WaitDuration::TimestampExpression(_) => {
                return Err(Failure::runtime(
                    "a JSONata wait duration in a JSONPath state",
                ))
            }
        };
        let assigned = self.eval_assign(node.assign.as_ref(), eff, ctx, &f.vars)?;
        let output = dataflow::output(
            io.output_path.as_ref(),
            effective.unwrap_or_else(|| input.clone()),
            &env,
        )?;
        Ok((fire_at, output, assigned))
    }
}

/// A value in a cause text: strings bare, everything else as JSON.
fn shown_raw(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => shown(other),
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
