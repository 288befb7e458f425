//! `statecraft graph FILE [-o OUT.svg] [--format svg|json]`: draws a state
//! machine definition as a graph (the same drawing the console shows), for
//! docs and reviews. The definition is drawn as written, even when it does
//! not validate yet; only text that cannot be read at all is refused.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// What to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A standalone SVG image.
    #[default]
    Svg,
    /// The layout as JSON (node boxes and edge routes), for other renderers.
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The definition (JSON or YAML); `-` reads standard input.
    file: PathBuf,
    /// Where to write the drawing (standard output when absent).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Output format; by default taken from the output's extension (`.json`
    /// gives JSON), otherwise SVG.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

pub fn main(args: Args) -> ExitCode {
    let name = args.file.display().to_string();
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            Ok(_) => Ok(s),
            Err(e) => Err(e),
        }
    } else {
        std::fs::read_to_string(&args.file)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: cannot read the file: {e}");
            return ExitCode::from(2);
        }
    };
    let source = match statecraft_language::source::read(&text) {
        Ok(s) => s,
        Err(diagnostics) => {
            for d in &diagnostics {
                match (d.line, d.column) {
                    (Some(l), Some(c)) => {
                        eprintln!("{name}:{l}:{c}: error[{}]: {}", d.code, d.message)
                    }
                    _ => eprintln!("{name}: error[{}]: {}", d.code, d.message),
                }
            }
            return ExitCode::from(2);
        }
    };
    let layout = statecraft_graph::layout_value(&source.value);
    let format = args.format.unwrap_or_else(|| {
        let json = args
            .output
            .as_ref()
            .and_then(|p| p.extension())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json {
            Format::Json
        } else {
            Format::Svg
        }
    });
    let out = match format {
        Format::Svg => statecraft_graph::to_svg(&layout, &statecraft_graph::Style::default()),
        Format::Json => match serde_json::to_string_pretty(&layout) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("cannot serialise the layout: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, out.as_bytes()),
        None => std::io::stdout().lock().write_all(out.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let target = args
                .output
                .as_ref()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            eprintln!("cannot write {target}: {e}");
            ExitCode::from(2)
        }
    }
}
