//! Parallel: runs every branch as its own frame, concurrently, on a copy of
//! the effective input; the result is the array of branch outputs in branch
//! order. The first branch to fail fails the state with its error, and the
//! other branches are aborted (their tasks and timers cancelled).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use statecraft_types::{EventType, Failure};

use crate::dataflow::DataFlow;
use crate::exec::{Active, At, Flow, Frame, Parent, Run};
use crate::history::Cursor;
use crate::machine::Node;

/// A Parallel state waiting for its branches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub active: Active,
    pub results: Vec<Option<Value>>,
    /// The frame of each branch still running.
    pub children: Vec<Option<usize>>,
    pub pending: usize,
}

impl Run<'_> {
    pub(crate) fn parallel_attempt(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        active: Active,
    ) -> Flow {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let input = {
            let s = self.stage(f, node, &active.input, ctx);
            let flow = node.flow;
            flow.effective(&s, &active.input)
                .and_then(|eff| flow.arguments(&s, &active.input, eff))
                .map(|args| args.unwrap_or_else(|| active.input.clone()))
        };
        let input = match input {
            Ok(v) => v,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                self.evaluation_failed(f, node, &failure, active.entered_prev);
                return self.handle_failure(f, node, active, failure);
            }
        };
        self.emit(
            f.silent,
            &mut f.cursor,
            EventType::ParallelStateStarted,
            None,
            true,
        );
        let n = node.children.len();
        // A redrive runs only the branches that did not succeed.
        let results = match self.take_resume(f, active.state) {
            Some(done) if done.len() == n => done,
            _ => vec![None; n],
        };
        let mut children = Vec::with_capacity(n);
        for (slot, &graph) in node.children.iter().enumerate() {
            if results.get(slot).is_some_and(Option::is_some) {
                children.push(None);
                continue;
            }
            let start = self
                .m
                .graphs
                .get(graph)
                .map(|g| g.start)
                .unwrap_or_default();
            let child = self.alloc(Frame {
                graph,
                parent: Some(Parent {
                    frame: id,
                    slot,
                    worker: 0,
                }),
                vars: f.vars.clone(),
                cursor: f.cursor.child(),
                silent: f.silent,
                at: At::Enter {
                    state: start,
                    input: input.clone(),
                },
                text: None,
            });
            self.schedule(child);
            children.push(Some(child));
        }
        let pending = results.iter().filter(|r| r.is_none()).count();
        if pending == 0 {
            self.emit(
                f.silent,
                &mut f.cursor,
                EventType::ParallelStateSucceeded,
                None,
                false,
            );
            let results = results
                .into_iter()
                .map(|r| r.unwrap_or(Value::Null))
                .collect();
            f.at = At::Settle {
                active,
                outcome: Ok(Value::Array(results)),
            };
            return Flow::Continue;
        }
        f.at = At::Parallel(Box::new(Pending {
            active,
            results,
            children,
            pending,
        }));
        Flow::Block
    }

    /// A branch ended. Returns whether the Parallel state is now runnable.
    pub(crate) fn parallel_child_done(
        &mut self,
        p: &mut Frame,
        from: Parent,
        cursor: Cursor,
        outcome: Result<Value, Failure>,
    ) -> bool {
        let At::Parallel(mut pend) = std::mem::replace(&mut p.at, At::Idle) else {
            return false;
        };
        p.cursor.integrate(&cursor);
        if let Some(c) = pend.children.get_mut(from.slot) {
            *c = None;
        }
        match outcome {
            Ok(v) => {
                if let Some(r) = pend.results.get_mut(from.slot) {
                    *r = Some(v);
                }
                pend.pending = pend.pending.saturating_sub(1);
                if pend.pending > 0 {
                    p.at = At::Parallel(pend);
                    return false;
                }
                self.emit(
                    p.silent,
                    &mut p.cursor,
                    EventType::ParallelStateSucceeded,
                    None,
                    false,
                );
                let results = pend
                    .results
                    .into_iter()
                    .map(|r| r.unwrap_or(Value::Null))
                    .collect();
                p.at = At::Settle {
                    active: pend.active,
                    outcome: Ok(Value::Array(results)),
                };
                true
            }
            Err(failure) => {
                for c in pend.children.iter_mut().filter_map(Option::take) {
                    self.abort_frame_recorded(c);
                }
                let mut active = pend.active;
                active.partial = Some(pend.results);
                p.at = At::Settle {
                    active,
                    outcome: Err(failure),
                };
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::{run, run_ok};
    use serde_json::json;

    #[test]
    fn branches_in_order_and_first_failure_wins() {
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 3, "Next": "B2"}, "B2": {"Type": "Pass", "Result": 2, "End": true}}}
        ]}}});
        assert_eq!(run_ok(&def, json!({})), json!([1, 2]));
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 3, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
        ]}}});
        let o = run(&def, json!({}));
        assert_eq!(o.error.as_deref(), Some("E"));
    }
}
