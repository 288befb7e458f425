//! JSONPath as ASL uses it: `Path` for InputPath, OutputPath, ItemsPath,
//! Choice `Variable`s and the `.$` fields of payload templates; and
//! `ReferencePath` (a path that names exactly one node) for ResultPath and
//! the `…Path` fields. Both start at `$` (the input), `$$` (the Context
//! object) or `$name` (a variable).
//!
//! PLACEHOLDER: the full implementation is being written; this stub only
//! understands `$` so that other layers compile.

use serde_json::Value;

use crate::{Failure, Scope};

/// Why a path string is not a valid path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

/// A compiled JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    source: String,
}

impl Path {
    pub fn parse(s: &str) -> Result<Path, PathError> {
        if !s.starts_with('$') {
            return Err(PathError {
                message: format!("the path '{s}' must start with '$'"),
            });
        }
        Ok(Path {
            source: s.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Selects from the scope. `Ok(None)` when the path matches nothing
    /// (callers turn that into the error AWS raises in their context).
    pub fn select(&self, scope: &Scope<'_>) -> Result<Option<Value>, Failure> {
        if self.source == "$" {
            return Ok(Some(scope.input.clone()));
        }
        Err(Failure::runtime(format!(
            "path {} not supported yet",
            self.source
        )))
    }
}

/// A path that names exactly one node: the target of ResultPath.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePath {
    path: Path,
}

impl ReferencePath {
    pub fn parse(s: &str) -> Result<ReferencePath, PathError> {
        Ok(ReferencePath {
            path: Path::parse(s)?,
        })
    }

    pub fn as_str(&self) -> &str {
        self.path.as_str()
    }

    pub fn as_path(&self) -> &Path {
        &self.path
    }

    /// Reads the node this path names.
    pub fn select(&self, scope: &Scope<'_>) -> Result<Option<Value>, Failure> {
        self.path.select(scope)
    }

    /// ResultPath: returns `target` with `value` placed at this path, creating
    /// intermediate objects as ASL does; `States.ResultPathMatchFailure` when
    /// the path cannot be placed.
    pub fn place(&self, target: Value, value: Value) -> Result<Value, Failure> {
        if self.path.source == "$" {
            return Ok(value);
        }
        let _ = target;
        Err(Failure::runtime("ResultPath not supported yet"))
    }
}
