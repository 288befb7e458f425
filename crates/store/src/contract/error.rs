//! The one error type of the store. Callers branch on the variant (the
//! server maps `NotFound`/`AlreadyExists` to AWS's typed errors, the runtime
//! treats `Conflict` as "someone else advanced this execution").

/// What went wrong in a store operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The named record does not exist.
    #[error("{kind} does not exist: {id}")]
    NotFound { kind: &'static str, id: String },
    /// A record with the same key exists already.
    #[error("{kind} already exists: {id}")]
    AlreadyExists { kind: &'static str, id: String },
    /// An optimistic concurrency check failed: the execution was advanced by
    /// another writer (another node, or a stale actor) since it was read.
    #[error("execution {arn} was modified concurrently (expected version {expected})")]
    Conflict { arn: String, expected: u64 },
    /// A fenced commit or lease renewal was refused: the execution's lease
    /// is no longer held by `owner` with fencing token `token` (it expired
    /// and another node took it over). The caller has lost ownership and
    /// must drop the execution, never retry the transition.
    #[error("lease on execution {arn} lost: {owner} no longer holds fencing token {token}")]
    LeaseLost {
        arn: String,
        owner: String,
        token: u64,
    },
    /// A pagination token that this store did not issue, or for another listing.
    #[error("invalid pagination token")]
    InvalidToken,
    /// Stored data that cannot be decoded (a bug or a tampered database).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database refused or failed the operation (I/O, disk full, locked).
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The store was shut down; no more writes are accepted.
    #[error("the store is closed")]
    Closed,
}

impl From<rusqlite::Error> for Error {
    /// Every SQLite error becomes a store error here, once: so this is where
    /// it is logged (with the place of the `?` that converted it) and
    /// counted in `/metrics` by kind (issue 14: disk-full and malformed
    /// database errors were answered with 500s and never logged).
    #[track_caller]
    fn from(e: rusqlite::Error) -> Self {
        let at = std::panic::Location::caller();
        statecraft_telemetry::metrics::report_store_error(
            sqlite_kind(&e),
            &format!("{}:{}", at.file(), at.line()),
            &e,
        );
        Error::Backend(e.to_string())
    }
}

/// The kind a SQLite error is counted under in `statecraft_store_errors`.
pub fn sqlite_kind(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DatabaseCorrupt | C::NotADatabase) => "corrupt",
        Some(C::DiskFull) => "full",
        Some(C::DatabaseBusy | C::DatabaseLocked) => "busy",
        Some(C::SystemIoFailure | C::CannotOpen) => "io",
        Some(C::ReadOnly) => "readonly",
        _ => "other",
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
