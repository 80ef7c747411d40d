//! What went wrong in a query, and where, in words a user understands.

use std::fmt;

use super::ast::{Operator, Span};

/// A query that could not be parsed: the kind of mistake and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub span: Span,
}

/// The kinds of mistakes, each with what a message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Nothing but blanks.
    Empty,
    /// Something other than what may stand there; `found` is `None` at the end of the query.
    Unexpected { expected: Vec<Expected>, found: Option<char> },
    /// A quoted value that is never closed.
    UnterminatedQuote { quote: char },
    /// A `=word=` that is not one of RSQL's operators.
    UnknownOperator { operator: String },
    /// A list given to an operator that compares with one value.
    ListForSingleValue { operator: Operator, count: usize },
    /// Parentheses nested deeper than the parser follows.
    TooDeep { max: usize },
    /// A value after `=isnull=` or `=notnull=`, which take none.
    ValueAfterNullCheck { operator: Operator },
    /// ` and ` or ` or ` written right after a quote or a parenthesis: the keywords stand between
    /// blanks.
    NoBlankBeforeKeyword { keyword: String },
}

/// What the parser would have accepted at the place of an [`ParseErrorKind::Unexpected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    Selector,
    Open,
    Operator,
    Value,
    ValueSeparator,
    And,
    Or,
    Close,
    End,
}

impl Expected {
    fn describe(self) -> &'static str {
        match self {
            Expected::Selector => "a selector (a field name such as jobOwner)",
            Expected::Open => "`(`",
            Expected::Operator => "a comparison operator (==, !=, =gt=, =in=, ...)",
            Expected::Value => "a value",
            Expected::ValueSeparator => "`,` before another value",
            Expected::And => "`;` (and)",
            Expected::Or => "`,` (or)",
            Expected::Close => "`)`",
            Expected::End => "the end of the query",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.span.position();
        match &self.kind {
            ParseErrorKind::Empty => write!(f, "the query is empty"),
            ParseErrorKind::Unexpected { expected, found } => {
                let words: Vec<&str> = expected.iter().map(|e| e.describe()).collect();
                let expected = match words.split_last() {
                    Some((last, [])) => (*last).to_owned(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => "something else".to_owned(),
                };
                match found {
                    Some(c) => write!(f, "expected {expected} at character {at}, but found `{c}`"),
                    None => write!(f, "expected {expected} at character {at}, but the query ends there"),
                }
            }
            ParseErrorKind::UnterminatedQuote { quote } => {
                write!(f, "the quote {quote} opened at character {at} is never closed")
            }
            ParseErrorKind::UnknownOperator { operator } => write!(
                f,
                "unknown operator `{operator}` at character {at}; the operators are {}",
                Operator::all_spellings()
            ),
            ParseErrorKind::ListForSingleValue { operator, count } => write!(
                f,
                "the operator `{operator}` takes one value, but a list of {count} starts at character {at}; \
                 use =in= or =out= to compare with a list"
            ),
            ParseErrorKind::TooDeep { max } => {
                write!(f, "parentheses are nested more than {max} deep at character {at}")
            }
            ParseErrorKind::ValueAfterNullCheck { operator } => write!(
                f,
                "`{operator}` takes no value, but one is written at character {at}; write the selector and \
                 `{operator}` alone, as in endTime{operator}"
            ),
            ParseErrorKind::NoBlankBeforeKeyword { keyword } => write!(
                f,
                "`{keyword}` at character {at} needs a blank before it, as the keywords and and or stand between \
                 blanks (`;` and `,` need none)"
            ),
        }
    }
}

impl std::error::Error for ParseError {}
