//! Statecraft's observability, shared by the server, runtime, store and
//! integrations.
//!
//! - [`metric_definitions`]: every metric's name and help text.
//! - [`metrics`]: the process-wide registry, the one-line hooks the other
//!   crates call, and the `/metrics` body.
//! - [`logging`]: `tracing` subscriber setup (text or JSON, level filter).
//! - [`execution_log`]: a state machine's `loggingConfiguration` deciding
//!   which execution events are also logged.
//! - [`trace`]: W3C trace context (`traceparent`) derived from executions.
//!
//! Architecture invariant: this crate does no I/O of its own besides
//! writing log lines; serving `/metrics` is the server's job.

pub mod execution_log;
pub mod logging;
pub mod metric_definitions;
pub mod metrics;
pub mod trace;

pub use trace::TraceContext;
