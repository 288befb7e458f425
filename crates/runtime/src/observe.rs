//! The runtime's telemetry hooks: what a committed transition adds to the
//! metrics, to the log (per its state machine's `loggingConfiguration`) and
//! to the execution's trace, and how long integrations take to answer tasks.
//!
//! Everything is computed before the commit from borrowed events and
//! recorded after it succeeded, so the hot path clones history events only
//! for state machines whose logging is on, or when traces are exported.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use statecraft_store::{Store, Transition};
use statecraft_telemetry::execution_log;
use statecraft_telemetry::metrics::{self, Tally};
use statecraft_telemetry::spans;
use statecraft_types::HistoryEvent;

use crate::integration::{TaskFuture, TaskOutcome};

/// How long a state machine's logging configuration is trusted before it is
/// read again: an UpdateStateMachine takes effect within this time without
/// the server having to tell the runtime.
const CONFIG_TTL: Duration = Duration::from_secs(5);
/// Machines whose configuration is cached; past this the cache starts over.
const CONFIG_CAPACITY: usize = 4096;

type ConfigCache = HashMap<String, (execution_log::Config, Instant)>;
static CONFIGS: LazyLock<Mutex<ConfigCache>> = LazyLock::new(Mutex::default);

/// The logging configuration of the state machine an execution belongs to.
fn logging_config(store: &dyn Store, execution_arn: &str) -> execution_log::Config {
    let machine = metrics::machine_arn_of(execution_arn);
    let mut cache = match CONFIGS.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some((config, at)) = cache.get(&machine) {
        if at.elapsed() < CONFIG_TTL {
            return *config;
        }
    }
    // A missing machine or a failed read logs nothing: logging must never
    // fail a transition.
    let config = store
        .get_state_machine(&machine)
        .ok()
        .flatten()
        .map(|sm| execution_log::Config::from_api(sm.revision.logging_configuration.as_ref()))
        .unwrap_or_default();
    if cache.len() >= CONFIG_CAPACITY {
        cache.clear();
    }
    cache.insert(machine, (config, Instant::now()));
    config
}

/// What a transition will add to the metrics and log once committed.
pub(crate) struct Observed {
    tally: Tally,
    config: execution_log::Config,
    /// The events, when the log or the span model needs them.
    events: Option<Vec<HistoryEvent>>,
}

/// Reads a transition about to be committed.
pub(crate) fn before_commit(store: &dyn Store, transition: &Transition) -> Observed {
    let config = logging_config(store, &transition.execution_arn);
    let logged = transition.events.iter().any(|e| config.logs(e.event_type));
    let events = (logged || spans::enabled()).then(|| transition.events.clone());
    Observed {
        tally: Tally::of(&transition.events),
        config,
        events,
    }
}

impl Observed {
    /// Records the transition: it is committed.
    pub(crate) fn committed(self, execution_arn: &str) {
        self.tally.record(execution_arn);
        if let Some(events) = self.events {
            execution_log::log_events(self.config, execution_arn, &events);
            spans::record(execution_arn, &events);
        }
    }
}

/// Wraps a task's future to record how long the integration took to
/// answer and whether it failed. Tasks answered later by token (deferred,
/// submitted) are not timed: their wait is the caller's, not ours.
pub(crate) fn timed_task(resource: String, task: TaskFuture) -> TaskFuture {
    Box::pin(async move {
        let started = Instant::now();
        let outcome = task.await;
        match &outcome {
            TaskOutcome::Succeeded(_) => metrics::observe_task(&resource, started.elapsed(), false),
            TaskOutcome::Failed(_) => metrics::observe_task(&resource, started.elapsed(), true),
            TaskOutcome::Submitted(_) | TaskOutcome::Deferred => {}
        }
        outcome
    })
}
