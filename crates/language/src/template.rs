//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`, and the
//! JSONPath form of `Assign`): JSON in which a key ending in `.$` takes its
//! value from a path or an intrinsic function call.
//!
//! A template is compiled once: every `.$` value is parsed (and every bad
//! one reported with its JSON Pointer), and subtrees without `.$` keys are
//! kept as ready-made values. Evaluation then only selects, calls and
//! clones; it never parses text. Key order is kept as written.

use serde_json::{Map, Value};

use crate::intrinsic::{Call, IntrinsicError};
use crate::path::{self, Path, PathError, Selection};
use crate::{Failure, Scope};

/// The value of a `.$` field: a path or an intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Path(Path),
    Intrinsic(Call),
}

/// Why a `.$` value is not a valid path or intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Intrinsic(#[from] IntrinsicError),
    /// A key ending in `.$` whose value is not a string.
    #[error("the value of a field whose name ends in '.$' must be a string holding a path or an intrinsic function call")]
    NotAString,
}

impl Expr {
    pub fn parse(s: &str) -> Result<Expr, ExprError> {
        if s.trim_start().starts_with("States.") {
            Ok(Expr::Intrinsic(Call::parse(s)?))
        } else {
            Ok(Expr::Path(Path::parse(s)?))
        }
    }

    /// The text as written in the definition.
    pub fn as_str(&self) -> &str {
        match self {
            Expr::Path(p) => p.as_str(),
            Expr::Intrinsic(c) => c.as_str(),
        }
    }

    /// Every variable the expression reads.
    pub fn references_variables(&self) -> Vec<String> {
        match self {
            Expr::Path(p) => p.references_variables(),
            Expr::Intrinsic(c) => c.references_variables(),
        }
    }

    /// Evaluates the expression; a path that selects nothing fails with
    /// `States.Runtime` (see [`Expr::evaluate_field`]).
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        self.evaluate_field(scope, self.as_str())
    }

    /// Evaluates the expression for the field `field` (`x.$`, `ErrorPath`,
    /// `CausePath` …), which AWS names in the cause when a path selects
    /// nothing: `The JSONPath '$.x' specified for the field 'x.$' could not
    /// be found in the input '…'` (`States.Runtime`).
    pub fn evaluate_field(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Expr::Path(p) => match p.resolve(scope) {
                Selection::Missing => Err(path::field_path_failure(p.as_str(), field, scope.input)),
                selection => Ok(selection.into_value().unwrap_or(Value::Null)),
            },
            Expr::Intrinsic(c) => c.evaluate_field(scope, field),
        }
    }
}

/// A problem in a template, with the JSON Pointer (relative to the template) where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub pointer: String,
    pub error: ExprError,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at {})", self.error, self.pointer)
    }
}

/// A compiled node of a template.
#[derive(Debug, Clone)]
enum Node {
    /// A subtree without `.$` keys: cloned as it is.
    Literal(Value),
    /// An object with at least one `.$` key below it; keys in written order,
    /// `.$` keys already renamed.
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    /// A `.$` value; `field` is the key as written (`x.$`) for error texts.
    Expr {
        expr: Expr,
        field: String,
    },
}

/// A compiled payload template.
#[derive(Debug, Clone)]
pub struct Template {
    raw: Value,
    root: Node,
}

impl Template {
    /// Compiles a template, reporting every bad `.$` value.
    pub fn compile(v: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut pointer = String::new();
        let root = compile_node(v, &mut pointer, &mut errors);
        if errors.is_empty() {
            Ok(Template {
                raw: v.clone(),
                root,
            })
        } else {
            Err(errors)
        }
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Whether the template has no `.$` field at all (its value is
    /// [`Template::raw`], whatever the scope).
    pub fn is_static(&self) -> bool {
        matches!(self.root, Node::Literal(_))
    }

    /// Every `.$` expression with the JSON Pointer of its key, in document
    /// order (for the validator: variables used, intrinsic misuse).
    pub fn expressions(&self) -> Vec<(String, &Expr)> {
        let mut out = Vec::new();
        let mut pointer = String::new();
        collect_exprs(&self.root, &mut pointer, &mut out);
        out
    }

    /// Evaluates against a scope. A path that matches nothing fails with
    /// `States.Runtime` and AWS's cause text (AWS does not raise the
    /// `States.ParameterPathFailure` the specification names).
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        evaluate_node(&self.root, scope)
    }
}

fn compile_node(v: &Value, pointer: &mut String, errors: &mut Vec<TemplateError>) -> Node {
    match v {
        Value::Object(o) => {
            let mut fields = Vec::with_capacity(o.len());
            let mut dynamic = false;
            for (k, child) in o {
                let len = pointer.len();
                pointer.push('/');
                push_escaped(pointer, k);
                if let Some(name) = k.strip_suffix(".$") {
                    dynamic = true;
                    let parsed = match child {
                        Value::String(s) => Expr::parse(s),
                        _ => Err(ExprError::NotAString),
                    };
                    match parsed {
                        Ok(expr) => fields.push((
                            name.to_string(),
                            Node::Expr {
                                expr,
                                field: k.clone(),
                            },
                        )),
                        Err(error) => errors.push(TemplateError {
                            pointer: pointer.clone(),
                            error,
                        }),
                    }
                } else {
                    let node = compile_node(child, pointer, errors);
                    dynamic |= !matches!(node, Node::Literal(_));
                    fields.push((k.clone(), node));
                }
                pointer.truncate(len);
            }
            if dynamic {
                Node::Object(fields)
            } else {
                Node::Literal(v.clone())
            }
        }
        Value::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            let mut dynamic = false;
            for (i, child) in a.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                let node = compile_node(child, pointer, errors);
                dynamic |= !matches!(node, Node::Literal(_));
                items.push(node);
                pointer.truncate(len);
            }
            if dynamic {
                Node::Array(items)
            } else {
                Node::Literal(v.clone())
            }
        }
        other => Node::Literal(other.clone()),
    }
}

/// RFC 6901 escaping of one reference token.
fn push_escaped(pointer: &mut String, token: &str) {
    for ch in token.chars() {
        match ch {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn collect_exprs<'t>(node: &'t Node, pointer: &mut String, out: &mut Vec<(String, &'t Expr)>) {
    match node {
        Node::Literal(_) => {}
        Node::Expr { expr, .. } => out.push((pointer.clone(), expr)),
        Node::Object(fields) => {
            for (k, child) in fields {
                let len = pointer.len();
                pointer.push('/');
                match child {
                    Node::Expr { field, .. } => push_escaped(pointer, field),
                    _ => push_escaped(pointer, k),
                }
                collect_exprs(child, pointer, out);
                pointer.truncate(len);
            }
        }
        Node::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                collect_exprs(child, pointer, out);
                pointer.truncate(len);
            }
        }
    }
}

fn evaluate_node(node: &Node, scope: &Scope<'_>) -> Result<Value, Failure> {
    Ok(match node {
        Node::Literal(v) => v.clone(),
        Node::Expr { expr, field } => expr.evaluate_field(scope, field)?,
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (k, child) in fields {
                out.insert(k.clone(), evaluate_node(child, scope)?);
            }
            Value::Object(out)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|n| evaluate_node(n, scope))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scope::{Host, Variables};

    struct NoHost;
    impl Host for NoHost {
        fn random(&self) -> f64 {
            0.0
        }
        fn uuid(&self) -> String {
            String::new()
        }
    }

    fn run(template: Value, input: Value) -> Result<Value, Failure> {
        let ctx =
            json!({"Execution": {"Id": "arn:x"}, "Map": {"Item": {"Value": "v0", "Index": 0}}});
        let mut vars = Variables::new();
        vars.insert("x".into(), json!(42));
        let scope = Scope {
            input: &input,
            context: &ctx,
            variables: &vars,
            host: &NoHost,
        };
        Template::compile(&template)
            .unwrap_or_else(|e| panic!("{template}: {e:?}"))
            .evaluate(&scope)
    }

    #[test]
    fn evaluates_templates() {
        let input = json!({"a": 1, "b": {"c": [1, 2, 3]}, "s": "str"});
        let cases = [
            (json!({"k": "literal"}), json!({"k": "literal"})),
            (json!({"k.$": "$.a"}), json!({"k": 1})),
            (json!({"k.$": "$"}), json!({"k": input.clone()})),
            (
                json!({"z": 0, "k.$": "$.b.c[1]", "m": {"n.$": "$$.Execution.Id", "o": [1, {"p.$": "$x"}]}}),
                json!({"z": 0, "k": 2, "m": {"n": "arn:x", "o": [1, {"p": 42}]}}),
            ),
            (json!({"all.$": "$.b.c[*]"}), json!({"all": [1, 2, 3]})),
            (json!({"none.$": "$.b.c[?(@ > 5)]"}), json!({"none": []})),
            (
                json!({"f.$": "States.Format('{}-{}', $.s, $$.Map.Item.Index)"}),
                json!({"f": "str-0"}),
            ),
            (json!({"f.$": " States.Array($.a)"}), json!({"f": [1]})),
            (
                json!({"v.$": "$.b.c", "w": null}),
                json!({"v": [1, 2, 3], "w": null}),
            ),
            (json!([{"a.$": "$.a"}, 2]), json!([{"a": 1}, 2])),
            (json!("plain"), json!("plain")),
        ];
        for (template, want) in cases {
            assert_eq!(run(template.clone(), input.clone()), Ok(want), "{template}");
        }
    }

    #[test]
    fn keeps_key_order() {
        let out =
            run(json!({"z.$": "$.a", "a": 1, "m.$": "$.a"}), json!({"a": 0})).expect("evaluates");
        assert_eq!(
            serde_json::to_string(&out).ok().as_deref(),
            Some(r#"{"z":0,"a":1,"m":0}"#)
        );
    }

    #[test]
    fn missing_path_has_aws_cause() {
        let f = run(
            json!({"value.$": "$.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .expect_err("fails");
        assert_eq!(f.error, "States.Runtime");
        assert_eq!(
            f.cause,
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
        );
        let f = run(
            json!({"o": {"value.$": "$$.Execution.Input.no_such_jsonpath"}}),
            json!({"int-literal": 0}),
        )
        .expect_err("fails");
        assert_eq!(
            f.cause,
            "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
        );
    }

    #[test]
    fn reports_every_bad_expression_with_its_pointer() {
        let errors = Template::compile(&json!({
            "ok.$": "$.a",
            "bad.$": "a.b",
            "n": {"a/b.$": "States.Nope()", "list": [{"x~.$": 5}]}
        }))
        .expect_err("fails");
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/bad.$", "/n/a~1b.$", "/n/list/0/x~0.$"]);
        assert!(matches!(errors[0].error, ExprError::Path(_)));
        assert!(matches!(errors[1].error, ExprError::Intrinsic(_)));
        assert_eq!(errors[2].error, ExprError::NotAString);
    }

    #[test]
    fn lists_expressions() {
        let t = Template::compile(&json!({"a": {"b.$": "$v"}, "c": [{"d.$": "States.Array($w)"}]}))
            .expect("compiles");
        let listed: Vec<(String, String)> = t
            .expressions()
            .into_iter()
            .map(|(p, e)| (p, e.as_str().to_string()))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("/a/b.$".to_string(), "$v".to_string()),
                ("/c/0/d.$".to_string(), "States.Array($w)".to_string())
            ]
        );
    }
}
