//! The Distributed Map ResultWriter (`statecraft_integrations::result_writer`)
//! on a local-folder bucket and on a real S3-compatible server (moto's):
//! AWS's layout (`<Prefix>/<map run id>/SUCCEEDED_n.json`, `FAILED_n`,
//! `PENDING_n`, `manifest.json` last), the entries' shapes, the file split,
//! OutputType and Transformation, and nothing visible before `finish`.

mod buckets;

use buckets::Bucket;
use serde_json::{json, Value};
use statecraft_integrations::result_writer::{ChildResult, ChildStatus, WriterSpec};

const PUT: &str = "arn:aws:states:::s3:putObject";
const MAP_RUN: &str =
    "arn:aws:states:us-east-1:123456789012:mapRun:thumbs/Resize:0f6d3b1c-3c4e-4a5e-9a57-2b1f5e0c9d10";
const RUN_ID: &str = "0f6d3b1c-3c4e-4a5e-9a57-2b1f5e0c9d10";

fn child(i: u32, status: ChildStatus, output: Option<Value>) -> ChildResult {
    let failed = matches!(
        status,
        ChildStatus::Failed | ChildStatus::TimedOut | ChildStatus::Aborted
    );
    ChildResult {
        execution_arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:thumbs/Resize:child-{i}"
        ),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:thumbs/Resize"
            .into(),
        name: format!("child-{i}"),
        status,
        input: json!({"n": i}).to_string(),
        output: output.map(|o| o.to_string()),
        error: failed.then(|| "Resize.Failed".to_owned()),
        cause: failed.then(|| format!("image {i} is broken")),
        start_ms: (status != ChildStatus::Pending).then_some(1_700_000_000_123),
        stop_ms: (status != ChildStatus::Pending).then_some(1_700_000_001_456),
        redrive_count: 0,
    }
}

fn writer_spec(prefix: &str, config: Value) -> WriterSpec {
    WriterSpec::new(PUT, &json!({"Bucket": "media", "Prefix": prefix}), &config)
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn manifest(b: &Bucket, key: &str) -> Value {
    serde_json::from_slice(&b.get(key).await).expect("manifest.json is JSON")
}

async fn suite(b: &Bucket) {
    // NONE / JSON (AWS's defaults), files split at a small size.
    let spec = writer_spec("runs/thumbs/", Value::Null);
    let mut w = b
        .buckets
        .open_result_writer(&spec, MAP_RUN)
        .await
        .expect("open")
        .with_max_file_bytes(1200);
    for i in 0..5 {
        w.add(&child(
            i,
            ChildStatus::Succeeded,
            Some(json!({"thumb": format!("t{i}.png")})),
        ))
        .await
        .expect("add");
    }
    w.add(&child(5, ChildStatus::Failed, None))
        .await
        .expect("add");
    w.add(&child(6, ChildStatus::TimedOut, None))
        .await
        .expect("add");
    w.add(&child(7, ChildStatus::Pending, None))
        .await
        .expect("add");
    // Nothing is complete before finish: no manifest (and, with S3 and a
    // local folder alike, no file still being written under its name).
    let before = b.keys(&format!("runs/thumbs/{RUN_ID}")).await;
    assert!(
        !before.iter().any(|k| k.ends_with("manifest.json")),
        "{}: {before:?}",
        b.kind
    );
    assert!(
        !before
            .iter()
            .any(|k| k.contains("FAILED") || k.contains("PENDING")),
        "{}: open files are visible: {before:?}",
        b.kind
    );
    let details = w.finish().await.expect("finish");
    let base = format!("runs/thumbs/{RUN_ID}");
    assert_eq!(details.bucket, "media");
    assert_eq!(details.key, format!("{base}/manifest.json"));
    assert_eq!(
        serde_json::to_value(&details).expect("details"),
        json!({"Bucket": "media", "Key": format!("{base}/manifest.json")})
    );
    let m = manifest(b, &details.key).await;
    assert_eq!(m["DestinationBucket"], "media");
    assert_eq!(m["MapRunArn"], MAP_RUN);
    let results = m["ResultFiles"].as_object().expect("ResultFiles");
    assert_eq!(
        results.keys().map(String::as_str).collect::<Vec<_>>(),
        ["FAILED", "PENDING", "SUCCEEDED"]
    );
    let succeeded = results["SUCCEEDED"].as_array().expect("SUCCEEDED");
    assert!(
        succeeded.len() >= 2,
        "{}: the 1200-byte split made {succeeded:?}",
        b.kind
    );
    let mut entries = Vec::new();
    for (n, f) in succeeded.iter().enumerate() {
        let key = f["Key"].as_str().expect("Key");
        assert_eq!(key, format!("{base}/SUCCEEDED_{n}.json"));
        let body = b.get(key).await;
        assert_eq!(f["Size"], body.len(), "{key}");
        assert!(body.len() <= 1200, "{key} is {} bytes", body.len());
        let file: Value = serde_json::from_slice(&body).expect("a JSON array");
        entries.extend(file.as_array().expect("an array").iter().cloned());
    }
    assert_eq!(entries.len(), 5);
    let first = entries[0].as_object().expect("an entry");
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "Output",
            "OutputDetails",
            "RedriveCount",
            "RedriveStatus",
            "RedriveStatusReason",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate"
        ]
    );
    assert_eq!(
        entries[0],
        json!({
            "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:thumbs/Resize:child-0",
            "Input": "{\"n\":0}",
            "InputDetails": {"Included": true},
            "Name": "child-0",
            "Output": "{\"thumb\":\"t0.png\"}",
            "OutputDetails": {"Included": true},
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
            "StartDate": "2023-11-14T22:13:20.123Z",
            "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:thumbs/Resize",
            "Status": "SUCCEEDED",
            "StopDate": "2023-11-14T22:13:21.456Z"
        })
    );
    let failed = results["FAILED"].as_array().expect("FAILED");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["Key"], format!("{base}/FAILED_0.json"));
    let failed_entries: Value =
        serde_json::from_slice(&b.get(&format!("{base}/FAILED_0.json")).await).expect("JSON");
    assert_eq!(failed_entries[0]["Status"], "FAILED");
    assert_eq!(failed_entries[0]["Error"], "Resize.Failed");
    assert_eq!(failed_entries[0]["Cause"], "image 5 is broken");
    assert_eq!(failed_entries[0]["RedriveStatus"], "REDRIVABLE_BY_MAP_RUN");
    assert!(failed_entries[0].get("Output").is_none());
    assert_eq!(failed_entries[1]["Status"], "TIMED_OUT");
    let pending: Value =
        serde_json::from_slice(&b.get(&format!("{base}/PENDING_0.json")).await).expect("JSON");
    assert_eq!(pending[0]["Status"], "PENDING");
    assert!(pending[0].get("StartDate").is_none());

    // JSONL with COMPACT: the outputs of the children that succeeded, the
    // others whole; no prefix puts the run at the bucket's top.
    let spec = WriterSpec::new(
        PUT,
        &json!({"Bucket": "media"}),
        &json!({"OutputType": "JSONL", "Transformation": "COMPACT"}),
    )
    .expect("spec");
    let mut w = b
        .buckets
        .open_result_writer(&spec, MAP_RUN)
        .await
        .expect("open");
    w.add(&child(1, ChildStatus::Succeeded, Some(json!({"ok": 1}))))
        .await
        .expect("add");
    w.add(&child(2, ChildStatus::Succeeded, Some(json!([1, 2]))))
        .await
        .expect("add");
    w.add(&child(3, ChildStatus::Aborted, None))
        .await
        .expect("add");
    let details = w.finish().await.expect("finish");
    assert_eq!(details.key, format!("{RUN_ID}/manifest.json"));
    let m = manifest(b, &details.key).await;
    assert_eq!(m["ResultFiles"]["PENDING"], json!([]));
    assert_eq!(
        String::from_utf8(b.get(&format!("{RUN_ID}/SUCCEEDED_0.jsonl")).await).expect("text"),
        "{\"ok\":1}\n[1,2]\n"
    );
    let aborted =
        String::from_utf8(b.get(&format!("{RUN_ID}/FAILED_0.jsonl")).await).expect("text");
    let aborted: Value = serde_json::from_str(aborted.trim_end()).expect("one JSON line");
    assert_eq!(aborted["Status"], "ABORTED");

    // FLATTEN spreads array outputs.
    let spec = writer_spec(
        "flat",
        json!({"OutputType": "JSON", "Transformation": "FLATTEN"}),
    );
    let mut w = b
        .buckets
        .open_result_writer(&spec, MAP_RUN)
        .await
        .expect("open");
    w.add(&child(1, ChildStatus::Succeeded, Some(json!([1, 2]))))
        .await
        .expect("add");
    w.add(&child(2, ChildStatus::Succeeded, Some(json!({"three": 3}))))
        .await
        .expect("add");
    w.finish().await.expect("finish");
    let flat: Value =
        serde_json::from_slice(&b.get(&format!("flat/{RUN_ID}/SUCCEEDED_0.json")).await)
            .expect("JSON");
    assert_eq!(flat, json!([1, 2, {"three": 3}]));

    // A run with no results still gets its manifest.
    let w = b
        .buckets
        .open_result_writer(&writer_spec("none", Value::Null), MAP_RUN)
        .await
        .expect("open");
    let details = w.finish().await.expect("finish");
    let m = manifest(b, &details.key).await;
    assert_eq!(
        m["ResultFiles"],
        json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []})
    );
    assert_eq!(
        b.keys(&format!("none/{RUN_ID}")).await,
        [format!("none/{RUN_ID}/manifest.json")]
    );

    // Given up: nothing is left behind.
    let mut w = b
        .buckets
        .open_result_writer(&writer_spec("abandoned", Value::Null), MAP_RUN)
        .await
        .expect("open");
    w.add(&child(1, ChildStatus::Succeeded, Some(json!(1))))
        .await
        .expect("add");
    w.abort().await;
    assert_eq!(
        b.keys("abandoned").await,
        Vec::<String>::new(),
        "{}",
        b.kind
    );

    // An unknown bucket is States.ResultWriterFailed.
    let spec = WriterSpec::new(PUT, &json!({"Bucket": "nope", "Prefix": "p"}), &Value::Null)
        .expect("spec");
    let e = b
        .buckets
        .open_result_writer(&spec, MAP_RUN)
        .await
        .err()
        .expect("an unknown bucket is refused");
    let f = e.to_failure();
    assert_eq!(
        (f.error.as_str(), f.cause.as_str()),
        (
            "States.ResultWriterFailed",
            "The specified bucket does not exist: nope"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_written_to_a_local_folder_bucket() {
    suite(&Bucket::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_written_to_an_s3_compatible_bucket() {
    suite(&Bucket::s3().await).await;
}

#[test]
fn bad_writer_configs_say_what_is_wrong() {
    let cases = [
        ("arn:aws:states:::s3:getObject", json!({"Bucket": "b"}), Value::Null,
            "The ResultWriter Resource arn:aws:states:::s3:getObject is not supported: use arn:aws:states:::s3:putObject"),
        (PUT, json!({"Prefix": "p"}), Value::Null, "The ResultWriter Parameters field Bucket is required"),
        (PUT, json!({"Bucket": 3}), Value::Null, "The ResultWriter Parameters field Bucket must be a string, but was 3"),
        (PUT, json!({"Bucket": "b", "Prefix": 1}), Value::Null, "The ResultWriter Parameters field Prefix must be a string, but was 1"),
        (PUT, json!({"Bucket": "b"}), json!({"OutputType": "CSV"}), "The WriterConfig OutputType 'CSV' is not supported: use JSON or JSONL"),
        (PUT, json!({"Bucket": "b"}), json!({"Transformation": "SQUASH"}), "The WriterConfig Transformation 'SQUASH' is not supported: use NONE, COMPACT or FLATTEN"),
    ];
    for (resource, parameters, config, want) in cases {
        let e = WriterSpec::new(resource, &parameters, &config)
            .err()
            .unwrap_or_else(|| panic!("{parameters} {config} accepted"));
        assert_eq!(e.to_string(), want);
        assert_eq!(e.to_failure().error, "States.ResultWriterFailed");
    }
}

/// Results larger than one multipart part (5 MiB) are uploaded in several
/// parts as they come and read back whole.
async fn large(b: &Bucket) {
    let spec = writer_spec(
        "large",
        json!({"OutputType": "JSONL", "Transformation": "COMPACT"}),
    );
    let mut w = b
        .buckets
        .open_result_writer(&spec, MAP_RUN)
        .await
        .expect("open");
    let pad = "p".repeat(4000);
    for i in 0..3000 {
        w.add(&child(
            i,
            ChildStatus::Succeeded,
            Some(json!({"i": i, "pad": pad})),
        ))
        .await
        .expect("add");
    }
    w.finish().await.expect("finish");
    let body = b.get(&format!("large/{RUN_ID}/SUCCEEDED_0.jsonl")).await;
    assert!(body.len() > 11 << 20, "{} bytes", body.len());
    let lines: Vec<Value> = body
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3000, "{}", b.kind);
    assert_eq!(lines[2999]["i"], 2999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_results_go_up_in_parts() {
    large(&Bucket::local()).await;
    large(&Bucket::s3().await).await;
}
