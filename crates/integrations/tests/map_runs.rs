//! Distributed Map runs reading and writing buckets inside a real runtime
//! (SQLite in a temporary folder): the runtime's map-run driver streams the
//! items through `items` and writes the results through `result_writer`
//! (installed by `statecraft_integrations::registry`), on a local folder
//! and on moto's S3 server.

mod buckets;

use std::time::Duration;

use buckets::Bucket;
use serde_json::{json, Value};
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::{MachineType, Revision};
use statecraft_testsupport::runtime as steps;

async fn runtime(b: &Bucket, data: &std::path::Path) -> Runtime {
    let mut options = Options::new(data);
    let config = buckets::integrations(&b.toml);
    options.integrations = statecraft_integrations::registry(&config, None)
        .unwrap_or_else(|e| panic!("registry: {e}"));
    options.map_run_io =
        statecraft_integrations::map_run_io(&config).unwrap_or_else(|e| panic!("map run io: {e}"));
    Runtime::open(options).await.expect("open runtime")
}

/// Runs `definition` with `input` to its end: (status, output or error, cause).
async fn run(
    rt: &Runtime,
    name: &str,
    definition: Value,
    input: Value,
) -> (ExecutionStatus, Value, String) {
    let arn = steps::create_machine(rt, name, &definition, MachineType::Standard).await;
    let execution = steps::start(rt, &arn, "run-1", &input).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = rt.describe_execution(&execution).expect("describe");
        if e.state.status != ExecutionStatus::Running {
            let out = match &e.state.output {
                Some(o) => serde_json::from_str(o).unwrap_or(Value::Null),
                None => json!(e.state.error),
            };
            return (
                e.state.status,
                out,
                e.state.cause.clone().unwrap_or_default(),
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn distributed(reader: Value, processor_type: &str, extra: Value) -> Value {
    let mut each = json!({"Type": "Map",
        "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": processor_type},
            "StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}},
        "End": true});
    if let (Some(e), Some(x)) = (each.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            e.insert(k.clone(), v.clone());
        }
    }
    json!({"StartAt": "Each", "States": {"Each": each}})
}

async fn suite(b: &Bucket) {
    let data = tempfile::tempdir().expect("tempdir");
    let rt = runtime(b, data.path()).await;
    let lines: Vec<String> = (0..200).map(|i| json!({"id": i}).to_string()).collect();
    b.put("in/items.jsonl", lines.join("\n")).await;

    // JSONL in batches of 10 through EXPRESS children, results written back.
    let (status, out, cause) = run(
        &rt,
        "batched",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "media", "Key.$": "$.key"}}),
            "EXPRESS",
            json!({"ItemBatcher": {"MaxItemsPerBatch": 10},
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "media", "Prefix": "out"},
                    "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"}}}),
        ),
        json!({"key": "in/items.jsonl"}),
    )
    .await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "{}: {out} {cause}",
        b.kind
    );
    let manifest_key = out["ResultWriterDetails"]["Key"]
        .as_str()
        .expect("ResultWriterDetails.Key");
    assert_eq!(out["ResultWriterDetails"]["Bucket"], "media");
    let manifest: Value = serde_json::from_slice(&b.get(manifest_key).await).expect("manifest");
    let map_run_arn = manifest["MapRunArn"].as_str().expect("MapRunArn");
    assert_eq!(
        out["MapRunArn"], map_run_arn,
        "the Map's output names its map run"
    );
    assert!(
        map_run_arn.contains(":mapRun:batched/Each:"),
        "{map_run_arn}"
    );
    let run_id = map_run_arn.rsplit(':').next().expect("the map run's id");
    assert_eq!(manifest_key, format!("out/{run_id}/manifest.json"));
    assert_eq!(manifest["DestinationBucket"], "media");
    let files = manifest["ResultFiles"]["SUCCEEDED"]
        .as_array()
        .expect("SUCCEEDED");
    let mut ids = Vec::new();
    for f in files {
        let body = b.get(f["Key"].as_str().expect("Key")).await;
        for line in body.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
            let batch: Value = serde_json::from_slice(line).expect("a JSON line");
            let items = batch["Items"].as_array().expect("a batch's Items");
            assert_eq!(items.len(), 10);
            ids.extend(items.iter().filter_map(|i| i["id"].as_u64()));
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..200).collect::<Vec<u64>>(), "{}", b.kind);

    // CSV rows as STANDARD children, MaxItems 5, outputs in item order.
    b.put("in/rows.csv", "name,size\na,1\nb,2\nc,3\nd,4\ne,5\nf,6\n")
        .await;
    let (status, out, cause) = run(
        &rt,
        "rows",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 5},
                "Parameters": {"Bucket": "media", "Key": "in/rows.csv"}}),
            "STANDARD",
            json!({}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "{}: {out} {cause}",
        b.kind
    );
    assert_eq!(
        out,
        json!([{"name": "a", "size": "1"}, {"name": "b", "size": "2"}, {"name": "c", "size": "3"},
            {"name": "d", "size": "4"}, {"name": "e", "size": "5"}])
    );

    // A listing, each key a child.
    for k in ["pics/a.png", "pics/b.png", "pics/deep/c.png"] {
        b.put(k, "png").await;
    }
    let (status, out, cause) = run(
        &rt,
        "listing",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "media", "Prefix": "pics/"}}),
            "EXPRESS",
            json!({"ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"}}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "{}: {out} {cause}",
        b.kind
    );
    assert_eq!(
        out,
        json!([{"key": "pics/a.png", "size": 3}, {"key": "pics/b.png", "size": 3}, {"key": "pics/deep/c.png", "size": 3}])
    );

    // Bad input fails the Map with AWS's names and the object and line.
    b.put("in/bad.jsonl", "{\"id\": 1}\n{oops}\n").await;
    let (status, error, cause) = run(
        &rt,
        "bad-line",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "media", "Key": "in/bad.jsonl"}}),
            "EXPRESS",
            json!({}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error, "States.ItemReaderFailed", "{}", b.kind);
    assert_eq!(
        cause,
        "s3://media/in/bad.jsonl line 2: the line is not JSON: key must be a string"
    );
    let (status, error, cause) = run(
        &rt,
        "missing",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": "media", "Key": "in/nothing.json"}}),
            "EXPRESS",
            json!({}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error, "S3.NoSuchKeyException", "{}", b.kind);
    assert_eq!(
        cause,
        "The specified key does not exist: s3://media/in/nothing.json"
    );
    let (status, error, cause) = run(
        &rt,
        "no-bucket-for-results",
        distributed(
            json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "media", "Key": "in/items.jsonl"}, }),
            "EXPRESS",
            json!({"ItemBatcher": {"MaxItemsPerBatch": 100},
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "elsewhere", "Prefix": "out"}}}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error, "States.ResultWriterFailed", "{}", b.kind);
    assert_eq!(cause, "The specified bucket does not exist: elsewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_runs_over_a_local_folder_bucket() {
    suite(&Bucket::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_runs_over_an_s3_compatible_bucket() {
    suite(&Bucket::s3().await).await;
}

/// A restart in the middle of a map run reading a CSV object resumes from
/// the saved reader position (a byte offset past the rows already handed
/// out, the header row read again): one child per row, none twice, the
/// outputs in row order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_map_run_reads_on_from_its_saved_position() {
    let b = Bucket::local();
    let data = tempfile::tempdir().expect("tempdir");
    let rows: Vec<String> = (0..30).map(|i| format!("row-{i},{}", i * 3)).collect();
    b.put("in/rows.csv", format!("name,size\n{}\n", rows.join("\n")))
        .await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:slow-rows";
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
        "MaxConcurrency": 4,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"},
            "Parameters": {"Bucket": "media", "Key": "in/rows.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let (parent, run_arn, saved) = {
        let rt = runtime(&b, data.path()).await;
        rt.store()
            .create_state_machine(
                "slow-rows".into(),
                MachineType::Standard,
                Revision {
                    revision_id: "rev-slow-rows".into(),
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
                name: Some("p".into()),
                input: None,
                trace_header: None,
            })
            .await
            .expect("start")
            .execution_arn;
        // Wait until some children have run and the reader's place is saved.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let (run_arn, saved) = loop {
            let runs = rt
                .store()
                .list_map_runs(&parent, &statecraft_store::PageRequest::first(10))
                .expect("list map runs");
            if let Some(run) = runs.items.first() {
                let offset = run
                    .cursor
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<Value>(c).ok())
                    .and_then(|c| c["reader"]["offset"].as_u64());
                if run.item_counts.succeeded >= 4 && offset.is_some_and(|o| o > 0) {
                    break (run.arn.clone(), run.cursor.clone().unwrap_or_default());
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no progress saved");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        rt.shutdown(Duration::from_secs(5)).await;
        (parent, run_arn, saved)
    };
    let rt = runtime(&b, data.path()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let done = loop {
        let e = rt.describe_execution(&parent).expect("describe");
        if e.state.status != ExecutionStatus::Running {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?} (saved {saved})",
        done.state.cause
    );
    let output: Value =
        serde_json::from_str(done.state.output.as_deref().unwrap_or("null")).expect("output");
    let want: Vec<Value> = (0..30)
        .map(|i| json!({"name": format!("row-{i}"), "size": format!("{}", i * 3)}))
        .collect();
    assert_eq!(output, Value::Array(want), "resumed from {saved}");
    let run = rt
        .store()
        .get_map_run(&run_arn)
        .expect("get")
        .expect("the map run");
    assert_eq!(
        (run.item_counts.total, run.item_counts.succeeded),
        (30, 30),
        "resumed from {saved}"
    );
    let children = rt
        .store()
        .list_executions(
            &statecraft_store::ExecutionFilter {
                map_run_arn: Some(run_arn.clone()),
                ..Default::default()
            },
            &statecraft_store::PageRequest::first(1000),
        )
        .expect("children");
    assert_eq!(children.items.len(), 30, "one child per row, none twice");
}
