//! The SQLite store's map runs ([`crate::MapRunStore`]): the `map_runs`
//! table of migration 7.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SqliteStore;
use crate::error::{Error, Result};
use crate::map_run::{
    MapRun, MapRunChildResult, MapRunCounts, MapRunProgress, MapRunStatus, MapRunStore,
    MapRunUpdate, NewMapRun,
};
use crate::page::{decode_int_token, encode_token, Page, PageRequest};
use crate::pending::Pending;
use crate::state_machine::Revision;

const COLUMNS: &str = "arn, execution_arn, state_name, label, child_machine_arn, revision_id, \
     execution_type, status, max_concurrency, tolerated_failure_count, \
     tolerated_failure_percentage, item_counts, execution_counts, cursor, \
     result_writer_details, error, cause, spec, start_date_ms, stop_date_ms, update_date_ms, \
     redrive_count, redrive_date_ms, id";

fn counts_text(c: &MapRunCounts) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "{}".into())
}

fn counts(text: &str) -> Result<MapRunCounts> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("map run counts: {e}")))
}

type Raw = (MapRun, String, String, String, i64);

fn raw(row: &Row) -> rusqlite::Result<Raw> {
    let run = MapRun {
        arn: row.get(0)?,
        execution_arn: row.get(1)?,
        state_name: row.get(2)?,
        label: row.get(3)?,
        child_machine_arn: row.get(4)?,
        revision_id: row.get(5)?,
        execution_type: row.get(6)?,
        status: MapRunStatus::Running,
        max_concurrency: u32::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
        tolerated_failure_count: u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
        tolerated_failure_percentage: row.get(10)?,
        item_counts: MapRunCounts::default(),
        execution_counts: MapRunCounts::default(),
        cursor: row.get(13)?,
        result_writer_details: row.get(14)?,
        error: row.get(15)?,
        cause: row.get(16)?,
        spec: row.get(17)?,
        start_date_ms: row.get(18)?,
        stop_date_ms: row.get(19)?,
        update_date_ms: row.get(20)?,
        redrive_count: u32::try_from(row.get::<_, i64>(21)?).unwrap_or(0),
        redrive_date_ms: row.get(22)?,
    };
    Ok((run, row.get(7)?, row.get(11)?, row.get(12)?, row.get(23)?))
}

fn finish((mut run, status, items, executions, _): Raw) -> Result<MapRun> {
    run.status = MapRunStatus::parse(&status)
        .ok_or_else(|| Error::Corrupt(format!("unknown map run status {status}")))?;
    run.item_counts = counts(&items)?;
    run.execution_counts = counts(&executions)?;
    Ok(run)
}

fn not_found(arn: &str) -> Error {
    Error::NotFound {
        kind: "map run",
        id: arn.to_string(),
    }
}

pub(crate) fn get(conn: &Connection, arn: &str) -> Result<Option<MapRun>> {
    let sql = format!("SELECT {COLUMNS} FROM map_runs WHERE arn = ?1");
    conn.prepare_cached(&sql)?
        .query_row([arn], raw)
        .optional()?
        .map(finish)
        .transpose()
}

fn create(conn: &Connection, run: &NewMapRun, revision: &Revision) -> Result<MapRun> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO revisions (revision_id, state_machine_arn, definition, role_arn, \
         description, logging_configuration, tracing_configuration, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL, ?6)",
    )?
    .execute(params![
        revision.revision_id,
        revision.state_machine_arn,
        revision.definition,
        revision.role_arn,
        revision.description,
        revision.created_ms
    ])?;
    let zero = counts_text(&MapRunCounts::default());
    conn.prepare_cached(
        "INSERT OR IGNORE INTO map_runs (arn, execution_arn, state_name, label, \
         child_machine_arn, revision_id, execution_type, status, max_concurrency, \
         tolerated_failure_count, tolerated_failure_percentage, item_counts, execution_counts, \
         spec, start_date_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'RUNNING', ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
    )?
    .execute(params![
        run.arn,
        run.execution_arn,
        run.state_name,
        run.label,
        run.child_machine_arn,
        revision.revision_id,
        run.execution_type,
        i64::from(run.max_concurrency),
        i64::try_from(run.tolerated_failure_count).unwrap_or(i64::MAX),
        run.tolerated_failure_percentage,
        zero,
        run.spec,
        run.start_date_ms
    ])?;
    get(conn, &run.arn)?.ok_or_else(|| not_found(&run.arn))
}

fn list(conn: &Connection, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>> {
    const LISTING: &str = "map-runs";
    let before = match &page.next_token {
        Some(t) => decode_int_token(LISTING, t)?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let sql = format!(
        "SELECT {COLUMNS} FROM map_runs WHERE execution_arn = ?1 AND id < ?2 \
         ORDER BY id DESC LIMIT ?3"
    );
    let mut rows = conn
        .prepare_cached(&sql)?
        .query_map(params![execution_arn, before, i64::from(limit) + 1], raw)?
        .collect::<rusqlite::Result<Vec<Raw>>>()?;
    let next_token = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_token(LISTING, &r.4.to_string()))
    } else {
        None
    };
    let items = rows.into_iter().map(finish).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, next_token })
}

fn update(conn: &Connection, arn: &str, u: &MapRunUpdate) -> Result<MapRun> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET \
             max_concurrency = COALESCE(?2, max_concurrency), \
             tolerated_failure_count = COALESCE(?3, tolerated_failure_count), \
             tolerated_failure_percentage = COALESCE(?4, tolerated_failure_percentage), \
             update_date_ms = ?5 WHERE arn = ?1",
        )?
        .execute(params![
            arn,
            u.max_concurrency.map(i64::from),
            u.tolerated_failure_count
                .map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
            u.tolerated_failure_percentage,
            u.update_date_ms
        ])?;
    if n == 0 {
        return Err(not_found(arn));
    }
    get(conn, arn)?.ok_or_else(|| not_found(arn))
}

fn save(conn: &Connection, arn: &str, p: &MapRunProgress) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET status = ?2, item_counts = ?3, execution_counts = ?4, \
             cursor = ?5, result_writer_details = ?6, error = ?7, cause = ?8, \
             stop_date_ms = ?9 WHERE arn = ?1",
        )?
        .execute(params![
            arn,
            p.status.as_str(),
            counts_text(&p.item_counts),
            counts_text(&p.execution_counts),
            p.cursor,
            p.result_writer_details,
            p.error,
            p.cause,
            p.stop_date_ms
        ])?;
    if n == 0 {
        return Err(not_found(arn));
    }
    Ok(())
}

fn save_results(
    conn: &Connection,
    arn: &str,
    p: &MapRunProgress,
    results: &[MapRunChildResult],
) -> Result<()> {
    save(conn, arn, p)?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO map_run_results (map_run_arn, child, status, items, result) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for r in results {
        insert.execute(params![
            arn,
            i64::try_from(r.child).unwrap_or(i64::MAX),
            r.status,
            i64::try_from(r.items).unwrap_or(i64::MAX),
            r.result
        ])?;
    }
    Ok(())
}

fn results(conn: &Connection, arn: &str, from: u64, limit: u32) -> Result<Vec<MapRunChildResult>> {
    let rows = conn
        .prepare_cached(
            "SELECT child, status, items, result FROM map_run_results \
             WHERE map_run_arn = ?1 AND child >= ?2 ORDER BY child LIMIT ?3",
        )?
        .query_map(
            params![
                arn,
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::from(limit)
            ],
            |r| {
                Ok(MapRunChildResult {
                    child: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    status: r.get(1)?,
                    items: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    result: r.get(3)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn redrive(conn: &Connection, arn: &str, now_ms: i64) -> Result<MapRun> {
    let n = conn
        .prepare_cached(
            "UPDATE map_runs SET status = 'RUNNING', error = NULL, cause = NULL, \
             stop_date_ms = NULL, redrive_count = redrive_count + 1, redrive_date_ms = ?2 \
             WHERE arn = ?1",
        )?
        .execute(params![arn, now_ms])?;
    if n == 0 {
        return Err(not_found(arn));
    }
    get(conn, arn)?.ok_or_else(|| not_found(arn))
}

impl MapRunStore for SqliteStore {
    fn create_map_run(&self, run: NewMapRun, child_revision: Revision) -> Pending<MapRun> {
        self.write(move |c| create(c, &run, &child_revision))
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<MapRun>> {
        self.read(|c| get(c, arn))
    }

    fn list_map_runs(&self, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>> {
        self.read(|c| list(c, execution_arn, page))
    }

    fn update_map_run(&self, arn: &str, update: MapRunUpdate) -> Pending<MapRun> {
        let arn = arn.to_string();
        self.write(move |c| self::update(c, &arn, &update))
    }

    fn save_map_run_progress(&self, arn: &str, progress: MapRunProgress) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| save(c, &arn, &progress))
    }

    fn save_map_run_results(
        &self,
        arn: &str,
        progress: MapRunProgress,
        results: Vec<MapRunChildResult>,
    ) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |c| save_results(c, &arn, &progress, &results))
    }

    fn map_run_results(&self, arn: &str, from: u64, limit: u32) -> Result<Vec<MapRunChildResult>> {
        self.read(|c| results(c, arn, from, limit))
    }

    fn redrive_map_run(&self, arn: &str, now_ms: i64) -> Pending<MapRun> {
        let arn = arn.to_string();
        self.write(move |c| redrive(c, &arn, now_ms))
    }
}
