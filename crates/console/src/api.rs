//! The console's own endpoints for definitions: a definition in, its graph
//! out (as the JSON [`Layout`](statecraft_graph::Layout) or as SVG), or its
//! JSON form (the API takes JSON only, as AWS's; the editor also accepts
//! YAML and converts it here before it saves). The definition is read (JSON
//! or YAML) but not validated, so the editor can draw what the user is
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

/// What `POST /console/api/definition/json` takes: the definition text, and
/// the JSON Pointers whose line in that text the caller wants (the editor
/// marks the validator's diagnostics, made on the JSON form, at their line
/// in the YAML the user wrote).
#[derive(Debug, Deserialize)]
pub struct ToJsonRequest {
    definition: String,
    #[serde(default)]
    pointers: Vec<String>,
}

/// The JSON form of a definition.
#[derive(Debug, Serialize)]
pub struct ToJsonResponse {
    /// The definition as indented JSON text.
    definition: String,
    /// `json` or `yaml`: what the text was written in.
    format: &'static str,
    /// Pointer → 1-based line in the text sent, for the pointers asked.
    lines: std::collections::BTreeMap<String, u32>,
}

/// Reads `text` (JSON or YAML) and returns it as JSON text, with the lines
/// of `pointers` in `text`.
pub fn to_json(text: &str, pointers: &[String]) -> Result<ToJsonResponse, Error> {
    if text.trim().is_empty() {
        return Err(Error::MissingDefinition);
    }
    if text.len() > MAX_DEFINITION_BYTES {
        return Err(Error::TooLarge);
    }
    let source = statecraft_language::source::read(text).map_err(Error::Unreadable)?;
    let definition =
        serde_json::to_string_pretty(&source.value).map_err(|_| Error::Unreadable(Vec::new()))?;
    let lines = pointers
        .iter()
        .filter_map(|p| Some((p.clone(), source.map.position(p)?.line)))
        .collect();
    Ok(ToJsonResponse {
        definition,
        format: match source.format {
            statecraft_language::source::Format::Json => "json",
            statecraft_language::source::Format::Yaml => "yaml",
        },
        lines,
    })
}

pub(crate) async fn definition_json(
    Json(req): Json<ToJsonRequest>,
) -> Result<Json<ToJsonResponse>, Error> {
    to_json(&req.definition, &req.pointers).map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// YAML comes back as the JSON the API takes, with the YAML lines of
    /// the pointers asked (nearest located ancestor for unknown ones).
    #[test]
    fn yaml_is_converted_to_json_with_its_lines() {
        let yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n";
        let pointers = ["/States/A/End".to_string(), "/States/A/Nope".to_string()];
        let out = to_json(yaml, &pointers).map_err(|e| e.to_string());
        let Ok(out) = out else { panic!("{out:?}") };
        assert_eq!(out.format, "yaml");
        let value: serde_json::Value = serde_json::from_str(&out.definition).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})
        );
        assert_eq!(out.lines.get("/States/A/End"), Some(&5));
        assert_eq!(out.lines.get("/States/A/Nope"), Some(&3));
    }

    #[test]
    fn unreadable_or_empty_definitions_are_errors() {
        assert!(matches!(to_json("  ", &[]), Err(Error::MissingDefinition)));
        assert!(matches!(
            to_json("StartAt: [unclosed", &[]),
            Err(Error::Unreadable(d)) if !d.is_empty()
        ));
    }
}
