//! The tree-walking evaluator: paths and steps (with tuple streams for
//! focus/index/parent bindings), operators, closures with tail calls,
//! grouping, sorting and transforms, guarded by depth and time limits.

use std::sync::Arc;
use std::time::Instant;

use crate::ast::{BinOp, Group, Kind, Node, SortTerm, Stage};
use crate::error::Error;
use crate::value::{deep_equal, flags, Func, Map, Value};
use crate::Environment;

/// A tuple of a tuple stream: `@` is the context, other keys are bindings.
pub type Tuple = Map;

pub(crate) const TUPLE: u8 = 16;

/// Grow the stack (on the heap) when less than this much remains.
pub(crate) const RED_ZONE: usize = 256 * 1024;
/// Size of each additional stack segment.
pub(crate) const STACK_CHUNK: usize = 4 * 1024 * 1024;

/// One variable scope.
pub struct Frame {
    pub parent: Option<usize>,
    pub vars: Vec<(Arc<str>, Value)>,
}

/// Evaluation state for one call of `Expression::evaluate`.
pub struct Evaluator<'e> {
    pub frames: Vec<Frame>,
    pub env: &'e Environment,
    pub labels: Arc<[Arc<str>]>,
    /// The frame of the innermost function call site (the environment that
    /// built-ins such as `$eval` see).
    pub caller_frame: usize,
    pub depth: usize,
    pub max_depth: usize,
    pub deadline: Option<Instant>,
    pub ticks: u32,
    pub root: Value,
    /// Number of closures (lambdas, transforms) created so far.
    pub closures: u64,
    /// The timestamp of this evaluation, once asked for.
    pub now: Option<i64>,
    /// Whether frames are reclaimed (switched off only to test reclamation).
    pub reclaim: bool,
}

fn at() -> Arc<str> {
    Arc::from("@")
}

fn is_empty_result(v: &Value) -> bool {
    match v {
        Value::Undefined => true,
        Value::Array(a, _) => a.is_empty(),
        _ => false,
    }
}

/// JSONata truthiness; `None` for undefined.
pub fn boolean(v: &Value) -> Option<bool> {
    Some(match v {
        Value::Undefined => return None,
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Func(_) => false,
        Value::Array(a, _) => match a.len() {
            0 => false,
            1 => boolean(&a[0]).unwrap_or(false),
            _ => a.iter().any(|x| boolean(x) == Some(true)),
        },
    })
}

/// Field lookup mapping over arrays and flattening one level.
pub fn lookup(input: &Value, key: &str) -> Value {
    match input {
        Value::Array(a, _) => stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || {
            let mut out = Vec::new();
            for item in a.iter() {
                match lookup(item, key) {
                    Value::Undefined => {}
                    Value::Array(r, _) => out.extend(r.iter().cloned()),
                    other => out.push(other),
                }
            }
            Value::seq(out)
        }),
        Value::Object(m) => m.get(key).cloned().unwrap_or(Value::Undefined),
        _ => Value::Undefined,
    }
}

/// Fully flatten nested arrays into `out`.
pub fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || flatten_inner(v, out))
}

fn flatten_inner(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a, _) => {
            for x in a.iter() {
                flatten_into(x, out);
            }
        }
        other => out.push(other.clone()),
    }
}

/// JSONata's `append`: concatenation with singleton promotion.
pub fn append(a: Value, b: Value) -> Value {
    if a.is_undefined() {
        return b;
    }
    if b.is_undefined() {
        return a;
    }
    let mut v = a.into_vec();
    match b {
        Value::Array(x, _) => v.extend(x.iter().cloned()),
        other => v.push(other),
    }
    Value::array(v)
}

fn descend(v: &Value, out: &mut Vec<Value>, depth: usize) {
    stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || descend_inner(v, out, depth))
}

fn descend_inner(v: &Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 1000 {
        return;
    }
    if !v.is_array() {
        out.push(v.clone());
    }
    match v {
        Value::Array(a, _) => {
            for x in a.iter() {
                descend(x, out, depth + 1);
            }
        }
        Value::Object(m) => {
            for x in m.values() {
                descend(x, out, depth + 1);
            }
        }
        _ => {}
    }
}

impl Drop for Evaluator<'_> {
    fn drop(&mut self) {
        for frame in self.frames.drain(..) {
            for (_, v) in frame.vars {
                crate::value::drop_deep(v);
            }
        }
        crate::value::drop_deep(std::mem::replace(&mut self.root, Value::Undefined));
    }
}

impl<'e> Evaluator<'e> {
    pub fn new(env: &'e Environment, labels: Arc<[Arc<str>]>) -> Self {
        Evaluator {
            frames: vec![Frame {
                parent: None,
                vars: Vec::new(),
            }],
            env,
            labels,
            caller_frame: 0,
            depth: 0,
            max_depth: env.max_depth,
            deadline: env.time_limit.map(|d| Instant::now() + d),
            ticks: 0,
            root: Value::Undefined,
            closures: 0,
            now: None,
            reclaim: true,
        }
    }

    /// Free the frames from `mark` on, unless a closure (which could refer to
    /// them) was created since the closure count was `closures`.
    pub fn release_frames(&mut self, mark: usize, closures: u64) {
        if self.reclaim && self.closures == closures && mark > 0 && self.frames.len() > mark {
            for frame in self.frames.drain(mark..) {
                for (_, v) in frame.vars {
                    crate::value::drop_deep(v);
                }
            }
        }
    }

    pub fn new_frame(&mut self, parent: usize) -> usize {
        self.frames.push(Frame {
            parent: Some(parent),
            vars: Vec::new(),
        });
        self.frames.len() - 1
    }

    pub fn bind(&mut self, frame: usize, name: Arc<str>, value: Value) {
        let Some(f) = self.frames.get_mut(frame) else {
            return;
        };
        let vars = &mut f.vars;
        if let Some(slot) = vars.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
        } else {
            vars.push((name, value));
        }
    }

    pub fn lookup_var(&self, frame: usize, name: &str) -> Option<Value> {
        let mut f = Some(frame);
        while let Some(i) = f {
            let Some(fr) = self.frames.get(i) else { break };
            if let Some((_, v)) = fr.vars.iter().rev().find(|(k, _)| &**k == name) {
                return Some(v.clone());
            }
            f = fr.parent;
        }
        if let Some(v) = self.env.bindings.get(name) {
            return Some(v.clone());
        }
        crate::functions::builtin(name, self.env.dialect_sfn)
            .map(|b| Value::Func(Arc::new(Func::Builtin(b))))
    }

    fn enter(&mut self, pos: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(Error::at("U1001", pos, crate::error::DEPTH_LIMIT_MESSAGE));
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks & 255 == 0 {
            self.check_time(pos)?;
        }
        Ok(())
    }

    pub fn check_time(&self, pos: usize) -> Result<(), Error> {
        if let Some(d) = self.deadline {
            if Instant::now() > d {
                return Err(Error::at("U1001", pos, crate::error::TIME_LIMIT_MESSAGE));
            }
        }
        Ok(())
    }

    /// Evaluate a node against a context value in a frame.
    pub fn eval(&mut self, node: &Node, input: &Value, frame: usize) -> Result<Value, Error> {
        self.enter(node.pos)?;
        let r = stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.eval_kind(node, input, frame));
        self.depth -= 1;
        let mut result = r?;
        for stage in &node.predicate {
            if let Stage::Filter(p) = stage {
                result = self.filter(p, result, frame)?;
            }
        }
        if !matches!(node.kind, Kind::Path(_)) {
            if let Some(g) = &node.group {
                result = self.group(g, GroupInput::Values(result), frame)?;
            }
        }
        // collapse result sequences: empty -> undefined, singleton -> its item
        let action = match &result {
            Value::Array(a, f) if f & flags::SEQ != 0 && f & TUPLE == 0 => {
                let keep = node.keep_array || f & flags::KEEP != 0;
                if a.is_empty() {
                    Collapse::Undefined
                } else if a.len() == 1 && !keep {
                    Collapse::First
                } else if keep && f & flags::KEEP == 0 {
                    Collapse::MarkKeep
                } else {
                    Collapse::Keep
                }
            }
            _ => Collapse::Keep,
        };
        match action {
            Collapse::Undefined => return Ok(Value::Undefined),
            Collapse::First => {
                return Ok(result
                    .members()
                    .first()
                    .cloned()
                    .unwrap_or(Value::Undefined))
            }
            Collapse::MarkKeep => result = result.with_flags(flags::KEEP),
            Collapse::Keep => {}
        }
        Ok(result)
    }

    fn eval_kind(&mut self, node: &Node, input: &Value, frame: usize) -> Result<Value, Error> {
        Ok(match &node.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Num(n) => Value::Number(*n),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Regex(r) => Value::Func(Arc::new(Func::Regex(r.clone()))),
            Kind::Name(n) => lookup(input, n),
            Kind::Var(name) => {
                if name.is_empty() {
                    match input {
                        Value::Array(a, f) if f & flags::OUTER != 0 => {
                            a.first().cloned().unwrap_or(Value::Undefined)
                        }
                        other => other.clone(),
                    }
                } else if &**name == "$" {
                    self.root.clone()
                } else {
                    self.lookup_var(frame, name).unwrap_or(Value::Undefined)
                }
            }
            Kind::Wildcard => {
                let input = match input {
                    Value::Array(a, f) if f & flags::OUTER != 0 && !a.is_empty() => &a[0],
                    other => other,
                };
                let mut out = Vec::new();
                let vals: Vec<&Value> = match input {
                    Value::Object(m) => m.values().collect(),
                    Value::Array(a, _) => a.iter().collect(),
                    _ => Vec::new(),
                };
                for v in vals {
                    if v.is_array() {
                        flatten_into(v, &mut out);
                    } else {
                        out.push(v.clone());
                    }
                }
                Value::seq(out)
            }
            Kind::Descendant => {
                if input.is_undefined() {
                    Value::Undefined
                } else {
                    let mut out = Vec::new();
                    descend(input, &mut out, 0);
                    if out.len() == 1 {
                        out.pop().unwrap_or(Value::Undefined)
                    } else {
                        Value::seq(out)
                    }
                }
            }
            Kind::Parent(slot) => {
                let label = self.labels.get(*slot).cloned().unwrap_or_else(at);
                self.lookup_var(frame, &label).unwrap_or(Value::Undefined)
            }
            Kind::Path(steps) => self.eval_path(node, steps, input, frame)?,
            Kind::Neg(e) => match self.eval(e, input, frame)? {
                Value::Undefined => Value::Undefined,
                Value::Number(n) => Value::Number(-n),
                _ => {
                    return Err(
                        Error::at("D1002", node.pos, "Cannot negate a non-numeric value")
                            .with_token("-"),
                    )
                }
            },
            Kind::Array(items) => {
                let mut out: Vec<Value> = Vec::new();
                for item in items {
                    let v = self.eval(item, input, frame)?;
                    if v.is_undefined() {
                        continue;
                    }
                    if matches!(item.kind, Kind::Array(_)) {
                        out.push(v);
                    } else {
                        match v {
                            Value::Array(a, _) => out.extend(a.iter().cloned()),
                            other => out.push(other),
                        }
                    }
                }
                check_array_size(out.len(), node.pos)?;
                Value::Array(Arc::new(out), if node.consarray { flags::CONS } else { 0 })
            }
            Kind::Object(pairs) => {
                if input.is_array() {
                    self.group_pairs(pairs, GroupInput::Values(input.clone()), frame)?
                } else {
                    self.object_single(pairs, input, frame)?
                }
            }
            Kind::Block(items) => {
                let f = self.new_frame(frame);
                let mut result = Value::Undefined;
                for item in items {
                    result = self.eval(item, input, f)?;
                }
                result
            }
            Kind::Binary(op, l, r) => self.binary(*op, l, r, input, frame, node.pos)?,
            Kind::Cond(c, t, e) => {
                let cv = self.eval(c, input, frame)?;
                if boolean(&cv) == Some(true) {
                    self.eval(t, input, frame)?
                } else if let Some(e) = e {
                    self.eval(e, input, frame)?
                } else {
                    Value::Undefined
                }
            }
            Kind::Bind(name, v) => {
                let value = self.eval(v, input, frame)?;
                self.bind(frame, name.clone(), value.clone());
                value
            }
            Kind::Apply(l, r) => {
                let lhs = self.eval(l, input, frame)?;
                if let Kind::Call {
                    proc,
                    args,
                    partial,
                } = &r.kind
                {
                    if !*partial {
                        let res = self.call(node.pos, proc, args, input, frame, Some(lhs))?;
                        return Ok(if r.keep_array && res.is_seq() {
                            res.with_flags(flags::KEEP)
                        } else {
                            res
                        });
                    }
                }
                let func = self.eval(r, input, frame)?;
                if !func.is_func() {
                    return Err(Error::at(
                        "T2006",
                        node.pos,
                        "The right side of the function application operator ~> must be a function",
                    ));
                }
                if lhs.is_func() {
                    Value::Func(Arc::new(Func::Chain(lhs, func)))
                } else {
                    self.apply(&func, vec![lhs], input, node.pos)?
                }
            }
            Kind::Call {
                proc,
                args,
                partial,
            } => {
                if *partial {
                    self.partial(node.pos, proc, args, input, frame)?
                } else {
                    self.call(node.pos, proc, args, input, frame, None)?
                }
            }
            Kind::Lambda(def) => {
                self.closures += 1;
                Value::Func(Arc::new(Func::Lambda {
                    def: def.clone(),
                    frame,
                    input: input.clone(),
                }))
            }
            Kind::Transform(def) => {
                self.closures += 1;
                Value::Func(Arc::new(Func::Transform {
                    def: def.clone(),
                    frame,
                }))
            }
            Kind::Sort(terms) => self.sort(terms, input.clone(), frame)?,
            Kind::Placeholder => Value::Undefined,
            _ => return Err(Error::at("S0201", node.pos, "internal: unprocessed syntax")),
        })
    }

    fn eval_path(
        &mut self,
        node: &Node,
        steps: &[Node],
        input: &Value,
        frame: usize,
    ) -> Result<Value, Error> {
        let Some(first) = steps.first() else {
            return Ok(Value::Undefined);
        };
        let first_items: &[Value] = if input.is_array() && !matches!(first.kind, Kind::Var(_)) {
            input.members()
        } else {
            std::slice::from_ref(input)
        };
        let mut input_seq: Option<Value> = None;
        let mut result = Value::Undefined;
        let mut tuples: Option<Vec<Tuple>> = None;
        let mut is_tuple = false;
        let n = steps.len();
        for (i, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            let items: &[Value] = match &input_seq {
                Some(v) => v.members(),
                None => first_items,
            };
            if (i == 0 && step.consarray) || is_tuple {
                let seq_value = match &input_seq {
                    Some(v) => v.clone(),
                    None => Value::seq(first_items.to_vec()),
                };
                if i == 0 && step.consarray {
                    result = self.eval(step, &seq_value, frame)?;
                } else {
                    tuples = Some(self.eval_tuple_step(step, &seq_value, tuples.take(), frame)?);
                }
            } else {
                let last = i == n - 1;
                result = self.eval_step(step, items, frame, last, last && node.keep_array)?;
            }
            if !is_tuple && is_empty_result(&result) {
                break;
            }
            if step.focus.is_none() {
                input_seq = Some(result.clone());
            }
        }
        let tuples = tuples.unwrap_or_default();
        if is_tuple {
            if node.tuple {
                result = Value::Array(
                    Arc::new(tuples.iter().cloned().map(Value::object).collect()),
                    flags::SEQ | TUPLE,
                );
            } else {
                result = Value::seq(
                    tuples
                        .iter()
                        .map(|t| t.get("@").cloned().unwrap_or(Value::Undefined))
                        .collect(),
                );
            }
        }
        if node.keep_array {
            if let Value::Array(_, f) = &result {
                if f & flags::CONS != 0 && f & flags::SEQ == 0 {
                    result = Value::Array(Arc::new(vec![result.clone()]), flags::SEQ);
                }
            }
            result = result.with_flags(flags::KEEP);
        }
        if let Some(g) = &node.group {
            let gi = if is_tuple {
                GroupInput::Tuples(tuples)
            } else {
                GroupInput::Values(result)
            };
            result = self.group(g, gi, frame)?;
        }
        Ok(result)
    }

    fn eval_step(
        &mut self,
        step: &Node,
        items: &[Value],
        frame: usize,
        last: bool,
        keep: bool,
    ) -> Result<Value, Error> {
        if let Kind::Sort(terms) = &step.kind {
            let mut r = self.sort(terms, Value::seq(items.to_vec()), frame)?;
            for stage in &step.stages {
                if let Stage::Filter(p) = stage {
                    r = self.filter(p, r, frame)?;
                }
            }
            return Ok(r);
        }
        if items.len() == 1 {
            // fast path: one context item, no intermediate collection
            let mut res = self.eval(step, &items[0], frame)?;
            for stage in &step.stages {
                if let Stage::Filter(p) = stage {
                    res = self.filter(p, res, frame)?;
                }
            }
            return Ok(match res {
                Value::Undefined => Value::Undefined,
                Value::Array(a, f) if last && f & flags::SEQ == 0 => Value::Array(a, f),
                Value::Array(a, f) if f & flags::CONS == 0 => Value::Array(a, flags::SEQ),
                // a lone item stands for a singleton sequence unless `[]` must keep it
                other if !keep && !other.is_array() => other,
                other => Value::seq(vec![other]),
            });
        }
        let mut out = Vec::new();
        for item in items {
            let mut res = self.eval(step, item, frame)?;
            for stage in &step.stages {
                if let Stage::Filter(p) = stage {
                    res = self.filter(p, res, frame)?;
                }
            }
            if !res.is_undefined() {
                out.push(res);
            }
        }
        if last && out.len() == 1 && out[0].is_array() && !out[0].is_seq() {
            return Ok(out.pop().unwrap_or(Value::Undefined));
        }
        let mut flat = Vec::with_capacity(out.len());
        for res in out {
            match res {
                Value::Array(a, f) if f & flags::CONS == 0 => flat.extend(a.iter().cloned()),
                other => flat.push(other),
            }
        }
        Ok(Value::seq(flat))
    }

    pub fn frame_from_tuple(&mut self, frame: usize, tuple: &Tuple) -> usize {
        let f = self.new_frame(frame);
        for (k, v) in tuple.iter() {
            if &**k != "@" {
                self.frames[f].vars.push((k.clone(), v.clone()));
            }
        }
        f
    }

    fn eval_tuple_step(
        &mut self,
        step: &Node,
        input: &Value,
        tuples: Option<Vec<Tuple>>,
        frame: usize,
    ) -> Result<Vec<Tuple>, Error> {
        if let Kind::Sort(terms) = &step.kind {
            let mut result = match tuples {
                Some(t) => self.sort_tuples(terms, t, frame)?,
                None => {
                    let sorted = self.sort(terms, input.clone(), frame)?;
                    sorted
                        .members()
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let mut t = Map::new();
                            t.insert(at(), v.clone());
                            if let Some(ix) = &step.index {
                                t.insert(ix.clone(), Value::Number(i as f64));
                            }
                            t
                        })
                        .collect()
                }
            };
            result = self.tuple_stages(&step.stages, result, frame)?;
            return Ok(result);
        }
        let tuples = tuples.unwrap_or_else(|| {
            input
                .members()
                .iter()
                .map(|v| {
                    let mut t = Map::new();
                    t.insert(at(), v.clone());
                    t
                })
                .collect()
        });
        let mut result = Vec::new();
        for tuple in tuples {
            let closures = self.closures;
            let f = self.frame_from_tuple(frame, &tuple);
            let ctx = tuple.get("@").cloned().unwrap_or(Value::Undefined);
            let res = self.eval(step, &ctx, f)?;
            self.release_frames(f, closures);
            if res.is_undefined() {
                continue;
            }
            let is_stream = res.has_flag(TUPLE);
            let items: Vec<Value> = match &res {
                Value::Array(a, _) => a.to_vec(),
                other => vec![other.clone()],
            };
            for (bb, item) in items.into_iter().enumerate() {
                let mut t2 = tuple.clone();
                if is_stream {
                    if let Value::Object(m) = item {
                        for (k, v) in m.iter() {
                            t2.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    if let Some(fc) = &step.focus {
                        t2.insert(fc.clone(), item);
                    } else {
                        t2.insert(at(), item);
                    }
                    if let Some(ix) = &step.index {
                        t2.insert(ix.clone(), Value::Number(bb as f64));
                    }
                    if let Some(slot) = step.ancestor {
                        if let Some(label) = self.labels.get(slot) {
                            t2.insert(label.clone(), ctx.clone());
                        }
                    }
                }
                result.push(t2);
            }
        }
        self.tuple_stages(&step.stages, result, frame)
    }

    fn tuple_stages(
        &mut self,
        stages: &[Stage],
        mut tuples: Vec<Tuple>,
        frame: usize,
    ) -> Result<Vec<Tuple>, Error> {
        for stage in stages {
            match stage {
                Stage::Filter(p) => tuples = self.filter_tuples(p, tuples, frame)?,
                Stage::Index(name) => {
                    for (i, t) in tuples.iter_mut().enumerate() {
                        t.insert(name.clone(), Value::Number(i as f64));
                    }
                }
            }
        }
        Ok(tuples)
    }

    fn filter_tuples(
        &mut self,
        pred: &Node,
        tuples: Vec<Tuple>,
        frame: usize,
    ) -> Result<Vec<Tuple>, Error> {
        if let Kind::Num(n) = pred.kind {
            let len = tuples.len() as f64;
            let mut idx = n.floor();
            if idx < 0.0 {
                idx += len;
            }
            if idx >= 0.0 && idx < len {
                return Ok(vec![tuples[idx as usize].clone()]);
            }
            return Ok(Vec::new());
        }
        let len = tuples.len();
        let mut out = Vec::new();
        for (index, t) in tuples.into_iter().enumerate() {
            let closures = self.closures;
            let f = self.frame_from_tuple(frame, &t);
            let ctx = t.get("@").cloned().unwrap_or(Value::Undefined);
            let res = self.eval(pred, &ctx, f)?;
            self.release_frames(f, closures);
            if predicate_selects(&res, index, len) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Apply a predicate to a value (evaluateFilter).
    pub fn filter(&mut self, pred: &Node, input: Value, frame: usize) -> Result<Value, Error> {
        if input.has_flag(TUPLE) {
            let t = self.filter_tuples(pred, tuples_of(&input), frame)?;
            return Ok(Value::Array(
                Arc::new(t.into_iter().map(Value::object).collect()),
                flags::SEQ | TUPLE,
            ));
        }
        let items: Vec<Value> = match &input {
            Value::Array(a, _) => a.to_vec(),
            Value::Undefined => vec![],
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        if let Kind::Num(n) = pred.kind {
            let len = items.len() as f64;
            let mut idx = n.floor();
            if idx < 0.0 {
                idx += len;
            }
            if idx >= 0.0 && idx < len {
                let item = items[idx as usize].clone();
                if item.is_array() {
                    return Ok(item);
                }
                out.push(item);
            }
            return Ok(Value::seq(out));
        }
        let len = items.len();
        for (index, item) in items.into_iter().enumerate() {
            let res = self.eval(pred, &item, frame)?;
            if predicate_selects(&res, index, len) {
                out.push(item);
            }
        }
        Ok(Value::seq(out))
    }

    // ------------------------------------------------------------------ grouping

    /// An object constructor applied to a single (non-array) context: the
    /// grouping degenerates to one entry per key, so no grouping table is needed.
    fn object_single(
        &mut self,
        pairs: &[(Node, Node)],
        input: &Value,
        frame: usize,
    ) -> Result<Value, Error> {
        let mut keys: Vec<Option<Arc<str>>> = Vec::with_capacity(pairs.len());
        let mut seen: std::collections::HashSet<Arc<str>> = std::collections::HashSet::new();
        for (pi, (k, _)) in pairs.iter().enumerate() {
            let key = match self.eval(k, input, frame)? {
                Value::String(s) => Some(s),
                Value::Undefined => None,
                other => return Err(key_error(k.pos, &other)),
            };
            if let Some(key) = &key {
                let duplicate = if pairs.len() <= 8 {
                    keys[..pi].iter().flatten().any(|x| x == key)
                } else {
                    !seen.insert(key.clone())
                };
                if duplicate {
                    return Err(Error::at(
                        "D1009",
                        k.pos,
                        format!("Multiple key definitions evaluate to same key: {key}"),
                    )
                    .with_token(key.to_string()));
                }
            }
            keys.push(key);
        }
        let mut result = Map::with_capacity(pairs.len());
        for ((_, v), key) in pairs.iter().zip(keys) {
            let Some(key) = key else { continue };
            let value = self.eval(v, input, frame)?;
            if !value.is_undefined() {
                result.insert(key, value);
            }
        }
        Ok(Value::object(result))
    }

    fn group(&mut self, g: &Group, input: GroupInput, frame: usize) -> Result<Value, Error> {
        self.group_pairs(&g.pairs, input, frame)
    }

    fn group_pairs(
        &mut self,
        pairs: &[(Node, Node)],
        input: GroupInput,
        frame: usize,
    ) -> Result<Value, Error> {
        // entries: key -> (data, pair index)
        let mut groups: indexmap::IndexMap<Arc<str>, (GroupData, usize)> =
            indexmap::IndexMap::new();
        match input {
            GroupInput::Tuples(tuples) => {
                let tuples = if tuples.is_empty() {
                    vec![Map::new()]
                } else {
                    tuples
                };
                for t in tuples {
                    let closures = self.closures;
                    let f = self.frame_from_tuple(frame, &t);
                    let ctx = t.get("@").cloned().unwrap_or(Value::Undefined);
                    let mut keys = Vec::with_capacity(pairs.len());
                    for (k, _) in pairs.iter() {
                        keys.push(self.eval(k, &ctx, f)?);
                    }
                    self.release_frames(f, closures);
                    for (pi, ((k, _), key)) in pairs.iter().zip(keys).enumerate() {
                        let key = match key {
                            Value::String(s) => s,
                            Value::Undefined => continue,
                            other => return Err(key_error(k.pos, &other)),
                        };
                        match groups.get_mut(&key) {
                            Some((data, idx)) => {
                                if *idx != pi {
                                    return Err(Error::at(
                                        "D1009",
                                        k.pos,
                                        format!(
                                            "Multiple key definitions evaluate to same key: {key}"
                                        ),
                                    )
                                    .with_token(key.to_string()));
                                }
                                if let GroupData::Tuples(v) = data {
                                    v.push(t.clone());
                                }
                            }
                            None => {
                                groups.insert(key, (GroupData::Tuples(vec![t.clone()]), pi));
                            }
                        }
                    }
                }
            }
            GroupInput::Values(v) => {
                let items: Vec<Value> = match v {
                    Value::Array(a, _) if !a.is_empty() => a.to_vec(),
                    Value::Array(..) => vec![Value::Undefined],
                    other => vec![other],
                };
                for item in items {
                    for (pi, (k, _)) in pairs.iter().enumerate() {
                        let key = self.eval(k, &item, frame)?;
                        let key = match key {
                            Value::String(s) => s,
                            Value::Undefined => continue,
                            other => return Err(key_error(k.pos, &other)),
                        };
                        match groups.get_mut(&key) {
                            Some((data, idx)) => {
                                if *idx != pi {
                                    return Err(Error::at(
                                        "D1009",
                                        k.pos,
                                        format!(
                                            "Multiple key definitions evaluate to same key: {key}"
                                        ),
                                    )
                                    .with_token(key.to_string()));
                                }
                                if let GroupData::Value(d) = data {
                                    let old = std::mem::replace(d, Value::Undefined);
                                    *d = append(old, item.clone());
                                }
                            }
                            None => {
                                groups.insert(key, (GroupData::Value(item.clone()), pi));
                            }
                        }
                    }
                }
            }
        }
        let mut result = Map::with_capacity(groups.len());
        for (key, (data, idx)) in groups {
            let value = match data {
                GroupData::Value(ctx) => self.eval(&pairs[idx].1, &ctx, frame)?,
                GroupData::Tuples(ts) => {
                    let mut reduced = Map::new();
                    for (i, t) in ts.into_iter().enumerate() {
                        if i == 0 {
                            reduced = t;
                        } else {
                            for (k, v) in t {
                                let old = reduced.swap_remove(&k).unwrap_or(Value::Undefined);
                                reduced.insert(k, append(old, v));
                            }
                        }
                    }
                    let ctx = reduced.swap_remove("@").unwrap_or(Value::Undefined);
                    let closures = self.closures;
                    let f = self.frame_from_tuple(frame, &reduced);
                    let v = self.eval(&pairs[idx].1, &ctx, f)?;
                    self.release_frames(f, closures);
                    v
                }
            };
            if !value.is_undefined() {
                result.insert(key, value);
            }
        }
        Ok(Value::object(result))
    }

    // ------------------------------------------------------------------- sorting

    fn sort_keys(
        &mut self,
        terms: &[SortTerm],
        ctx: &Value,
        frame: usize,
    ) -> Result<Vec<Value>, Error> {
        let mut keys = Vec::with_capacity(terms.len());
        for t in terms {
            keys.push(self.eval(&t.expr, ctx, frame)?);
        }
        Ok(keys)
    }

    fn order(
        terms: &[SortTerm],
        keyed: &mut [(Vec<Value>, usize)],
        pos: usize,
    ) -> Result<(), Error> {
        for (ti, _) in terms.iter().enumerate() {
            let mut kind: Option<bool> = None; // Some(true) = numbers
            for (k, _) in keyed.iter() {
                match &k[ti] {
                    Value::Undefined => {}
                    Value::Number(_) => {
                        if kind == Some(false) {
                            return Err(Error::at("T2007", pos, "Type mismatch when comparing values in order-by clause"));
                        }
                        kind = Some(true)
                    }
                    Value::String(_) => {
                        if kind == Some(true) {
                            return Err(Error::at("T2007", pos, "Type mismatch when comparing values in order-by clause"));
                        }
                        kind = Some(false)
                    }
                    _ => return Err(Error::at("T2008", pos, "The expressions within an order-by clause must evaluate to numeric or string values")),
                }
            }
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for (ti, t) in terms.iter().enumerate() {
                let ord = match (&a[ti], &b[ti]) {
                    (Value::Undefined, Value::Undefined) => continue,
                    (Value::Undefined, _) => return std::cmp::Ordering::Greater,
                    (_, Value::Undefined) => return std::cmp::Ordering::Less,
                    (Value::Number(x), Value::Number(y)) => {
                        x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    (Value::String(x), Value::String(y)) => crate::functions::cmp_js_str(x, y),
                    _ => std::cmp::Ordering::Equal,
                };
                if ord == std::cmp::Ordering::Equal {
                    continue;
                }
                return if t.descending { ord.reverse() } else { ord };
            }
            std::cmp::Ordering::Equal
        });
        Ok(())
    }

    fn sort(&mut self, terms: &[SortTerm], input: Value, frame: usize) -> Result<Value, Error> {
        if input.has_flag(TUPLE) {
            let t = self.sort_tuples(terms, tuples_of(&input), frame)?;
            return Ok(Value::Array(
                Arc::new(t.into_iter().map(Value::object).collect()),
                flags::SEQ | TUPLE,
            ));
        }
        let items: Vec<Value> = input.into_vec();
        let mut keyed = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            keyed.push((self.sort_keys(terms, item, frame)?, i));
        }
        Self::order(
            terms,
            &mut keyed,
            terms.first().map(|t| t.expr.pos).unwrap_or(0),
        )?;
        Ok(Value::seq(
            keyed.into_iter().map(|(_, i)| items[i].clone()).collect(),
        ))
    }

    fn sort_tuples(
        &mut self,
        terms: &[SortTerm],
        tuples: Vec<Tuple>,
        frame: usize,
    ) -> Result<Vec<Tuple>, Error> {
        let mut keyed = Vec::with_capacity(tuples.len());
        for (i, t) in tuples.iter().enumerate() {
            let closures = self.closures;
            let f = self.frame_from_tuple(frame, t);
            let ctx = t.get("@").cloned().unwrap_or(Value::Undefined);
            keyed.push((self.sort_keys(terms, &ctx, f)?, i));
            self.release_frames(f, closures);
        }
        Self::order(terms, &mut keyed, 0)?;
        Ok(keyed.into_iter().map(|(_, i)| tuples[i].clone()).collect())
    }

    // ----------------------------------------------------------------- operators

    fn binary(
        &mut self,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: &Value,
        frame: usize,
        pos: usize,
    ) -> Result<Value, Error> {
        match op {
            BinOp::And => {
                let lv = self.eval(l, input, frame)?;
                if boolean(&lv) != Some(true) {
                    return Ok(Value::Bool(false));
                }
                let rv = self.eval(r, input, frame)?;
                return Ok(Value::Bool(boolean(&rv) == Some(true)));
            }
            BinOp::Or => {
                let lv = self.eval(l, input, frame)?;
                if boolean(&lv) == Some(true) {
                    return Ok(Value::Bool(true));
                }
                let rv = self.eval(r, input, frame)?;
                return Ok(Value::Bool(boolean(&rv) == Some(true)));
            }
            BinOp::Coalesce => {
                let lv = self.eval(l, input, frame)?;
                return if lv.is_undefined() {
                    self.eval(r, input, frame)
                } else {
                    Ok(lv)
                };
            }
            BinOp::Elvis => {
                let lv = self.eval(l, input, frame)?;
                return if boolean(&lv) == Some(true) {
                    Ok(lv)
                } else {
                    self.eval(r, input, frame)
                };
            }
            _ => {}
        }
        let lv = self.eval(l, input, frame)?;
        let rv = self.eval(r, input, frame)?;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let ln =
                    match &lv {
                        Value::Undefined => None,
                        Value::Number(n) => Some(*n),
                        _ => return Err(Error::at(
                            "T2001",
                            pos,
                            "The left side of the arithmetic operator must evaluate to a number",
                        )
                        .with_token(op_token(op))),
                    };
                let rn =
                    match &rv {
                        Value::Undefined => None,
                        Value::Number(n) => Some(*n),
                        _ => return Err(Error::at(
                            "T2002",
                            pos,
                            "The right side of the arithmetic operator must evaluate to a number",
                        )
                        .with_token(op_token(op))),
                    };
                if ln.is_some_and(|x| !x.is_finite()) || rn.is_some_and(|x| !x.is_finite()) {
                    return Err(Error::at("D1001", pos, "Number out of range"));
                }
                let (Some(a), Some(b)) = (ln, rn) else {
                    return Ok(Value::Undefined);
                };
                let v = match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    _ => a % b,
                };
                Ok(Value::Number(v))
            }
            BinOp::Eq | BinOp::Ne => {
                if lv.is_undefined() || rv.is_undefined() {
                    return Ok(Value::Bool(false));
                }
                let eq = deep_equal(&lv, &rv);
                Ok(Value::Bool(if op == BinOp::Eq { eq } else { !eq }))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable =
                    |v: &Value| matches!(v, Value::Undefined | Value::Number(_) | Value::String(_));
                if !comparable(&lv) || !comparable(&rv) {
                    return Err(Error::at("T2010", pos, "The expressions either side of operator must evaluate to numeric or string values")
                        .with_token(op_token(op)));
                }
                if lv.is_undefined() || rv.is_undefined() {
                    return Ok(Value::Undefined);
                }
                let ord =
                    match (&lv, &rv) {
                        (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
                        (Value::String(a), Value::String(b)) => {
                            Some(crate::functions::cmp_js_str(a, b))
                        }
                        _ => return Err(Error::at(
                            "T2009",
                            pos,
                            "The values either side of the operator must be of the same data type",
                        )
                        .with_token(op_token(op))),
                    };
                let Some(ord) = ord else {
                    return Ok(Value::Bool(false));
                };
                use std::cmp::Ordering::*;
                Ok(Value::Bool(match op {
                    BinOp::Lt => ord == Less,
                    BinOp::Le => ord != Greater,
                    BinOp::Gt => ord == Greater,
                    _ => ord != Less,
                }))
            }
            BinOp::Concat => {
                let a = crate::functions::to_string_opt(&lv)?.unwrap_or_default();
                let b = crate::functions::to_string_opt(&rv)?.unwrap_or_default();
                check_string_size(a.len() + b.len(), pos)?;
                Ok(Value::string(a + &b))
            }
            BinOp::In => {
                if lv.is_undefined() || rv.is_undefined() {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(rv.members().iter().any(|x| deep_equal(x, &lv))))
            }
            BinOp::Range => {
                let lnum =
                    match &lv {
                        Value::Undefined => None,
                        Value::Number(n) if n.fract() == 0.0 => Some(*n),
                        _ => return Err(Error::at(
                            "T2003",
                            pos,
                            "The left side of the range operator (..) must evaluate to an integer",
                        )),
                    };
                let rnum =
                    match &rv {
                        Value::Undefined => None,
                        Value::Number(n) if n.fract() == 0.0 => Some(*n),
                        _ => return Err(Error::at(
                            "T2004",
                            pos,
                            "The right side of the range operator (..) must evaluate to an integer",
                        )),
                    };
                let (Some(a), Some(b)) = (lnum, rnum) else {
                    return Ok(Value::Undefined);
                };
                if a > b {
                    return Ok(Value::Undefined);
                }
                let size = b - a + 1.0;
                if size > 1e7 {
                    return Err(Error::at("D2014", pos, "The size of the sequence allocated by the range operator (..) must not exceed 1e7"));
                }
                let mut out = Vec::with_capacity(size as usize);
                let mut x = a;
                while x <= b {
                    out.push(Value::Number(x));
                    x += 1.0;
                }
                Ok(Value::array(out))
            }
            _ => Ok(Value::Undefined),
        }
    }

    // ------------------------------------------------------------------ functions

    fn call(
        &mut self,
        pos: usize,
        proc: &Node,
        args: &[Node],
        input: &Value,
        frame: usize,
        first: Option<Value>,
    ) -> Result<Value, Error> {
        let f = self.eval(proc, input, frame)?;
        if f.is_undefined() {
            if let Kind::Var(v) = &proc.kind {
                if self.env.dialect_sfn && &**v == "eval" {
                    return Err(Error::at(
                        "T1006",
                        pos,
                        "The $eval function is not available in AWS Step Functions",
                    )
                    .with_token("$eval"));
                }
            }
            if let Kind::Path(steps) = &proc.kind {
                if let Some(Kind::Name(n)) = steps.first().map(|s| &s.kind) {
                    if self.lookup_var(frame, n).is_some() {
                        return Err(Error::at(
                            "T1005",
                            pos,
                            format!("Attempted to invoke a non-function. Did you mean ${n}?"),
                        )
                        .with_token(n.to_string()));
                    }
                }
            }
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        if let Some(x) = first {
            vals.push(x);
        }
        for a in args {
            vals.push(self.eval(a, input, frame)?);
        }
        if !f.is_func() {
            return Err(
                Error::at("T1006", pos, "Attempted to invoke a non-function")
                    .with_token(node_token(proc)),
            );
        }
        let saved = std::mem::replace(&mut self.caller_frame, frame);
        let r = self.apply(&f, vals, input, pos);
        self.caller_frame = saved;
        r
    }

    fn partial(
        &mut self,
        pos: usize,
        proc: &Node,
        args: &[Node],
        input: &Value,
        frame: usize,
    ) -> Result<Value, Error> {
        let f = self.eval(proc, input, frame)?;
        if !f.is_func() {
            if let Kind::Path(steps) = &proc.kind {
                if let Some(Kind::Name(n)) = steps.first().map(|s| &s.kind) {
                    if self.lookup_var(frame, n).is_some() {
                        return Err(Error::at(
                            "T1007",
                            pos,
                            format!(
                                "Attempted to partially apply a non-function. Did you mean ${n}?"
                            ),
                        )
                        .with_token(n.to_string()));
                    }
                }
            }
            return Err(
                Error::at("T1008", pos, "Attempted to partially apply a non-function")
                    .with_token(node_token(proc)),
            );
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            if matches!(a.kind, Kind::Placeholder) {
                vals.push(None);
            } else {
                vals.push(Some(self.eval(a, input, frame)?));
            }
        }
        Ok(Value::Func(Arc::new(Func::Partial {
            func: f,
            args: vals,
        })))
    }

    /// Invoke a function value, resolving tail calls iteratively.
    pub fn apply(
        &mut self,
        f: &Value,
        args: Vec<Value>,
        input: &Value,
        pos: usize,
    ) -> Result<Value, Error> {
        // depth is counted by `eval` only, as the reference implementation does
        stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || {
            self.apply_loop(f, args, input, pos)
        })
    }

    fn apply_loop(
        &mut self,
        f: &Value,
        args: Vec<Value>,
        input: &Value,
        pos: usize,
    ) -> Result<Value, Error> {
        let mut mark = self.frames.len();
        let mut closures = self.closures;
        let mut result = self.apply_inner(f, args, input, pos)?;
        loop {
            let next = match &result {
                Value::Func(func) => match &**func {
                    Func::Lambda { def, frame, input } if def.thunk => {
                        Some((def.clone(), *frame, input.clone()))
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some((def, lf, li)) = next else { break };
            let Kind::Call { proc, args, .. } = &def.body.kind else {
                break;
            };
            self.check_time(pos)?;
            let func = self.eval(proc, &li, lf)?;
            if !func.is_func() {
                return Err(
                    Error::at("T1006", def.body.pos, "Attempted to invoke a non-function")
                        .with_token(node_token(proc)),
                );
            }
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(self.eval(a, &li, lf)?);
            }
            // the thunk was the only closure made by the call that produced it:
            // once its arguments are evaluated, that call's frames are garbage
            if self.reclaim && lf >= mark && self.closures == closures + 1 {
                drop(std::mem::replace(&mut result, Value::Undefined));
                self.closures = closures;
                self.release_frames(mark, closures);
            }
            mark = self.frames.len();
            closures = self.closures;
            result = self.apply_inner(&func, vals, &li, def.body.pos)?;
        }
        Ok(result)
    }

    fn apply_inner(
        &mut self,
        f: &Value,
        args: Vec<Value>,
        input: &Value,
        pos: usize,
    ) -> Result<Value, Error> {
        let Value::Func(func) = f else {
            return Err(Error::at(
                "T1006",
                pos,
                "Attempted to invoke a non-function",
            ));
        };
        match &**func {
            Func::Lambda {
                def,
                frame,
                input: captured,
            } => {
                let args = match &def.signature {
                    Some(sig) => sig
                        .validate(args, input, "lambda")
                        .map_err(|e| e.or_pos(pos))?,
                    None => args,
                };
                let closures = self.closures;
                let nf = self.new_frame(*frame);
                let mut args = args.into_iter();
                for p in &def.params {
                    let v = args.next().unwrap_or(Value::Undefined);
                    self.frames[nf].vars.push((p.clone(), v));
                }
                let result = self.eval(&def.body, captured, nf);
                self.release_frames(nf, closures);
                result
            }
            Func::Builtin(name) => self.call_builtin(name, args, input, pos),
            Func::Partial { func, args: pargs } => {
                let mut supplied = args.into_iter();
                let full: Vec<Value> = pargs
                    .iter()
                    .map(|a| match a {
                        Some(v) => v.clone(),
                        None => supplied.next().unwrap_or(Value::Undefined),
                    })
                    .collect();
                self.apply(func, full, input, pos)
            }
            Func::Chain(a, b) => {
                let mid = self.apply(a, args, input, pos)?;
                self.apply(b, vec![mid], input, pos)
            }
            Func::Regex(re) => {
                let arg = args.into_iter().next().unwrap_or(Value::Undefined);
                match arg {
                    Value::String(s) => crate::functions::regex_match_object(re, &s, 0),
                    Value::Undefined => Ok(Value::Undefined),
                    _ => Err(Error::at(
                        "T0410",
                        pos,
                        "Argument 1 of regex must be a string",
                    )),
                }
            }
            Func::MatchNext { re, text, from } => {
                crate::functions::regex_match_object(re, text, *from)
            }
            Func::Transform { def, frame } => {
                let arg = args.into_iter().next().unwrap_or(Value::Undefined);
                crate::transform::apply_transform(self, def, *frame, arg, pos)
            }
        }
    }
}

/// Longest string (bytes) an expression may build.
pub const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;
/// Largest array an expression may build by concatenation.
pub const MAX_ARRAY_ITEMS: usize = 10_000_000;

/// Guard against runaway string growth (e.g. repeated doubling).
pub fn check_string_size(len: usize, pos: usize) -> Result<(), Error> {
    if len > MAX_STRING_BYTES {
        return Err(Error::at(
            "U1002",
            pos,
            "The string built by the expression is too large",
        ));
    }
    Ok(())
}

/// Guard against runaway array growth.
pub fn check_array_size(len: usize, pos: usize) -> Result<(), Error> {
    if len > MAX_ARRAY_ITEMS {
        return Err(Error::at(
            "U1002",
            pos,
            "The array built by the expression is too large",
        ));
    }
    Ok(())
}

/// What `eval` does with a result sequence.
enum Collapse {
    Undefined,
    First,
    MarkKeep,
    Keep,
}

fn op_token(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        _ => "",
    }
}

fn node_token(n: &Node) -> String {
    match &n.kind {
        Kind::Var(v) => format!("${v}"),
        Kind::Name(v) => v.to_string(),
        Kind::Path(steps) => steps.first().map(node_token).unwrap_or_default(),
        _ => String::new(),
    }
}

fn key_error(pos: usize, v: &Value) -> Error {
    let s = crate::functions::to_string_opt(v)
        .ok()
        .flatten()
        .unwrap_or_default();
    Error::at(
        "T1003",
        pos,
        format!("Key in object structure must evaluate to a string; got: {s}"),
    )
    .with_token(s)
}

fn predicate_selects(res: &Value, index: usize, len: usize) -> bool {
    let check = |n: f64| {
        let mut i = n.floor();
        if i < 0.0 {
            i += len as f64;
        }
        i == index as f64
    };
    match res {
        Value::Number(n) => check(*n),
        Value::Array(a, _) if !a.is_empty() && a.iter().all(|x| matches!(x, Value::Number(_))) => {
            a.iter().any(|x| check(x.as_f64().unwrap_or(f64::NAN)))
        }
        other => boolean(other) == Some(true),
    }
}

/// Extract tuples from a tuple-stream value.
pub fn tuples_of(v: &Value) -> Vec<Tuple> {
    v.members()
        .iter()
        .map(|x| match x {
            Value::Object(m) => (**m).clone(),
            _ => Map::new(),
        })
        .collect()
}

/// Input to a grouping: plain values or a tuple stream.
pub enum GroupInput {
    Values(Value),
    Tuples(Vec<Tuple>),
}

enum GroupData {
    Value(Value),
    Tuples(Vec<Tuple>),
}
