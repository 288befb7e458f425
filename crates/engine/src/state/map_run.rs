//! A Distributed Map run handed to the host ([`crate::map_run`]): the Map
//! state resolves everything its map run needs into a
//! [`crate::map_run::MapRunSpec`], asks for it with one task of
//! [`crate::map_run::MAP_RUN_RESOURCE`] (no task events), waits, and records
//! `MapRunSucceeded` or `MapRunFailed` when the host answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};
use statecraft_language::ast::{Map, QueryLanguage, StateKind};
use statecraft_language::template::Template;
use statecraft_types::{EventType, Failure};

use crate::dataflow::{self, Env};
use crate::exec::{Active, At, Flow, Frame, Run};
use crate::history;
use crate::machine::Node;
use crate::map_run::{
    BatchSpec, MapRunSpec, ReaderRequest, WriterRequest, DEFAULT_MAX_CONCURRENCY, MAP_RUN_RESOURCE,
};
use crate::state::map::Settings;
use crate::{Command, TaskId, TaskRequest};

/// A Map state waiting for its map run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub active: Active,
    pub task: TaskId,
    pub map_run_arn: String,
}

impl Run<'_> {
    /// Asks the host for the map run and parks the Map state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_map_run(
        &mut self,
        f: &mut Frame,
        id: usize,
        node: &Node,
        m: &Map,
        mut active: Active,
        effective: Value,
        items: Vec<Value>,
        settings: &Settings,
        map_run_arn: String,
        redrive: bool,
    ) -> Flow {
        active.map_run = None;
        let spec = self.map_run_spec(
            f,
            node,
            m,
            &active,
            effective,
            items,
            settings,
            &map_run_arn,
            redrive,
        );
        let spec = match spec
            .and_then(|s| serde_json::to_value(&s).map_err(|e| Failure::runtime(e.to_string())))
        {
            Ok(s) => s,
            Err(e) => {
                let failure = Self::in_state(node, active.entered_id, e);
                return self.handle_failure(f, node, active, failure);
            }
        };
        let task = self.new_task(id);
        self.step.commands.push(Command::InvokeTask(TaskRequest {
            task,
            state_name: node.state.name.clone(),
            resource: MAP_RUN_RESOURCE.to_owned(),
            parameters: spec,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
        }));
        f.at = At::MapRun(Box::new(Pending {
            active,
            task,
            map_run_arn,
        }));
        Flow::Block
    }

    /// Resolves the reader, batcher and writer and gathers what selecting
    /// an item needs.
    #[allow(clippy::too_many_arguments)]
    fn map_run_spec(
        &self,
        f: &Frame,
        node: &Node,
        m: &Map,
        active: &Active,
        effective: Value,
        items: Vec<Value>,
        settings: &Settings,
        map_run_arn: &str,
        redrive: bool,
    ) -> Result<MapRunSpec, Failure> {
        let jsonata = node.state.query_language == QueryLanguage::Jsonata;
        let context = self.context_for(
            node,
            active.entered_ms,
            Some(active.retry_count),
            None,
            None,
        );
        let env = Env {
            context: &context,
            vars: &f.vars,
            host: self.host,
        };
        let (reader, items) = match &m.item_reader {
            Some(raw) => {
                let (arguments, max_items) =
                    self.reader_request(f, node, raw, active, &effective)?;
                let reader = ReaderRequest {
                    resource: raw["Resource"].as_str().unwrap_or_default().to_owned(),
                    arguments,
                    reader_config: raw.get("ReaderConfig").cloned().unwrap_or(Value::Null),
                    max_items: max_items.map(|n| n as u64),
                };
                (Some(reader), None)
            }
            None => (None, Some(items)),
        };
        let batcher = match &m.item_batcher {
            None => None,
            Some(raw) => {
                let batcher = if jsonata {
                    let resolved = self.jsonata_value(f, node, active, raw, "ItemBatcher")?;
                    let null = Value::Null;
                    let env = Env {
                        context: &null,
                        vars: &f.vars,
                        host: self.host,
                    };
                    crate::state::batch::Batcher::resolve(&resolved, &effective, &env)?
                } else {
                    crate::state::batch::Batcher::resolve(raw, &effective, &env)?
                };
                Some(BatchSpec {
                    max_items: batcher.max_items,
                    max_bytes: batcher.max_bytes,
                    batch_input: batcher.batch_input,
                })
            }
        };
        let result_writer = match &m.result_writer {
            None => None,
            Some(raw) => {
                let arguments = if jsonata {
                    match raw.get("Arguments") {
                        Some(a) => {
                            self.jsonata_value(f, node, active, a, "ResultWriter/Arguments")?
                        }
                        None => Value::Object(JsonMap::new()),
                    }
                } else {
                    match raw.get("Parameters") {
                        Some(p) => {
                            let t = Template::compile(p).map_err(|errs| {
                                Failure::runtime(format!(
                                    "ResultWriter Parameters is not a valid payload template ({} problem(s))",
                                    errs.len()
                                ))
                            })?;
                            dataflow::template(&t, &effective, &env)?
                        }
                        None => Value::Object(JsonMap::new()),
                    }
                };
                Some(WriterRequest {
                    resource: raw["Resource"].as_str().unwrap_or_default().to_owned(),
                    arguments,
                    writer_config: raw.get("WriterConfig").cloned().unwrap_or(Value::Null),
                })
            }
        };
        let max_concurrency = match settings.max_concurrency {
            0 => DEFAULT_MAX_CONCURRENCY,
            n => u32::try_from(n).unwrap_or(DEFAULT_MAX_CONCURRENCY),
        };
        Ok(MapRunSpec {
            map_run_arn: map_run_arn.to_owned(),
            state_name: node.state.name.clone(),
            label: m.label.clone(),
            graph: f.graph,
            state: node.index,
            processor_pointer: m.processor.pointer.clone(),
            jsonata: self.m.definition.query_language == QueryLanguage::Jsonata,
            execution_type: m
                .execution_type
                .clone()
                .unwrap_or_else(|| "STANDARD".to_owned()),
            items,
            reader,
            effective,
            context,
            variables: f.vars.clone(),
            batcher,
            max_concurrency,
            tolerated_failure_count: settings.tolerated_count,
            tolerated_failure_percentage: settings.tolerated_percentage,
            result_writer,
            redrive,
        })
    }

    /// The host answered: record the map run's end and settle the state.
    pub(crate) fn map_run_finish(
        &mut self,
        f: &mut Frame,
        p: Pending,
        outcome: Result<Value, Failure>,
    ) -> Flow {
        let mut active = p.active;
        match outcome {
            Ok(output) => {
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::MapRunSucceeded,
                    None,
                    true,
                );
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::MapStateSucceeded,
                    None,
                    false,
                );
                f.at = At::Settle {
                    active,
                    outcome: Ok(output),
                };
            }
            Err(failure) => {
                let details = history::error_cause(&failure.error, &failure.cause);
                self.emit(
                    f.silent,
                    &mut f.cursor,
                    EventType::MapRunFailed,
                    Some(details),
                    true,
                );
                // A redrive of the parent redrives this map run.
                active.map_run = Some(p.map_run_arn);
                f.at = At::Settle {
                    active,
                    outcome: Err(failure),
                };
            }
        }
        Flow::Continue
    }
}

impl crate::Machine {
    /// The input of the child for item `index` of a map run: the Map
    /// state's ItemSelector (JSONPath or JSONata) applied with
    /// `$$.Map.Item` set, or the item itself when there is none. Batched
    /// runs select each item before it joins a batch.
    pub fn select_map_item(
        &self,
        spec: &MapRunSpec,
        index: u64,
        item: Value,
        now_ms: i64,
        host: &dyn crate::Host,
    ) -> Result<Value, Failure> {
        let node = self
            .node(spec.graph, spec.state)
            .filter(|n| n.state.name == spec.state_name)
            .ok_or_else(|| {
                Failure::runtime(format!(
                    "The Map state '{}' is not in this definition",
                    spec.state_name
                ))
            })?;
        let StateKind::Map(m) = &node.state.kind else {
            return Err(Failure::runtime(format!(
                "The state '{}' is not a Map state",
                spec.state_name
            )));
        };
        let jsonata = node.state.query_language == QueryLanguage::Jsonata;
        if jsonata && m.item_selector_jsonata.is_none() || !jsonata && m.item_selector.is_none() {
            return Ok(item);
        }
        let mut ctx = spec.context.clone();
        if let Value::Object(o) = &mut ctx {
            let mut it = JsonMap::with_capacity(2);
            it.insert("Index".into(), Value::from(index));
            it.insert("Value".into(), item);
            let mut map = JsonMap::with_capacity(1);
            map.insert("Item".into(), Value::Object(it));
            o.insert("Map".into(), Value::Object(map));
        }
        if jsonata {
            let Some(selector) = &m.item_selector_jsonata else {
                return Err(Failure::runtime("no ItemSelector"));
            };
            let mut x = crate::Execution::blank();
            let run = Run::new(self, &mut x, now_ms, host);
            return run.jsonata_select(node, &spec.variables, &spec.effective, ctx, selector);
        }
        let Some(t) = &m.item_selector else {
            return Err(Failure::runtime("no ItemSelector"));
        };
        let env = Env {
            context: &ctx,
            vars: &spec.variables,
            host,
        };
        dataflow::template(t, &spec.effective, &env)
    }
}
