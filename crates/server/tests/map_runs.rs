//! Distributed Map runs through the server with a local-folder bucket, as
//! the AWS SDK for Rust sees them: items streamed from a JSONL object in
//! batches to EXPRESS children and results written back by the
//! ResultWriter, CSV rows to STANDARD children listed by
//! `ListExecutions(mapRunArn)`, `ListMapRuns`, `DescribeMapRun`'s counts
//! and `UpdateMapRun` refused once the run has ended.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, MapRunStatus};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use statecraft_server::Server;

/// A server with one bucket, `media`, in a temporary folder.
struct WithBucket {
    client: Client,
    bucket: tempfile::TempDir,
    _data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for WithBucket {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start() -> WithBucket {
    let data = tempfile::tempdir().expect("tempdir");
    let bucket = tempfile::tempdir().expect("tempdir");
    #[derive(serde::Deserialize)]
    struct Doc {
        integrations: statecraft_integrations::IntegrationsConfig,
    }
    let doc: Doc = toml::from_str(&format!(
        "[integrations.buckets.media]\nurl = \"file://{}\"\n",
        bucket.path().display()
    ))
    .expect("config");
    let cfg = common::config(data.path(), doc.integrations);
    let server = Server::start(&cfg).await.expect("server starts");
    let (addr, stop, _task) = common::serve(server).await;
    WithBucket {
        client: common::client(&format!("http://{addr}")),
        bucket,
        _data: data,
        stop: Some(stop),
    }
}

async fn run_to_end(
    client: &Client,
    name: &str,
    definition: Value,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let machine = client
        .create_state_machine()
        .name(name)
        .role_arn(common::ROLE)
        .definition(definition.to_string())
        .send()
        .await
        .expect("create machine")
        .state_machine_arn;
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start")
        .execution_arn;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .expect("describe");
        if d.status != ExecutionStatus::Running {
            return d;
        }
        assert!(Instant::now() < deadline, "{name} is still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_runs_read_and_write_a_bucket_and_are_described() {
    let s = start().await;
    let lines: Vec<String> = (0..500).map(|i| json!({"id": i}).to_string()).collect();
    std::fs::write(s.bucket.path().join("items.jsonl"), lines.join("\n")).expect("write items");
    std::fs::write(
        s.bucket.path().join("rows.csv"),
        "name|size\na|1\nb|2\nc|3\n",
    )
    .expect("write rows");

    // 500 JSONL items in batches of 50 to EXPRESS children; results written back.
    let batched = run_to_end(
        &s.client,
        "batched",
        json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "media", "Key": "items.jsonl"}},
            "ItemBatcher": {"MaxItemsPerBatch": 50},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "media", "Prefix": "results"}},
            "End": true}}}),
    )
    .await;
    assert_eq!(
        batched.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        batched.error,
        batched.cause
    );
    let output: Value =
        serde_json::from_str(batched.output.as_deref().unwrap_or("null")).expect("output");
    let key = output["ResultWriterDetails"]["Key"]
        .as_str()
        .expect("ResultWriterDetails.Key");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(s.bucket.path().join(key)).expect("manifest.json"))
            .expect("JSON");
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let runs = s
        .client
        .list_map_runs()
        .execution_arn(&batched.execution_arn)
        .send()
        .await
        .expect("ListMapRuns")
        .map_runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(manifest["MapRunArn"], runs[0].map_run_arn.as_str());
    assert_eq!(output["MapRunArn"], runs[0].map_run_arn.as_str());
    let d = s
        .client
        .describe_map_run()
        .map_run_arn(&runs[0].map_run_arn)
        .send()
        .await
        .expect("DescribeMapRun");
    assert_eq!(d.status, MapRunStatus::Succeeded);
    let items = d.item_counts.expect("itemCounts");
    assert_eq!((items.total, items.succeeded, items.failed), (500, 500, 0));
    let children = d.execution_counts.expect("executionCounts");
    assert_eq!((children.total, children.succeeded), (10, 10));
    assert!(d.stop_date.is_some());
    // Ended: it can no longer be updated.
    let e = s
        .client
        .update_map_run()
        .map_run_arn(&runs[0].map_run_arn)
        .max_concurrency(3)
        .send()
        .await
        .expect_err("a finished map run is not updated");
    assert!(e.into_service_error().is_validation_exception());

    // CSV rows (PIPE) to STANDARD children, listed by map run.
    let rows = run_to_end(
        &s.client,
        "rows",
        json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVDelimiter": "PIPE"},
                "Parameters": {"Bucket": "media", "Key": "rows.csv"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
    )
    .await;
    assert_eq!(
        rows.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        rows.error,
        rows.cause
    );
    assert_eq!(
        serde_json::from_str::<Value>(rows.output.as_deref().unwrap_or("null")).expect("output"),
        json!([{"name": "a", "size": "1"}, {"name": "b", "size": "2"}, {"name": "c", "size": "3"}])
    );
    let run = s
        .client
        .list_map_runs()
        .execution_arn(&rows.execution_arn)
        .send()
        .await
        .expect("ListMapRuns")
        .map_runs
        .remove(0);
    let listed = s
        .client
        .list_executions()
        .map_run_arn(&run.map_run_arn)
        .send()
        .await
        .expect("ListExecutions by map run")
        .executions;
    assert_eq!(listed.len(), 3);
    assert!(listed
        .iter()
        .all(|e| e.status == ExecutionStatus::Succeeded));
    assert!(listed
        .iter()
        .all(|e| e.map_run_arn.as_deref() == Some(run.map_run_arn.as_str())));

    // A missing object fails the parent with AWS's name.
    let missing = run_to_end(
        &s.client,
        "missing",
        json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": "media", "Key": "nothing.json"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
    )
    .await;
    assert_eq!(missing.status, ExecutionStatus::Failed);
    assert_eq!(missing.error.as_deref(), Some("S3.NoSuchKeyException"));
    assert_eq!(
        missing.cause.as_deref(),
        Some("The specified key does not exist: s3://media/nothing.json")
    );
}
