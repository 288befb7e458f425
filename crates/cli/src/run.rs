//! `statecraft run FILE`: runs a workflow in-process, start to end, showing
//! each state as it is entered and left on stderr ([`progress`]), and prints
//! the result.
//!
//! Task states are answered from a mock file (`--mock`, [`mocks`]; the
//! format is in README.md) and, for states without mocks, by the real
//! integrations of a server config (`--config`, [`tasks`]). Waits really
//! wait unless `--skip-waits` is given, in which case a virtual clock jumps
//! straight to the next timer.

pub(crate) mod mocks;
mod progress;
mod tasks;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use statecraft_engine::driver::{self, Clock, Options, VirtualClock};
use statecraft_engine::{host::DeterministicHost, ExecutionContext, Machine, Status, TaskRequest};
use statecraft_types::HistoryEvent;

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
    /// Answer Task states from this mock file (see README). Mocks win over
    /// `--config` for the states they name.
    #[arg(long)]
    mock: Option<PathBuf>,
    /// A Step Functions Local mock configuration (`MockConfigFile.json`);
    /// with `--test-case`, its mocked responses answer the Task states the
    /// test case names.
    #[arg(long, value_name = "FILE", env = "SFN_MOCK_CONFIG")]
    mock_config: Option<PathBuf>,
    /// The test case of `--mock-config` to run.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    test_case: Option<String>,
    /// The state machine's name in `--mock-config` (default: the file's
    /// name up to its first dot, or the only machine the file names).
    #[arg(long, value_name = "NAME")]
    state_machine: Option<String>,
    /// Really run the Task states that have no mock with the integrations
    /// of this server config (its `[integrations]`: HTTP tasks, functions,
    /// commands), as `statecraft server --config` would.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do not really wait: jump over Wait states, retry intervals and timeouts.
    #[arg(long)]
    skip_waits: bool,
    /// Hide the progress shown on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// A usage problem: reported on stderr, exit status 2.
pub struct Unusable(pub String);

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
    let mocks = match &args.mock {
        Some(path) => mocks::Mocks::load(path)?,
        None => mocks::Mocks::default(),
    };
    // A mock that names no Task state is a typo or a renamed state: the
    // run would silently test something else. A warning for a person; an
    // error under --json, whose caller (a script, CI) reads no warnings.
    let unused = mocks.unused_keys(&definition);
    if args.json && !unused.is_empty() {
        return Err(Unusable(format!(
            "{} (with --json a mock that can never be used is an error)",
            unused.join("; ")
        )));
    }
    for warning in &unused {
        eprintln!("statecraft run: warning: {warning}");
    }
    let config = match &args.config {
        Some(path) => Some(tasks::Config::load(path)?),
        None => None,
    };
    let (region, account) = match &config {
        Some(c) => (c.region.clone(), c.account_id.clone()),
        None => (
            statecraft_server::config::DEFAULT_REGION.to_owned(),
            statecraft_server::config::DEFAULT_ACCOUNT.to_owned(),
        ),
    };
    let progress_definition = (!args.quiet).then(|| definition.clone());
    let machine_definition = definition.clone();
    let machine = Machine::new(definition).map_err(|e| Unusable(e.to_string()))?;

    let now = now_ms();
    let name = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.split('.').next().unwrap_or(s).to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local".into());
    let test_case = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(case)) => {
            let cfg = statecraft_integrations::mock_config::MockConfig::load(path)
                .map_err(|e| Unusable(e.to_string()))?;
            let machine = machine_in_config(&cfg, args.state_machine.as_deref(), &name);
            let mocks = cfg
                .test_case(&machine, case)
                .map_err(|e| Unusable(e.to_string()))?;
            for warning in tasks::unused_test_case_states(&mocks, &machine_definition) {
                eprintln!(
                    "statecraft run: warning: {}: test case {case}: {warning}",
                    cfg.origin()
                );
            }
            Some(mocks)
        }
        (Some(path), None) => {
            // Checked even without a test case: a broken file is reported.
            statecraft_integrations::mock_config::MockConfig::load(path)
                .map_err(|e| Unusable(e.to_string()))?;
            None
        }
        _ => None,
    };
    let context = context_for(&name, now, &region, &account);
    let mut tasks = tasks::Tasks::new(mocks, config.map(|c| c.real), &context.execution_arn);
    if let Some(t) = test_case {
        tasks = tasks.with_test_case(t);
    }
    let host = DeterministicHost::new(now as u64);
    let stderr = std::io::stderr();
    let tty = stderr.is_terminal();
    let mut progress = progress_definition.map(|d| progress::Progress::new(&d, stderr, tty));
    let mut observer = |e: &HistoryEvent| {
        if let Some(p) = progress.as_mut() {
            p.show(e);
        }
    };
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
    let mut handler = |req: &TaskRequest| tasks.answer(req);
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

/// The name a mock configuration knows the machine by: `--state-machine`,
/// else the file's name when the configuration has it, else its only
/// machine.
fn machine_in_config(
    cfg: &statecraft_integrations::mock_config::MockConfig,
    given: Option<&str>,
    file_name: &str,
) -> String {
    if let Some(g) = given {
        return g.to_owned();
    }
    let names = cfg.machine_names();
    if names.contains(&file_name) || names.len() != 1 {
        file_name.to_owned()
    } else {
        names[0].to_owned()
    }
}

/// The run's identity: a machine and execution named after the file, in the
/// config's region and account (the server's defaults without one).
fn context_for(name: &str, now: i64, region: &str, account: &str) -> ExecutionContext {
    let mut context = driver::context_for(name, now);
    context.execution_arn =
        format!("arn:aws:states:{region}:{account}:execution:{name}:{name}-run");
    context.state_machine_arn = format!("arn:aws:states:{region}:{account}:stateMachine:{name}");
    context.role_arn = format!("arn:aws:iam::{account}:role/statecraft");
    context
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
