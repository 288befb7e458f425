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
//! - [`spans`]: executions as span trees, built from history events.
//! - [`otlp`]: OTLP/HTTP (JSON) export of those spans, off by default.
//!
//! Architecture invariant: the only I/O here is writing log lines and the
//! OTLP exporter's POSTs (its own thread, off the hot path); serving
//! `/metrics` is the server's job.

pub mod execution_log;
pub mod logging;
pub mod metric_definitions;
pub mod metrics;
pub mod otlp;
pub mod spans;
pub mod trace;

pub use trace::TraceContext;
