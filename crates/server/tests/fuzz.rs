//! Bounded fuzzing (property tests over arbitrary input; no nightly
//! toolchain for cargo-fuzz): the request decoder of every API operation,
//! SigV4 parsing and verification, and the TOML config. Each must answer
//! arbitrary input with a value or an error, never a panic.
//!
//! The test command runs a short bounded run. A longer run:
//! `STATECRAFT_FUZZ_CASES=20000 cargo test -p statecraft-server --test fuzz --release`
//! (docs/security.md). A crash found becomes a case in `regressions` below.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use statecraft_server::auth::sigv4;
use statecraft_server::service::OPERATIONS;

/// Cases per property: small by default, raised by `STATECRAFT_FUZZ_CASES`.
fn cases(default: u32) -> u32 {
    std::env::var("STATECRAFT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Member names the API uses, so that generated objects reach past the
/// "unknown member" checks into each operation's validation.
const MEMBERS: &[&str] = &[
    "stateMachineArn",
    "executionArn",
    "name",
    "definition",
    "roleArn",
    "type",
    "input",
    "maxResults",
    "nextToken",
    "statusFilter",
    "taskToken",
    "output",
    "error",
    "cause",
    "activityArn",
    "workerName",
    "resourceArn",
    "tags",
    "tagKeys",
    "loggingConfiguration",
    "tracingConfiguration",
    "publish",
    "versionDescription",
    "revisionId",
    "description",
    "routingConfiguration",
    "stateMachineAliasArn",
    "stateMachineVersionArn",
    "traceHeader",
    "includeExecutionData",
    "reverseOrder",
    "redriveFilter",
    "clientToken",
    "inspectionLevel",
    "revealSecrets",
    "variables",
    "encryptionConfiguration",
    "mapRunArn",
    "severity",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        // Long strings: past every length limit of the model.
        (0usize..300_000).prop_map(|n| Value::String("x".repeat(n))),
        Just(json!(
            "arn:aws:states:us-east-1:123456789012:stateMachine:m"
        )),
        Just(json!(
            "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"
        )),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// An object with API member names, or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec((prop::sample::select(MEMBERS), json_value()), 0..5).prop_map(|kv| {
            let obj: serde_json::Map<String, Value> =
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            Value::Object(obj).to_string().into_bytes()
        }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_decodes_arbitrary_bodies() {
    let server = common::TestServer::start().await;
    let service = server.service.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        for op in OPERATIONS {
            runner(24)
                .run(&body(), |bytes| {
                    let service = service.clone();
                    // A long poll (GetActivityTask) may wait; an answer or a
                    // timeout are both fine, a panic is not.
                    let out = handle.block_on(async move {
                        tokio::time::timeout(
                            std::time::Duration::from_secs(5),
                            service.call(op, &bytes),
                        )
                        .await
                    });
                    if let Ok(Err(e)) = &out {
                        prop_assert!(!e.type_name().is_empty());
                    }
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{op}: {e}"));
        }
    })
    .await
    .expect("no operation panicked");
    server.stop().await;
}

fn header_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop::sample::select(vec![
        "authorization",
        "x-amz-date",
        "host",
        "x-amz-content-sha256",
        "content-type",
        "x-other",
    ]);
    let auth = prop_oneof![
        ".{0,200}",
        (".{0,20}", "[0-9a-f]{0,70}", "[a-z;-]{0,30}").prop_map(|(cred, sig, signed)| format!(
            "AWS4-HMAC-SHA256 Credential={cred}/20150830/us-east-1/states/aws4_request, SignedHeaders={signed}, Signature={sig}"
        )),
    ];
    prop::collection::vec((names, prop_oneof![auth, ".{0,40}"]), 0..8)
        .prop_map(|v| v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[test]
fn sigv4_parses_and_verifies_arbitrary_requests() {
    let strategy = (
        header_pairs(),
        ".{0,60}",
        ".{0,120}",
        prop::collection::vec(any::<u8>(), 0..64),
    );
    runner(2000)
        .run(&strategy, |(headers, path, query, body)| {
            let req = sigv4::Request {
                method: "POST",
                path: &path,
                query: &query,
                headers: &headers,
            };
            if let Ok(Some(sig)) = sigv4::parse(&req) {
                let expect = sigv4::Expect {
                    region: "us-east-1",
                    service: "states",
                    now: 1_440_938_160,
                };
                let _ = sigv4::verify(&req, &body, &sig, "secret", &expect);
                let _ = sigv4::canonical_request(&req, &sig, "UNSIGNED");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_config_file_reads_arbitrary_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    let keys = prop::sample::select(vec![
        "listen",
        "region",
        "auth",
        "tls",
        "limits",
        "integrations",
        "retention",
        "telemetry",
        "allowed_hosts",
        "[auth]",
        "[[auth.credentials]]",
        "[tls]",
        "[limits]",
        "access_key_id",
        "secret_access_key",
        "role",
        "session_hours",
        "cert",
        "key",
        "history_events",
    ]);
    let text = prop_oneof![
        ".{0,200}",
        prop::collection::vec((keys, ".{0,20}"), 0..10).prop_map(|kv| {
            kv.into_iter()
                .map(|(k, v)| {
                    if k.starts_with('[') {
                        format!("{k}\n")
                    } else {
                        format!("{k} = {v}\n")
                    }
                })
                .collect::<String>()
        }),
    ];
    runner(500)
        .run(&text, |text| {
            std::fs::write(&path, &text).expect("write");
            let args = statecraft_server::ServerArgs {
                config: Some(path.clone()),
                ..Default::default()
            };
            let _ = statecraft_server::Config::resolve(&args);
            let _ = statecraft_server::config::auth(&args, "us-east-1");
            let _ = statecraft_server::config::tls(&args);
            let _ = statecraft_server::config::limits(&args);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Inputs that once crashed something, and the limits that stop attacks
/// before they cost memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regressions() {
    let server = common::TestServer::start().await;
    // Nesting deeper than serde_json's recursion limit: an error, no
    // stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!("{{\"input\": {deep}}}");
    let err = server
        .service
        .call("StartExecution", body.as_bytes())
        .await
        .expect_err("too deep");
    assert_eq!(err.type_name(), "SerializationException");
    // A body over the limit: 413 before it is read whole.
    let big = "x".repeat(9 * 1024 * 1024);
    let (status, out) = common::raw_post(
        server.addr,
        Some("AWSStepFunctions.ListStateMachines"),
        &big,
    )
    .await;
    assert_eq!(status, 413, "{out}");
    server.stop().await;
}
