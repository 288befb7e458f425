//! The runtime's map-run I/O ([`statecraft_runtime::map_run::MapRunIo`])
//! over the configured buckets: the map-run driver streams a Distributed
//! Map's items through [`crate::items`] and writes its results through
//! [`crate::result_writer`]. [`crate::registry`] installs it whenever
//! buckets are configured.

use serde_json::Value;
use statecraft_engine::map_run::{ReaderRequest, WriterRequest};
use statecraft_runtime::map_run::{BoxFuture, ChildResult, ItemStream, MapRunIo, ResultSink};
use statecraft_runtime::ExecutionStatus;
use statecraft_types::errors::ITEM_READER_FAILED;
use statecraft_types::Failure;

use crate::items::{Cursor, Items, ReaderSpec};
use crate::result_writer::{self, ChildStatus, ResultWriter, WriterSpec};
use crate::s3::Buckets;

impl ItemStream for Items {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<Value>, Failure>> {
        Box::pin(async move { Items::next(self).await.map_err(|e| e.to_failure()) })
    }

    fn cursor(&self) -> Value {
        serde_json::to_value(Items::cursor(self)).unwrap_or(Value::Null)
    }
}

struct Sink(ResultWriter);

fn child_status(s: ExecutionStatus) -> ChildStatus {
    match s {
        ExecutionStatus::Succeeded => ChildStatus::Succeeded,
        ExecutionStatus::Failed => ChildStatus::Failed,
        ExecutionStatus::TimedOut => ChildStatus::TimedOut,
        ExecutionStatus::Aborted => ChildStatus::Aborted,
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => ChildStatus::Pending,
    }
}

impl ResultSink for Sink {
    fn add(&mut self, r: ChildResult) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            let result = result_writer::ChildResult {
                execution_arn: r.execution_arn,
                state_machine_arn: r.state_machine_arn,
                name: r.name,
                status: child_status(r.status),
                input: r.input,
                output: r.output,
                error: r.error,
                cause: r.cause,
                start_ms: r.start_ms,
                stop_ms: r.stop_ms,
                redrive_count: r.redrive_count,
            };
            self.0.add(&result).await.map_err(|e| e.to_failure())
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<Value, Failure>> {
        Box::pin(async move {
            let details = self.0.finish().await.map_err(|e| e.to_failure())?;
            serde_json::to_value(details).map_err(|e| Failure::runtime(e.to_string()))
        })
    }
}

impl MapRunIo for Buckets {
    fn open_items<'a>(
        &'a self,
        reader: &'a ReaderRequest,
        cursor: Option<Value>,
    ) -> BoxFuture<'a, Result<Box<dyn ItemStream>, Failure>> {
        Box::pin(async move {
            let mut spec =
                ReaderSpec::new(&reader.resource, &reader.arguments, &reader.reader_config)
                    .map_err(|e| e.to_failure())?;
            if reader.max_items.is_some() {
                spec.max_items = reader.max_items.filter(|n| *n > 0);
            }
            let from = match cursor {
                None | Some(Value::Null) => Cursor::default(),
                Some(c) => serde_json::from_value(c.clone()).map_err(|e| {
                    Failure::new(
                        ITEM_READER_FAILED,
                        format!("The map run's reader position {c} is not readable: {e}"),
                    )
                })?,
            };
            let items = self
                .open_items(&spec, from)
                .await
                .map_err(|e| e.to_failure())?;
            Ok(Box::new(items) as Box<dyn ItemStream>)
        })
    }

    fn open_results<'a>(
        &'a self,
        writer: &'a WriterRequest,
        map_run_arn: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn ResultSink>, Failure>> {
        Box::pin(async move {
            let spec = WriterSpec::new(&writer.resource, &writer.arguments, &writer.writer_config)
                .map_err(|e| e.to_failure())?;
            let w = self
                .open_result_writer(&spec, map_run_arn)
                .await
                .map_err(|e| e.to_failure())?;
            Ok(Box::new(Sink(w)) as Box<dyn ResultSink>)
        })
    }
}
