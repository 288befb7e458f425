//! The PostgreSQL store against a real PostgreSQL server (a throw-away
//! cluster, see `statecraft_testsupport::pg`): the shared suite, version conflicts
//! between two writers, several nodes migrating one database at once, the
//! typed errors of a bad URL, a refused port and wrong credentials, and a
//! database that goes away and comes back at run time.

use std::sync::{Arc, Barrier};

use statecraft_store::postgres::{OpenError, PostgresOptions, PostgresStore, SCHEMA_VERSION};
use statecraft_store::prelude::*;
use statecraft_store::{
    ActivityStore, Error, ExecutionState, ExecutionStatus, ExecutionStore, HistoryQuery, Store,
    TagStore, Transition,
};
use statecraft_testsupport::pg;
use statecraft_types::{EventType, HistoryEvent};

fn open(url: &str) -> PostgresStore {
    PostgresStore::open(&PostgresOptions::new(url))
        .unwrap_or_else(|e| panic!("opening the PostgreSQL store at {url}: {e}"))
}

fn state(engine_state: &str) -> ExecutionState {
    ExecutionState {
        status: ExecutionStatus::Running,
        output: None,
        error: None,
        cause: None,
        stop_date_ms: None,
        redrive_count: 0,
        redrive_date_ms: None,
        redrive_status: None,
        redrive_status_reason: None,
        engine_state: engine_state.into(),
        pause: None,
        revision_id: None,
    }
}

fn step(arn: &str, expected_version: u64, first_event: u64, who: &str) -> Transition {
    Transition {
        execution_arn: arn.into(),
        expected_version,
        state: state(who),
        events: (first_event..first_event + 3)
            .map(|id| HistoryEvent {
                id,
                previous_event_id: id - 1,
                timestamp_ms: 5_000,
                event_type: EventType::PassStateEntered,
                details: None,
            })
            .collect(),
        timers: vec![],
        tasks: vec![],
    }
}

#[test]
fn passes_the_shared_suite() {
    let store = open(&pg::fresh_database("suite"));
    statecraft_testsupport::store_suite::run_all(&store);
}

#[test]
fn two_writers_race_for_one_version_and_exactly_one_wins() {
    let url = pg::fresh_database("race");
    // Two "nodes": two stores, two writers, one database.
    let a = Arc::new(open(&url));
    let b = Arc::new(open(&url));
    for round in 0..20 {
        let arn = format!("arn:aws:states:us-east-1:1:execution:race:e{round}");
        statecraft_testsupport::store_suite::seed_execution(&*a, &arn);
        let gate = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [("a", Arc::clone(&a)), ("b", Arc::clone(&b))]
            .into_iter()
            .map(|(who, store)| {
                let gate = Arc::clone(&gate);
                let arn = arn.clone();
                std::thread::spawn(move || {
                    gate.wait();
                    (who, store.commit(step(&arn, 1, 2, who)).wait())
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners: Vec<&str> = results
            .iter()
            .filter(|(_, r)| r == &Ok(2))
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (_, r) in &results {
            assert!(
                matches!(r, Ok(2) | Err(Error::Conflict { expected: 1, .. })),
                "round {round}: {r:?}"
            );
        }
        let e = b.get_execution(&arn).unwrap().unwrap();
        assert_eq!((e.version, e.state.engine_state.as_str()), (2, winners[0]));
        let h = a.history(&arn, &HistoryQuery::default()).unwrap();
        assert_eq!(
            h.items.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![1, 2, 3, 4],
            "round {round}: only the winner's events"
        );
    }
}

#[test]
fn a_conflict_and_a_failure_do_not_fail_the_rest_of_their_batch() {
    let store = open(&pg::fresh_database("batch"));
    let arn = "arn:aws:states:us-east-1:1:execution:batch:e";
    statecraft_testsupport::store_suite::seed_execution(&store, arn);
    // Queued together, so that they share one transaction: a good write, a
    // stale transition (refused), a duplicate event (fails in the database,
    // aborting the transaction), and more good writes after them.
    let tag = |k: &str| {
        store.tag_resource(
            "arn:r",
            vec![statecraft_store::Tag {
                key: k.into(),
                value: "v".into(),
            }],
        )
    };
    let t1 = tag("before");
    let stale = store.commit(step(arn, 7, 2, "stale"));
    let good = store.commit(step(arn, 1, 2, "good"));
    let duplicate = store.commit(step(arn, 2, 4, "dup-a"));
    let t2 = tag("after");
    assert_eq!(t1.wait(), Ok(()));
    assert!(matches!(stale.wait(), Err(Error::Conflict { .. })));
    assert_eq!(good.wait(), Ok(2));
    // Event ids 4..=6 clash with the good transition's 2..=4: refused whole.
    assert!(matches!(duplicate.wait(), Err(Error::Backend(_))));
    assert_eq!(t2.wait(), Ok(()));
    let e = store.get_execution(arn).unwrap().unwrap();
    assert_eq!((e.version, e.state.engine_state.as_str()), (2, "good"));
    assert_eq!(store.list_tags("arn:r").unwrap().len(), 2);
    let h = store.history(arn, &HistoryQuery::default()).unwrap();
    assert_eq!(h.items.len(), 4);
}

#[test]
fn nodes_that_start_at_once_migrate_the_database_once() {
    let url = pg::fresh_database("migrate");
    let nodes = 4;
    let gate = Arc::new(Barrier::new(nodes));
    let opened: Vec<_> = (0..nodes)
        .map(|_| {
            let gate = Arc::clone(&gate);
            let url = url.clone();
            std::thread::spawn(move || {
                gate.wait();
                PostgresStore::open(&PostgresOptions::new(url.as_str()))
            })
        })
        .collect();
    let stores: Vec<PostgresStore> = opened
        .into_iter()
        .map(|h| h.join().unwrap().expect("every node opens"))
        .collect();
    // Each works on the same schema.
    for (i, s) in stores.iter().enumerate() {
        statecraft_testsupport::store_suite::seed_execution(
            s,
            &format!("arn:aws:states:::execution:m:n{i}"),
        );
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (0..=SCHEMA_VERSION).collect::<Vec<_>>());
    // Opening again is a no-op.
    drop(open(&url));
    // A database migrated by a newer build is refused.
    client
        .execute(
            "INSERT INTO schema_version VALUES ($1, 0)",
            &[&(SCHEMA_VERSION + 1)],
        )
        .unwrap();
    let newer = PostgresStore::open(&PostgresOptions::new(url.as_str())).err();
    assert_eq!(
        newer,
        Some(OpenError::TooNew {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        })
    );
}

#[test]
fn opening_with_bad_urls_ports_or_credentials_gives_typed_errors() {
    let c = pg::cluster();
    let refused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let db = pg::fresh_database("errors");
    let db_name = db.rsplit('/').next().unwrap().to_string();
    let role = format!("statecraft_pw_{}", std::process::id());
    c.psql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'right-password'"
    ));
    c.psql(&format!("ALTER DATABASE {db_name} OWNER TO {role}"));
    type Case = (String, fn(&OpenError) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            "mysql://u@127.0.0.1/db".into(),
            |e| matches!(e, OpenError::InvalidUrl { .. }),
            "invalid URL",
        ),
        (
            "postgres://u@127.0.0.1:notaport/db".into(),
            |e| matches!(e, OpenError::InvalidUrl { .. }),
            "invalid URL",
        ),
        (
            format!("postgres://u:pw@127.0.0.1:{refused_port}/db"),
            |e| matches!(e, OpenError::Unreachable { .. }),
            "cannot connect",
        ),
        (
            c.url_as(&role, "wrong-password", &db_name),
            |e| matches!(e, OpenError::Authentication { .. }),
            "refused the credentials of user statecraft_pw_",
        ),
        (
            c.url_as("postgres", pg::PASSWORD, "no_such_database"),
            |e| matches!(e, OpenError::NoDatabase { .. }),
            "database no_such_database does not exist",
        ),
    ];
    for (url, expected, words) in cases {
        let e = PostgresStore::open(&PostgresOptions::new(url.as_str()))
            .err()
            .unwrap_or_else(|| panic!("{url} opened"));
        assert!(expected(&e), "{url}: {e:?}");
        let text = e.to_string();
        assert!(text.starts_with("PostgreSQL store: "), "{text}");
        assert!(text.contains(words), "{url}: {text}");
        assert!(!text.contains("wrong-password"), "password shown: {text}");
    }
    // The right password opens.
    drop(open(&c.url_as(&role, "right-password", &db_name)));
}

#[test]
fn a_database_that_goes_away_fails_reads_and_writes_then_recovers() {
    let c = pg::cluster();
    let url = pg::fresh_database("away");
    let name = url.rsplit('/').next().unwrap().to_string();
    let store = open(&url);
    let arn = "arn:aws:states:us-east-1:1:execution:away:e";
    statecraft_testsupport::store_suite::seed_execution(&store, arn);
    assert!(store.get_execution(arn).unwrap().is_some());

    // The database goes away: no new connections, existing ones killed.
    c.psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    c.psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    let write = store.commit(step(arn, 1, 2, "while-away")).wait();
    assert!(matches!(write, Err(Error::Backend(_))), "{write:?}");
    let again = store.commit(step(arn, 1, 2, "while-away")).wait();
    match &again {
        Err(Error::Backend(m)) => assert!(m.starts_with("PostgreSQL store: "), "{m}"),
        other => panic!("a write while the database is away: {other:?}"),
    }
    let read = store.get_execution(arn);
    assert!(matches!(read, Err(Error::Backend(_))), "{read:?}");

    // It comes back: after the writer's back-off, writes and reads work and
    // nothing of the failed writes was committed.
    c.psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let committed = loop {
        match store.commit(step(arn, 1, 2, "after")).wait() {
            Ok(v) => break v,
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the store did not reconnect: {e}"
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    assert_eq!(committed, 2);
    let e = store.get_execution(arn).unwrap().unwrap();
    assert_eq!(e.state.engine_state, "after");
    let h = store.history(arn, &HistoryQuery::default()).unwrap();
    assert_eq!(h.items.len(), 4);
    store.close();
}

#[test]
fn of_two_nodes_answering_one_token_exactly_one_closes_the_task() {
    let url = pg::fresh_database("answers");
    let a = Arc::new(open(&url));
    let b = Arc::new(open(&url));
    let arn = "arn:aws:states:us-east-1:1:execution:answers:e";
    statecraft_testsupport::store_suite::seed_execution(&*a, arn);
    let resource = "arn:aws:states:us-east-1:1:activity:work";
    let mut queue = step(arn, 1, 2, "waiting");
    queue.tasks = (1..=20)
        .map(|id| {
            statecraft_store::TaskChange::Queue(statecraft_store::PendingTask {
                task_id: id,
                resource: resource.into(),
                request: "{}".into(),
                token: Some(format!("token-{id}")),
                lease_owner: None,
                lease_expires_ms: None,
            })
        })
        .collect();
    a.commit(queue).wait().unwrap();
    for id in 1..=20u64 {
        let token = format!("token-{id}");
        let gate = Arc::new(Barrier::new(2));
        let answers: Vec<_> = [Arc::clone(&a), Arc::clone(&b)]
            .into_iter()
            .enumerate()
            .map(|(node, store)| {
                let (gate, token) = (Arc::clone(&gate), token.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    store.answer_task(&token, format!("answer-{node}")).wait()
                })
            })
            .collect();
        let results: Vec<_> = answers.into_iter().map(|h| h.join().unwrap()).collect();
        let closed: Vec<_> = results
            .iter()
            .filter_map(|r| r.as_ref().unwrap().as_ref())
            .collect();
        assert_eq!(closed.len(), 1, "token {id}: {results:?}");
        assert_eq!(closed[0].0, arn);
        assert_eq!(closed[0].1.task_id, id);
        // Closed: no longer found by its token, pending or claimable.
        assert_eq!(b.task_by_token(&token).unwrap(), None);
        assert_eq!(b.answer_task(&token, "late".into()).wait(), Ok(None));
    }
    assert!(a.pending_tasks(arn).unwrap().is_empty());
    assert_eq!(a.claim_task(resource, "w", 0, 1_000).wait(), Ok(None));
    let answers = b.task_answers(arn).unwrap();
    assert_eq!(answers.len(), 20);
    assert!(answers
        .iter()
        .all(|(_, text)| text == "answer-0" || text == "answer-1"));
    // The transition that consumes an answer removes its task.
    let mut consume = step(arn, 2, 5, "consumed");
    consume.tasks = vec![statecraft_store::TaskChange::Remove { task_id: 1 }];
    a.commit(consume).wait().unwrap();
    assert_eq!(b.task_answers(arn).unwrap().len(), 19);
    assert_eq!(a.health(), Ok(()));
}

/// The reads outside the shared suite (the console's overview, an
/// activity's tasks and queue depth, the open-executions count, retention)
/// give the same answers as on SQLite for the same writes.
#[test]
fn console_reads_and_retention_agree_with_sqlite() {
    use statecraft_store::{
        NewExecution, OverviewQuery, PendingTask, SqliteOptions, SqliteStore, TaskChange,
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&SqliteOptions::new(dir.path())).unwrap();
    let postgres = open(&pg::fresh_database("console"));
    let stores: [&dyn Store; 2] = [&sqlite, &postgres];
    let machine = |m: usize| format!("arn:aws:states:us-east-1:1:stateMachine:m{m}");
    let resource = "arn:aws:states:us-east-1:1:activity:work";
    for store in stores {
        for i in 0..12u64 {
            let arn = format!("arn:aws:states:us-east-1:1:execution:m{}:e{i}", i % 2);
            let start = 10_000 + i64::try_from(i).unwrap() * 1_000;
            let new = NewExecution {
                arn: arn.clone(),
                state_machine_arn: machine(usize::try_from(i % 2).unwrap()),
                version_arn: None,
                alias_arn: None,
                revision_id: "r".into(),
                name: format!("e{i}"),
                input: "{}".into(),
                trace_header: None,
                start_date_ms: start,
                map_run_arn: None,
                parent_arn: None,
            };
            let mut first = step(&arn, 0, 1, "s");
            first.events[0].event_type = EventType::ExecutionStarted;
            first.events[1].event_type = EventType::TaskStateEntered;
            let mut details = serde_json::Map::new();
            details.insert("name".into(), format!("State{}", i % 3).into());
            first.events[1].details = Some(details);
            first.events[2].event_type = EventType::TaskScheduled;
            if i % 4 == 0 {
                first.tasks = vec![TaskChange::Queue(PendingTask {
                    task_id: 1,
                    resource: resource.into(),
                    request: format!("{{\"i\":{i}}}"),
                    token: Some(format!("t{i}")),
                    lease_owner: None,
                    lease_expires_ms: None,
                })];
            }
            assert_eq!(
                store.create_execution(new, first).wait(),
                Ok(statecraft_store::Created::New)
            );
            let status = match i % 4 {
                0 => continue,
                1 => ExecutionStatus::Succeeded,
                2 => ExecutionStatus::Failed,
                _ => ExecutionStatus::TimedOut,
            };
            let mut end = step(&arn, 1, 4, "end");
            end.events.truncate(1);
            end.events[0].event_type = EventType::ExecutionFailed;
            end.state.status = status;
            end.state.error = (status != ExecutionStatus::Succeeded).then(|| "E".to_string());
            // Durations that differ per machine, so the slowest-machines
            // ranking has no ties.
            end.state.stop_date_ms = Some(start + 100 * i64::try_from(i * i).unwrap());
            store.commit(end).wait().unwrap();
        }
        store
            .claim_task(resource, "worker", 1_000, 60_000)
            .wait()
            .unwrap();
    }
    let query = |m: Option<String>| OverviewQuery {
        state_machine_arn: m,
        since_ms: 10_000,
        until_ms: 22_000,
        buckets: 6,
        top: 5,
    };
    for q in [query(None), query(Some(machine(1)))] {
        let (a, b) = (sqlite.overview(&q).unwrap(), postgres.overview(&q).unwrap());
        assert_eq!(a, b, "{q:?}");
        assert!(
            a.window.total() > 0 && !a.failing_states.is_empty(),
            "{a:?}"
        );
    }
    assert_eq!(
        sqlite.resource_tasks(resource, 10).unwrap(),
        postgres.resource_tasks(resource, 10).unwrap()
    );
    assert_eq!(postgres.resource_tasks(resource, 10).unwrap().len(), 3);
    assert_eq!(postgres.queued_tasks(resource, 2_000).unwrap(), 2);
    assert_eq!(
        sqlite.queued_tasks(resource, 2_000).unwrap(),
        postgres.queued_tasks(resource, 2_000).unwrap()
    );
    assert_eq!(postgres.count_open_executions().unwrap(), 3);
    assert_eq!(sqlite.count_open_executions().unwrap(), 3);
    // Retention: finished before 17,000 are e1 (at 11,100), e2 (12,400) and
    // e3 (13,900); e5 (17,500) is after: three, in batches of two.
    for store in stores {
        assert_eq!(store.delete_finished_before(17_000, 2).wait(), Ok(2));
        assert_eq!(store.delete_finished_before(17_000, 2).wait(), Ok(1));
        assert_eq!(store.delete_finished_before(17_000, 2).wait(), Ok(0));
        let gone = "arn:aws:states:us-east-1:1:execution:m1:e1";
        assert_eq!(store.get_execution(gone).unwrap(), None);
        assert!(store
            .history_after("arn:aws:states:us-east-1:1:execution:m1:e5", 0, 10)
            .is_ok_and(|h| h.len() == 4));
    }
}

/// The next wake-up `rx` hears, within `within`.
fn next_wakeup(
    rx: &mut tokio::sync::broadcast::Receiver<statecraft_store::Wakeup>,
    within: std::time::Duration,
) -> Option<statecraft_store::Wakeup> {
    let deadline = std::time::Instant::now() + within;
    loop {
        match rx.try_recv() {
            Ok(w) => return Some(w),
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                if std::time::Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("wake-ups: {e}"),
        }
    }
}

#[test]
fn another_node_hears_starts_activity_tasks_answers_and_commits_when_they_commit() {
    use statecraft_store::{PendingTask, TaskChange, Wakeup};
    let url = pg::fresh_database("wakeups");
    let a = open(&url);
    let b = open(&url);
    let mut heard = b
        .subscribe_wakeups()
        .expect("the PostgreSQL store publishes wake-ups");
    // The LISTEN connection is up once a notification sent now arrives:
    // wait for the first one (a start) with room.
    let arn = "arn:aws:states:us-east-1:1:execution:wake:e1";
    let mut first = None;
    for i in 0..50 {
        let arn = format!("{arn}-probe{i}");
        statecraft_testsupport::store_suite::seed_execution(&a, &arn);
        first = next_wakeup(&mut heard, std::time::Duration::from_millis(200));
        if first.is_some() {
            break;
        }
    }
    assert_eq!(first, Some(Wakeup::Start), "an unleased start is heard");
    while next_wakeup(&mut heard, std::time::Duration::from_millis(300)).is_some() {}

    statecraft_testsupport::store_suite::seed_execution(&a, arn);
    assert_eq!(
        next_wakeup(&mut heard, std::time::Duration::from_secs(5)),
        Some(Wakeup::Start)
    );
    let activity = "arn:aws:states:us-east-1:1:activity:wake";
    let mut t = step(arn, 1, 2, "queued");
    t.tasks = vec![TaskChange::Queue(PendingTask {
        task_id: 1,
        resource: activity.into(),
        request: "{}".into(),
        token: Some("wake-token".into()),
        lease_owner: None,
        lease_expires_ms: None,
    })];
    let mut followed = b.subscribe_commits().expect("commit notices");
    a.commit(t).wait().unwrap();
    assert_eq!(
        next_wakeup(&mut heard, std::time::Duration::from_secs(5)),
        Some(Wakeup::Task {
            resource: activity.into()
        })
    );
    // B's console follows A's commits: they arrive as B's own notices.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match followed.try_recv() {
            Ok(n) if n.execution_arn == arn => break,
            Ok(_) => {}
            Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "B was not told of A's commit"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
    assert!(a
        .answer_task("wake-token", "{}".into())
        .wait()
        .unwrap()
        .is_some());
    assert_eq!(
        next_wakeup(&mut heard, std::time::Duration::from_secs(5)),
        Some(Wakeup::Answer {
            execution_arn: arn.into()
        })
    );
    // A refused commit sends nothing.
    let mut stale = step(arn, 1, 5, "stale");
    stale.tasks = vec![TaskChange::Queue(PendingTask {
        task_id: 2,
        resource: activity.into(),
        request: "{}".into(),
        token: Some("stale-token".into()),
        lease_owner: None,
        lease_expires_ms: None,
    })];
    assert!(matches!(
        a.commit(stale).wait(),
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        next_wakeup(&mut heard, std::time::Duration::from_millis(500)),
        None
    );
}

#[test]
fn two_nodes_creating_one_state_machine_at_once_get_one_machine_and_one_refusal() {
    use statecraft_store::{MachineType, Revision, StateMachineStore};
    let url = pg::fresh_database("create_race");
    let a = Arc::new(open(&url));
    let b = Arc::new(open(&url));
    for round in 0..20 {
        let arn = format!("arn:aws:states:us-east-1:1:stateMachine:race{round}");
        let gate = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [("a", Arc::clone(&a)), ("b", Arc::clone(&b))]
            .into_iter()
            .map(|(who, store)| {
                let gate = Arc::clone(&gate);
                let arn = arn.clone();
                std::thread::spawn(move || {
                    let revision = Revision {
                        revision_id: format!("rev-{round}-{who}"),
                        state_machine_arn: arn,
                        definition: "{}".into(),
                        role_arn: "arn:aws:iam::1:role/r".into(),
                        description: None,
                        logging_configuration: None,
                        tracing_configuration: None,
                        created_ms: 1,
                    };
                    gate.wait();
                    store
                        .create_state_machine(
                            format!("race{round}"),
                            MachineType::Standard,
                            revision,
                            1,
                        )
                        .wait()
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let made = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(Error::AlreadyExists { .. })))
            .count();
        assert_eq!((made, refused), (1, 1), "round {round}: {results:?}");
        // The loser's revision was not kept.
        let winner = a.get_state_machine(&arn).unwrap().expect("the machine");
        let loser = if winner.revision.revision_id.ends_with("-a") {
            "b"
        } else {
            "a"
        };
        assert_eq!(
            a.get_revision(&format!("rev-{round}-{loser}")).unwrap(),
            None
        );
    }
}

/// A database from before migration 7 kept schedules in the tags table:
/// opening it with this build moves them to their own tables (real tags
/// stay), as SQLite's migration 9 does.
#[test]
fn schedules_move_out_of_the_tags_table() {
    use statecraft_store::{ScheduleStore, TagStore};
    let url = pg::fresh_database("schedules_move");
    drop(open(&url));
    // Back to version 6, with schedules where version 6 kept them.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "DROP TABLE schedules; DROP TABLE schedule_groups;
             DELETE FROM schema_version WHERE version >= 7;
             INSERT INTO tags VALUES ('statecraft:schedule-groups', 'nightly', '1700000000000');
             INSERT INTO tags VALUES ('statecraft:schedules/default', 'hourly', '{\"Name\":\"hourly\"}');
             INSERT INTO tags VALUES ('statecraft:schedules/nightly', 'backup', '{\"Name\":\"backup\"}');
             INSERT INTO tags VALUES ('arn:aws:states:us-east-1:1:stateMachine:m', 'team', 'a');",
        )
        .unwrap();
    drop(client);
    let store = open(&url);
    let moved: Vec<(String, String, String)> = store
        .list_schedules(None)
        .unwrap()
        .into_iter()
        .map(|s| (s.group, s.name, s.document))
        .collect();
    assert_eq!(
        moved,
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
    assert_eq!(
        store.list_schedule_groups().unwrap(),
        [("nightly".to_string(), 1_700_000_000_000)]
    );
    assert!(store
        .list_tags("statecraft:schedules/default")
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .list_tags("arn:aws:states:us-east-1:1:stateMachine:m")
            .unwrap()
            .len(),
        1
    );
}

/// `max_concurrent` holds across nodes: two stores (two nodes) on one
/// database claim slots of one queue at once, each for its own executions,
/// and never start more than the limit between them; a release frees a
/// slot for either.
#[test]
fn two_nodes_claiming_one_queue_at_once_never_exceed_its_limit() {
    use statecraft_store::{
        Enqueued, NewExecution, PendingTask, QueueClaim, TaskChange, TaskQueueStore,
    };
    let url = pg::fresh_database("queue_nodes");
    let a = Arc::new(open(&url));
    let b = Arc::new(open(&url));
    let queue = "arn:statecraft:command:";
    let far = 1i64 << 50;
    for (node, store) in [("a", &a), ("b", &b)] {
        for e in 0..4 {
            let arn = format!("arn:aws:states:us-east-1:1:execution:q:{node}{e}");
            let mut first = step(&arn, 0, 1, node);
            first.tasks = (1..=3)
                .map(|id| {
                    TaskChange::Queue(PendingTask {
                        task_id: id,
                        resource: format!("{queue}work"),
                        request: "{}".into(),
                        token: None,
                        lease_owner: None,
                        lease_expires_ms: None,
                    })
                })
                .collect();
            let new = NewExecution {
                arn: arn.clone(),
                state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:q".into(),
                version_arn: None,
                alias_arn: None,
                revision_id: "r".into(),
                name: format!("{node}{e}"),
                input: "{}".into(),
                trace_header: None,
                start_date_ms: 1,
                map_run_arn: None,
                parent_arn: None,
            };
            store
                .create_leased_execution(new, first, node, far)
                .wait()
                .unwrap();
            for id in 1..=3 {
                assert_eq!(
                    store.enqueue_task(&arn, id, queue, 0, 10).wait(),
                    Ok(Enqueued::Queued)
                );
            }
        }
    }
    let claim = |store: &PostgresStore, node: &str| {
        store
            .claim_queued(QueueClaim {
                queue: queue.into(),
                owner: node.into(),
                now_ms: 100,
                max_concurrent: Some(3),
                max_starts: 10,
            })
            .wait()
            .unwrap()
    };
    let mut total = 0;
    for round in 0..6 {
        let gate = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [("a", Arc::clone(&a)), ("b", Arc::clone(&b))]
            .into_iter()
            .map(|(node, store)| {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || {
                    gate.wait();
                    claim(&store, node)
                })
            })
            .collect();
        let started: Vec<_> = racers.into_iter().flat_map(|r| r.join().unwrap()).collect();
        let running = a.queue_depths(100).unwrap()[0].running;
        assert!(running <= 3, "round {round}: {running} running, limit 3");
        total += started.len();
        // One task ends on each node that has one: its slot is free again.
        for t in started.iter().take(2) {
            a.release_queued(&t.execution_arn, t.task_id)
                .wait()
                .unwrap();
        }
    }
    assert!(total > 3, "slots were freed and taken again ({total})");
    let depth = &b.queue_depths(100).unwrap()[0];
    assert!(depth.running <= 3, "{depth:?}");
}
