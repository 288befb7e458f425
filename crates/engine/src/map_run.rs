//! Distributed Map runs carried out by the host as child executions.
//!
//! When [`crate::Machine::map_runs`] is set, a Distributed Map state does
//! not run its iterations inside the execution: after `MapStateStarted` and
//! `MapRunStarted` (or `MapRunRedriven` on a redrive) it asks the host for
//! the map run with one [`crate::Command::InvokeTask`] whose resource is
//! [`MAP_RUN_RESOURCE`] and whose parameters are a [`MapRunSpec`]: all the
//! parent resolved (the reader or the items, the ItemSelector's input,
//! context and variables, the batcher, the concurrency and tolerance, the
//! result writer). No task events are recorded for it. The state then
//! waits; the host answers with `TaskSucceeded` (the state's result: the
//! children's outputs in item order, or `ResultWriterDetails`) or
//! `TaskFailed` (`States.ExceedToleratedFailureThreshold`,
//! `States.ItemReaderFailed`, `States.ResultWriterFailed`), and the state
//! records `MapRunSucceeded` or `MapRunFailed` and goes on (ResultSelector,
//! ResultPath, Retry, Catch). The task is persisted like any other, so a
//! restarted host re-issues it and resumes the run.
//!
//! The helpers here are what the host needs to run one: the child
//! definition ([`child_definition`]), each item's input
//! ([`crate::Machine::select_map_item`]), batches ([`Batches`]), the
//! fallback reading of a whole object ([`items_from_answer`]) and the
//! tolerance rule ([`exceeds_tolerance`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_language::scope::Variables;
use statecraft_types::Failure;

/// The resource of the task that asks the host for a map run.
pub const MAP_RUN_RESOURCE: &str = "arn:statecraft:states:::mapRun";

/// AWS's MaxConcurrency for a Distributed Map that sets none (or 0).
pub const DEFAULT_MAX_CONCURRENCY: u32 = 10_000;

/// AWS's cause when a map run fails past its tolerance.
pub const TOLERANCE_EXCEEDED_CAUSE: &str = "The specified tolerance threshold was exceeded.";

/// An ItemReader with its `Parameters`/`Arguments` evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReaderRequest {
    pub resource: String,
    pub arguments: Value,
    /// `ReaderConfig` as written (InputType, CSV settings, MaxItems…).
    pub reader_config: Value,
    /// `MaxItems` or the resolved `MaxItemsPath`.
    pub max_items: Option<u64>,
}

/// A ResultWriter with its `Parameters`/`Arguments` evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterRequest {
    pub resource: String,
    pub arguments: Value,
    pub writer_config: Value,
}

/// An ItemBatcher resolved against the Map's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSpec {
    pub max_items: Option<usize>,
    pub max_bytes: usize,
    pub batch_input: Option<Value>,
}

/// Everything a map run needs from its parent (the parameters of the
/// [`MAP_RUN_RESOURCE`] task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapRunSpec {
    pub map_run_arn: String,
    pub state_name: String,
    pub label: Option<String>,
    /// Where the Map state is in the parent machine (graph, state index):
    /// [`crate::Machine::select_map_item`] finds its ItemSelector there.
    pub graph: usize,
    pub state: usize,
    /// JSON Pointer of the `ItemProcessor` in the parent's definition.
    pub processor_pointer: String,
    /// The parent's top-level QueryLanguage is JSONata (the children
    /// inherit it).
    pub jsonata: bool,
    /// `STANDARD` or `EXPRESS`.
    pub execution_type: String,
    /// The items when there is no ItemReader (ItemsPath or Items).
    pub items: Option<Vec<Value>>,
    pub reader: Option<ReaderRequest>,
    /// The ItemSelector's `$` (the effective input).
    pub effective: Value,
    /// `$$` of the Map state without `Map.Item`.
    pub context: Value,
    /// The variables in scope (the ItemSelector may read them).
    pub variables: Variables,
    pub batcher: Option<BatchSpec>,
    /// Resolved; 0 in the definition becomes [`DEFAULT_MAX_CONCURRENCY`].
    pub max_concurrency: u32,
    pub tolerated_failure_count: Option<f64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub result_writer: Option<WriterRequest>,
    /// This attempt redrives the map run named by `map_run_arn`: only its
    /// children that did not succeed run again.
    #[serde(default)]
    pub redrive: bool,
}

impl MapRunSpec {
    /// The spec carried by a map-run task's parameters.
    pub fn from_parameters(parameters: &Value) -> Result<MapRunSpec, String> {
        serde_json::from_value(parameters.clone()).map_err(|e| e.to_string())
    }
}

/// Whether `failed` failures exceed the tolerance: more than
/// `ToleratedFailureCount`, or more than `ToleratedFailurePercentage` of
/// `total` items (checked only once the total is known). Without either
/// setting, any failure does.
pub fn exceeds_tolerance(
    failed: u64,
    total: Option<u64>,
    count: Option<f64>,
    percentage: Option<f64>,
) -> bool {
    if failed == 0 {
        return false;
    }
    let by_count = count.map(|c| failed as f64 > c);
    let by_pct = percentage.map(|p| match total {
        Some(total) => failed as f64 * 100.0 / total.max(1) as f64 > p,
        None => false,
    });
    match (by_count, by_pct) {
        (None, None) => true,
        (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
    }
}

/// The failure a map run ends with when too many children failed:
/// `States.ExceedToleratedFailureThreshold`, also when the Map set no
/// tolerance (AWS's default threshold is zero: any failed child exceeds
/// it).
pub fn tolerance_exceeded() -> Failure {
    Failure::new(
        statecraft_types::errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
        TOLERANCE_EXCEEDED_CAUSE,
    )
}

/// What a failed (tolerated) child leaves in the Map's output: its error
/// output (`{"Error", "Cause"}`), as for an inline Map.
pub fn failed_item_output(failure: &Failure) -> Value {
    crate::history::error_output(failure)
}

/// The children's definition: the `ItemProcessor` at `spec.processor_pointer`
/// of the parent's definition text (JSON or YAML), without its
/// `ProcessorConfig`, with the parent's QueryLanguage when it sets none.
pub fn child_definition(parent_text: &str, spec: &MapRunSpec) -> Result<String, String> {
    let source = statecraft_language::source::read(parent_text).map_err(|d| {
        format!(
            "the parent definition cannot be read: {}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let Some(Value::Object(processor)) = source.value.pointer(&spec.processor_pointer) else {
        return Err(format!(
            "the parent definition has no ItemProcessor at {}",
            spec.processor_pointer
        ));
    };
    let mut child: Map<String, Value> = processor.clone();
    child.remove("ProcessorConfig");
    if spec.jsonata && !child.contains_key("QueryLanguage") {
        child.insert("QueryLanguage".into(), Value::String("JSONata".into()));
    }
    Ok(Value::Object(child).to_string())
}

/// Groups selected items into batch inputs as they stream in
/// (`{"BatchInput": …, "Items": […]}`), closing a batch at
/// `MaxItemsPerBatch` items or before its items' JSON would pass
/// `MaxInputBytesPerBatch` (at least one item per batch).
#[derive(Debug)]
pub struct Batches {
    spec: BatchSpec,
    current: Vec<Value>,
    bytes: usize,
}

impl Batches {
    pub fn new(spec: BatchSpec) -> Batches {
        Batches {
            spec,
            current: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds an item; returns the batch it closed, if any.
    pub fn push(&mut self, item: Value) -> Option<Value> {
        let size = crate::history::text_len(&item) + 1;
        let full_by_count = self
            .spec
            .max_items
            .is_some_and(|n| self.current.len() >= n.max(1));
        let full_by_bytes = !self.current.is_empty() && self.bytes + size > self.spec.max_bytes;
        let closed = (full_by_count || full_by_bytes).then(|| self.close());
        self.bytes += size;
        self.current.push(item);
        closed
    }

    /// The last, partly filled batch.
    pub fn finish(&mut self) -> Option<Value> {
        (!self.current.is_empty()).then(|| self.close())
    }

    fn close(&mut self) -> Value {
        let mut m = Map::with_capacity(2);
        if let Some(b) = &self.spec.batch_input {
            m.insert("BatchInput".into(), b.clone());
        }
        m.insert(
            "Items".into(),
            Value::Array(std::mem::take(&mut self.current)),
        );
        self.bytes = 0;
        Value::Object(m)
    }
}

/// The items of an ItemReader's answer, when the host read the whole object
/// through the reader's own resource (its Task integration): the body as a
/// string or in `Body`, a listing's `Contents`, or the items themselves,
/// parsed as `ReaderConfig` says and cut at `MaxItems`. Failures are
/// `States.ItemReaderFailed`.
pub fn items_from_answer(answer: Value, reader: &ReaderRequest) -> Result<Vec<Value>, Failure> {
    let listing = reader.resource.ends_with("listObjectsV2");
    let mut items = crate::state::reader::items_of(answer, &reader.reader_config, listing)?;
    if let Some(n) = reader.max_items.and_then(|n| usize::try_from(n).ok()) {
        items.truncate(n);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerance_is_a_count_or_a_share_of_a_known_total() {
        assert!(!exceeds_tolerance(0, None, None, None));
        assert!(exceeds_tolerance(1, None, None, None));
        assert!(!exceeds_tolerance(2, None, Some(2.0), None));
        assert!(exceeds_tolerance(3, None, Some(2.0), None));
        assert!(
            !exceeds_tolerance(5, None, None, Some(10.0)),
            "total unknown"
        );
        assert!(!exceeds_tolerance(5, Some(50), None, Some(10.0)));
        assert!(exceeds_tolerance(6, Some(50), None, Some(10.0)));
        assert!(exceeds_tolerance(6, Some(50), Some(100.0), Some(10.0)));
    }

    #[test]
    fn batches_close_by_count_and_by_size() {
        let mut b = Batches::new(BatchSpec {
            max_items: Some(2),
            max_bytes: 1_000,
            batch_input: Some(json!({"k": 1})),
        });
        assert_eq!(b.push(json!(1)), None);
        assert_eq!(b.push(json!(2)), None);
        assert_eq!(
            b.push(json!(3)),
            Some(json!({"BatchInput": {"k": 1}, "Items": [1, 2]}))
        );
        assert_eq!(
            b.finish(),
            Some(json!({"BatchInput": {"k": 1}, "Items": [3]}))
        );
        assert_eq!(b.finish(), None);
        let mut b = Batches::new(BatchSpec {
            max_items: None,
            max_bytes: 8,
            batch_input: None,
        });
        assert_eq!(b.push(json!("abc")), None);
        assert_eq!(b.push(json!("def")), Some(json!({"Items": ["abc"]})));
    }

    #[test]
    fn the_child_definition_is_the_processor_without_its_config() {
        let parent = r#"{"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
              "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
        let spec: MapRunSpec = serde_json::from_value(json!({
            "mapRunArn": "a", "stateName": "M", "label": null, "graph": 0, "state": 0,
            "processorPointer": "/States/M/ItemProcessor", "jsonata": true,
            "executionType": "STANDARD", "items": [], "reader": null, "effective": {},
            "context": null, "variables": {}, "batcher": null, "maxConcurrency": 1,
            "toleratedFailureCount": null, "toleratedFailurePercentage": null,
            "resultWriter": null
        }))
        .unwrap();
        let child: Value = serde_json::from_str(&child_definition(parent, &spec).unwrap()).unwrap();
        assert_eq!(
            child,
            json!({"QueryLanguage": "JSONata", "StartAt": "P",
                   "States": {"P": {"Type": "Pass", "End": true}}})
        );
        let mut bad = spec;
        bad.processor_pointer = "/States/X/ItemProcessor".into();
        assert!(child_definition(parent, &bad)
            .unwrap_err()
            .contains("/States/X/ItemProcessor"));
    }
}
