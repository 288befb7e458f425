//! The SQL of every store operation on PostgreSQL, as functions of a
//! connection ([`Db`]). The writer thread calls the write functions inside
//! its batch transaction; the read threads call the read functions.
//! Listings are keyset queries on an index, fetching one row more than the
//! page to know whether a next page exists.
//!
//! Rule for writes (the writer relies on it): a write returns `NotFound`,
//! `AlreadyExists`, `Conflict` or `InvalidToken` only before it has written
//! anything, so the batch's transaction stays usable.

use postgres::types::ToSql;
use postgres::Row;
use serde_json::Value;
use statecraft_types::HistoryEvent;

use crate::activity::Activity;
use crate::error::{Error, Result};
use crate::page::{decode_int_token, decode_token, encode_token, Page, PageRequest};
use crate::state_machine::{
    Alias, MachineType, Revision, Route, StateMachine, StateMachineStatus, Version,
};
use crate::tag::Tag;
use crate::{
    Created, DueTimer, Execution, ExecutionFilter, ExecutionState, ExecutionStatus,
    ExecutionSummary, Fence, HistoryQuery, Lease, NewExecution, PendingTask, RedriveFilter,
    TaskChange, Timer, TimerChange, Transition, WireEvent,
};

use super::db::Db;

// ---------------------------------------------------------------- helpers

fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

fn parse_json(text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Corrupt(e.to_string())))
        .transpose()
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Builds a page from `limit + 1` fetched rows.
fn paginate<T>(mut rows: Vec<T>, limit: u32, listing: &str, key: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next_token = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|last| encode_token(listing, &key(last)))
    } else {
        None
    };
    Page {
        items: rows,
        next_token,
    }
}

fn exists(db: &mut Db, sql: &str, key: &str) -> Result<bool> {
    Ok(db.query_opt(sql, &[&key])?.is_some())
}

fn page_rows(limit: u32) -> i64 {
    i64::from(limit) + 1
}

// ---------------------------------------------------------- state machines

const REVISION_COLUMNS: &str = "r.revision_id, r.state_machine_arn, r.definition, r.role_arn, \
     r.description, r.logging_configuration, r.tracing_configuration, r.created_ms";

/// Reads a revision from columns `at..at+8`.
fn revision_from(row: &Row, at: usize) -> Result<Revision> {
    Ok(Revision {
        revision_id: row.try_get(at)?,
        state_machine_arn: row.try_get(at + 1)?,
        definition: row.try_get(at + 2)?,
        role_arn: row.try_get(at + 3)?,
        description: row.try_get(at + 4)?,
        logging_configuration: parse_json(row.try_get(at + 5)?)?,
        tracing_configuration: parse_json(row.try_get(at + 6)?)?,
        created_ms: row.try_get(at + 7)?,
    })
}

fn insert_revision(db: &mut Db, r: &Revision) -> Result<()> {
    insert_new_revision(db, r)?;
    Ok(())
}

/// Inserts a revision unless it exists; whether this call inserted it.
fn insert_new_revision(db: &mut Db, r: &Revision) -> Result<bool> {
    let inserted = db.execute(
        "INSERT INTO revisions (revision_id, state_machine_arn, definition, role_arn, \
         description, logging_configuration, tracing_configuration, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (revision_id) DO NOTHING",
        &[
            &r.revision_id,
            &r.state_machine_arn,
            &r.definition,
            &r.role_arn,
            &r.description,
            &json_text(&r.logging_configuration),
            &json_text(&r.tracing_configuration),
            &r.created_ms,
        ],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn get_revision(db: &mut Db, revision_id: &str) -> Result<Option<Revision>> {
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions r WHERE r.revision_id = $1");
    db.query_opt(&sql, &[&revision_id])?
        .map(|row| revision_from(&row, 0))
        .transpose()
}

fn state_machine_sql(tail: &str) -> String {
    format!(
        "SELECT s.arn, s.name, s.type, s.status, s.creation_date_ms, {REVISION_COLUMNS} \
         FROM state_machines s JOIN revisions r ON r.revision_id = s.revision_id {tail}"
    )
}

fn state_machine_from(row: &Row) -> Result<StateMachine> {
    let ty: String = row.try_get(2)?;
    let status: String = row.try_get(3)?;
    Ok(StateMachine {
        arn: row.try_get(0)?,
        name: row.try_get(1)?,
        machine_type: MachineType::parse(&ty)
            .ok_or_else(|| Error::Corrupt(format!("state machine type {ty}")))?,
        status: StateMachineStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("state machine status {status}")))?,
        creation_date_ms: row.try_get(4)?,
        revision: revision_from(row, 5)?,
    })
}

pub(crate) fn get_state_machine(db: &mut Db, arn: &str) -> Result<Option<StateMachine>> {
    db.query_opt(&state_machine_sql("WHERE s.arn = $1"), &[&arn])?
        .map(|row| state_machine_from(&row))
        .transpose()
}

pub(crate) fn list_state_machines(db: &mut Db, page: &PageRequest) -> Result<Page<StateMachine>> {
    const LISTING: &str = "state-machines";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let rows = db.query(
        &state_machine_sql("WHERE s.arn > $1 ORDER BY s.arn LIMIT $2"),
        &[&after, &page_rows(limit)],
    )?;
    let items = rows
        .iter()
        .map(state_machine_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |s| s.arn.clone()))
}

pub(crate) fn create_state_machine(
    db: &mut Db,
    name: String,
    machine_type: MachineType,
    revision: Revision,
    creation_date_ms: i64,
) -> Result<StateMachine> {
    let arn = revision.state_machine_arn.clone();
    if exists(db, "SELECT 1 FROM state_machines WHERE arn = $1", &arn)? {
        return Err(Error::AlreadyExists {
            kind: "state machine",
            id: arn,
        });
    }
    let new_revision = insert_new_revision(db, &revision)?;
    // Another node may be creating the same machine right now: ON CONFLICT
    // waits for it and then refuses, instead of a duplicate-key failure.
    let created = db.query_opt(
        "INSERT INTO state_machines (arn, name, type, status, creation_date_ms, revision_id) \
         VALUES ($1, $2, $3, 'ACTIVE', $4, $5) ON CONFLICT (arn) DO NOTHING RETURNING arn",
        &[
            &arn,
            &name,
            &machine_type.as_str(),
            &creation_date_ms,
            &revision.revision_id,
        ],
    )?;
    if created.is_none() {
        // Refused: undo this call's revision so that nothing is written.
        if new_revision {
            db.execute(
                "DELETE FROM revisions WHERE revision_id = $1",
                &[&revision.revision_id],
            )?;
        }
        return Err(Error::AlreadyExists {
            kind: "state machine",
            id: arn,
        });
    }
    Ok(StateMachine {
        arn,
        name,
        machine_type,
        status: StateMachineStatus::Active,
        creation_date_ms,
        revision,
    })
}

pub(crate) fn update_state_machine(db: &mut Db, revision: Revision) -> Result<StateMachine> {
    let arn = revision.state_machine_arn.clone();
    if !exists(db, "SELECT 1 FROM state_machines WHERE arn = $1", &arn)? {
        return Err(Error::NotFound {
            kind: "state machine",
            id: arn,
        });
    }
    insert_revision(db, &revision)?;
    db.execute(
        "UPDATE state_machines SET revision_id = $2 WHERE arn = $1",
        &[&arn, &revision.revision_id],
    )?;
    // Found a moment ago in this transaction: a miss here is a broken
    // database, not a refusal.
    get_state_machine(db, &arn)?
        .ok_or_else(|| Error::Corrupt(format!("state machine {arn} vanished while updated")))
}

/// Deleting an absent state machine is not an error (AWS answers success).
pub(crate) fn delete_state_machine(db: &mut Db, arn: &str) -> Result<()> {
    db.execute(
        "DELETE FROM tags WHERE resource_arn = $1 \
         OR resource_arn IN (SELECT arn FROM versions WHERE state_machine_arn = $1) \
         OR resource_arn IN (SELECT arn FROM aliases WHERE state_machine_arn = $1)",
        &[&arn],
    )?;
    db.execute("DELETE FROM versions WHERE state_machine_arn = $1", &[&arn])?;
    db.execute("DELETE FROM aliases WHERE state_machine_arn = $1", &[&arn])?;
    db.execute("DELETE FROM state_machines WHERE arn = $1", &[&arn])?;
    Ok(())
}

// ---------------------------------------------------------------- versions

fn version_sql(tail: &str) -> String {
    format!(
        "SELECT v.arn, v.state_machine_arn, v.version, v.description, v.creation_date_ms, \
         {REVISION_COLUMNS} FROM versions v JOIN revisions r ON r.revision_id = v.revision_id {tail}"
    )
}

fn version_from(row: &Row) -> Result<Version> {
    Ok(Version {
        arn: row.try_get(0)?,
        state_machine_arn: row.try_get(1)?,
        version: to_u64(row.try_get(2)?),
        description: row.try_get(3)?,
        creation_date_ms: row.try_get(4)?,
        revision: revision_from(row, 5)?,
    })
}

pub(crate) fn get_version(db: &mut Db, arn: &str) -> Result<Option<Version>> {
    db.query_opt(&version_sql("WHERE v.arn = $1"), &[&arn])?
        .map(|row| version_from(&row))
        .transpose()
}

pub(crate) fn list_versions(
    db: &mut Db,
    state_machine_arn: &str,
    page: &PageRequest,
) -> Result<Page<Version>> {
    const LISTING: &str = "versions";
    let before = match &page.next_token {
        Some(t) => decode_int_token(LISTING, t)?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let rows = db.query(
        &version_sql(
            "WHERE v.state_machine_arn = $1 AND v.version < $2 ORDER BY v.version DESC LIMIT $3",
        ),
        &[&state_machine_arn, &before, &page_rows(limit)],
    )?;
    let items = rows.iter().map(version_from).collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |v| v.version.to_string()))
}

pub(crate) fn publish_version(
    db: &mut Db,
    state_machine_arn: &str,
    description: Option<String>,
    creation_date_ms: i64,
) -> Result<Version> {
    // FOR UPDATE: two nodes publishing at once get different numbers.
    let found = db.query_opt(
        "SELECT next_version, revision_id FROM state_machines WHERE arn = $1 FOR UPDATE",
        &[&state_machine_arn],
    )?;
    let Some(row) = found else {
        return Err(Error::NotFound {
            kind: "state machine",
            id: state_machine_arn.to_string(),
        });
    };
    let number: i64 = row.try_get(0)?;
    let revision_id: String = row.try_get(1)?;
    let arn = format!("{state_machine_arn}:{number}");
    db.execute(
        "INSERT INTO versions (arn, state_machine_arn, version, description, creation_date_ms, \
         revision_id) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &arn,
            &state_machine_arn,
            &number,
            &description,
            &creation_date_ms,
            &revision_id,
        ],
    )?;
    db.execute(
        "UPDATE state_machines SET next_version = $2 WHERE arn = $1",
        &[&state_machine_arn, &(number + 1)],
    )?;
    get_version(db, &arn)?
        .ok_or_else(|| Error::Corrupt(format!("version {arn} vanished while published")))
}

pub(crate) fn delete_version(db: &mut Db, arn: &str) -> Result<()> {
    db.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
    db.execute("DELETE FROM versions WHERE arn = $1", &[&arn])?;
    Ok(())
}

// ----------------------------------------------------------------- aliases

fn routing_to_json(routing: &[Route]) -> String {
    Value::Array(
        routing
            .iter()
            .map(|r| {
                serde_json::json!({
                    "stateMachineVersionArn": r.version_arn,
                    "weight": r.weight,
                })
            })
            .collect(),
    )
    .to_string()
}

fn routing_from_json(text: &str) -> Result<Vec<Route>> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Corrupt(e.to_string()))?;
    let items = v
        .as_array()
        .ok_or_else(|| Error::Corrupt("alias routing is not an array".into()))?;
    items
        .iter()
        .map(|item| {
            Ok(Route {
                version_arn: item
                    .get("stateMachineVersionArn")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::Corrupt("alias route without a version".into()))?
                    .to_string(),
                weight: item
                    .get("weight")
                    .and_then(Value::as_u64)
                    .and_then(|w| u32::try_from(w).ok())
                    .ok_or_else(|| Error::Corrupt("alias route without a weight".into()))?,
            })
        })
        .collect()
}

const ALIAS_COLUMNS: &str =
    "arn, state_machine_arn, name, description, routing, creation_date_ms, update_date_ms";

fn alias_from(row: &Row) -> Result<Alias> {
    let routing: String = row.try_get(4)?;
    Ok(Alias {
        arn: row.try_get(0)?,
        state_machine_arn: row.try_get(1)?,
        name: row.try_get(2)?,
        description: row.try_get(3)?,
        routing: routing_from_json(&routing)?,
        creation_date_ms: row.try_get(5)?,
        update_date_ms: row.try_get(6)?,
    })
}

pub(crate) fn get_alias(db: &mut Db, arn: &str) -> Result<Option<Alias>> {
    db.query_opt(
        &format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE arn = $1"),
        &[&arn],
    )?
    .map(|row| alias_from(&row))
    .transpose()
}

pub(crate) fn list_aliases(
    db: &mut Db,
    state_machine_arn: &str,
    page: &PageRequest,
) -> Result<Page<Alias>> {
    const LISTING: &str = "aliases";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let rows = db.query(
        &format!(
            "SELECT {ALIAS_COLUMNS} FROM aliases WHERE state_machine_arn = $1 AND arn > $2 \
             ORDER BY arn LIMIT $3"
        ),
        &[&state_machine_arn, &after, &page_rows(limit)],
    )?;
    let items = rows.iter().map(alias_from).collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |a| a.arn.clone()))
}

pub(crate) fn create_alias(db: &mut Db, alias: Alias) -> Result<Alias> {
    let inserted = db.execute(
        &format!(
            "INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (arn) DO NOTHING"
        ),
        &[
            &alias.arn,
            &alias.state_machine_arn,
            &alias.name,
            &alias.description,
            &routing_to_json(&alias.routing),
            &alias.creation_date_ms,
            &alias.update_date_ms,
        ],
    )?;
    if inserted == 0 {
        return Err(Error::AlreadyExists {
            kind: "alias",
            id: alias.arn,
        });
    }
    Ok(alias)
}

pub(crate) fn update_alias(db: &mut Db, alias: Alias) -> Result<Alias> {
    let n = db.execute(
        "UPDATE aliases SET description = $2, routing = $3, update_date_ms = $4 WHERE arn = $1",
        &[
            &alias.arn,
            &alias.description,
            &routing_to_json(&alias.routing),
            &alias.update_date_ms,
        ],
    )?;
    if n == 0 {
        return Err(Error::NotFound {
            kind: "alias",
            id: alias.arn,
        });
    }
    get_alias(db, &alias.arn)?
        .ok_or_else(|| Error::Corrupt(format!("alias {} vanished while updated", alias.arn)))
}

pub(crate) fn delete_alias(db: &mut Db, arn: &str) -> Result<()> {
    db.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
    db.execute("DELETE FROM aliases WHERE arn = $1", &[&arn])?;
    Ok(())
}

// -------------------------------------------------------------------- tags

pub(crate) fn tag_resource(db: &mut Db, arn: &str, tags: &[Tag]) -> Result<()> {
    for t in tags {
        db.execute(
            "INSERT INTO tags (resource_arn, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (resource_arn, key) DO UPDATE SET value = EXCLUDED.value",
            &[&arn, &t.key, &t.value],
        )?;
    }
    Ok(())
}

pub(crate) fn untag_resource(db: &mut Db, arn: &str, keys: &[String]) -> Result<()> {
    for k in keys {
        db.execute(
            "DELETE FROM tags WHERE resource_arn = $1 AND key = $2",
            &[&arn, k],
        )?;
    }
    Ok(())
}

pub(crate) fn list_tags(db: &mut Db, arn: &str) -> Result<Vec<Tag>> {
    db.query(
        "SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY key",
        &[&arn],
    )?
    .iter()
    .map(|r| {
        Ok(Tag {
            key: r.try_get(0)?,
            value: r.try_get(1)?,
        })
    })
    .collect()
}

// -------------------------------------------------------------- activities

fn activity_from(row: &Row) -> Result<Activity> {
    Ok(Activity {
        arn: row.try_get(0)?,
        name: row.try_get(1)?,
        creation_date_ms: row.try_get(2)?,
        encryption_configuration: parse_json(row.try_get(3)?)?,
    })
}

pub(crate) fn create_activity(db: &mut Db, a: Activity) -> Result<Activity> {
    let inserted = db.execute(
        "INSERT INTO activities (arn, name, creation_date_ms, encryption_configuration) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (arn) DO NOTHING",
        &[
            &a.arn,
            &a.name,
            &a.creation_date_ms,
            &json_text(&a.encryption_configuration),
        ],
    )?;
    if inserted == 0 {
        return Err(Error::AlreadyExists {
            kind: "activity",
            id: a.arn,
        });
    }
    Ok(a)
}

pub(crate) fn delete_activity(db: &mut Db, arn: &str) -> Result<()> {
    db.execute("DELETE FROM tags WHERE resource_arn = $1", &[&arn])?;
    db.execute("DELETE FROM activities WHERE arn = $1", &[&arn])?;
    Ok(())
}

pub(crate) fn get_activity(db: &mut Db, arn: &str) -> Result<Option<Activity>> {
    db.query_opt(
        "SELECT arn, name, creation_date_ms, encryption_configuration FROM activities \
         WHERE arn = $1",
        &[&arn],
    )?
    .map(|row| activity_from(&row))
    .transpose()
}

pub(crate) fn list_activities(db: &mut Db, page: &PageRequest) -> Result<Page<Activity>> {
    const LISTING: &str = "activities";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let rows = db.query(
        "SELECT arn, name, creation_date_ms, encryption_configuration FROM activities \
         WHERE arn > $1 ORDER BY arn LIMIT $2",
        &[&after, &page_rows(limit)],
    )?;
    let items = rows.iter().map(activity_from).collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |a| a.arn.clone()))
}

/// Tasks of `resource` waiting for a worker: queued and not leased, or whose
/// lease ran out.
pub(crate) fn queued_tasks(db: &mut Db, resource: &str, now_ms: i64) -> Result<u64> {
    let n: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM tasks WHERE resource = $1 \
             AND (lease_owner IS NULL OR lease_expires_ms < $2)",
            &[&resource, &now_ms],
        )?
        .try_get(0)?;
    Ok(to_u64(n))
}

// -------------------------------------------------------------- executions

const EXECUTION_COLUMNS: &str = "arn, state_machine_arn, version_arn, alias_arn, revision_id, \
     name, input, trace_header, start_date_ms, map_run_arn, parent_arn, status, output, error, \
     cause, stop_date_ms, redrive_count, redrive_date_ms, redrive_status, redrive_status_reason, \
     engine_state, version, pause";

fn parse_status(s: &str) -> Result<ExecutionStatus> {
    ExecutionStatus::parse(s).ok_or_else(|| Error::Corrupt(format!("execution status {s}")))
}

fn execution_from(row: &Row) -> Result<Execution> {
    let status: String = row.try_get(11)?;
    let redrive_count: i64 = row.try_get(16)?;
    Ok(Execution {
        arn: row.try_get(0)?,
        state_machine_arn: row.try_get(1)?,
        version_arn: row.try_get(2)?,
        alias_arn: row.try_get(3)?,
        revision_id: row.try_get(4)?,
        name: row.try_get(5)?,
        input: row.try_get(6)?,
        trace_header: row.try_get(7)?,
        start_date_ms: row.try_get(8)?,
        map_run_arn: row.try_get(9)?,
        parent_arn: row.try_get(10)?,
        state: ExecutionState {
            status: parse_status(&status)?,
            output: row.try_get(12)?,
            error: row.try_get(13)?,
            cause: row.try_get(14)?,
            stop_date_ms: row.try_get(15)?,
            redrive_count: u32::try_from(redrive_count).unwrap_or(0),
            redrive_date_ms: row.try_get(17)?,
            redrive_status: row.try_get(18)?,
            redrive_status_reason: row.try_get(19)?,
            engine_state: row.try_get(20)?,
            pause: row.try_get(22)?,
            revision_id: None,
        },
        version: to_u64(row.try_get(21)?),
    })
}

pub(crate) fn get_execution(db: &mut Db, arn: &str) -> Result<Option<Execution>> {
    db.query_opt(
        &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = $1"),
        &[&arn],
    )?
    .map(|row| execution_from(&row))
    .transpose()
}

fn execution_id(db: &mut Db, arn: &str) -> Result<i64> {
    match db.query_opt("SELECT id FROM executions WHERE arn = $1", &[&arn])? {
        Some(row) => Ok(row.try_get(0)?),
        None => Err(Error::NotFound {
            kind: "execution",
            id: arn.to_string(),
        }),
    }
}

/// Tells the nodes that LISTEN (see [`crate::commits::Wakeup`]); delivered
/// when, and only if, the writer's transaction commits.
fn notify(db: &mut Db, wakeup: &crate::commits::Wakeup) -> Result<()> {
    db.execute(
        "SELECT pg_notify($1, $2)",
        &[&crate::commits::WAKEUP_CHANNEL, &wakeup.payload()],
    )?;
    Ok(())
}

/// Why a commit updated no row: the execution is gone (`NotFound`), its
/// lease is no longer the fence's (`LeaseLost`, told first: a node that
/// lost the lease must drop the execution, not reload it), or it moved on
/// (`Conflict`).
fn refusal(db: &mut Db, p: &Prepared) -> Result<Error> {
    let t = &p.transition;
    let Some(row) = db.query_opt(
        "SELECT lease_owner, lease_token FROM executions WHERE arn = $1",
        &[&t.execution_arn],
    )?
    else {
        return Ok(Error::NotFound {
            kind: "execution",
            id: t.execution_arn.clone(),
        });
    };
    if let Some(fence) = &p.fence {
        let owner: Option<String> = row.try_get(0)?;
        let token: i64 = row.try_get(1)?;
        if owner.as_deref() != Some(fence.owner.as_str()) || to_u64(token) != fence.token {
            return Ok(Error::LeaseLost {
                arn: t.execution_arn.clone(),
                owner: fence.owner.clone(),
                token: fence.token,
            });
        }
    }
    Ok(Error::Conflict {
        arn: t.execution_arn.clone(),
        expected: t.expected_version,
    })
}

/// A transition with its history events already serialised, so that the
/// single writer thread spends its time on the database, not on JSON:
/// callers prepare on their own threads, in parallel.
pub(crate) struct Prepared {
    pub(crate) transition: Transition,
    event_ids: Vec<i64>,
    events: Vec<String>,
    /// The events' large payloads, written once (see crate::payloads).
    payload_hashes: Vec<String>,
    payload_texts: Vec<String>,
    /// The lease the commit must still hold (a fenced commit).
    pub(crate) fence: Option<Fence>,
}

impl Prepared {
    pub(crate) fn new(mut transition: Transition) -> Prepared {
        let mut events = std::mem::take(&mut transition.events);
        let (payload_hashes, payload_texts) = crate::payloads::offload(&mut events)
            .into_iter()
            .map(|p| (p.hash, p.text))
            .unzip();
        Prepared {
            transition,
            event_ids: events.iter().map(|e| to_i64(e.id)).collect(),
            events: events.iter().map(wire_json).collect(),
            payload_hashes,
            payload_texts,
            fence: None,
        }
    }
}

/// The JSON text of [`HistoryEvent::to_wire`], written without building
/// (and cloning the details into) an intermediate `Value`.
fn wire_json(e: &HistoryEvent) -> String {
    let mut out = String::with_capacity(256);
    let timestamp = serde_json::Number::from_f64(e.timestamp_ms as f64 / 1000.0)
        .map_or_else(|| "null".to_string(), |n| n.to_string());
    out.push_str("{\"timestamp\":");
    out.push_str(&timestamp);
    out.push_str(",\"type\":\"");
    out.push_str(e.event_type.as_str());
    out.push_str("\",\"id\":");
    out.push_str(&e.id.to_string());
    out.push_str(",\"previousEventId\":");
    out.push_str(&e.previous_event_id.to_string());
    if let (Some(key), Some(details)) = (e.event_type.details_key(), &e.details) {
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        // Serialising a map of JSON values cannot fail.
        out.push_str(&serde_json::to_string(details).unwrap_or_else(|_| "{}".into()));
    }
    out.push('}');
    out
}

/// Writes a transition's timers and tasks for execution `id`, and drops
/// what is left of them when the execution finished (`existing`: rows from
/// earlier transitions may be there).
fn apply_timers_and_tasks(db: &mut Db, id: i64, t: &Transition, existing: bool) -> Result<()> {
    if !t.state.status.is_active() && !existing {
        // Finished in its first step: whatever it armed or queued would be
        // dropped at once, so nothing is written.
        return Ok(());
    }
    for change in &t.timers {
        match change {
            TimerChange::Arm(timer) => {
                db.execute(
                    "INSERT INTO timers (execution_id, timer_id, fire_at_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (execution_id, timer_id) \
                     DO UPDATE SET fire_at_ms = EXCLUDED.fire_at_ms",
                    &[&id, &to_i64(timer.timer_id), &timer.fire_at_ms],
                )?;
            }
            TimerChange::Cancel { timer_id } => {
                db.execute(
                    "DELETE FROM timers WHERE execution_id = $1 AND timer_id = $2",
                    &[&id, &to_i64(*timer_id)],
                )?;
            }
        }
    }
    for change in &t.tasks {
        match change {
            TaskChange::Queue(task) => {
                if task.resource.contains(":activity:") {
                    notify(
                        db,
                        &crate::commits::Wakeup::Task {
                            resource: task.resource.clone(),
                        },
                    )?;
                }
                db.execute(
                    "INSERT INTO tasks (execution_id, task_id, resource, request, token, \
                     lease_owner, lease_expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (execution_id, task_id) DO UPDATE SET \
                     resource = EXCLUDED.resource, request = EXCLUDED.request, \
                     token = EXCLUDED.token, lease_owner = EXCLUDED.lease_owner, \
                     lease_expires_ms = EXCLUDED.lease_expires_ms, answer = NULL, \
                     queue = NULL, queue_seq = NULL, queue_priority = NULL, queued_ms = NULL, \
                     started_ms = NULL",
                    &[
                        &id,
                        &to_i64(task.task_id),
                        &task.resource,
                        &task.request,
                        &task.token,
                        &task.lease_owner,
                        &task.lease_expires_ms,
                    ],
                )?;
            }
            TaskChange::Remove { task_id } => {
                db.execute(
                    "DELETE FROM tasks WHERE execution_id = $1 AND task_id = $2",
                    &[&id, &to_i64(*task_id)],
                )?;
            }
        }
    }
    if !t.state.status.is_active() {
        // A finished execution waits for nothing: drop what is left so the
        // timer service and task dispatch never see it again.
        db.execute(
            "WITH t AS (DELETE FROM timers WHERE execution_id = $1) \
             DELETE FROM tasks WHERE execution_id = $1",
            &[&id],
        )?;
    }
    Ok(())
}

/// Creates an execution, optionally leased to `(owner, until_ms)`.
pub(crate) fn create_execution(
    db: &mut Db,
    e: &NewExecution,
    first: &Prepared,
    lease: Option<&(String, i64)>,
) -> Result<Created> {
    let s = &first.transition.state;
    let redrive_count = i64::from(s.redrive_count);
    let lease_owner = lease.map(|(owner, _)| owner.as_str());
    let lease_until = lease.map(|(_, until)| *until);
    // ON CONFLICT DO NOTHING: two nodes starting the same execution at once
    // both succeed, and only one row exists. The history rides in the same
    // statement (one round trip), inserted only if the row was.
    let inserted = db.query_opt(
        "WITH x AS (INSERT INTO executions (arn, state_machine_arn, version_arn, alias_arn, \
         revision_id, name, input, trace_header, start_date_ms, map_run_arn, parent_arn, \
         status, output, error, cause, stop_date_ms, redrive_count, redrive_date_ms, \
         redrive_status, redrive_status_reason, engine_state, version, lease_owner, \
         lease_expires_ms, lease_token) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, 1, $22, $23, CASE WHEN $22::TEXT IS NULL THEN 0 ELSE 1 END) \
         ON CONFLICT (arn) DO NOTHING RETURNING id), \
         h AS (INSERT INTO history (execution_id, event_id, event) \
             SELECT x.id, e.event_id, e.event \
             FROM x, unnest($24::BIGINT[], $25::TEXT[]) AS e(event_id, event)) \
         SELECT id FROM x",
        &[
            &e.arn,
            &e.state_machine_arn,
            &e.version_arn,
            &e.alias_arn,
            &e.revision_id,
            &e.name,
            &e.input,
            &e.trace_header,
            &e.start_date_ms,
            &e.map_run_arn,
            &e.parent_arn,
            &s.status.as_str(),
            &s.output,
            &s.error,
            &s.cause,
            &s.stop_date_ms,
            &redrive_count,
            &s.redrive_date_ms,
            &s.redrive_status,
            &s.redrive_status_reason,
            &s.engine_state,
            &lease_owner,
            &lease_until,
            &first.event_ids,
            &first.events,
        ],
    )?;
    let Some(row) = inserted else {
        return match get_execution(db, &e.arn)? {
            Some(existing) => Ok(Created::Existing(Box::new(existing))),
            None => Err(Error::Corrupt(format!(
                "execution {} both exists and does not",
                e.arn
            ))),
        };
    };
    let id: i64 = row.try_get(0)?;
    insert_payloads(db, id, first)?;
    if lease.is_none() {
        notify(db, &crate::commits::Wakeup::Start)?;
    }
    // A new execution has no timers or tasks to drop yet.
    apply_timers_and_tasks(db, id, &first.transition, false)?;
    Ok(Created::New)
}

/// Writes a transition's large payloads for execution `id` (those it
/// already holds are kept).
fn insert_payloads(db: &mut Db, id: i64, p: &Prepared) -> Result<()> {
    if p.payload_hashes.is_empty() {
        return Ok(());
    }
    db.execute(
        "INSERT INTO payloads (execution_id, hash, text) \
         SELECT $1, p.hash, p.text FROM unnest($2::TEXT[], $3::TEXT[]) AS p(hash, text) \
         ON CONFLICT (execution_id, hash) DO NOTHING",
        &[&id, &p.payload_hashes, &p.payload_texts],
    )?;
    Ok(())
}

/// Commits one transition, only on top of `expected_version`.
pub(crate) fn commit(db: &mut Db, p: &Prepared) -> Result<u64> {
    let t = &p.transition;
    let s = &t.state;
    let redrive_count = i64::from(s.redrive_count);
    // The version check and the history insert in ONE statement (one round
    // trip): the insert takes the id from the update, so a stale version
    // updates nothing and inserts nothing.
    let updated = db.query_opt(
        "WITH u AS (UPDATE executions SET status = $3, output = $4, error = $5, cause = $6, \
             stop_date_ms = $7, redrive_count = $8, redrive_date_ms = $9, redrive_status = $10, \
             redrive_status_reason = $11, engine_state = $12, pause = $15, \
             revision_id = COALESCE($16, revision_id), version = version + 1 \
             WHERE arn = $1 AND version = $2 \
             AND ($17::TEXT IS NULL OR (lease_owner = $17 AND lease_token = $18)) \
             RETURNING id, version), \
         h AS (INSERT INTO history (execution_id, event_id, event) \
             SELECT u.id, e.event_id, e.event \
             FROM u, unnest($13::BIGINT[], $14::TEXT[]) AS e(event_id, event)) \
         SELECT id, version FROM u",
        &[
            &t.execution_arn,
            &to_i64(t.expected_version),
            &s.status.as_str(),
            &s.output,
            &s.error,
            &s.cause,
            &s.stop_date_ms,
            &redrive_count,
            &s.redrive_date_ms,
            &s.redrive_status,
            &s.redrive_status_reason,
            &s.engine_state,
            &p.event_ids,
            &p.events,
            &s.pause,
            &s.revision_id,
            &p.fence.as_ref().map(|f| f.owner.as_str()),
            &to_i64(p.fence.as_ref().map_or(0, |f| f.token)),
        ],
    )?;
    let Some(row) = updated else {
        return Err(refusal(db, p)?);
    };
    let id: i64 = row.try_get(0)?;
    let version: i64 = row.try_get(1)?;
    insert_payloads(db, id, p)?;
    apply_timers_and_tasks(db, id, t, true)?;
    Ok(to_u64(version))
}

pub(crate) fn list_executions(
    db: &mut Db,
    filter: &ExecutionFilter,
    page: &PageRequest,
) -> Result<Page<ExecutionSummary>> {
    const LISTING: &str = "executions";
    let before = match &page.next_token {
        Some(t) => decode_int_token(LISTING, t)?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let mut sql = String::from(
        "SELECT id, arn, state_machine_arn, version_arn, alias_arn, name, status, \
         start_date_ms, stop_date_ms, redrive_count, redrive_date_ms, map_run_arn, \
         pause IS NOT NULL FROM executions WHERE id < $1",
    );
    let mut texts: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &filter.state_machine_arn {
        texts.push(("state_machine_arn", a.clone()));
    }
    if let Some(a) = &filter.version_arn {
        texts.push(("version_arn", a.clone()));
    }
    if let Some(a) = &filter.alias_arn {
        texts.push(("alias_arn", a.clone()));
    }
    if let Some(a) = &filter.map_run_arn {
        texts.push(("map_run_arn", a.clone()));
    }
    if let Some(s) = filter.status {
        texts.push(("status", s.as_str().to_string()));
    }
    for (i, (column, _)) in texts.iter().enumerate() {
        sql.push_str(&format!(" AND {column} = ${}", i + 2));
    }
    match filter.redrive {
        Some(RedriveFilter::Redriven) => sql.push_str(" AND redrive_count > 0"),
        Some(RedriveFilter::NotRedriven) => sql.push_str(" AND redrive_count = 0"),
        None => {}
    }
    match filter.paused {
        Some(true) => sql.push_str(" AND pause IS NOT NULL"),
        Some(false) => sql.push_str(" AND pause IS NULL"),
        None => {}
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", texts.len() + 2));
    let rows_wanted = page_rows(limit);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&before];
    for (_, v) in &texts {
        params.push(v);
    }
    params.push(&rows_wanted);
    let rows = db.query(&sql, &params)?;
    let items = rows
        .iter()
        .map(|r| {
            let status: String = r.try_get(6)?;
            let redrive_count: i64 = r.try_get(9)?;
            Ok((
                r.try_get::<_, i64>(0)?,
                ExecutionSummary {
                    arn: r.try_get(1)?,
                    state_machine_arn: r.try_get(2)?,
                    version_arn: r.try_get(3)?,
                    alias_arn: r.try_get(4)?,
                    name: r.try_get(5)?,
                    status: parse_status(&status)?,
                    start_date_ms: r.try_get(7)?,
                    stop_date_ms: r.try_get(8)?,
                    redrive_count: u32::try_from(redrive_count).unwrap_or(0),
                    redrive_date_ms: r.try_get(10)?,
                    map_run_arn: r.try_get(11)?,
                    paused: r.try_get(12)?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let page = paginate(items, limit, LISTING, |(id, _)| id.to_string());
    Ok(Page {
        items: page.items.into_iter().map(|(_, s)| s).collect(),
        next_token: page.next_token,
    })
}

/// The rows of one history page: `(event id, stored JSON text)`, one more
/// than the page when a next page exists, and the execution's row id.
fn history_rows(
    db: &mut Db,
    arn: &str,
    query: &HistoryQuery,
    listing: &str,
) -> Result<(i64, Vec<(u64, String)>)> {
    let id = execution_id(db, arn)?;
    let cursor = match &query.page.next_token {
        Some(t) => Some(decode_int_token(listing, t)?),
        None => None,
    };
    let limit = query.page.limit();
    let (sql, bound) = if query.reverse {
        (
            "SELECT event_id, event FROM history WHERE execution_id = $1 AND event_id < $2 \
             ORDER BY event_id DESC LIMIT $3",
            cursor.unwrap_or(i64::MAX),
        )
    } else {
        (
            "SELECT event_id, event FROM history WHERE execution_id = $1 AND event_id > $2 \
             ORDER BY event_id ASC LIMIT $3",
            cursor.unwrap_or(0),
        )
    };
    let rows = db.query(sql, &[&id, &bound, &page_rows(limit)])?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let event_id: i64 = row.try_get(0)?;
        let text: String = row.try_get(1)?;
        out.push((u64::try_from(event_id).unwrap_or(0), text));
    }
    Ok((id, out))
}

fn history_listing(query: &HistoryQuery) -> &'static str {
    if query.reverse {
        "history-reverse"
    } else {
        "history"
    }
}

/// Reads payload `hash` of execution row `id` (see crate::payloads).
fn load_payload(db: &mut Db, id: i64, hash: &str) -> Result<Option<String>> {
    let row = db.query_opt(
        "SELECT text FROM payloads WHERE execution_id = $1 AND hash = $2",
        &[&id, &hash],
    )?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

pub(crate) fn history(db: &mut Db, arn: &str, query: &HistoryQuery) -> Result<Page<HistoryEvent>> {
    let listing = history_listing(query);
    let (id, rows) = history_rows(db, arn, query, listing)?;
    let mut events = Vec::with_capacity(rows.len());
    for (event_id, text) in rows {
        events.push(parse_event(
            &text,
            i64::try_from(event_id).unwrap_or(i64::MAX),
            arn,
        )?);
    }
    crate::payloads::restore(&mut events, |hash| load_payload(db, id, hash))?;
    Ok(paginate(events, query.page.limit(), listing, |e| {
        e.id.to_string()
    }))
}

/// [`history`] as the stored JSON text of each event, not parsed.
pub(crate) fn history_wire(
    db: &mut Db,
    arn: &str,
    query: &HistoryQuery,
) -> Result<Page<WireEvent>> {
    let listing = history_listing(query);
    let (id, mut rows) = history_rows(db, arn, query, listing)?;
    crate::payloads::restore_text(&mut rows, |hash| load_payload(db, id, hash))?;
    let events = rows
        .into_iter()
        .map(|(id, json)| WireEvent { id, json })
        .collect();
    Ok(paginate(events, query.page.limit(), listing, |e| {
        e.id.to_string()
    }))
}

pub(crate) fn parse_event(text: &str, event_id: i64, arn: &str) -> Result<HistoryEvent> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Corrupt(e.to_string()))?;
    HistoryEvent::from_wire(&v)
        .ok_or_else(|| Error::Corrupt(format!("history event {event_id} of {arn}")))
}

pub(crate) fn active_executions(db: &mut Db, page: &PageRequest) -> Result<Page<String>> {
    const LISTING: &str = "active";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let rows = db.query(
        "SELECT arn FROM executions WHERE status IN ('RUNNING', 'PENDING_REDRIVE') AND arn > $1 \
         ORDER BY arn LIMIT $2",
        &[&after, &page_rows(limit)],
    )?;
    let arns = rows
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect::<Result<Vec<String>>>()?;
    Ok(paginate(arns, limit, LISTING, Clone::clone))
}

pub(crate) fn count_open_executions(db: &mut Db) -> Result<u64> {
    let n: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM executions WHERE status IN ('RUNNING', 'PENDING_REDRIVE')",
            &[],
        )?
        .try_get(0)?;
    Ok(to_u64(n))
}

pub(crate) fn timers(db: &mut Db, arn: &str) -> Result<Vec<Timer>> {
    let id = execution_id(db, arn)?;
    db.query(
        "SELECT timer_id, fire_at_ms FROM timers WHERE execution_id = $1 ORDER BY timer_id",
        &[&id],
    )?
    .iter()
    .map(|r| {
        Ok(Timer {
            timer_id: to_u64(r.try_get(0)?),
            fire_at_ms: r.try_get(1)?,
        })
    })
    .collect()
}

pub(crate) fn due_timers(db: &mut Db, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>> {
    db.query(
        "SELECT e.arn, t.timer_id, t.fire_at_ms FROM timers t \
         JOIN executions e ON e.id = t.execution_id \
         WHERE t.fire_at_ms <= $1 ORDER BY t.fire_at_ms LIMIT $2",
        &[&until_ms, &i64::from(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(DueTimer {
            execution_arn: r.try_get(0)?,
            timer: Timer {
                timer_id: to_u64(r.try_get(1)?),
                fire_at_ms: r.try_get(2)?,
            },
        })
    })
    .collect()
}

pub(crate) fn task_from(row: &Row, at: usize) -> Result<PendingTask> {
    Ok(PendingTask {
        task_id: to_u64(row.try_get(at)?),
        resource: row.try_get(at + 1)?,
        request: row.try_get(at + 2)?,
        token: row.try_get(at + 3)?,
        lease_owner: row.try_get(at + 4)?,
        lease_expires_ms: row.try_get(at + 5)?,
    })
}

pub(crate) fn pending_tasks(db: &mut Db, arn: &str) -> Result<Vec<PendingTask>> {
    let id = execution_id(db, arn)?;
    db.query(
        "SELECT task_id, resource, request, token, lease_owner, lease_expires_ms FROM tasks \
         WHERE execution_id = $1 AND answer IS NULL ORDER BY task_id",
        &[&id],
    )?
    .iter()
    .map(|r| task_from(r, 0))
    .collect()
}

const TASK_WITH_ARN: &str = "SELECT e.arn, t.task_id, t.resource, t.request, t.token, \
     t.lease_owner, t.lease_expires_ms FROM tasks t JOIN executions e ON e.id = t.execution_id";

pub(crate) fn task_by_token(db: &mut Db, token: &str) -> Result<Option<(String, PendingTask)>> {
    db.query_opt(
        &format!("{TASK_WITH_ARN} WHERE t.token = $1 AND t.answer IS NULL"),
        &[&token],
    )?
    .map(|r| Ok((r.try_get(0)?, task_from(&r, 1)?)))
    .transpose()
}

/// Closes an open task by its token: the `answer IS NULL` condition and the
/// write are one statement, so of concurrent answers (from any node)
/// exactly one changes the row; the others wait for its row lock, then
/// find the task closed.
pub(crate) fn answer_task(
    db: &mut Db,
    token: &str,
    answer: &str,
) -> Result<Option<(String, PendingTask)>> {
    let changed = db.query_opt(
        "UPDATE tasks SET answer = $2 WHERE token = $1 AND answer IS NULL \
         RETURNING execution_id, task_id",
        &[&token, &answer],
    )?;
    let Some(row) = changed else {
        return Ok(None);
    };
    let execution_id: i64 = row.try_get(0)?;
    let task_id: i64 = row.try_get(1)?;
    let answered = db
        .query_opt(
            &format!("{TASK_WITH_ARN} WHERE t.execution_id = $1 AND t.task_id = $2"),
            &[&execution_id, &task_id],
        )?
        .map(|r| Ok::<(String, PendingTask), Error>((r.try_get(0)?, task_from(&r, 1)?)))
        .transpose()?;
    if let Some((arn, _)) = &answered {
        notify(
            db,
            &crate::commits::Wakeup::Answer {
                execution_arn: arn.clone(),
            },
        )?;
    }
    Ok(answered)
}

/// Answers recorded and not consumed by a transition yet, by task id.
pub(crate) fn task_answers(db: &mut Db, arn: &str) -> Result<Vec<(u64, String)>> {
    let id = execution_id(db, arn)?;
    db.query(
        "SELECT task_id, answer FROM tasks WHERE execution_id = $1 AND answer IS NOT NULL \
         ORDER BY task_id",
        &[&id],
    )?
    .iter()
    .map(|r| Ok((to_u64(r.try_get(0)?), r.try_get(1)?)))
    .collect()
}

/// Takes free or expired leases (and renews `owner`'s own). Rows another
/// transaction holds are skipped rather than waited for, so claims by
/// several nodes never queue behind each other; the fencing token grows
/// whenever the lease changes hands.
pub(crate) fn claim_leases(
    db: &mut Db,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<Lease>> {
    db.query(
        "UPDATE executions SET lease_owner = $1, lease_expires_ms = $2, \
         lease_token = CASE WHEN lease_owner = $1 THEN lease_token ELSE lease_token + 1 END \
         WHERE id IN (SELECT id FROM executions \
             WHERE status IN ('RUNNING', 'PENDING_REDRIVE') \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_ms < $3) \
             ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING arn, lease_token",
        &[
            &owner,
            &now_ms.saturating_add(lease_ms),
            &now_ms,
            &i64::from(limit),
        ],
    )?
    .iter()
    .map(|r| {
        Ok(Lease {
            execution_arn: r.try_get(0)?,
            token: to_u64(r.try_get(1)?),
        })
    })
    .collect()
}

/// Takes one execution's lease if it is free, expired or `owner`'s own (or
/// whoever holds it, with `force`); its fencing token, or `None` while
/// another node holds it.
pub(crate) fn claim_lease(
    db: &mut Db,
    arn: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    force: bool,
) -> Result<Option<u64>> {
    let claimed = db.query_opt(
        "UPDATE executions SET lease_owner = $2, lease_expires_ms = $3, \
         lease_token = CASE WHEN lease_owner = $2 THEN lease_token ELSE lease_token + 1 END \
         WHERE arn = $1 AND ($5 OR lease_owner IS NULL OR lease_owner = $2 OR lease_expires_ms < $4) \
         RETURNING lease_token",
        &[&arn, &owner, &now_ms.saturating_add(lease_ms), &now_ms, &force],
    )?;
    match claimed {
        Some(row) => Ok(Some(to_u64(row.try_get(0)?))),
        None => {
            execution_id(db, arn)?;
            Ok(None)
        }
    }
}

/// Unconsumed task answers of executions `owner` holds.
pub(crate) fn owned_task_answers(
    db: &mut Db,
    owner: &str,
    limit: u32,
) -> Result<Vec<(String, u64, String)>> {
    db.query(
        "SELECT e.arn, t.task_id, t.answer FROM tasks t JOIN executions e ON e.id = t.execution_id \
         WHERE t.answer IS NOT NULL AND e.lease_owner = $1 ORDER BY t.execution_id, t.task_id \
         LIMIT $2",
        &[&owner, &i64::from(limit)],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, to_u64(r.try_get(1)?), r.try_get(2)?)))
    .collect()
}

pub(crate) fn claim_task(
    db: &mut Db,
    resource: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<(String, PendingTask)>> {
    // Round-robin across executions (see `queue::claim_activity_task`).
    let Some((execution_id, task_id)) =
        super::queue::claim_activity_task(db, resource, owner, now_ms, lease_ms)?
    else {
        return Ok(None);
    };
    db.query_opt(
        &format!("{TASK_WITH_ARN} WHERE t.execution_id = $1 AND t.task_id = $2"),
        &[&execution_id, &task_id],
    )?
    .map(|r| Ok((r.try_get(0)?, task_from(&r, 1)?)))
    .transpose()
}

/// The pending tasks of `resource` (an activity ARN), oldest first, with
/// their executions' ARNs.
pub(crate) fn resource_tasks(
    db: &mut Db,
    resource: &str,
    limit: u32,
) -> Result<Vec<(String, PendingTask)>> {
    db.query(
        &format!(
            "{TASK_WITH_ARN} WHERE t.resource = $1 ORDER BY t.execution_id, t.task_id LIMIT $2"
        ),
        &[&resource, &i64::from(limit)],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, task_from(r, 1)?)))
    .collect()
}

/// Retention: deletes up to `limit` executions that are not active and
/// stopped before `before_ms`, with everything that hangs off them.
pub(crate) fn delete_finished_before(db: &mut Db, before_ms: i64, limit: u32) -> Result<u64> {
    let ids: Vec<i64> = db
        .query(
            "SELECT id FROM executions \
             WHERE status NOT IN ('RUNNING', 'PENDING_REDRIVE') \
             AND stop_date_ms IS NOT NULL AND stop_date_ms < $1 \
             ORDER BY id LIMIT $2",
            &[&before_ms, &i64::from(limit)],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect::<Result<_>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    for sql in [
        "DELETE FROM history WHERE execution_id = ANY($1)",
        "DELETE FROM timers WHERE execution_id = ANY($1)",
        "DELETE FROM tasks WHERE execution_id = ANY($1)",
        "DELETE FROM inbox WHERE execution_id = ANY($1)",
        "DELETE FROM payloads WHERE execution_id = ANY($1)",
        "DELETE FROM map_run_results WHERE map_run_arn IN (SELECT arn FROM map_runs \
         WHERE execution_arn IN (SELECT arn FROM executions WHERE id = ANY($1)))",
        "DELETE FROM map_runs WHERE execution_arn IN (SELECT arn FROM executions WHERE id = ANY($1))",
        "DELETE FROM executions WHERE id = ANY($1)",
    ] {
        db.execute(sql, &[&ids])?;
    }
    Ok(ids.len() as u64)
}

/// Name reuse: deletes the execution `arn` and everything that hangs off
/// it if it is not active and stopped before `before_ms`. Whether it did.
pub(crate) fn delete_finished_execution(db: &mut Db, arn: &str, before_ms: i64) -> Result<bool> {
    let rows = db.query(
        "SELECT id FROM executions WHERE arn = $1 \
         AND status NOT IN ('RUNNING', 'PENDING_REDRIVE') \
         AND stop_date_ms IS NOT NULL AND stop_date_ms < $2 FOR UPDATE",
        &[&arn, &before_ms],
    )?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let id: i64 = row.try_get(0)?;
    for sql in [
        "DELETE FROM history WHERE execution_id = $1",
        "DELETE FROM timers WHERE execution_id = $1",
        "DELETE FROM tasks WHERE execution_id = $1",
        "DELETE FROM inbox WHERE execution_id = $1",
        "DELETE FROM payloads WHERE execution_id = $1",
        "DELETE FROM executions WHERE id = $1",
    ] {
        db.execute(sql, &[&id])?;
    }
    db.execute(
        "DELETE FROM map_run_results WHERE map_run_arn IN \
         (SELECT arn FROM map_runs WHERE execution_arn = $1)",
        &[&arn],
    )?;
    db.execute("DELETE FROM map_runs WHERE execution_arn = $1", &[&arn])?;
    Ok(true)
}

/// Records an inbox event for a running execution and wakes its owner;
/// `false` when it is not running (or does not exist).
pub(crate) fn post_event(db: &mut Db, arn: &str, event: &str, now_ms: i64) -> Result<bool> {
    let changed = db.execute(
        "INSERT INTO inbox (execution_id, event, created_ms) \
         SELECT id, $2, $3 FROM executions \
         WHERE arn = $1 AND status IN ('RUNNING', 'PENDING_REDRIVE')",
        &[&arn, &event, &now_ms],
    )?;
    if changed == 1 {
        notify(
            db,
            &crate::commits::Wakeup::Answer {
                execution_arn: arn.to_string(),
            },
        )?;
    }
    Ok(changed == 1)
}

/// Inbox events of executions `owner` holds, oldest first.
pub(crate) fn owned_inbox(
    db: &mut Db,
    owner: &str,
    limit: u32,
) -> Result<Vec<(i64, String, String)>> {
    db.query(
        "SELECT i.id, e.arn, i.event FROM inbox i JOIN executions e ON e.id = i.execution_id \
         WHERE e.lease_owner = $1 ORDER BY i.id LIMIT $2",
        &[&owner, &i64::from(limit)],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Inbox events of one execution, oldest first.
pub(crate) fn inbox(db: &mut Db, arn: &str) -> Result<Vec<(i64, String)>> {
    let id = execution_id(db, arn)?;
    db.query(
        "SELECT id, event FROM inbox WHERE execution_id = $1 ORDER BY id",
        &[&id],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

pub(crate) fn delete_inbox(db: &mut Db, ids: &[i64]) -> Result<()> {
    db.execute("DELETE FROM inbox WHERE id = ANY($1)", &[&ids])?;
    Ok(())
}
