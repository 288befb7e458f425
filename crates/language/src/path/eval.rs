//! JSONPath evaluation over borrowed JSON: nothing is cloned until the
//! caller asks for an owned result, and definite paths (the common case,
//! `$.a.b`) walk straight down without allocating.

use std::borrow::Cow;

use serde_json::Value;

use super::{CmpOp, Filter, Operand, PathExpr, Root, Segment};
use crate::scope::Variables;

/// The documents a path can start from.
#[derive(Clone, Copy)]
pub(super) struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub variables: &'a Variables,
    /// The document the outermost path started at: what `$` means inside
    /// its filters (Jayway's root document), e.g. the Context object in
    /// `$$.x[?(@.a == $.b)]`. `None` until a path has started.
    pub doc: Option<&'a Value>,
}

impl<'a> Env<'a> {
    pub fn root(&self, root: &Root, current: Option<&'a Value>) -> Option<&'a Value> {
        match root {
            Root::Input => Some(self.doc.unwrap_or(self.input)),
            Root::Context => Some(self.context),
            Root::Variable(name) => self.variables.get(name.as_ref()),
            Root::Current => current,
        }
    }
}

/// A property of an object. Objects in workflow payloads are mostly small,
/// and comparing a few keys is cheaper than hashing the name (serde_json's
/// ordered map hashes with SipHash), so small objects are scanned.
#[inline]
pub(super) fn field<'v>(node: &'v Value, name: &str) -> Option<&'v Value> {
    let o = node.as_object()?;
    if o.len() <= 8 {
        o.iter().find_map(|(k, v)| (k == name).then_some(v))
    } else {
        o.get(name)
    }
}

/// An array index as Jayway resolves it: negative counts from the end.
pub(super) fn index(node: &Value, i: i64) -> Option<&Value> {
    let arr = node.as_array()?;
    let len = i64::try_from(arr.len()).ok()?;
    let effective = if i < 0 { len + i } else { i };
    usize::try_from(effective).ok().and_then(|k| arr.get(k))
}

/// Walks a definite path (fields and indexes only). On a miss, returns the
/// position of the segment that failed, for the error text.
pub(super) fn walk_definite<'a>(
    segments: &[Segment],
    mut node: &'a Value,
) -> Result<&'a Value, usize> {
    for (k, seg) in segments.iter().enumerate() {
        let next = match seg {
            Segment::Field(name) => field(node, name),
            Segment::Index(i) => index(node, *i),
            _ => None,
        };
        node = next.ok_or(k)?;
    }
    Ok(node)
}

/// Collects every node `segments` selects below `node`, in document order.
pub(super) fn collect<'a>(
    segments: &[Segment],
    node: &'a Value,
    env: &Env<'a>,
    out: &mut Vec<Cow<'a, Value>>,
) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(Cow::Borrowed(node));
        return;
    };
    // Jayway merges a union of names in last position into one object per
    // node; nodes that are not objects are skipped.
    if let (Segment::Fields(names), true) = (first, rest.is_empty()) {
        if let Some(o) = node.as_object() {
            out.push(Cow::Owned(merge(o, names)));
        }
        return;
    }
    if let Segment::Scan(inner) = first {
        descendants_or_self(node, &mut |d| {
            step(inner, d, env, true, &mut |c| collect(rest, c, env, out));
        });
    } else {
        step(first, node, env, false, &mut |c| collect(rest, c, env, out));
    }
}

/// Pre-order walk, the order Jayway's deep scan visits nodes in.
fn descendants_or_self<'a>(node: &'a Value, f: &mut dyn FnMut(&'a Value)) {
    f(node);
    match node {
        Value::Object(o) => o.values().for_each(|v| descendants_or_self(v, f)),
        Value::Array(a) => a.iter().for_each(|v| descendants_or_self(v, f)),
        _ => {}
    }
}

/// Applies one segment to one node, calling `f` with each child selected.
fn step<'a>(
    seg: &Segment,
    node: &'a Value,
    env: &Env<'a>,
    in_scan: bool,
    f: &mut dyn FnMut(&'a Value),
) {
    match seg {
        Segment::Field(name) => {
            if let Some(v) = field(node, name) {
                f(v);
            }
        }
        Segment::Index(i) => {
            if let Some(v) = index(node, *i) {
                f(v);
            }
        }
        Segment::Fields(names) => {
            if let Some(o) = node.as_object() {
                names.iter().filter_map(|n| o.get(n.as_str())).for_each(f);
            }
        }
        Segment::Indexes(idx) => idx.iter().filter_map(|i| index(node, *i)).for_each(f),
        Segment::Wildcard => match node {
            Value::Object(o) => o.values().for_each(f),
            Value::Array(a) => a.iter().for_each(f),
            _ => {}
        },
        Segment::Slice(from, to) => {
            if let Some(a) = node.as_array() {
                let (lo, hi) = slice_bounds(a.len(), *from, *to);
                a.iter().take(hi).skip(lo).for_each(f);
            }
        }
        Segment::Filter(filter) => match node {
            // During a deep scan every node is visited on its own, so
            // testing array elements here as well would report them twice.
            Value::Array(a) if !in_scan => a.iter().filter(|v| test(filter, v, env)).for_each(f),
            Value::Object(_) if test(filter, node, env) => f(node),
            _ => {}
        },
        Segment::Scan(inner) => {
            // A scan directly after a scan (`$....a`) cannot be parsed; still,
            // behave sensibly rather than panic.
            descendants_or_self(node, &mut |d| step(inner, d, env, true, f));
        }
    }
}

/// Jayway's slice bounds: negative positions count from the end; both ends
/// are clamped to the array.
fn slice_bounds(len: usize, from: Option<i64>, to: Option<i64>) -> (usize, usize) {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |v: i64| -> usize {
        let v = if v < 0 { len_i.saturating_add(v) } else { v };
        usize::try_from(v.clamp(0, len_i)).unwrap_or(0)
    };
    let lo = from.map_or(0, clamp);
    let hi = to.map_or(len, clamp);
    (lo, hi.max(lo))
}

/// Evaluates a whole path expression: `Ok` with the node(s), borrowed where
/// possible. `None` when a definite path selects nothing.
pub(super) enum Found<'a> {
    One(Cow<'a, Value>),
    Many(Vec<Cow<'a, Value>>),
    None,
}

pub(super) fn evaluate<'a>(
    expr: &PathExpr,
    definite: bool,
    env: &Env<'a>,
    current: Option<&'a Value>,
) -> Found<'a> {
    let Some(root) = env.root(&expr.root, current) else {
        return if definite {
            Found::None
        } else {
            Found::Many(Vec::new())
        };
    };
    let outer;
    let env = if env.doc.is_none() {
        outer = Env {
            doc: Some(root),
            ..*env
        };
        &outer
    } else {
        env
    };
    if definite {
        let node = match expr.segments.split_last() {
            // Jayway merges a trailing union of names into one object of the
            // properties present (`$.a['b','c']` → `{"b":…,"c":…}`).
            Some((Segment::Fields(names), init)) => {
                let Some(o) = walk_definite(init, root).ok().and_then(Value::as_object) else {
                    return Found::None;
                };
                Cow::Owned(merge(o, names))
            }
            _ => match walk_definite(&expr.segments, root) {
                Ok(node) => Cow::Borrowed(node),
                Err(_) => return Found::None,
            },
        };
        if expr.length {
            return match length_of(&node) {
                Some(n) => Found::One(Cow::Owned(Value::from(n))),
                None => Found::None,
            };
        }
        return Found::One(node);
    }
    let mut out = Vec::new();
    collect(&expr.segments, root, env, &mut out);
    if expr.length {
        return Found::One(Cow::Owned(Value::from(out.len())));
    }
    Found::Many(out)
}

/// The object of the properties `names` that `o` has (Jayway's merge).
fn merge(o: &serde_json::Map<String, Value>, names: &[String]) -> Value {
    Value::Object(
        names
            .iter()
            .filter_map(|n| o.get(n.as_str()).map(|v| (n.clone(), v.clone())))
            .collect(),
    )
}

fn length_of(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

/// Whether `node` passes a filter.
fn test<'a>(filter: &Filter, node: &'a Value, env: &Env<'a>) -> bool {
    match filter {
        Filter::Or(a, b) => test(a, node, env) || test(b, node, env),
        Filter::And(a, b) => test(a, node, env) && test(b, node, env),
        Filter::Not(a) => !test(a, node, env),
        Filter::Exists(p) => match operand_path(p, env, node) {
            Found::One(_) => true,
            Found::Many(v) => !v.is_empty(),
            Found::None => false,
        },
        Filter::Matches(l, re) => match operand(l, env, node).as_deref() {
            Some(Value::String(s)) => re.regex.is_match(s).unwrap_or(false),
            _ => false,
        },
        Filter::Compare(l, op, r) => {
            let lv = operand(l, env, node);
            let rv = operand(r, env, node);
            match (lv, rv) {
                (Some(l), Some(r)) => compare(&l, *op, &r),
                // Jayway: an undefined side is unequal to everything.
                _ => matches!(op, CmpOp::Ne | CmpOp::Nin),
            }
        }
    }
}

fn operand_path<'a>(p: &PathExpr, env: &Env<'a>, node: &'a Value) -> Found<'a> {
    evaluate(p, p.is_definite(), env, Some(node))
}

fn operand<'a>(op: &'a Operand, env: &Env<'a>, node: &'a Value) -> Option<Cow<'a, Value>> {
    match op {
        Operand::Literal(v) => Some(Cow::Borrowed(v)),
        Operand::Path(p) => match operand_path(p, env, node) {
            Found::One(v) => Some(v),
            Found::Many(v) => Some(Cow::Owned(Value::Array(
                v.into_iter().map(Cow::into_owned).collect(),
            ))),
            Found::None => None,
        },
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    match op {
        CmpOp::Eq => loose_eq(l, r),
        CmpOp::Ne => !loose_eq(l, r),
        CmpOp::Lt => order(l, r).is_some_and(|o| o.is_lt()),
        CmpOp::Le => order(l, r).is_some_and(|o| o.is_le()),
        CmpOp::Gt => order(l, r).is_some_and(|o| o.is_gt()),
        CmpOp::Ge => order(l, r).is_some_and(|o| o.is_ge()),
        CmpOp::In => r
            .as_array()
            .is_some_and(|a| a.iter().any(|x| loose_eq(l, x))),
        CmpOp::Nin => r
            .as_array()
            .is_none_or(|a| !a.iter().any(|x| loose_eq(l, x))),
    }
}

/// Equality as Jayway's filters see it: numbers by value (`1 == 1.0`), and
/// a number equals a string that reads as that number.
fn loose_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Number(a), Value::String(s)) | (Value::String(s), Value::Number(a)) => {
            s.trim().parse::<f64>().ok() == a.as_f64()
        }
        _ => l == r,
    }
}

/// Exact for integers (no rounding through f64), by value otherwise.
pub(crate) fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
    }
}

fn order(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}
