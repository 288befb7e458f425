//! Schema migrations of the PostgreSQL store: the numbered files under
//! `crates/store/migrations-postgres/`, compiled in, applied in order at
//! open and recorded in `schema_version`.
//!
//! Several nodes may start at once against one database. Each runs the
//! migrations in ONE transaction that first takes a row lock on the
//! `schema_version` row 0 (`SELECT … FOR UPDATE`): transaction-scoped, so a
//! node that dies mid-migration releases it, and portable (no session
//! advisory locks, no `LOCK TABLE`). Whoever waits re-reads the version
//! after the lock is granted and finds nothing left to do. Creating the
//! `schema_version` table itself can race (two `CREATE TABLE IF NOT
//! EXISTS` at once: one fails on the catalog's unique index), so that step
//! is retried.

use crate::error::Result;

use super::db::Db;
use super::error::OpenError;

/// (version, SQL) in order. Adding a migration is adding a file and a line.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations-postgres/0001_initial.sql"),
    ),
    (
        2,
        include_str!("../../migrations-postgres/0002_task_answers.sql"),
    ),
    (
        3,
        include_str!("../../migrations-postgres/0003_execution_pause.sql"),
    ),
    (4, include_str!("../../migrations-postgres/0004_inbox.sql")),
    (
        5,
        include_str!("../../migrations-postgres/0005_map_runs.sql"),
    ),
    (
        6,
        include_str!("../../migrations-postgres/0006_task_queue.sql"),
    ),
    (
        7,
        include_str!("../../migrations-postgres/0007_schedules.sql"),
    ),
    (
        8,
        include_str!("../../migrations-postgres/0008_payloads.sql"),
    ),
    (
        9,
        include_str!("../../migrations-postgres/0009_map_run_results.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = 9;

/// Brings the schema up to [`LATEST`]; returns the version found before.
pub(crate) fn migrate(db: &mut Db, target: &str, now_ms: i64) -> Result<i64, OpenError> {
    let fail = |e: crate::Error| OpenError::Migration {
        target: target.to_string(),
        cause: match e {
            crate::Error::Backend(m) => m.trim_start_matches("PostgreSQL store: ").to_string(),
            other => other.to_string(),
        },
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let created = db
            .simple(
                "CREATE TABLE IF NOT EXISTS schema_version (
                     version       BIGINT PRIMARY KEY,
                     applied_at_ms BIGINT NOT NULL
                 )",
            )
            .and_then(|()| {
                db.execute(
                    "INSERT INTO schema_version (version, applied_at_ms) VALUES (0, $1) \
                     ON CONFLICT (version) DO NOTHING",
                    &[&now_ms],
                )
            });
        match created {
            Ok(_) => break,
            // Another node created it at the same moment; it exists now.
            Err(_) if attempts < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(50 * attempts));
            }
            Err(e) => return Err(fail(e)),
        }
    }
    let result = apply(db, now_ms);
    if result.is_err() {
        let _ = db.simple("ROLLBACK");
    }
    match result {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(found)) => Err(OpenError::TooNew {
            found,
            supported: LATEST,
        }),
        Err(e) => Err(fail(e)),
    }
}

/// The locked part: `Ok(Err(v))` when the database is newer than this build.
fn apply(db: &mut Db, now_ms: i64) -> Result<std::result::Result<i64, i64>> {
    db.simple("BEGIN")?;
    db.query_one(
        "SELECT version FROM schema_version WHERE version = 0 FOR UPDATE",
        &[],
    )?;
    let current: i64 = db
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    if current > LATEST {
        db.simple("ROLLBACK")?;
        return Ok(Err(current));
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        db.simple(sql)?;
        db.execute(
            "INSERT INTO schema_version (version, applied_at_ms) VALUES ($1, $2)",
            &[version, &now_ms],
        )?;
    }
    db.simple("COMMIT")?;
    Ok(Ok(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_densely_and_end_at_latest() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(LATEST));
    }
}
