//! The server's side of observability: the logging, retention and tracing
//! settings (flags, TOML, `OTEL_EXPORTER_OTLP_ENDPOINT`), the `GET /metrics`
//! handler, and API request metrics.
//!
//! The settings are resolved apart from [`crate::Config`] so that the
//! config struct the tests and embedders build stays as it is; they come
//! from the same flags and file (flags win over the file, the file over the
//! defaults).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use statecraft_telemetry::logging;

use crate::config::{Error, ServerArgs};
use crate::protocol::ApiError;
use crate::service::Service;
use statecraft_runtime::model::PageRequest;

/// Finished executions are kept this many days by default.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// The `[retention]` section of the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionFile {
    /// Days finished executions are kept; 0 keeps them forever.
    pub(crate) executions_days: Option<u32>,
}

/// The `[telemetry]` section of the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TelemetryFile {
    /// OTLP/HTTP base URL traces are exported to, e.g. `http://127.0.0.1:4318`.
    pub(crate) otlp_endpoint: Option<String>,
}

/// What the config file says about logging, retention and tracing.
#[derive(Debug, Default, Clone)]
pub(crate) struct FileSettings {
    pub(crate) log_format: Option<logging::Format>,
    pub(crate) log_level: Option<String>,
    pub(crate) retention: RetentionFile,
    pub(crate) telemetry: TelemetryFile,
}

/// The standard variable naming the OTLP endpoint, read when the config
/// file names none.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Logging, retention and tracing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observability {
    pub log_format: logging::Format,
    /// `--log-level` or `log_level`; `None` defers to `RUST_LOG`, then `info`.
    pub log_level: Option<String>,
    /// Days finished executions are kept; 0 keeps them forever.
    pub retention_days: u32,
    /// Where execution traces are exported (OTLP/HTTP); `None`: not at all.
    pub otlp_endpoint: Option<String>,
}

impl Observability {
    /// Resolves the settings: flags, then the config file, then defaults.
    pub fn resolve(args: &ServerArgs) -> Result<Observability, Error> {
        let file = match &args.config {
            Some(path) => crate::config::read_observability(path)?,
            None => FileSettings::default(),
        };
        let otlp_endpoint = file.telemetry.otlp_endpoint.or_else(|| {
            std::env::var(OTLP_ENDPOINT_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
        });
        Ok(Observability {
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log_level: args.log_level.clone().or(file.log_level),
            retention_days: file
                .retention
                .executions_days
                .unwrap_or(DEFAULT_RETENTION_DAYS),
            otlp_endpoint,
        })
    }

    /// The retention options, or `None` when executions are kept forever.
    pub fn retention(&self) -> Option<statecraft_runtime::retention::Options> {
        (self.retention_days > 0)
            .then(|| statecraft_runtime::retention::Options::days(self.retention_days))
    }
}

/// Activities whose queue depth is refreshed per scrape, at most.
const MAX_ACTIVITIES: usize = 1000;

/// `GET /metrics`: every metric in the OpenMetrics text format. Activity
/// queue depths are read from the store at scrape time (an index count per
/// activity), so they are exact whatever ends a task.
pub(crate) async fn metrics(
    State(service): State<Arc<Service>>,
    flow: Option<axum::Extension<crate::flow::FlowLimits>>,
) -> Response {
    refresh_activity_queues(&service);
    // The flow queues' figures of every node, from the store.
    if let Some(axum::Extension(flow)) = flow {
        flow.refresh_metrics();
    }
    let mut response = statecraft_telemetry::metrics::render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(statecraft_telemetry::metrics::CONTENT_TYPE),
    );
    response
}

fn refresh_activity_queues(service: &Service) {
    let now = service.now_ms();
    let mut page = PageRequest {
        max_results: 0,
        next_token: None,
    };
    let mut seen = 0;
    while seen < MAX_ACTIVITIES {
        // A failed read leaves the last values: metrics must not fail a scrape.
        let Ok(activities) = service.catalog.list_activities(&page) else {
            return;
        };
        for a in &activities.items {
            if let Ok(depth) = service.catalog.queued_tasks(&a.arn, now) {
                let depth = i64::try_from(depth).unwrap_or(i64::MAX);
                statecraft_telemetry::metrics::set_activity_queue_depth(&a.arn, depth);
            }
        }
        seen += activities.items.len();
        match activities.next_token {
            Some(token) if !activities.items.is_empty() => page.next_token = Some(token),
            _ => return,
        }
    }
}

/// Counts one API request under its operation; names not in
/// [`crate::service::OPERATIONS`] count as `unknown`, so a client cannot
/// grow the label set.
pub(crate) fn observe_api(op: &str, failed: Option<&ApiError>, took: Duration) {
    let operation = crate::service::OPERATIONS
        .iter()
        .chain(crate::ops::operators::TARGETS)
        .find(|o| **o == op)
        .copied()
        .unwrap_or("unknown");
    let status = failed.map_or(200, ApiError::status);
    statecraft_telemetry::metrics::observe_api(operation, status, took);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_flags() {
        let o = Observability::resolve(&ServerArgs::default()).unwrap();
        assert_eq!(o.log_format, logging::Format::Text);
        assert_eq!(o.log_level, None);
        assert_eq!(o.retention_days, 90);
        assert!(o.retention().is_some());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "log_format = \"json\"\nlog_level = \"debug\"\n[retention]\nexecutions_days = 0\n\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(path.clone()),
            ..ServerArgs::default()
        };
        let o = Observability::resolve(&args).unwrap();
        assert_eq!(o.log_format, logging::Format::Json);
        assert_eq!(o.log_level.as_deref(), Some("debug"));
        assert_eq!(o.retention(), None);
        assert_eq!(o.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318"));
        // The main config accepts the same file.
        assert!(crate::Config::resolve(&args).is_ok());

        let args = ServerArgs {
            config: Some(path),
            log_format: Some(logging::Format::Text),
            log_level: Some("warn".into()),
            ..ServerArgs::default()
        };
        let o = Observability::resolve(&args).unwrap();
        assert_eq!(o.log_format, logging::Format::Text);
        assert_eq!(o.log_level.as_deref(), Some("warn"));
    }

    #[test]
    fn misspelt_retention_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[retention]\nexecution_days = 3\n").unwrap();
        let args = ServerArgs {
            config: Some(path),
            ..ServerArgs::default()
        };
        assert!(matches!(
            Observability::resolve(&args),
            Err(Error::Parse { .. })
        ));
    }
}
