//! The PostgreSQL store's map runs ([`crate::MapRunStore`]): the `map_runs`
//! table of migration 5 (the same table as SQLite's migration 7).

use postgres::Row;

use super::db::Db;
use super::queries::{to_i64, to_u64};
use super::PostgresStore;
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

fn from_row(row: &Row) -> Result<(MapRun, i64)> {
    let status: String = row.try_get(7)?;
    let items: String = row.try_get(11)?;
    let executions: String = row.try_get(12)?;
    let run = MapRun {
        arn: row.try_get(0)?,
        execution_arn: row.try_get(1)?,
        state_name: row.try_get(2)?,
        label: row.try_get(3)?,
        child_machine_arn: row.try_get(4)?,
        revision_id: row.try_get(5)?,
        execution_type: row.try_get(6)?,
        status: MapRunStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("unknown map run status {status}")))?,
        max_concurrency: u32::try_from(row.try_get::<_, i64>(8)?).unwrap_or(0),
        tolerated_failure_count: to_u64(row.try_get(9)?),
        tolerated_failure_percentage: row.try_get(10)?,
        item_counts: counts(&items)?,
        execution_counts: counts(&executions)?,
        cursor: row.try_get(13)?,
        result_writer_details: row.try_get(14)?,
        error: row.try_get(15)?,
        cause: row.try_get(16)?,
        spec: row.try_get(17)?,
        start_date_ms: row.try_get(18)?,
        stop_date_ms: row.try_get(19)?,
        update_date_ms: row.try_get(20)?,
        redrive_count: u32::try_from(row.try_get::<_, i64>(21)?).unwrap_or(0),
        redrive_date_ms: row.try_get(22)?,
    };
    Ok((run, row.try_get(23)?))
}

fn not_found(arn: &str) -> Error {
    Error::NotFound {
        kind: "map run",
        id: arn.to_string(),
    }
}

fn get(db: &mut Db, arn: &str) -> Result<Option<MapRun>> {
    let sql = format!("SELECT {COLUMNS} FROM map_runs WHERE arn = $1");
    db.query_opt(&sql, &[&arn])?
        .map(|r| from_row(&r).map(|(run, _)| run))
        .transpose()
}

fn create(db: &mut Db, run: &NewMapRun, revision: &Revision) -> Result<MapRun> {
    db.execute(
        "INSERT INTO revisions (revision_id, state_machine_arn, definition, role_arn, \
         description, logging_configuration, tracing_configuration, created_ms) \
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6) ON CONFLICT (revision_id) DO NOTHING",
        &[
            &revision.revision_id,
            &revision.state_machine_arn,
            &revision.definition,
            &revision.role_arn,
            &revision.description,
            &revision.created_ms,
        ],
    )?;
    let zero = counts_text(&MapRunCounts::default());
    db.execute(
        "INSERT INTO map_runs (arn, execution_arn, state_name, label, child_machine_arn, \
         revision_id, execution_type, status, max_concurrency, tolerated_failure_count, \
         tolerated_failure_percentage, item_counts, execution_counts, spec, start_date_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'RUNNING', $8, $9, $10, $11, $11, $12, $13) \
         ON CONFLICT (arn) DO NOTHING",
        &[
            &run.arn,
            &run.execution_arn,
            &run.state_name,
            &run.label,
            &run.child_machine_arn,
            &revision.revision_id,
            &run.execution_type,
            &i64::from(run.max_concurrency),
            &to_i64(run.tolerated_failure_count),
            &run.tolerated_failure_percentage,
            &zero,
            &run.spec,
            &run.start_date_ms,
        ],
    )?;
    get(db, &run.arn)?.ok_or_else(|| not_found(&run.arn))
}

fn list(db: &mut Db, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>> {
    const LISTING: &str = "map-runs";
    let before = match &page.next_token {
        Some(t) => decode_int_token(LISTING, t)?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let sql = format!(
        "SELECT {COLUMNS} FROM map_runs WHERE execution_arn = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    );
    let mut rows = db
        .query(&sql, &[&execution_arn, &before, &(i64::from(limit) + 1)])?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    let next_token = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|(_, id)| encode_token(LISTING, &id.to_string()))
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|(run, _)| run).collect(),
        next_token,
    })
}

fn update(db: &mut Db, arn: &str, u: &MapRunUpdate) -> Result<MapRun> {
    let n = db.execute(
        "UPDATE map_runs SET \
         max_concurrency = COALESCE($2, max_concurrency), \
         tolerated_failure_count = COALESCE($3, tolerated_failure_count), \
         tolerated_failure_percentage = COALESCE($4, tolerated_failure_percentage), \
         update_date_ms = $5 WHERE arn = $1",
        &[
            &arn,
            &u.max_concurrency.map(i64::from),
            &u.tolerated_failure_count.map(to_i64),
            &u.tolerated_failure_percentage,
            &u.update_date_ms,
        ],
    )?;
    if n == 0 {
        return Err(not_found(arn));
    }
    get(db, arn)?.ok_or_else(|| not_found(arn))
}

fn save(db: &mut Db, arn: &str, p: &MapRunProgress) -> Result<()> {
    let n = db.execute(
        "UPDATE map_runs SET status = $2, item_counts = $3, execution_counts = $4, \
         cursor = $5, result_writer_details = $6, error = $7, cause = $8, \
         stop_date_ms = $9 WHERE arn = $1",
        &[
            &arn,
            &p.status.as_str(),
            &counts_text(&p.item_counts),
            &counts_text(&p.execution_counts),
            &p.cursor,
            &p.result_writer_details,
            &p.error,
            &p.cause,
            &p.stop_date_ms,
        ],
    )?;
    if n == 0 {
        return Err(not_found(arn));
    }
    Ok(())
}

fn save_results(
    db: &mut Db,
    arn: &str,
    p: &MapRunProgress,
    results: &[MapRunChildResult],
) -> Result<()> {
    save(db, arn, p)?;
    for r in results {
        db.execute(
            "INSERT INTO map_run_results (map_run_arn, child, status, items, result) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (map_run_arn, child) DO UPDATE SET \
             status = EXCLUDED.status, items = EXCLUDED.items, result = EXCLUDED.result",
            &[
                &arn,
                &to_i64(r.child),
                &r.status,
                &to_i64(r.items),
                &r.result,
            ],
        )?;
    }
    Ok(())
}

fn results(db: &mut Db, arn: &str, from: u64, limit: u32) -> Result<Vec<MapRunChildResult>> {
    db.query(
        "SELECT child, status, items, result FROM map_run_results \
         WHERE map_run_arn = $1 AND child >= $2 ORDER BY child LIMIT $3",
        &[&arn, &to_i64(from), &i64::from(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(MapRunChildResult {
            child: to_u64(r.try_get(0)?),
            status: r.try_get(1)?,
            items: to_u64(r.try_get(2)?),
            result: r.try_get(3)?,
        })
    })
    .collect()
}

fn redrive(db: &mut Db, arn: &str, now_ms: i64) -> Result<MapRun> {
    let n = db.execute(
        "UPDATE map_runs SET status = 'RUNNING', error = NULL, cause = NULL, \
         stop_date_ms = NULL, redrive_count = redrive_count + 1, redrive_date_ms = $2 \
         WHERE arn = $1",
        &[&arn, &now_ms],
    )?;
    if n == 0 {
        return Err(not_found(arn));
    }
    get(db, arn)?.ok_or_else(|| not_found(arn))
}

impl MapRunStore for PostgresStore {
    fn create_map_run(&self, run: NewMapRun, child_revision: Revision) -> Pending<MapRun> {
        self.write(move |db| create(db, &run, &child_revision))
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<MapRun>> {
        let arn = arn.to_string();
        self.read(move |db| get(db, &arn))
    }

    fn list_map_runs(&self, execution_arn: &str, page: &PageRequest) -> Result<Page<MapRun>> {
        let arn = execution_arn.to_string();
        let page = page.clone();
        self.read(move |db| list(db, &arn, &page))
    }

    fn update_map_run(&self, arn: &str, update: MapRunUpdate) -> Pending<MapRun> {
        let arn = arn.to_string();
        self.write(move |db| self::update(db, &arn, &update))
    }

    fn save_map_run_progress(&self, arn: &str, progress: MapRunProgress) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |db| save(db, &arn, &progress))
    }

    fn save_map_run_results(
        &self,
        arn: &str,
        progress: MapRunProgress,
        results: Vec<MapRunChildResult>,
    ) -> Pending<()> {
        let arn = arn.to_string();
        self.write(move |db| save_results(db, &arn, &progress, &results))
    }

    fn map_run_results(&self, arn: &str, from: u64, limit: u32) -> Result<Vec<MapRunChildResult>> {
        let arn = arn.to_string();
        self.read(move |db| results(db, &arn, from, limit))
    }

    fn redrive_map_run(&self, arn: &str, now_ms: i64) -> Pending<MapRun> {
        let arn = arn.to_string();
        self.write(move |db| redrive(db, &arn, now_ms))
    }
}
