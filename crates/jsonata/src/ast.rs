//! The abstract syntax tree produced by the parser and walked by the
//! evaluator, including the path-step annotations (predicates, focus and
//! index bindings, grouping, ancestry slots) that JSONata needs.

use std::sync::Arc;

use crate::regex::JsRegex;
use crate::signature::Signature;

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    And,
    Or,
    In,
    Range,
    Elvis,
    Coalesce,
}

/// A stage applied to each step result: a predicate filter or an index bind.
#[derive(Debug)]
pub enum Stage {
    Filter(Node),
    Index(Arc<str>),
}

/// A sort term of `^(...)`.
#[derive(Debug)]
pub struct SortTerm {
    pub descending: bool,
    pub expr: Node,
}

/// A lambda definition.
#[derive(Debug)]
pub struct LambdaDef {
    pub params: Vec<Arc<str>>,
    pub body: Node,
    pub signature: Option<Signature>,
    pub thunk: bool,
}

/// A transform definition `| pattern | update [, delete] |`.
#[derive(Debug)]
pub struct TransformDef {
    pub pattern: Node,
    pub update: Node,
    pub delete: Option<Node>,
}

/// The kinds of node.
#[derive(Debug)]
pub enum Kind {
    Null,
    Bool(bool),
    Num(f64),
    Str(Arc<str>),
    Regex(Arc<JsRegex>),
    Name(Arc<str>),
    /// `$name`; the empty name is the context `$`, `"$"` is the root `$$`.
    Var(Arc<str>),
    Wildcard,
    Descendant,
    /// `%` with its ancestry slot.
    Parent(usize),
    Path(Vec<Node>),
    Neg(Box<Node>),
    Array(Vec<Node>),
    Object(Vec<(Node, Node)>),
    Block(Vec<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    Bind(Arc<str>, Box<Node>),
    Apply(Box<Node>, Box<Node>),
    Call {
        proc: Box<Node>,
        args: Vec<Node>,
        partial: bool,
    },
    Lambda(Arc<LambdaDef>),
    Transform(Arc<TransformDef>),
    Sort(Vec<SortTerm>),
    Placeholder,
    // Raw forms, removed by the post-processing pass.
    Dot(Box<Node>, Box<Node>),
    Filter(Box<Node>, Option<Box<Node>>),
    Group(Box<Node>, Vec<(Node, Node)>),
    SortRaw(Box<Node>, Vec<SortTerm>),
    Focus(Box<Node>, Arc<str>),
    IndexBind(Box<Node>, Arc<str>),
}

/// A group-by clause attached to a step or expression.
#[derive(Debug)]
pub struct Group {
    pub pairs: Vec<(Node, Node)>,
}

/// One node of the tree with its annotations.
#[derive(Debug)]
pub struct Node {
    pub kind: Kind,
    pub pos: usize,
    /// Per-item stages when this node is a path step.
    pub stages: Vec<Stage>,
    /// Filters applied to the whole result when this node is not a step.
    pub predicate: Vec<Stage>,
    pub group: Option<Box<Group>>,
    pub focus: Option<Arc<str>>,
    pub index: Option<Arc<str>>,
    pub tuple: bool,
    /// Ancestry slot bound by this step (label index).
    pub ancestor: Option<usize>,
    /// On a path: keep singleton arrays. On a step: `[]` was written.
    pub keep_array: bool,
    pub consarray: bool,
    pub seeking_parent: Vec<usize>,
}

impl Node {
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            stages: Vec::new(),
            predicate: Vec::new(),
            group: None,
            focus: None,
            index: None,
            tuple: false,
            ancestor: None,
            keep_array: false,
            consarray: false,
            seeking_parent: Vec::new(),
        }
    }
}
