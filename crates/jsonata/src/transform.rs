//! The transform operator `| pattern | update, delete |`: copies the input,
//! merges `update` into every object matched by `pattern` and removes the
//! `delete` fields. Matched objects are identified by reference.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::TransformDef;
use crate::error::Error;
use crate::eval::Evaluator;
use crate::value::{Map, Value};

fn ptr(m: &Arc<Map>) -> usize {
    Arc::as_ptr(m) as usize
}

/// Apply a transform function to its argument.
pub fn apply_transform(
    ev: &mut Evaluator,
    def: &TransformDef,
    frame: usize,
    arg: Value,
    pos: usize,
) -> Result<Value, Error> {
    if arg.is_undefined() {
        return Ok(Value::Undefined);
    }
    if !matches!(arg, Value::Object(_) | Value::Array(..)) {
        return Err(Error::at(
            "T0410",
            pos,
            "Argument 1 of transform must be an object or array",
        ));
    }
    let matches = ev.eval(&def.pattern, &arg, frame)?;
    let mut replacements: HashMap<usize, Option<Map>> = HashMap::new();
    let mut order: Vec<(usize, Arc<Map>)> = Vec::new();
    for m in matches.members() {
        if let Value::Object(o) = m {
            if let std::collections::hash_map::Entry::Vacant(e) = replacements.entry(ptr(o)) {
                e.insert(None);
                order.push((ptr(o), o.clone()));
            }
        }
    }
    for (p, obj) in order {
        let current = Value::Object(obj.clone());
        let update = ev.eval(&def.update, &current, frame)?;
        let mut new_map: Map = (*obj).clone();
        match &update {
            Value::Undefined => {}
            Value::Object(u) => {
                for (k, v) in u.iter() {
                    new_map.insert(k.clone(), v.clone());
                }
            }
            _ => return Err(Error::at(
                "T2011",
                def.update.pos,
                "The insert/update clause of the transform expression must evaluate to an object",
            )),
        }
        if let Some(del) = &def.delete {
            let d = ev.eval(del, &current, frame)?;
            match &d {
                Value::Undefined => {}
                Value::String(s) => {
                    new_map.shift_remove(&**s);
                }
                Value::Array(a, _) => {
                    for k in a.iter() {
                        match k {
                            Value::String(s) => {
                                new_map.shift_remove(&**s);
                            }
                            _ => {
                                return Err(Error::at("T2012", del.pos, "The delete clause of the transform expression must evaluate to a string or array of strings"))
                            }
                        }
                    }
                }
                _ => {
                    return Err(Error::at("T2012", del.pos, "The delete clause of the transform expression must evaluate to a string or array of strings"))
                }
            }
        }
        replacements.insert(p, Some(new_map));
    }
    Ok(rebuild(&arg, &replacements, 0))
}

fn rebuild(v: &Value, reps: &HashMap<usize, Option<Map>>, depth: usize) -> Value {
    stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
        rebuild_inner(v, reps, depth)
    })
}

fn rebuild_inner(v: &Value, reps: &HashMap<usize, Option<Map>>, depth: usize) -> Value {
    if depth > 1000 {
        return v.clone();
    }
    match v {
        Value::Object(o) => {
            let base: Map = match reps.get(&ptr(o)) {
                Some(Some(m)) => m.clone(),
                _ => (**o).clone(),
            };
            let mut out = Map::with_capacity(base.len());
            for (k, x) in base.iter() {
                out.insert(k.clone(), rebuild(x, reps, depth + 1));
            }
            Value::object(out)
        }
        Value::Array(a, f) => Value::Array(
            Arc::new(a.iter().map(|x| rebuild(x, reps, depth + 1)).collect()),
            *f,
        ),
        other => other.clone(),
    }
}
