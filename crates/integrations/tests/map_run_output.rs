//! What an exporting Distributed Map returns, in a real runtime over a
//! local-folder bucket: AWS's `{"MapRunArn", "ResultWriterDetails"}`, the
//! ARN being the map run the parent recorded and the manifest's key under
//! it.

mod buckets;

use std::time::Duration;

use buckets::Bucket;
use serde_json::{json, Value};
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::{HistoryQuery, MachineType, PageRequest, Revision};
use statecraft_types::EventType;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporting_map_returns_its_map_run_and_the_manifest() {
    let bucket = Bucket::local();
    let data = tempfile::tempdir().expect("tempdir");
    let mut options = Options::new(data.path());
    let config = buckets::integrations(&bucket.toml);
    options.integrations = statecraft_integrations::registry(&config, None)
        .unwrap_or_else(|e| panic!("registry: {e}"));
    options.map_run_io =
        statecraft_integrations::map_run_io(&config).unwrap_or_else(|e| panic!("map run io: {e}"));
    let rt = Runtime::open(options).await.expect("open runtime");
    let lines: Vec<String> = (0..20).map(|i| json!({"id": i}).to_string()).collect();
    bucket.put("in/items.jsonl", lines.join("\n")).await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:export";
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "media", "Key": "in/items.jsonl"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "media", "Prefix": "out"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}}}}});
    rt.store()
        .create_state_machine(
            "export".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-export".into(),
                state_machine_arn: machine.into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                description: None,
                logging_configuration: None,
                tracing_configuration: None,
                created_ms: 0,
            },
            0,
        )
        .await
        .expect("create machine");
    let parent = rt
        .start_execution(StartExecution {
            target_arn: machine.into(),
            name: Some("e".into()),
            input: Some("{}".into()),
            trace_header: None,
        })
        .await
        .expect("start")
        .execution_arn;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let e = rt.describe_execution(&parent).expect("describe");
        if e.state.status != ExecutionStatus::Running {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        done.state.cause
    );
    let out: Value =
        serde_json::from_str(done.state.output.as_deref().expect("output")).expect("JSON output");
    let events = rt
        .store()
        .history(
            &parent,
            &HistoryQuery {
                page: PageRequest::first(100),
                reverse: false,
            },
        )
        .expect("history")
        .items;
    let started = events
        .iter()
        .find(|e| e.event_type == EventType::MapRunStarted)
        .expect("MapRunStarted");
    let run_arn = started.details.as_ref().expect("details")["mapRunArn"].clone();
    assert_eq!(out["MapRunArn"], run_arn, "{out}");
    let run_id = run_arn
        .as_str()
        .and_then(|a| a.rsplit(':').next())
        .expect("the map run's id");
    assert_eq!(
        out["ResultWriterDetails"],
        json!({"Bucket": "media", "Key": format!("out/{run_id}/manifest.json")})
    );
    let manifest: Value =
        serde_json::from_slice(&bucket.get(&format!("out/{run_id}/manifest.json")).await)
            .expect("the manifest");
    assert_eq!(manifest["MapRunArn"], run_arn);
    rt.shutdown(Duration::from_secs(5)).await;
}
