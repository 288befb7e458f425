//! `statecraft run FILE`: runs a workflow in-process, start to end, showing
//! each state as it is entered and left on stderr, and prints the result.
//!
//! Task states are answered from a mock file (`--mock`); the format is in
//! README.md. Waits really wait unless `--skip-waits` is given, in which case
//! a virtual clock jumps straight to the next timer.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Clock, Options, Response, VirtualClock};
use statecraft_engine::{host::DeterministicHost, Machine, Status, TaskRequest};
use statecraft_types::{EventType, Failure, HistoryEvent};

use crate::validate::render;

#[derive(clap::Args)]
pub struct Args {
    /// The definition (JSON or YAML).
    file: PathBuf,
    /// The execution input: JSON text, or `@path` to read it from a file.
    #[arg(long)]
    input: Option<String>,
    /// Print exactly one JSON object with status, output, error and cause.
    #[arg(long)]
    json: bool,
    /// Answer Task states from this mock file (see README).
    #[arg(long)]
    mock: Option<PathBuf>,
    /// Do not really wait: jump over Wait states, retry intervals and timeouts.
    #[arg(long)]
    skip_waits: bool,
    /// Hide the progress shown on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// A usage problem: reported on stderr, exit status 2.
struct Unusable(String);

pub fn main(args: Args) -> ExitCode {
    match run(&args) {
        Ok(code) => code,
        Err(Unusable(message)) => {
            eprintln!("statecraft run: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, Unusable> {
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Unusable(format!("cannot read {file}: {e}")))?;
    let definition = match statecraft_language::parse(&text) {
        Ok(d) => d,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}", render(&file, d));
            }
            return Err(Unusable(format!(
                "{file} is not a valid state machine definition"
            )));
        }
    };
    let input = read_input(args.input.as_deref())?;
    let mut mocks = match &args.mock {
        Some(path) => Mocks::load(path)?,
        None => Mocks::default(),
    };
    let machine = Machine::new(definition).map_err(|e| Unusable(e.to_string()))?;

    let now = now_ms();
    let name = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.split('.').next().unwrap_or(s).to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local".into());
    let context = driver::context_for(&name, now);
    let host = DeterministicHost::new(now as u64);
    let mut progress = Progress::new(!args.quiet);
    let mut observer = |e: &HistoryEvent| progress.show(e);
    let mut virtual_clock = VirtualClock { now_ms: now };
    let mut real_clock = RealClock;
    let clock: &mut dyn Clock = if args.skip_waits {
        &mut virtual_clock
    } else {
        &mut real_clock
    };
    let options = Options {
        context,
        clock,
        host: &host,
        observer: Some(&mut observer),
        max_events: None,
        input_text: None,
    };
    let mut handler = |req: &TaskRequest| mocks.answer(req);
    let outcome = driver::run(&machine, input, options, &mut handler);

    let status = match outcome.status {
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Aborted => "ABORTED",
    };
    if args.json {
        let out = json!({
            "status": status,
            "output": outcome.output,
            "error": outcome.error,
            "cause": outcome.cause,
        });
        println!("{out}");
    } else {
        match &outcome.output {
            Some(output) => println!(
                "{}",
                serde_json::to_string_pretty(output).unwrap_or_else(|_| output.to_string())
            ),
            None => {
                let error = outcome.error.as_deref().unwrap_or("");
                let cause = outcome.cause.as_deref().unwrap_or("");
                eprintln!(
                    "{status}: {error}{}{cause}",
                    if cause.is_empty() { "" } else { ": " }
                );
            }
        }
        if !args.quiet {
            eprintln!("{status} in {} events", outcome.history.len());
        }
    }
    Ok(if outcome.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_input(arg: Option<&str>) -> Result<Value, Unusable> {
    let (text, origin) = match arg {
        None => return Ok(json!({})),
        Some(a) => match a.strip_prefix('@') {
            Some(path) => (
                std::fs::read_to_string(path)
                    .map_err(|e| Unusable(format!("cannot read the input file {path}: {e}")))?,
                path.to_owned(),
            ),
            None => (a.to_owned(), "--input".to_owned()),
        },
    };
    serde_json::from_str(&text).map_err(|e| {
        Unusable(format!(
            "the input in {origin} is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall-clock time; waits really sleep.
struct RealClock;

impl Clock for RealClock {
    fn now_ms(&mut self) -> i64 {
        now_ms()
    }
    fn sleep_until(&mut self, at_ms: i64) {
        let wait = at_ms - now_ms();
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
    }
}

/// Mock responses by state name, consumed in order; the last one repeats.
#[derive(Default)]
struct Mocks {
    by_state: HashMap<String, Vec<Response>>,
    used: HashMap<String, usize>,
}

impl Mocks {
    fn load(path: &std::path::Path) -> Result<Mocks, Unusable> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Unusable(format!("cannot read the mock file {shown}: {e}")))?;
        let doc: BTreeMap<String, Value> = serde_json::from_str(&text).map_err(|e| {
            Unusable(format!(
                "the mock file {shown} is not a JSON object of state names: {e}"
            ))
        })?;
        let mut by_state = HashMap::new();
        for (state, responses) in doc {
            let list = match responses {
                Value::Array(list) if !list.is_empty() => list,
                _ => {
                    return Err(Unusable(format!(
                        "{shown}: /{state} must be a non-empty array of responses ({{\"Return\": …}} or {{\"Throw\": {{\"Error\": …, \"Cause\": …}}}})"
                    )))
                }
            };
            let parsed = list
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    parse_response(r)
                        .map_err(|why| Unusable(format!("{shown}: /{state}/{i}: {why}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            by_state.insert(state, parsed);
        }
        Ok(Mocks {
            by_state,
            used: HashMap::new(),
        })
    }

    fn answer(&mut self, req: &TaskRequest) -> Response {
        let Some(responses) = self.by_state.get(&req.state_name) else {
            return Response::Failed(Failure::new(
                statecraft_types::errors::TASK_FAILED,
                format!(
                    "No mock response for the Task state '{}' (resource {}); give one with --mock",
                    req.state_name, req.resource
                ),
            ));
        };
        let n = self.used.entry(req.state_name.clone()).or_insert(0);
        let response = responses[(*n).min(responses.len() - 1)].clone();
        *n += 1;
        response
    }
}

fn parse_response(v: &Value) -> Result<Response, String> {
    let obj = v
        .as_object()
        .ok_or("a response must be an object with \"Return\" or \"Throw\"")?;
    match (obj.get("Return"), obj.get("Throw")) {
        (Some(value), None) => Ok(Response::Succeeded(value.clone())),
        (None, Some(Value::Object(t))) => {
            let error = t
                .get("Error")
                .and_then(Value::as_str)
                .ok_or("\"Throw\" needs a string \"Error\"")?;
            let cause = t.get("Cause").and_then(Value::as_str).unwrap_or("");
            Ok(Response::Failed(Failure::new(error, cause)))
        }
        (None, Some(_)) => Err("\"Throw\" must be an object with \"Error\" and \"Cause\"".into()),
        _ => Err("a response has exactly one of \"Return\" or \"Throw\"".into()),
    }
}

/// What is shown on stderr while the execution runs.
struct Progress {
    enabled: bool,
    tty: bool,
    /// When each state was entered, by name (a stack per name for Map iterations).
    entered: HashMap<String, Vec<i64>>,
    /// Map progress: iterations started / finished.
    map_total: u64,
    map_done: u64,
    attempts: HashMap<String, u32>,
    /// The Task state whose work is being scheduled.
    task_state: String,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            entered: HashMap::new(),
            map_total: 0,
            map_done: 0,
            attempts: HashMap::new(),
            task_state: String::new(),
        }
    }

    fn show(&mut self, e: &HistoryEvent) {
        if !self.enabled {
            return;
        }
        let details = e.details.as_ref();
        let text = |k: &str| {
            details
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let name = text("name");
        let t = e.event_type.as_str();
        let mut err = std::io::stderr().lock();
        if t.ends_with("StateEntered") {
            self.entered
                .entry(name.clone())
                .or_default()
                .push(e.timestamp_ms);
            if e.event_type == EventType::TaskStateEntered {
                self.task_state = name.clone();
                self.attempts.remove(&name);
            }
            let kind = t.trim_end_matches("StateEntered");
            if self.map_total == 0 || !self.tty {
                let _ = writeln!(err, "→ {name} ({kind})");
            }
        } else if t.ends_with("StateExited") {
            let took = self
                .entered
                .get_mut(&name)
                .and_then(Vec::pop)
                .map(|at| format_duration(e.timestamp_ms - at))
                .unwrap_or_default();
            if self.map_total == 0 || !self.tty {
                let _ = writeln!(err, "✓ {name} {took}");
            }
        } else {
            match e.event_type {
                EventType::TaskScheduled
                | EventType::ActivityScheduled
                | EventType::LambdaFunctionScheduled => {
                    let state = self.task_state.clone();
                    let n = self.attempts.entry(state.clone()).or_insert(0);
                    *n += 1;
                    if *n > 1 {
                        let _ = writeln!(err, "↻ {state}: retry {}", *n - 1);
                    }
                }
                EventType::TaskFailed
                | EventType::ActivityFailed
                | EventType::LambdaFunctionFailed
                | EventType::TaskTimedOut => {
                    let _ = writeln!(
                        err,
                        "✗ {}: {}: {}",
                        self.task_state,
                        text("error"),
                        text("cause")
                    );
                }
                EventType::FailStateEntered => {}
                EventType::MapStateStarted => {
                    self.map_total = details
                        .and_then(|d| d.get("length"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    self.map_done = 0;
                }
                EventType::MapIterationSucceeded
                | EventType::MapIterationFailed
                | EventType::MapIterationAborted => {
                    self.map_done += 1;
                    if self.tty && self.map_total > 0 {
                        let width = 30u64;
                        let filled = (self.map_done * width / self.map_total).min(width) as usize;
                        let _ = write!(
                            err,
                            "\r  map [{}{}] {}/{}",
                            "#".repeat(filled),
                            ".".repeat(width as usize - filled),
                            self.map_done,
                            self.map_total
                        );
                        if self.map_done >= self.map_total {
                            let _ = writeln!(err);
                        }
                    }
                }
                EventType::MapStateSucceeded
                | EventType::MapStateFailed
                | EventType::MapStateAborted => {
                    self.map_total = 0;
                }
                EventType::ExecutionFailed
                | EventType::ExecutionTimedOut
                | EventType::ExecutionAborted => {
                    let _ = writeln!(err, "✗ {t}: {} {}", text("error"), text("cause"));
                }
                _ => {}
            }
        }
    }
}

fn format_duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
