//! Map runs: a Distributed Map state's run of child executions, as
//! `DescribeMapRun`/`ListMapRuns`/`UpdateMapRun` show it.
//!
//! A map run is created when its parent's Map state starts it (with the
//! revision its children run: the Map's `ItemProcessor` as a machine of its
//! own), then advanced by the runtime's map-run driver: counts, the reader
//! cursor (where a restarted node resumes reading), status and end. The
//! children are ordinary executions whose `map_run_arn` names the run
//! (`ListExecutions(mapRunArn=…)`).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::pending::Pending;
use crate::state_machine::Revision;

/// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`, as `DescribeMapRun` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapRunStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl MapRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MapRunStatus::Running => "RUNNING",
            MapRunStatus::Succeeded => "SUCCEEDED",
            MapRunStatus::Failed => "FAILED",
            MapRunStatus::Aborted => "ABORTED",
        }
    }

    pub fn parse(s: &str) -> Option<MapRunStatus> {
        Some(match s {
            "RUNNING" => MapRunStatus::Running,
            "SUCCEEDED" => MapRunStatus::Succeeded,
            "FAILED" => MapRunStatus::Failed,
            "ABORTED" => MapRunStatus::Aborted,
            _ => return None,
        })
    }
}

/// `DescribeMapRun`'s `itemCounts` or `executionCounts`, in AWS's field
/// names (camelCase when serialised).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MapRunCounts {
    pub pending: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub aborted: u64,
    pub total: u64,
    pub results_written: u64,
    pub failures_not_redrivable: u64,
    pub pending_redrive: u64,
}

/// What starting a map run records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMapRun {
    /// `arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>`.
    pub arn: String,
    /// The parent execution.
    pub execution_arn: String,
    /// The Map state's name.
    pub state_name: String,
    /// The Map state's `Label`, if it has one.
    pub label: Option<String>,
    /// The children's state machine ARN (`…:stateMachine:<machine>/<label>`).
    pub child_machine_arn: String,
    /// `STANDARD` or `EXPRESS` (`ProcessorConfig.ExecutionType`).
    pub execution_type: String,
    pub max_concurrency: u32,
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: f64,
    /// What the runtime needs to run it (opaque JSON to the store): the
    /// resolved reader or items, selector, batcher, writer.
    pub spec: String,
    pub start_date_ms: i64,
}

/// A map run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRun {
    pub arn: String,
    pub execution_arn: String,
    pub state_name: String,
    pub label: Option<String>,
    pub child_machine_arn: String,
    /// The revision (the ItemProcessor as a definition) its children run.
    pub revision_id: String,
    pub execution_type: String,
    pub status: MapRunStatus,
    pub max_concurrency: u32,
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: f64,
    pub item_counts: MapRunCounts,
    pub execution_counts: MapRunCounts,
    /// Where the reader stands (opaque JSON to the store): items before it
    /// have children already.
    pub cursor: Option<String>,
    /// `ResultWriterDetails` (JSON) once results were written.
    pub result_writer_details: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub spec: String,
    pub start_date_ms: i64,
    pub stop_date_ms: Option<i64>,
    pub update_date_ms: Option<i64>,
    pub redrive_count: u32,
    pub redrive_date_ms: Option<i64>,
}

/// What the map-run driver records as it goes (the whole mutable part).
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunProgress {
    pub status: MapRunStatus,
    pub item_counts: MapRunCounts,
    pub execution_counts: MapRunCounts,
    pub cursor: Option<String>,
    pub result_writer_details: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_date_ms: Option<i64>,
}

/// How one child of an EXPRESS map run ended (such children have no
/// execution record): what the map run's output or ResultWriter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunChildResult {
    /// The child's number in the run (its items' order).
    pub child: u64,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// How many items the child held (1, or its batch's).
    pub items: u64,
    /// The result as the runtime records it (opaque JSON to the store).
    pub result: String,
}

/// `UpdateMapRun`: the settings to change (`None` keeps one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapRunUpdate {
    pub max_concurrency: Option<u32>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub update_date_ms: i64,
}

/// Reads and writes of map runs.
pub trait MapRunStore: Send + Sync {
    /// Records a new map run together with `child_revision` (the revision
    /// its children run; kept if one with that id exists). Idempotent by
    /// ARN: when the map run exists nothing is written and the stored one
    /// is returned (a restarted node re-issuing the start gets the run it
    /// had begun). Returns the map run as stored.
    fn create_map_run(&self, run: NewMapRun, child_revision: Revision) -> Pending<MapRun>;

    /// The map run with this ARN, `None` if there is none.
    fn get_map_run(&self, arn: &str) -> Result<Option<MapRun>>;

    /// The map runs started by execution `execution_arn`, newest first
    /// (`ListMapRuns`). An unknown execution has none.
    fn list_map_runs(&self, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>>;

    /// `UpdateMapRun`: changes the settings given, sets `update_date_ms`
    /// and returns the map run as stored. `NotFound` if it does not exist.
    /// The runtime's driver reads the new settings at once.
    fn update_map_run(&self, arn: &str, update: MapRunUpdate) -> Pending<MapRun>;

    /// Records the driver's progress (status, counts, cursor, writer
    /// details, end). `NotFound` if the map run does not exist.
    fn save_map_run_progress(&self, arn: &str, progress: MapRunProgress) -> Pending<()>;

    /// Records the driver's progress together with the ends of EXPRESS
    /// children since the last save, in one transaction: a cursor saved
    /// never runs ahead of the results it covers. A result already saved
    /// for a child is replaced.
    fn save_map_run_results(
        &self,
        arn: &str,
        progress: MapRunProgress,
        results: Vec<MapRunChildResult>,
    ) -> Pending<()>;

    /// The saved ends of the run's EXPRESS children numbered `from` and
    /// up, in child order, at most `limit`.
    fn map_run_results(&self, arn: &str, from: u64, limit: u32) -> Result<Vec<MapRunChildResult>>;

    /// A redrive of the parent reopens the map run: status `RUNNING`, end
    /// and error cleared, `redrive_count` + 1, `redrive_date_ms` set.
    /// Returns the map run as stored. `NotFound` if it does not exist.
    fn redrive_map_run(&self, arn: &str, now_ms: i64) -> Pending<MapRun>;
}
