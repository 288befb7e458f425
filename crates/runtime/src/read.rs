//! The read model of executions: what the API's Describe/List/Get
//! operations and the console query (an execution, listings, history pages,
//! map runs, open tasks, statistics, commit notices for live streams).
//! Handed out by [`Runtime::read_model`](crate::Runtime::read_model).
//!
//! Reads go to the store, which is the truth on every node: a read answers
//! the same whichever node serves it. Changes to executions are never made
//! here; they are the runtime's commands (start, stop, redrive, answers to
//! tasks, operators' actions).

use std::sync::Arc;

use statecraft_store::{
    Committed, Execution, ExecutionFilter, ExecutionSummary, HistoryQuery, MapRun, Overview,
    OverviewQuery, Page, PageRequest, PendingTask, QueueDepth, Result, Store, Timer, WireEvent,
};
use statecraft_types::HistoryEvent;
use tokio::sync::broadcast;

/// Reads over one store. Cheap to clone.
#[derive(Clone)]
pub struct ReadModel {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadModel")
    }
}

impl ReadModel {
    /// The read model over `store` (the runtime's own, or one a test or a
    /// tool opened to read).
    pub fn new(store: Arc<dyn Store>) -> ReadModel {
        ReadModel { store }
    }

    /// One execution, `None` if the store has none by that ARN.
    pub fn get_execution(&self, arn: &str) -> Result<Option<Execution>> {
        self.store.get_execution(arn)
    }

    /// Executions newest first.
    pub fn list_executions(
        &self,
        filter: &ExecutionFilter,
        page: &PageRequest,
    ) -> Result<Page<ExecutionSummary>> {
        self.store.list_executions(filter, page)
    }

    /// One page of an execution's history; `NotFound` for an unknown
    /// execution.
    pub fn history(&self, execution_arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>> {
        self.store.history(execution_arn, query)
    }

    /// The same page as [`ReadModel::history`], each event as the JSON text
    /// the store keeps (what GetExecutionHistory sends as it is).
    pub fn history_wire(
        &self,
        execution_arn: &str,
        query: &HistoryQuery,
    ) -> Result<Page<WireEvent>> {
        self.store.history_wire(execution_arn, query)
    }

    /// Up to `limit` events after event `after_id`, oldest first (live
    /// streams).
    pub fn history_after(
        &self,
        execution_arn: &str,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<HistoryEvent>> {
        self.store.history_after(execution_arn, after_id, limit)
    }

    /// [`ReadModel::history_after`], each event as its stored JSON text.
    pub fn history_wire_after(
        &self,
        execution_arn: &str,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<WireEvent>> {
        self.store
            .history_wire_after(execution_arn, after_id, limit)
    }

    /// The open tasks of an execution.
    pub fn pending_tasks(&self, execution_arn: &str) -> Result<Vec<PendingTask>> {
        self.store.pending_tasks(execution_arn)
    }

    /// Up to `limit` open tasks of `resource` (an activity ARN) across
    /// executions, oldest first, each with its execution's ARN.
    pub fn resource_tasks(&self, resource: &str, limit: u32) -> Result<Vec<(String, PendingTask)>> {
        self.store.resource_tasks(resource, limit)
    }

    /// The armed timers of an execution (deadlines the console shows).
    pub fn timers(&self, execution_arn: &str) -> Result<Vec<Timer>> {
        self.store.timers(execution_arn)
    }

    /// A map run, `None` if there is none by that ARN.
    pub fn get_map_run(&self, arn: &str) -> Result<Option<MapRun>> {
        self.store.get_map_run(arn)
    }

    /// The map runs started by an execution, newest first.
    pub fn list_map_runs(&self, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>> {
        self.store.list_map_runs(execution_arn, page)
    }

    /// The console's overview: counts, rates, slow machines, failing states.
    pub fn overview(&self, query: &OverviewQuery) -> Result<Overview> {
        self.store.overview(query)
    }

    /// The depth of every flow-control queue at `now_ms` (all nodes).
    pub fn queue_depths(&self, now_ms: i64) -> Result<Vec<QueueDepth>> {
        self.store.queue_depths(now_ms)
    }

    /// Notices of commits on this node, for live views; `None` when the
    /// store publishes none (then poll).
    pub fn subscribe_commits(&self) -> Option<broadcast::Receiver<Committed>> {
        self.store.subscribe_commits()
    }

    /// Whether the store answers (the readiness probe).
    pub fn health(&self) -> Result<()> {
        self.store.health()
    }
}
