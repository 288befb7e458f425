//! What can go wrong when the PostgreSQL store opens, as a typed error that
//! names the store and the cause, and how driver errors become the store's
//! [`crate::Error`] at run time. Passwords never appear in a message.

use crate::error::Error;

/// Why [`super::PostgresStore::open`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The URL is not a PostgreSQL connection string.
    #[error("PostgreSQL store: invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Nothing answered at the address (refused, unknown host, timed out).
    #[error("PostgreSQL store: cannot connect to {target}: {cause}")]
    Unreachable { target: String, cause: String },
    /// The server refused the user or its password.
    #[error("PostgreSQL store: {target} refused the credentials of user {user}: {cause}")]
    Authentication {
        target: String,
        user: String,
        cause: String,
    },
    /// The server answered but the database does not exist.
    #[error("PostgreSQL store: database {database} does not exist on {target}")]
    NoDatabase { target: String, database: String },
    /// The server answered and refused the connection for another reason.
    #[error("PostgreSQL store: {target} refused the connection: {cause}")]
    Refused { target: String, cause: String },
    /// The schema could not be brought up to date.
    #[error("PostgreSQL store: cannot migrate the schema on {target}: {cause}")]
    Migration { target: String, cause: String },
    /// The database was migrated by a newer build.
    #[error(
        "PostgreSQL store: the database schema version {found} is newer than this build \
         supports ({supported}); upgrade statecraft"
    )]
    TooNew { found: i64, supported: i64 },
    /// A thread of the store could not be started.
    #[error("PostgreSQL store: cannot start its {what} thread: {cause}")]
    Thread { what: &'static str, cause: String },
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        Error::Backend(e.to_string())
    }
}

/// The driver's error in words: the server's message (with its SQLSTATE
/// and detail) when the server sent one, else the I/O cause chain.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(": ");
            s.push_str(detail);
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Backend(format!("PostgreSQL store: {}", describe(&e)))
    }
}

/// Classifies a failed first connection.
pub(crate) fn open_error(
    e: &postgres::Error,
    target: &str,
    user: &str,
    database: &str,
) -> OpenError {
    let cause = describe(e);
    let Some(db) = e.as_db_error() else {
        return OpenError::Unreachable {
            target: target.into(),
            cause,
        };
    };
    match db.code().code() {
        // invalid_password, invalid_authorization_specification
        "28P01" | "28000" => OpenError::Authentication {
            target: target.into(),
            user: user.into(),
            cause,
        },
        // invalid_catalog_name
        "3D000" => OpenError::NoDatabase {
            target: target.into(),
            database: database.into(),
        },
        _ => OpenError::Refused {
            target: target.into(),
            cause,
        },
    }
}
