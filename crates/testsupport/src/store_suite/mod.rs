//! The storage contract's suite: the checks every [`Store`] implementation
//! must pass. An implementation's tests open a fresh, empty store and call
//! [`run_all`] (`crates/store/tests/sqlite.rs`, `crates/store/tests/postgres.rs`).
//!
//! The checks use `assert!`, as tests do. They live here, in a crate only
//! tests depend on, so the shipped store library does not carry them.

use serde_json::json;
use statecraft_types::{EventType, HistoryEvent};

use statecraft_store::Error;
use statecraft_store::{
    Activity, Alias, Created, ExecutionFilter, ExecutionState, ExecutionStatus, Fence,
    HistoryQuery, MachineType, NewExecution, PageRequest, PendingTask, RedriveFilter, Revision,
    Route, Store, Tag, TaskChange, Timer, TimerChange, Transition, FIRST_LEASE_TOKEN,
};

mod queues;

const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:suite";

/// Runs every check against `store`, which must be empty.
pub fn run_all(store: &dyn Store) {
    state_machines_and_revisions(store);
    versions_are_numbered_and_listed_newest_first(store);
    aliases(store);
    tags(store);
    activities(store);
    executions_start_idempotently(store);
    a_finished_name_is_freed_only_after_its_window(store);
    transitions_commit_everything_or_nothing(store);
    history_pages_forward_and_backward(store);
    listing_executions_filters_and_pages(store);
    finishing_drops_timers_and_tasks(store);
    claims_take_only_free_leases(store);
    fenced_commits_need_the_current_lease(store);
    tasks_are_leased_one_worker_at_a_time(store);
    a_task_is_answered_once(store);
    the_inbox_reaches_the_lease_holder(store);
    open_executions_are_counted(store);
    a_pause_is_kept_with_the_state_and_filtered(store);
    map_runs_are_recorded_updated_and_listed(store);
    group_commit_many_concurrent_writes(store);
    queues::flow_queues_are_fair_limited_and_durable(store);
    queues::flow_slots_of_a_dead_node_are_released_with_its_lease(store);
    queues::activity_tasks_go_round_robin_across_executions(store);
    queues::schedules_are_kept_by_group_and_name(store);
}

fn revision(arn: &str, id: &str, definition: &str) -> Revision {
    Revision {
        revision_id: id.into(),
        state_machine_arn: arn.into(),
        definition: definition.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        description: Some("d".into()),
        logging_configuration: Some(json!({"level": "OFF"})),
        tracing_configuration: Some(json!({"enabled": false})),
        created_ms: 1_000,
    }
}

fn running_state(engine_state: &str) -> ExecutionState {
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

fn event(id: u64, t: EventType) -> HistoryEvent {
    HistoryEvent {
        id,
        previous_event_id: id.saturating_sub(1),
        timestamp_ms: 1_000 + i64::try_from(id).unwrap_or(0),
        event_type: t,
        details: None,
    }
}

fn new_execution(arn: &str, machine: &str, start: i64) -> NewExecution {
    NewExecution {
        arn: arn.into(),
        state_machine_arn: machine.into(),
        version_arn: None,
        alias_arn: None,
        revision_id: "rev-exec".into(),
        name: arn.rsplit(':').next().unwrap_or("x").into(),
        input: "{\"a\":1}".into(),
        trace_header: None,
        start_date_ms: start,
        map_run_arn: None,
        parent_arn: None,
    }
}

fn first_transition(arn: &str) -> Transition {
    Transition {
        execution_arn: arn.into(),
        expected_version: 0,
        state: running_state("s1"),
        events: vec![event(1, EventType::ExecutionStarted)],
        timers: vec![],
        tasks: vec![],
    }
}

/// Creates a running execution with one history event (version 1).
pub fn seed_execution(store: &dyn Store, arn: &str) {
    let created = store
        .create_execution(new_execution(arn, SM, 1_000), first_transition(arn))
        .wait();
    assert_eq!(created, Ok(Created::New), "seeding {arn}");
}

fn state_machines_and_revisions(store: &dyn Store) {
    let sm = store
        .create_state_machine(
            "suite".into(),
            MachineType::Standard,
            revision(SM, "rev-1", "{\"v\":1}"),
            1_000,
        )
        .wait()
        .unwrap();
    assert_eq!(sm.revision.revision_id, "rev-1");
    let again = store
        .create_state_machine(
            "suite".into(),
            MachineType::Standard,
            revision(SM, "rev-x", "{}"),
            1_000,
        )
        .wait();
    assert!(matches!(again, Err(Error::AlreadyExists { .. })));

    let updated = store
        .update_state_machine(revision(SM, "rev-2", "{\"v\":2}"))
        .wait()
        .unwrap();
    assert_eq!(updated.revision.definition, "{\"v\":2}");
    assert_eq!(updated.creation_date_ms, 1_000);
    // The old revision stays readable (executions that started on it).
    let old = store.get_revision("rev-1").unwrap().unwrap();
    assert_eq!(old.definition, "{\"v\":1}");
    assert_eq!(old.logging_configuration, Some(json!({"level": "OFF"})));
    let missing = store
        .update_state_machine(revision(&format!("{SM}-nope"), "rev-3", "{}"))
        .wait();
    assert!(matches!(missing, Err(Error::NotFound { .. })));

    // Pagination over several machines, by ARN.
    for i in 0..5 {
        let arn = format!("{SM}-page-{i}");
        store
            .create_state_machine(
                format!("suite-page-{i}"),
                MachineType::Express,
                revision(&arn, &format!("rev-page-{i}"), "{}"),
                2_000,
            )
            .wait()
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = store.list_state_machines(&page).unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(p.items.into_iter().map(|s| s.arn));
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    let bad = store.list_state_machines(&PageRequest {
        max_results: 2,
        next_token: Some("garbage".into()),
    });
    assert_eq!(bad.err(), Some(Error::InvalidToken));

    let gone = format!("{SM}-page-4");
    store
        .tag_resource(&gone, vec![tag("k", "v")])
        .wait()
        .unwrap();
    store.delete_state_machine(&gone).wait().unwrap();
    assert_eq!(store.get_state_machine(&gone).unwrap(), None);
    assert_eq!(store.list_tags(&gone).unwrap(), vec![]);
    // Deleting again is not an error.
    store.delete_state_machine(&gone).wait().unwrap();
}

fn versions_are_numbered_and_listed_newest_first(store: &dyn Store) {
    let v1 = store
        .publish_version(SM, Some("first".into()), 3_000)
        .wait()
        .unwrap();
    assert_eq!((v1.version, v1.arn.as_str()), (1, &*format!("{SM}:1")));
    assert_eq!(v1.revision.revision_id, "rev-2");
    let v2 = store.publish_version(SM, None, 3_001).wait().unwrap();
    store.delete_version(&v2.arn).wait().unwrap();
    let v3 = store.publish_version(SM, None, 3_002).wait().unwrap();
    assert_eq!(v3.version, 3, "numbers are never reused");
    let p = store.list_versions(SM, &PageRequest::first(1)).unwrap();
    assert_eq!(
        p.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![3]
    );
    let p2 = store
        .list_versions(
            SM,
            &PageRequest {
                max_results: 1,
                next_token: p.next_token,
            },
        )
        .unwrap();
    assert_eq!(
        p2.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(p2.next_token, None);
    assert_eq!(store.get_version(&v1.arn).unwrap(), Some(v1));
    let nope = store.publish_version(&format!("{SM}-nope"), None, 1).wait();
    assert!(matches!(nope, Err(Error::NotFound { .. })));
}

fn aliases(store: &dyn Store) {
    let alias = Alias {
        arn: format!("{SM}:prod"),
        state_machine_arn: SM.into(),
        name: "prod".into(),
        description: None,
        routing: vec![
            Route {
                version_arn: format!("{SM}:1"),
                weight: 80,
            },
            Route {
                version_arn: format!("{SM}:3"),
                weight: 20,
            },
        ],
        creation_date_ms: 4_000,
        update_date_ms: None,
    };
    assert_eq!(store.create_alias(alias.clone()).wait(), Ok(alias.clone()));
    assert!(matches!(
        store.create_alias(alias.clone()).wait(),
        Err(Error::AlreadyExists { .. })
    ));
    let mut changed = alias.clone();
    changed.routing.truncate(1);
    changed.routing[0].weight = 100;
    changed.update_date_ms = Some(5_000);
    changed.description = Some("all on 1".into());
    assert_eq!(
        store.update_alias(changed.clone()).wait(),
        Ok(changed.clone())
    );
    assert_eq!(store.get_alias(&alias.arn).unwrap(), Some(changed.clone()));
    let listed = store.list_aliases(SM, &PageRequest::first(10)).unwrap();
    assert_eq!(listed.items, vec![changed]);
    store.delete_alias(&alias.arn).wait().unwrap();
    assert_eq!(store.get_alias(&alias.arn).unwrap(), None);
    let mut ghost = alias;
    ghost.arn = format!("{SM}:ghost");
    assert!(matches!(
        store.update_alias(ghost).wait(),
        Err(Error::NotFound { .. })
    ));
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

fn tags(store: &dyn Store) {
    store
        .tag_resource(SM, vec![tag("b", "1"), tag("a", "2")])
        .wait()
        .unwrap();
    store.tag_resource(SM, vec![tag("b", "3")]).wait().unwrap();
    assert_eq!(
        store.list_tags(SM).unwrap(),
        vec![tag("a", "2"), tag("b", "3")]
    );
    store
        .untag_resource(SM, vec!["a".into(), "zzz".into()])
        .wait()
        .unwrap();
    assert_eq!(store.list_tags(SM).unwrap(), vec![tag("b", "3")]);
}

fn activities(store: &dyn Store) {
    let a = Activity {
        arn: "arn:aws:states:us-east-1:123456789012:activity:work".into(),
        name: "work".into(),
        creation_date_ms: 1,
        encryption_configuration: None,
    };
    assert_eq!(store.create_activity(a.clone()).wait(), Ok(a.clone()));
    assert!(matches!(
        store.create_activity(a.clone()).wait(),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        store.list_activities(&PageRequest::first(0)).unwrap().items,
        vec![a.clone()]
    );
    store.delete_activity(&a.arn).wait().unwrap();
    assert_eq!(store.get_activity(&a.arn).unwrap(), None);
}

fn exec_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:suite:{name}")
}

fn executions_start_idempotently(store: &dyn Store) {
    let arn = exec_arn("idem");
    seed_execution(store, &arn);
    let again = store
        .create_execution(new_execution(&arn, SM, 9_999), first_transition(&arn))
        .wait()
        .unwrap();
    match again {
        Created::Existing(e) => {
            assert_eq!(e.start_date_ms, 1_000);
            assert_eq!(e.version, 1);
        }
        Created::New => panic!("a second create must not create"),
    }
    let e = store.get_execution(&arn).unwrap().unwrap();
    assert_eq!(e.state.status, ExecutionStatus::Running);
    assert_eq!(e.input, "{\"a\":1}");
    let h = store.history(&arn, &HistoryQuery::default()).unwrap();
    assert_eq!(h.items.len(), 1, "the duplicate start wrote no history");
}

/// Name reuse ([limits] execution_name_reuse_days): a finished execution
/// stopped before the cut-off is deleted whole, so its name can start again;
/// a running one, or one stopped since, is kept.
fn a_finished_name_is_freed_only_after_its_window(store: &dyn Store) {
    let arn = exec_arn("reused-name");
    seed_execution(store, &arn);
    assert_eq!(
        store.delete_finished_execution(&arn, i64::MAX).wait(),
        Ok(false),
        "a running execution is never freed"
    );
    let mut done = running_state("s2");
    done.status = ExecutionStatus::Succeeded;
    done.stop_date_ms = Some(5_000);
    store
        .commit(Transition {
            execution_arn: arn.clone(),
            expected_version: 1,
            state: done,
            events: vec![event(2, EventType::ExecutionSucceeded)],
            timers: vec![],
            tasks: vec![],
        })
        .wait()
        .unwrap();
    assert_eq!(
        store.delete_finished_execution(&arn, 5_000).wait(),
        Ok(false)
    );
    assert!(store.get_execution(&arn).unwrap().is_some());
    assert_eq!(
        store.delete_finished_execution(&arn, 5_001).wait(),
        Ok(true)
    );
    assert_eq!(store.get_execution(&arn).unwrap(), None);
    assert!(matches!(
        store.history(&arn, &HistoryQuery::default()),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store.delete_finished_execution(&arn, i64::MAX).wait(),
        Ok(false),
        "nothing left to free"
    );
    // The name starts afresh, with a history of its own.
    let created = store
        .create_execution(new_execution(&arn, SM, 9_000), first_transition(&arn))
        .wait()
        .unwrap();
    assert!(matches!(created, Created::New));
    let h = store.history(&arn, &HistoryQuery::default()).unwrap();
    assert_eq!(h.items.len(), 1);
}

fn transitions_commit_everything_or_nothing(store: &dyn Store) {
    let arn = exec_arn("atomic");
    seed_execution(store, &arn);
    let task = PendingTask {
        task_id: 1,
        resource: "arn:aws:states:::lambda:invoke".into(),
        request: "{}".into(),
        token: Some("tok-1".into()),
        lease_owner: None,
        lease_expires_ms: None,
    };
    let t = Transition {
        execution_arn: arn.clone(),
        expected_version: 1,
        state: running_state("s2"),
        events: vec![
            event(2, EventType::WaitStateEntered),
            event(3, EventType::TaskScheduled),
        ],
        timers: vec![TimerChange::Arm(Timer {
            timer_id: 1,
            fire_at_ms: 50_000,
        })],
        tasks: vec![TaskChange::Queue(task.clone())],
    };
    assert_eq!(store.commit(t.clone()).wait(), Ok(2));
    // The same transition again is a conflict, and writes nothing.
    let mut stale = t.clone();
    stale.events = vec![event(4, EventType::WaitStateExited)];
    stale.timers = vec![TimerChange::Arm(Timer {
        timer_id: 9,
        fire_at_ms: 1,
    })];
    assert!(matches!(
        store.commit(stale).wait(),
        Err(Error::Conflict { .. })
    ));
    // A transition that fails half way (a duplicate event id) writes nothing.
    let mut broken = t;
    broken.expected_version = 2;
    broken.state = running_state("s-broken");
    broken.events = vec![
        event(4, EventType::WaitStateExited),
        event(2, EventType::PassStateEntered),
    ];
    broken.timers = vec![TimerChange::Cancel { timer_id: 1 }];
    assert!(store.commit(broken).wait().is_err());

    let e = store.get_execution(&arn).unwrap().unwrap();
    assert_eq!((e.version, e.state.engine_state.as_str()), (2, "s2"));
    let h = store.history(&arn, &HistoryQuery::default()).unwrap();
    assert_eq!(
        h.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        store.timers(&arn).unwrap(),
        vec![Timer {
            timer_id: 1,
            fire_at_ms: 50_000
        }]
    );
    assert_eq!(store.pending_tasks(&arn).unwrap(), vec![task.clone()]);
    assert_eq!(
        store.task_by_token("tok-1").unwrap(),
        Some((arn.clone(), task))
    );
    let due = store.due_timers(50_000, 10).unwrap();
    assert!(due.iter().any(|d| d.execution_arn == arn));
    assert!(store
        .due_timers(49_999, 10)
        .unwrap()
        .iter()
        .all(|d| d.execution_arn != arn));

    let missing = Transition {
        execution_arn: exec_arn("nobody"),
        expected_version: 1,
        state: running_state("x"),
        events: vec![],
        timers: vec![],
        tasks: vec![],
    };
    assert!(matches!(
        store.commit(missing).wait(),
        Err(Error::NotFound { .. })
    ));
}

fn history_pages_forward_and_backward(store: &dyn Store) {
    let arn = exec_arn("history");
    seed_execution(store, &arn);
    let t = Transition {
        execution_arn: arn.clone(),
        expected_version: 1,
        state: running_state("s"),
        events: (2..=25)
            .map(|i| event(i, EventType::PassStateEntered))
            .collect(),
        timers: vec![],
        tasks: vec![],
    };
    store.commit(t).wait().unwrap();
    for reverse in [false, true] {
        let mut ids = Vec::new();
        let mut q = HistoryQuery {
            page: PageRequest::first(7),
            reverse,
        };
        loop {
            let p = store.history(&arn, &q).unwrap();
            assert!(p.items.len() <= 7);
            ids.extend(p.items.iter().map(|e| e.id));
            match p.next_token {
                Some(t) => q.page.next_token = Some(t),
                None => break,
            }
        }
        let mut expected: Vec<u64> = (1..=25).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(ids, expected, "reverse = {reverse}");
    }
    let first = store.history(&arn, &HistoryQuery::default()).unwrap();
    assert_eq!(
        first.items.first().map(|e| e.event_type),
        Some(EventType::ExecutionStarted)
    );
    assert!(matches!(
        store.history(&exec_arn("nobody"), &HistoryQuery::default()),
        Err(Error::NotFound { .. })
    ));
    // A forward token does not page a reverse listing.
    let p = store
        .history(
            &arn,
            &HistoryQuery {
                page: PageRequest::first(3),
                reverse: false,
            },
        )
        .unwrap();
    let mixed = store.history(
        &arn,
        &HistoryQuery {
            page: PageRequest {
                max_results: 3,
                next_token: p.next_token,
            },
            reverse: true,
        },
    );
    assert_eq!(mixed.err(), Some(Error::InvalidToken));
}

fn finish(arn: &str, version: u64, status: ExecutionStatus, redrive_count: u32) -> Transition {
    let mut state = running_state("done");
    state.status = status;
    state.stop_date_ms = Some(9_000);
    state.redrive_count = redrive_count;
    if status == ExecutionStatus::Failed {
        state.error = Some("E".into());
        state.cause = Some("C".into());
    }
    Transition {
        execution_arn: arn.into(),
        expected_version: version,
        state,
        events: vec![],
        timers: vec![],
        tasks: vec![],
    }
}

fn listing_executions_filters_and_pages(store: &dyn Store) {
    let machine = format!("{SM}-list");
    let mut arns = Vec::new();
    for i in 0..9 {
        let arn = format!("arn:aws:states:us-east-1:123456789012:execution:suite-list:e{i}");
        let mut new = new_execution(&arn, &machine, 10_000 + i);
        if i == 8 {
            new.version_arn = Some(format!("{machine}:1"));
        }
        store
            .create_execution(new, first_transition(&arn))
            .wait()
            .unwrap();
        arns.push(arn);
    }
    // e0..e2 succeed, e3 fails and is redriven once.
    for arn in arns.iter().take(3) {
        store
            .commit(finish(arn, 1, ExecutionStatus::Succeeded, 0))
            .wait()
            .unwrap();
    }
    store
        .commit(finish(&arns[3], 1, ExecutionStatus::Failed, 1))
        .wait()
        .unwrap();

    let filter = ExecutionFilter {
        state_machine_arn: Some(machine.clone()),
        ..ExecutionFilter::default()
    };
    let mut seen = Vec::new();
    let mut page = PageRequest::first(4);
    loop {
        let p = store.list_executions(&filter, &page).unwrap();
        seen.extend(p.items.into_iter().map(|e| e.arn));
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    let newest_first: Vec<String> = arns.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let by_status = |s| {
        store
            .list_executions(
                &ExecutionFilter {
                    status: Some(s),
                    ..filter.clone()
                },
                &PageRequest::first(100),
            )
            .unwrap()
            .items
            .len()
    };
    assert_eq!(by_status(ExecutionStatus::Succeeded), 3);
    assert_eq!(by_status(ExecutionStatus::Failed), 1);
    assert_eq!(by_status(ExecutionStatus::Running), 5);
    let redriven = store
        .list_executions(
            &ExecutionFilter {
                redrive: Some(RedriveFilter::Redriven),
                ..filter.clone()
            },
            &PageRequest::first(100),
        )
        .unwrap();
    assert_eq!(redriven.items.len(), 1);
    assert_eq!(redriven.items[0].redrive_count, 1);
    let by_version = store
        .list_executions(
            &ExecutionFilter {
                version_arn: Some(format!("{machine}:1")),
                ..ExecutionFilter::default()
            },
            &PageRequest::first(100),
        )
        .unwrap();
    assert_eq!(by_version.items.len(), 1);
    let failed = store.get_execution(&arns[3]).unwrap().unwrap();
    assert_eq!(failed.state.error.as_deref(), Some("E"));
    assert_eq!(failed.state.stop_date_ms, Some(9_000));
}

fn finishing_drops_timers_and_tasks(store: &dyn Store) {
    let arn = exec_arn("finishing");
    seed_execution(store, &arn);
    let mut t = finish(&arn, 1, ExecutionStatus::Running, 0);
    t.timers = vec![TimerChange::Arm(Timer {
        timer_id: 5,
        fire_at_ms: 1,
    })];
    t.tasks = vec![TaskChange::Queue(PendingTask {
        task_id: 5,
        resource: "r".into(),
        request: "{}".into(),
        token: None,
        lease_owner: None,
        lease_expires_ms: None,
    })];
    store.commit(t).wait().unwrap();
    assert_eq!(store.timers(&arn).unwrap().len(), 1);
    store
        .commit(finish(&arn, 2, ExecutionStatus::Aborted, 0))
        .wait()
        .unwrap();
    assert!(store.timers(&arn).unwrap().is_empty());
    assert!(store.pending_tasks(&arn).unwrap().is_empty());
}

fn claims_take_only_free_leases(store: &dyn Store) {
    let mut active = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = store.active_executions(&page).unwrap();
        active.extend(p.items);
        match p.next_token {
            Some(t) => page.next_token = Some(t),
            None => break,
        }
    }
    assert!(!active.is_empty());
    let a = store
        .claim_executions("node-a", 100, 1_000, u32::MAX)
        .wait()
        .unwrap();
    let mut a_sorted = a.clone();
    a_sorted.sort();
    assert_eq!(
        a_sorted, active,
        "a first claim takes every active execution"
    );
    let b = store
        .claim_executions("node-b", 500, 1_000, u32::MAX)
        .wait()
        .unwrap();
    assert!(b.is_empty(), "leases held by node-a are not taken");
    let again = store
        .claim_executions("node-a", 600, 1_000, u32::MAX)
        .wait()
        .unwrap();
    assert_eq!(again.len(), a.len(), "an owner renews its own leases");
    let stolen = store
        .claim_executions("node-b", 5_000, 1_000, 2)
        .wait()
        .unwrap();
    assert_eq!(
        stolen.len(),
        2.min(a.len()),
        "expired leases are taken, up to the limit"
    );

    // An execution created with a lease is not claimable by others.
    let leased = exec_arn("leased");
    let created = store
        .create_leased_execution(
            new_execution(&leased, SM, 1),
            first_transition(&leased),
            "node-c",
            1_000_000,
        )
        .wait();
    assert_eq!(created, Ok(Created::New));
    let others = store
        .claim_executions("node-d", 6_000, 1_000, u32::MAX)
        .wait()
        .unwrap();
    assert!(!others.contains(&leased));
    let own = store
        .claim_executions("node-c", 6_000, 1_000, u32::MAX)
        .wait()
        .unwrap();
    assert!(own.contains(&leased));
}

/// A running transition with no events, computed from `version`.
fn step_from(arn: &str, version: u64) -> Transition {
    Transition {
        execution_arn: arn.into(),
        expected_version: version,
        state: running_state(&format!("at-{version}")),
        events: vec![],
        timers: vec![],
        tasks: vec![],
    }
}

fn fenced_commits_need_the_current_lease(store: &dyn Store) {
    let arn = exec_arn("fenced");
    let fence = |owner: &str, token: u64| Fence {
        owner: owner.into(),
        token,
    };
    let created = store
        .create_leased_execution(
            new_execution(&arn, SM, 1),
            first_transition(&arn),
            "node-a",
            10_000,
        )
        .wait();
    assert_eq!(created, Ok(Created::New));
    let a = fence("node-a", FIRST_LEASE_TOKEN);
    assert_eq!(
        store.commit_fenced(step_from(&arn, 1), a.clone()).wait(),
        Ok(2)
    );

    // A wrong token or another owner is refused, and writes nothing.
    for wrong in [
        fence("node-a", FIRST_LEASE_TOKEN + 5),
        fence("node-b", FIRST_LEASE_TOKEN),
    ] {
        let refused = store
            .commit_fenced(step_from(&arn, 2), wrong.clone())
            .wait();
        assert_eq!(
            refused,
            Err(Error::LeaseLost {
                arn: arn.clone(),
                owner: wrong.owner.clone(),
                token: wrong.token,
            }),
            "{wrong:?}"
        );
    }
    assert_eq!(store.get_execution(&arn).unwrap().unwrap().version, 2);
    // The right fence on a stale version is a plain conflict.
    assert!(matches!(
        store.commit_fenced(step_from(&arn, 1), a.clone()).wait(),
        Err(Error::Conflict { .. })
    ));

    // Held by node-a until 10 000: node-b cannot take it before.
    assert_eq!(
        store
            .claim_lease(&arn, "node-b", 5_000, 1_000, false)
            .wait(),
        Ok(None)
    );
    // Expired: node-b takes it over with a greater token...
    let b_token = store
        .claim_lease(&arn, "node-b", 20_000, 1_000, false)
        .wait()
        .unwrap()
        .expect("an expired lease is taken");
    assert!(b_token > FIRST_LEASE_TOKEN);
    // ...so node-a, waking up with its old token, commits nothing (fencing)...
    assert!(matches!(
        store.commit_fenced(step_from(&arn, 2), a).wait(),
        Err(Error::LeaseLost { .. })
    ));
    assert_eq!(store.get_execution(&arn).unwrap().unwrap().version, 2);
    // ...while node-b does; renewing its own lease keeps the token.
    let b = fence("node-b", b_token);
    assert_eq!(store.commit_fenced(step_from(&arn, 2), b).wait(), Ok(3));
    assert_eq!(
        store
            .claim_lease(&arn, "node-b", 20_500, 1_000, false)
            .wait(),
        Ok(Some(b_token))
    );

    // A claim of expired leases hands out the grown token with the ARN.
    let leases = store
        .claim_leases("node-a", 100_000, 1_000, u32::MAX)
        .wait()
        .unwrap();
    let taken = leases
        .iter()
        .find(|l| l.execution_arn == arn)
        .expect("the expired lease is claimed");
    assert!(taken.token > b_token);
    assert_eq!(
        store
            .commit_fenced(step_from(&arn, 3), fence("node-a", taken.token))
            .wait(),
        Ok(4)
    );

    // An operator's request at another node takes a live lease by force;
    // the holder is fenced off at once.
    let forced = store
        .claim_lease(&arn, "node-c", 100_100, 60_000, true)
        .wait()
        .unwrap()
        .expect("a forced claim always takes the lease");
    assert!(forced > taken.token);
    assert!(matches!(
        store
            .commit_fenced(step_from(&arn, 4), fence("node-a", taken.token))
            .wait(),
        Err(Error::LeaseLost { .. })
    ));

    // The owner finds the answers other nodes recorded for its tasks.
    let mut t = step_from(&arn, 4);
    t.tasks = vec![TaskChange::Queue(PendingTask {
        task_id: 3,
        resource: "arn:aws:states:us-east-1:123456789012:activity:fenced".into(),
        request: "{}".into(),
        token: Some("fenced-token".into()),
        lease_owner: None,
        lease_expires_ms: None,
    })];
    let c = fence("node-c", forced);
    assert_eq!(store.commit_fenced(t, c).wait(), Ok(5));
    assert_eq!(
        store.owned_task_answers("node-c", 100).unwrap(),
        Vec::new(),
        "no answer yet"
    );
    assert!(store
        .answer_task("fenced-token", "the answer".into())
        .wait()
        .unwrap()
        .is_some());
    assert_eq!(
        store.owned_task_answers("node-c", 100).unwrap(),
        vec![(arn.clone(), 3, "the answer".to_string())]
    );
    assert!(store
        .owned_task_answers("node-a", 100)
        .unwrap()
        .iter()
        .all(|(a, _, _)| a != &arn));

    assert!(matches!(
        store
            .claim_lease(&exec_arn("no-such"), "node-a", 1, 1, false)
            .wait(),
        Err(Error::NotFound { .. })
    ));
}

fn group_commit_many_concurrent_writes(store: &dyn Store) {
    let before = store.commit_stats();
    let pending: Vec<_> = (0..200)
        .map(|i| {
            let arn = exec_arn(&format!("bulk-{i}"));
            store.create_execution(new_execution(&arn, SM, 1), first_transition(&arn))
        })
        .collect();
    for p in pending {
        assert_eq!(p.wait(), Ok(Created::New));
    }
    let after = store.commit_stats();
    assert!(after.writes >= before.writes + 200 || after == Default::default());
}

fn tasks_are_leased_one_worker_at_a_time(store: &dyn Store) {
    let arn = exec_arn("activity-tasks");
    seed_execution(store, &arn);
    let task = |id: u64| PendingTask {
        task_id: id,
        resource: "arn:aws:states:us-east-1:123456789012:activity:work".into(),
        request: format!("{{\"task\":{id}}}"),
        token: Some(format!("activity-token-{id}")),
        lease_owner: None,
        lease_expires_ms: None,
    };
    let mut t = finish(&arn, 1, ExecutionStatus::Running, 0);
    t.tasks = vec![TaskChange::Queue(task(1)), TaskChange::Queue(task(2))];
    store.commit(t).wait().unwrap();
    let resource = "arn:aws:states:us-east-1:123456789012:activity:work";
    let a = store
        .claim_task(resource, "worker-a", 1_000, 60_000)
        .wait()
        .unwrap();
    let b = store
        .claim_task(resource, "worker-b", 1_000, 60_000)
        .wait()
        .unwrap();
    let none = store
        .claim_task(resource, "worker-c", 1_000, 60_000)
        .wait()
        .unwrap();
    let (a_arn, a_task) = a.expect("a task for worker a");
    let (_, b_task) = b.expect("a task for worker b");
    assert_eq!(a_arn, arn);
    assert_eq!((a_task.task_id, b_task.task_id), (1, 2));
    assert_eq!(a_task.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(a_task.lease_expires_ms, Some(61_000));
    assert_eq!(none, None);
    // An expired lease is taken again.
    let again = store
        .claim_task(resource, "worker-c", 61_001, 60_000)
        .wait()
        .unwrap();
    assert_eq!(again.map(|(_, t)| t.task_id), Some(1));
    let other = store
        .claim_task("arn:other", "worker-c", 0, 1)
        .wait()
        .unwrap();
    assert_eq!(other, None);
}

fn a_task_is_answered_once(store: &dyn Store) {
    let arn = exec_arn("answered");
    seed_execution(store, &arn);
    let token = "answer-token-1";
    let mut t = finish(&arn, 1, ExecutionStatus::Running, 0);
    t.tasks = vec![TaskChange::Queue(PendingTask {
        task_id: 7,
        resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
        request: "{}".into(),
        token: Some(token.into()),
        lease_owner: None,
        lease_expires_ms: None,
    })];
    let version = store.commit(t).wait().unwrap();
    // Sixteen answers at once: the store lets exactly one through.
    let arn_ref = arn.as_str();
    let winners: Vec<String> = std::thread::scope(|scope| {
        let answers: Vec<_> = (0..16)
            .map(|i| {
                scope.spawn(move || {
                    let answer = format!("answer-{i}");
                    store
                        .answer_task(token, answer.clone())
                        .wait()
                        .unwrap()
                        .map(|(a, task)| {
                            assert_eq!((a.as_str(), task.task_id), (arn_ref, 7));
                            answer
                        })
                })
            })
            .collect();
        answers
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(winners.len(), 1, "{winners:?}");
    // Closed: no longer pending, no longer found by its token, and the
    // answer is kept until a transition removes the task.
    assert_eq!(store.task_by_token(token).unwrap(), None);
    assert!(store.pending_tasks(&arn).unwrap().is_empty());
    assert_eq!(
        store.task_answers(&arn).unwrap(),
        vec![(7, winners[0].clone())]
    );
    assert_eq!(store.answer_task(token, "late".into()).wait(), Ok(None));
    assert_eq!(
        store.answer_task("no-such-token", "x".into()).wait(),
        Ok(None)
    );
    let mut t = finish(&arn, version, ExecutionStatus::Running, 0);
    t.tasks = vec![TaskChange::Remove { task_id: 7 }];
    store.commit(t).wait().unwrap();
    assert!(store.task_answers(&arn).unwrap().is_empty());
}

fn the_inbox_reaches_the_lease_holder(store: &dyn Store) {
    let arn = exec_arn("inbox");
    seed_execution(store, &arn);
    let owner = "inbox-node-a";
    assert!(store
        .claim_lease(&arn, owner, 1_000, 60_000, true)
        .wait()
        .unwrap()
        .is_some());
    assert_eq!(store.post_event(&arn, "first".into()).wait(), Ok(true));
    assert_eq!(store.post_event(&arn, "second".into()).wait(), Ok(true));
    // Nothing is recorded for an execution that does not exist.
    assert_eq!(
        store.post_event(&exec_arn("inbox-none"), "x".into()).wait(),
        Ok(false)
    );
    let owned = store.owned_inbox(owner, 100).unwrap();
    let texts: Vec<(&str, &str)> = owned
        .iter()
        .map(|(_, a, e)| (a.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![(arn.as_str(), "first"), (arn.as_str(), "second")],
        "oldest first"
    );
    assert!(store.owned_inbox("inbox-node-b", 100).unwrap().is_empty());
    assert_eq!(
        store.owned_inbox(owner, 1).unwrap().len(),
        1,
        "the limit holds"
    );
    let of_one = store.inbox(&arn).unwrap();
    assert_eq!(of_one.len(), 2);
    assert_eq!(of_one[0].0, owned[0].0);
    store.delete_inbox(vec![owned[0].0]).wait().unwrap();
    assert_eq!(
        store.inbox(&arn).unwrap(),
        vec![(owned[1].0, "second".to_string())]
    );
    // Deleting what is gone already is no error.
    store
        .delete_inbox(vec![owned[0].0, owned[1].0])
        .wait()
        .unwrap();
    assert!(store.inbox(&arn).unwrap().is_empty());
    // A finished execution takes no more events.
    let t = finish(&arn, 1, ExecutionStatus::Succeeded, 0);
    store
        .commit_fenced(
            t,
            Fence {
                owner: owner.into(),
                token: store
                    .claim_lease(&arn, owner, 1_000, 60_000, false)
                    .wait()
                    .unwrap()
                    .unwrap(),
            },
        )
        .wait()
        .unwrap();
    assert_eq!(store.post_event(&arn, "late".into()).wait(), Ok(false));
}

fn open_executions_are_counted(store: &dyn Store) {
    let before = store.count_open_executions().unwrap();
    let arns: Vec<String> = (0..3).map(|i| exec_arn(&format!("open-{i}"))).collect();
    for arn in &arns {
        seed_execution(store, arn);
    }
    assert_eq!(store.count_open_executions().unwrap(), before + 3);
    store
        .commit(finish(&arns[0], 1, ExecutionStatus::Succeeded, 0))
        .wait()
        .unwrap();
    assert_eq!(store.count_open_executions().unwrap(), before + 2);
}

/// The operator's pause record travels with every transition, the paused
/// filter sees it, and a transition may move the execution to another
/// revision (a restart on a newer definition).
fn a_pause_is_kept_with_the_state_and_filtered(store: &dyn Store) {
    let arn = exec_arn("paused-one");
    seed_execution(store, &arn);
    let mut state = running_state("held");
    state.pause = Some("{\"by\":\"operator\"}".into());
    state.revision_id = Some("rev-exec-2".into());
    let v = store
        .commit(Transition {
            execution_arn: arn.clone(),
            expected_version: 1,
            state,
            events: vec![event(2, EventType::ExecutionPaused)],
            timers: vec![],
            tasks: vec![],
        })
        .wait()
        .expect("pause commits");
    let got = store.get_execution(&arn).unwrap().expect("exists");
    assert_eq!(got.state.pause.as_deref(), Some("{\"by\":\"operator\"}"));
    assert_eq!(got.revision_id, "rev-exec-2");
    assert_eq!(
        got.state.revision_id, None,
        "reads name the revision in the record"
    );
    let listed = |paused: Option<bool>| -> Vec<(String, bool)> {
        let filter = ExecutionFilter {
            state_machine_arn: Some(SM.into()),
            paused,
            ..ExecutionFilter::default()
        };
        store
            .list_executions(&filter, &PageRequest::first(1000))
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.arn, s.paused))
            .collect()
    };
    assert!(listed(Some(true)).contains(&(arn.clone(), true)));
    assert!(!listed(Some(false)).iter().any(|(a, _)| a == &arn));
    // Resumed: no record, and the revision stays the one moved to.
    let history_len = store
        .history(&arn, &HistoryQuery::default())
        .unwrap()
        .items
        .len();
    assert_eq!(history_len, 2);
    store
        .commit(Transition {
            execution_arn: arn.clone(),
            expected_version: v,
            state: running_state("resumed"),
            events: vec![event(3, EventType::ExecutionResumed)],
            timers: vec![],
            tasks: vec![],
        })
        .wait()
        .expect("resume commits");
    let got = store.get_execution(&arn).unwrap().expect("exists");
    assert_eq!(got.state.pause, None);
    assert_eq!(got.revision_id, "rev-exec-2");
    assert!(!listed(Some(true)).iter().any(|(a, _)| a == &arn));
    assert!(listed(Some(false)).contains(&(arn, false)));
}

/// Map runs: created once with their children's revision, listed by parent
/// newest first and paged, updated (UpdateMapRun), advanced by the driver,
/// redriven; their children are listed by map run.
fn map_runs_are_recorded_updated_and_listed(store: &dyn Store) {
    use statecraft_store::{MapRunCounts, MapRunProgress, MapRunStatus, MapRunUpdate, NewMapRun};
    let parent = format!("{}:map-parent", SM.replace(":stateMachine:", ":execution:"));
    let child_machine = format!("{SM}/M");
    let new = |id: &str, start: i64| NewMapRun {
        arn: format!("{}/M:{id}", SM.replace(":stateMachine:", ":mapRun:")),
        execution_arn: parent.clone(),
        state_name: "Map".into(),
        label: Some("M".into()),
        child_machine_arn: child_machine.clone(),
        execution_type: "STANDARD".into(),
        max_concurrency: 7,
        tolerated_failure_count: 2,
        tolerated_failure_percentage: 12.5,
        spec: "{\"items\":[1,2]}".into(),
        start_date_ms: start,
    };
    let child_rev = revision(&child_machine, "rev-map-run-1", "{\"StartAt\":\"P\"}");
    let first = store
        .create_map_run(new("one", 5_000), child_rev.clone())
        .wait()
        .unwrap();
    assert_eq!(first.status, MapRunStatus::Running);
    assert_eq!(first.max_concurrency, 7);
    assert_eq!(first.tolerated_failure_count, 2);
    assert_eq!(first.tolerated_failure_percentage, 12.5);
    assert_eq!(first.revision_id, "rev-map-run-1");
    assert_eq!(first.label.as_deref(), Some("M"));
    assert_eq!(first.item_counts, MapRunCounts::default());
    assert_eq!(first.stop_date_ms, None);
    assert_eq!(first.redrive_count, 0);
    // The children's revision is readable like any other.
    let rev = store.get_revision("rev-map-run-1").unwrap().unwrap();
    assert_eq!(rev.state_machine_arn, child_machine);
    assert_eq!(rev.definition, "{\"StartAt\":\"P\"}");
    // Creating it again (a restarted node) returns the stored run unchanged.
    let mut changed = new("one", 9_999);
    changed.max_concurrency = 1;
    let again = store
        .create_map_run(changed, child_rev.clone())
        .wait()
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(store.get_map_run(&first.arn).unwrap(), Some(first.clone()));
    assert_eq!(store.get_map_run("arn:nope").unwrap(), None);

    let second = store
        .create_map_run(new("two", 6_000), child_rev.clone())
        .wait()
        .unwrap();
    let third = store
        .create_map_run(new("three", 7_000), child_rev)
        .wait()
        .unwrap();
    let page1 = store
        .list_map_runs(&parent, &PageRequest::first(2))
        .unwrap();
    let arns: Vec<&str> = page1.items.iter().map(|r| r.arn.as_str()).collect();
    assert_eq!(arns, vec![third.arn.as_str(), second.arn.as_str()]);
    let token = page1.next_token.clone().expect("a second page");
    let page2 = store
        .list_map_runs(
            &parent,
            &PageRequest {
                max_results: 2,
                next_token: Some(token),
            },
        )
        .unwrap();
    assert_eq!(page2.items.len(), 1);
    assert_eq!(page2.items[0].arn, first.arn);
    assert_eq!(page2.next_token, None);
    assert!(store
        .list_map_runs("arn:other", &PageRequest::first(10))
        .unwrap()
        .items
        .is_empty());

    // UpdateMapRun changes what it is given and keeps the rest.
    let updated = store
        .update_map_run(
            &first.arn,
            MapRunUpdate {
                max_concurrency: Some(3),
                tolerated_failure_count: None,
                tolerated_failure_percentage: Some(50.0),
                update_date_ms: 8_000,
            },
        )
        .wait()
        .unwrap();
    assert_eq!(updated.max_concurrency, 3);
    assert_eq!(updated.tolerated_failure_count, 2);
    assert_eq!(updated.tolerated_failure_percentage, 50.0);
    assert_eq!(updated.update_date_ms, Some(8_000));
    assert!(matches!(
        store
            .update_map_run("arn:nope", MapRunUpdate::default())
            .wait(),
        Err(Error::NotFound { .. })
    ));

    // The driver's progress, then the end.
    let counts = MapRunCounts {
        pending: 3,
        running: 2,
        succeeded: 4,
        failed: 1,
        total: 10,
        ..MapRunCounts::default()
    };
    let progress = MapRunProgress {
        status: MapRunStatus::Running,
        item_counts: counts,
        execution_counts: counts,
        cursor: Some("{\"next\":7}".into()),
        result_writer_details: None,
        error: None,
        cause: None,
        stop_date_ms: None,
    };
    store
        .save_map_run_progress(&first.arn, progress.clone())
        .wait()
        .unwrap();
    let got = store.get_map_run(&first.arn).unwrap().unwrap();
    assert_eq!(got.item_counts, counts);
    assert_eq!(got.cursor.as_deref(), Some("{\"next\":7}"));
    assert_eq!(
        got.max_concurrency, 3,
        "progress keeps the updated settings"
    );
    let failed = MapRunProgress {
        status: MapRunStatus::Failed,
        error: Some("States.ExceedToleratedFailureThreshold".into()),
        cause: Some("too many".into()),
        result_writer_details: Some("{\"Bucket\":\"b\",\"Key\":\"k\"}".into()),
        stop_date_ms: Some(9_000),
        ..progress
    };
    store
        .save_map_run_progress(&first.arn, failed)
        .wait()
        .unwrap();
    let got = store.get_map_run(&first.arn).unwrap().unwrap();
    assert_eq!(got.status, MapRunStatus::Failed);
    assert_eq!(got.stop_date_ms, Some(9_000));
    assert_eq!(
        got.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(got.result_writer_details.is_some());
    assert!(matches!(
        store
            .save_map_run_progress(
                "arn:nope",
                MapRunProgress {
                    status: MapRunStatus::Running,
                    item_counts: counts,
                    execution_counts: counts,
                    cursor: None,
                    result_writer_details: None,
                    error: None,
                    cause: None,
                    stop_date_ms: None,
                }
            )
            .wait(),
        Err(Error::NotFound { .. })
    ));

    // A redrive reopens it.
    let redriven = store.redrive_map_run(&first.arn, 10_000).wait().unwrap();
    assert_eq!(redriven.status, MapRunStatus::Running);
    assert_eq!(redriven.redrive_count, 1);
    assert_eq!(redriven.redrive_date_ms, Some(10_000));
    assert_eq!(redriven.stop_date_ms, None);
    assert_eq!(redriven.error, None);
    assert_eq!(redriven.item_counts, counts, "counts survive a redrive");

    // Children are executions that name their map run.
    for i in 0..3 {
        let arn = format!("{child_machine}:child-{i}").replace(":stateMachine:", ":execution:");
        let mut child = new_execution(&arn, &child_machine, 11_000 + i);
        child.map_run_arn = Some(first.arn.clone());
        child.parent_arn = Some(parent.clone());
        let created = store
            .create_execution(child, first_transition(&arn))
            .wait()
            .unwrap();
        assert_eq!(created, Created::New);
    }
    let children = store
        .list_executions(
            &ExecutionFilter {
                map_run_arn: Some(first.arn.clone()),
                ..ExecutionFilter::default()
            },
            &PageRequest::first(10),
        )
        .unwrap();
    assert_eq!(children.items.len(), 3);
    assert!(children
        .items
        .iter()
        .all(|c| c.map_run_arn.as_deref() == Some(first.arn.as_str())));
    let child = store
        .get_execution(&children.items[0].arn)
        .unwrap()
        .unwrap();
    assert_eq!(child.parent_arn.as_deref(), Some(parent.as_str()));

    // Retention takes a finished parent's map runs with it.
    let old_parent = exec_arn("map-parent-finished");
    store
        .create_execution(
            new_execution(&old_parent, SM, 1_000),
            first_transition(&old_parent),
        )
        .wait()
        .unwrap();
    let mut done = running_state("s2");
    done.status = ExecutionStatus::Succeeded;
    done.stop_date_ms = Some(2_000);
    store
        .commit(Transition {
            execution_arn: old_parent.clone(),
            expected_version: 1,
            state: done,
            events: vec![event(2, EventType::ExecutionSucceeded)],
            timers: vec![],
            tasks: vec![],
        })
        .wait()
        .unwrap();
    let mut old_run = new("old", 1_500);
    old_run.execution_arn = old_parent.clone();
    let old_run = store
        .create_map_run(old_run, revision(&child_machine, "rev-map-run-old", "{}"))
        .wait()
        .unwrap();
    let deleted = store.delete_finished_before(3_000, 10_000).wait().unwrap();
    if deleted > 0 {
        assert_eq!(store.get_execution(&old_parent).unwrap(), None);
        assert_eq!(store.get_map_run(&old_run.arn).unwrap(), None);
        assert!(store.get_map_run(&first.arn).unwrap().is_some());
    }
}
