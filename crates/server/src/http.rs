//! The HTTP surface: `POST /` with `X-Amz-Target: AWSStepFunctions.<Op>`
//! (AWS JSON 1.0) and `GET /healthz`. With `[[auth.credentials]]`
//! configured, every API request must carry a valid AWS Signature Version 4
//! by a configured key (or come from a signed-in console session with its
//! CSRF token) and its role must allow the operation ([`crate::auth`]);
//! with none, requests are answered whatever their SigV4 headers. Always
//! only for the `Host` names [`crate::guard`] allows (with the `sync-`
//! prefix the SDKs add for StartSyncExecution and TestState), and
//! state-changing requests only from the server's own origin.
//!
//! Other `GET` paths belong to the console (merged in from `statecraft-console`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Request, State};
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

/// The request body limit for a payload limit of `payload_bytes`
/// (`[limits] payload_bytes`): room for the payload escaped into a JSON
/// string (quotes double) and the rest of the request, never below
/// [`BODY_LIMIT`].
pub fn body_limit(payload_bytes: usize) -> usize {
    BODY_LIMIT.max(payload_bytes.saturating_mul(2).saturating_add(1 << 20))
}
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
    router_secured(service, streams, hosts, crate::signin::Gate::open())
}

/// [`router_with`], checking API requests and console sessions as `gate`
/// says (see [`crate::auth`]).
pub fn router_secured(
    service: Arc<Service>,
    streams: statecraft_console::live::Streams,
    hosts: Arc<HostPolicy>,
    gate: crate::signin::Gate,
) -> Router {
    // The console's overview and live streams read the runtime's read model.
    let console_data = statecraft_console::data_router_with_pollers(
        service.read.clone(),
        streams,
        Arc::new(ActivityPollers(service.activities.clone())),
    );
    let schedules = crate::schedules::router(service.clone(), gate.clone());
    let triggers = crate::triggers::router(service.clone());
    Router::new()
        .route("/", post(api))
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::observability::metrics))
        // The flow-limit queues, for the console's Activities page.
        .route("/console/api/queues", get(crate::flow::queues_route))
        .layer(DefaultBodyLimit::max(body_limit(
            service.runtime.limits().payload_bytes,
        )))
        .layer(Extension(gate.clone()))
        .with_state(service)
        // The console: static pages (GET /, GET /console/…) that talk to the API above.
        .merge(statecraft_console::router())
        .merge(console_data)
        .merge(crate::signin::router(gate.clone()))
        // EventBridge Scheduler's REST routes, behind the same authentication.
        .merge(schedules)
        // Webhook triggers: their own HMAC signature, no SigV4.
        .merge(triggers)
        // Sessions for the console's data routes and streams.
        .layer(axum::middleware::from_fn_with_state(
            gate,
            crate::signin::gate,
        ))
        // Outermost: a foreign Host or origin reaches no route at all.
        .layer(axum::middleware::from_fn_with_state(
            hosts,
            crate::guard::guard,
        ))
        .layer(axum::middleware::from_fn(crate::signin::security_headers))
}

/// A worker-only node's routes: `/healthz` and `/metrics`, nothing else
/// (no API, no console), behind the same Host check.
pub fn router_worker(service: Arc<Service>, hosts: Arc<HostPolicy>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::observability::metrics))
        .with_state(service)
        .layer(axum::middleware::from_fn_with_state(
            hosts,
            crate::guard::guard,
        ))
}

/// `ok` while the store serves reads (a cheap read of every table), else
/// 503 with the store's error: a load balancer or orchestrator then stops
/// sending work to a server whose every read would fail.
async fn healthz(State(service): State<Arc<Service>>) -> Response {
    let read = service.read.clone();
    match tokio::task::spawn_blocking(move || read.health()).await {
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
    respond_text(status, body.to_string(), error_type)
}

/// A fresh request id in UUID form: a random base drawn once per process
/// and a counter, so that no response pays for a system call to the
/// random source (`Uuid::new_v4` makes one each time) and no two ids of a
/// process are equal.
fn request_id() -> uuid::Uuid {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static BASE: OnceLock<u128> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| uuid::Uuid::new_v4().as_u128());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // The counter replaces the base's low 48 bits, clear of the version
    // and variant bits the builder sets.
    let bits = (base & !0xFFFF_FFFF_FFFF) | u128::from(n & 0xFFFF_FFFF_FFFF);
    uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
}

/// A response whose JSON body is already text.
fn respond_text(status: u16, body: String, error_type: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if let Ok(id) =
        HeaderValue::from_bytes(request_id().hyphenated().encode_lower(&mut id).as_bytes())
    {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-errortype", t);
    }
    (status, headers, body).into_response()
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

/// The operation's name for the role table: the target after its
/// `AWSStepFunctions.` or `Statecraft.` prefix.
fn operation_name(target: &str) -> &str {
    target
        .strip_prefix(TARGET_PREFIX)
        .or_else(|| target.strip_prefix("Statecraft."))
        .unwrap_or(target)
}

fn auth_response(f: &crate::auth::Failure) -> Response {
    statecraft_telemetry::metrics::observe_refused("auth");
    // For whoever watches for probing: what was refused and why (never a
    // secret; the access key id is in an AccessDeniedException's text).
    tracing::info!(error = f.type_name(), "API request refused: {f}");
    respond(
        f.status(),
        &serde_json::json!({ "__type": f.type_name(), "message": f.to_string() }),
        Some(f.type_name()),
    )
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A request's headers as name/value text, for the SigV4 check.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// How an API request was authenticated, before its body is read.
enum Caller {
    /// No credentials configured.
    Anyone,
    /// A SigV4 signature by a known key, to verify over the body.
    Signed(crate::auth::sigv4::Signature, crate::auth::Principal),
    /// A console session with its CSRF token.
    Console(crate::auth::Principal),
}

/// Who calls, from the headers alone: an unsigned request, an unknown key
/// or a malformed signature is refused before any of the body is read.
fn identify(
    gate: &crate::signin::Gate,
    headers: &HeaderMap,
    signed: &crate::auth::sigv4::Request<'_>,
) -> Result<Caller, crate::auth::Failure> {
    let Some(auth) = &gate.auth else {
        return Ok(Caller::Anyone);
    };
    match auth.identify(signed) {
        Ok((sig, principal)) => Ok(Caller::Signed(sig, principal)),
        Err(crate::auth::Failure::Missing) => match crate::signin::session_of(auth, headers) {
            Some(s) if crate::signin::csrf_ok(&s, headers) => Ok(Caller::Console(s.principal)),
            _ => Err(crate::auth::Failure::Missing),
        },
        Err(e) => Err(e),
    }
}

async fn api(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Statecraft's own operations keep their prefix: the service routes by it.
    let statecraft = crate::ops::operators::TARGET_PREFIX;
    let Some(op) = target
        .strip_prefix(TARGET_PREFIX)
        .or_else(|| target.starts_with(statecraft).then_some(target))
    else {
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
    // The header text is only needed to check a signature: without
    // credentials configured no request pays for copying it.
    let pairs = if gate.auth.is_some() {
        header_pairs(&headers)
    } else {
        Vec::new()
    };
    let signed = crate::auth::sigv4::Request {
        method: &method,
        path: &path,
        query: &query,
        headers: &pairs,
    };
    let caller = match identify(&gate, &headers, &signed) {
        Ok(c) => c,
        Err(f) => return auth_response(&f),
    };
    let body = match Bytes::from_request(request, &()).await {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return respond(
                413,
                &serde_json::json!({
                    "__type": TOO_LARGE,
                    "message": format!(
                        "Request body too large: the limit is {} bytes",
                        body_limit(service.runtime.limits().payload_bytes)
                    ),
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
    let principal = match caller {
        Caller::Anyone => None,
        Caller::Console(p) => Some(p),
        Caller::Signed(sig, p) => {
            if let Some(auth) = &gate.auth {
                if let Err(f) = auth.verify(&signed, &body, &sig, now_secs()) {
                    return auth_response(&f);
                }
            }
            Some(p)
        }
    };
    if let Some(p) = &principal {
        if let Err(f) = crate::auth::authorize(p, operation_name(target)) {
            return auth_response(&f);
        }
    }
    let started = std::time::Instant::now();
    let who = principal.as_ref().map(|p| p.name.as_str());
    let result = service.reply_by(op, &body, who).await;
    crate::observability::observe_api(op, result.as_ref().err(), started.elapsed());
    match result {
        Ok(out) => respond_text(200, out.into_text(), None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| request_id()).collect();
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.get_version(), Some(uuid::Version::Random), "{id}");
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
    }
}
