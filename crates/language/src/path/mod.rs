//! JSONPath as ASL uses it: `Path` for InputPath, OutputPath, ItemsPath,
//! Choice `Variable`s and the `.$` fields of payload templates; and
//! `ReferencePath` (a path that names exactly one node) for ResultPath and
//! the `…Path` fields. Both start at `$` (the input), `$$` (the Context
//! object) or `$name` (a variable).
//!
//! AWS evaluates paths with Jayway JsonPath, so this module follows Jayway's
//! semantics: a *definite* path (only names and indexes, optionally ending in
//! a union of names, which selects one object of those properties) selects
//! one node or nothing; any other path (wildcards, slices, index unions,
//! filters, deep scan) selects a JSON array of matches, possibly empty. Paths are parsed once;
//! evaluation borrows from the documents and clones only the result.
//!
//! The [`failure`] helpers build the `States.*` failures, with AWS's cause
//! texts, that the engine raises when a path cannot be applied.

mod eval;
pub mod failure;
mod parse;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::{Failure, Scope};
use eval::{Env, Found};

pub use failure::{
    field_path_failure, input_path_failure, invalid_path_failure, items_path_not_array,
    output_path_failure, result_path_failure, state_cause,
};

/// Why a path string is not a valid path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Root {
    /// `$`: the state input.
    Input,
    /// `$$`: the Context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(Box<str>),
    /// `@`: the node a filter is testing.
    Current,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// `.a` or `['a']`.
    Field(String),
    /// `[0]`, `[-1]`.
    Index(i64),
    /// `['a','b']`.
    Fields(Vec<String>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `.*` or `[*]`.
    Wildcard,
    /// `[from:to]`.
    Slice(Option<i64>, Option<i64>),
    /// `[?(…)]`.
    Filter(Box<Filter>),
    /// `..x`: `x` applied to every node below (and including) the current one.
    Scan(Box<Segment>),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `[?(@.x)]`: the path selects something.
    Exists(Box<PathExpr>),
    Compare(Operand, CmpOp, Operand),
    /// `@.x =~ /pattern/flags`: the whole string matches.
    Matches(Operand, Box<FilterRegex>),
}

/// A compiled `/pattern/flags` of a filter, compared by its text.
#[derive(Debug, Clone)]
pub(crate) struct FilterRegex {
    pub source: String,
    pub regex: fancy_regex::Regex,
}

impl PartialEq for FilterRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(Box<PathExpr>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Nin,
}

/// A parsed path without its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathExpr {
    pub root: Root,
    pub segments: Vec<Segment>,
    /// Ends in `.length()`.
    pub length: bool,
}

impl PathExpr {
    /// Jayway's definiteness: names and indexes only, except that a union
    /// of names as the last step (`$.a['b','c']`) is definite too: it
    /// selects one object made of those properties.
    fn is_definite(&self) -> bool {
        match self.segments.split_last() {
            None => true,
            Some((last, init)) => {
                is_reference_segments(init)
                    && matches!(
                        last,
                        Segment::Field(_) | Segment::Index(_) | Segment::Fields(_)
                    )
            }
        }
    }

    fn collect_variables(&self, out: &mut Vec<String>) {
        if let Root::Variable(name) = &self.root {
            if !out.iter().any(|n| n == name.as_ref()) {
                out.push(name.to_string());
            }
        }
        for seg in &self.segments {
            seg_variables(seg, out);
        }
    }
}

/// Names and indexes only: a path that names one node.
fn is_reference_segments(segs: &[Segment]) -> bool {
    segs.iter()
        .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
}

fn seg_variables(seg: &Segment, out: &mut Vec<String>) {
    match seg {
        Segment::Filter(f) => filter_variables(f, out),
        Segment::Scan(inner) => seg_variables(inner, out),
        _ => {}
    }
}

fn filter_variables(f: &Filter, out: &mut Vec<String>) {
    match f {
        Filter::Or(a, b) | Filter::And(a, b) => {
            filter_variables(a, out);
            filter_variables(b, out);
        }
        Filter::Not(a) => filter_variables(a, out),
        Filter::Exists(p) => p.collect_variables(out),
        Filter::Compare(l, _, r) => {
            for o in [l, r] {
                if let Operand::Path(p) = o {
                    p.collect_variables(out);
                }
            }
        }
        Filter::Matches(l, _) => {
            if let Operand::Path(p) = l {
                p.collect_variables(out);
            }
        }
    }
}

/// What a path selected, borrowed from the scope where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection<'a> {
    /// A definite path that matched nothing.
    Missing,
    /// The node a definite path names (or a computed `length()`).
    Node(Cow<'a, Value>),
    /// The matches of an indefinite path, in document order.
    Nodes(Vec<Cow<'a, Value>>),
}

impl<'a> Selection<'a> {
    /// The selection as a JSON value: the node, or an array of the matches.
    pub fn into_value(self) -> Option<Value> {
        match self {
            Selection::Missing => None,
            Selection::Node(v) => Some(v.into_owned()),
            Selection::Nodes(v) => Some(Value::Array(v.into_iter().map(Cow::into_owned).collect())),
        }
    }
}

/// A compiled JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    source: String,
    expr: PathExpr,
    definite: bool,
}

impl Path {
    pub fn parse(s: &str) -> Result<Path, PathError> {
        let expr = parse::parse(s)?;
        let definite = expr.is_definite();
        Ok(Path {
            source: s.to_string(),
            expr,
            definite,
        })
    }

    /// Parses the path at the start of `s` (as an intrinsic function
    /// argument) and returns it with the number of bytes it spans.
    pub(crate) fn parse_prefix(s: &str) -> Result<(Path, usize), PathError> {
        let (expr, len) = parse::parse_prefix(s)?;
        let definite = expr.is_definite();
        Ok((
            Path {
                source: s.get(..len).unwrap_or(s).to_string(),
                expr,
                definite,
            },
            len,
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the path names at most one node (no wildcard, filter, slice,
    /// union or deep scan). Definite paths select the node itself; the
    /// others select an array of matches.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Whether the path starts at the Context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.expr.root == Root::Context
    }

    /// The variable the path starts at (`$name…` → `name`).
    pub fn variable(&self) -> Option<&str> {
        match &self.expr.root {
            Root::Variable(v) => Some(v),
            _ => None,
        }
    }

    /// Every variable the path reads (its root and those in filters), for
    /// the validator's check that variables are assigned before use.
    pub fn references_variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.expr.collect_variables(&mut out);
        out
    }

    /// Selects from the scope without cloning: the engine's and Choice's
    /// fast path.
    pub fn resolve<'a>(&self, scope: &Scope<'a>) -> Selection<'a> {
        let env = Env {
            input: scope.input,
            context: scope.context,
            variables: scope.variables,
            doc: None,
        };
        match eval::evaluate(&self.expr, self.definite, &env, None) {
            Found::One(v) => Selection::Node(v),
            Found::Many(v) => Selection::Nodes(v),
            Found::None => Selection::Missing,
        }
    }

    /// Selects from the scope. `Ok(None)` when a definite path matches
    /// nothing (callers turn that into the error AWS raises in their
    /// context); an indefinite path always yields an array.
    pub fn select(&self, scope: &Scope<'_>) -> Result<Option<Value>, Failure> {
        Ok(self.resolve(scope).into_value())
    }

    /// Why this path selects nothing from `scope`, in Jayway's words (the
    /// text AWS puts after "Invalid path '…' : "). Only meaningful after
    /// [`Path::select`] returned `None`.
    pub fn miss_reason(&self, scope: &Scope<'_>) -> String {
        let root = match &self.expr.root {
            Root::Input => Some(scope.input),
            Root::Context => Some(scope.context),
            Root::Variable(name) => scope.variables.get(name.as_ref()),
            Root::Current => None,
        };
        let segs = &self.expr.segments;
        let Some(root) = root else {
            return format!("No results for path: {}", normalized(segs));
        };
        match eval::walk_definite(segs, root) {
            Ok(_) => format!("No results for path: {}", normalized(segs)),
            Err(k) => {
                let parent = segs
                    .get(..k)
                    .and_then(|p| eval::walk_definite(p, root).ok());
                let upto = segs.get(..=k).unwrap_or(segs);
                let before = segs.get(..k).unwrap_or(&[]);
                match (segs.get(k), parent) {
                    (Some(Segment::Field(_)), Some(Value::Object(_))) => {
                        if k + 1 == segs.len() {
                            format!("No results for path: {}", normalized(segs))
                        } else {
                            format!("Missing property in path {}", normalized(upto))
                        }
                    }
                    (Some(Segment::Field(name)), Some(other)) => format!(
                        "Expected to find an object with property ['{}'] in path {} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
                        escaped(name),
                        normalized(before),
                        java_class(other)
                    ),
                    (Some(Segment::Index(_)), Some(Value::Array(_))) => {
                        format!("No results for path: {}", normalized(segs))
                    }
                    (Some(Segment::Index(_)), Some(Value::Null)) => {
                        format!("The path {} is null", normalized(before))
                    }
                    (Some(seg @ Segment::Index(_)), Some(other)) => format!(
                        "Filter: {} can only be applied to arrays. Current context is: {}",
                        normalized(std::slice::from_ref(seg)).trim_start_matches('$'),
                        compact(other)
                    ),
                    _ => format!("No results for path: {}", normalized(segs)),
                }
            }
        }
    }
}

/// The Java class Jayway's Jackson provider names for a JSON value.
fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

/// Compact JSON text, as AWS prints values in causes.
pub(crate) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A property name as Jayway writes it inside `['…']` so that the path can
/// be compiled again: a backslash doubled, a single quote escaped.
fn escaped(name: &str) -> String {
    name.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Jayway's normalized form of a definite path: `$['a'][0]`, names escaped
/// (`$['it\'s']`), several names joined by a bare comma (`$['a','b']`).
fn normalized(segs: &[Segment]) -> String {
    let mut s = String::from("$");
    for seg in segs {
        match seg {
            Segment::Field(n) => {
                s.push_str("['");
                s.push_str(&escaped(n));
                s.push_str("']");
            }
            Segment::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
            Segment::Fields(names) => {
                s.push('[');
                for (k, n) in names.iter().enumerate() {
                    if k > 0 {
                        s.push(',');
                    }
                    s.push('\'');
                    s.push_str(&escaped(n));
                    s.push('\'');
                }
                s.push(']');
            }
            _ => s.push_str("[*]"),
        }
    }
    s
}

/// Why a value cannot be placed at a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlaceError;

/// A path that names exactly one node: the target of ResultPath, and the
/// `…Path` fields (`ItemsPath`, `SecondsPath`, `TimeoutSecondsPath`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePath {
    path: Path,
}

impl ReferencePath {
    /// Accepts only definite paths: names and indexes.
    pub fn parse(s: &str) -> Result<ReferencePath, PathError> {
        let path = Path::parse(s)?;
        if !is_reference_segments(&path.expr.segments) || path.expr.length {
            return Err(PathError {
                message: format!(
                    "the reference path '{s}' must name a single node: wildcards, filters, slices, unions, deep scans and functions are not allowed"
                ),
            });
        }
        Ok(ReferencePath { path })
    }

    pub fn as_str(&self) -> &str {
        self.path.as_str()
    }

    pub fn as_path(&self) -> &Path {
        &self.path
    }

    /// Reads the node this path names, without cloning.
    pub fn resolve<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        let env = Env {
            input: scope.input,
            context: scope.context,
            variables: scope.variables,
            doc: None,
        };
        let root = env.root(&self.path.expr.root, None)?;
        eval::walk_definite(&self.path.expr.segments, root).ok()
    }

    /// Reads the node this path names.
    pub fn select(&self, scope: &Scope<'_>) -> Result<Option<Value>, Failure> {
        Ok(self.resolve(scope).cloned())
    }

    /// ResultPath: returns `target` with `value` placed at this path, creating
    /// intermediate objects as ASL does; `States.ResultPathMatchFailure` when
    /// the path cannot be placed (the target or an intermediate node is not
    /// an object, an index is out of range, or the path does not start at `$`).
    pub fn place(&self, target: Value, value: Value) -> Result<Value, Failure> {
        if self.path.expr.root != Root::Input {
            return Err(result_path_failure(self, &target));
        }
        if self.path.expr.segments.is_empty() {
            return Ok(value);
        }
        let mut target = target;
        match place_in(&mut target, &self.path.expr.segments, value) {
            Ok(()) => Ok(target),
            Err(PlaceError) => Err(result_path_failure(self, &target)),
        }
    }
}

/// Places `value` at `segs` below `node`. Checks every step before writing,
/// so a failure leaves `node` untouched (the cause text shows the input).
fn place_in(node: &mut Value, segs: &[Segment], value: Value) -> Result<(), PlaceError> {
    check_placeable(node, segs)?;
    let mut node = node;
    let mut value = Some(value);
    for (k, seg) in segs.iter().enumerate() {
        let last = k + 1 == segs.len();
        node = match (seg, node) {
            (Segment::Field(name), Value::Object(o)) => {
                if last {
                    o.insert(name.clone(), value.take().unwrap_or(Value::Null));
                    return Ok(());
                }
                o.entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            (Segment::Index(i), Value::Array(a)) => {
                let len = i64::try_from(a.len()).map_err(|_| PlaceError)?;
                let at = if *i < 0 { len + *i } else { *i };
                let slot = usize::try_from(at)
                    .ok()
                    .and_then(|u| a.get_mut(u))
                    .ok_or(PlaceError)?;
                if last {
                    *slot = value.take().unwrap_or(Value::Null);
                    return Ok(());
                }
                slot
            }
            _ => return Err(PlaceError),
        };
    }
    Ok(())
}

fn check_placeable(mut node: &Value, segs: &[Segment]) -> Result<(), PlaceError> {
    for seg in segs {
        match (seg, node) {
            (Segment::Field(name), Value::Object(o)) => match o.get(name.as_str()) {
                Some(next) => node = next,
                // Everything below is created.
                None => return Ok(()),
            },
            (Segment::Index(i), Value::Array(_)) => {
                node = eval::index(node, *i).ok_or(PlaceError)?;
            }
            _ => return Err(PlaceError),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
