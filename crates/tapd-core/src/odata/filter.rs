//! `$filter` as Graph reads it: a pure parser from the option's text to a typed expression over
//! one resource's properties, and the canonical text of an expression (parsing it gives the same
//! expression back).
//!
//! Grammar (OData precedence: `not` binds tighter than `and`, `and` tighter than `or`):
//! ```text
//! or      := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" or ")" | "startswith" "(" property "," literal ")"
//!          | property ("eq"|"ne"|"gt"|"ge"|"lt"|"le") literal
//!          | property "in" "(" literal ("," literal)* ")"
//! ```

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Kind, Property, Resource, unsupported_clause};
use crate::{DomainError, format_time, parse_time, whole_microseconds};

/// How deep parentheses and `not` may nest, and how many comparisons one filter may hold: the
/// bound on the work (and the stack) one request's filter can take.
const MAX_DEPTH: usize = 16;
const MAX_TERMS: usize = 64;
/// Values in one `in (…)` list (Graph allows 15 on most properties).
pub const MAX_IN_VALUES: usize = 15;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn parse(word: &str) -> Option<CmpOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }

    /// Ordering comparisons, which only dates support.
    fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

/// A literal, already checked against the type of the property it is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    Text(String),
    Bool(bool),
    Time(OffsetDateTime),
    Guid(Uuid),
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare {
        property: &'static str,
        op: CmpOp,
        value: Literal,
    },
    StartsWith {
        property: &'static str,
        prefix: String,
    },
    In {
        property: &'static str,
        values: Vec<Literal>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Comma,
    Str(String),
    Word(String),
}

fn invalid(text: &str, why: &str) -> DomainError {
    DomainError::BadRequest(format!("Invalid filter clause: {why} in '{text}'."))
}

fn tokens(text: &str) -> Result<Vec<Token>, DomainError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) if chars.peek().map(|p| p.1) == Some('\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some((_, '\'')) => break,
                        Some((_, c)) => s.push(c),
                        None => return Err(invalid(text, "unterminated string literal")),
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || "(),'".contains(c) {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                out.push(Token::Word(text[i..end].to_string()));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    resource: &'a Resource,
    tokens: Vec<Token>,
    at: usize,
    terms: usize,
}

/// Parses `$filter` over `resource`'s properties. Anything it doesn't support — an unknown
/// property, an operator the property doesn't allow, a literal of the wrong type, a function
/// other than `startswith` — is a 400 that says which.
pub fn parse_filter(text: &str, resource: &Resource) -> Result<Filter, DomainError> {
    let mut p = Parser {
        text,
        resource,
        tokens: tokens(text)?,
        at: 0,
        terms: 0,
    };
    if p.tokens.is_empty() {
        return Err(DomainError::BadRequest(
            "The $filter option is empty.".into(),
        ));
    }
    let filter = p.or(0)?;
    match p.tokens.get(p.at) {
        None => Ok(filter),
        Some(t) => Err(invalid(text, &format!("unexpected {}", describe(t)))),
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Comma => "','".into(),
        Token::Str(s) => format!("string '{s}'"),
        Token::Word(w) => format!("'{w}'"),
    }
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Token) -> Result<(), DomainError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(invalid(
                self.text,
                &format!("expected {} but found {}", describe(&want), describe(&t)),
            )),
            None => Err(invalid(
                self.text,
                &format!("expected {} at the end", describe(&want)),
            )),
        }
    }

    fn deeper(&self, depth: usize) -> Result<usize, DomainError> {
        if depth >= MAX_DEPTH {
            return Err(invalid(self.text, "too deeply nested"));
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<Filter, DomainError> {
        let depth = self.deeper(depth)?;
        let mut left = self.and(depth)?;
        while self.peek_word("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, DomainError> {
        let mut left = self.unary(depth)?;
        while self.peek_word("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, DomainError> {
        if self.peek_word("not") {
            self.at += 1;
            let depth = self.deeper(depth)?;
            return Ok(Filter::Not(Box::new(self.unary(depth)?)));
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(invalid(self.text, "too many conditions"));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or(depth)?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("startswith") => self.startswith(),
            Some(Token::Word(w)) if matches!(self.tokens.get(self.at), Some(Token::Open)) => {
                Err(DomainError::BadRequest(format!(
                    "The function '{w}' is not supported in $filter: tapd supports startswith."
                )))
            }
            Some(Token::Word(w)) => self.comparison(&w),
            Some(t) => Err(invalid(self.text, &format!("unexpected {}", describe(&t)))),
            None => Err(invalid(self.text, "a condition is missing at the end")),
        }
    }

    fn property(&self, name: &str) -> Result<&'static Property, DomainError> {
        self.resource
            .property(name)
            .filter(|p| p.filter)
            .ok_or_else(|| unsupported_clause(name, self.resource))
    }

    fn startswith(&mut self) -> Result<Filter, DomainError> {
        self.expect(Token::Open)?;
        let name = match self.next() {
            Some(Token::Word(w)) => w,
            _ => return Err(invalid(self.text, "startswith needs a property first")),
        };
        let property = self.property(&name)?;
        self.expect(Token::Comma)?;
        let prefix = match self.next() {
            Some(Token::Str(s)) if property.kind == Kind::Text => s,
            _ => return Err(unsupported_clause(&name, self.resource)),
        };
        self.expect(Token::Close)?;
        Ok(Filter::StartsWith {
            property: property.name,
            prefix,
        })
    }

    fn comparison(&mut self, name: &str) -> Result<Filter, DomainError> {
        let property = self.property(name)?;
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => return self.in_list(property),
            Some(Token::Word(w)) => CmpOp::parse(&w),
            _ => None,
        }
        .ok_or_else(|| invalid(self.text, &format!("no operator after '{name}'")))?;
        if op.is_ordering() && property.kind != Kind::Time {
            return Err(unsupported_clause(name, self.resource));
        }
        let token = self.next();
        let value = self.literal(property, token)?;
        if value == Literal::Null && op.is_ordering() {
            return Err(unsupported_clause(name, self.resource));
        }
        Ok(Filter::Compare {
            property: property.name,
            op,
            value,
        })
    }

    fn in_list(&mut self, property: &'static Property) -> Result<Filter, DomainError> {
        self.expect(Token::Open)?;
        let mut values = Vec::new();
        loop {
            let token = self.next();
            match self.literal(property, token)? {
                Literal::Null => return Err(unsupported_clause(property.name, self.resource)),
                v => values.push(v),
            }
            if values.len() > MAX_IN_VALUES {
                return Err(DomainError::BadRequest(format!(
                    "Too many values in 'in': at most {MAX_IN_VALUES}."
                )));
            }
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => break,
                _ => return Err(invalid(self.text, "an 'in' list must end with ')'")),
            }
        }
        Ok(Filter::In {
            property: property.name,
            values,
        })
    }

    /// The literal, checked against the property's type.
    fn literal(&self, p: &Property, token: Option<Token>) -> Result<Literal, DomainError> {
        let mismatch = || {
            DomainError::BadRequest(format!(
                "A binary operator with incompatible types was detected: the value for \
                 '{}' must be {}.",
                p.name,
                p.kind.describe()
            ))
        };
        match (token, p.kind) {
            (Some(Token::Word(w)), _) if w == "null" => {
                if p.nullable {
                    Ok(Literal::Null)
                } else {
                    Err(unsupported_clause(p.name, self.resource))
                }
            }
            (Some(Token::Str(s)), Kind::Text) => Ok(Literal::Text(s)),
            (Some(Token::Str(s)), Kind::Enum(values)) => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(&s))
                .map(|v| Literal::Text((*v).to_string()))
                .ok_or_else(|| {
                    DomainError::BadRequest(format!(
                        "'{s}' is not a value of '{}': use one of {}.",
                        p.name,
                        values.join(", ")
                    ))
                }),
            (Some(Token::Str(s)), Kind::Guid) => {
                s.parse().map(Literal::Guid).map_err(|_| mismatch())
            }
            (Some(Token::Word(w)), Kind::Bool) => match w.as_str() {
                "true" => Ok(Literal::Bool(true)),
                "false" => Ok(Literal::Bool(false)),
                _ => Err(mismatch()),
            },
            // Whole microseconds, as the store keeps and compares dates: a finer literal would
            // select the same rows but not survive its canonical text.
            (Some(Token::Word(w)), Kind::Time) => parse_time(p.name, &w)
                .map(whole_microseconds)
                .map(Literal::Time),
            (Some(_), _) => Err(mismatch()),
            (None, _) => Err(invalid(self.text, "a value is missing at the end")),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Time(t) => f.write_str(&format_time(*t)),
            Literal::Guid(g) => write!(f, "'{g}'"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// The canonical text: parentheses only where the tree needs them (an `or` inside an `and`, an
/// `and`/`or` under `not`, a right operand of the same operator), so parsing it gives the same
/// tree — and, since the text it came from needed them too, within the same depth and term
/// bounds. Parenthesizing every `and`/`or` would turn a flat chain of 16 `or`s into 16 nested
/// levels, which the parser refuses.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, Binding::Or)
    }
}

/// How tightly an expression binds, loosest first: what an operand must bind at least as
/// tightly as to go without parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Binding {
    Or,
    And,
    Unary,
}

impl Filter {
    fn binding(&self) -> Binding {
        match self {
            Filter::Or(..) => Binding::Or,
            Filter::And(..) => Binding::And,
            _ => Binding::Unary,
        }
    }

    /// Writes this filter where an operand must bind at least as tightly as `at`.
    fn write(&self, f: &mut fmt::Formatter<'_>, at: Binding) -> fmt::Result {
        if self.binding() < at {
            f.write_str("(")?;
            self.write(f, Binding::Or)?;
            return f.write_str(")");
        }
        match self {
            // Both operators group to the left, so only a right operand of the same kind needs
            // parentheses.
            Filter::Or(a, b) => {
                a.write(f, Binding::Or)?;
                f.write_str(" or ")?;
                b.write(f, Binding::And)
            }
            Filter::And(a, b) => {
                a.write(f, Binding::And)?;
                f.write_str(" and ")?;
                b.write(f, Binding::Unary)
            }
            Filter::Not(a) => {
                f.write_str("not ")?;
                a.write(f, Binding::Unary)
            }
            Filter::Compare {
                property,
                op,
                value,
            } => write!(f, "{property} {} {value}", op.as_str()),
            Filter::StartsWith { property, prefix } => {
                write!(
                    f,
                    "startswith({property}, {})",
                    Literal::Text(prefix.clone())
                )
            }
            Filter::In { property, values } => {
                let list: Vec<String> = values.iter().map(Literal::to_string).collect();
                write!(f, "{property} in ({})", list.join(", "))
            }
        }
    }
}
