//! What Statecraft's tests share, in one crate that only tests and
//! benchmarks depend on (a dev-dependency: nothing here is in the shipped
//! binary, and `crates/testdata/tests/layers.rs` refuses it as a normal
//! dependency):
//!
//! - [`store_suite`]: the storage contract's suite, which the SQLite and the
//!   PostgreSQL store both run;
//! - [`pg`]: a throw-away PostgreSQL cluster (or the one
//!   `STATECRAFT_TEST_POSTGRES` names), failing with an install hint when
//!   there is none;
//! - [`server`]: the `statecraft` binary as a server process on a free
//!   port, waited for until `/healthz` answers, killed when dropped;
//! - [`api`]: the Step Functions API over plain HTTP (create a machine,
//!   start an execution, wait for its result, read its history);
//! - `runtime` (feature `runtime`): create a machine, start an execution
//!   and wait for its result through a `statecraft_runtime::Runtime`;
//! - [`child`]: a test re-run as a child process, for crash tests (kill it
//!   mid-flight, check what survived);
//! - [`moto`]: moto's S3 server on a free port (a real S3 API for bucket
//!   and object-trigger tests);
//! - [`data`]: the repository's test data (the AWS-recorded corpus, the
//!   JSONata suite, the benchmark workloads), from `statecraft-testdata`.
//!
//! The rule everything here keeps: what a test needs and cannot find (data,
//! a tool, a server that does not come up) is a failure with a sentence
//! saying what and how to get it, never a silent pass.

pub mod api;
pub mod child;
pub mod moto;
pub mod pg;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod server;
pub mod store_suite;

/// The repository's test data: one loader, failing loudly when data is
/// missing.
pub use statecraft_testdata as data;
