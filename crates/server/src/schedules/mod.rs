//! Schedules: EventBridge Scheduler's API (REST-JSON: `POST/GET/PUT/DELETE
//! /schedules/{Name}`, `GET /schedules`, `/schedule-groups…`) so that
//! boto3's `scheduler` client and `aws scheduler` work unchanged, and the
//! [`runner`] that starts each due execution once.
//!
//! Schedules are kept in the store's own tables for schedules and schedule
//! groups ([`Catalog`]'s schedules), one row per schedule with
//! its JSON document; both store backends hold them (older databases had
//! them in the tags table, which a migration moved); see ARCHITECTURE.md.
//!
//! - [`expression`]: `rate(…)`, `cron(…)`, `at(…)` and their due times.
//! - [`runner`]: the loop that starts due executions with deterministic names.

pub mod expression;
pub mod runner;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use statecraft_runtime::catalog::Catalog;
use statecraft_runtime::model::StoredSchedule;

use crate::service::Service;

/// The schedule group every account has.
pub const DEFAULT_GROUP: &str = "default";
/// The SigV4 service name EventBridge Scheduler's clients sign for.
pub const SIGNING_SERVICE: &str = "scheduler";
/// Requests are small JSON documents; an Input may be up to 256 KiB.
const BODY_LIMIT: usize = 1024 * 1024;

/// An EventBridge Scheduler error: its name, HTTP status and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct SchedulerError {
    pub kind: &'static str,
    pub status: u16,
    pub message: String,
}

impl SchedulerError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self {
            kind: "ValidationException",
            status: 400,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: "ResourceNotFoundException",
            status: 404,
            message: message.into(),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            kind: "ConflictException",
            status: 409,
            message: message.into(),
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self {
            kind: "InternalServerException",
            status: 500,
            message: format!("internal error: {e}"),
        }
    }
}

impl IntoResponse for SchedulerError {
    fn into_response(self) -> Response {
        let mut r = json_response(
            self.status,
            &json!({ "Message": self.message, "message": self.message }),
        );
        if let Ok(v) = HeaderValue::from_str(self.kind) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    (status, headers, body.to_string()).into_response()
}

/// `FlexibleTimeWindow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlexibleTimeWindow {
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_window_in_minutes: Option<u32>,
}

/// A schedule as stored (dates in epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Schedule {
    pub name: String,
    pub group_name: String,
    pub arn: String,
    pub schedule_expression: String,
    pub schedule_expression_timezone: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub state: String,
    pub flexible_time_window: FlexibleTimeWindow,
    /// The `Target` as given (Arn, RoleArn, Input, RetryPolicy…).
    pub target: Value,
    pub action_after_completion: String,
    pub kms_key_arn: Option<String>,
    pub creation_date: i64,
    pub last_modification_date: i64,
}

fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

impl Schedule {
    /// GetSchedule's output, plus `NextInvocation` (a Statecraft addition
    /// that AWS's SDKs ignore; the console shows it).
    pub fn to_output(&self, now_ms: i64) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), json!(self.name));
        m.insert("GroupName".into(), json!(self.group_name));
        m.insert("Arn".into(), json!(self.arn));
        m.insert("ScheduleExpression".into(), json!(self.schedule_expression));
        m.insert(
            "ScheduleExpressionTimezone".into(),
            json!(self
                .schedule_expression_timezone
                .clone()
                .unwrap_or_else(|| "UTC".into())),
        );
        if let Some(d) = &self.description {
            m.insert("Description".into(), json!(d));
        }
        if let Some(d) = self.start_date {
            m.insert("StartDate".into(), secs(d));
        }
        if let Some(d) = self.end_date {
            m.insert("EndDate".into(), secs(d));
        }
        if let Some(k) = &self.kms_key_arn {
            m.insert("KmsKeyArn".into(), json!(k));
        }
        m.insert("State".into(), json!(self.state));
        m.insert(
            "FlexibleTimeWindow".into(),
            serde_json::to_value(&self.flexible_time_window).unwrap_or(Value::Null),
        );
        m.insert("Target".into(), self.target.clone());
        m.insert(
            "ActionAfterCompletion".into(),
            json!(self.action_after_completion),
        );
        m.insert("CreationDate".into(), secs(self.creation_date));
        m.insert(
            "LastModificationDate".into(),
            secs(self.last_modification_date),
        );
        if let Some(next) = runner::next_invocation(self, now_ms) {
            m.insert("NextInvocation".into(), secs(next));
        }
        Value::Object(m)
    }

    fn summary(&self) -> Value {
        json!({
            "Name": self.name,
            "GroupName": self.group_name,
            "Arn": self.arn,
            "State": self.state,
            "CreationDate": secs(self.creation_date),
            "LastModificationDate": secs(self.last_modification_date),
            "Target": { "Arn": self.target_arn() },
        })
    }

    pub fn target_arn(&self) -> &str {
        self.target.get("Arn").and_then(Value::as_str).unwrap_or("")
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Checks a schedule or group name as the model's pattern says.
fn check_name(what: &str, name: &str) -> Result<(), SchedulerError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SchedulerError::validation(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must have length between 1 and 64 and match pattern [0-9a-zA-Z-_.]+"
        )))
    }
}

/// The store of schedules and groups (see the module doc).
#[derive(Clone)]
pub struct Schedules {
    catalog: Catalog,
}

impl Schedules {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }

    /// The group names: `default` and those created.
    pub fn groups(&self) -> Result<Vec<(String, i64)>, SchedulerError> {
        let mut out = vec![(DEFAULT_GROUP.to_owned(), 0)];
        out.extend(
            self.catalog
                .list_schedule_groups()
                .map_err(SchedulerError::internal)?,
        );
        Ok(out)
    }

    fn group_exists(&self, group: &str) -> Result<bool, SchedulerError> {
        Ok(self.groups()?.iter().any(|(g, _)| g == group))
    }

    fn read(stored: StoredSchedule) -> Option<Schedule> {
        match serde_json::from_str::<Schedule>(&stored.document) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(group = %stored.group, name = %stored.name, error = %e, "a stored schedule cannot be read; it is skipped");
                None
            }
        }
    }

    /// The schedules of `group`, by name.
    pub fn list(&self, group: &str) -> Result<Vec<Schedule>, SchedulerError> {
        Ok(self
            .catalog
            .list_schedules(Some(group))
            .map_err(SchedulerError::internal)?
            .into_iter()
            .filter_map(Schedules::read)
            .collect())
    }

    /// Every schedule of every group.
    pub fn all(&self) -> Result<Vec<Schedule>, SchedulerError> {
        Ok(self
            .catalog
            .list_schedules(None)
            .map_err(SchedulerError::internal)?
            .into_iter()
            .filter_map(Schedules::read)
            .collect())
    }

    pub fn get(&self, group: &str, name: &str) -> Result<Option<Schedule>, SchedulerError> {
        Ok(self
            .catalog
            .get_schedule(group, name)
            .map_err(SchedulerError::internal)?
            .and_then(Schedules::read))
    }

    pub async fn put(&self, s: &Schedule) -> Result<(), SchedulerError> {
        let document = serde_json::to_string(s).map_err(SchedulerError::internal)?;
        self.catalog
            .put_schedule(StoredSchedule {
                group: s.group_name.clone(),
                name: s.name.clone(),
                document,
            })
            .await
            .map_err(SchedulerError::internal)
    }

    pub async fn delete(&self, group: &str, name: &str) -> Result<(), SchedulerError> {
        self.catalog
            .delete_schedule(group, name)
            .await
            .map(|_| ())
            .map_err(SchedulerError::internal)
    }
}

/// The routes, answered only for callers `gate` lets in (the same
/// authentication as the Step Functions API).
pub fn router(service: Arc<Service>, gate: crate::signin::Gate) -> Router {
    Router::new()
        .route("/schedules", get(list_schedules))
        .route(
            "/schedules/{name}",
            get(get_schedule)
                .post(create_schedule)
                .put(update_schedule)
                .delete(delete_schedule),
        )
        .route("/schedule-groups", get(list_groups))
        .route(
            "/schedule-groups/{name}",
            get(get_group).post(create_group).delete(delete_group),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(Extension(gate))
        .with_state(service)
}

/// Authenticates the request as the API does and reads its body.
async fn admit(
    gate: &crate::signin::Gate,
    request: Request,
    operation: &str,
) -> Result<(Bytes, String), Response> {
    let headers = request.headers().clone();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let mut principal = None;
    let mut signature = None;
    if let Some(auth) = &gate.auth {
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let signed = crate::auth::sigv4::Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &pairs,
        };
        match auth.identify(&signed) {
            Ok((sig, p)) => {
                signature = Some((sig, pairs.clone()));
                principal = Some(p);
            }
            Err(crate::auth::Failure::Missing) => match crate::signin::session_of(auth, &headers) {
                Some(s) if crate::signin::csrf_ok(&s, &headers) => principal = Some(s.principal),
                _ => return Err(auth_failure(&crate::auth::Failure::Missing)),
            },
            Err(f) => return Err(auth_failure(&f)),
        }
    }
    let body = Bytes::from_request(request, &()).await.map_err(|r| {
        SchedulerError::validation(format!(
            "The request body could not be read: {}",
            r.body_text()
        ))
        .into_response()
    })?;
    if let (Some(auth), Some((sig, pairs))) = (&gate.auth, &signature) {
        let signed = crate::auth::sigv4::Request {
            method: &method,
            path: &path,
            query: &query,
            headers: pairs,
        };
        auth.verify_for(
            SIGNING_SERVICE,
            &signed,
            &body,
            sig,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|f| auth_failure(&f))?;
    }
    if let Some(p) = &principal {
        crate::auth::authorize(p, operation).map_err(|f| auth_failure(&f))?;
    }
    Ok((body, query))
}

fn auth_failure(f: &crate::auth::Failure) -> Response {
    statecraft_telemetry::metrics::observe_refused("auth");
    let mut r = json_response(f.status(), &json!({ "Message": f.to_string() }));
    if let Ok(v) = HeaderValue::from_str(f.type_name()) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

/// The query string's parameters, percent-decoded.
fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn body_json(body: &[u8]) -> Result<Map<String, Value>, SchedulerError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SchedulerError::validation(
            "The request body must be a JSON object",
        )),
    }
}

type Reply = Result<Response, Response>;

fn reply(r: Result<Value, SchedulerError>) -> Response {
    match r {
        Ok(v) => json_response(200, &v),
        Err(e) => e.into_response(),
    }
}

async fn create_schedule(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    let (body, _) = admit(&gate, request, "CreateSchedule").await?;
    Ok(reply(write_schedule(&service, &name, &body, false).await))
}

async fn update_schedule(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    let (body, _) = admit(&gate, request, "UpdateSchedule").await?;
    Ok(reply(write_schedule(&service, &name, &body, true).await))
}

fn opt_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, SchedulerError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SchedulerError::validation(format!(
            "{key} must be a string"
        ))),
    }
}

fn opt_date(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, SchedulerError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|s| Some((s * 1000.0).round() as i64))
            .ok_or_else(|| SchedulerError::validation(format!("{key} must be a timestamp"))),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.timestamp_millis()))
            .map_err(|_| {
                SchedulerError::validation(format!(
                    "{key} must be a timestamp (epoch seconds or ISO 8601), not '{s}'"
                ))
            }),
        Some(_) => Err(SchedulerError::validation(format!(
            "{key} must be a timestamp"
        ))),
    }
}

/// Checks the target: a state machine (or version/alias) that exists, an
/// Input that is JSON.
async fn check_target(service: &Service, target: &Value) -> Result<(), SchedulerError> {
    let Some(t) = target.as_object() else {
        return Err(SchedulerError::validation(
            "1 validation error detected: Value at 'target' failed to satisfy constraint: Member must not be null",
        ));
    };
    let Some(arn) = t.get("Arn").and_then(Value::as_str) else {
        return Err(SchedulerError::validation(
            "1 validation error detected: Value at 'target.arn' failed to satisfy constraint: Member must not be null",
        ));
    };
    if t.get("RoleArn").and_then(Value::as_str).is_none() {
        return Err(SchedulerError::validation(
            "1 validation error detected: Value at 'target.roleArn' failed to satisfy constraint: Member must not be null",
        ));
    }
    if let Some(input) = t.get("Input") {
        let ok = input
            .as_str()
            .is_some_and(|s| serde_json::from_str::<Value>(s).is_ok());
        if !ok {
            return Err(SchedulerError::validation(
                "Invalid Target.Input: it must be a string holding a JSON document (the execution input)",
            ));
        }
    }
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[2] != "states" || parts[5] != "stateMachine" {
        return Err(SchedulerError::validation(format!(
            "Invalid Target.Arn '{arn}': Statecraft schedules start state machines; use a state machine, version or alias ARN (arn:aws:states:region:account:stateMachine:name[:version|alias])"
        )));
    }
    let alias = parts.len() == 8 && parts[7].parse::<u64>().is_err();
    let (op, body) = if alias {
        (
            "DescribeStateMachineAlias",
            json!({ "stateMachineAliasArn": arn }),
        )
    } else {
        ("DescribeStateMachine", json!({ "stateMachineArn": arn }))
    };
    match service.call(op, body.to_string().as_bytes()).await {
        Ok(_) => Ok(()),
        Err(e) if e.status() >= 500 => Err(SchedulerError::internal(e)),
        Err(e) => Err(SchedulerError::validation(format!(
            "Invalid Target.Arn '{arn}': {e}"
        ))),
    }
}

/// The schedule that a Create/UpdateSchedule request describes.
async fn schedule_from(
    service: &Service,
    name: &str,
    m: &Map<String, Value>,
    group: &str,
) -> Result<Schedule, SchedulerError> {
    let expression = opt_str(m, "ScheduleExpression")?.ok_or_else(|| {
        SchedulerError::validation(
            "1 validation error detected: Value at 'scheduleExpression' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let parsed =
        expression::parse(expression).map_err(|e| SchedulerError::validation(e.to_string()))?;
    let zone = opt_str(m, "ScheduleExpressionTimezone")?;
    expression::time_zone(zone).map_err(SchedulerError::validation)?;
    let window = m.get("FlexibleTimeWindow").ok_or_else(|| {
        SchedulerError::validation(
            "1 validation error detected: Value at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let window: FlexibleTimeWindow = serde_json::from_value(window.clone())
        .map_err(|e| SchedulerError::validation(format!("Invalid FlexibleTimeWindow: {e}")))?;
    match (window.mode.as_str(), window.maximum_window_in_minutes) {
        ("OFF", None) => {}
        ("OFF", Some(_)) => {
            return Err(SchedulerError::validation(
                "Invalid FlexibleTimeWindow: MaximumWindowInMinutes must not be set when Mode is OFF",
            ))
        }
        ("FLEXIBLE", Some(1..=1440)) => {}
        ("FLEXIBLE", _) => {
            return Err(SchedulerError::validation(
                "Invalid FlexibleTimeWindow: Mode FLEXIBLE needs MaximumWindowInMinutes between 1 and 1440",
            ))
        }
        (other, _) => {
            return Err(SchedulerError::validation(format!(
                "Invalid FlexibleTimeWindow.Mode '{other}': use OFF or FLEXIBLE"
            )))
        }
    }
    let target = m.get("Target").cloned().unwrap_or(Value::Null);
    check_target(service, &target).await?;
    let state = opt_str(m, "State")?.unwrap_or("ENABLED");
    if !matches!(state, "ENABLED" | "DISABLED") {
        return Err(SchedulerError::validation(format!(
            "Invalid State '{state}': use ENABLED or DISABLED"
        )));
    }
    let action = opt_str(m, "ActionAfterCompletion")?.unwrap_or("NONE");
    if !matches!(action, "NONE" | "DELETE") {
        return Err(SchedulerError::validation(format!(
            "Invalid ActionAfterCompletion '{action}': use NONE or DELETE"
        )));
    }
    let description = opt_str(m, "Description")?;
    if description.is_some_and(|d| d.len() > 512) {
        return Err(SchedulerError::validation(
            "Invalid Description: at most 512 characters",
        ));
    }
    let start = opt_date(m, "StartDate")?;
    let end = opt_date(m, "EndDate")?;
    if parsed.is_one_time() && (start.is_some() || end.is_some()) {
        return Err(SchedulerError::validation(
            "StartDate and EndDate apply to recurring schedules (rate or cron), not to at() schedules",
        ));
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(SchedulerError::validation(
                "The EndDate you specify must be after the StartDate",
            ));
        }
    }
    if let Some(e) = end {
        if e <= now_ms() {
            return Err(SchedulerError::validation(
                "The EndDate you specify cannot be earlier than the current time",
            ));
        }
    }
    let now = now_ms();
    Ok(Schedule {
        name: name.to_owned(),
        group_name: group.to_owned(),
        arn: format!(
            "arn:aws:scheduler:{}:{}:schedule/{group}/{name}",
            service.scope.region, service.scope.account
        ),
        schedule_expression: expression.to_owned(),
        schedule_expression_timezone: zone.map(str::to_owned),
        description: description.map(str::to_owned),
        start_date: start,
        end_date: end,
        state: state.to_owned(),
        flexible_time_window: window,
        target,
        action_after_completion: action.to_owned(),
        kms_key_arn: opt_str(m, "KmsKeyArn")?.map(str::to_owned),
        creation_date: now,
        last_modification_date: now,
    })
}

async fn write_schedule(
    service: &Service,
    name: &str,
    body: &[u8],
    update: bool,
) -> Result<Value, SchedulerError> {
    check_name("name", name)?;
    let m = body_json(body)?;
    let group = opt_str(&m, "GroupName")?
        .unwrap_or(DEFAULT_GROUP)
        .to_owned();
    check_name("groupName", &group)?;
    let schedules = Schedules::new(service.catalog.clone());
    if !schedules.group_exists(&group)? {
        return Err(SchedulerError::not_found(format!(
            "Schedule group {group} does not exist."
        )));
    }
    let existing = schedules.get(&group, name)?;
    let mut schedule = schedule_from(service, name, &m, &group).await?;
    match (update, existing) {
        (false, Some(_)) => {
            return Err(SchedulerError::conflict(format!(
                "Schedule {name} already exists."
            )))
        }
        (true, None) => {
            return Err(SchedulerError::not_found(format!(
                "Schedule {name} does not exist."
            )))
        }
        (true, Some(old)) => schedule.creation_date = old.creation_date,
        (false, None) => {}
    }
    schedules.put(&schedule).await?;
    Ok(json!({ "ScheduleArn": schedule.arn }))
}

fn group_param(params: &[(String, String)], key: &str) -> Result<String, SchedulerError> {
    let group = param(params, key).unwrap_or(DEFAULT_GROUP).to_owned();
    check_name("groupName", &group)?;
    Ok(group)
}

async fn get_schedule(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    let (_, query) = admit(&gate, request, "GetSchedule").await?;
    let r = (|| {
        let group = group_param(&query_params(&query), "groupName")?;
        check_name("name", &name)?;
        Schedules::new(service.catalog.clone())
            .get(&group, &name)?
            .map(|s| s.to_output(now_ms()))
            .ok_or_else(|| SchedulerError::not_found(format!("Schedule {name} does not exist.")))
    })();
    Ok(reply(r))
}

async fn delete_schedule(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    let (_, query) = admit(&gate, request, "DeleteSchedule").await?;
    let r = async {
        let group = group_param(&query_params(&query), "groupName")?;
        check_name("name", &name)?;
        let schedules = Schedules::new(service.catalog.clone());
        if schedules.get(&group, &name)?.is_none() {
            return Err(SchedulerError::not_found(format!(
                "Schedule {name} does not exist."
            )));
        }
        schedules.delete(&group, &name).await?;
        Ok(json!({}))
    }
    .await;
    Ok(reply(r))
}

/// Pages of ListSchedules/ListScheduleGroups: the token is the position of
/// the next item.
fn page<T>(
    items: Vec<T>,
    params: &[(String, String)],
) -> Result<(Vec<T>, Option<String>), SchedulerError> {
    let max = match param(params, "MaxResults") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                SchedulerError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
                ))
            })?,
    };
    let from = match param(params, "NextToken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| SchedulerError::validation("Invalid NextToken"))?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(from).take(max).collect();
    let next = (from + out.len() < total).then(|| (from + out.len()).to_string());
    Ok((out, next))
}

async fn list_schedules(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    request: Request,
) -> Reply {
    let (_, query) = admit(&gate, request, "ListSchedules").await?;
    let r = (|| {
        let params = query_params(&query);
        let schedules = Schedules::new(service.catalog.clone());
        let mut all = match param(&params, "ScheduleGroup") {
            Some(g) => {
                check_name("groupName", g)?;
                if !schedules.group_exists(g)? {
                    return Err(SchedulerError::not_found(format!(
                        "Schedule group {g} does not exist."
                    )));
                }
                schedules.list(g)?
            }
            None => schedules.all()?,
        };
        if let Some(prefix) = param(&params, "NamePrefix") {
            all.retain(|s| s.name.starts_with(prefix));
        }
        if let Some(state) = param(&params, "State") {
            all.retain(|s| s.state == state);
        }
        let (items, next) = page(all, &params)?;
        let mut out =
            json!({ "Schedules": items.iter().map(Schedule::summary).collect::<Vec<_>>() });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    })();
    Ok(reply(r))
}

fn group_arn(service: &Service, name: &str) -> String {
    format!(
        "arn:aws:scheduler:{}:{}:schedule-group/{name}",
        service.scope.region, service.scope.account
    )
}

fn group_body(service: &Service, name: &str, created: i64) -> Value {
    json!({
        "Name": name,
        "Arn": group_arn(service, name),
        "State": "ACTIVE",
        "CreationDate": secs(created),
        "LastModificationDate": secs(created),
    })
}

async fn list_groups(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    request: Request,
) -> Reply {
    let (_, query) = admit(&gate, request, "ListScheduleGroups").await?;
    let r = (|| {
        let params = query_params(&query);
        let mut groups = Schedules::new(service.catalog.clone()).groups()?;
        if let Some(prefix) = param(&params, "NamePrefix") {
            groups.retain(|(g, _)| g.starts_with(prefix));
        }
        let (items, next) = page(groups, &params)?;
        let mut out = json!({
            "ScheduleGroups": items.iter().map(|(g, c)| group_body(&service, g, *c)).collect::<Vec<_>>()
        });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    })();
    Ok(reply(r))
}

async fn get_group(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    admit(&gate, request, "GetScheduleGroup").await?;
    let r = (|| {
        check_name("name", &name)?;
        Schedules::new(service.catalog.clone())
            .groups()?
            .into_iter()
            .find(|(g, _)| *g == name)
            .map(|(g, c)| group_body(&service, &g, c))
            .ok_or_else(|| {
                SchedulerError::not_found(format!("Schedule group {name} does not exist."))
            })
    })();
    Ok(reply(r))
}

async fn create_group(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    admit(&gate, request, "CreateScheduleGroup").await?;
    let r = async {
        check_name("name", &name)?;
        let schedules = Schedules::new(service.catalog.clone());
        if schedules.group_exists(&name)? {
            return Err(SchedulerError::conflict(format!(
                "Schedule group {name} already exists."
            )));
        }
        service
            .catalog
            .create_schedule_group(&name, now_ms())
            .await
            .map_err(SchedulerError::internal)?;
        Ok(json!({ "ScheduleGroupArn": group_arn(&service, &name) }))
    }
    .await;
    Ok(reply(r))
}

async fn delete_group(
    State(service): State<Arc<Service>>,
    Extension(gate): Extension<crate::signin::Gate>,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    admit(&gate, request, "DeleteScheduleGroup").await?;
    let r = async {
        check_name("name", &name)?;
        if name == DEFAULT_GROUP {
            return Err(SchedulerError::validation(
                "The default schedule group cannot be deleted.",
            ));
        }
        let schedules = Schedules::new(service.catalog.clone());
        if !schedules.group_exists(&name)? {
            return Err(SchedulerError::not_found(format!(
                "Schedule group {name} does not exist."
            )));
        }
        // AWS deletes the group's schedules with it (one transaction).
        service
            .catalog
            .delete_schedule_group(&name)
            .await
            .map_err(SchedulerError::internal)?;
        Ok(json!({}))
    }
    .await;
    Ok(reply(r))
}
