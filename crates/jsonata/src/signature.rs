//! Function signatures (`<s-nn?:s>`): parsing and argument validation with
//! JSONata's coercions (context arguments, singleton-to-array wrapping).

use crate::error::Error;
use crate::value::Value;

#[derive(Debug, Clone)]
struct Param {
    types: Vec<char>,
    optional: bool,
    variadic: bool,
    context: bool,
    sub: Option<Vec<char>>,
}

/// A parsed signature.
#[derive(Debug, Clone)]
pub struct Signature {
    params: Vec<Param>,
}

fn symbol(v: &Value) -> char {
    match v {
        Value::Undefined => 'm',
        Value::Null => 'l',
        Value::Bool(_) => 'b',
        Value::Number(_) => 'n',
        Value::String(_) => 's',
        Value::Array(..) => 'a',
        Value::Object(_) => 'o',
        Value::Func(_) => 'f',
    }
}

fn accepts(types: &[char], sym: char) -> bool {
    if sym == 'm' {
        return true;
    }
    types.iter().any(|&t| match t {
        'x' => true,
        'j' => sym != 'f',
        'a' => true,
        'u' => matches!(sym, 'b' | 'n' | 's' | 'l'),
        t => t == sym,
    })
}

enum Slot {
    Arg,
    Context,
    Missing,
    Many(usize, usize),
}

impl Signature {
    /// Parse a signature such as `<s-nn?:s>`.
    pub fn parse(text: &str) -> Result<Signature, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 1; // skip '<'
        let mut params: Vec<Param> = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            match c {
                ':' | '>' => break,
                'b' | 'n' | 's' | 'l' | 'a' | 'o' | 'f' | 'j' | 'x' | 'u' => {
                    params.push(Param {
                        types: vec![c],
                        optional: false,
                        variadic: false,
                        context: false,
                        sub: None,
                    });
                    i += 1;
                }
                '(' => {
                    let mut types = Vec::new();
                    i += 1;
                    while i < chars.len() && chars[i] != ')' {
                        if chars[i] == '<' {
                            return Err(Error::new(
                                "S0402",
                                "Choice groups containing parameterized types are not supported",
                            ));
                        }
                        types.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                    params.push(Param {
                        types,
                        optional: false,
                        variadic: false,
                        context: false,
                        sub: None,
                    });
                }
                '<' => {
                    // subtype of the previous a or f
                    let mut depth = 0;
                    let start = i;
                    while i < chars.len() {
                        if chars[i] == '<' {
                            depth += 1;
                        } else if chars[i] == '>' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        i += 1;
                    }
                    let inner: Vec<char> = chars[start + 1..i.min(chars.len())].to_vec();
                    i += 1;
                    let Some(last) = params.last_mut() else {
                        return Err(Error::new(
                            "S0401",
                            "Type parameters can only be applied to functions and arrays",
                        ));
                    };
                    if last.types == ['a'] {
                        let mut sub = Vec::new();
                        for ch in inner {
                            if ch != '(' && ch != ')' {
                                sub.push(ch);
                            }
                        }
                        last.sub = Some(sub);
                    } else if last.types != ['f'] {
                        return Err(Error::new(
                            "S0401",
                            "Type parameters can only be applied to functions and arrays",
                        ));
                    }
                }
                '?' | '+' | '-' => {
                    let Some(last) = params.last_mut() else {
                        return Err(Error::new("S0402", "Modifier without a type in signature"));
                    };
                    match c {
                        '?' => last.optional = true,
                        '+' => last.variadic = true,
                        _ => last.context = true,
                    }
                    i += 1;
                }
                _ => {
                    return Err(Error::new(
                        "S0402",
                        format!("Unknown type in signature: {c}"),
                    ))
                }
            }
        }
        Ok(Signature { params })
    }

    fn match_from(&self, pi: usize, ai: usize, syms: &[char], out: &mut Vec<Slot>) -> bool {
        if pi == self.params.len() {
            return ai == syms.len();
        }
        let p = &self.params[pi];
        if p.variadic {
            let mut max = 0;
            while ai + max < syms.len() && accepts(&p.types, syms[ai + max]) {
                max += 1;
            }
            let min = if p.optional { 0 } else { 1 };
            let mut k = max;
            loop {
                if k < min {
                    return false;
                }
                out.push(Slot::Many(ai, ai + k));
                if self.match_from(pi + 1, ai + k, syms, out) {
                    return true;
                }
                out.pop();
                if k == 0 {
                    return false;
                }
                k -= 1;
            }
        }
        if ai < syms.len() && accepts(&p.types, syms[ai]) {
            out.push(Slot::Arg);
            if self.match_from(pi + 1, ai + 1, syms, out) {
                return true;
            }
            out.pop();
        }
        if p.context || p.optional {
            out.push(if p.context {
                Slot::Context
            } else {
                Slot::Missing
            });
            if self.match_from(pi + 1, ai, syms, out) {
                return true;
            }
            out.pop();
        }
        false
    }

    /// Validate arguments and apply coercions. `name` is used in messages.
    pub fn validate(
        &self,
        args: Vec<Value>,
        context: &Value,
        name: &str,
    ) -> Result<Vec<Value>, Error> {
        let syms: Vec<char> = args.iter().map(symbol).collect();
        let mut slots = Vec::new();
        if !self.match_from(0, 0, &syms, &mut slots) {
            // find the first argument that breaks the match
            let mut bad = syms.len();
            for k in 0..syms.len() {
                let prefix = &syms[..=k];
                if !self.prefix_ok(0, 0, prefix) {
                    bad = k;
                    break;
                }
            }
            return Err(Error::new(
                "T0410",
                format!(
                    "Argument {} of function {name} does not match function signature",
                    bad + 1
                ),
            )
            .with_token(name));
        }
        let mut out = Vec::with_capacity(slots.len());
        let mut next = 0usize;
        let get = |i: usize| args.get(i).cloned().unwrap_or(Value::Undefined);
        for (pi, slot) in slots.into_iter().enumerate() {
            let p = &self.params[pi];
            match slot {
                Slot::Arg => {
                    out.push(self.coerce(p, get(next), next, name)?);
                    next += 1;
                }
                Slot::Context => {
                    let context = match context {
                        Value::Array(a, f) if f & crate::value::flags::OUTER != 0 => {
                            a.first().cloned().unwrap_or(Value::Undefined)
                        }
                        other => other.clone(),
                    };
                    let sym = symbol(&context);
                    if !accepts(&p.types, sym) {
                        return Err(Error::new(
                            "T0411",
                            format!(
                                "Context value is not a compatible type with argument {} of function {name}",
                                pi + 1
                            ),
                        )
                        .with_token(name));
                    }
                    out.push(self.coerce(p, context, pi, name)?);
                }
                Slot::Missing => {
                    // JSONata passes the argument at this position through
                    out.push(get(next));
                    next += 1;
                }
                Slot::Many(a, b) => {
                    for _ in a..b {
                        out.push(self.coerce(p, get(next), next, name)?);
                        next += 1;
                    }
                }
            }
        }
        Ok(out)
    }

    fn prefix_ok(&self, pi: usize, ai: usize, syms: &[char]) -> bool {
        if ai == syms.len() {
            return true;
        }
        if pi == self.params.len() {
            return false;
        }
        let p = &self.params[pi];
        if accepts(&p.types, syms[ai]) {
            if p.variadic && self.prefix_ok(pi, ai + 1, syms) {
                return true;
            }
            if self.prefix_ok(pi + 1, ai + 1, syms) {
                return true;
            }
        }
        if p.optional || p.context || p.variadic {
            return self.prefix_ok(pi + 1, ai, syms);
        }
        false
    }

    fn coerce(&self, p: &Param, v: Value, index: usize, name: &str) -> Result<Value, Error> {
        if p.types == ['a'] {
            let v = match v {
                Value::Undefined => return Ok(Value::Undefined),
                Value::Array(..) => v,
                other => Value::array(vec![other]),
            };
            if let Some(sub) = &p.sub {
                for item in v.members() {
                    if !accepts(sub, symbol(item)) || matches!(item, Value::Undefined) {
                        return Err(Error::new(
                            "T0412",
                            format!(
                                "Argument {} of function {name} must be an array of {}",
                                index + 1,
                                sub.iter().collect::<String>()
                            ),
                        )
                        .with_token(name));
                    }
                }
            }
            return Ok(v);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_and_optional_arguments() {
        let sig = Signature::parse("<s-nn?:s>").unwrap();
        let ctx = Value::str("ctx");
        let out = sig
            .validate(vec![Value::Number(1.0)], &ctx, "substring")
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_str(), Some("ctx"));
        assert_eq!(
            sig.validate(vec![Value::Bool(true)], &ctx, "substring")
                .unwrap_err()
                .code,
            "T0410"
        );
    }

    #[test]
    fn arrays_wrap_and_check_members() {
        let sig = Signature::parse("<a<n>:n>").unwrap();
        let out = sig
            .validate(vec![Value::Number(2.0)], &Value::Undefined, "sum")
            .unwrap();
        assert!(out[0].is_array());
        let bad = Value::array(vec![Value::str("x")]);
        assert_eq!(
            sig.validate(vec![bad], &Value::Undefined, "sum")
                .unwrap_err()
                .code,
            "T0412"
        );
    }
}
