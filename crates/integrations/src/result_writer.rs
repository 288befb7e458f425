//! A Distributed Map's `ResultWriter` (`arn:aws:states:::s3:putObject`):
//! the child executions' results written to a bucket in AWS's layout,
//! appended as they come, in bounded memory:
//!
//! ```text
//! <Prefix>/<map run id>/SUCCEEDED_0.json   children that succeeded
//! <Prefix>/<map run id>/FAILED_0.json      failed, timed out or aborted
//! <Prefix>/<map run id>/PENDING_0.json     never run or still running
//! <Prefix>/<map run id>/manifest.json      written last
//! ```
//!
//! Each file is one multipart upload (S3's, or a staging file in a local
//! folder), so no partly written file is visible under its name; the
//! manifest is written only after every file is complete, so a reader that
//! starts from `manifest.json` never sees half the results. A file is
//! closed and the next one (`SUCCEEDED_1.json`…) begun before it would
//! pass [`MAX_RESULT_FILE_BYTES`].
//!
//! # For the map-run driver
//!
//! ```text
//! let spec = WriterSpec::new(resource, &evaluated_parameters, &writer_config)?;
//! let mut writer = buckets.open_result_writer(&spec, &map_run_arn).await?;
//! for each child as it finishes:   writer.add(&ChildResult { … }).await?;
//! for each item never run:         writer.add(&ChildResult { status: Pending, … }).await?;
//! let details = writer.finish().await?;   // ResultWriterDetails { Bucket, Key }
//! state output: {"MapRunArn": …, "ResultWriterDetails": details}
//! ```
//!
//! Any failure is a [`WriteError`], whose [`WriteError::to_failure`] is
//! `States.ResultWriterFailed` naming the object. A `ResultWriter` with
//! only `WriterConfig` (no `Resource`) exports nothing: the driver puts
//! [`ChildResult::entries`] of every child in the state output instead.

use std::sync::Arc;

use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use serde::Serialize;
use serde_json::{json, Map, Value};
use statecraft_types::errors::RESULT_WRITER_FAILED;
use statecraft_types::Failure;

use crate::s3::Buckets;

/// The largest result file written; past it the writer starts the next
/// file of the status. AWS documents that it splits large results into
/// several files but not at what size: 5 GiB (the most S3 takes in one
/// PUT) keeps each file readable by any S3 client in one request.
pub const MAX_RESULT_FILE_BYTES: u64 = 5 << 30;

/// Multipart part size: S3's smallest allowed part (all but the last).
const PART_BYTES: usize = 5 << 20;

/// Why the results could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("The specified bucket does not exist: {bucket}")]
    NoSuchBucket { bucket: String },
    #[error("{0}")]
    Config(String),
    #[error("Writing {object}: {why}")]
    Store { object: String, why: String },
}

impl WriteError {
    /// `States.ResultWriterFailed`, with the error's text as the cause.
    pub fn to_failure(&self) -> Failure {
        Failure::new(RESULT_WRITER_FAILED, self.to_string())
    }
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Failure {
        e.to_failure()
    }
}

/// `WriterConfig.OutputType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    /// Each file is one JSON array.
    Json,
    /// One JSON value a line.
    Jsonl,
}

/// `WriterConfig.Transformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    /// Each child's output with its metadata (ARN, input, dates…).
    None,
    /// Only the outputs of the children that succeeded.
    Compact,
    /// As COMPACT, with an output that is an array spread into its
    /// elements.
    Flatten,
}

/// A ResultWriter with its `Parameters`/`Arguments` evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSpec {
    pub bucket: String,
    pub prefix: String,
    pub output_type: OutputType,
    pub transformation: Transformation,
}

fn config(what: impl Into<String>) -> WriteError {
    WriteError::Config(what.into())
}

/// Reads `WriterConfig` (null when absent): AWS's defaults are JSON and,
/// when exporting, NONE.
pub fn writer_config(writer_config: &Value) -> Result<(OutputType, Transformation), WriteError> {
    let field = |name: &str| -> Result<Option<&str>, WriteError> {
        match writer_config.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(config(format!(
                "The WriterConfig field {name} must be a string, but was {other}"
            ))),
        }
    };
    let output_type = match field("OutputType")? {
        None | Some("JSON") => OutputType::Json,
        Some("JSONL") => OutputType::Jsonl,
        Some(other) => {
            return Err(config(format!(
                "The WriterConfig OutputType '{other}' is not supported: use JSON or JSONL"
            )))
        }
    };
    let transformation = match field("Transformation")? {
        None | Some("NONE") => Transformation::None,
        Some("COMPACT") => Transformation::Compact,
        Some("FLATTEN") => Transformation::Flatten,
        Some(other) => {
            return Err(config(format!(
                "The WriterConfig Transformation '{other}' is not supported: use NONE, COMPACT or FLATTEN"
            )))
        }
    };
    Ok((output_type, transformation))
}

impl WriterSpec {
    /// Reads a ResultWriter's `Resource`, evaluated `Parameters` (or
    /// `Arguments`: `Bucket`, `Prefix`) and `WriterConfig`.
    pub fn new(
        resource: &str,
        parameters: &Value,
        writer_config_value: &Value,
    ) -> Result<Self, WriteError> {
        if crate::service_resource(resource) != Some("s3:putObject") {
            return Err(config(format!(
                "The ResultWriter Resource {resource} is not supported: use arn:aws:states:::s3:putObject"
            )));
        }
        let bucket = match parameters.get("Bucket") {
            Some(Value::String(b)) if !b.is_empty() => b.clone(),
            Some(other) if !other.is_null() => {
                return Err(config(format!(
                    "The ResultWriter Parameters field Bucket must be a string, but was {other}"
                )))
            }
            _ => {
                return Err(config(
                    "The ResultWriter Parameters field Bucket is required",
                ))
            }
        };
        let prefix = match parameters.get("Prefix") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(p)) => p.clone(),
            Some(other) => {
                return Err(config(format!(
                    "The ResultWriter Parameters field Prefix must be a string, but was {other}"
                )))
            }
        };
        let (output_type, transformation) = writer_config(writer_config_value)?;
        Ok(WriterSpec {
            bucket,
            prefix,
            output_type,
            transformation,
        })
    }
}

/// How a child execution ended, as the result files group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// Not run (or not finished) when the map run ended.
    Pending,
}

impl ChildStatus {
    fn name(self) -> &'static str {
        match self {
            ChildStatus::Succeeded => "SUCCEEDED",
            ChildStatus::Failed => "FAILED",
            ChildStatus::TimedOut => "TIMED_OUT",
            ChildStatus::Aborted => "ABORTED",
            ChildStatus::Pending => "PENDING",
        }
    }

    /// Which file group: 0 SUCCEEDED, 1 FAILED, 2 PENDING.
    fn group(self) -> usize {
        match self {
            ChildStatus::Succeeded => 0,
            ChildStatus::Failed | ChildStatus::TimedOut | ChildStatus::Aborted => 1,
            ChildStatus::Pending => 2,
        }
    }
}

const GROUPS: [&str; 3] = ["SUCCEEDED", "FAILED", "PENDING"];

/// One child execution's result, as the map-run driver hands it in.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildResult {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ChildStatus,
    /// The child's input, as JSON text.
    pub input: String,
    /// The child's output (JSON text), when it succeeded.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub start_ms: Option<i64>,
    pub stop_ms: Option<i64>,
    pub redrive_count: u32,
}

fn date(ms: i64) -> Value {
    match chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms) {
        Some(t) => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        None => Value::Null,
    }
}

impl ChildResult {
    /// The entry AWS writes with Transformation NONE.
    pub fn full_entry(&self) -> Value {
        let mut m = Map::new();
        m.insert("ExecutionArn".into(), json!(self.execution_arn));
        m.insert("Input".into(), json!(self.input));
        m.insert("InputDetails".into(), json!({"Included": true}));
        m.insert("Name".into(), json!(self.name));
        if let Some(output) = &self.output {
            m.insert("Output".into(), json!(output));
            m.insert("OutputDetails".into(), json!({"Included": true}));
        }
        if let Some(e) = &self.error {
            m.insert("Error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), json!(c));
        }
        m.insert("RedriveCount".into(), json!(self.redrive_count));
        match self.status {
            ChildStatus::Succeeded => {
                m.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
                m.insert(
                    "RedriveStatusReason".into(),
                    json!("Execution is SUCCEEDED and cannot be redriven"),
                );
            }
            ChildStatus::Pending => {
                m.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
                m.insert(
                    "RedriveStatusReason".into(),
                    json!("Execution is RUNNING and cannot be redriven"),
                );
            }
            _ => {
                m.insert("RedriveStatus".into(), json!("REDRIVABLE_BY_MAP_RUN"));
            }
        }
        if let Some(ms) = self.start_ms {
            m.insert("StartDate".into(), date(ms));
        }
        m.insert("StateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("Status".into(), json!(self.status.name()));
        if let Some(ms) = self.stop_ms {
            m.insert("StopDate".into(), date(ms));
        }
        Value::Object(m)
    }

    /// What `transformation` makes of this result: one entry, or (FLATTEN
    /// of an array output) one per element. A child that did not succeed
    /// is written whole whatever the transformation, as AWS does.
    pub fn entries(&self, transformation: Transformation) -> Vec<Value> {
        let output = match (&self.output, self.status) {
            (Some(o), ChildStatus::Succeeded) if transformation != Transformation::None => o,
            _ => return vec![self.full_entry()],
        };
        let value: Value = serde_json::from_str(output).unwrap_or_else(|_| json!(output));
        match (transformation, value) {
            (Transformation::Flatten, Value::Array(items)) => items,
            (_, v) => vec![v],
        }
    }
}

/// Where the manifest was written: the Map state's `ResultWriterDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultWriterDetails {
    #[serde(rename = "Bucket")]
    pub bucket: String,
    #[serde(rename = "Key")]
    pub key: String,
}

struct OpenFile {
    key: String,
    upload: WriteMultipart,
    size: u64,
    entries: u64,
}

/// Writes one map run's results; see the module's documentation.
pub struct ResultWriter {
    store: Arc<dyn ObjectStore>,
    spec: WriterSpec,
    map_run_arn: String,
    base: String,
    open: [Option<OpenFile>; 3],
    written: [Vec<(String, u64)>; 3],
    max_file_bytes: u64,
}

impl Buckets {
    /// Starts writing the results of the map run `map_run_arn` as `spec`
    /// says. Nothing is visible in the bucket until files are complete.
    pub async fn open_result_writer(
        &self,
        spec: &WriterSpec,
        map_run_arn: &str,
    ) -> Result<ResultWriter, WriteError> {
        let (store, _) = self
            .lookup(&spec.bucket)
            .ok_or_else(|| WriteError::NoSuchBucket {
                bucket: spec.bucket.clone(),
            })?;
        let id = map_run_arn.rsplit(':').next().unwrap_or(map_run_arn);
        let prefix = spec.prefix.trim_matches('/');
        let base = if prefix.is_empty() {
            id.to_owned()
        } else {
            format!("{prefix}/{id}")
        };
        Key::parse(format!("{base}/manifest.json")).map_err(|e| {
            config(format!(
                "The ResultWriter Prefix {:?} is not usable: {e}",
                spec.prefix
            ))
        })?;
        Ok(ResultWriter {
            store,
            spec: spec.clone(),
            map_run_arn: map_run_arn.to_owned(),
            base,
            open: [None, None, None],
            written: [Vec::new(), Vec::new(), Vec::new()],
            max_file_bytes: MAX_RESULT_FILE_BYTES,
        })
    }
}

impl ResultWriter {
    /// Splits files at `max` bytes instead of [`MAX_RESULT_FILE_BYTES`]
    /// (tests use a small size to see the split).
    pub fn with_max_file_bytes(mut self, max: u64) -> Self {
        self.max_file_bytes = max.max(1);
        self
    }

    fn object(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.spec.bucket)
    }

    fn store_failed(&self, key: &str, e: object_store::Error) -> WriteError {
        WriteError::Store {
            object: self.object(key),
            why: e.to_string(),
        }
    }

    fn extension(&self) -> &'static str {
        match self.spec.output_type {
            OutputType::Json => "json",
            OutputType::Jsonl => "jsonl",
        }
    }

    /// Appends one child's result to the file of its status.
    pub async fn add(&mut self, result: &ChildResult) -> Result<(), WriteError> {
        let group = result.status.group();
        for entry in result.entries(self.spec.transformation) {
            let text = entry.to_string();
            let needed = text.len() as u64 + 2;
            let full = self.open[group]
                .as_ref()
                .is_some_and(|f| f.entries > 0 && f.size + needed > self.max_file_bytes);
            if full {
                self.close(group).await?;
            }
            if self.open[group].is_none() {
                let key = format!(
                    "{}/{}_{}.{}",
                    self.base,
                    GROUPS[group],
                    self.written[group].len(),
                    self.extension()
                );
                let upload = self
                    .store
                    .put_multipart(&Key::from(key.as_str()))
                    .await
                    .map_err(|e| self.store_failed(&key, e))?;
                self.open[group] = Some(OpenFile {
                    key,
                    upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES),
                    size: 0,
                    entries: 0,
                });
            }
            let json = self.spec.output_type == OutputType::Json;
            let Some(file) = self.open[group].as_mut() else {
                continue;
            };
            let lead: &[u8] = match (json, file.entries) {
                (true, 0) => b"[",
                (true, _) => b",",
                (false, _) => b"",
            };
            file.upload.write(lead);
            file.upload.write(text.as_bytes());
            if !json {
                file.upload.write(b"\n");
            }
            file.size += lead.len() as u64 + text.len() as u64 + u64::from(!json);
            file.entries += 1;
            // At most one part in flight per file: memory stays bounded.
            let waited = file.upload.wait_for_capacity(1).await;
            if let Err(e) = waited {
                let key = file.key.clone();
                return Err(self.store_failed(&key, e));
            }
        }
        Ok(())
    }

    /// Completes the open file of a group.
    async fn close(&mut self, group: usize) -> Result<(), WriteError> {
        let Some(mut file) = self.open[group].take() else {
            return Ok(());
        };
        if self.spec.output_type == OutputType::Json {
            file.upload.write(b"]");
            file.size += 1;
        }
        let key = file.key.clone();
        file.upload
            .finish()
            .await
            .map_err(|e| self.store_failed(&key, e))?;
        self.written[group].push((key, file.size));
        Ok(())
    }

    /// Completes every file, then writes `manifest.json`; where it is.
    pub async fn finish(mut self) -> Result<ResultWriterDetails, WriteError> {
        for group in 0..GROUPS.len() {
            if let Err(e) = self.close(group).await {
                self.abort().await;
                return Err(e);
            }
        }
        let files = |group: usize| -> Value {
            Value::Array(
                self.written[group]
                    .iter()
                    .map(|(key, size)| json!({"Key": key, "Size": size}))
                    .collect(),
            )
        };
        let manifest = json!({
            "DestinationBucket": self.spec.bucket,
            "MapRunArn": self.map_run_arn,
            "ResultFiles": {
                "FAILED": files(1),
                "PENDING": files(2),
                "SUCCEEDED": files(0),
            }
        });
        let key = format!("{}/manifest.json", self.base);
        self.store
            .put(
                &Key::from(key.as_str()),
                PutPayload::from(manifest.to_string().into_bytes()),
            )
            .await
            .map_err(|e| self.store_failed(&key, e))?;
        Ok(ResultWriterDetails {
            bucket: self.spec.bucket.clone(),
            key,
        })
    }

    /// Gives up: open uploads are aborted (nothing of them stays visible)
    /// and no manifest is written.
    pub async fn abort(&mut self) {
        for slot in self.open.iter_mut() {
            if let Some(file) = slot.take() {
                let _ = file.upload.abort().await;
            }
        }
    }
}
