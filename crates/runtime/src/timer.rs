//! The timer service: an in-memory heap of armed timers that delivers
//! `TimerFired` when each falls due.
//!
//! The store is the truth (timers are written with the transition that arms
//! them); this heap is a cache of it. At startup, recovery re-arms every
//! persisted timer of every active execution, and a timer whose time passed
//! while the process was down fires at once. A fired timer is only a
//! message: the transition that consumes it deletes it from the store, so a
//! crash between firing and committing fires it again after restart, and the
//! engine ignores a timer it no longer waits for.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::host::now_ms;

enum Msg {
    Arm {
        execution: String,
        timer: u64,
        fire_at_ms: i64,
    },
    Cancel {
        execution: String,
        timer: u64,
    },
    CancelAll {
        execution: String,
    },
}

/// A timer that fell due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fired {
    pub execution: String,
    pub timer: u64,
}

/// The handle the actors use to arm and cancel timers.
#[derive(Clone)]
pub(crate) struct Timers {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Timers {
    /// Starts the service on the current tokio runtime; fired timers are
    /// sent to `fired`. The service ends when every handle is dropped.
    pub(crate) fn spawn(fired: mpsc::UnboundedSender<Fired>) -> Timers {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, fired));
        Timers { tx }
    }

    pub(crate) fn arm(&self, execution: &str, timer: u64, fire_at_ms: i64) {
        // A send fails only when the service is gone (shutdown); the timer is
        // in the store and is re-armed by the next start.
        let _ = self.tx.send(Msg::Arm {
            execution: execution.to_string(),
            timer,
            fire_at_ms,
        });
    }

    pub(crate) fn cancel(&self, execution: &str, timer: u64) {
        let _ = self.tx.send(Msg::Cancel {
            execution: execution.to_string(),
            timer,
        });
    }

    pub(crate) fn cancel_all(&self, execution: &str) {
        let _ = self.tx.send(Msg::CancelAll {
            execution: execution.to_string(),
        });
    }
}

/// The timers of one execution: almost always one (a Wait, a retry's
/// back-off, a task's timeout), so it is kept inline.
enum Armed {
    One(u64, i64),
    Many(Vec<(u64, i64)>),
}

impl Armed {
    fn get(&self, timer: u64) -> Option<i64> {
        match self {
            Armed::One(t, at) => (*t == timer).then_some(*at),
            Armed::Many(v) => v.iter().find(|(t, _)| *t == timer).map(|(_, at)| *at),
        }
    }

    fn set(&mut self, timer: u64, at: i64) {
        match self {
            Armed::One(t, a) if *t == timer => *a = at,
            Armed::One(t, a) => *self = Armed::Many(vec![(*t, *a), (timer, at)]),
            Armed::Many(v) => match v.iter_mut().find(|(t, _)| *t == timer) {
                Some(entry) => entry.1 = at,
                None => v.push((timer, at)),
            },
        }
    }

    /// Removes `timer`; true when none is left.
    fn remove(&mut self, timer: u64) -> bool {
        let v = match self {
            Armed::One(t, _) => return *t == timer,
            Armed::Many(v) => v,
        };
        v.retain(|(t, _)| *t != timer);
        match v[..] {
            [] => true,
            [(t, at)] => {
                *self = Armed::One(t, at);
                false
            }
            _ => false,
        }
    }
}

/// Armed timers: what a waiting execution costs while it has no actor
/// (its ARN once, shared by its heap entries, and 16 bytes a timer), so
/// that 100,000 executions waiting on timers stay cheap.
#[derive(Default)]
struct Heap {
    due: BinaryHeap<Reverse<(i64, Arc<str>, u64)>>,
    /// What is armed now, by execution; heap entries not matching it are
    /// stale.
    armed: HashMap<Arc<str>, Armed>,
    /// The number of timers in `armed`.
    count: usize,
}

impl Heap {
    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Arm {
                execution,
                timer,
                fire_at_ms,
            } => {
                let key = match self.armed.get_key_value(execution.as_str()) {
                    Some((key, armed)) => {
                        // Re-armed as it was (an execution activated again
                        // re-arms its stored timers): nothing changes, and
                        // no stale entry piles up in the heap.
                        if armed.get(timer) == Some(fire_at_ms) {
                            return;
                        }
                        Arc::clone(key)
                    }
                    None => Arc::from(execution),
                };
                match self.armed.get_mut(&key) {
                    Some(armed) => {
                        if armed.get(timer).is_none() {
                            self.count += 1;
                        }
                        armed.set(timer, fire_at_ms);
                    }
                    None => {
                        self.count += 1;
                        self.armed
                            .insert(Arc::clone(&key), Armed::One(timer, fire_at_ms));
                    }
                }
                self.due.push(Reverse((fire_at_ms, key, timer)));
            }
            Msg::Cancel { execution, timer } => {
                self.disarm(&execution, timer);
            }
            Msg::CancelAll { execution } => {
                if let Some(armed) = self.armed.remove(execution.as_str()) {
                    self.count -= match armed {
                        Armed::One(..) => 1,
                        Armed::Many(v) => v.len(),
                    };
                }
            }
        }
        // Cancelled timers leave stale heap entries until they fall due; a
        // heap mostly stale is rebuilt from what is armed.
        if self.due.len() > 1024 && self.due.len() > 2 * self.count {
            self.rebuild();
        }
    }

    fn rebuild(&mut self) {
        let mut due = Vec::with_capacity(self.armed.len());
        for (execution, armed) in &self.armed {
            match armed {
                Armed::One(t, at) => due.push(Reverse((*at, Arc::clone(execution), *t))),
                Armed::Many(v) => {
                    for (t, at) in v {
                        due.push(Reverse((*at, Arc::clone(execution), *t)));
                    }
                }
            }
        }
        self.due = BinaryHeap::from(due);
    }

    fn disarm(&mut self, execution: &str, timer: u64) {
        if let Some(armed) = self.armed.get_mut(execution) {
            if armed.get(timer).is_none() {
                return;
            }
            self.count -= 1;
            if armed.remove(timer) {
                self.armed.remove(execution);
            }
        }
    }

    /// Pops every timer due at `now`, skipping stale entries.
    fn pop_due(&mut self, now: i64) -> Vec<Fired> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _, _))) = self.due.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, execution, timer))) = self.due.pop() else {
                break;
            };
            let armed = self.armed.get(&execution).and_then(|a| a.get(timer));
            if armed != Some(at) {
                continue;
            }
            self.disarm(&execution, timer);
            statecraft_telemetry::metrics::observe_timer_lag(now.saturating_sub(at));
            out.push(Fired {
                execution: execution.to_string(),
                timer,
            });
        }
        out
    }

    fn next_due(&self) -> Option<i64> {
        self.due.peek().map(|Reverse((at, _, _))| *at)
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Msg>, fired: mpsc::UnboundedSender<Fired>) {
    let mut heap = Heap::default();
    loop {
        let wait = heap.next_due().map(|at| until(at, now_ms()));
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => heap.apply(m),
                None => return,
            },
            () = sleep_or_forever(wait) => {
                for f in heap.pop_due(now_ms()) {
                    if fired.send(f).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The longest single sleep. Timers far in the future (a Wait of a year, a
/// timestamp in 2999) are approached in steps, which keeps the deadline
/// arithmetic far from overflow and lets the wall clock be re-read.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long from `now_ms` until `at_ms`, at most [`MAX_SLEEP`], zero if past.
pub(crate) fn until(at_ms: i64, now_ms: i64) -> Duration {
    let ms = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0);
    Duration::from_millis(ms).min(MAX_SLEEP)
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(h: &mut Heap, e: &str, t: u64, at: i64) {
        h.apply(Msg::Arm {
            execution: e.into(),
            timer: t,
            fire_at_ms: at,
        });
    }

    #[test]
    fn fires_in_order_and_skips_cancelled_and_rearmed() {
        let mut h = Heap::default();
        arm(&mut h, "a", 1, 30);
        arm(&mut h, "b", 1, 10);
        arm(&mut h, "a", 2, 20);
        arm(&mut h, "c", 1, 5);
        h.apply(Msg::Cancel {
            execution: "a".into(),
            timer: 2,
        });
        // Re-arming moves the timer later; the old entry is stale.
        arm(&mut h, "b", 1, 40);
        h.apply(Msg::CancelAll {
            execution: "c".into(),
        });
        assert_eq!(
            h.pop_due(35),
            vec![Fired {
                execution: "a".into(),
                timer: 1
            }]
        );
        assert_eq!(
            h.pop_due(100),
            vec![Fired {
                execution: "b".into(),
                timer: 1
            }]
        );
        assert!(h.pop_due(1000).is_empty());
        assert!(h.armed.is_empty());
        assert_eq!(h.count, 0);
    }

    #[test]
    fn re_arming_an_armed_timer_adds_nothing() {
        // An execution activated again re-arms its stored timers.
        let mut h = Heap::default();
        for _ in 0..100 {
            arm(&mut h, "a", 1, 50);
        }
        assert_eq!(h.due.len(), 1);
        // Moved: the old entry is stale and skipped.
        arm(&mut h, "a", 1, 60);
        assert_eq!(h.due.len(), 2);
        assert!(h.pop_due(55).is_empty());
        assert_eq!(h.pop_due(60).len(), 1);
        assert!(h.armed.is_empty());
        assert_eq!(h.count, 0);
    }

    #[test]
    fn several_timers_of_one_execution_fire_and_cancel_apart() {
        let mut h = Heap::default();
        arm(&mut h, "a", 1, 10);
        arm(&mut h, "a", 2, 20);
        arm(&mut h, "a", 3, 30);
        h.apply(Msg::Cancel {
            execution: "a".into(),
            timer: 2,
        });
        let fired = |v: Vec<Fired>| v.into_iter().map(|f| f.timer).collect::<Vec<_>>();
        assert_eq!(fired(h.pop_due(25)), vec![1]);
        assert_eq!(fired(h.pop_due(35)), vec![3]);
        assert!(h.armed.is_empty());
        assert_eq!(h.count, 0);
    }

    #[test]
    fn a_heap_of_mostly_cancelled_timers_is_rebuilt() {
        let mut h = Heap::default();
        for i in 0..3000u64 {
            arm(&mut h, &format!("e{i}"), 1, 1_000 + i as i64);
        }
        for i in 0..2900u64 {
            h.apply(Msg::CancelAll {
                execution: format!("e{i}"),
            });
        }
        assert!(h.due.len() <= 2 * 1024, "{} entries", h.due.len());
        let fired = h.pop_due(i64::MAX);
        assert_eq!(fired.len(), 100);
        assert_eq!(fired[0].execution, "e2900");
    }

    #[test]
    fn sleeps_are_bounded_and_never_negative() {
        assert_eq!(until(1_000, 2_000), Duration::ZERO);
        assert_eq!(until(2_500, 2_000), Duration::from_millis(500));
        assert_eq!(until(i64::MAX, i64::MIN), MAX_SLEEP);
    }

    #[tokio::test]
    async fn a_timer_in_the_past_fires_at_once() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let timers = Timers::spawn(tx);
        timers.arm("e", 7, now_ms() - 60_000);
        let fired = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await;
        assert_eq!(
            fired.ok().flatten(),
            Some(Fired {
                execution: "e".into(),
                timer: 7
            })
        );
    }
}
