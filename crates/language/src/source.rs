//! Reading a definition's text: JSON or YAML into a [`serde_json::Value`],
//! plus a [`SourceMap`] from every node's JSON Pointer to the line and column
//! where it is written, so that later diagnostics can point into the text.
//!
//! The format is chosen the way a user would guess it: JSON when the first
//! non-blank character is `{`, YAML otherwise. JSON is read strictly (no
//! comments, no trailing commas) with `jsonc-parser`, whose AST carries byte
//! ranges; YAML is read from `yaml-rust2` events, which carry markers. Neither
//! format's own value type is used because both lose positions, and because
//! duplicate keys must be reported, not silently merged.

use std::collections::HashMap;

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::Diagnostic;

/// Diagnostic code for JSON syntax errors (AWS's code).
pub const INVALID_JSON: &str = "INVALID_JSON_DESCRIPTION";
/// Diagnostic code for YAML syntax errors.
pub const INVALID_YAML: &str = "INVALID_YAML_DESCRIPTION";
/// Diagnostic code for a key that appears twice in one object.
pub const DUPLICATE_KEY: &str = "DUPLICATE_KEY";
/// The code AWS uses when the text is not an object at all.
pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";

/// Deeper documents are rejected: they are never legitimate definitions and
/// deep recursion over them (here, in the decoder, in `Drop`) could exhaust
/// the stack.
pub const MAX_DEPTH: usize = 512;

/// YAML aliases can expand a small text into a huge value ("billion laughs");
/// stop once the document has this many nodes.
const MAX_NODES: usize = 1_000_000;

/// The syntax a definition was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A 1-based line and column (columns count Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// JSON Pointer → where that node is written: the key for object members,
/// the value itself for array elements and the root.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    positions: HashMap<String, Position>,
}

impl SourceMap {
    /// The position of `pointer`, or of its nearest ancestor that has one
    /// (diagnostics about a missing field point at the object that lacks it).
    pub fn position(&self, pointer: &str) -> Option<Position> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = match p.rfind('/') {
                Some(i) => &p[..i],
                None => "",
            };
        }
    }

    /// The number of nodes with a recorded position.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Fills in `line`/`column` of each diagnostic from its pointer.
    pub fn locate(&self, diagnostics: &mut [Diagnostic]) {
        for d in diagnostics {
            if d.line.is_none() {
                let at = d.located_at.as_deref().unwrap_or(&d.pointer);
                if let Some(pos) = self.position(at) {
                    d.line = Some(pos.line);
                    d.column = Some(pos.column);
                }
            }
        }
    }

    fn insert(&mut self, pointer: String, position: Position) {
        self.positions.insert(pointer, position);
    }
}

/// A definition read from text.
#[derive(Debug, Clone)]
pub struct Source {
    pub value: Value,
    pub map: SourceMap,
    pub format: Format,
    /// Problems that did not stop reading (duplicate keys).
    pub diagnostics: Vec<Diagnostic>,
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/`.
pub fn pointer_push(base: &str, token: &str) -> String {
    let mut s = String::with_capacity(base.len() + token.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in token.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

/// The format [`read`] will use for `text`.
pub fn detect(text: &str) -> Format {
    match text.trim_start().chars().next() {
        Some('{') => Format::Json,
        _ => Format::Yaml,
    }
}

/// Reads a definition. `Err` holds the syntax errors (with positions) when
/// no value could be built.
pub fn read(text: &str) -> Result<Source, Vec<Diagnostic>> {
    // A leading byte-order mark is invisible to users; do not fail on it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::error(
            SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object; the text is empty.",
        )]);
    }
    match detect(text) {
        Format::Json => read_json(text),
        Format::Yaml => match read_yaml(text) {
            Ok(source) if source.value.is_object() => Ok(source),
            // Text that is neither a YAML mapping nor JSON is most likely
            // broken JSON (AWS answers `not a definition` with a JSON error),
            // so report what the JSON reader says about it.
            Ok(source) => match read_json(text) {
                Ok(_) => Ok(source),
                Err(json_errors) => Err(json_errors),
            },
            Err(yaml_errors) => Err(yaml_errors),
        },
    }
}

/// Byte offsets of line starts, to turn offsets into lines and columns.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        Lines { text, starts }
    }

    fn position(&self, offset: usize) -> Position {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset.min(self.text.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        Position {
            line: to_u32(line + 1),
            column: to_u32(column + 1),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn strict_json() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn read_json(text: &str) -> Result<Source, Vec<Diagnostic>> {
    let lines = Lines::new(text);
    let parsed =
        jsonc_parser::parse_to_ast(text, &Default::default(), &strict_json()).map_err(|e| {
            let pos = lines.position(e.range().start);
            let mut d = Diagnostic::error(
                INVALID_JSON,
                "",
                format!(
                    "The definition is not valid JSON: {} at line {}, column {}; fix the syntax there.",
                    e.kind(),
                    pos.line,
                    pos.column
                ),
            );
            d.line = Some(pos.line);
            d.column = Some(pos.column);
            vec![d]
        })?;
    let Some(root) = parsed.value else {
        return Err(vec![Diagnostic::error(
            SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object; the text holds no value.",
        )]);
    };
    let mut builder = JsonBuilder {
        lines: &lines,
        map: SourceMap::default(),
        diagnostics: Vec::new(),
    };
    builder
        .map
        .insert(String::new(), lines.position(root.range().start));
    let value = builder.convert(&root, "");
    Ok(Source {
        value,
        map: builder.map,
        format: Format::Json,
        diagnostics: builder.diagnostics,
    })
}

struct JsonBuilder<'a> {
    lines: &'a Lines<'a>,
    map: SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl JsonBuilder<'_> {
    // Recursion depth is bounded by jsonc-parser's own nesting limit (512).
    fn convert(&mut self, v: &ast::Value<'_>, pointer: &str) -> Value {
        match v {
            ast::Value::StringLit(s) => Value::String(s.value.to_string()),
            ast::Value::NumberLit(n) => match n.value.parse::<Number>() {
                Ok(num) => Value::Number(num),
                // serde_json refuses numbers it cannot represent (e.g. 1e400).
                Err(_) => {
                    let pos = self.lines.position(n.range.start);
                    let mut d = Diagnostic::error(
                        INVALID_JSON,
                        pointer,
                        format!(
                            "The number {} cannot be represented; use a smaller number.",
                            n.value
                        ),
                    );
                    d.line = Some(pos.line);
                    d.column = Some(pos.column);
                    self.diagnostics.push(d);
                    Value::Null
                }
            },
            ast::Value::BooleanLit(b) => Value::Bool(b.value),
            ast::Value::NullKeyword(_) => Value::Null,
            ast::Value::Array(a) => {
                let mut out = Vec::with_capacity(a.elements.len());
                for (i, e) in a.elements.iter().enumerate() {
                    let p = pointer_push(pointer, &i.to_string());
                    self.map
                        .insert(p.clone(), self.lines.position(e.range().start));
                    out.push(self.convert(e, &p));
                }
                Value::Array(out)
            }
            ast::Value::Object(o) => {
                let mut out = Map::new();
                for prop in &o.properties {
                    let key = prop.name.as_str().to_string();
                    let p = pointer_push(pointer, &key);
                    let pos = self.lines.position(prop.range.start);
                    if out.contains_key(&key) {
                        let mut d = Diagnostic::error(
                            DUPLICATE_KEY,
                            p.clone(),
                            format!(
                                "The key \"{key}\" appears more than once in this object; keep only one (the last one is used)."
                            ),
                        );
                        d.line = Some(pos.line);
                        d.column = Some(pos.column);
                        self.diagnostics.push(d);
                    }
                    self.map.insert(p.clone(), pos);
                    let value = self.convert(&prop.value, &p);
                    out.insert(key, value);
                }
                Value::Object(out)
            }
        }
    }
}

fn marker_position(m: &Marker) -> Position {
    Position {
        line: to_u32(m.line().max(1)),
        column: to_u32(m.col() + 1),
    }
}

/// Boxed: it travels in `Result`s, and a bare diagnostic is large.
fn yaml_error(at: &Marker, message: String) -> Box<Diagnostic> {
    let pos = marker_position(at);
    let mut d = Diagnostic::error(
        INVALID_YAML,
        "",
        format!(
            "The definition is not valid YAML: {message} at line {}, column {}; fix the syntax there.",
            pos.line, pos.column
        ),
    );
    d.line = Some(pos.line);
    d.column = Some(pos.column);
    Box::new(d)
}

/// A YAML collection being built.
enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: String,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        pointer: String,
        anchor: usize,
        /// The key read and waiting for its value.
        key: Option<String>,
    },
}

struct YamlBuilder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    map: SourceMap,
    diagnostics: Vec<Diagnostic>,
    root: Option<Value>,
    nodes: usize,
}

impl YamlBuilder {
    /// The pointer a new node gets, or `None` when the node is a mapping key.
    fn child_pointer(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Seq { items, pointer, .. }) => {
                Some(pointer_push(pointer, &items.len().to_string()))
            }
            Some(Frame::Map { key, pointer, .. }) => key.as_ref().map(|k| pointer_push(pointer, k)),
        }
    }

    fn is_key_position(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn attach(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some(k) = key.take() {
                    map.insert(k, value);
                }
            }
        }
    }

    /// Records a scalar used as a key; reports duplicates and non-string keys.
    fn set_key(&mut self, key: String, mark: &Marker) {
        let pos = marker_position(mark);
        if let Some(Frame::Map {
            map,
            pointer,
            key: slot,
            ..
        }) = self.stack.last_mut()
        {
            let p = pointer_push(pointer, &key);
            if map.contains_key(&key) {
                let mut d = Diagnostic::error(
                    DUPLICATE_KEY,
                    p.clone(),
                    format!(
                        "The key \"{key}\" appears more than once in this mapping; keep only one (the last one is used)."
                    ),
                );
                d.line = Some(pos.line);
                d.column = Some(pos.column);
                self.diagnostics.push(d);
            }
            self.map.insert(p, pos);
            *slot = Some(key);
        }
    }

    fn event(&mut self, event: Event, mark: &Marker) -> Result<(), Box<Diagnostic>> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(mark)?;
                if self.is_key_position() {
                    self.set_key(text, mark);
                    return Ok(());
                }
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == TScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::String(text)
                };
                self.record(mark);
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.attach(value);
            }
            Event::Alias(id) => {
                let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.count(mark)?;
                self.nodes = self.nodes.saturating_add(count_nodes(&value));
                if self.nodes > MAX_NODES {
                    return Err(yaml_error(
                        mark,
                        "the aliases expand to too many nodes".to_string(),
                    ));
                }
                if self.is_key_position() {
                    match value {
                        Value::String(s) => self.set_key(s, mark),
                        _ => return Err(yaml_error(mark, "a mapping key must be a string".into())),
                    }
                    return Ok(());
                }
                self.record(mark);
                self.attach(value);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.count(mark)?;
                if self.is_key_position() {
                    return Err(yaml_error(
                        mark,
                        "a mapping key must be a string, not a collection".into(),
                    ));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(yaml_error(
                        mark,
                        format!("the document is nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
                let pointer = self.child_pointer().unwrap_or_default();
                self.record(mark);
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        pointer,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        pointer,
                        anchor,
                        key: None,
                    }
                };
                self.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.attach(value);
            }
            Event::DocumentStart => {
                if self.root.is_some() {
                    return Err(yaml_error(
                        mark,
                        "the text holds more than one YAML document; keep only one".into(),
                    ));
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn count(&mut self, mark: &Marker) -> Result<(), Box<Diagnostic>> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(yaml_error(mark, "the document has too many nodes".into()));
        }
        Ok(())
    }

    /// Records the position of a value node that is not a mapping value
    /// (mapping values are located at their key, recorded in `set_key`).
    fn record(&mut self, mark: &Marker) {
        let in_map = matches!(self.stack.last(), Some(Frame::Map { .. }));
        if !in_map {
            if let Some(p) = self.child_pointer() {
                self.map.insert(p, marker_position(mark));
            }
        }
    }
}

fn count_nodes(v: &Value) -> usize {
    // Iterative, so that a deep value cannot overflow the stack here.
    let mut n = 0usize;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        n += 1;
        match v {
            Value::Array(a) => todo.extend(a.iter()),
            Value::Object(o) => todo.extend(o.values()),
            _ => {}
        }
        if n > MAX_NODES {
            break;
        }
    }
    n
}

/// YAML 1.2 core-schema resolution of an unquoted scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let t = s.strip_prefix('+').unwrap_or(s);
        if let Ok(i) = t.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = t.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(u) = u64::from_str_radix(hex, 16) {
            return Value::Number(u.into());
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(u) = u64::from_str_radix(oct, 8) {
            return Value::Number(u.into());
        }
    }
    if is_yaml_float(s) {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    // `.inf` and `.nan` have no JSON form: they stay strings.
    Value::String(s.to_string())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut mantissa_digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        mantissa_digits += i - frac_start;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

fn read_yaml(text: &str) -> Result<Source, Vec<Diagnostic>> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = YamlBuilder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        map: SourceMap::default(),
        diagnostics: Vec::new(),
        root: None,
        nodes: 0,
    };
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((event, mark)) => builder.event(event, &mark).map_err(|d| vec![*d])?,
            Err(e) => return Err(vec![*yaml_error(e.marker(), e.info().to_string())]),
        }
    }
    let value = builder.root.take().unwrap_or(Value::Null);
    Ok(Source {
        value,
        map: builder.map,
        format: Format::Yaml,
        diagnostics: builder.diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(source: &Source, pointer: &str) -> (u32, u32) {
        let p = source.map.position(pointer).expect("position");
        (p.line, p.column)
    }

    #[test]
    fn json_positions_point_at_keys_and_elements() {
        let text = "{\n  \"StartAt\": \"A\",\n  \"States\": {\"A\": {\"Type\": \"Pass\", \"End\": true}},\n  \"L\": [1, {\"x\": 2}]\n}";
        let s = read(text).expect("valid");
        assert_eq!(s.format, Format::Json);
        assert_eq!(pos(&s, ""), (1, 1));
        assert_eq!(pos(&s, "/StartAt"), (2, 3));
        assert_eq!(pos(&s, "/States/A/Type"), (3, 20));
        assert_eq!(pos(&s, "/L/1"), (4, 12));
        assert_eq!(pos(&s, "/L/1/x"), (4, 13));
        // A missing field is located at its nearest ancestor.
        assert_eq!(pos(&s, "/States/A/Next"), (3, 14));
    }

    #[test]
    fn json_syntax_error_has_position() {
        let errs = read("{\n  \"a\": 1,\n}").expect_err("trailing comma");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, INVALID_JSON);
        assert_eq!((errs[0].line, errs[0].column), (Some(2), Some(9)));
    }

    #[test]
    fn not_json_nor_yaml_mapping_is_a_json_error() {
        let errs = read("not a definition").expect_err("not an object");
        assert_eq!(errs[0].code, INVALID_JSON);
        assert_eq!((errs[0].line, errs[0].column), (Some(1), Some(1)));
    }

    #[test]
    fn empty_text() {
        let errs = read("  \n").expect_err("empty");
        assert_eq!(errs[0].code, SCHEMA_VALIDATION_FAILED);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let s = read("{\"a\": 1, \"a\": 2}").expect("readable");
        assert_eq!(s.value, serde_json::json!({"a": 2}));
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].code, DUPLICATE_KEY);
        assert_eq!(s.diagnostics[0].column, Some(10));
        let s = read("a: 1\na: 2\n").expect("readable");
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].line, Some(2));
    }

    #[test]
    fn yaml_values_and_positions() {
        let text = "StartAt: A\nStates:\n  A:\n    Type: Wait\n    Seconds: 5\n    Tags: [x, 'y', 1.5, null, true, \"2\"]\n    End: true\n";
        let s = read(text).expect("valid");
        assert_eq!(s.format, Format::Yaml);
        assert_eq!(
            s.value,
            serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5,
                "Tags": ["x", "y", 1.5, null, true, "2"], "End": true}}})
        );
        assert_eq!(pos(&s, "/StartAt"), (1, 1));
        assert_eq!(pos(&s, "/States/A"), (3, 3));
        assert_eq!(pos(&s, "/States/A/Seconds"), (5, 5));
        assert_eq!(pos(&s, "/States/A/Tags/1"), (6, 15));
    }

    #[test]
    fn yaml_anchors_expand() {
        let s = read("a: &x {b: 1}\nc: *x\n").expect("valid");
        assert_eq!(s.value, serde_json::json!({"a": {"b": 1}, "c": {"b": 1}}));
    }

    #[test]
    fn yaml_syntax_error_has_position() {
        let errs = read("a: [1, 2\nb: 3\n").expect_err("unclosed");
        assert_eq!(errs[0].code, INVALID_YAML);
        assert!(errs[0].line.is_some());
    }

    #[test]
    fn plain_scalar_resolution() {
        for (text, expected) in [
            ("12", serde_json::json!(12)),
            ("-3", serde_json::json!(-3)),
            ("1e3", serde_json::json!(1000.0)),
            ("0x1F", serde_json::json!(31)),
            (".inf", serde_json::json!(".inf")),
            ("1.2.3", serde_json::json!("1.2.3")),
            ("~", Value::Null),
            ("yes", serde_json::json!("yes")),
        ] {
            assert_eq!(resolve_plain(text), expected, "{text}");
        }
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(pointer_push("/States", "a/b~c"), "/States/a~1b~0c");
    }
}
