//! Process logging: `tracing` events written to stderr by
//! `tracing-subscriber`, human-readable text by default or one JSON object
//! per line (`--log-format json`) for log shippers.
//!
//! The filter is `--log-level` if given, else `RUST_LOG`, else `info`; both
//! take `tracing-subscriber`'s directive syntax (`info,statecraft=debug`).

use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, the event's fields at the top level.
    Json,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format, Error> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            _ => Err(Error::Format(s.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown log format {0:?}: use text or json")]
    Format(String),
    #[error("invalid log level {level:?}: {message}")]
    Level { level: String, message: String },
    /// Another subscriber is installed already (an embedding program, or
    /// a second call in the same process).
    #[error("logging is set up already")]
    AlreadySet,
}

/// The filter: `level` if given, else `RUST_LOG`, else `info`.
fn filter(level: Option<&str>) -> Result<EnvFilter, Error> {
    let directives = match level {
        Some(l) => l.to_string(),
        None => std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| "info".to_string()),
    };
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| Error::Level {
            level: directives.clone(),
            message: e.to_string(),
        })
}

/// Installs the process-wide subscriber writing to stderr.
pub fn init(format: Format, level: Option<&str>) -> Result<(), Error> {
    let filter = filter(level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let result = match format {
        Format::Text => builder.try_init(),
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|_| Error::AlreadySet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("text".parse::<Format>().ok(), Some(Format::Text));
        assert_eq!("json".parse::<Format>().ok(), Some(Format::Json));
        assert!(matches!("xml".parse::<Format>(), Err(Error::Format(_))));
    }

    #[test]
    fn levels_parse_or_are_refused() {
        assert!(filter(Some("debug")).is_ok());
        assert!(filter(Some("info,statecraft=trace")).is_ok());
        assert!(matches!(
            filter(Some("info,x=notalevel")),
            Err(Error::Level { .. })
        ));
    }
}
