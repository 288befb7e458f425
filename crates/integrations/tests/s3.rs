//! Buckets end to end: the `aws-sdk:s3:*` resources and a Map's
//! `ItemReader` over a local-folder bucket and over a real S3-compatible
//! server (moto's, started by the test: `pip install "moto[server]"`, which
//! the README's test command installs), with AWS's result shapes and error
//! names; and a workflow that reads items from a bucket and writes its
//! results back, inside a real runtime.

mod common;

use std::time::Duration;

use common::{config, failed, run, succeeded};
use serde_json::{json, Value};
use statecraft_runtime::{ExecutionStatus, Options, Runtime, StartExecution};
use statecraft_store::{MachineType, Revision};
use statecraft_testsupport::moto::Moto;

const SDK: &str = "arn:aws:states:::aws-sdk:s3:";

fn sdk(action: &str) -> String {
    format!("{SDK}{action}")
}

/// The whole object API against one bucket named `media`.
async fn exercise(reg: &statecraft_runtime::Integrations) {
    let put = succeeded(
        run(
            reg,
            &sdk("putObject"),
            json!({"Bucket": "media", "Key": "in/a.json", "Body": "{\"n\":1}", "ContentType": "application/json"}),
        )
        .await,
    );
    let etag = put["ETag"].as_str().expect("ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    // A JSON body is written as its text.
    succeeded(
        run(
            reg,
            &sdk("putObject"),
            json!({"Bucket": "media", "Key": "in/b.json", "Body": {"n": 2}}),
        )
        .await,
    );
    succeeded(
        run(
            reg,
            &sdk("putObject"),
            json!({"Bucket": "media", "Key": "in/deep/c.txt", "Body": "three"}),
        )
        .await,
    );
    succeeded(
        run(
            reg,
            &sdk("putObject"),
            json!({"Bucket": "media", "Key": "other.txt", "Body": "x"}),
        )
        .await,
    );

    let got = succeeded(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "media", "Key": "in/a.json"}),
        )
        .await,
    );
    assert_eq!(got["Body"], "{\"n\":1}");
    assert_eq!(got["ContentLength"], 7);
    assert_eq!(got["ETag"], etag.as_str());
    assert!(got["LastModified"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let b = succeeded(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "media", "Key": "in/b.json"}),
        )
        .await,
    );
    assert_eq!(b["Body"], "{\"n\":2}");

    let head = succeeded(
        run(
            reg,
            &sdk("headObject"),
            json!({"Bucket": "media", "Key": "in/deep/c.txt"}),
        )
        .await,
    );
    assert_eq!(head["ContentLength"], 5);
    assert!(head.get("Body").is_none());

    // A string prefix, not only a folder: `in/` and `in/b`.
    let all = succeeded(
        run(
            reg,
            &sdk("listObjectsV2"),
            json!({"Bucket": "media", "Prefix": "in/"}),
        )
        .await,
    );
    let keys: Vec<&str> = all["Contents"]
        .as_array()
        .expect("Contents")
        .iter()
        .filter_map(|c| c["Key"].as_str())
        .collect();
    assert_eq!(keys, ["in/a.json", "in/b.json", "in/deep/c.txt"]);
    assert_eq!(all["KeyCount"], 3);
    assert_eq!(all["IsTruncated"], false);
    assert_eq!(all["Contents"][0]["StorageClass"], "STANDARD");
    let b_only = succeeded(
        run(
            reg,
            &sdk("listObjectsV2"),
            json!({"Bucket": "media", "Prefix": "in/b"}),
        )
        .await,
    );
    assert_eq!(b_only["KeyCount"], 1);
    // Pages: MaxKeys and the continuation token.
    let first = succeeded(
        run(
            reg,
            &sdk("listObjectsV2"),
            json!({"Bucket": "media", "Prefix": "in/", "MaxKeys": 2}),
        )
        .await,
    );
    assert_eq!(first["IsTruncated"], true);
    assert_eq!(first["KeyCount"], 2);
    let token = first["NextContinuationToken"].as_str().expect("token");
    let second = succeeded(
        run(
            reg,
            &sdk("listObjectsV2"),
            json!({"Bucket": "media", "Prefix": "in/", "MaxKeys": 2, "ContinuationToken": token}),
        )
        .await,
    );
    assert_eq!(second["IsTruncated"], false);
    assert_eq!(second["Contents"][0]["Key"], "in/deep/c.txt");
    // A delimiter rolls keys below a folder up.
    let folders = succeeded(
        run(
            reg,
            &sdk("listObjectsV2"),
            json!({"Bucket": "media", "Prefix": "in/", "Delimiter": "/"}),
        )
        .await,
    );
    assert_eq!(folders["CommonPrefixes"], json!([{"Prefix": "in/deep/"}]));
    assert_eq!(folders["KeyCount"], 3);

    let copied = succeeded(
        run(
            reg,
            &sdk("copyObject"),
            json!({"Bucket": "media", "Key": "out/a-copy.json", "CopySource": "media/in%2Fa.json"}),
        )
        .await,
    );
    assert!(copied["CopyObjectResult"]["ETag"].is_string());
    let copy = succeeded(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "media", "Key": "out/a-copy.json"}),
        )
        .await,
    );
    assert_eq!(copy["Body"], "{\"n\":1}");

    assert_eq!(
        succeeded(
            run(
                reg,
                &sdk("deleteObject"),
                json!({"Bucket": "media", "Key": "out/a-copy.json"}),
            )
            .await
        ),
        json!({})
    );
    // Deleting what is not there is not an error, as on S3.
    succeeded(
        run(
            reg,
            &sdk("deleteObject"),
            json!({"Bucket": "media", "Key": "out/a-copy.json"}),
        )
        .await,
    );

    // AWS's error names, with the SDK's cause shape.
    let f = failed(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "media", "Key": "out/a-copy.json"}),
        )
        .await,
    );
    assert_eq!(f.error, "S3.NoSuchKeyException", "{}", f.cause);
    assert!(
        f.cause
            .starts_with("The specified key does not exist. (Service: S3, Status Code: 404"),
        "{}",
        f.cause
    );
    let f = failed(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "nope", "Key": "a"}),
        )
        .await,
    );
    assert_eq!(f.error, "S3.NoSuchBucketException");
    assert!(f.cause.contains("nope"), "{}", f.cause);
    // Bad parameters say what and where.
    let f = failed(run(reg, &sdk("getObject"), json!({"Bucket": "media"})).await);
    assert!(f.cause.contains("Key is required"), "{}", f.cause);
    let f = failed(
        run(
            reg,
            &sdk("getObject"),
            json!({"Bucket": "media", "Key": "../outside"}),
        )
        .await,
    );
    assert!(f.cause.contains("../outside"), "{}", f.cause);

    // The ItemReader resources: a body, and every key of a listing.
    let body = succeeded(
        run(
            reg,
            "arn:aws:states:::s3:getObject",
            json!({"Bucket": "media", "Key": "in/a.json"}),
        )
        .await,
    );
    assert_eq!(body, json!({"Body": "{\"n\":1}"}));
    let listing = succeeded(
        run(
            reg,
            "arn:aws:states:::s3:listObjectsV2",
            json!({"Bucket": "media", "Prefix": "in/"}),
        )
        .await,
    );
    assert_eq!(listing["Contents"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_local_folder_bucket_speaks_the_s3_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&format!(
        "[integrations.buckets.media]\nurl = \"file://{}\"\n",
        dir.path().display()
    ));
    let reg = common::registry(&cfg, None);
    exercise(&reg).await;
    // The objects are plain files in the folder, and a key cannot leave it.
    assert!(dir.path().join("in/deep/c.txt").is_file());
    assert!(!dir.path().join("../outside").exists());
}

#[test]
fn bad_bucket_configs_are_refused_with_a_sentence() {
    let cases = [
        (
            "url = \"file:///no/such/folder/anywhere\"",
            "does not exist",
        ),
        ("url = \"file://relative\"", "absolute path"),
        ("url = \"ftp://x\"", "file:///<folder> or s3://<bucket>"),
        ("url = \"s3://a/b\"", "names one bucket"),
        (
            "url = \"s3://a\"\naccess_key_id = \"k\"",
            "access_key_id and secret_access_key go together",
        ),
    ];
    for (body, want) in cases {
        let cfg = config(&format!("[integrations.buckets.media]\n{body}\n"));
        let err = statecraft_integrations::build(&cfg, None)
            .err()
            .unwrap_or_else(|| panic!("{body}: accepted"));
        let text = err.to_string();
        assert!(text.starts_with("integrations.buckets.media: "), "{text}");
        assert!(text.contains(want), "{body}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_compatible_bucket_speaks_the_s3_api() {
    let moto = Moto::start();
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    // The bucket must exist on the server (CreateBucket is an admin's job).
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/lake-bucket"))
        .send()
        .await
        .expect("create bucket");
    assert!(created.status().is_success(), "{}", created.status());
    let cfg = config(&format!(
        "[integrations.buckets.media]\nurl = \"s3://lake-bucket\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n"
    ));
    let reg = common::registry(&cfg, None);
    exercise(&reg).await;
    // The content type given on put is kept by a real S3 store.
    let got = succeeded(
        run(
            &reg,
            &sdk("headObject"),
            json!({"Bucket": "media", "Key": "in/a.json"}),
        )
        .await,
    );
    assert_eq!(got["ContentType"], "application/json");
}

/// A distributed Map reads a JSONL file from a bucket, processes every
/// line, and a task writes the results back: the whole flow inside a real
/// runtime (SQLite in a temporary folder).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_reads_items_from_a_bucket_and_writes_results_back() {
    let data = tempfile::tempdir().expect("tempdir");
    let bucket = tempfile::tempdir().expect("tempdir");
    let lines: Vec<String> = (1..=50)
        .map(|i| json!({"id": i, "size": i * 10}).to_string())
        .collect();
    std::fs::create_dir_all(bucket.path().join("batches")).expect("mkdir");
    std::fs::write(bucket.path().join("batches/items.jsonl"), lines.join("\n"))
        .expect("write items");
    let cfg = config(&format!(
        "[integrations.buckets.media]\nurl = \"file://{}\"\n",
        bucket.path().display()
    ));
    let mut options = Options::new(data.path());
    options.integrations = common::registry(&cfg, None);
    let rt = Runtime::open(options).await.expect("open runtime");
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:items".to_owned();
    let definition = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "media", "Key.$": "$.key"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Double", "States": {"Double": {"Type": "Pass",
                    "Parameters": {"id.$": "$.id", "doubled.$": "States.MathAdd($.size, $.size)"}, "End": true}}},
            "ResultPath": "$.results", "Next": "Write"},
        "Write": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "media", "Key": "results/doubled.json", "Body.$": "$.results"},
            "ResultPath": "$.written", "End": true}
    }});
    rt.store()
        .create_state_machine(
            "items".into(),
            MachineType::Standard,
            Revision {
                revision_id: "rev-items".into(),
                state_machine_arn: arn.clone(),
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
    let started = rt
        .start_execution(StartExecution {
            target_arn: arn,
            name: Some("run-1".into()),
            input: Some(json!({"key": "batches/items.jsonl"}).to_string()),
            trace_header: None,
        })
        .await
        .expect("start");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let e = rt
            .describe_execution(&started.execution_arn)
            .expect("describe");
        if e.state.status != ExecutionStatus::Running {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        done.state.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.state.error,
        done.state.cause
    );
    let written = std::fs::read_to_string(bucket.path().join("results/doubled.json"))
        .expect("the results were written to the bucket");
    let results: Value = serde_json::from_str(&written).expect("results are JSON");
    let results = results.as_array().expect("an array");
    assert_eq!(results.len(), 50);
    assert_eq!(results[0], json!({"id": 1, "doubled": 20}));
    assert_eq!(results[49], json!({"id": 50, "doubled": 1000}));
}
