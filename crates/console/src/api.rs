//! The console's own endpoint: a definition in, its graph out (as the JSON
//! [`Layout`](statecraft_graph::Layout) or as SVG). The definition is read
//! (JSON or YAML) but not validated, so the editor can draw what the user is
//! typing; syntax errors come back as diagnostics with line and column.

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use statecraft_language::Diagnostic;

/// The largest definition Step Functions accepts (1 MiB); larger input is
/// refused before any parsing.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

/// Why no graph could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no definition was given")]
    MissingDefinition,
    #[error("the definition is larger than {MAX_DEFINITION_BYTES} bytes")]
    TooLarge,
    #[error("the definition cannot be read")]
    Unreadable(Vec<Diagnostic>),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    /// The same field name as the AWS JSON protocol's errors, so the
    /// console's error handling treats both alike.
    #[serde(rename = "__type")]
    kind: &'a str,
    message: String,
    #[serde(skip_serializing_if = "<[Diagnostic]>::is_empty")]
    diagnostics: &'a [Diagnostic],
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (kind, diagnostics): (&str, &[Diagnostic]) = match &self {
            Error::MissingDefinition => ("MissingDefinition", &[]),
            Error::TooLarge => ("DefinitionTooLarge", &[]),
            Error::Unreadable(d) => ("InvalidDefinition", d),
        };
        let body = ErrorBody {
            kind,
            message: self.to_string(),
            diagnostics,
        };
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

/// The response format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Svg,
}

#[derive(Debug, Deserialize)]
pub struct GraphQuery {
    definition: Option<String>,
    #[serde(default)]
    format: Format,
}

#[derive(Debug, Deserialize)]
pub struct LayoutQuery {
    #[serde(default)]
    format: Format,
}

/// Reads and lays out `text`.
pub fn render(text: &str, format: Format) -> Result<Response, Error> {
    if text.trim().is_empty() {
        return Err(Error::MissingDefinition);
    }
    if text.len() > MAX_DEFINITION_BYTES {
        return Err(Error::TooLarge);
    }
    let source = statecraft_language::source::read(text).map_err(Error::Unreadable)?;
    let layout = statecraft_graph::layout_value(&source.value);
    Ok(match format {
        Format::Json => Json(layout).into_response(),
        Format::Svg => {
            let svg = statecraft_graph::to_svg(&layout, &statecraft_graph::Style::default());
            ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
        }
    })
}

pub(crate) async fn graph(Query(q): Query<GraphQuery>) -> Result<Response, Error> {
    render(q.definition.as_deref().unwrap_or(""), q.format)
}

pub(crate) async fn layout(Query(q): Query<LayoutQuery>, body: String) -> Result<Response, Error> {
    render(&body, q.format)
}
