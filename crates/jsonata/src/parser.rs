//! Tokenizer and Pratt parser for JSONata, followed by a post-processing pass
//! that turns the raw operator tree into paths of steps with their stages,
//! focus/index bindings, grouping, sorting and parent (`%`) ancestry slots.

use std::sync::Arc;

use crate::ast::{BinOp, Group, Kind, LambdaDef, Node, SortTerm, Stage, TransformDef};
use crate::error::Error;
use crate::regex::JsRegex;
use crate::signature::Signature;

const MAX_PARSE_DEPTH: usize = 500;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    End,
    Op(&'static str),
    Str(String),
    Num(f64),
    Name(String),
    /// A backtick-quoted name.
    QName(String),
    Var(String),
    Regex(String, String),
    Value(Kind2),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind2 {
    True,
    False,
    Null,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

/// A single-character operator token.
fn single_op(c: char) -> Option<&'static str> {
    Some(match c {
        '.' => ".",
        '[' => "[",
        ']' => "]",
        '{' => "{",
        '}' => "}",
        '(' => "(",
        ')' => ")",
        ',' => ",",
        '@' => "@",
        '#' => "#",
        ';' => ";",
        ':' => ":",
        '?' => "?",
        '+' => "+",
        '-' => "-",
        '*' => "*",
        '/' => "/",
        '%' => "%",
        '|' => "|",
        '=' => "=",
        '<' => "<",
        '>' => ">",
        '^' => "^",
        '&' => "&",
        _ => return None,
    })
}

/// Characters that end a name or variable.
fn ends_name(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '.'
            | ','
            | '@'
            | '#'
            | ';'
            | ':'
            | '?'
            | '+'
            | '-'
            | '*'
            | '/'
            | '%'
            | '|'
            | '='
            | '<'
            | '>'
            | '^'
            | '&'
            | '!'
            | '~'
            | '"'
            | '\''
            | '`'
    )
}

struct Lexer<'s> {
    src: &'s str,
    chars: Vec<(usize, char)>,
    i: usize,
    regex_ok: bool,
}

impl<'s> Lexer<'s> {
    fn new(src: &'s str) -> Self {
        Lexer {
            src,
            chars: src.char_indices().collect(),
            i: 0,
            regex_ok: true,
        }
    }
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|c| c.1)
    }
    fn pos(&self) -> usize {
        self.chars
            .get(self.i)
            .map(|c| c.0)
            .unwrap_or(self.src.len())
    }

    fn next(&mut self) -> Result<Token, Error> {
        let tok = self.scan()?;
        self.regex_ok = match &tok.tok {
            Tok::Op(op) => !matches!(*op, ")" | "]" | "}"),
            Tok::Name(n) => matches!(n.as_str(), "and" | "or" | "in"),
            Tok::End => true,
            _ => false,
        };
        Ok(tok)
    }

    fn scan(&mut self) -> Result<Token, Error> {
        // whitespace and comments
        loop {
            match self.peek(0) {
                Some(c) if c.is_whitespace() => self.i += 1,
                Some('/') if self.peek(1) == Some('*') => {
                    let start = self.pos();
                    self.i += 2;
                    loop {
                        match self.peek(0) {
                            None => {
                                return Err(Error::at("S0106", start, "Comment has no closing tag"))
                            }
                            Some('*') if self.peek(1) == Some('/') => {
                                self.i += 2;
                                break;
                            }
                            _ => self.i += 1,
                        }
                    }
                }
                _ => break,
            }
        }
        let pos = self.pos();
        let Some(c) = self.peek(0) else {
            return Ok(Token { tok: Tok::End, pos });
        };
        if c == '/' && self.regex_ok {
            return self.scan_regex(pos);
        }
        // two-char operators
        if let Some(d) = self.peek(1) {
            let op = match (c, d) {
                ('.', '.') => Some(".."),
                (':', '=') => Some(":="),
                ('!', '=') => Some("!="),
                ('<', '=') => Some("<="),
                ('>', '=') => Some(">="),
                ('~', '>') => Some("~>"),
                ('?', ':') => Some("?:"),
                ('?', '?') => Some("??"),
                ('*', '*') => Some("**"),
                _ => None,
            };
            if let Some(op) = op {
                self.i += 2;
                return Ok(Token {
                    tok: Tok::Op(op),
                    pos,
                });
            }
        }
        if let Some(op) = single_op(c) {
            self.i += 1;
            return Ok(Token {
                tok: Tok::Op(op),
                pos,
            });
        }
        if c == '"' || c == '\'' {
            return self.scan_string(c, pos);
        }
        if c.is_ascii_digit() {
            return self.scan_number(pos);
        }
        if c == '`' {
            self.i += 1;
            let start = self.pos();
            while let Some(ch) = self.peek(0) {
                if ch == '`' {
                    let name = self.src[start..self.pos()].to_string();
                    self.i += 1;
                    return Ok(Token {
                        tok: Tok::QName(name),
                        pos,
                    });
                }
                self.i += 1;
            }
            return Err(Error::at(
                "S0105",
                pos,
                "Quoted property name must be terminated with a backquote (`)",
            ));
        }
        // names and variables
        let is_var = c == '$';
        if is_var {
            self.i += 1;
        }
        let start = self.pos();
        while let Some(ch) = self.peek(0) {
            if ch.is_whitespace() || ends_name(ch) {
                break;
            }
            self.i += 1;
        }
        let name = self.src[start..self.pos()].to_string();
        if is_var {
            return Ok(Token {
                tok: Tok::Var(name),
                pos,
            });
        }
        if name.is_empty() {
            return Err(
                Error::at("S0204", pos, format!("Unknown operator: {c}")).with_token(c.to_string())
            );
        }
        let tok = match name.as_str() {
            "true" => Tok::Value(Kind2::True),
            "false" => Tok::Value(Kind2::False),
            "null" => Tok::Value(Kind2::Null),
            _ => Tok::Name(name),
        };
        Ok(Token { tok, pos })
    }

    fn scan_regex(&mut self, pos: usize) -> Result<Token, Error> {
        self.i += 1;
        let start = self.pos();
        let mut in_class = false;
        loop {
            match self.peek(0) {
                None => {
                    return Err(Error::at(
                        "S0302",
                        pos,
                        "No terminating / in regular expression",
                    ))
                }
                Some('\\') => self.i += 2,
                Some('[') => {
                    in_class = true;
                    self.i += 1
                }
                Some(']') => {
                    in_class = false;
                    self.i += 1
                }
                Some('/') if !in_class => break,
                _ => self.i += 1,
            }
        }
        let end = self.pos();
        let pattern = self.src[start..end.min(self.src.len())].to_string();
        self.i += 1;
        let fstart = self.pos();
        while let Some(ch) = self.peek(0) {
            if "imgsuy".contains(ch) {
                self.i += 1;
            } else {
                break;
            }
        }
        let flags = self.src[fstart..self.pos()].to_string();
        if pattern.is_empty() {
            return Err(Error::at(
                "S0301",
                pos,
                "Empty regular expressions are not allowed",
            ));
        }
        Ok(Token {
            tok: Tok::Regex(pattern, flags),
            pos,
        })
    }

    fn scan_string(&mut self, quote: char, pos: usize) -> Result<Token, Error> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(ch) = self.peek(0) else {
                return Err(Error::at(
                    "S0101",
                    pos,
                    "String literal must be terminated by a matching quote",
                ));
            };
            self.i += 1;
            if ch == quote {
                return Ok(Token {
                    tok: Tok::Str(out),
                    pos,
                });
            }
            if ch != '\\' {
                out.push(ch);
                continue;
            }
            let Some(esc) = self.peek(0) else {
                return Err(Error::at(
                    "S0101",
                    pos,
                    "String literal must be terminated by a matching quote",
                ));
            };
            self.i += 1;
            match esc {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                '\'' => out.push('\''),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let code = self.hex4().ok_or_else(|| {
                        Error::at(
                            "S0104",
                            self.pos(),
                            "The escape sequence \\u must be followed by 4 hex digits",
                        )
                    })?;
                    if (0xD800..0xDC00).contains(&code)
                        && self.peek(0) == Some('\\')
                        && self.peek(1) == Some('u')
                    {
                        let save = self.i;
                        self.i += 2;
                        match self.hex4() {
                            Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                let c = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                            }
                            _ => {
                                self.i = save;
                                out.push('\u{FFFD}');
                            }
                        }
                    } else {
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                }
                other => {
                    return Err(Error::at(
                        "S0103",
                        self.pos(),
                        format!("Unsupported escape sequence: \\{other}"),
                    )
                    .with_token(other.to_string()))
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            let d = self.peek(k)?.to_digit(16)?;
            v = v * 16 + d;
        }
        self.i += 4;
        Some(v)
    }

    fn scan_number(&mut self, pos: usize) -> Result<Token, Error> {
        let start = self.pos();
        if self.peek(0) == Some('0') {
            self.i += 1;
        } else {
            while matches!(self.peek(0), Some(c) if c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.peek(0) == Some('.') && matches!(self.peek(1), Some(c) if c.is_ascii_digit()) {
            self.i += 1;
            while matches!(self.peek(0), Some(c) if c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.peek(0), Some('+' | '-')) {
                self.i += 1;
            }
            if matches!(self.peek(0), Some(c) if c.is_ascii_digit()) {
                while matches!(self.peek(0), Some(c) if c.is_ascii_digit()) {
                    self.i += 1;
                }
            } else {
                self.i = save;
            }
        }
        let text = &self.src[start..self.pos()];
        let n: f64 = text
            .parse()
            .map_err(|_| Error::at("S0102", pos, "Number out of range"))?;
        if !n.is_finite() {
            return Err(
                Error::at("S0102", pos, format!("Number out of range: {text}")).with_token(text),
            );
        }
        Ok(Token {
            tok: Tok::Num(n),
            pos,
        })
    }

    /// Read a `<...>` signature starting at byte offset `pos`.
    fn scan_signature(&mut self, pos: usize) -> Result<String, Error> {
        // reposition to pos
        self.i = self
            .chars
            .iter()
            .position(|c| c.0 == pos)
            .unwrap_or(self.chars.len());
        let mut depth = 0i32;
        let start = pos;
        loop {
            match self.peek(0) {
                None => return Err(Error::at("S0401", pos, "Unterminated signature")),
                Some('<') => depth += 1,
                Some('>') => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        break;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Ok(self.src[start..self.pos()].to_string())
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::End => "(end)".into(),
        Tok::Op(o) => o.to_string(),
        Tok::Str(s) => s.clone(),
        Tok::Num(n) => n.to_string(),
        Tok::Name(n) | Tok::QName(n) => n.clone(),
        Tok::Var(v) => format!("${v}"),
        Tok::Regex(p, _) => format!("/{p}/"),
        Tok::Value(Kind2::True) => "true".into(),
        Tok::Value(Kind2::False) => "false".into(),
        Tok::Value(Kind2::Null) => "null".into(),
    }
}

/// Parse state for the ancestry (`%`) resolution.
struct Parser<'s> {
    lex: Lexer<'s>,
    tok: Token,
    depth: usize,
    /// Labels of ancestry slots; a slot may be made to share another's label.
    pub labels: Vec<usize>,
    levels: Vec<i64>,
}

/// The result of parsing: the tree and the ancestry label table.
pub struct Parsed {
    pub root: Node,
    pub labels: Vec<Arc<str>>,
}

/// Parse and post-process an expression.
pub fn parse(src: &str) -> Result<Parsed, Error> {
    let mut lex = Lexer::new(src);
    let first = lex.next()?;
    let mut p = Parser {
        lex,
        tok: first,
        depth: 0,
        labels: Vec::new(),
        levels: Vec::new(),
    };
    let raw = p.expression(0)?;
    if p.tok.tok != Tok::End {
        return Err(Error::at(
            "S0201",
            p.tok.pos,
            format!("Syntax error: {}", tok_text(&p.tok.tok)),
        )
        .with_token(tok_text(&p.tok.tok)));
    }
    let root = p.process(raw, 0)?;
    if matches!(root.kind, Kind::Parent(_)) || !root.seeking_parent.is_empty() {
        return Err(Error::at(
            "S0217",
            root.pos,
            "The object representing the 'parent' cannot be derived from this expression",
        ));
    }
    let labels = p
        .labels
        .iter()
        .map(|l| Arc::from(format!("!{l}").as_str()))
        .collect();
    Ok(Parsed { root, labels })
}

fn lbp(t: &Tok) -> u32 {
    match t {
        Tok::Op(o) => match *o {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" | ".." => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" | "**" => 60,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "?:" | "??" => 40,
            ":=" => 10,
            _ => 0,
        },
        Tok::Name(n) => match n.as_str() {
            "and" => 30,
            "or" => 25,
            "in" => 40,
            _ => 0,
        },
        _ => 0,
    }
}

impl<'s> Parser<'s> {
    fn advance(&mut self) -> Result<Token, Error> {
        let next = self.lex.next()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn expect(&mut self, op: &str) -> Result<Token, Error> {
        match &self.tok.tok {
            Tok::Op(o) if *o == op => self.advance(),
            Tok::End => Err(Error::at(
                "S0203",
                self.tok.pos,
                format!("Expected \"{op}\" before end of expression"),
            )
            .with_token(op)),
            other => Err(Error::at(
                "S0202",
                self.tok.pos,
                format!("Expected \"{op}\", got \"{}\"", tok_text(other)),
            )
            .with_token(tok_text(other))),
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(&self.tok.tok, Tok::Op(o) if *o == op)
    }

    fn expression(&mut self, rbp: u32) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(Error::at(
                "U1001",
                self.tok.pos,
                "Expression is nested too deeply",
            ));
        }
        let r = stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
            let t = self.advance()?;
            let mut left = self.nud(t)?;
            // each infix operator nests the tree one level deeper on the left
            let mut chain = 0;
            while rbp < lbp(&self.tok.tok) {
                chain += 1;
                if self.depth + chain > MAX_PARSE_DEPTH {
                    return Err(Error::at(
                        "U1001",
                        self.tok.pos,
                        "Expression is nested too deeply",
                    ));
                }
                let t = self.advance()?;
                left = self.led(t, left)?;
            }
            Ok(left)
        });
        self.depth -= 1;
        r
    }

    fn nud(&mut self, t: Token) -> Result<Node, Error> {
        let pos = t.pos;
        let kind = match t.tok {
            Tok::End => return Err(Error::at("S0207", pos, "Unexpected end of expression")),
            Tok::Num(n) => Kind::Num(n),
            Tok::Str(s) => Kind::Str(Arc::from(s)),
            Tok::Value(Kind2::True) => Kind::Bool(true),
            Tok::Value(Kind2::False) => Kind::Bool(false),
            Tok::Value(Kind2::Null) => Kind::Null,
            Tok::Regex(p, f) => {
                Kind::Regex(Arc::new(JsRegex::new(&p, &f).map_err(|e| e.or_pos(pos))?))
            }
            Tok::Var(v) => Kind::Var(Arc::from(v)),
            Tok::QName(n) => Kind::Name(Arc::from(n)),
            Tok::Name(n) => {
                if (n == "function" || n == "λ") && self.is_op("(") {
                    return self.lambda(pos);
                }
                Kind::Name(Arc::from(n))
            }
            Tok::Op(op) => match op {
                "-" => {
                    let e = self.expression(70)?;
                    if let Kind::Num(n) = e.kind {
                        if e.predicate.is_empty() {
                            Kind::Num(-n)
                        } else {
                            Kind::Neg(Box::new(e))
                        }
                    } else {
                        Kind::Neg(Box::new(e))
                    }
                }
                "*" => Kind::Wildcard,
                "**" => Kind::Descendant,
                "%" => Kind::Parent(0),
                "?" => Kind::Placeholder,
                "(" => {
                    let mut items = Vec::new();
                    while !self.is_op(")") {
                        items.push(self.expression(0)?);
                        if !self.is_op(";") {
                            break;
                        }
                        self.advance()?;
                    }
                    self.expect(")")?;
                    Kind::Block(items)
                }
                "[" => {
                    let mut items = Vec::new();
                    if !self.is_op("]") {
                        loop {
                            items.push(self.expression(0)?);
                            if !self.is_op(",") {
                                break;
                            }
                            self.advance()?;
                        }
                    }
                    self.expect("]")?;
                    Kind::Array(items)
                }
                "{" => Kind::Object(self.pairs()?),
                "|" => {
                    let pattern = self.expression(0)?;
                    self.expect("|")?;
                    let update = self.expression(0)?;
                    let delete = if self.is_op(",") {
                        self.advance()?;
                        Some(self.expression(0)?)
                    } else {
                        None
                    };
                    self.expect("|")?;
                    Kind::Transform(Arc::new(TransformDef {
                        pattern,
                        update,
                        delete,
                    }))
                }
                other => {
                    return Err(Error::at(
                        "S0211",
                        pos,
                        format!("The symbol {other} cannot be used as a unary operator"),
                    )
                    .with_token(other))
                }
            },
        };
        Ok(Node::new(kind, pos))
    }

    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, Error> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.expect(":")?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is_op(",") {
                    break;
                }
                self.advance()?;
            }
        }
        self.expect("}")?;
        Ok(pairs)
    }

    fn lambda(&mut self, pos: usize) -> Result<Node, Error> {
        self.expect("(")?;
        let mut params = Vec::new();
        if !self.is_op(")") {
            loop {
                let t = self.advance()?;
                match t.tok {
                    Tok::Var(v) => params.push(Arc::from(v)),
                    other => {
                        return Err(Error::at("S0208", t.pos, format!("Parameter {} of function definition must be a variable name (start with $)", tok_text(&other)))
                            .with_token(tok_text(&other)))
                    }
                }
                if !self.is_op(",") {
                    break;
                }
                self.advance()?;
            }
        }
        self.expect(")")?;
        let mut signature = None;
        if self.is_op("<") {
            let sig_text = self.lex.scan_signature(self.tok.pos)?;
            signature = Some(Signature::parse(&sig_text).map_err(|e| e.or_pos(pos))?);
            self.tok = self.lex.next()?;
        }
        self.expect("{")?;
        let body = self.expression(0)?;
        self.expect("}")?;
        Ok(Node::new(
            Kind::Lambda(Arc::new(LambdaDef {
                params,
                body,
                signature,
                thunk: false,
            })),
            pos,
        ))
    }

    fn led(&mut self, t: Token, left: Node) -> Result<Node, Error> {
        let pos = t.pos;
        let op: &str = match &t.tok {
            Tok::Op(o) => o,
            Tok::Name(n) if n == "and" => "and",
            Tok::Name(n) if n == "or" => "or",
            Tok::Name(n) if n == "in" => "in",
            other => {
                return Err(Error::at(
                    "S0201",
                    pos,
                    format!("Syntax error: {}", tok_text(other)),
                ))
            }
        };
        let bin = |op: BinOp, p: &mut Self, left: Node, bp: u32| -> Result<Node, Error> {
            let right = p.expression(bp)?;
            Ok(Node::new(
                Kind::Binary(op, Box::new(left), Box::new(right)),
                pos,
            ))
        };
        let bp = lbp(&t.tok);
        match op {
            "." => {
                let right = self.expression(bp)?;
                Ok(Node::new(Kind::Dot(Box::new(left), Box::new(right)), pos))
            }
            "+" => bin(BinOp::Add, self, left, bp),
            "-" => bin(BinOp::Sub, self, left, bp),
            "*" => bin(BinOp::Mul, self, left, bp),
            "/" => bin(BinOp::Div, self, left, bp),
            "%" => bin(BinOp::Mod, self, left, bp),
            "=" => bin(BinOp::Eq, self, left, bp),
            "!=" => bin(BinOp::Ne, self, left, bp),
            "<" => bin(BinOp::Lt, self, left, bp),
            "<=" => bin(BinOp::Le, self, left, bp),
            ">" => bin(BinOp::Gt, self, left, bp),
            ">=" => bin(BinOp::Ge, self, left, bp),
            "&" => bin(BinOp::Concat, self, left, bp),
            "and" => bin(BinOp::And, self, left, bp),
            "or" => bin(BinOp::Or, self, left, bp),
            "in" => bin(BinOp::In, self, left, bp),
            ".." => bin(BinOp::Range, self, left, bp),
            "?:" => bin(BinOp::Elvis, self, left, bp),
            "??" => bin(BinOp::Coalesce, self, left, bp),
            "~>" => {
                let right = self.expression(bp)?;
                Ok(Node::new(Kind::Apply(Box::new(left), Box::new(right)), pos))
            }
            ":=" => {
                let name = match &left.kind {
                    Kind::Var(v) => v.clone(),
                    _ => {
                        return Err(Error::at(
                            "S0212",
                            pos,
                            "The left side of := must be a variable name (start with $)",
                        ))
                    }
                };
                let right = self.expression(bp - 1)?;
                Ok(Node::new(Kind::Bind(name, Box::new(right)), pos))
            }
            "@" | "#" => {
                let t2 = self.advance()?;
                let name = match t2.tok {
                    Tok::Var(v) => Arc::from(v),
                    other => {
                        return Err(Error::at(
                            "S0214",
                            t2.pos,
                            format!(
                                "The right side of {op} must be a variable name (start with $)"
                            ),
                        )
                        .with_token(tok_text(&other)))
                    }
                };
                let kind = if op == "@" {
                    Kind::Focus(Box::new(left), name)
                } else {
                    Kind::IndexBind(Box::new(left), name)
                };
                Ok(Node::new(kind, pos))
            }
            "[" => {
                if self.is_op("]") {
                    self.advance()?;
                    return Ok(Node::new(Kind::Filter(Box::new(left), None), pos));
                }
                let pred = self.expression(0)?;
                self.expect("]")?;
                Ok(Node::new(
                    Kind::Filter(Box::new(left), Some(Box::new(pred))),
                    pos,
                ))
            }
            "{" => {
                let pairs = self.pairs()?;
                Ok(Node::new(Kind::Group(Box::new(left), pairs), pos))
            }
            "(" => {
                let mut args = Vec::new();
                let mut partial = false;
                if !self.is_op(")") {
                    loop {
                        if self.is_op("?") {
                            let t = self.advance()?;
                            partial = true;
                            args.push(Node::new(Kind::Placeholder, t.pos));
                        } else {
                            args.push(self.expression(0)?);
                        }
                        if !self.is_op(",") {
                            break;
                        }
                        self.advance()?;
                    }
                }
                self.expect(")")?;
                Ok(Node::new(
                    Kind::Call {
                        proc: Box::new(left),
                        args,
                        partial,
                    },
                    pos,
                ))
            }
            "?" => {
                let then = self.expression(0)?;
                let otherwise = if self.is_op(":") {
                    self.advance()?;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                Ok(Node::new(
                    Kind::Cond(Box::new(left), Box::new(then), otherwise),
                    pos,
                ))
            }
            "^" => {
                self.expect("(")?;
                let mut terms = Vec::new();
                loop {
                    let mut descending = false;
                    if self.is_op("<") {
                        self.advance()?;
                    } else if self.is_op(">") {
                        descending = true;
                        self.advance()?;
                    }
                    let expr = self.expression(0)?;
                    terms.push(SortTerm { descending, expr });
                    if !self.is_op(",") {
                        break;
                    }
                    self.advance()?;
                }
                self.expect(")")?;
                Ok(Node::new(Kind::SortRaw(Box::new(left), terms), pos))
            }
            other => {
                Err(Error::at("S0201", pos, format!("Syntax error: {other}")).with_token(other))
            }
        }
    }

    // ---------------------------------------------------------------- processing

    fn new_slot(&mut self) -> usize {
        let idx = self.labels.len();
        self.labels.push(idx);
        self.levels.push(1);
        idx
    }

    fn push_ancestry(result: &mut Node, value: &Node) {
        result
            .seeking_parent
            .extend(value.seeking_parent.iter().copied());
        if let Kind::Parent(s) = value.kind {
            result.seeking_parent.push(s);
        }
    }

    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<(), Error> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.levels[slot] -= 1;
                if self.levels[slot] == 0 {
                    if let Some(existing) = node.ancestor {
                        self.labels[slot] = self.labels[existing];
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => self.levels[slot] += 1,
            Kind::Block(items) => {
                if let Some(last) = items.last_mut() {
                    node.tuple = true;
                    self.seek_parent(last, slot)?;
                }
            }
            Kind::Path(steps) => {
                node.tuple = true;
                let mut idx = steps.len();
                while idx > 0 {
                    idx -= 1;
                    self.seek_parent(&mut steps[idx], slot)?;
                    if self.levels[slot] <= 0 {
                        break;
                    }
                }
            }
            _ => {
                return Err(Error::at(
                    "S0217",
                    node.pos,
                    "The object representing the 'parent' cannot be derived from this expression",
                ))
            }
        }
        Ok(())
    }

    fn resolve_ancestry(&mut self, path: &mut Node) -> Result<(), Error> {
        let Kind::Path(steps) = &mut path.kind else {
            return Ok(());
        };
        let Some(last) = steps.last_mut() else {
            return Ok(());
        };
        let mut slots = std::mem::take(&mut last.seeking_parent);
        if let Kind::Parent(s) = last.kind {
            slots.push(s);
        }
        let n = steps.len();
        let mut escaped = Vec::new();
        for slot in slots {
            let mut index = n as i64 - 2;
            while self.levels[slot] > 0 {
                if index < 0 {
                    escaped.push(slot);
                    break;
                }
                let mut i = index as usize;
                index -= 1;
                while index >= 0
                    && steps[i].focus.is_some()
                    && steps[index as usize].focus.is_some()
                {
                    i = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[i], slot)?;
            }
        }
        path.seeking_parent.extend(escaped);
        Ok(())
    }

    fn process(&mut self, node: Node, depth: usize) -> Result<Node, Error> {
        stacker::maybe_grow(crate::eval::RED_ZONE, crate::eval::STACK_CHUNK, || {
            self.process_inner(node, depth)
        })
    }

    fn process_inner(&mut self, node: Node, depth: usize) -> Result<Node, Error> {
        if depth > MAX_PARSE_DEPTH {
            return Err(Error::at(
                "U1001",
                node.pos,
                "Expression is nested too deeply",
            ));
        }
        let d = depth + 1;
        let pos = node.pos;
        let out = match node.kind {
            Kind::Dot(lhs, rhs) => {
                let lstep = self.process(*lhs, d)?;
                let mut result = if matches!(lstep.kind, Kind::Path(_)) {
                    lstep
                } else {
                    let mut p = Node::new(Kind::Path(Vec::new()), pos);
                    if let Kind::Parent(s) = lstep.kind {
                        p.seeking_parent.push(s);
                    }
                    if let Kind::Path(steps) = &mut p.kind {
                        steps.push(lstep);
                    }
                    p
                };
                let rest = self.process(*rhs, d)?;
                let Kind::Path(steps) = &mut result.kind else {
                    return Err(Error::new("S0201", "internal: expected a path"));
                };
                match rest.kind {
                    Kind::Path(rsteps) => {
                        steps.extend(rsteps);
                        result.seeking_parent.extend(rest.seeking_parent);
                    }
                    _ => {
                        let mut rest = rest;
                        if !rest.predicate.is_empty() {
                            rest.stages = std::mem::take(&mut rest.predicate);
                        }
                        steps.push(rest);
                    }
                }
                for step in steps.iter_mut() {
                    match &step.kind {
                        Kind::Num(_) | Kind::Bool(_) | Kind::Null => return Err(Error::at(
                            "S0213",
                            step.pos,
                            "The literal value cannot be used as a step within a path expression",
                        )),
                        Kind::Str(s) => {
                            let s = s.clone();
                            step.kind = Kind::Name(s);
                        }
                        _ => {}
                    }
                }
                if steps.iter().any(|s| s.keep_array) {
                    result.keep_array = true;
                }
                if let Some(first) = steps.first_mut() {
                    if matches!(first.kind, Kind::Array(_)) {
                        first.consarray = true;
                    }
                }
                if let Some(last) = steps.last_mut() {
                    if matches!(last.kind, Kind::Array(_)) {
                        last.consarray = true;
                    }
                }
                self.resolve_ancestry(&mut result)?;
                return Ok(result);
            }
            Kind::Filter(lhs, pred) => {
                let mut result = self.process(*lhs, d)?;
                let is_path = matches!(result.kind, Kind::Path(_));
                match pred {
                    None => {
                        let step = last_step(&mut result);
                        step.keep_array = true;
                        if is_path {
                            result.keep_array = true;
                        }
                        return Ok(result);
                    }
                    Some(pred) => {
                        let mut pred = self.process(*pred, d)?;
                        let slots = std::mem::take(&mut pred.seeking_parent);
                        let pred_is_parent = if let Kind::Parent(s) = pred.kind {
                            Some(s)
                        } else {
                            None
                        };
                        let step = last_step(&mut result);
                        if step.group.is_some() {
                            return Err(Error::at(
                                "S0209",
                                pos,
                                "A predicate cannot follow a grouping expression in a step",
                            ));
                        }
                        let mut all = slots.clone();
                        all.extend(pred_is_parent);
                        for &slot in &all {
                            if self.levels[slot] == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.levels[slot] -= 1;
                            }
                        }
                        step.seeking_parent.extend(all);
                        let stage = Stage::Filter(pred);
                        if is_path {
                            step.stages.push(stage);
                        } else {
                            step.predicate.push(stage);
                        }
                        return Ok(result);
                    }
                }
            }
            Kind::Group(lhs, pairs) => {
                let mut result = self.process(*lhs, d)?;
                if result.group.is_some() {
                    return Err(Error::at(
                        "S0210",
                        pos,
                        "Each step can only have one grouping expression",
                    ));
                }
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let k = self.process(k, d)?;
                    let v = self.process(v, d)?;
                    Self::push_ancestry(&mut result, &k);
                    Self::push_ancestry(&mut result, &v);
                    out.push((k, v));
                }
                result.group = Some(Box::new(Group { pairs: out }));
                return Ok(result);
            }
            Kind::SortRaw(lhs, terms) => {
                let mut result = self.process(*lhs, d)?;
                if !matches!(result.kind, Kind::Path(_)) {
                    let mut p = Node::new(Kind::Path(Vec::new()), pos);
                    if let Kind::Path(steps) = &mut p.kind {
                        steps.push(result);
                    }
                    result = p;
                }
                let mut pterms = Vec::new();
                let mut sort_step = Node::new(Kind::Sort(Vec::new()), pos);
                for t in terms {
                    let e = self.process(t.expr, d)?;
                    Self::push_ancestry(&mut sort_step, &e);
                    pterms.push(SortTerm {
                        descending: t.descending,
                        expr: e,
                    });
                }
                sort_step.kind = Kind::Sort(pterms);
                if let Kind::Path(steps) = &mut result.kind {
                    steps.push(sort_step);
                }
                self.resolve_ancestry(&mut result)?;
                return Ok(result);
            }
            Kind::Focus(lhs, name) => {
                let mut result = self.process(*lhs, d)?;
                let step = last_step(&mut result);
                if !step.stages.is_empty() || !step.predicate.is_empty() {
                    return Err(Error::at(
                        "S0215",
                        pos,
                        "A context variable binding must precede any predicates on a step",
                    ));
                }
                if matches!(step.kind, Kind::Sort(_)) {
                    return Err(Error::at(
                        "S0216",
                        pos,
                        "A context variable binding must precede the 'order-by' clause on a step",
                    ));
                }
                if step.keep_array {
                    result.keep_array = true;
                }
                let step = last_step(&mut result);
                step.focus = Some(name);
                step.tuple = true;
                return Ok(result);
            }
            Kind::IndexBind(lhs, name) => {
                let mut result = self.process(*lhs, d)?;
                if !matches!(result.kind, Kind::Path(_)) {
                    let mut inner = result;
                    inner.stages = std::mem::take(&mut inner.predicate);
                    result = Node::new(Kind::Path(vec![inner]), pos);
                }
                let step = last_step(&mut result);
                if step.stages.is_empty() {
                    step.index = Some(name);
                } else {
                    step.stages.push(Stage::Index(name));
                }
                step.tuple = true;
                return Ok(result);
            }
            Kind::Name(n) => {
                let mut p = Node::new(Kind::Path(vec![Node::new(Kind::Name(n), pos)]), pos);
                p.predicate = node.predicate;
                return Ok(p);
            }
            Kind::Parent(_) => {
                let slot = self.new_slot();
                Kind::Parent(slot)
            }
            Kind::Neg(e) => {
                let e = self.process(*e, d)?;
                if let Kind::Num(n) = e.kind {
                    Kind::Num(-n)
                } else {
                    let mut n = Node::new(Kind::Neg(Box::new(Node::new(Kind::Null, 0))), pos);
                    Self::push_ancestry(&mut n, &e);
                    n.kind = Kind::Neg(Box::new(e));
                    return Ok(n);
                }
            }
            Kind::Array(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for i in items {
                    let i = self.process(i, d)?;
                    Self::push_ancestry(&mut n, &i);
                    out.push(i);
                }
                n.kind = Kind::Array(out);
                return Ok(n);
            }
            Kind::Object(pairs) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let k = self.process(k, d)?;
                    let v = self.process(v, d)?;
                    Self::push_ancestry(&mut n, &k);
                    Self::push_ancestry(&mut n, &v);
                    out.push((k, v));
                }
                n.kind = Kind::Object(out);
                return Ok(n);
            }
            Kind::Block(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for i in items {
                    let i = self.process(i, d)?;
                    Self::push_ancestry(&mut n, &i);
                    out.push(i);
                }
                n.kind = Kind::Block(out);
                return Ok(n);
            }
            Kind::Binary(op, l, r) => {
                let l = self.process(*l, d)?;
                let r = self.process(*r, d)?;
                let mut n = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut n, &l);
                Self::push_ancestry(&mut n, &r);
                n.kind = Kind::Binary(op, Box::new(l), Box::new(r));
                return Ok(n);
            }
            Kind::Apply(l, r) => {
                let l = self.process(*l, d)?;
                let r = self.process(*r, d)?;
                let mut n = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut n, &l);
                Self::push_ancestry(&mut n, &r);
                n.kind = Kind::Apply(Box::new(l), Box::new(r));
                return Ok(n);
            }
            Kind::Cond(c, t, e) => {
                let c = self.process(*c, d)?;
                let t = self.process(*t, d)?;
                let e = match e {
                    Some(e) => Some(Box::new(self.process(*e, d)?)),
                    None => None,
                };
                let mut n = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut n, &c);
                Self::push_ancestry(&mut n, &t);
                if let Some(e) = &e {
                    Self::push_ancestry(&mut n, e);
                }
                n.kind = Kind::Cond(Box::new(c), Box::new(t), e);
                return Ok(n);
            }
            Kind::Bind(name, v) => {
                let v = self.process(*v, d)?;
                let mut n = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut n, &v);
                n.kind = Kind::Bind(name, Box::new(v));
                return Ok(n);
            }
            Kind::Call {
                proc,
                args,
                partial,
            } => {
                let proc = self.process(*proc, d)?;
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for a in args {
                    let a = self.process(a, d)?;
                    Self::push_ancestry(&mut n, &a);
                    out.push(a);
                }
                n.kind = Kind::Call {
                    proc: Box::new(proc),
                    args: out,
                    partial,
                };
                return Ok(n);
            }
            Kind::Lambda(def) => {
                let def = Arc::try_unwrap(def)
                    .map_err(|_| Error::at("S0201", pos, "internal: shared lambda"))?;
                let body = self.process(def.body, d)?;
                let body = tail_call_optimize(body);
                Kind::Lambda(Arc::new(LambdaDef {
                    params: def.params,
                    body,
                    signature: def.signature,
                    thunk: false,
                }))
            }
            Kind::Transform(def) => {
                let def = Arc::try_unwrap(def)
                    .map_err(|_| Error::at("S0201", pos, "internal: shared transform"))?;
                let pattern = self.process(def.pattern, d)?;
                let update = self.process(def.update, d)?;
                let delete = match def.delete {
                    Some(x) => Some(self.process(x, d)?),
                    None => None,
                };
                Kind::Transform(Arc::new(TransformDef {
                    pattern,
                    update,
                    delete,
                }))
            }
            other => other,
        };
        let mut n = Node::new(out, pos);
        n.predicate = node.predicate;
        n.stages = node.stages;
        Ok(n)
    }
}

fn last_step(node: &mut Node) -> &mut Node {
    if matches!(&node.kind, Kind::Path(s) if !s.is_empty()) {
        match &mut node.kind {
            Kind::Path(steps) => {
                let n = steps.len();
                &mut steps[n - 1]
            }
            _ => node_unreachable(),
        }
    } else {
        node
    }
}

fn node_unreachable() -> &'static mut Node {
    unreachable!("checked to be a non-empty path")
}

fn tail_call_optimize(expr: Node) -> Node {
    match expr.kind {
        Kind::Call { .. } if expr.predicate.is_empty() && expr.group.is_none() => {
            let pos = expr.pos;
            Node::new(
                Kind::Lambda(Arc::new(LambdaDef {
                    params: Vec::new(),
                    body: expr,
                    signature: None,
                    thunk: true,
                })),
                pos,
            )
        }
        Kind::Cond(c, t, e) if expr.predicate.is_empty() && expr.group.is_none() => {
            let mut n = Node::new(
                Kind::Cond(
                    c,
                    Box::new(tail_call_optimize(*t)),
                    e.map(|e| Box::new(tail_call_optimize(*e))),
                ),
                expr.pos,
            );
            n.seeking_parent = expr.seeking_parent;
            n
        }
        Kind::Block(mut items) if expr.predicate.is_empty() && expr.group.is_none() => {
            if let Some(last) = items.pop() {
                items.push(tail_call_optimize(last));
            }
            let mut n = Node::new(Kind::Block(items), expr.pos);
            n.seeking_parent = expr.seeking_parent;
            n
        }
        _ => expr,
    }
}
