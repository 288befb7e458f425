//! `statecraft`: the command-line entry point. Each subcommand lives in its
//! own module; this file only parses arguments and maps outcomes to exit
//! codes (0 success, 1 failed execution or invalid definition found by
//! `validate`, 2 bad usage or unusable input).

mod executions;
mod graph;
mod run;
mod testkit;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "statecraft",
    version,
    about = "A workflow orchestrator for Amazon States Language"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check state machine definitions (JSON or YAML) and report every problem.
    Validate(validate::Args),
    /// Run a workflow in-process and print its output.
    Run(run::Args),
    /// Run workflow test files (`*.test.json`, `*.test.yaml`) in-process.
    Test(testkit::Args),
    /// Draw a state machine as a graph (SVG, or the layout as JSON).
    Graph(graph::Args),
    /// Serve the AWS Step Functions API (and the console) on durable embedded storage.
    Server(statecraft_server::ServerArgs),
    /// Pause, resume, restart or fail an execution on a running server.
    Executions(executions::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::main(args),
        Command::Run(args) => run::main(args),
        Command::Graph(args) => graph::main(args),
        Command::Test(args) => testkit::main(args),
        Command::Executions(args) => executions::main(args),
        Command::Server(args) => match statecraft_server::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("statecraft server: {e}");
                ExitCode::from(2)
            }
        },
    }
}
