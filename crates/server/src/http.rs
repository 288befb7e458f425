//! The HTTP surface: `POST /` with `X-Amz-Target: AWSStepFunctions.<Op>`
//! (AWS JSON 1.0) and `GET /healthz`. Requests are answered whatever their
//! `Host` (the SDKs prefix `sync-` to it for StartSyncExecution and
//! TestState) and whatever their SigV4 headers (this is a local server:
//! signatures are accepted unchecked).
//!
//! Other `GET` paths belong to the console (merged in from `statecraft-console`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::protocol::ApiError;
use crate::service::Service;

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The `X-Amz-Target` prefix of the service.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Request bodies up to this size are read: a definition may be 1 MiB and
/// grows when escaped into a JSON string.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The router of the API.
pub fn router(service: Arc<Service>) -> Router {
    router_with_streams(service, statecraft_console::live::Streams::new())
}

/// The router of the API, the console's live streams ended by `streams`
/// (closed at shutdown, so an open console does not hold the server up).
pub fn router_with_streams(
    service: Arc<Service>,
    streams: statecraft_console::live::Streams,
) -> Router {
    // The console's overview and live streams read the store directly.
    let console_data = statecraft_console::data_router_with_pollers(
        service.store.clone(),
        streams,
        Arc::new(ActivityPollers(service.activities.clone())),
    );
    Router::new()
        .route("/", post(api))
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::observability::metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(service)
        // The console: static pages (GET /, GET /console/…) that talk to the API above.
        .merge(statecraft_console::router())
        .merge(console_data)
}

async fn healthz() -> &'static str {
    "ok\n"
}

fn respond(status: u16, body: &serde_json::Value, error_type: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-errortype", t);
    }
    (status, headers, body.to_string()).into_response()
}

fn error_response(e: &ApiError) -> Response {
    respond(e.status(), &e.body(), Some(e.type_name()))
}

async fn api(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
        return error_response(&ApiError::UnknownOperationException(format!(
            "Unknown operation: missing or foreign X-Amz-Target '{target}'"
        )));
    };
    let started = std::time::Instant::now();
    let result = service.call(op, &body).await;
    crate::observability::observe_api(op, &result, started.elapsed());
    match result {
        Ok(out) => respond(200, &out, None),
        Err(e) => error_response(&e),
    }
}

/// The open GetActivityTask polls, as the console's Activities page shows them.
struct ActivityPollers(Arc<statecraft_runtime::activity::ActivityTasks>);

impl statecraft_console::live::Pollers for ActivityPollers {
    fn pollers(&self, activity_arn: &str) -> Vec<statecraft_console::live::PollerBody> {
        self.0
            .pollers(activity_arn)
            .into_iter()
            .map(|p| statecraft_console::live::PollerBody {
                name: p.worker_name,
                since_ms: p.since_ms,
            })
            .collect()
    }
}
