//! What `statecraft run` shows on stderr while an execution runs: one line
//! per state entered, left, failed, retried or caught, each naming the state
//! the event belongs to with its place (`Resize[branch 1] › Thumbnail`,
//! `TransformRecords[17] › TransformRecord`), and per Map a summary.
//!
//! History events do not name their state or their Map iteration; they
//! point at the event before them in the same frame (`previousEventId`, see
//! `statecraft_engine::history`). Each event's owner (the state it belongs
//! to) and the Map iteration indices it runs under are inherited along that
//! chain; the branch of a Parallel is fixed by the definition, since state
//! names are unique in the whole machine.
//!
//! On a terminal, the states inside Map iterations are replaced by a
//! progress bar (failures, retries and catches are still printed). In a pipe
//! or a file they are replaced by one summary per Map: counts by status,
//! then every failed iteration and every caught error with its index.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::rc::Rc;

use serde_json::Value;
use statecraft_language::ast::{StateKind, StateMachine};
use statecraft_types::{EventType, HistoryEvent};

/// A container a state sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// The item processor of this Map state.
    Map(String),
    /// Branch `n` of this Parallel state.
    Branch(String, usize),
}

/// A state's type and the containers it sits in, outermost first.
#[derive(Debug, Clone)]
struct StateInfo {
    kind: &'static str,
    scopes: Vec<Scope>,
}

/// What is known about a recorded event.
#[derive(Debug, Clone)]
struct Place {
    event_type: EventType,
    owner: Option<Rc<str>>,
    /// The iteration index of each Map the event runs under, outermost first.
    indices: Rc<Vec<(Rc<str>, usize)>>,
}

/// One visit of a state (one iteration's, one branch's).
#[derive(Debug, Default)]
struct Visit {
    entered_ms: i64,
    attempts: u32,
    /// The failure not (yet) followed by a success: present at the exit,
    /// it was caught.
    failure: Option<(String, String)>,
}

/// One Map iteration, as its Map's summary reports it.
#[derive(Debug, Default)]
struct Iteration {
    status: Option<&'static str>,
    /// The last failure not followed by a success or a catch: why a failed
    /// iteration failed.
    failure: Option<(String, String, String)>,
    caught: Vec<(String, String, String)>,
}

/// A running (outermost) Map state: what its summary and bar show.
#[derive(Debug)]
struct MapRun {
    label: String,
    total: u64,
    retries: u64,
    iterations: BTreeMap<usize, Iteration>,
    /// Iterations by final status, kept as they end: the bar is redrawn
    /// after every iteration.
    counts: HashMap<&'static str, usize>,
}

impl MapRun {
    fn count(&self, status: &str) -> usize {
        self.counts.get(status).copied().unwrap_or(0)
    }
    fn done(&self) -> usize {
        self.counts.values().sum()
    }
    fn end_iteration(&mut self, i: usize, status: &'static str) {
        let it = self.iterations.entry(i).or_default();
        if let Some(old) = it.status.replace(status) {
            if let Some(n) = self.counts.get_mut(old) {
                *n = n.saturating_sub(1);
            }
        }
        *self.counts.entry(status).or_default() += 1;
    }
}

/// The progress display.
pub struct Progress<W: Write> {
    out: W,
    tty: bool,
    states: HashMap<String, StateInfo>,
    events: HashMap<u64, Place>,
    visits: HashMap<String, Visit>,
    /// Outermost Map states running, by label.
    maps: BTreeMap<String, MapRun>,
    /// The map whose bar is on screen (terminal only).
    bar: Option<String>,
    /// The last task failure seen: what a failing Map or Parallel failed with.
    last_failure: Option<(String, String)>,
}

const TASK_FAILURES: &[&str] = &[
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "ActivityFailed",
    "ActivityTimedOut",
    "ActivityScheduleFailed",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
];
const TASK_SUCCESSES: &[&str] = &[
    "TaskSucceeded",
    "ActivitySucceeded",
    "LambdaFunctionSucceeded",
];
const TASK_SCHEDULED: &[&str] = &[
    "TaskScheduled",
    "ActivityScheduled",
    "LambdaFunctionScheduled",
];

impl<W: Write> Progress<W> {
    /// `tty`: whether `out` is a terminal (a bar instead of Map summaries'
    /// failure lists, and no per-state lines inside Map iterations).
    pub fn new(definition: &StateMachine, out: W, tty: bool) -> Progress<W> {
        let mut states = HashMap::new();
        index_states(definition, &[], &mut states);
        Progress {
            out,
            tty,
            states,
            events: HashMap::new(),
            visits: HashMap::new(),
            maps: BTreeMap::new(),
            bar: None,
            last_failure: None,
        }
    }

    /// Consumes the display, returning what it wrote to (for tests).
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Shows one history event.
    pub fn show(&mut self, e: &HistoryEvent) {
        let place = self.place(e);
        self.events.insert(e.id, place.clone());
        let t = e.event_type.as_str();
        let text = |k: &str| {
            e.details
                .as_ref()
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let Some(owner) = place.owner.clone() else {
            if matches!(
                e.event_type,
                EventType::ExecutionFailed
                    | EventType::ExecutionTimedOut
                    | EventType::ExecutionAborted
            ) {
                let line = format!("✗ {t}: {}", failure(&text("error"), &text("cause")));
                self.line(&line);
            }
            return;
        };
        let label = self.label(&owner, &place.indices);
        // The outermost Map this event runs in, and the iteration.
        let in_map = self.outer_map(&owner, &place.indices);
        let quiet_here = in_map.is_some();

        if t.ends_with("StateEntered") {
            let kind = t.trim_end_matches("StateEntered");
            self.visits.insert(
                label.clone(),
                Visit {
                    entered_ms: e.timestamp_ms,
                    ..Visit::default()
                },
            );
            if !quiet_here {
                self.line(&format!("→ {label} ({kind})"));
            }
        } else if t.ends_with("StateExited") {
            let visit = self.visits.remove(&label).unwrap_or_default();
            let took = format_duration(e.timestamp_ms - visit.entered_ms);
            match visit.failure {
                Some((error, cause)) => {
                    if let Some((map, i)) = &in_map {
                        if let Some(it) = self.iteration(map, *i) {
                            it.failure = None;
                            it.caught
                                .push((label.clone(), error.clone(), cause.clone()));
                        }
                    }
                    // Caught errors are notable: shown even inside a Map on
                    // a terminal; in a pipe the Map's summary lists them.
                    if !quiet_here || self.tty {
                        self.line(&format!("↪ {label}: caught {error} ({took})"));
                    }
                }
                None => {
                    if !quiet_here {
                        self.line(&format!("✓ {label} {took}"));
                    }
                }
            }
        } else if TASK_SCHEDULED.contains(&t) {
            let visit = self.visits.entry(label.clone()).or_default();
            visit.attempts += 1;
            let attempt = visit.attempts;
            let after = visit.failure.as_ref().map(|f| f.0.clone());
            if attempt > 1 {
                if let Some((map, _)) = &in_map {
                    if let Some(run) = self.maps.get_mut(map) {
                        run.retries += 1;
                    }
                }
                if !quiet_here || self.tty {
                    let after = after.map(|a| format!(" after {a}")).unwrap_or_default();
                    self.line(&format!("↻ {label}: retry {}{after}", attempt - 1));
                }
            }
        } else if TASK_FAILURES.contains(&t) {
            let (error, cause) = (text("error"), text("cause"));
            if let Some(v) = self.visits.get_mut(&label) {
                v.failure = Some((error.clone(), cause.clone()));
            }
            self.last_failure = Some((error.clone(), cause.clone()));
            if let Some((map, i)) = &in_map {
                if let Some(it) = self.iteration(map, *i) {
                    it.failure = Some((label.clone(), error.clone(), cause.clone()));
                }
            }
            if !quiet_here || self.tty {
                self.line(&format!("✗ {label}: {}", failure(&error, &cause)));
            }
        } else if TASK_SUCCESSES.contains(&t) {
            if let Some(v) = self.visits.get_mut(&label) {
                v.failure = None;
            }
            if let Some((map, i)) = &in_map {
                if let Some(it) = self.iteration(map, *i) {
                    it.failure = None;
                }
            }
        } else {
            match e.event_type {
                EventType::MapStateFailed | EventType::ParallelStateFailed => {
                    let failure = self
                        .last_failure
                        .clone()
                        .unwrap_or_else(|| ("States.BranchFailed".into(), String::new()));
                    if let Some(v) = self.visits.get_mut(&label) {
                        v.failure = Some(failure);
                    }
                    self.map_ended(&label);
                }
                EventType::MapStateSucceeded | EventType::MapStateAborted => {
                    self.map_ended(&label);
                }
                EventType::MapStateStarted if in_map.is_none() => {
                    let total = e
                        .details
                        .as_ref()
                        .and_then(|d| d.get("length"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    self.maps.insert(
                        label.clone(),
                        MapRun {
                            label: label.clone(),
                            total,
                            retries: 0,
                            iterations: BTreeMap::new(),
                            counts: HashMap::new(),
                        },
                    );
                }
                EventType::MapIterationStarted
                | EventType::MapIterationSucceeded
                | EventType::MapIterationFailed
                | EventType::MapIterationAborted => {
                    let status = match e.event_type {
                        EventType::MapIterationStarted => None,
                        EventType::MapIterationSucceeded => Some("succeeded"),
                        EventType::MapIterationFailed => Some("failed"),
                        _ => Some("aborted"),
                    };
                    // Only the outermost Map's own iterations count.
                    if let Some((map, i)) = &in_map {
                        if *map == self.label(&owner, &place.indices) {
                            match (status, self.maps.get_mut(map)) {
                                (Some(status), Some(run)) => run.end_iteration(*i, status),
                                (None, Some(run)) => {
                                    run.iterations.entry(*i).or_default();
                                }
                                _ => {}
                            }
                            if status.is_some() && self.tty {
                                self.bar = Some(map.clone());
                                self.draw_bar();
                            }
                        }
                    }
                }
                _ if t.ends_with("StateAborted") => {
                    let visit = self.visits.remove(&label);
                    // A state whose failure ended its branch is recorded as
                    // aborted too: its failure line was shown already.
                    if visit.is_some_and(|v| v.failure.is_none()) && !quiet_here {
                        self.line(&format!("⊘ {label}: aborted"));
                    }
                }
                _ => {}
            }
        }
    }

    /// The iteration `i` of the running outermost Map `map`.
    fn iteration(&mut self, map: &str, i: usize) -> Option<&mut Iteration> {
        self.maps
            .get_mut(map)
            .map(|run| run.iterations.entry(i).or_default())
    }

    /// An outermost Map state ended: its summary.
    fn map_ended(&mut self, label: &str) {
        let Some(run) = self.maps.remove(label) else {
            return;
        };
        if self.bar.as_deref() == Some(label) {
            self.clear_bar();
            self.bar = None;
        }
        let mut counts = vec![format!("{} succeeded", run.count("succeeded"))];
        for status in ["failed", "aborted"] {
            let n = run.count(status);
            if n > 0 {
                counts.push(format!("{n} {status}"));
            }
        }
        let not_run = (run.total as usize).saturating_sub(run.done());
        if not_run > 0 {
            counts.push(format!("{not_run} not finished"));
        }
        let caught: usize = run.iterations.values().map(|i| i.caught.len()).sum();
        let mut extra = Vec::new();
        if run.retries > 0 {
            extra.push(format!(
                "{} {}",
                run.retries,
                if run.retries == 1 { "retry" } else { "retries" }
            ));
        }
        if caught > 0 {
            extra.push(format!(
                "{caught} {} caught",
                if caught == 1 { "error" } else { "errors" }
            ));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("; {}", extra.join(", "))
        };
        let total = run.total;
        self.line(&format!(
            "◆ {}: {total} {}: {}{extra}",
            run.label,
            if total == 1 {
                "iteration"
            } else {
                "iterations"
            },
            counts.join(", ")
        ));
        if self.tty {
            // Failures, retries and catches were shown as they happened.
            return;
        }
        for (i, it) in &run.iterations {
            for (label, error, cause) in &it.caught {
                self.line(&format!(
                    "    [{i}] ↪ {label}: caught {}",
                    failure(error, cause)
                ));
            }
            if it.status == Some("failed") {
                match &it.failure {
                    Some((label, error, cause)) => {
                        self.line(&format!("    [{i}] ✗ {label}: {}", failure(error, cause)))
                    }
                    None => self.line(&format!("    [{i}] ✗ failed")),
                }
            }
        }
    }

    /// The owner and Map indices of an event, from its predecessor.
    fn place(&self, e: &HistoryEvent) -> Place {
        let t = e.event_type.as_str();
        let prev = self.events.get(&e.previous_event_id);
        let name = || {
            e.details
                .as_ref()
                .and_then(|d| d.get("name"))
                .and_then(Value::as_str)
                .map(Rc::<str>::from)
        };
        let prev_owner = || prev.and_then(|p| p.owner.clone());
        let owner: Option<Rc<str>> = if t.ends_with("StateEntered")
            || t.ends_with("StateExited")
            || t.starts_with("MapIteration")
        {
            name()
        } else if t.starts_with("Execution") {
            None
        } else if matches!(
            e.event_type,
            EventType::MapStateSucceeded | EventType::MapStateFailed | EventType::MapStateAborted
        ) {
            match prev {
                Some(p) if p.event_type == EventType::MapStateStarted => p.owner.clone(),
                // The innermost Map the previous event ran under.
                Some(p) => p
                    .indices
                    .last()
                    .map(|(m, _)| m.clone())
                    .or_else(|| p.owner.clone()),
                None => None,
            }
        } else if matches!(
            e.event_type,
            EventType::ParallelStateSucceeded
                | EventType::ParallelStateFailed
                | EventType::ParallelStateAborted
        ) {
            match prev {
                Some(p) if p.event_type == EventType::ParallelStateStarted => p.owner.clone(),
                Some(p) => p.owner.as_deref().and_then(|o| {
                    self.states.get(o).and_then(|s| {
                        s.scopes.iter().rev().find_map(|sc| match sc {
                            Scope::Branch(parallel, _) => Some(Rc::from(parallel.as_str())),
                            Scope::Map(_) => None,
                        })
                    })
                }),
                None => None,
            }
        } else {
            prev_owner()
        };
        // The indices of the Maps around the owner, from the predecessor's.
        let mut indices = Vec::new();
        if let Some(o) = owner.as_deref() {
            if let Some(info) = self.states.get(o) {
                for sc in &info.scopes {
                    if let Scope::Map(m) = sc {
                        let found = prev.and_then(|p| {
                            p.indices
                                .iter()
                                .rev()
                                .find(|(n, _)| &**n == m.as_str())
                                .cloned()
                        });
                        if let Some(entry) = found {
                            indices.push(entry);
                        }
                    }
                }
            }
            if t.starts_with("MapIteration") {
                let index = e
                    .details
                    .as_ref()
                    .and_then(|d| d.get("index"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                indices.push((Rc::from(o), index));
            }
        }
        Place {
            event_type: e.event_type,
            owner,
            indices: Rc::new(indices),
        }
    }

    /// `Outer[3] › Parallel[branch 1] › State`.
    fn label(&self, owner: &str, indices: &[(Rc<str>, usize)]) -> String {
        let mut parts = Vec::new();
        if let Some(info) = self.states.get(owner) {
            for sc in &info.scopes {
                parts.push(scope_label(sc, indices));
            }
        }
        parts.push(owner.to_owned());
        parts.join(" › ")
    }

    /// The outermost Map around the event (its label) and the iteration.
    fn outer_map(&self, owner: &str, indices: &[(Rc<str>, usize)]) -> Option<(String, usize)> {
        let info = self.states.get(owner)?;
        let pos = info.scopes.iter().position(|s| matches!(s, Scope::Map(_)));
        match pos {
            Some(pos) => {
                let Scope::Map(map) = &info.scopes[pos] else {
                    return None;
                };
                let mut parts: Vec<String> = info.scopes[..pos]
                    .iter()
                    .map(|sc| scope_label(sc, indices))
                    .collect();
                parts.push(map.clone());
                let i = indices.iter().find(|(n, _)| &**n == map.as_str())?.1;
                Some((parts.join(" › "), i))
            }
            // An iteration event of an outermost Map: the Map itself.
            None if info.kind == "Map" => {
                let i = indices.iter().find(|(n, _)| &**n == owner)?.1;
                // Only iteration events carry the Map's own index.
                Some((self.label(owner, indices), i))
            }
            None => None,
        }
    }

    fn line(&mut self, text: &str) {
        let bar = self.bar.is_some();
        if bar {
            self.clear_bar();
        }
        let _ = writeln!(self.out, "{text}");
        if bar {
            self.draw_bar();
        }
    }

    fn clear_bar(&mut self) {
        let _ = write!(self.out, "\r\x1b[K");
    }

    fn draw_bar(&mut self) {
        let Some(run) = self.bar.as_ref().and_then(|b| self.maps.get(b)) else {
            return;
        };
        let width = 30usize;
        let done = run.done();
        let total = (run.total as usize).max(1);
        let filled = (done * width / total).min(width);
        let failed = run.count("failed");
        let failed = if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        };
        let text = format!(
            "\r\x1b[K  {} [{}{}] {done}/{}{failed}",
            run.label,
            "#".repeat(filled),
            ".".repeat(width - filled),
            run.total
        );
        let _ = write!(self.out, "{text}");
        let _ = self.out.flush();
    }
}

/// `Map[3]` or `Parallel[branch 1]`.
fn scope_label(scope: &Scope, indices: &[(Rc<str>, usize)]) -> String {
    match scope {
        Scope::Map(m) => match indices.iter().rev().find(|(n, _)| &**n == m.as_str()) {
            Some((_, i)) => format!("{m}[{i}]"),
            None => format!("{m}[?]"),
        },
        Scope::Branch(p, b) => format!("{p}[branch {b}]"),
    }
}

fn index_states(machine: &StateMachine, scopes: &[Scope], out: &mut HashMap<String, StateInfo>) {
    for state in &machine.states {
        out.insert(
            state.name.clone(),
            StateInfo {
                kind: state.kind.type_name(),
                scopes: scopes.to_vec(),
            },
        );
        match &state.kind {
            StateKind::Parallel(p) => {
                for (i, branch) in p.branches.iter().enumerate() {
                    let mut inner = scopes.to_vec();
                    inner.push(Scope::Branch(state.name.clone(), i));
                    index_states(branch, &inner, out);
                }
            }
            StateKind::Map(m) => {
                let mut inner = scopes.to_vec();
                inner.push(Scope::Map(state.name.clone()));
                index_states(&m.processor, &inner, out);
            }
            _ => {}
        }
    }
}

/// `error: cause`, or the error alone when there is no cause.
fn failure(error: &str, cause: &str) -> String {
    if cause.is_empty() {
        error.to_owned()
    } else {
        format!("{error}: {}", short(cause))
    }
}

/// A cause on one line, cut to a readable length.
fn short(cause: &str) -> String {
    const MAX: usize = 240;
    let one_line: String = cause
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= MAX {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

pub fn format_duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use statecraft_engine::driver::{self, Options, Response, VirtualClock};
    use statecraft_engine::{host::DeterministicHost, Machine, TaskRequest};
    use statecraft_types::Failure;

    /// Runs `definition` on `input` with `answer` for its tasks and returns
    /// the progress lines as shown on a terminal (`tty`) or in a pipe.
    fn lines(
        definition: Value,
        input: Value,
        tty: bool,
        mut answer: impl FnMut(&TaskRequest) -> Response,
    ) -> Vec<String> {
        let definition =
            statecraft_language::parse(&definition.to_string()).unwrap_or_else(|d| panic!("{d:?}"));
        let mut progress = Progress::new(&definition, Vec::new(), tty);
        let machine = Machine::new(definition).unwrap_or_else(|e| panic!("{e}"));
        let host = DeterministicHost::new(3);
        let mut clock = VirtualClock { now_ms: 0 };
        let mut observer = |e: &HistoryEvent| progress.show(e);
        let options = Options {
            context: driver::context_for("t", 0),
            clock: &mut clock,
            host: &host,
            observer: Some(&mut observer),
            max_events: Some(100_000),
            input_text: None,
        };
        let mut handler = |r: &TaskRequest| answer(r);
        driver::run(&machine, input, options, &mut handler);
        let text = String::from_utf8(progress.into_inner()).unwrap_or_default();
        // What a terminal would show: the bar's redraws overwrite each other.
        text.split('\n')
            .map(|l| l.rsplit("\r\x1b[K").next().unwrap_or(l).to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    fn task(resource: &str) -> Value {
        json!({"Type": "Task", "Resource": resource, "End": true})
    }

    /// A Parallel whose first branch (Thumbnail) fails once the second
    /// (WebSize) was entered: the failure is Thumbnail's, in branch 0 (it was
    /// shown as WebSize's), and the Parallel's Catch reads as caught (see
    /// issue 10).
    #[test]
    fn a_branch_failure_names_its_state_and_branch() {
        let definition = json!({
            "StartAt": "Resize",
            "States": {
                "Resize": {"Type": "Parallel", "End": true,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Report"}],
                    "Branches": [
                        {"StartAt": "Thumbnail", "States": {"Thumbnail": task("arn:x:thumb")}},
                        {"StartAt": "WebSize", "States": {"WebSize": task("arn:x:web")}}
                    ]},
                "Report": {"Type": "Pass", "End": true}
            }
        });
        for tty in [false, true] {
            let shown = lines(definition.clone(), json!({}), tty, |r| {
                if r.state_name == "Thumbnail" {
                    Response::Failed(Failure::new("Convert.Failed", "bad header"))
                } else {
                    Response::NoResponse
                }
            });
            let failures: Vec<&String> = shown.iter().filter(|l| l.starts_with('✗')).collect();
            assert_eq!(
                failures,
                ["✗ Resize[branch 0] › Thumbnail: Convert.Failed: bad header"],
                "{shown:#?}"
            );
            assert!(
                shown.contains(&"→ Resize[branch 1] › WebSize (Task)".to_owned()),
                "{shown:#?}"
            );
            assert!(
                shown
                    .iter()
                    .any(|l| l.starts_with("↪ Resize: caught Convert.Failed")),
                "{shown:#?}"
            );
            assert!(shown.contains(&"⊘ Resize[branch 1] › WebSize: aborted".to_owned()));
            assert!(
                !shown.iter().any(|l| l.starts_with("✓ Resize")),
                "{shown:#?}"
            );
        }
    }

    /// Caught, retried and plain successes each read as what they are.
    #[test]
    fn retries_and_catches_read_as_such() {
        let definition = json!({
            "StartAt": "Charge",
            "States": {
                "Charge": {"Type": "Task", "Resource": "arn:x:charge", "Next": "Ship",
                    "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1}]},
                "Ship": {"Type": "Task", "Resource": "arn:x:ship", "End": true,
                    "Catch": [{"ErrorEquals": ["NoStock"], "Next": "Backorder"}]},
                "Backorder": {"Type": "Pass", "End": true}
            }
        });
        let mut calls = 0;
        let shown = lines(definition, json!({}), false, |r| {
            calls += 1;
            match (r.state_name.as_str(), calls) {
                ("Charge", 1) => Response::Failed(Failure::new("Busy", "try later")),
                ("Ship", _) => Response::Failed(Failure::new("NoStock", "none left")),
                _ => Response::Succeeded(json!({})),
            }
        });
        assert_eq!(
            shown,
            [
                "→ Charge (Task)",
                "✗ Charge: Busy: try later",
                "↻ Charge: retry 1 after Busy",
                "✓ Charge 1.0s",
                "→ Ship (Task)",
                "✗ Ship: NoStock: none left",
                "↪ Ship: caught NoStock (0ms)",
                "→ Backorder (Pass)",
                "✓ Backorder 0ms",
            ]
        );
    }

    /// 200 iterations, three of which fail and one whose error is caught:
    /// in a pipe, one summary instead of 800 lines; on a terminal, the
    /// failures with their iteration index above a bar.
    #[test]
    fn a_map_is_summarised_in_a_pipe_and_indexed_on_a_terminal() {
        let definition = json!({
            "StartAt": "Each",
            "States": {
                "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 10,
                    "ToleratedFailurePercentage": 100, "End": true,
                    "ItemProcessor": {"StartAt": "Work", "States": {
                        "Work": {"Type": "Task", "Resource": "arn:x:work", "End": true,
                            "Catch": [{"ErrorEquals": ["Skip"], "Next": "Skipped"}]},
                        "Skipped": {"Type": "Pass", "End": true}
                    }}}
            }
        });
        let items: Vec<Value> = (0..200).map(|i| json!(i)).collect();
        let answer = |r: &TaskRequest| match r.parameters.as_i64() {
            Some(17 | 42 | 199) => Response::Failed(Failure::new("Bad", "item refused")),
            Some(5) => Response::Failed(Failure::new("Skip", "not needed")),
            _ => Response::Succeeded(json!({})),
        };
        let piped = lines(definition.clone(), json!({ "items": items }), false, answer);
        assert_eq!(
            piped,
            [
                "→ Each (Map)",
                "◆ Each: 200 iterations: 197 succeeded, 3 failed; 1 error caught",
                "    [5] ↪ Each[5] › Work: caught Skip: not needed",
                "    [17] ✗ Each[17] › Work: Bad: item refused",
                "    [42] ✗ Each[42] › Work: Bad: item refused",
                "    [199] ✗ Each[199] › Work: Bad: item refused",
                "✓ Each 0ms",
            ],
            "{piped:#?}"
        );
        let on_tty = lines(definition, json!({ "items": items }), true, answer);
        for expected in [
            "✗ Each[17] › Work: Bad: item refused",
            "✗ Each[199] › Work: Bad: item refused",
            "↪ Each[5] › Work: caught Skip (0ms)",
            "◆ Each: 200 iterations: 197 succeeded, 3 failed; 1 error caught",
        ] {
            assert!(
                on_tty.contains(&expected.to_owned()),
                "{expected}: {on_tty:#?}"
            );
        }
        assert!(on_tty.len() < 20, "{on_tty:#?}");
    }
    /// A failure deep inside nested containers names every level: the
    /// outer Map's iteration, the Parallel's branch, the inner iteration.
    #[test]
    fn nested_places_are_named_level_by_level() {
        let definition = json!({
            "StartAt": "Outer",
            "States": {
                "Outer": {"Type": "Map", "ItemsPath": "$.rows", "End": true,
                    "ToleratedFailurePercentage": 100,
                    "ItemProcessor": {"StartAt": "Split", "States": {
                        "Split": {"Type": "Parallel", "End": true, "Branches": [
                            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
                            {"StartAt": "Inner", "States": {"Inner": {"Type": "Map", "ItemsPath": "$.cells", "End": true,
                                "ItemProcessor": {"StartAt": "Cell", "States": {"Cell": task("arn:x:cell")}}}}}
                        ]}
                    }}}
            }
        });
        let rows = json!({"rows": [{"cells": [1, 2, 3]}, {"cells": [4, 5, 6]}]});
        let answer = |r: &TaskRequest| match r.parameters.as_i64() {
            Some(6) => Response::Failed(Failure::new("Bad", "cell refused")),
            _ => Response::Succeeded(json!({})),
        };
        let on_tty = lines(definition.clone(), rows.clone(), true, answer);
        assert!(
            on_tty.contains(
                &"✗ Outer[1] › Split[branch 1] › Inner[2] › Cell: Bad: cell refused".to_owned()
            ),
            "{on_tty:#?}"
        );
        let piped = lines(definition, rows, false, answer);
        assert_eq!(
            piped,
            [
                "→ Outer (Map)",
                "◆ Outer: 2 iterations: 1 succeeded, 1 failed",
                "    [1] ✗ Outer[1] › Split[branch 1] › Inner[2] › Cell: Bad: cell refused",
                "✓ Outer 0ms",
            ],
        );
    }
    /// A failure without a cause (a timeout) reads as the error alone.
    #[test]
    fn a_timeout_reads_as_its_error() {
        let definition = json!({
            "StartAt": "Slow",
            "States": {"Slow": {"Type": "Task", "Resource": "arn:x:slow", "TimeoutSeconds": 5, "End": true}}
        });
        let shown = lines(definition, json!({}), false, |_| Response::NoResponse);
        assert_eq!(
            shown,
            [
                "→ Slow (Task)",
                "✗ Slow: States.Timeout",
                "✗ ExecutionFailed: States.Timeout"
            ]
        );
    }
}
