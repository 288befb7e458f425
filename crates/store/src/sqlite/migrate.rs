//! Schema migrations: the numbered files under `crates/store/migrations/`,
//! compiled in, applied in order at open; `schema_version` records which
//! ran. A database newer than this binary is refused rather than guessed at.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// (version, SQL) in order. Adding a migration is adding a file and a line.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_overview_index.sql")),
    (3, include_str!("../../migrations/0003_task_answers.sql")),
    (4, include_str!("../../migrations/0004_execution_pause.sql")),
    (5, include_str!("../../migrations/0005_lease_token.sql")),
    (6, include_str!("../../migrations/0006_inbox.sql")),
    (7, include_str!("../../migrations/0007_map_runs.sql")),
    (8, include_str!("../../migrations/0008_task_queue.sql")),
    (9, include_str!("../../migrations/0009_schedules.sql")),
    (10, include_str!("../../migrations/0010_payloads.sql")),
    (
        11,
        include_str!("../../migrations/0011_map_run_results.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST: i64 = 11;

/// Brings the schema up to [`LATEST`]; returns the version found before.
pub(crate) fn migrate(conn: &mut Connection, now_ms: i64) -> Result<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY,
             applied_at_ms INTEGER NOT NULL
         )",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    if current > LATEST {
        return Err(Error::Corrupt(format!(
            "database schema version {current} is newer than this build supports ({LATEST})"
        )));
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at_ms) VALUES (?1, ?2)",
            (version, now_ms),
        )?;
        tx.commit()?;
    }
    Ok(current)
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

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut c, 1).unwrap(), 0);
        assert_eq!(migrate(&mut c, 2).unwrap(), LATEST);
    }

    /// Schedules kept in the tags table before migration 9 move to their
    /// own tables; real tags stay.
    #[test]
    fn schedules_move_out_of_the_tags_table() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
        )
        .unwrap();
        for (version, sql) in MIGRATIONS.iter().take_while(|(v, _)| *v < 9) {
            c.execute_batch(sql).unwrap();
            c.execute("INSERT INTO schema_version VALUES (?1, 0)", [version])
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO tags VALUES ('statecraft:schedule-groups', 'nightly', '1700000000000');
             INSERT INTO tags VALUES ('statecraft:schedules/default', 'hourly', '{\"Name\":\"hourly\"}');
             INSERT INTO tags VALUES ('statecraft:schedules/nightly', 'backup', '{\"Name\":\"backup\"}');
             INSERT INTO tags VALUES ('arn:aws:states:us-east-1:1:stateMachine:m', 'team', 'a');",
        )
        .unwrap();
        assert_eq!(migrate(&mut c, 2).unwrap(), 8);
        let schedules: Vec<(String, String, String)> = c
            .prepare("SELECT group_name, name, document FROM schedules ORDER BY group_name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            schedules,
            [
                (
                    "default".into(),
                    "hourly".into(),
                    "{\"Name\":\"hourly\"}".into()
                ),
                (
                    "nightly".into(),
                    "backup".into(),
                    "{\"Name\":\"backup\"}".into()
                )
            ]
        );
        let groups: (String, i64) = c
            .query_row(
                "SELECT name, creation_date_ms FROM schedule_groups",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(groups, ("nightly".into(), 1_700_000_000_000));
        let tags: Vec<String> = c
            .prepare("SELECT resource_arn FROM tags")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(tags, ["arn:aws:states:us-east-1:1:stateMachine:m"]);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c, 1).unwrap();
        c.execute("INSERT INTO schema_version VALUES (?1, 0)", [LATEST + 1])
            .unwrap();
        assert!(matches!(migrate(&mut c, 2), Err(Error::Corrupt(_))));
    }
}
