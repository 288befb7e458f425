//! The shared suite's checks of durable flow-limit queues, fair activity
//! task claims and schedules (see [`statecraft_store::queue`], [`statecraft_store::schedule`]).

use statecraft_store::{
    Created, Enqueued, ExecutionStatus, PendingTask, QueueClaim, QueueDepth, QueuedTask, Store,
    StoredSchedule, TaskChange,
};

const HTTP: &str = "arn:aws:states:::http:invoke";
const FAR: i64 = 1 << 50;

/// Creates a running execution leased to `owner` until `until`, with
/// pending tasks `1..=tasks` of `resource`.
fn leased(
    store: &dyn Store,
    name: &str,
    owner: &str,
    until: i64,
    resource: &str,
    tasks: u64,
) -> String {
    let arn = super::exec_arn(name);
    let mut first = super::first_transition(&arn);
    first.tasks = (1..=tasks)
        .map(|id| TaskChange::Queue(task(id, resource, name)))
        .collect();
    let created = store
        .create_leased_execution(
            super::new_execution(&arn, super::SM, 1_000),
            first,
            owner,
            until,
        )
        .wait();
    assert_eq!(created, Ok(Created::New), "seeding {arn}");
    arn
}

fn task(id: u64, resource: &str, execution: &str) -> PendingTask {
    PendingTask {
        task_id: id,
        resource: resource.into(),
        request: format!("{{\"task\":{id}}}"),
        token: resource
            .contains(":activity:")
            .then(|| format!("queue-token-{execution}-{id}")),
        lease_owner: None,
        lease_expires_ms: None,
    }
}

fn claim(
    store: &dyn Store,
    queue: &str,
    owner: &str,
    now_ms: i64,
    max_concurrent: Option<u64>,
) -> Vec<QueuedTask> {
    store
        .claim_queued(QueueClaim {
            queue: queue.into(),
            owner: owner.into(),
            now_ms,
            max_concurrent,
            max_starts: 100,
        })
        .wait()
        .unwrap()
}

fn names(started: &[QueuedTask], arns: &[(&str, &str)]) -> Vec<String> {
    started
        .iter()
        .map(|t| {
            let name = arns
                .iter()
                .find(|(_, arn)| *arn == t.execution_arn)
                .map_or("?", |(n, _)| n);
            format!("{name}{}", t.task_id)
        })
        .collect()
}

/// Queued tasks start round-robin across executions, at most
/// `max_concurrent` at once; a re-dispatched task keeps its place or its
/// start; another node's executions are left to it.
pub(super) fn flow_queues_are_fair_limited_and_durable(store: &dyn Store) {
    let q = "arn:aws:states:::http:";
    let big = leased(store, "queue-big", "node-q", FAR, HTTP, 4);
    let small = leased(store, "queue-small", "node-q", FAR, HTTP, 2);
    let arns = [("big", big.as_str()), ("small", small.as_str())];
    for id in 1..=4u64 {
        let e = store.enqueue_task(&big, id, q, 0, 10 + id as i64).wait();
        assert_eq!(e, Ok(Enqueued::Queued));
    }
    for id in 1..=2u64 {
        let e = store.enqueue_task(&small, id, q, 0, 20 + id as i64).wait();
        assert_eq!(e, Ok(Enqueued::Queued));
    }
    // Queued twice (a re-dispatch): the place is kept, not doubled.
    assert_eq!(
        store.enqueue_task(&big, 1, q, 0, 99).wait(),
        Ok(Enqueued::Queued)
    );
    assert_eq!(
        store.enqueue_task(&big, 9, q, 0, 99).wait(),
        Ok(Enqueued::Gone),
        "a task that is not pending"
    );
    // Another node does not start this node's tasks.
    assert!(claim(store, q, "node-other", 100, Some(5)).is_empty());
    let mut order = Vec::new();
    let first = claim(store, q, "node-q", 100, Some(1));
    order.extend(names(&first, &arns));
    assert!(
        claim(store, q, "node-q", 100, Some(1)).is_empty(),
        "the limit is full"
    );
    assert_eq!(
        store.queue_depths(100).unwrap(),
        [QueueDepth {
            queue: q.into(),
            queued: 5,
            running: 1,
            oldest_queued_ms: Some(12),
        }]
    );
    // After a restart the started task is re-dispatched: it runs at once.
    assert_eq!(
        store.enqueue_task(&big, 1, q, 0, 200).wait(),
        Ok(Enqueued::Started)
    );
    let mut last = first;
    while let Some(done) = last.first().cloned() {
        store
            .release_queued(&done.execution_arn, done.task_id)
            .wait()
            .unwrap();
        last = claim(store, q, "node-q", 100, Some(1));
        order.extend(names(&last, &arns));
    }
    assert_eq!(order, ["big1", "small1", "big2", "small2", "big3", "big4"]);
    assert!(store.queue_depths(100).unwrap().is_empty());

    // A retry queued under the same task id waits afresh.
    let e = store.enqueue_task(&small, 1, "q-retry", 0, 300).wait();
    assert_eq!(e, Ok(Enqueued::Queued));
    assert_eq!(claim(store, "q-retry", "node-q", 300, Some(1)).len(), 1);
    let record = store.get_execution(&small).unwrap().expect("small");
    let mut retry = super::finish(&small, record.version, ExecutionStatus::Running, 0);
    retry.tasks = vec![TaskChange::Queue(task(1, HTTP, "queue-small"))];
    store.commit(retry).wait().unwrap();
    assert_eq!(
        store.enqueue_task(&small, 1, "q-retry", 0, 301).wait(),
        Ok(Enqueued::Queued)
    );
}

/// A dead node's started tasks stop counting when its lease expires;
/// priorities go first.
pub(super) fn flow_slots_of_a_dead_node_are_released_with_its_lease(store: &dyn Store) {
    let q = "arn:aws:states:::http:dead";
    let dead = leased(store, "queue-dead", "node-dead", 1_000, HTTP, 1);
    let low = leased(store, "queue-low", "node-live", FAR, HTTP, 1);
    let high = leased(store, "queue-high", "node-live", FAR, HTTP, 1);
    assert_eq!(
        store.enqueue_task(&dead, 1, q, 0, 1).wait(),
        Ok(Enqueued::Queued)
    );
    assert_eq!(claim(store, q, "node-dead", 500, Some(1)).len(), 1);
    assert_eq!(
        store.enqueue_task(&low, 1, q, 0, 2).wait(),
        Ok(Enqueued::Queued)
    );
    assert_eq!(
        store.enqueue_task(&high, 1, q, 5, 3).wait(),
        Ok(Enqueued::Queued)
    );
    assert!(
        claim(store, q, "node-live", 900, Some(1)).is_empty(),
        "the dead node's slot counts while its lease lasts"
    );
    let started = claim(store, q, "node-live", 2_000, Some(1));
    assert_eq!(
        started
            .iter()
            .map(|t| t.execution_arn.as_str())
            .collect::<Vec<_>>(),
        [high.as_str()],
        "the higher priority first, in the slot the dead node held"
    );
}

/// GetActivityTask's claims go round-robin across executions: a small
/// execution's task is not stuck behind a big one's.
pub(super) fn activity_tasks_go_round_robin_across_executions(store: &dyn Store) {
    let resource = "arn:aws:states:us-east-1:123456789012:activity:fair";
    let big = leased(store, "activity-big", "node-q", FAR, resource, 5);
    let small = leased(store, "activity-small", "node-q", FAR, resource, 1);
    let mut order = Vec::new();
    for now in [1_000, 1_001, 1_002, 1_003] {
        let (arn, t) = store
            .claim_task(resource, "worker", now, 60_000)
            .wait()
            .unwrap()
            .expect("a task");
        let name = if arn == big {
            "big"
        } else if arn == small {
            "small"
        } else {
            "?"
        };
        order.push(format!("{name}{}", t.task_id));
    }
    assert_eq!(order, ["big1", "small1", "big2", "big3"]);
    // A task of a higher priority (its machine's) goes first.
    let urgent = leased(store, "activity-urgent", "node-q", FAR, resource, 1);
    store.set_task_priority(&urgent, 1, 10).wait().unwrap();
    let (arn, _) = store
        .claim_task(resource, "worker", 1_004, 60_000)
        .wait()
        .unwrap()
        .expect("a task");
    assert_eq!(arn, urgent, "the higher priority first");
}

/// Schedules and their groups in their own tables.
pub(super) fn schedules_are_kept_by_group_and_name(store: &dyn Store) {
    let s = |group: &str, name: &str, doc: &str| StoredSchedule {
        group: group.into(),
        name: name.into(),
        document: doc.into(),
    };
    assert!(store.create_schedule_group("nightly", 5).wait().unwrap());
    assert!(
        !store.create_schedule_group("nightly", 6).wait().unwrap(),
        "exists"
    );
    store
        .put_schedule(s("default", "b", "{\"v\":1}"))
        .wait()
        .unwrap();
    store
        .put_schedule(s("default", "a", "{\"v\":1}"))
        .wait()
        .unwrap();
    store
        .put_schedule(s("nightly", "a", "{\"v\":1}"))
        .wait()
        .unwrap();
    store
        .put_schedule(s("default", "b", "{\"v\":2}"))
        .wait()
        .unwrap();
    assert_eq!(
        store.get_schedule("default", "b").unwrap(),
        Some(s("default", "b", "{\"v\":2}"))
    );
    assert_eq!(store.get_schedule("default", "zz").unwrap(), None);
    let all: Vec<(String, String)> = store
        .list_schedules(None)
        .unwrap()
        .into_iter()
        .map(|s| (s.group, s.name))
        .collect();
    assert_eq!(
        all,
        [
            ("default".to_string(), "a".to_string()),
            ("default".into(), "b".into()),
            ("nightly".into(), "a".into())
        ]
    );
    assert_eq!(store.list_schedules(Some("nightly")).unwrap().len(), 1);
    assert!(store.delete_schedule("default", "a").wait().unwrap());
    assert!(!store.delete_schedule("default", "a").wait().unwrap());
    assert_eq!(
        store.list_schedule_groups().unwrap(),
        [("nightly".to_string(), 5)]
    );
    assert!(store.delete_schedule_group("nightly").wait().unwrap());
    assert!(
        store.list_schedules(Some("nightly")).unwrap().is_empty(),
        "deleted with its group"
    );
    assert!(store.list_schedule_groups().unwrap().is_empty());
}
