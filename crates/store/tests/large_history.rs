//! An execution of 1,000,000 history events (`[limits] history_events`
//! raised far past AWS's 25,000) pages through the store's history in
//! pages of at most 1,000 events, forwards and backwards, each event once
//! and in order, on SQLite and on PostgreSQL. Each page is one key-set
//! query (`event_id > cursor … LIMIT n`), so a reader holds one page at a
//! time whatever the history's length.
//!
//! And a large payload carried unchanged by many events (a Pass chain's
//! entered and exited events) is stored once, not once per event, and
//! served back whole.

use serde_json::json;
use statecraft_store::postgres::{PostgresOptions, PostgresStore};
use statecraft_store::sqlite::{SqliteOptions, SqliteStore};
use statecraft_store::{
    Created, ExecutionState, ExecutionStatus, HistoryQuery, NewExecution, PageRequest, Store,
    Transition,
};
use statecraft_testsupport::pg;
use statecraft_types::{EventType, HistoryEvent};

const EVENTS: u64 = 1_000_000;
/// Events committed per transition (the runtime commits a turn's events
/// together).
const BATCH: u64 = 10_000;
const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:loop:million";

fn state(status: ExecutionStatus) -> ExecutionState {
    ExecutionState {
        status,
        output: None,
        error: None,
        cause: None,
        stop_date_ms: None,
        redrive_count: 0,
        redrive_date_ms: None,
        redrive_status: None,
        redrive_status_reason: None,
        engine_state: "{}".into(),
        pause: None,
        revision_id: None,
    }
}

/// The events: details on the first and on every 1,000th (the paging
/// does not look at them; leaving most out keeps a debug build's JSON work
/// small).
fn event(id: u64) -> HistoryEvent {
    let (event_type, details) = match id {
        1 => (
            EventType::ExecutionStarted,
            Some(json!({"input": "{}", "inputDetails": {"truncated": false}, "roleArn": "r"})),
        ),
        _ if id.is_multiple_of(2) => (EventType::PassStateEntered, None),
        _ => (EventType::PassStateExited, None),
    };
    let details = details.or_else(|| {
        id.is_multiple_of(1000)
            .then(|| json!({"name": "Inc", "input": id.to_string()}))
    });
    HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp_ms: 1_700_000_000_000 + id as i64,
        event_type,
        details: details.and_then(|d| d.as_object().cloned()),
    }
}

fn write_million(store: &dyn Store) {
    let new = NewExecution {
        arn: ARN.into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:loop".into(),
        version_arn: None,
        alias_arn: None,
        revision_id: "rev".into(),
        name: "million".into(),
        input: "{}".into(),
        trace_header: None,
        start_date_ms: 1_700_000_000_000,
        map_run_arn: None,
        parent_arn: None,
    };
    let first = Transition {
        execution_arn: ARN.into(),
        expected_version: 0,
        state: state(ExecutionStatus::Running),
        events: (1..=BATCH).map(event).collect(),
        timers: vec![],
        tasks: vec![],
    };
    let created = store.create_execution(new, first).wait().unwrap();
    assert!(matches!(created, Created::New));
    let mut version = 1;
    let mut next = BATCH + 1;
    while next <= EVENTS {
        let t = Transition {
            execution_arn: ARN.into(),
            expected_version: version,
            state: state(ExecutionStatus::Running),
            events: (next..next + BATCH).map(event).collect(),
            timers: vec![],
            tasks: vec![],
        };
        version = store.commit(t).wait().unwrap();
        next += BATCH;
    }
}

/// Reads the whole history a page at a time: every id once, in order.
fn page_through(store: &dyn Store, reverse: bool) {
    let mut expected = if reverse { EVENTS } else { 1 };
    let mut pages = 0u64;
    let mut token = None;
    loop {
        let page = store
            .history(
                ARN,
                &HistoryQuery {
                    page: PageRequest {
                        max_results: 1000,
                        next_token: token,
                    },
                    reverse,
                },
            )
            .unwrap();
        assert!(page.items.len() <= 1000);
        for e in &page.items {
            assert_eq!(e.id, expected, "page {pages}");
            assert_eq!(e.previous_event_id, e.id - 1);
            if reverse {
                expected -= 1;
            } else {
                expected += 1;
            }
        }
        pages += 1;
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, EVENTS / 1000);
    assert_eq!(expected, if reverse { 0 } else { EVENTS + 1 });
}

fn a_million_events_page_through(store: &dyn Store) {
    write_million(store);
    page_through(store, false);
    page_through(store, true);
    // The newest page carries its details whole.
    let newest = store
        .history(
            ARN,
            &HistoryQuery {
                page: PageRequest::first(3),
                reverse: true,
            },
        )
        .unwrap();
    let last = &newest.items[0];
    assert_eq!(last.id, EVENTS);
    assert_eq!(
        last.details.as_ref().unwrap()["input"],
        json!(EVENTS.to_string())
    );
}

#[test]
fn a_million_events_page_through_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
    a_million_events_page_through(&store);
}

#[test]
fn a_million_events_page_through_on_postgres() {
    let url = pg::fresh_database("million");
    let store = PostgresStore::open(&PostgresOptions::new(url.as_str()))
        .unwrap_or_else(|e| panic!("opening the PostgreSQL store at {url}: {e}"));
    a_million_events_page_through(&store);
}

/// (rows in `payloads`, bytes of all history rows, bytes of all payloads).
type Footprint = (i64, i64, i64);

/// Five events carry one 1 MiB payload, across two transitions, and a
/// sixth carries another: two payload rows, a history of a few hundred
/// bytes, and every event read back whole.
fn a_payload_is_stored_once(store: &dyn Store, footprint: impl Fn() -> Footprint) {
    const PAYLOAD_ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:loop:payload";
    let big = format!("{{\"blob\":\"{}\"}}", "b".repeat(1 << 20));
    let other = format!("{{\"blob\":\"{}\"}}", "c".repeat(1 << 20));
    let carrying = |id: u64, field: &str, text: &str| HistoryEvent {
        id,
        previous_event_id: id - 1,
        timestamp_ms: 1_700_000_000_000,
        event_type: if field == "input" {
            EventType::PassStateEntered
        } else {
            EventType::PassStateExited
        },
        details: json!({"name": "P", field: text}).as_object().cloned(),
    };
    let mut started = carrying(1, "input", &big);
    started.event_type = EventType::ExecutionStarted;
    let new = NewExecution {
        arn: PAYLOAD_ARN.into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:loop".into(),
        version_arn: None,
        alias_arn: None,
        revision_id: "rev".into(),
        name: "payload".into(),
        input: big.clone(),
        trace_header: None,
        start_date_ms: 1_700_000_000_000,
        map_run_arn: None,
        parent_arn: None,
    };
    let first = vec![
        started,
        carrying(2, "input", &big),
        carrying(3, "output", &big),
    ];
    let second = vec![
        carrying(4, "input", &big),
        carrying(5, "output", &big),
        carrying(6, "output", &other),
    ];
    let mut written = first.clone();
    written.extend(second.clone());
    let created = store
        .create_execution(
            new,
            Transition {
                execution_arn: PAYLOAD_ARN.into(),
                expected_version: 0,
                state: state(ExecutionStatus::Running),
                events: first,
                timers: vec![],
                tasks: vec![],
            },
        )
        .wait()
        .unwrap();
    assert!(matches!(created, Created::New));
    store
        .commit(Transition {
            execution_arn: PAYLOAD_ARN.into(),
            expected_version: 1,
            state: state(ExecutionStatus::Running),
            events: second,
            timers: vec![],
            tasks: vec![],
        })
        .wait()
        .unwrap();
    let read = store
        .history(PAYLOAD_ARN, &HistoryQuery::default())
        .unwrap()
        .items;
    assert!(read == written, "the history came back changed");
    // The text GetExecutionHistory sends as it is: the wire shape of each
    // event, payloads put back, without the store parsing anything.
    let served: Vec<serde_json::Value> = store
        .history_wire(PAYLOAD_ARN, &HistoryQuery::default())
        .unwrap()
        .items
        .iter()
        .map(|e| serde_json::from_str(&e.json).expect("stored text is JSON"))
        .collect();
    let expected: Vec<serde_json::Value> = written.iter().map(|e| e.to_wire()).collect();
    assert!(
        served == expected,
        "the stored text is not the events' wire shape"
    );
    let reversed = store
        .history(
            PAYLOAD_ARN,
            &HistoryQuery {
                page: PageRequest::first(2),
                reverse: true,
            },
        )
        .unwrap()
        .items;
    assert!(reversed[0] == written[5] && reversed[1] == written[4]);
    let (rows, history_bytes, payload_bytes) = footprint();
    assert_eq!(rows, 2, "two distinct payloads");
    assert!(
        history_bytes < 4_000,
        "the events keep references: {history_bytes} bytes"
    );
    assert_eq!(payload_bytes, (big.len() + other.len()) as i64);
}

#[test]
fn a_payload_is_stored_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
    let db = dir.path().join(statecraft_store::sqlite::DB_FILE);
    a_payload_is_stored_once(&store, || {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row(
            "SELECT (SELECT COUNT(*) FROM payloads), \
             (SELECT COALESCE(SUM(LENGTH(event)), 0) FROM history), \
             (SELECT COALESCE(SUM(LENGTH(text)), 0) FROM payloads)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    });
}

#[test]
fn a_payload_is_stored_once_on_postgres() {
    let url = pg::fresh_database("payload");
    let store = PostgresStore::open(&PostgresOptions::new(url.as_str()))
        .unwrap_or_else(|e| panic!("opening the PostgreSQL store at {url}: {e}"));
    a_payload_is_stored_once(&store, || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let row = c
            .query_one(
                "SELECT (SELECT COUNT(*) FROM payloads), \
                 (SELECT COALESCE(SUM(LENGTH(event)), 0) FROM history)::BIGINT, \
                 (SELECT COALESCE(SUM(LENGTH(text)), 0) FROM payloads)::BIGINT",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    });
}
