//! HTTP tasks pass the execution's W3C trace context on in `traceparent`,
//! so the called service's spans join the workflow's trace; a traceparent
//! the task sets itself is kept.

mod common;

use common::{config, run, serve, succeeded, EXECUTION};
use serde_json::json;
use statecraft_telemetry::TraceContext;

const HTTP: &str = "arn:aws:states:::http:invoke";

#[tokio::test]
async fn http_tasks_send_the_execution_trace_context() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "GET"}),
        )
        .await,
    );
    let sent = out["ResponseBody"]["headers"]["traceparent"]
        .as_str()
        .unwrap_or_else(|| panic!("no traceparent in {out}"));
    let context = TraceContext::parse(sent).expect("a valid traceparent");
    // Span recording is off here: the parent is the execution's root span.
    assert_eq!(context, TraceContext::execution(EXECUTION));
    assert!(sent.ends_with("-01"), "sampled: {sent}");
}

#[tokio::test]
async fn a_traceparent_set_by_the_task_is_kept() {
    let svc = serve().await;
    let reg = common::registry(&config(""), None);
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let out = succeeded(
        run(
            &reg,
            HTTP,
            json!({"ApiEndpoint": svc.url("/echo"), "Method": "GET",
                   "Headers": {"TraceParent": own}}),
        )
        .await,
    );
    assert_eq!(out["ResponseBody"]["headers"]["traceparent"], own);
}
