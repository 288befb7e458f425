//! Runs the server without the `statecraft` CLI, with the same flags as
//! `statecraft server`: `cargo run -p statecraft-server --example serve --
//! server --listen 127.0.0.1:8083`. Handy while working on this crate alone.

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the AWS Step Functions API.
    Server(statecraft_server::ServerArgs),
}

fn main() -> std::process::ExitCode {
    let Command::Server(args) = Cli::parse().command;
    match statecraft_server::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("statecraft server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
