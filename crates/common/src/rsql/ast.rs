//! The syntax tree of an RSQL query. Every node keeps where it was written ([`Span`]) so that later
//! passes (selector names, typed values) can point at the exact place of a mistake.
//!
//! Equality ignores spans: two trees are equal when they mean the same query, wherever its parts
//! were written. That is what "print, then parse back to the same tree" is about.

use std::fmt;

/// Where a node was written: character (not byte) offsets into the query, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The 1-based character position that messages show.
    pub fn position(&self) -> usize {
        self.start + 1
    }
}

/// A query: comparisons combined with AND (`;` or ` and `) and OR (`,` or ` or `).
///
/// Nested operations of the same kind are flattened (`(a;b);c` is one AND of three), since AND and OR
/// are associative; an operation always has at least two operands.
#[derive(Debug, Clone)]
pub enum Expr {
    And { operands: Vec<Expr>, span: Span },
    Or { operands: Vec<Expr>, span: Span },
    Comparison(Comparison),
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Expr::And { operands: a, .. }, Expr::And { operands: b, .. })
            | (Expr::Or { operands: a, .. }, Expr::Or { operands: b, .. }) => a == b,
            (Expr::Comparison(a), Expr::Comparison(b)) => a == b,
            _ => false,
        }
    }
}

/// `selector operator arguments`, e.g. `priority=gt=1`, `status=in=(FINISHED,QUEUED)` or
/// `endTime=isnull=`.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub selector: Selector,
    pub operator: Operator,
    pub operator_span: Span,
    /// One value, one or more for `=in=` and `=out=`, none for `=isnull=` and `=notnull=`.
    pub arguments: Vec<Argument>,
    pub span: Span,
}

impl PartialEq for Comparison {
    fn eq(&self, other: &Self) -> bool {
        self.selector == other.selector && self.operator == other.operator && self.arguments == other.arguments
    }
}

/// The field a comparison is about, as written (resolving it is the query's consumer's business).
#[derive(Debug, Clone)]
pub struct Selector {
    pub name: String,
    pub span: Span,
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The comparison operators of RSQL. `>` and `=gt=` (and the other pairs) are the same operator.
/// `=isnull=` and `=notnull=` are not in the reference parser but in its users' (rsql-jpa and the
/// like), there with a dummy value; here they take none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Equal,
    NotEqual,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    In,
    Out,
    IsNull,
    NotNull,
}

impl Operator {
    pub const ALL: [Operator; 10] = [
        Operator::Equal,
        Operator::NotEqual,
        Operator::GreaterThan,
        Operator::GreaterOrEqual,
        Operator::LessThan,
        Operator::LessOrEqual,
        Operator::In,
        Operator::Out,
        Operator::IsNull,
        Operator::NotNull,
    ];

    /// The operator written as `text` (`==`, `=gt=`, `>`...), if it is one.
    pub fn from_symbol(text: &str) -> Option<Operator> {
        Some(match text {
            "==" => Operator::Equal,
            "!=" => Operator::NotEqual,
            "=gt=" | ">" => Operator::GreaterThan,
            "=ge=" | ">=" => Operator::GreaterOrEqual,
            "=lt=" | "<" => Operator::LessThan,
            "=le=" | "<=" => Operator::LessOrEqual,
            "=in=" => Operator::In,
            "=out=" => Operator::Out,
            "=isnull=" => Operator::IsNull,
            "=notnull=" => Operator::NotNull,
            _ => return None,
        })
    }

    /// The canonical spelling: the FIQL form, which needs no URL encoding.
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::GreaterThan => "=gt=",
            Operator::GreaterOrEqual => "=ge=",
            Operator::LessThan => "=lt=",
            Operator::LessOrEqual => "=le=",
            Operator::In => "=in=",
            Operator::Out => "=out=",
            Operator::IsNull => "=isnull=",
            Operator::NotNull => "=notnull=",
        }
    }

    /// The other spelling, where there is one.
    pub fn alias(self) -> Option<&'static str> {
        match self {
            Operator::GreaterThan => Some(">"),
            Operator::GreaterOrEqual => Some(">="),
            Operator::LessThan => Some("<"),
            Operator::LessOrEqual => Some("<="),
            _ => None,
        }
    }

    /// `=in=` and `=out=` take a list; the others take one value.
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::Out)
    }

    /// `=isnull=` and `=notnull=` take no value.
    pub fn takes_no_value(self) -> bool {
        matches!(self, Operator::IsNull | Operator::NotNull)
    }

    /// Whether the operator orders values (and so needs an ordered type).
    pub fn is_ordering(self) -> bool {
        matches!(self, Operator::GreaterThan | Operator::GreaterOrEqual | Operator::LessThan | Operator::LessOrEqual)
    }

    /// Every spelling, for messages: `==, !=, =gt= (>), ...`.
    pub fn all_spellings() -> String {
        Operator::ALL
            .iter()
            .map(|op| match op.alias() {
                Some(alias) => format!("{} ({alias})", op.symbol()),
                None => op.symbol().to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A piece of a value: text, or a `*` wildcard (any run of characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Wildcard,
}

/// One value of a comparison. Quoting and escapes are gone; what is left is literal text and
/// wildcards. Adjacent text is merged and empty text dropped, so equal values have equal parts.
#[derive(Debug, Clone)]
pub struct Argument {
    pub parts: Vec<Part>,
    pub span: Span,
}

impl PartialEq for Argument {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Argument {
    /// Builds a value from its parts, merging adjacent text.
    pub fn new(parts: impl IntoIterator<Item = Part>, span: Span) -> Argument {
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, Part::Text(text)) if text.is_empty() => {}
                (Some(Part::Text(last)), Part::Text(text)) => last.push_str(&text),
                (_, part) => merged.push(part),
            }
        }
        Argument { parts: merged, span }
    }

    /// A value without wildcards.
    pub fn literal(text: impl Into<String>) -> Argument {
        Argument::new([Part::Text(text.into())], Span::default())
    }

    /// The text of a value without wildcards; `None` if it has one.
    pub fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Text(piece) => text.push_str(piece),
                Part::Wildcard => return None,
            }
        }
        Some(text)
    }

    /// The value as a user would read it, wildcards as `*` (for messages).
    pub fn display_text(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Wildcard => "*",
            })
            .collect()
    }

    /// Whether `text` is what this value describes: equal to it without wildcards, matched by the
    /// pattern with them (a wildcard stands for any run of characters, none included).
    pub fn matches(&self, text: &str) -> bool {
        // Each piece of text between wildcards, found in order, leftmost first: the first piece
        // must start the text and the last end it unless a wildcard stands there.
        let mut rest = text;
        let mut anchored = true;
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                Part::Wildcard => anchored = false,
                Part::Text(piece) if index + 1 == self.parts.len() => {
                    return if anchored { rest == piece } else { rest.ends_with(piece.as_str()) };
                }
                Part::Text(piece) if anchored => match rest.strip_prefix(piece.as_str()) {
                    Some(after) => rest = after,
                    None => return false,
                },
                Part::Text(piece) => match rest.find(piece.as_str()) {
                    Some(at) => rest = &rest[at + piece.len()..],
                    None => return false,
                },
            }
        }
        !anchored || rest.is_empty()
    }

    /// The value as an SQL `LIKE` pattern with `\` as the escape character: a wildcard becomes `%`,
    /// and `%`, `_` and `\` in the text stay literal.
    pub fn to_like_pattern(&self) -> String {
        let mut pattern = String::new();
        for part in &self.parts {
            match part {
                Part::Wildcard => pattern.push('%'),
                Part::Text(text) => {
                    for c in text.chars() {
                        if matches!(c, '%' | '_' | '\\') {
                            pattern.push('\\');
                        }
                        pattern.push(c);
                    }
                }
            }
        }
        pattern
    }
}
