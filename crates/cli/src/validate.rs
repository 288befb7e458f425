//! `statecraft validate FILE… [--json]`: every diagnostic of every file, as
//! text a person reads (`file:line:col: error[CODE]: message`) or as one JSON
//! array for tools.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use statecraft_language::{Diagnostic, Severity};

#[derive(clap::Args)]
pub struct Args {
    /// Definition files (JSON or YAML).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON array of diagnostics instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: String,
    severity: Severity,
    state: Option<&'a str>,
    pointer: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    code: &'a str,
    message: &'a str,
}

pub fn main(args: Args) -> ExitCode {
    let mut all: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    let mut unreadable = false;
    for file in &args.files {
        let name = file.display().to_string();
        match std::fs::read_to_string(file) {
            Ok(text) => all.push((name, statecraft_language::validate(&text))),
            Err(e) => {
                unreadable = true;
                let d =
                    Diagnostic::error("CANNOT_READ_FILE", "", format!("cannot read the file: {e}"));
                all.push((name, vec![d]));
            }
        }
    }
    let errors = all
        .iter()
        .flat_map(|(_, ds)| ds)
        .filter(|d| d.severity == Severity::Error)
        .count();

    if args.json {
        let out: Vec<JsonDiagnostic> = all
            .iter()
            .flat_map(|(file, ds)| {
                ds.iter().map(move |d| JsonDiagnostic {
                    file: file.clone(),
                    severity: d.severity,
                    state: d.state.as_deref(),
                    pointer: &d.pointer,
                    line: d.line,
                    column: d.column,
                    code: &d.code,
                    message: &d.message,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".into())
        );
    } else {
        for (file, ds) in &all {
            if ds.is_empty() {
                println!("{file}: ok");
            }
            for d in ds {
                println!("{}", render(file, d));
            }
        }
        if errors > 0 {
            eprintln!("{errors} error(s) in {} file(s)", all.len());
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn render(file: &str, d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let at = match (d.line, d.column) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        _ => file.to_string(),
    };
    let mut s = format!("{at}: {level}[{}]: {}", d.code, d.message);
    let pointer = if d.pointer.is_empty() {
        "/"
    } else {
        &d.pointer
    };
    match &d.state {
        Some(state) => s.push_str(&format!("\n    in state \"{state}\" at {pointer}")),
        None => s.push_str(&format!("\n    at {pointer}")),
    }
    s
}
