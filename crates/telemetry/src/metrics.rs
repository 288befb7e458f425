//! The process-wide metric registry and the `/metrics` body.
//!
//! One registry per process (a [`std::sync::LazyLock`]): the hooks in the
//! store, runtime, integrations and server are one-line calls to the
//! functions here, so none of those crates carries a registry handle around.
//! Counters are atomics; a hook costs a hash lookup of its label set.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use statecraft_types::{EventType, HistoryEvent};

use crate::metric_definitions as def;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MachineLabels {
    state_machine: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    integration: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActivityLabels {
    activity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// 1 ms to ~65 s: API calls, task latencies, commits and timer lag.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// 1 to 512 writes per batch (the writer caps batches well below that).
fn batch_sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

struct Metrics {
    registry: Registry,
    started: Family<MachineLabels, Counter>,
    succeeded: Family<MachineLabels, Counter>,
    failed: Family<MachineLabels, Counter>,
    timed_out: Family<MachineLabels, Counter>,
    aborted: Family<MachineLabels, Counter>,
    transitions: Family<MachineLabels, Counter>,
    retries: Family<MachineLabels, Counter>,
    task_duration: Family<TaskLabels, Histogram, fn() -> Histogram>,
    task_failures: Family<TaskLabels, Counter>,
    activity_depth: Family<ActivityLabels, Gauge>,
    flow_depth: Family<LimitLabels, Gauge>,
    flow_running: Family<LimitLabels, Gauge>,
    activity_wait: Family<ActivityLabels, Histogram, fn() -> Histogram>,
    timer_lag: Histogram,
    commit_duration: Histogram,
    commit_batch: Histogram,
    api_requests: Family<ApiLabels, Counter>,
    api_duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    retention_deleted: Counter,
    requests_refused: Family<ReasonLabels, Counter>,
    store_errors: Family<KindLabels, Counter>,
    operator_actions: Family<ActionLabels, Counter>,
    leases_held: Gauge,
    lease_takeovers: Counter,
    leases_lost: Counter,
    lease_claim: Histogram,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            started: Family::default(),
            succeeded: Family::default(),
            failed: Family::default(),
            timed_out: Family::default(),
            aborted: Family::default(),
            transitions: Family::default(),
            retries: Family::default(),
            task_duration: Family::new_with_constructor(seconds as fn() -> Histogram),
            task_failures: Family::default(),
            activity_depth: Family::default(),
            flow_depth: Family::default(),
            flow_running: Family::default(),
            activity_wait: Family::new_with_constructor(seconds as fn() -> Histogram),
            timer_lag: seconds(),
            commit_duration: seconds(),
            commit_batch: batch_sizes(),
            api_requests: Family::default(),
            api_duration: Family::new_with_constructor(seconds as fn() -> Histogram),
            retention_deleted: Counter::default(),
            requests_refused: Family::default(),
            store_errors: Family::default(),
            operator_actions: Family::default(),
            leases_held: Gauge::default(),
            lease_takeovers: Counter::default(),
            leases_lost: Counter::default(),
            lease_claim: seconds(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            def::EXECUTIONS_STARTED,
            def::EXECUTIONS_STARTED_HELP,
            m.started.clone(),
        );
        r.register(
            def::EXECUTIONS_SUCCEEDED,
            def::EXECUTIONS_SUCCEEDED_HELP,
            m.succeeded.clone(),
        );
        r.register(
            def::EXECUTIONS_FAILED,
            def::EXECUTIONS_FAILED_HELP,
            m.failed.clone(),
        );
        r.register(
            def::EXECUTIONS_TIMED_OUT,
            def::EXECUTIONS_TIMED_OUT_HELP,
            m.timed_out.clone(),
        );
        r.register(
            def::EXECUTIONS_ABORTED,
            def::EXECUTIONS_ABORTED_HELP,
            m.aborted.clone(),
        );
        r.register(
            def::STATE_TRANSITIONS,
            def::STATE_TRANSITIONS_HELP,
            m.transitions.clone(),
        );
        r.register(def::RETRIES, def::RETRIES_HELP, m.retries.clone());
        r.register(
            def::TASK_DURATION,
            def::TASK_DURATION_HELP,
            m.task_duration.clone(),
        );
        r.register(
            def::TASK_FAILURES,
            def::TASK_FAILURES_HELP,
            m.task_failures.clone(),
        );
        r.register(
            def::ACTIVITY_QUEUE_DEPTH,
            def::ACTIVITY_QUEUE_DEPTH_HELP,
            m.activity_depth.clone(),
        );
        r.register(
            def::FLOW_QUEUE_DEPTH,
            def::FLOW_QUEUE_DEPTH_HELP,
            m.flow_depth.clone(),
        );
        r.register(
            def::FLOW_RUNNING,
            def::FLOW_RUNNING_HELP,
            m.flow_running.clone(),
        );
        r.register(
            def::ACTIVITY_POLL_WAIT,
            def::ACTIVITY_POLL_WAIT_HELP,
            m.activity_wait.clone(),
        );
        r.register(def::TIMER_LAG, def::TIMER_LAG_HELP, m.timer_lag.clone());
        r.register(
            def::STORE_COMMIT_DURATION,
            def::STORE_COMMIT_DURATION_HELP,
            m.commit_duration.clone(),
        );
        r.register(
            def::STORE_COMMIT_BATCH_SIZE,
            def::STORE_COMMIT_BATCH_SIZE_HELP,
            m.commit_batch.clone(),
        );
        r.register(
            def::API_REQUESTS,
            def::API_REQUESTS_HELP,
            m.api_requests.clone(),
        );
        r.register(
            def::API_REQUEST_DURATION,
            def::API_REQUEST_DURATION_HELP,
            m.api_duration.clone(),
        );
        r.register(
            def::RETENTION_DELETED,
            def::RETENTION_DELETED_HELP,
            m.retention_deleted.clone(),
        );
        r.register(
            def::REQUESTS_REFUSED,
            def::REQUESTS_REFUSED_HELP,
            m.requests_refused.clone(),
        );
        r.register(
            def::STORE_ERRORS,
            def::STORE_ERRORS_HELP,
            m.store_errors.clone(),
        );
        r.register(
            def::OPERATOR_ACTIONS,
            def::OPERATOR_ACTIONS_HELP,
            m.operator_actions.clone(),
        );
        r.register(
            def::LEASES_HELD,
            def::LEASES_HELD_HELP,
            m.leases_held.clone(),
        );
        r.register(
            def::LEASE_TAKEOVERS,
            def::LEASE_TAKEOVERS_HELP,
            m.lease_takeovers.clone(),
        );
        r.register(
            def::LEASES_LOST,
            def::LEASES_LOST_HELP,
            m.leases_lost.clone(),
        );
        r.register(
            def::LEASE_CLAIM_DURATION,
            def::LEASE_CLAIM_DURATION_HELP,
            m.lease_claim.clone(),
        );
        Metrics { registry, ..m }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The `/metrics` body: every metric in the OpenMetrics text format (which
/// Prometheus scrapes natively). Serve it with [`CONTENT_TYPE`].
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; an error here would be a bug in
    // the encoder, and an empty body is the least harmful answer.
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}

/// The state machine an execution belongs to, as a bounded metric label:
/// `arn:…:execution:Machine:name` (or `express:`) becomes
/// `arn:…:stateMachine:Machine`; Map Run children (`Machine/label`) count
/// under their machine. Anything unparseable becomes `"unknown"` rather than
/// a label per execution.
pub fn machine_arn_of(execution_arn: &str) -> String {
    let mut parts = execution_arn.splitn(8, ':');
    let head: Vec<&str> = parts.by_ref().take(5).collect();
    let kind = parts.next();
    let machine = parts.next();
    match (head.as_slice(), kind, machine) {
        ([arn, partition, service, region, account], Some("execution" | "express"), Some(m))
            if !m.is_empty() =>
        {
            let m = m.split('/').next().unwrap_or(m);
            format!("{arn}:{partition}:{service}:{region}:{account}:stateMachine:{m}")
        }
        _ => "unknown".to_string(),
    }
}

/// What kind of integration a Task `Resource` is, as a bounded label:
/// `http`, `lambda`, `activity`, `states` (nested executions), the service
/// name of other `arn:aws:states:::<service>:…` integrations, or `other`.
pub fn integration_of(resource: &str) -> String {
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.as_slice() {
        [_, _, "lambda", ..] => "lambda".into(),
        [_, _, "states", _, _, "activity", ..] => "activity".into(),
        [_, _, "states", "", "", service, ..] if !service.is_empty() => (*service).into(),
        _ => "other".into(),
    }
}

/// What one transition's history events add to the execution metrics,
/// computed before the commit (so the events need not be cloned) and
/// recorded after it succeeded (so a failed commit counts nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub started: bool,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED` if the execution ended.
    pub finished: Option<&'static str>,
    pub transitions: u64,
    pub retries: u64,
}

impl Tally {
    /// Reads the events of one transition.
    pub fn of(events: &[HistoryEvent]) -> Tally {
        let mut t = Tally::default();
        let mut previous: Option<EventType> = None;
        for e in events {
            let name = e.event_type.as_str();
            match e.event_type {
                EventType::ExecutionStarted => t.started = true,
                EventType::ExecutionSucceeded => t.finished = Some("SUCCEEDED"),
                EventType::ExecutionFailed => t.finished = Some("FAILED"),
                EventType::ExecutionTimedOut => t.finished = Some("TIMED_OUT"),
                EventType::ExecutionAborted => t.finished = Some("ABORTED"),
                _ if name.ends_with("StateEntered") => t.transitions += 1,
                // A task scheduled without its state being entered just
                // before is a Retrier's next attempt: the engine records no
                // event of its own for a retry.
                _ if name.ends_with("Scheduled")
                    && !previous.is_some_and(|p| p.as_str().ends_with("StateEntered")) =>
                {
                    t.retries += 1
                }
                _ => {}
            }
            previous = Some(e.event_type);
        }
        t
    }

    /// Adds this tally to the metrics of the execution's state machine and
    /// logs the execution's start and end (at debug: two info lines per
    /// execution would dominate a busy server's log; the per-machine
    /// `loggingConfiguration` is the way to log executions).
    pub fn record(&self, execution_arn: &str) {
        if *self == Tally::default() {
            return;
        }
        let labels = MachineLabels {
            state_machine: machine_arn_of(execution_arn),
        };
        let m = &*METRICS;
        if self.started {
            m.started.get_or_create(&labels).inc();
            tracing::debug!(execution_arn, "execution started");
        }
        if self.transitions > 0 {
            m.transitions
                .get_or_create(&labels)
                .inc_by(self.transitions);
        }
        if self.retries > 0 {
            m.retries.get_or_create(&labels).inc_by(self.retries);
        }
        if let Some(status) = self.finished {
            let family = match status {
                "SUCCEEDED" => &m.succeeded,
                "FAILED" => &m.failed,
                "TIMED_OUT" => &m.timed_out,
                _ => &m.aborted,
            };
            family.get_or_create(&labels).inc();
            tracing::debug!(execution_arn, status, "execution finished");
        }
    }
}

/// Counts what one committed transition's history events say: executions
/// started and finished, states entered, retries.
pub fn observe_events(execution_arn: &str, events: &[HistoryEvent]) {
    Tally::of(events).record(execution_arn);
}

/// Records one task's answer: how long the integration took and whether it
/// failed.
pub fn observe_task(resource: &str, elapsed: Duration, failed: bool) {
    let labels = TaskLabels {
        integration: integration_of(resource),
        resource: resource.to_string(),
    };
    let m = &*METRICS;
    m.task_duration
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
    if failed {
        m.task_failures.get_or_create(&labels).inc();
    }
}

/// Sets the number of activity tasks waiting for a worker.
pub fn set_activity_queue_depth(activity_arn: &str, depth: i64) {
    METRICS
        .activity_depth
        .get_or_create(&ActivityLabels {
            activity: activity_arn.to_string(),
        })
        .set(depth);
}

/// Sets how many tasks wait for, and run under, the flow limit `limit`
/// (its `[limits.integrations]` key).
pub fn set_flow_limit(limit: &str, queued: i64, running: i64) {
    let labels = LimitLabels {
        limit: limit.to_string(),
    };
    METRICS.flow_depth.get_or_create(&labels).set(queued);
    METRICS.flow_running.get_or_create(&labels).set(running);
}

/// Records how long one GetActivityTask poll waited.
pub fn observe_activity_poll(activity_arn: &str, waited: Duration) {
    METRICS
        .activity_wait
        .get_or_create(&ActivityLabels {
            activity: activity_arn.to_string(),
        })
        .observe(waited.as_secs_f64());
}

/// Records how late a timer fired (`lag_ms` after its due time; early or
/// on-time firings count as zero).
pub fn observe_timer_lag(lag_ms: i64) {
    METRICS.timer_lag.observe(lag_ms.max(0) as f64 / 1000.0);
}

/// Records one store batch: its size and how long it took to commit.
pub fn observe_commit(batch_size: usize, elapsed: Duration) {
    let m = &*METRICS;
    m.commit_batch.observe(batch_size as f64);
    m.commit_duration.observe(elapsed.as_secs_f64());
}

/// Records one API request. `operation` must come from the server's fixed
/// list of operations (unknown ones as `"unknown"`), never from raw input.
pub fn observe_api(operation: &str, status: u16, elapsed: Duration) {
    let outcome = match status {
        200..=399 => "ok",
        400..=499 => "client_error",
        _ => "server_error",
    };
    let m = &*METRICS;
    m.api_requests
        .get_or_create(&ApiLabels {
            operation: operation.to_string(),
            outcome: outcome.to_string(),
        })
        .inc();
    m.api_duration
        .get_or_create(&OperationLabels {
            operation: operation.to_string(),
        })
        .observe(elapsed.as_secs_f64());
}

/// Counts one request refused before routing. `reason` must be one of a
/// fixed set chosen by the caller (`host`, `cross_origin`), never raw input.
pub fn observe_refused(reason: &'static str) {
    METRICS
        .requests_refused
        .get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        })
        .inc();
}

/// Logs one failed store operation (at error level, with where it failed
/// and its cause) and counts it under `kind`: the store calls this once per
/// error, where the database's error becomes the store's.
pub fn report_store_error(kind: &'static str, at: &str, cause: &dyn std::fmt::Display) {
    tracing::error!(
        target: "statecraft::store",
        kind,
        at,
        error = %cause,
        "store operation failed ({kind}) at {at}: {cause}"
    );
    observe_store_error(kind);
}

/// Counts one failed store operation. `kind` must be one of a fixed set
/// (`corrupt`, `full`, `busy`, `io`, `readonly`, `other`), never raw input.
pub fn observe_store_error(kind: &'static str) {
    METRICS
        .store_errors
        .get_or_create(&KindLabels {
            kind: kind.to_string(),
        })
        .inc();
}

/// Counts an operator's action on an execution (`pause`, `resume`,
/// `restart`, `fail`, `pause_on_failure`).
pub fn observe_operator(action: &'static str) {
    METRICS
        .operator_actions
        .get_or_create(&ActionLabels {
            action: action.to_string(),
        })
        .inc();
}

/// Counts executions removed by retention.
pub fn observe_retention(deleted: u64) {
    METRICS.retention_deleted.inc_by(deleted);
}

/// Sets how many execution leases this node holds.
pub fn set_leases_held(n: usize) {
    METRICS
        .leases_held
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Counts one execution taken over from a node whose lease expired.
pub fn count_takeover() {
    METRICS.lease_takeovers.inc();
}

/// Counts one execution dropped because another node holds its lease now.
pub fn count_lease_lost() {
    METRICS.leases_lost.inc();
}

/// Records how long one claim of execution leases took.
pub fn observe_lease_claim(elapsed: Duration) {
    METRICS.lease_claim.observe(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_labels_drop_the_execution() {
        for (execution, machine) in [
            (
                "arn:aws:states:us-east-1:123456789012:execution:M:run-1",
                "arn:aws:states:us-east-1:123456789012:stateMachine:M",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:express:M:run:uuid",
                "arn:aws:states:us-east-1:123456789012:stateMachine:M",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:execution:M/map:child",
                "arn:aws:states:us-east-1:123456789012:stateMachine:M",
            ),
            ("not an arn", "unknown"),
            ("arn:aws:states:us-east-1:1:stateMachine:M", "unknown"),
            ("", "unknown"),
        ] {
            assert_eq!(machine_arn_of(execution), machine, "{execution}");
        }
    }

    #[test]
    fn integrations_are_named_by_resource() {
        for (resource, kind) in [
            ("arn:aws:states:::http:invoke", "http"),
            ("arn:aws:states:::lambda:invoke", "lambda"),
            ("arn:aws:lambda:us-east-1:1:function:f", "lambda"),
            ("arn:aws:states:us-east-1:1:activity:a", "activity"),
            ("arn:aws:states:::states:startExecution.sync:2", "states"),
            ("arn:aws:states:::dynamodb:putItem", "dynamodb"),
            ("whatever", "other"),
        ] {
            assert_eq!(integration_of(resource), kind, "{resource}");
        }
    }

    fn event(id: u64, t: EventType) -> HistoryEvent {
        HistoryEvent {
            id,
            previous_event_id: id.saturating_sub(1),
            timestamp_ms: 0,
            event_type: t,
            details: None,
        }
    }

    /// A store error is logged at error level with its kind, where it
    /// happened and its cause, and counted (issue 14: disk-full errors were
    /// answered with 500s and never logged).
    #[test]
    fn store_errors_are_logged_and_counted() {
        #[derive(Clone, Default)]
        struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let before = sample("statecraft_store_errors_total", "kind=\"full\"").unwrap_or(0.0);
        tracing::subscriber::with_default(subscriber, || {
            report_store_error(
                "full",
                "crates/store/src/sqlite/queries.rs:42",
                &"database or disk is full",
            );
        });
        let text = String::from_utf8_lossy(&lines.0.lock().unwrap_or_else(|e| e.into_inner()))
            .into_owned();
        assert!(text.contains("ERROR"), "{text}");
        assert!(text.contains("store operation failed (full)"), "{text}");
        assert!(text.contains("queries.rs:42"), "{text}");
        assert!(text.contains("database or disk is full"), "{text}");
        assert!(sample("statecraft_store_errors_total", "kind=\"full\"").unwrap_or(0.0) > before);
    }

    fn sample(name: &str, labels: &str) -> Option<f64> {
        let line_start = format!("{name}{{{labels}}} ");
        render()
            .lines()
            .find_map(|l| l.strip_prefix(&line_start).map(str::to_string))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn events_count_starts_transitions_retries_and_ends() {
        let arn = "arn:aws:states:us-east-1:1:execution:EventsTest:x";
        let labels = "state_machine=\"arn:aws:states:us-east-1:1:stateMachine:EventsTest\"";
        observe_events(
            arn,
            &[
                event(1, EventType::ExecutionStarted),
                event(2, EventType::TaskStateEntered),
                event(3, EventType::TaskScheduled),
            ],
        );
        // The retry: failed, then scheduled again with no StateEntered.
        observe_events(
            arn,
            &[
                event(4, EventType::TaskFailed),
                event(5, EventType::TaskScheduled),
            ],
        );
        observe_events(arn, &[event(6, EventType::ExecutionFailed)]);
        assert_eq!(
            sample("statecraft_executions_started_total", labels),
            Some(1.0)
        );
        assert_eq!(
            sample("statecraft_state_transitions_total", labels),
            Some(1.0)
        );
        assert_eq!(sample("statecraft_retries_total", labels), Some(1.0));
        assert_eq!(
            sample("statecraft_executions_failed_total", labels),
            Some(1.0)
        );
        assert_eq!(
            sample("statecraft_executions_succeeded_total", labels),
            None
        );
    }

    #[test]
    fn every_defined_metric_is_rendered() {
        // A family is only written once it has a series: give each one.
        let arn = "arn:aws:states:us-east-1:1:execution:RenderTest:x";
        observe_events(
            arn,
            &[
                event(1, EventType::ExecutionStarted),
                event(2, EventType::TaskScheduled),
                event(3, EventType::PassStateEntered),
            ],
        );
        for end in [
            EventType::ExecutionSucceeded,
            EventType::ExecutionFailed,
            EventType::ExecutionTimedOut,
            EventType::ExecutionAborted,
        ] {
            observe_events(arn, &[event(4, end)]);
        }
        observe_task(
            "arn:aws:states:::http:invoke",
            Duration::from_millis(5),
            true,
        );
        set_activity_queue_depth("arn:aws:states:us-east-1:1:activity:a", 2);
        observe_activity_poll("arn:aws:states:us-east-1:1:activity:a", Duration::ZERO);
        observe_api("ListStateMachines", 200, Duration::from_millis(3));
        observe_refused("host");
        observe_store_error("corrupt");
        let text = render();
        for name in def::ALL {
            assert!(text.contains(&format!("# HELP {name} ")), "{name} missing");
        }
        assert!(text.ends_with("# EOF\n"));
        assert!(sample(
            "statecraft_api_requests_total",
            "operation=\"ListStateMachines\",outcome=\"ok\""
        )
        .is_some_and(|v| v >= 1.0));
        assert!(
            sample("statecraft_requests_refused_total", "reason=\"host\"")
                .is_some_and(|v| v >= 1.0)
        );
        assert!(
            sample("statecraft_store_errors_total", "kind=\"corrupt\"").is_some_and(|v| v >= 1.0)
        );
    }
}
