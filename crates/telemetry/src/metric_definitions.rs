//! Every metric Statecraft exports: its name (without the `_total` suffix
//! that the encoder adds to counters) and its help text, in one place so an
//! operator can read the whole list and a rename is one edit.
//!
//! Labels are bounded: state machine ARNs (never execution ids), integration
//! kinds, Task `Resource` strings as written in definitions, API operation
//! names from the fixed list the server knows.

pub const EXECUTIONS_STARTED: &str = "statecraft_executions_started";
pub const EXECUTIONS_STARTED_HELP: &str = "Executions started, per state machine";
pub const EXECUTIONS_SUCCEEDED: &str = "statecraft_executions_succeeded";
pub const EXECUTIONS_SUCCEEDED_HELP: &str = "Executions that succeeded, per state machine";
pub const EXECUTIONS_FAILED: &str = "statecraft_executions_failed";
pub const EXECUTIONS_FAILED_HELP: &str = "Executions that failed, per state machine";
pub const EXECUTIONS_TIMED_OUT: &str = "statecraft_executions_timed_out";
pub const EXECUTIONS_TIMED_OUT_HELP: &str = "Executions that timed out, per state machine";
pub const EXECUTIONS_ABORTED: &str = "statecraft_executions_aborted";
pub const EXECUTIONS_ABORTED_HELP: &str =
    "Executions that were stopped (aborted), per state machine";

pub const STATE_TRANSITIONS: &str = "statecraft_state_transitions";
pub const STATE_TRANSITIONS_HELP: &str = "States entered, per state machine";
pub const RETRIES: &str = "statecraft_retries";
pub const RETRIES_HELP: &str = "Task attempts scheduled again by a Retrier, per state machine";

pub const TASK_DURATION: &str = "statecraft_task_duration_seconds";
pub const TASK_DURATION_HELP: &str =
    "Time an integration took to answer a task, per integration and resource";
pub const TASK_FAILURES: &str = "statecraft_task_failures";
pub const TASK_FAILURES_HELP: &str = "Tasks an integration failed, per integration and resource";

pub const ACTIVITY_QUEUE_DEPTH: &str = "statecraft_activity_queue_depth";
pub const ACTIVITY_QUEUE_DEPTH_HELP: &str = "Activity tasks waiting for a worker, per activity";
pub const FLOW_QUEUE_DEPTH: &str = "statecraft_flow_queue_depth";
pub const FLOW_QUEUE_DEPTH_HELP: &str =
    "Tasks waiting for a [limits.integrations] limit (concurrency or rate), per limit";
pub const FLOW_RUNNING: &str = "statecraft_flow_running";
pub const FLOW_RUNNING_HELP: &str = "Tasks running under a [limits.integrations] limit, per limit";
pub const ACTIVITY_POLL_WAIT: &str = "statecraft_activity_poll_wait_seconds";
pub const ACTIVITY_POLL_WAIT_HELP: &str =
    "How long GetActivityTask waited before answering, per activity";

pub const TIMER_LAG: &str = "statecraft_timer_lag_seconds";
pub const TIMER_LAG_HELP: &str = "How late timers fired after their due time";

pub const STORE_COMMIT_DURATION: &str = "statecraft_store_commit_duration_seconds";
pub const STORE_COMMIT_DURATION_HELP: &str =
    "Time the store's writer took to run and commit one batch (one transaction and fsync)";
pub const STORE_COMMIT_BATCH_SIZE: &str = "statecraft_store_commit_batch_size";
pub const STORE_COMMIT_BATCH_SIZE_HELP: &str = "Writes committed together in one store transaction";

pub const API_REQUESTS: &str = "statecraft_api_requests";
pub const API_REQUESTS_HELP: &str =
    "API requests, per operation and outcome (ok, client_error, server_error)";
pub const API_REQUEST_DURATION: &str = "statecraft_api_request_duration_seconds";
pub const API_REQUEST_DURATION_HELP: &str = "Time to answer an API request, per operation";

pub const RETENTION_DELETED: &str = "statecraft_retention_deleted_executions";
pub const RETENTION_DELETED_HELP: &str =
    "Finished executions (with their history) removed by retention";
pub const REQUESTS_REFUSED: &str = "statecraft_requests_refused";
pub const REQUESTS_REFUSED_HELP: &str =
    "HTTP requests refused before any route, per reason (host: a Host the server does not answer to; cross_origin: a state-changing request from another origin)";
pub const STORE_ERRORS: &str = "statecraft_store_errors";
pub const STORE_ERRORS_HELP: &str =
    "Store operations that failed, per kind (corrupt, full, busy, io, readonly, other)";
pub const LEASES_HELD: &str = "statecraft_leases_held";
pub const LEASES_HELD_HELP: &str =
    "Execution leases this node holds (the executions it runs), after its last renewal";
pub const LEASE_TAKEOVERS: &str = "statecraft_lease_takeovers";
pub const LEASE_TAKEOVERS_HELP: &str =
    "Executions this node took over after their lease expired (another node died or stalled)";
pub const LEASES_LOST: &str = "statecraft_leases_lost";
pub const LEASES_LOST_HELP: &str =
    "Executions this node dropped because another node took their lease over (a refused renewal or fenced commit)";
pub const LEASE_CLAIM_DURATION: &str = "statecraft_lease_claim_duration_seconds";
pub const LEASE_CLAIM_DURATION_HELP: &str =
    "How long one claim (renewal and takeover) of execution leases took in the store";

/// Every metric name, for tests that check the endpoint lists them all.
pub const ALL: &[&str] = &[
    EXECUTIONS_STARTED,
    EXECUTIONS_SUCCEEDED,
    EXECUTIONS_FAILED,
    EXECUTIONS_TIMED_OUT,
    EXECUTIONS_ABORTED,
    STATE_TRANSITIONS,
    RETRIES,
    TASK_DURATION,
    TASK_FAILURES,
    ACTIVITY_QUEUE_DEPTH,
    ACTIVITY_POLL_WAIT,
    TIMER_LAG,
    STORE_COMMIT_DURATION,
    STORE_COMMIT_BATCH_SIZE,
    API_REQUESTS,
    API_REQUEST_DURATION,
    RETENTION_DELETED,
    REQUESTS_REFUSED,
    STORE_ERRORS,
    LEASES_HELD,
    LEASE_TAKEOVERS,
    LEASES_LOST,
    LEASE_CLAIM_DURATION,
];

pub const OPERATOR_ACTIONS: &str = "statecraft_operator_actions";
pub const OPERATOR_ACTIONS_HELP: &str =
    "Operators' actions on executions, per action (pause, resume, restart, fail, pause_on_failure: an execution that paused instead of failing)";
