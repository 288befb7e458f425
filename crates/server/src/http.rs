//! The HTTP surface: `POST /` with `X-Amz-Target: AWSStepFunctions.<Op>`
//! (AWS JSON 1.0) and `GET /healthz`. Requests are answered whatever their
//! SigV4 headers (this is a local server: signatures are accepted
//! unchecked), but only for the `Host` names [`crate::guard`] allows (with
//! the `sync-` prefix the SDKs add for StartSyncExecution and TestState),
//! and state-changing requests only from the server's own origin.
//!
//! Other `GET` paths belong to the console (merged in from `statecraft-console`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::guard::HostPolicy;
use crate::protocol::ApiError;
use crate::service::Service;

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The `X-Amz-Target` prefix of the service.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// Request bodies up to this size are read: a definition may be 1 MiB and
/// grows when escaped into a JSON string.
const BODY_LIMIT: usize = 8 * 1024 * 1024;
/// The error of a larger body, with HTTP 413: the Step Functions model names
/// none, and this is the name AWS services give it (Lambda's, for one).
const TOO_LARGE: &str = "RequestEntityTooLargeException";

/// The router of the API, answering loopback and `localhost` names only.
pub fn router(service: Arc<Service>) -> Router {
    router_with_streams(service, statecraft_console::live::Streams::new())
}

/// [`router`], the console's live streams ended by `streams` (closed at
/// shutdown, so an open console does not hold the server up).
pub fn router_with_streams(
    service: Arc<Service>,
    streams: statecraft_console::live::Streams,
) -> Router {
    router_with(service, streams, Arc::new(HostPolicy::loopback()))
}

/// [`router_with_streams`], answering the `Host` names `hosts` allows.
pub fn router_with(
    service: Arc<Service>,
    streams: statecraft_console::live::Streams,
    hosts: Arc<HostPolicy>,
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
        // Outermost: a foreign Host or origin reaches no route at all.
        .layer(axum::middleware::from_fn_with_state(
            hosts,
            crate::guard::guard,
        ))
}

/// `ok` while the store serves reads (a cheap read of every table), else
/// 503 with the store's error: a load balancer or orchestrator then stops
/// sending work to a server whose every read would fail.
async fn healthz(State(service): State<Arc<Service>>) -> Response {
    let store = service.store.clone();
    match tokio::task::spawn_blocking(move || store.health()).await {
        Ok(Ok(())) => "ok\n".into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: the store cannot serve reads: {e}\n"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unhealthy: the store check did not finish\n",
        )
            .into_response(),
    }
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

/// Whether `Content-Type` names AWS JSON 1.0 (parameters such as a
/// charset aside).
fn is_aws_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

async fn api(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
        return error_response(&ApiError::UnknownOperationException(format!(
            "Unknown operation: missing or foreign X-Amz-Target '{target}'"
        )));
    };
    // AWS's front end finds no operation for a body in another format; it
    // answers UnknownOperationException, and so does this server.
    if !is_aws_json(&headers) {
        let given = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        return error_response(&ApiError::UnknownOperationException(format!(
            "Unknown operation: the Content-Type must be {CONTENT_TYPE} (AWS JSON 1.0), not '{given}'"
        )));
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return respond(
                413,
                &serde_json::json!({
                    "__type": TOO_LARGE,
                    "message": format!("Request body too large: the limit is {BODY_LIMIT} bytes"),
                }),
                Some(TOO_LARGE),
            );
        }
        Err(rejection) => {
            return error_response(&ApiError::SerializationException(format!(
                "The request body could not be read: {}",
                rejection.body_text()
            )));
        }
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
