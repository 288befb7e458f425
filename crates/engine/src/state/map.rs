//! Map: runs its item processor once per item of an array, as concurrent
//! frames, at most `MaxConcurrency` at a time (0: no limit). Iterations run
//! on *workers* (one per concurrency slot), each taking the next item when
//! its iteration ends; the worker discipline reproduces AWS's
//! `previousEventId`s. With `ToleratedFailureCount`/`Percentage` the state
//! survives that many failed iterations, otherwise the first failure fails
//! it. Distributed maps run as map runs of child executions that the host
//! carries out when [`crate::Machine::map_runs`] is set (the runtime;
//! `state::map_run`); otherwise (`statecraft run`, the conformance runner)
//! they run the same way as inline maps, with `MapRun*` events in place of
//! the per-iteration events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};
use statecraft_language::ast::{Map, MapMode};
use statecraft_types::errors::EXCEED_TOLERATED_FAILURE_THRESHOLD;
use statecraft_types::{EventType, Failure};

use crate::dataflow::DataFlow;
use crate::exec::{Active, At, Flow, Frame, Parent, Run};
use crate::history::{self, Cursor};
use crate::machine::Node;

/// The most iterations an inline Map runs at once.
const INLINE_CONCURRENCY: usize = 40;

/// A Map state waiting for its iterations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub active: Active,
    /// The effective input (ItemSelector's `$`).
    pub effective: Value,
    pub items: Vec<Value>,
    /// Outputs of the iterations that succeeded.
    pub results: Vec<Option<Value>>,
    /// Error outputs of the iterations that failed (within tolerance they
    /// take their place in the output).
    pub errors: BTreeMap<usize, Value>,
    /// The next item to start.
    pub next: usize,
    /// The cursor of each worker still open.
    pub workers: Vec<Option<Cursor>>,
    /// Item index → frame of the iterations running.
    pub running: BTreeMap<usize, usize>,
    pub failed: usize,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    pub distributed: bool,
    /// The `MapRunStarted` event (distributed maps).
    pub map_run_event: u64,
    /// `$$` of this Map state without `Map.Item`, built on first use: each
    /// item's ItemSelector borrows it with its own `Map.Item` put in and
    /// taken out again, instead of building the whole object per item.
    #[serde(skip)]
    pub context: Option<Value>,
    /// The items are ItemBatcher batches (ItemSelector already applied).
    #[serde(default)]
    pub batched: bool,
}

pub(crate) use crate::dataflow::Settings;

impl Pending {
    /// The next item to run: items that already have a result (from before
    /// a redrive) are skipped.
    fn next_item(&self) -> Option<usize> {
        (self.next..self.items.len()).find(|&i| self.results.get(i).is_some_and(Option::is_none))
    }

    fn exceeded(&self) -> bool {
        if self.failed == 0 {
            return false;
        }
        let by_count = self.tolerated_count.map(|c| self.failed as f64 > c);
        let by_pct = self.tolerated_percentage.map(|p| {
            let len = self.items.len().max(1) as f64;
            self.failed as f64 * 100.0 / len > p
        });
        match (by_count, by_pct) {
            (None, None) => true,
            (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
        }
    }
}

impl Run<'_> {
    pub(crate) fn map_attempt(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        m: &Map,
        active: Active,
    ) -> Flow {
        let prepared = if m.item_reader.is_some() {
            self.reader_input(f, node, &active)
        } else {
            let ctx = self.context_for(
                node,
                active.entered_ms,
                Some(active.retry_count),
                None,
                None,
            );
            let s = self.stage(f, node, &active.input, ctx);
            node.flow.map_items(&s, m, &active.input)
        };
        let (effective, items) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                self.evaluation_failed(f, node, &failure, active.entered_prev);
                return self.handle_failure(f, node, active, failure);
            }
        };
        // The operator's cap on an inline Map's items ([limits]
        // map_inline_items; AWS has none of its own).
        if let Some(cap) = self.m.limits.map_inline_items {
            if m.mode != MapMode::Distributed && items.len() as u64 > cap {
                let failure = Failure::new(
                    crate::exec::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The Map state '{}' has {} items, more than the limit of {cap} items of an inline Map.",
                        node.state.name,
                        items.len()
                    ),
                );
                return self.handle_failure(f, node, active, failure);
            }
        }
        // AWS resolves MaxConcurrency before it starts the map and the
        // tolerated failures after (recorded in the corpus).
        let settings = self.map_settings(f, node, m, &active, &effective, true);
        let max_concurrency = match settings {
            Ok(s) => s.max_concurrency,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                return self.handle_failure(f, node, active, failure);
            }
        };
        let details = history::one("length", Value::from(items.len()));
        self.emit(
            f.silent,
            &mut f.cursor,
            EventType::MapStateStarted,
            Some(details),
            true,
        );
        let settings = self.map_settings(f, node, m, &active, &effective, false);
        let mut settings = match settings {
            Ok(s) => s,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                return self.handle_failure(f, node, active, failure);
            }
        };
        settings.max_concurrency = max_concurrency;
        let distributed = m.mode == MapMode::Distributed;
        let as_map_run = distributed && self.m.map_runs;
        let redriven = if as_map_run {
            self.take_resume_map_run(f, active.state)
        } else {
            None
        };
        let mut map_run_event = 0;
        let mut map_run_arn = String::new();
        if distributed {
            let (ty, details) = match &redriven {
                Some(arn) => {
                    map_run_arn.clone_from(arn);
                    let mut details = history::one("mapRunArn", Value::String(arn.clone()));
                    details.insert(
                        "redriveCount".into(),
                        Value::from(self.x.context.redrive_count),
                    );
                    (EventType::MapRunRedriven, details)
                }
                None => {
                    map_run_arn = self.map_run_arn(node, m);
                    let details = history::one("mapRunArn", Value::String(map_run_arn.clone()));
                    (EventType::MapRunStarted, details)
                }
            };
            map_run_event = self.emit(f.silent, &mut f.cursor, ty, Some(details), true);
        }
        if as_map_run {
            let redrive = redriven.is_some();
            return self.start_map_run(
                f,
                id,
                node,
                m,
                active,
                effective,
                items,
                &settings,
                map_run_arn,
                redrive,
            );
        }
        if let Some(raw) = &m.item_reader {
            return self.start_reader(f, id, node, raw, active, effective, settings, map_run_event);
        }
        self.map_begin(
            f,
            id,
            node,
            m,
            active,
            effective,
            items,
            settings,
            map_run_event,
        )
    }

    /// Runs the iterations of a Map state whose items are known.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn map_begin(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        m: &Map,
        active: Active,
        effective: Value,
        items: Vec<Value>,
        settings: Settings,
        map_run_event: u64,
    ) -> Flow {
        let distributed = m.mode == MapMode::Distributed;
        // With an ItemBatcher, the iterations run on batches of items
        // (each item through ItemSelector first).
        let (items, batched) = match &m.item_batcher {
            Some(raw) => {
                let batches = self.batch_items(f, node, m, &active, &effective, raw, items);
                match batches {
                    Ok(batches) => (batches, true),
                    Err(e) => {
                        let failure = Self::in_state(node, active.entered_id, e);
                        self.evaluation_failed(f, node, &failure, active.entered_prev);
                        return self.handle_failure(f, node, active, failure);
                    }
                }
            }
            None => (items, false),
        };
        let len = items.len();
        // A redrive runs only the iterations that did not succeed.
        let results = match self.take_resume(f, active.state) {
            Some(done) if done.len() == len => done,
            _ => vec![None; len],
        };
        let remaining = results.iter().filter(|r| r.is_none()).count();
        // An inline Map runs at most 40 iterations at once whatever its
        // MaxConcurrency says (AWS's limit); a distributed one up to 10,000.
        let cap = if distributed {
            10_000
        } else {
            INLINE_CONCURRENCY
        };
        let workers = match settings.max_concurrency {
            0 => remaining.min(cap),
            n => n.min(remaining).min(cap),
        };
        let mut pend = Box::new(Pending {
            active,
            effective,
            errors: BTreeMap::new(),
            results,
            items,
            next: 0,
            workers: vec![Some(f.cursor.child()); workers],
            running: BTreeMap::new(),
            failed: 0,
            tolerated_count: settings.tolerated_count,
            tolerated_percentage: settings.tolerated_percentage,
            distributed,
            map_run_event,
            context: None,
            batched,
        });
        if remaining == 0 {
            return self.map_finish(f, pend, Ok(()));
        }
        for w in 0..workers {
            if let Err(failure) = self.start_iteration(f, id, node, m, &mut pend, w) {
                return self.map_finish(f, pend, Err(failure));
            }
        }
        f.at = At::Map(pend);
        Flow::Block
    }

    /// MaxConcurrency and (unless `concurrency_only`) the tolerated
    /// failures, evaluated on the effective input.
    fn map_settings(
        &self,
        f: &Frame,
        node: &Node,
        m: &Map,
        active: &Active,
        effective: &Value,
        concurrency_only: bool,
    ) -> Result<Settings, Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let s = self.stage(f, node, &active.input, ctx);
        node.flow.map_settings(&s, m, effective, concurrency_only)
    }

    /// One item through the Map's ItemSelector, with `$$.Map.Item`. The
    /// Context object is built once per Map state and kept in `cache`
    /// between items.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn select_item(
        &self,
        f: &Frame,
        node: &Node,
        m: &Map,
        active: &Active,
        effective: &Value,
        cache: &mut Option<Value>,
        index: usize,
        item: Value,
    ) -> Result<Value, Failure> {
        if !node.flow.has_item_selector(m) {
            return Ok(item);
        }
        let ctx = match cache {
            Some(c) => c,
            None => cache.insert(self.context_for(
                node,
                active.entered_ms,
                Some(active.retry_count),
                None,
                None,
            )),
        };
        if let Value::Object(o) = ctx {
            let mut it = JsonMap::with_capacity(2);
            it.insert("Index".into(), Value::from(index));
            it.insert("Value".into(), item);
            let mut map = JsonMap::with_capacity(1);
            map.insert("Item".into(), Value::Object(it));
            o.insert("Map".into(), Value::Object(map));
        }
        let selected = {
            let s = crate::dataflow::Stage::borrowing(
                node,
                effective,
                ctx,
                &f.vars,
                self.host,
                self.now,
                self.m.jsonata_limits,
            );
            node.flow.item_selector(&s, m, effective)
        };
        if let Value::Object(o) = ctx {
            o.remove("Map");
        }
        selected
    }

    /// A value of the Map state's fields (`ItemBatcher`, ResultWriter
    /// `Arguments`) evaluated on its input through the data-flow interface.
    /// Named for its caller, `state/map_run.rs`, which uses it in JSONata
    /// states only.
    pub(crate) fn jsonata_value(
        &self,
        f: &Frame,
        node: &Node,
        active: &Active,
        value: &Value,
        field: &str,
    ) -> Result<Value, Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let s = self.stage(f, node, &active.input, ctx);
        node.flow.value(&s, value, field, &active.input)
    }

    /// A map run's ItemSelector for one item, with `context` (`$$` with
    /// `Map.Item`) given rather than built from a frame.
    pub(crate) fn jsonata_select(
        &self,
        node: &Node,
        vars: &statecraft_language::scope::Variables,
        effective: &Value,
        context: Value,
        selector: &Value,
    ) -> Result<Value, Failure> {
        let s = crate::dataflow::Stage::new(
            node,
            effective,
            context,
            vars,
            self.host,
            self.now,
            self.m.jsonata_limits,
        );
        node.flow.value(&s, selector, "ItemSelector", effective)
    }

    /// AWS's map run ARN:
    /// `arn:aws:states:<region>:<account>:mapRun:<machine>/<label or state name>:<id>`.
    fn map_run_arn(&self, node: &Node, m: &Map) -> String {
        let machine = self
            .x
            .context
            .state_machine_arn
            .replacen(":stateMachine:", ":mapRun:", 1);
        let label = m.label.clone().unwrap_or_else(|| node.state.name.clone());
        format!("{machine}/{label}:{}", self.host.uuid())
    }

    /// Applies ItemSelector to every item and groups them as the Map's
    /// ItemBatcher says.
    #[allow(clippy::too_many_arguments)]
    fn batch_items(
        &self,
        f: &Frame,
        node: &Node,
        m: &Map,
        active: &Active,
        effective: &Value,
        raw: &Value,
        items: Vec<Value>,
    ) -> Result<Vec<Value>, Failure> {
        let ctx = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let batcher = {
            let s = self.stage(f, node, &active.input, ctx);
            node.flow.batcher(&s, raw, effective)?
        };
        let mut cache = None;
        let mut selected = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            selected
                .push(self.select_item(f, node, m, active, effective, &mut cache, index, item)?);
        }
        Ok(batcher.batch(selected))
    }

    /// Starts the next item on worker `w`. An ItemSelector that fails fails
    /// the iteration, and with it the state.
    fn start_iteration(
        &mut self,
        f: &Frame,
        id: usize,
        node: &Node,
        m: &Map,
        pend: &mut Pending,
        w: usize,
    ) -> Result<(), Failure> {
        let Some(index) = pend.next_item() else {
            return Ok(());
        };
        pend.next = index + 1;
        let item = pend
            .items
            .get_mut(index)
            .map(std::mem::take)
            .unwrap_or(Value::Null);
        // Batches went through the ItemSelector item by item already.
        let input = if pend.batched {
            Ok(item)
        } else {
            let mut cache = pend.context.take();
            let selected = self.select_item(
                f,
                node,
                m,
                &pend.active,
                &pend.effective,
                &mut cache,
                index,
                item,
            );
            pend.context = cache;
            selected
        };
        let silent = f.silent || pend.distributed;
        let cursor = pend
            .workers
            .get(w)
            .copied()
            .flatten()
            .unwrap_or_default()
            .child();
        let input = match input {
            Ok(v) => v,
            Err(e) => {
                let mut cursor = cursor;
                let details = history::map_iteration(&node.state.name, index);
                self.emit(
                    silent,
                    &mut cursor,
                    EventType::MapIterationStarted,
                    Some(details.clone()),
                    true,
                );
                self.emit(
                    silent,
                    &mut cursor,
                    EventType::MapIterationFailed,
                    Some(details),
                    false,
                );
                return Err(Self::in_state(node, pend.active.entered_id, e));
            }
        };
        let graph = node.children.first().copied().unwrap_or_default();
        let start = self
            .m
            .graphs
            .get(graph)
            .map(|g| g.start)
            .unwrap_or_default();
        let at = if silent {
            At::Enter {
                state: start,
                input,
            }
        } else {
            At::Iteration {
                name: node.state.name.clone(),
                index,
                start,
                input,
            }
        };
        let child = self.alloc(Frame {
            graph,
            parent: Some(Parent {
                frame: id,
                slot: index,
                worker: w,
            }),
            // A distributed Map's iterations are child executions: they do
            // not see the parent's variables.
            vars: if pend.distributed {
                Default::default()
            } else {
                f.vars.clone()
            },
            cursor,
            silent,
            at,
            text: None,
        });
        pend.running.insert(index, child);
        self.schedule(child);
        Ok(())
    }

    /// An iteration ended. Returns whether the Map state is now runnable.
    pub(crate) fn map_child_done(
        &mut self,
        p: &mut Frame,
        from: Parent,
        cursor: Cursor,
        outcome: Result<Value, Failure>,
    ) -> bool {
        let At::Map(mut pend) = std::mem::replace(&mut p.at, At::Idle) else {
            return false;
        };
        let Some(node) = self.node(p.graph, pend.active.state) else {
            return false;
        };
        let statecraft_language::ast::StateKind::Map(m) = &node.state.kind else {
            return false;
        };
        pend.running.remove(&from.slot);
        let silent = p.silent || pend.distributed;
        let mut cursor = cursor;
        let details = self
            .recording(silent)
            .then(|| history::map_iteration(&node.state.name, from.slot));
        let ok = outcome.is_ok();
        match outcome {
            Ok(v) => {
                self.emit(
                    silent,
                    &mut cursor,
                    EventType::MapIterationSucceeded,
                    details,
                    false,
                );
                if let Some(r) = pend.results.get_mut(from.slot) {
                    *r = Some(v);
                }
            }
            Err(failure) => {
                self.emit(
                    silent,
                    &mut cursor,
                    EventType::MapIterationFailed,
                    details,
                    false,
                );
                pend.failed += 1;
                pend.errors
                    .insert(from.slot, history::error_output(&failure));
                if pend.exceeded() {
                    if let Some(worker) = pend.workers.get_mut(from.worker).and_then(Option::take) {
                        let mut worker = worker;
                        worker.integrate(&cursor);
                        p.cursor.integrate(&worker);
                    }
                    for (_, c) in std::mem::take(&mut pend.running) {
                        self.abort_frame_recorded(c);
                    }
                    let failure =
                        if pend.tolerated_count.is_some() || pend.tolerated_percentage.is_some() {
                            Failure::new(
                                EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                "The specified tolerance threshold was exceeded.",
                            )
                        } else {
                            failure
                        };
                    let flow = self.map_finish(p, pend, Err(failure));
                    return !matches!(flow, Flow::Block);
                }
            }
        }
        // The worker takes the next item, or closes.
        if let Some(Some(worker)) = pend.workers.get_mut(from.worker) {
            worker.integrate(&cursor);
        }
        if pend.next_item().is_some() {
            if let Err(failure) =
                self.start_iteration(p, self.parent_id(from), node, m, &mut pend, from.worker)
            {
                for (_, c) in std::mem::take(&mut pend.running) {
                    self.abort_frame(c);
                }
                let flow = self.map_finish(p, pend, Err(failure));
                return !matches!(flow, Flow::Block);
            }
        } else if let Some(mut worker) = pend.workers.get_mut(from.worker).and_then(Option::take) {
            if ok {
                // A worker's last successful iteration is what the state
                // continues from.
                worker.source = cursor.last;
            }
            p.cursor.integrate(&worker);
        }
        if pend.running.is_empty() && pend.next_item().is_none() {
            let flow = self.map_finish(p, pend, Ok(()));
            return !matches!(flow, Flow::Block);
        }
        p.at = At::Map(pend);
        false
    }

    fn parent_id(&self, from: Parent) -> usize {
        from.frame
    }

    /// All iterations are over (or the state failed): record the end of the
    /// map run and settle the state.
    fn map_finish(
        &mut self,
        f: &mut Frame,
        pend: Box<Pending>,
        result: Result<(), Failure>,
    ) -> Flow {
        let pend = *pend;
        match result {
            Ok(()) => {
                if pend.distributed {
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::MapRunSucceeded,
                        None,
                        true,
                    );
                }
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::MapStateSucceeded,
                    None,
                    false,
                );
                let mut errors = pend.errors;
                let results = pend
                    .results
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| r.or_else(|| errors.remove(&i)).unwrap_or(Value::Null))
                    .collect();
                f.at = At::Settle {
                    active: pend.active,
                    outcome: Ok(Value::Array(results)),
                };
            }
            Err(failure) => {
                if pend.distributed {
                    let details = history::error_cause(&failure.error, &failure.cause);
                    self.emit(
                        f.silent,
                        &mut f.cursor,
                        EventType::MapRunFailed,
                        Some(details),
                        true,
                    );
                }
                let mut active = pend.active;
                active.partial = Some(pend.results);
                f.at = At::Settle {
                    active,
                    outcome: Err(failure),
                };
            }
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use crate::state::fixtures::{run, run_ok};
    use serde_json::json;

    #[test]
    fn items_selector_concurrency_and_failure() {
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.xs",
            "MaxConcurrency": 2,
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}}});
        assert_eq!(
            run_ok(&def, json!({"xs": [10, 20, 30]})),
            json!([{"i": 0, "v": 10}, {"i": 1, "v": 20}, {"i": 2, "v": 30}])
        );
        assert_eq!(run_ok(&def, json!({"xs": []})), json!([]));
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E"}}}}}});
        assert_eq!(run(&def, json!([1, 2])).error.as_deref(), Some("E"));
        assert_eq!(
            run(&def, json!({"a": 1})).error.as_deref(),
            Some("States.Runtime")
        );
    }
}
