//! The SQL of every store operation, as functions of a connection. The
//! writer thread calls the write functions inside its batch transaction;
//! the read pool calls the read functions. Listings are keyset queries on an
//! index, fetching one row more than the page to know whether a next page
//! exists.

use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
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

// ---------------------------------------------------------------- helpers

fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

fn parse_json(text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Corrupt(e.to_string())))
        .transpose()
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
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

fn exists(conn: &Connection, sql: &str, key: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row([key], |_| Ok(()))
        .optional()?
        .is_some())
}

// ---------------------------------------------------------- state machines

const REVISION_COLUMNS: &str = "r.revision_id, r.state_machine_arn, r.definition, r.role_arn, \
     r.description, r.logging_configuration, r.tracing_configuration, r.created_ms";

/// Reads a revision from columns `at..at+8`.
fn revision_from(
    row: &Row,
    at: usize,
) -> rusqlite::Result<(Revision, Option<String>, Option<String>)> {
    Ok((
        Revision {
            revision_id: row.get(at)?,
            state_machine_arn: row.get(at + 1)?,
            definition: row.get(at + 2)?,
            role_arn: row.get(at + 3)?,
            description: row.get(at + 4)?,
            logging_configuration: None,
            tracing_configuration: None,
            created_ms: row.get(at + 7)?,
        },
        row.get(at + 5)?,
        row.get(at + 6)?,
    ))
}

fn finish_revision(raw: (Revision, Option<String>, Option<String>)) -> Result<Revision> {
    let (mut r, logging, tracing) = raw;
    r.logging_configuration = parse_json(logging)?;
    r.tracing_configuration = parse_json(tracing)?;
    Ok(r)
}

fn insert_revision(conn: &Connection, r: &Revision) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO revisions (revision_id, state_machine_arn, definition, role_arn, \
         description, logging_configuration, tracing_configuration, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        r.revision_id,
        r.state_machine_arn,
        r.definition,
        r.role_arn,
        r.description,
        json_text(&r.logging_configuration),
        json_text(&r.tracing_configuration),
        r.created_ms
    ])?;
    Ok(())
}

pub(crate) fn get_revision(conn: &Connection, revision_id: &str) -> Result<Option<Revision>> {
    let sql = format!("SELECT {REVISION_COLUMNS} FROM revisions r WHERE r.revision_id = ?1");
    let raw = conn
        .prepare_cached(&sql)?
        .query_row([revision_id], |row| revision_from(row, 0))
        .optional()?;
    raw.map(finish_revision).transpose()
}

fn state_machine_sql(tail: &str) -> String {
    format!(
        "SELECT s.arn, s.name, s.type, s.status, s.creation_date_ms, {REVISION_COLUMNS} \
         FROM state_machines s JOIN revisions r ON r.revision_id = s.revision_id {tail}"
    )
}

type RawStateMachine = (
    String,
    String,
    String,
    String,
    i64,
    (Revision, Option<String>, Option<String>),
);

fn raw_state_machine(row: &Row) -> rusqlite::Result<RawStateMachine> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        revision_from(row, 5)?,
    ))
}

fn finish_state_machine(raw: RawStateMachine) -> Result<StateMachine> {
    let (arn, name, ty, status, creation_date_ms, rev) = raw;
    Ok(StateMachine {
        machine_type: MachineType::parse(&ty)
            .ok_or_else(|| Error::Corrupt(format!("state machine type {ty}")))?,
        status: StateMachineStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("state machine status {status}")))?,
        arn,
        name,
        creation_date_ms,
        revision: finish_revision(rev)?,
    })
}

pub(crate) fn get_state_machine(conn: &Connection, arn: &str) -> Result<Option<StateMachine>> {
    let raw = conn
        .prepare_cached(&state_machine_sql("WHERE s.arn = ?1"))?
        .query_row([arn], raw_state_machine)
        .optional()?;
    raw.map(finish_state_machine).transpose()
}

pub(crate) fn list_state_machines(
    conn: &Connection,
    page: &PageRequest,
) -> Result<Page<StateMachine>> {
    const LISTING: &str = "state-machines";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let mut stmt = conn.prepare_cached(&state_machine_sql(
        "WHERE s.arn > ?1 ORDER BY s.arn LIMIT ?2",
    ))?;
    let raws = stmt
        .query_map(params![after, i64::from(limit) + 1], raw_state_machine)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let items = raws
        .into_iter()
        .map(finish_state_machine)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |s| s.arn.clone()))
}

pub(crate) fn create_state_machine(
    conn: &Connection,
    name: String,
    machine_type: MachineType,
    revision: Revision,
    creation_date_ms: i64,
) -> Result<StateMachine> {
    let arn = revision.state_machine_arn.clone();
    if exists(conn, "SELECT 1 FROM state_machines WHERE arn = ?1", &arn)? {
        return Err(Error::AlreadyExists {
            kind: "state machine",
            id: arn,
        });
    }
    insert_revision(conn, &revision)?;
    conn.prepare_cached(
        "INSERT INTO state_machines (arn, name, type, status, creation_date_ms, revision_id) \
         VALUES (?1, ?2, ?3, 'ACTIVE', ?4, ?5)",
    )?
    .execute(params![
        arn,
        name,
        machine_type.as_str(),
        creation_date_ms,
        revision.revision_id
    ])?;
    Ok(StateMachine {
        arn,
        name,
        machine_type,
        status: StateMachineStatus::Active,
        creation_date_ms,
        revision,
    })
}

pub(crate) fn update_state_machine(conn: &Connection, revision: Revision) -> Result<StateMachine> {
    let arn = revision.state_machine_arn.clone();
    if !exists(conn, "SELECT 1 FROM state_machines WHERE arn = ?1", &arn)? {
        return Err(Error::NotFound {
            kind: "state machine",
            id: arn,
        });
    }
    insert_revision(conn, &revision)?;
    conn.prepare_cached("UPDATE state_machines SET revision_id = ?2 WHERE arn = ?1")?
        .execute(params![arn, revision.revision_id])?;
    get_state_machine(conn, &arn)?.ok_or(Error::NotFound {
        kind: "state machine",
        id: arn,
    })
}

/// Deleting an absent state machine is not an error (AWS answers success).
pub(crate) fn delete_state_machine(conn: &Connection, arn: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM tags WHERE resource_arn = ?1 \
         OR resource_arn IN (SELECT arn FROM versions WHERE state_machine_arn = ?1) \
         OR resource_arn IN (SELECT arn FROM aliases WHERE state_machine_arn = ?1)",
        [arn],
    )?;
    conn.execute("DELETE FROM versions WHERE state_machine_arn = ?1", [arn])?;
    conn.execute("DELETE FROM aliases WHERE state_machine_arn = ?1", [arn])?;
    conn.execute("DELETE FROM state_machines WHERE arn = ?1", [arn])?;
    Ok(())
}

// ---------------------------------------------------------------- versions

fn version_sql(tail: &str) -> String {
    format!(
        "SELECT v.arn, v.state_machine_arn, v.version, v.description, v.creation_date_ms, \
         {REVISION_COLUMNS} FROM versions v JOIN revisions r ON r.revision_id = v.revision_id {tail}"
    )
}

type RawVersion = (
    String,
    String,
    i64,
    Option<String>,
    i64,
    (Revision, Option<String>, Option<String>),
);

fn raw_version(row: &Row) -> rusqlite::Result<RawVersion> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        revision_from(row, 5)?,
    ))
}

fn finish_version(raw: RawVersion) -> Result<Version> {
    let (arn, state_machine_arn, version, description, creation_date_ms, rev) = raw;
    Ok(Version {
        arn,
        state_machine_arn,
        version: to_u64(version),
        description,
        creation_date_ms,
        revision: finish_revision(rev)?,
    })
}

pub(crate) fn get_version(conn: &Connection, arn: &str) -> Result<Option<Version>> {
    let raw = conn
        .prepare_cached(&version_sql("WHERE v.arn = ?1"))?
        .query_row([arn], raw_version)
        .optional()?;
    raw.map(finish_version).transpose()
}

pub(crate) fn list_versions(
    conn: &Connection,
    state_machine_arn: &str,
    page: &PageRequest,
) -> Result<Page<Version>> {
    const LISTING: &str = "versions";
    let before = match &page.next_token {
        Some(t) => decode_int_token(LISTING, t)?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let mut stmt = conn.prepare_cached(&version_sql(
        "WHERE v.state_machine_arn = ?1 AND v.version < ?2 ORDER BY v.version DESC LIMIT ?3",
    ))?;
    let raws = stmt
        .query_map(
            params![state_machine_arn, before, i64::from(limit) + 1],
            raw_version,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let items = raws
        .into_iter()
        .map(finish_version)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |v| v.version.to_string()))
}

pub(crate) fn publish_version(
    conn: &Connection,
    state_machine_arn: &str,
    description: Option<String>,
    creation_date_ms: i64,
) -> Result<Version> {
    let found: Option<(i64, String)> = conn
        .prepare_cached("SELECT next_version, revision_id FROM state_machines WHERE arn = ?1")?
        .query_row([state_machine_arn], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (number, revision_id) = found.ok_or_else(|| Error::NotFound {
        kind: "state machine",
        id: state_machine_arn.to_string(),
    })?;
    let arn = format!("{state_machine_arn}:{number}");
    conn.prepare_cached(
        "INSERT INTO versions (arn, state_machine_arn, version, description, creation_date_ms, \
         revision_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        arn,
        state_machine_arn,
        number,
        description,
        creation_date_ms,
        revision_id
    ])?;
    conn.prepare_cached("UPDATE state_machines SET next_version = ?2 WHERE arn = ?1")?
        .execute(params![state_machine_arn, number + 1])?;
    get_version(conn, &arn)?.ok_or(Error::NotFound {
        kind: "version",
        id: arn,
    })
}

pub(crate) fn delete_version(conn: &Connection, arn: &str) -> Result<()> {
    conn.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
    conn.execute("DELETE FROM versions WHERE arn = ?1", [arn])?;
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

type RawAlias = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

fn raw_alias(row: &Row) -> rusqlite::Result<RawAlias> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn finish_alias(raw: RawAlias) -> Result<Alias> {
    let (arn, state_machine_arn, name, description, routing, creation_date_ms, update_date_ms) =
        raw;
    Ok(Alias {
        arn,
        state_machine_arn,
        name,
        description,
        routing: routing_from_json(&routing)?,
        creation_date_ms,
        update_date_ms,
    })
}

pub(crate) fn get_alias(conn: &Connection, arn: &str) -> Result<Option<Alias>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {ALIAS_COLUMNS} FROM aliases WHERE arn = ?1"
        ))?
        .query_row([arn], raw_alias)
        .optional()?;
    raw.map(finish_alias).transpose()
}

pub(crate) fn list_aliases(
    conn: &Connection,
    state_machine_arn: &str,
    page: &PageRequest,
) -> Result<Page<Alias>> {
    const LISTING: &str = "aliases";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALIAS_COLUMNS} FROM aliases WHERE state_machine_arn = ?1 AND arn > ?2 \
         ORDER BY arn LIMIT ?3"
    ))?;
    let raws = stmt
        .query_map(
            params![state_machine_arn, after, i64::from(limit) + 1],
            raw_alias,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let items = raws
        .into_iter()
        .map(finish_alias)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |a| a.arn.clone()))
}

pub(crate) fn create_alias(conn: &Connection, alias: Alias) -> Result<Alias> {
    if exists(conn, "SELECT 1 FROM aliases WHERE arn = ?1", &alias.arn)? {
        return Err(Error::AlreadyExists {
            kind: "alias",
            id: alias.arn,
        });
    }
    conn.prepare_cached(&format!(
        "INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?
    .execute(params![
        alias.arn,
        alias.state_machine_arn,
        alias.name,
        alias.description,
        routing_to_json(&alias.routing),
        alias.creation_date_ms,
        alias.update_date_ms
    ])?;
    Ok(alias)
}

pub(crate) fn update_alias(conn: &Connection, alias: Alias) -> Result<Alias> {
    let n = conn
        .prepare_cached(
            "UPDATE aliases SET description = ?2, routing = ?3, update_date_ms = ?4 WHERE arn = ?1",
        )?
        .execute(params![
            alias.arn,
            alias.description,
            routing_to_json(&alias.routing),
            alias.update_date_ms
        ])?;
    if n == 0 {
        return Err(Error::NotFound {
            kind: "alias",
            id: alias.arn,
        });
    }
    get_alias(conn, &alias.arn)?.ok_or(Error::NotFound {
        kind: "alias",
        id: alias.arn,
    })
}

pub(crate) fn delete_alias(conn: &Connection, arn: &str) -> Result<()> {
    conn.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
    conn.execute("DELETE FROM aliases WHERE arn = ?1", [arn])?;
    Ok(())
}

// -------------------------------------------------------------------- tags

pub(crate) fn tag_resource(conn: &Connection, arn: &str, tags: &[Tag]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO tags (resource_arn, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
    )?;
    for t in tags {
        stmt.execute(params![arn, t.key, t.value])?;
    }
    Ok(())
}

pub(crate) fn untag_resource(conn: &Connection, arn: &str, keys: &[String]) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")?;
    for k in keys {
        stmt.execute(params![arn, k])?;
    }
    Ok(())
}

pub(crate) fn list_tags(conn: &Connection, arn: &str) -> Result<Vec<Tag>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY key")?;
    let tags = stmt
        .query_map([arn], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(tags)
}

// -------------------------------------------------------------- activities

fn raw_activity(row: &Row) -> rusqlite::Result<(String, String, i64, Option<String>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn finish_activity(raw: (String, String, i64, Option<String>)) -> Result<Activity> {
    Ok(Activity {
        arn: raw.0,
        name: raw.1,
        creation_date_ms: raw.2,
        encryption_configuration: parse_json(raw.3)?,
    })
}

pub(crate) fn create_activity(conn: &Connection, a: Activity) -> Result<Activity> {
    if exists(conn, "SELECT 1 FROM activities WHERE arn = ?1", &a.arn)? {
        return Err(Error::AlreadyExists {
            kind: "activity",
            id: a.arn,
        });
    }
    conn.prepare_cached(
        "INSERT INTO activities (arn, name, creation_date_ms, encryption_configuration) \
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        a.arn,
        a.name,
        a.creation_date_ms,
        json_text(&a.encryption_configuration)
    ])?;
    Ok(a)
}

pub(crate) fn delete_activity(conn: &Connection, arn: &str) -> Result<()> {
    conn.execute("DELETE FROM tags WHERE resource_arn = ?1", [arn])?;
    conn.execute("DELETE FROM activities WHERE arn = ?1", [arn])?;
    Ok(())
}

pub(crate) fn get_activity(conn: &Connection, arn: &str) -> Result<Option<Activity>> {
    let raw = conn
        .prepare_cached(
            "SELECT arn, name, creation_date_ms, encryption_configuration FROM activities \
             WHERE arn = ?1",
        )?
        .query_row([arn], raw_activity)
        .optional()?;
    raw.map(finish_activity).transpose()
}

pub(crate) fn list_activities(conn: &Connection, page: &PageRequest) -> Result<Page<Activity>> {
    const LISTING: &str = "activities";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let mut stmt = conn.prepare_cached(
        "SELECT arn, name, creation_date_ms, encryption_configuration FROM activities \
         WHERE arn > ?1 ORDER BY arn LIMIT ?2",
    )?;
    let raws = stmt
        .query_map(params![after, i64::from(limit) + 1], raw_activity)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let items = raws
        .into_iter()
        .map(finish_activity)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, LISTING, |a| a.arn.clone()))
}

// -------------------------------------------------------------- executions

const EXECUTION_COLUMNS: &str = "arn, state_machine_arn, version_arn, alias_arn, revision_id, \
     name, input, trace_header, start_date_ms, map_run_arn, parent_arn, status, output, error, \
     cause, stop_date_ms, redrive_count, redrive_date_ms, redrive_status, redrive_status_reason, \
     engine_state, version, pause";

fn parse_status(s: &str) -> rusqlite::Result<ExecutionStatus> {
    ExecutionStatus::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown execution status {s}").into(),
        )
    })
}

fn execution_from(row: &Row) -> rusqlite::Result<Execution> {
    let status: String = row.get(11)?;
    let redrive_count: i64 = row.get(16)?;
    let version: i64 = row.get(21)?;
    Ok(Execution {
        arn: row.get(0)?,
        state_machine_arn: row.get(1)?,
        version_arn: row.get(2)?,
        alias_arn: row.get(3)?,
        revision_id: row.get(4)?,
        name: row.get(5)?,
        input: row.get(6)?,
        trace_header: row.get(7)?,
        start_date_ms: row.get(8)?,
        map_run_arn: row.get(9)?,
        parent_arn: row.get(10)?,
        state: ExecutionState {
            status: parse_status(&status)?,
            output: row.get(12)?,
            error: row.get(13)?,
            cause: row.get(14)?,
            stop_date_ms: row.get(15)?,
            redrive_count: u32::try_from(redrive_count).unwrap_or(0),
            redrive_date_ms: row.get(17)?,
            redrive_status: row.get(18)?,
            redrive_status_reason: row.get(19)?,
            engine_state: row.get(20)?,
            pause: row.get(22)?,
            revision_id: None,
        },
        version: to_u64(version),
    })
}

pub(crate) fn get_execution(conn: &Connection, arn: &str) -> Result<Option<Execution>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"
        ))?
        .query_row([arn], execution_from)
        .optional()?)
}

fn execution_id(conn: &Connection, arn: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM executions WHERE arn = ?1")?
        .query_row([arn], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound {
            kind: "execution",
            id: arn.to_string(),
        })
}

/// A transition with its history events already serialised, so that the
/// single writer thread spends its time on SQLite, not on JSON: callers
/// prepare on their own threads, in parallel.
pub(crate) struct Prepared {
    pub(crate) transition: Transition,
    events: Vec<(i64, String)>,
    /// The events' large payloads, written once (see crate::payloads).
    payloads: Vec<crate::payloads::Payload>,
    /// The lease the commit must still hold (a fenced commit).
    pub(crate) fence: Option<Fence>,
}

impl Prepared {
    pub(crate) fn new(mut transition: Transition) -> Prepared {
        let mut events = std::mem::take(&mut transition.events);
        let payloads = crate::payloads::offload(&mut events);
        let events = events
            .iter()
            .map(|e| (to_i64(e.id), wire_json(e)))
            .collect();
        Prepared {
            transition,
            events,
            payloads,
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

/// Writes a transition's events, timers and tasks for execution `id`.
fn apply_changes(conn: &Connection, id: i64, p: &Prepared) -> Result<()> {
    let t = &p.transition;
    if !p.payloads.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT OR IGNORE INTO payloads (execution_id, hash, text) VALUES (?1, ?2, ?3)",
        )?;
        for payload in &p.payloads {
            stmt.execute(params![id, payload.hash, payload.text])?;
        }
    }
    insert_events(conn, id, &p.events)?;
    for change in &t.timers {
        match change {
            TimerChange::Arm(timer) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO timers (execution_id, timer_id, fire_at_ms) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![id, to_i64(timer.timer_id), timer.fire_at_ms])?;
            }
            TimerChange::Cancel { timer_id } => {
                conn.prepare_cached(
                    "DELETE FROM timers WHERE execution_id = ?1 AND timer_id = ?2",
                )?
                .execute(params![id, to_i64(*timer_id)])?;
            }
        }
    }
    for change in &t.tasks {
        match change {
            TaskChange::Queue(task) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO tasks (execution_id, task_id, resource, request, \
                     token, lease_owner, lease_expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    id,
                    to_i64(task.task_id),
                    task.resource,
                    task.request,
                    task.token,
                    task.lease_owner,
                    task.lease_expires_ms
                ])?;
            }
            TaskChange::Remove { task_id } => {
                conn.prepare_cached("DELETE FROM tasks WHERE execution_id = ?1 AND task_id = ?2")?
                    .execute(params![id, to_i64(*task_id)])?;
            }
        }
    }
    if !t.state.status.is_active() {
        // A finished execution waits for nothing: drop what is left so the
        // timer service and task dispatch never see it again.
        if !t.timers.is_empty()
            || has_rows(conn, "SELECT 1 FROM timers WHERE execution_id = ?1", id)?
        {
            conn.prepare_cached("DELETE FROM timers WHERE execution_id = ?1")?
                .execute([id])?;
        }
        if !t.tasks.is_empty() || has_rows(conn, "SELECT 1 FROM tasks WHERE execution_id = ?1", id)?
        {
            conn.prepare_cached("DELETE FROM tasks WHERE execution_id = ?1")?
                .execute([id])?;
        }
    }
    Ok(())
}

/// Rows per multi-row history INSERT, largest first: a transition's events
/// go in as few statements as these sizes allow (a chain10 execution's 22
/// events in 4 instead of 22), each statement prepared once and cached.
const EVENT_CHUNKS: [usize; 3] = [16, 4, 1];

/// The multi-row INSERT of `rows` history events, built once per size.
fn insert_events_sql(rows: usize) -> &'static str {
    static SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        (0..=EVENT_CHUNKS[0])
            .map(|rows| {
                let values: Vec<String> = (0..rows)
                    .map(|i| format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                    .collect();
                format!(
                    "INSERT INTO history (execution_id, event_id, event) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &SQL[rows]
}

/// Writes history events of execution `id`, several rows per statement:
/// under load the writer thread's time goes to SQLite's per-statement
/// work, and one statement per event multiplied it.
fn insert_events(conn: &Connection, id: i64, events: &[(i64, String)]) -> Result<()> {
    let mut rest = events;
    for rows in EVENT_CHUNKS {
        if rest.len() < rows {
            continue;
        }
        let mut stmt = conn.prepare_cached(insert_events_sql(rows))?;
        while rest.len() >= rows {
            let (chunk, tail) = rest.split_at(rows);
            for (i, (event_id, json)) in chunk.iter().enumerate() {
                stmt.raw_bind_parameter(3 * i + 1, id)?;
                stmt.raw_bind_parameter(3 * i + 2, event_id)?;
                stmt.raw_bind_parameter(3 * i + 3, json.as_str())?;
            }
            stmt.raw_execute()?;
            rest = tail;
        }
    }
    Ok(())
}

fn has_rows(conn: &Connection, sql: &str, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(crate) fn create_execution(
    conn: &Connection,
    e: &NewExecution,
    first: &Prepared,
) -> Result<Created> {
    create_execution_leased(conn, e, first, None)
}

/// Creates an execution, optionally leased to `(owner, until_ms)`.
pub(crate) fn create_execution_leased(
    conn: &Connection,
    e: &NewExecution,
    first: &Prepared,
    lease: Option<&(String, i64)>,
) -> Result<Created> {
    if exists(conn, "SELECT 1 FROM executions WHERE arn = ?1", &e.arn)? {
        if let Some(existing) = get_execution(conn, &e.arn)? {
            return Ok(Created::Existing(Box::new(existing)));
        }
    }
    let s = &first.transition.state;
    conn.prepare_cached(
        "INSERT INTO executions (arn, state_machine_arn, version_arn, alias_arn, revision_id, \
         name, input, trace_header, start_date_ms, map_run_arn, parent_arn, status, output, \
         error, cause, stop_date_ms, redrive_count, redrive_date_ms, redrive_status, \
         redrive_status_reason, engine_state, version, lease_owner, lease_expires_ms, \
         lease_token) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, 1, ?22, ?23, CASE WHEN ?22 IS NULL THEN 0 ELSE 1 END)",
    )?
    .execute(params![
        e.arn,
        e.state_machine_arn,
        e.version_arn,
        e.alias_arn,
        e.revision_id,
        e.name,
        e.input,
        e.trace_header,
        e.start_date_ms,
        e.map_run_arn,
        e.parent_arn,
        s.status.as_str(),
        s.output,
        s.error,
        s.cause,
        s.stop_date_ms,
        s.redrive_count,
        s.redrive_date_ms,
        s.redrive_status,
        s.redrive_status_reason,
        s.engine_state,
        lease.map(|(owner, _)| owner),
        lease.map(|(_, until)| until),
    ])?;
    let id = conn.last_insert_rowid();
    apply_changes(conn, id, first)?;
    Ok(Created::New)
}

pub(crate) fn commit(conn: &Connection, p: &Prepared) -> Result<u64> {
    let t = &p.transition;
    let s = &t.state;
    let updated: Option<(i64, i64)> = conn
        .prepare_cached(
            "UPDATE executions SET status = ?3, output = ?4, error = ?5, cause = ?6, \
             stop_date_ms = ?7, redrive_count = ?8, redrive_date_ms = ?9, redrive_status = ?10, \
             redrive_status_reason = ?11, engine_state = ?12, pause = ?13, \
             revision_id = COALESCE(?14, revision_id), version = version + 1 \
             WHERE arn = ?1 AND version = ?2 \
             AND (?15 IS NULL OR (lease_owner = ?15 AND lease_token = ?16)) \
             RETURNING id, version",
        )?
        .query_row(
            params![
                t.execution_arn,
                to_i64(t.expected_version),
                s.status.as_str(),
                s.output,
                s.error,
                s.cause,
                s.stop_date_ms,
                s.redrive_count,
                s.redrive_date_ms,
                s.redrive_status,
                s.redrive_status_reason,
                s.engine_state,
                s.pause,
                s.revision_id,
                p.fence.as_ref().map(|f| f.owner.as_str()),
                to_i64(p.fence.as_ref().map_or(0, |f| f.token)),
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, version)) = updated else {
        return Err(refusal(conn, p)?);
    };
    apply_changes(conn, id, p)?;
    Ok(to_u64(version))
}

/// Why a commit updated no row: the execution is gone (`NotFound`), its
/// lease is no longer the fence's (`LeaseLost`, told first), or it moved on
/// (`Conflict`).
fn refusal(conn: &Connection, p: &Prepared) -> Result<Error> {
    let t = &p.transition;
    let row: Option<(Option<String>, i64)> = conn
        .prepare_cached("SELECT lease_owner, lease_token FROM executions WHERE arn = ?1")?
        .query_row(params![t.execution_arn], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((owner, token)) = row else {
        return Ok(Error::NotFound {
            kind: "execution",
            id: t.execution_arn.clone(),
        });
    };
    if let Some(fence) = &p.fence {
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

pub(crate) fn list_executions(
    conn: &Connection,
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
         pause IS NOT NULL FROM executions WHERE id < ?1",
    );
    let mut args: Vec<Sql> = vec![Sql::Integer(before)];
    let mut push = |sql: &mut String, clause: &str, v: Sql| {
        args.push(v);
        sql.push_str(&format!(" AND {clause} ?{}", args.len()));
    };
    if let Some(a) = &filter.state_machine_arn {
        push(&mut sql, "state_machine_arn =", Sql::Text(a.clone()));
    }
    if let Some(a) = &filter.version_arn {
        push(&mut sql, "version_arn =", Sql::Text(a.clone()));
    }
    if let Some(a) = &filter.alias_arn {
        push(&mut sql, "alias_arn =", Sql::Text(a.clone()));
    }
    if let Some(a) = &filter.map_run_arn {
        push(&mut sql, "map_run_arn =", Sql::Text(a.clone()));
    }
    if let Some(s) = filter.status {
        push(&mut sql, "status =", Sql::Text(s.as_str().into()));
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
    args.push(Sql::Integer(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));

    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            let status: String = r.get(6)?;
            let redrive_count: i64 = r.get(9)?;
            Ok((
                r.get::<_, i64>(0)?,
                ExecutionSummary {
                    arn: r.get(1)?,
                    state_machine_arn: r.get(2)?,
                    version_arn: r.get(3)?,
                    alias_arn: r.get(4)?,
                    name: r.get(5)?,
                    status: parse_status(&status)?,
                    start_date_ms: r.get(7)?,
                    stop_date_ms: r.get(8)?,
                    redrive_count: u32::try_from(redrive_count).unwrap_or(0),
                    redrive_date_ms: r.get(10)?,
                    map_run_arn: r.get(11)?,
                    paused: r.get(12)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let page = paginate(rows, limit, LISTING, |(id, _)| id.to_string());
    Ok(Page {
        items: page.items.into_iter().map(|(_, s)| s).collect(),
        next_token: page.next_token,
    })
}

/// The rows of one history page: `(event id, stored JSON text)`, one more
/// than the page when a next page exists, and the execution's row id.
fn history_rows(
    conn: &Connection,
    arn: &str,
    query: &HistoryQuery,
    listing: &str,
) -> Result<(i64, Vec<(u64, String)>)> {
    let id = execution_id(conn, arn)?;
    let cursor = match &query.page.next_token {
        Some(t) => Some(decode_int_token(listing, t)?),
        None => None,
    };
    let limit = query.page.limit();
    let (sql, bound) = if query.reverse {
        (
            "SELECT event_id, event FROM history WHERE execution_id = ?1 AND event_id < ?2 \
             ORDER BY event_id DESC LIMIT ?3",
            cursor.unwrap_or(i64::MAX),
        )
    } else {
        (
            "SELECT event_id, event FROM history WHERE execution_id = ?1 AND event_id > ?2 \
             ORDER BY event_id ASC LIMIT ?3",
            cursor.unwrap_or(0),
        )
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params![id, bound, i64::from(limit) + 1], |r| {
            Ok((to_u64(r.get::<_, i64>(0)?), r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((id, rows))
}

fn history_listing(query: &HistoryQuery) -> &'static str {
    if query.reverse {
        "history-reverse"
    } else {
        "history"
    }
}

/// Reads payload `hash` of execution row `id` (see crate::payloads).
fn load_payload(conn: &Connection, id: i64, hash: &str) -> Result<Option<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT text FROM payloads WHERE execution_id = ?1 AND hash = ?2")?;
    let mut rows = stmt.query(params![id, hash])?;
    match rows.next()? {
        Some(row) => Ok(Some(row.get(0)?)),
        None => Ok(None),
    }
}

pub(crate) fn history(
    conn: &Connection,
    arn: &str,
    query: &HistoryQuery,
) -> Result<Page<HistoryEvent>> {
    let listing = history_listing(query);
    let (id, rows) = history_rows(conn, arn, query, listing)?;
    let mut events = Vec::with_capacity(rows.len());
    for (event_id, text) in rows {
        let v: Value = serde_json::from_str(&text).map_err(|e| Error::Corrupt(e.to_string()))?;
        let e = HistoryEvent::from_wire(&v)
            .ok_or_else(|| Error::Corrupt(format!("history event {event_id} of {arn}")))?;
        events.push(e);
    }
    crate::payloads::restore(&mut events, |hash| load_payload(conn, id, hash))?;
    Ok(paginate(events, query.page.limit(), listing, |e| {
        e.id.to_string()
    }))
}

/// [`history`] as the stored JSON text of each event, not parsed.
pub(crate) fn history_wire(
    conn: &Connection,
    arn: &str,
    query: &HistoryQuery,
) -> Result<Page<WireEvent>> {
    let listing = history_listing(query);
    let (id, mut rows) = history_rows(conn, arn, query, listing)?;
    crate::payloads::restore_text(&mut rows, |hash| load_payload(conn, id, hash))?;
    let events = rows
        .into_iter()
        .map(|(id, json)| WireEvent { id, json })
        .collect();
    Ok(paginate(events, query.page.limit(), listing, |e| {
        e.id.to_string()
    }))
}

pub(crate) fn active_executions(conn: &Connection, page: &PageRequest) -> Result<Page<String>> {
    const LISTING: &str = "active";
    let after = match &page.next_token {
        Some(t) => decode_token(LISTING, t)?,
        None => String::new(),
    };
    let limit = page.limit();
    let mut stmt = conn.prepare_cached(
        "SELECT arn FROM executions WHERE status IN ('RUNNING', 'PENDING_REDRIVE') AND arn > ?1 \
         ORDER BY arn LIMIT ?2",
    )?;
    let arns = stmt
        .query_map(params![after, i64::from(limit) + 1], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(paginate(arns, limit, LISTING, Clone::clone))
}

/// A range count of the `executions_active` partial index.
pub(crate) fn count_open_executions(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM executions WHERE status IN ('RUNNING', 'PENDING_REDRIVE')",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn timers(conn: &Connection, arn: &str) -> Result<Vec<Timer>> {
    let id = execution_id(conn, arn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT timer_id, fire_at_ms FROM timers WHERE execution_id = ?1 ORDER BY timer_id",
    )?;
    let timers = stmt
        .query_map([id], |r| {
            Ok(Timer {
                timer_id: to_u64(r.get(0)?),
                fire_at_ms: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(timers)
}

pub(crate) fn due_timers(conn: &Connection, until_ms: i64, limit: u32) -> Result<Vec<DueTimer>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.arn, t.timer_id, t.fire_at_ms FROM timers t \
         JOIN executions e ON e.id = t.execution_id \
         WHERE t.fire_at_ms <= ?1 ORDER BY t.fire_at_ms LIMIT ?2",
    )?;
    let timers = stmt
        .query_map(params![until_ms, i64::from(limit)], |r| {
            Ok(DueTimer {
                execution_arn: r.get(0)?,
                timer: Timer {
                    timer_id: to_u64(r.get(1)?),
                    fire_at_ms: r.get(2)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(timers)
}

fn task_from(row: &Row, at: usize) -> rusqlite::Result<PendingTask> {
    Ok(PendingTask {
        task_id: to_u64(row.get(at)?),
        resource: row.get(at + 1)?,
        request: row.get(at + 2)?,
        token: row.get(at + 3)?,
        lease_owner: row.get(at + 4)?,
        lease_expires_ms: row.get(at + 5)?,
    })
}

pub(crate) fn pending_tasks(conn: &Connection, arn: &str) -> Result<Vec<PendingTask>> {
    let id = execution_id(conn, arn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT task_id, resource, request, token, lease_owner, lease_expires_ms FROM tasks \
         WHERE execution_id = ?1 AND answer IS NULL ORDER BY task_id",
    )?;
    let tasks = stmt
        .query_map([id], |r| task_from(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(tasks)
}

/// Closes an open task by its token: the `answer IS NULL` condition and the
/// write are one statement in the writer's transaction, so exactly one of
/// concurrent answers changes the row.
pub(crate) fn answer_task(
    conn: &Connection,
    token: &str,
    answer: &str,
) -> Result<Option<(String, PendingTask)>> {
    let changed = conn
        .prepare_cached("UPDATE tasks SET answer = ?2 WHERE token = ?1 AND answer IS NULL")?
        .execute(params![token, answer])?;
    if changed != 1 {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(
            "SELECT e.arn, t.task_id, t.resource, t.request, t.token, t.lease_owner, \
             t.lease_expires_ms FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.token = ?1",
        )?
        .query_row([token], |r| Ok((r.get(0)?, task_from(r, 1)?)))
        .optional()?)
}

pub(crate) fn task_answers(conn: &Connection, arn: &str) -> Result<Vec<(u64, String)>> {
    let id = execution_id(conn, arn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT task_id, answer FROM tasks WHERE execution_id = ?1 AND answer IS NOT NULL \
         ORDER BY task_id",
    )?;
    let answers = stmt
        .query_map([id], |r| Ok((to_u64(r.get(0)?), r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(answers)
}

pub(crate) fn task_by_token(
    conn: &Connection,
    token: &str,
) -> Result<Option<(String, PendingTask)>> {
    Ok(conn
        .prepare_cached(
            "SELECT e.arn, t.task_id, t.resource, t.request, t.token, t.lease_owner, \
             t.lease_expires_ms FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.token = ?1 AND t.answer IS NULL",
        )?
        .query_row([token], |r| Ok((r.get(0)?, task_from(r, 1)?)))
        .optional()?)
}

/// Takes free or expired leases (and renews `owner`'s own); the fencing
/// token grows whenever the lease changes hands.
pub(crate) fn claim_leases(
    conn: &Connection,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<Lease>> {
    // OR FAIL: nothing here can violate a constraint, and a statement that
    // could abort (lease_token is NOT NULL) makes SQLite keep a statement
    // journal in memory of every page it changes: a renewal over 100,000
    // executions held tens of MB for the duration.
    let mut stmt = conn.prepare_cached(
        "UPDATE OR FAIL executions SET lease_owner = ?1, lease_expires_ms = ?2, \
         lease_token = CASE WHEN lease_owner = ?1 THEN lease_token ELSE lease_token + 1 END \
         WHERE id IN (SELECT id FROM executions \
             WHERE status IN ('RUNNING', 'PENDING_REDRIVE') \
             AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_ms < ?3) \
             LIMIT ?4) \
         RETURNING arn, lease_token",
    )?;
    let leases = stmt
        .query_map(
            params![
                owner,
                now_ms.saturating_add(lease_ms),
                now_ms,
                i64::from(limit)
            ],
            |r| {
                Ok(Lease {
                    execution_arn: r.get(0)?,
                    token: to_u64(r.get(1)?),
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<Lease>>>()?;
    Ok(leases)
}

/// Takes one execution's lease if it is free, expired or `owner`'s own (or
/// whoever holds it, with `force`); its fencing token, or `None` while
/// another node holds it.
pub(crate) fn claim_lease(
    conn: &Connection,
    arn: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    force: bool,
) -> Result<Option<u64>> {
    let token: Option<i64> = conn
        .prepare_cached(
            "UPDATE executions SET lease_owner = ?2, lease_expires_ms = ?3, \
             lease_token = CASE WHEN lease_owner = ?2 THEN lease_token ELSE lease_token + 1 END \
             WHERE arn = ?1 AND (?5 OR lease_owner IS NULL OR lease_owner = ?2 OR lease_expires_ms < ?4) \
             RETURNING lease_token",
        )?
        .query_row(
            params![arn, owner, now_ms.saturating_add(lease_ms), now_ms, force],
            |r| r.get(0),
        )
        .optional()?;
    match token {
        Some(t) => Ok(Some(to_u64(t))),
        None => {
            execution_id(conn, arn)?;
            Ok(None)
        }
    }
}

/// Unconsumed task answers of executions `owner` holds.
pub(crate) fn owned_task_answers(
    conn: &Connection,
    owner: &str,
    limit: u32,
) -> Result<Vec<(String, u64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.arn, t.task_id, t.answer FROM tasks t JOIN executions e ON e.id = t.execution_id \
         WHERE t.answer IS NOT NULL AND e.lease_owner = ?1 ORDER BY t.execution_id, t.task_id \
         LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![owner, i64::from(limit)], |r| {
            Ok((r.get(0)?, to_u64(r.get(1)?), r.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<(String, u64, String)>>>()?;
    Ok(rows)
}

pub(crate) fn claim_task(
    conn: &Connection,
    resource: &str,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<(String, PendingTask)>> {
    // Round-robin across executions (see `queue::claim_activity_task`).
    let Some((execution_id, task_id)) =
        super::queue::claim_activity_task(conn, resource, owner, now_ms, lease_ms)?
    else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached(
            "SELECT e.arn, t.task_id, t.resource, t.request, t.token, t.lease_owner, \
             t.lease_expires_ms FROM tasks t JOIN executions e ON e.id = t.execution_id \
             WHERE t.execution_id = ?1 AND t.task_id = ?2",
        )?
        .query_row(params![execution_id, task_id], |r| {
            Ok((r.get(0)?, task_from(r, 1)?))
        })
        .optional()?)
}

/// Records an inbox event for a running execution; `false` when it is not
/// running (or does not exist).
pub(crate) fn post_event(conn: &Connection, arn: &str, event: &str, now_ms: i64) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO inbox (execution_id, event, created_ms) \
             SELECT id, ?2, ?3 FROM executions \
             WHERE arn = ?1 AND status IN ('RUNNING', 'PENDING_REDRIVE')",
        )?
        .execute(params![arn, event, now_ms])?;
    Ok(changed == 1)
}

/// Inbox events of executions `owner` holds, oldest first.
pub(crate) fn owned_inbox(
    conn: &Connection,
    owner: &str,
    limit: u32,
) -> Result<Vec<(i64, String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, e.arn, i.event FROM inbox i JOIN executions e ON e.id = i.execution_id \
         WHERE e.lease_owner = ?1 ORDER BY i.id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![owner, i64::from(limit)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Inbox events of one execution, oldest first.
pub(crate) fn inbox(conn: &Connection, arn: &str) -> Result<Vec<(i64, String)>> {
    let id = execution_id(conn, arn)?;
    let mut stmt =
        conn.prepare_cached("SELECT id, event FROM inbox WHERE execution_id = ?1 ORDER BY id")?;
    let rows = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn delete_inbox(conn: &Connection, ids: &[i64]) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM inbox WHERE id = ?1")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every count of events, across the chunk sizes and their remainders,
    /// lands whole, in order and under its own execution.
    #[test]
    fn history_events_are_written_in_chunks_whole_and_in_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE history (execution_id INTEGER NOT NULL, event_id INTEGER NOT NULL, \
             event TEXT NOT NULL, PRIMARY KEY (execution_id, event_id)) WITHOUT ROWID",
        )
        .unwrap();
        for n in 0..=41i64 {
            let events: Vec<(i64, String)> = (1..=n)
                .map(|i| (i, format!("{{\"execution\":{n},\"id\":{i}}}")))
                .collect();
            insert_events(&conn, n, &events).unwrap();
            let mut stmt = conn
                .prepare(
                    "SELECT event_id, event FROM history WHERE execution_id = ?1 ORDER BY event_id",
                )
                .unwrap();
            let stored: Vec<(i64, String)> = stmt
                .query_map([n], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(stored, events, "{n} events");
        }
    }
}
