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
use std::collections::{BinaryHeap, HashMap, HashSet};
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

#[derive(Default)]
struct Heap {
    due: BinaryHeap<Reverse<(i64, String, u64)>>,
    /// What is armed now; heap entries not matching it are stale.
    armed: HashMap<(String, u64), i64>,
    by_execution: HashMap<String, HashSet<u64>>,
}

impl Heap {
    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Arm {
                execution,
                timer,
                fire_at_ms,
            } => {
                self.armed.insert((execution.clone(), timer), fire_at_ms);
                self.by_execution
                    .entry(execution.clone())
                    .or_default()
                    .insert(timer);
                self.due.push(Reverse((fire_at_ms, execution, timer)));
            }
            Msg::Cancel { execution, timer } => {
                self.armed.remove(&(execution.clone(), timer));
                if let Some(set) = self.by_execution.get_mut(&execution) {
                    set.remove(&timer);
                    if set.is_empty() {
                        self.by_execution.remove(&execution);
                    }
                }
            }
            Msg::CancelAll { execution } => {
                if let Some(set) = self.by_execution.remove(&execution) {
                    for timer in set {
                        self.armed.remove(&(execution.clone(), timer));
                    }
                }
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
            let key = (execution, timer);
            if self.armed.get(&key) != Some(&at) {
                continue;
            }
            self.armed.remove(&key);
            let (execution, timer) = key;
            if let Some(set) = self.by_execution.get_mut(&execution) {
                set.remove(&timer);
                if set.is_empty() {
                    self.by_execution.remove(&execution);
                }
            }
            statecraft_telemetry::metrics::observe_timer_lag(now.saturating_sub(at));
            out.push(Fired { execution, timer });
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
        assert!(h.armed.is_empty() && h.by_execution.is_empty());
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
