//! Functions end to end: `lambda:invoke` and bare function ARNs resolved
//! through the config to local HTTP endpoints, with AWS's result shape and
//! error names.

mod common;

use common::{config, failed, run, serve, succeeded};
use serde_json::{json, Value};
use statecraft_runtime::TaskOutcome;

const INVOKE: &str = "arn:aws:states:::lambda:invoke";

fn functions(base: &str) -> statecraft_integrations::IntegrationsConfig {
    config(&format!(
        r#"
        [integrations.functions.echo]
        url = "{base}/fn/echo"
        [integrations.functions.handled]
        url = "{base}/fn/handled"
        [integrations.functions.error500]
        url = "{base}/fn/error500"
        [integrations.functions.crash]
        url = "{base}/fn/crash"
        "#
    ))
}

#[tokio::test]
async fn lambda_invoke_wraps_the_payload_like_aws() {
    let svc = serve().await;
    let reg = common::registry(&functions(&svc.url("")), None);
    let out = succeeded(
        run(
            &reg,
            INVOKE,
            json!({"FunctionName": "arn:aws:lambda:eu-west-1:111122223333:function:echo",
                   "Payload": {"image": "cat.png", "sizes": [64, 128]}}),
        )
        .await,
    );
    assert_eq!(
        out["Payload"],
        json!({"image": "cat.png", "sizes": [64, 128]})
    );
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    assert_eq!(
        out["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"],
        "application/json"
    );
    assert_eq!(
        out["SdkHttpMetadata"]["AllHttpHeaders"]["X-Amz-Executed-Version"],
        json!(["$LATEST"])
    );
    assert_eq!(
        out["SdkResponseMetadata"]["RequestId"],
        out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
    );
    let keys: Vec<&String> = out
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    let seen = svc
        .seen
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn payload_forms() {
    let svc = serve().await;
    let reg = common::registry(&functions(&svc.url("")), None);
    // A string payload is the payload's text (as AWS's SDK blob).
    let out = succeeded(
        run(
            &reg,
            INVOKE,
            json!({"FunctionName": "echo", "Payload": "\"just text\""}),
        )
        .await,
    );
    assert_eq!(out["Payload"], "just text");
    // No payload: an empty object.
    let out = succeeded(run(&reg, INVOKE, json!({"FunctionName": "echo:3"})).await);
    assert_eq!(out["Payload"], json!({}));
    assert_eq!(out["ExecutedVersion"], "3");
}

#[tokio::test]
async fn bare_function_arns_return_the_payload_itself() {
    let svc = serve().await;
    let reg = common::registry(&functions(&svc.url("")), None);
    let out = succeeded(
        run(
            &reg,
            "arn:aws:lambda:us-east-1:123456789012:function:echo",
            json!({"a": [1, 2], "b": null}),
        )
        .await,
    );
    assert_eq!(out, json!({"a": [1, 2], "b": null}));
}

#[tokio::test]
async fn handler_errors_become_asl_errors_with_the_payload_as_cause() {
    let svc = serve().await;
    let reg = common::registry(&functions(&svc.url("")), None);
    for resource in [
        INVOKE,
        "arn:aws:lambda:us-east-1:123456789012:function:handled",
    ] {
        let f = failed(run(&reg, resource, json!({"FunctionName": "handled"})).await);
        assert_eq!(f.error, "ImageTooLarge", "{resource}");
        let cause: Value = serde_json::from_str(&f.cause).unwrap_or(Value::Null);
        assert_eq!(
            cause,
            json!({"errorMessage": "the image is too large", "errorType": "ImageTooLarge",
                   "trace": ["at resize (index.js:3)"]})
        );
    }
    let f = failed(run(&reg, INVOKE, json!({"FunctionName": "error500"})).await);
    assert_eq!(f.error, "ValueError");
    assert_eq!(
        f.cause,
        r#"{"errorType":"ValueError","errorMessage":"bad value"}"#
    );

    let f = failed(run(&reg, INVOKE, json!({"FunctionName": "crash"})).await);
    assert_eq!(f.error, "Lambda.ServiceException");
    assert!(f.cause.contains("502"), "{}", f.cause);
}

#[tokio::test]
async fn unknown_functions_and_unreachable_endpoints() {
    let svc = serve().await;
    let mut cfg = functions(&svc.url(""));
    cfg.functions.insert(
        "gone".into(),
        serde_json::from_value(json!({"url": "http://127.0.0.1:9/fn"}))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let reg = common::registry(&cfg, None);
    let f = failed(
        run(
            &reg,
            INVOKE,
            json!({"FunctionName": "no_such_fn", "Payload": {}}),
        )
        .await,
    );
    assert_eq!(f.error, "Lambda.ResourceNotFoundException");
    assert!(
        f.cause.starts_with(
            "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:no_such_fn:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "
        ),
        "{}",
        f.cause
    );
    let f = failed(run(&reg, INVOKE, json!({"FunctionName": "gone"})).await);
    assert_eq!(f.error, "Lambda.SdkClientException");
    let f = failed(run(&reg, INVOKE, json!({"Payload": {}})).await);
    assert_eq!(f.error, "Statecraft.InvalidParameters");
}

#[tokio::test]
async fn wait_for_task_token_invokes_then_waits() {
    let svc = serve().await;
    let reg = common::registry(&functions(&svc.url("")), None);
    let out = run(
        &reg,
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "echo", "Payload": {"token": "T-1"}}),
    )
    .await;
    assert!(matches!(out, TaskOutcome::Submitted(_)), "{out:?}");
    let seen = svc
        .seen
        .last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    assert_eq!(seen["body"], r#"{"token":"T-1"}"#);
    // A failed invocation fails the task at once.
    let f = failed(
        run(
            &reg,
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "handled"}),
        )
        .await,
    );
    assert_eq!(f.error, "ImageTooLarge");
}
