//! From query text to [`Expr`]: a quick scan for what pest reports poorly (unclosed quotes, runaway
//! nesting), the pest grammar (`grammar.pest`), then the tree with character spans.

use pest::Parser as _;
use pest::error::InputLocation;
use pest::iterators::Pair;

use super::ast::{Argument, Comparison, Expr, Operator, Part, Selector, Span};
use super::error::{Expected, ParseError, ParseErrorKind};

/// How deep parentheses may nest. Deeper queries are refused before parsing, so that no input can
/// exhaust the stack of the recursive-descent parser.
pub const MAX_DEPTH: usize = 32;

#[derive(pest_derive::Parser)]
#[grammar = "rsql/grammar.pest"]
struct Grammar;

/// Parses an RSQL query.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    let offsets = CharOffsets::new(query);
    scan(query, &offsets)?;
    let mut pairs = Grammar::parse(Rule::query, query).map_err(|error| syntax_error(query, &offsets, &error))?;
    let or_expr = pairs
        .next()
        .and_then(|query| query.into_inner().next())
        .ok_or_else(|| ParseError { kind: ParseErrorKind::Empty, span: Span::default() })?;
    Builder { query, offsets: &offsets }.or_expr(or_expr)
}

/// Byte offset to character offset, for spans that users can count.
struct CharOffsets(Vec<usize>);

impl CharOffsets {
    fn new(text: &str) -> Self {
        let mut offsets = vec![0; text.len() + 1];
        for (chars, (byte, c)) in text.char_indices().enumerate() {
            for slot in &mut offsets[byte..byte + c.len_utf8()] {
                *slot = chars;
            }
        }
        offsets[text.len()] = text.chars().count();
        CharOffsets(offsets)
    }

    fn at(&self, byte: usize) -> usize {
        self.0.get(byte).copied().unwrap_or_else(|| self.0.last().copied().unwrap_or(0))
    }

    fn span(&self, span: pest::Span<'_>) -> Span {
        Span { start: self.at(span.start()), end: self.at(span.end()) }
    }
}

/// Finds an empty query, an unclosed quote or nesting deeper than [`MAX_DEPTH`].
fn scan(query: &str, offsets: &CharOffsets) -> Result<(), ParseError> {
    // The grammar's blanks, not Unicode's: any other space is an ordinary character.
    if query.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
        return Err(ParseError { kind: ParseErrorKind::Empty, span: Span::default() });
    }
    let mut depth = 0usize;
    let mut chars = query.char_indices();
    while let Some((byte, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut closed = false;
                while let Some((_, inner)) = chars.next() {
                    if inner == '\\' {
                        chars.next();
                    } else if inner == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    let start = offsets.at(byte);
                    let span = Span { start, end: offsets.at(query.len()) };
                    return Err(ParseError { kind: ParseErrorKind::UnterminatedQuote { quote: c }, span });
                }
            }
            '(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let start = offsets.at(byte);
                    let span = Span { start, end: start + 1 };
                    return Err(ParseError { kind: ParseErrorKind::TooDeep { max: MAX_DEPTH }, span });
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Turns pest's report into what a user can act on: what could stand at the place, and what does.
fn syntax_error(query: &str, offsets: &CharOffsets, error: &pest::error::Error<Rule>) -> ParseError {
    let byte = match error.location {
        InputLocation::Pos(byte) | InputLocation::Span((byte, _)) => byte,
    };
    let found = query.get(byte..).and_then(|rest| rest.chars().next());
    let mut expected: Vec<Expected> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().flat_map(|rule| expected_for(*rule)).copied().collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort();
    expected.dedup();
    let start = offsets.at(byte);
    let end = start + usize::from(found.is_some());
    ParseError { kind: ParseErrorKind::Unexpected { expected, found }, span: Span { start, end } }
}

fn expected_for(rule: Rule) -> &'static [Expected] {
    match rule {
        // pest names the outermost rule that failed where it started: a whole constraint was expected.
        Rule::or_expr | Rule::and_expr => &[Expected::Selector, Expected::Open],
        Rule::selector | Rule::comparison => &[Expected::Selector],
        Rule::open | Rule::group => &[Expected::Open],
        Rule::operator => &[Expected::Operator],
        Rule::unquoted | Rule::double_quoted | Rule::single_quoted => &[Expected::Value],
        Rule::value_sep => &[Expected::ValueSeparator],
        Rule::close => &[Expected::Close],
        Rule::and_op | Rule::and_word => &[Expected::And],
        Rule::or_op | Rule::or_word => &[Expected::Or],
        Rule::EOI => &[Expected::End],
        _ => &[],
    }
}

/// Builds the tree from pest's pairs. The grammar guarantees each pair's shape, so a missing child
/// cannot happen; it still becomes an error rather than a panic.
struct Builder<'a> {
    query: &'a str,
    offsets: &'a CharOffsets,
}

impl Builder<'_> {
    fn or_expr(&self, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
        let span = self.offsets.span(pair.as_span());
        let operands = pair
            .into_inner()
            .filter_map(|pair| match pair.as_rule() {
                Rule::and_expr => Some(self.and_expr(pair)),
                _ => self.keyword_blank(&pair).err().map(Err),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combine(
            operands,
            span,
            |operands, span| Expr::Or { operands, span },
            |e| match e {
                Expr::Or { operands, .. } => Ok(operands),
                other => Err(other),
            },
        ))
    }

    fn and_expr(&self, pair: Pair<'_, Rule>) -> Result<Expr, ParseError> {
        let span = self.offsets.span(pair.as_span());
        let operands = pair
            .into_inner()
            .filter_map(|constraint| match constraint.as_rule() {
                Rule::group => Some(self.group_content(constraint).and_then(|content| self.or_expr(content))),
                Rule::comparison => Some(self.comparison(constraint).map(Expr::Comparison)),
                _ => self.keyword_blank(&constraint).err().map(Err),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combine(
            operands,
            span,
            |operands, span| Expr::And { operands, span },
            |e| match e {
                Expr::And { operands, .. } => Ok(operands),
                other => Err(other),
            },
        ))
    }

    fn comparison(&self, pair: Pair<'_, Rule>) -> Result<Comparison, ParseError> {
        let span = self.offsets.span(pair.as_span());
        let mut inner = pair.into_inner();
        let Some(selector) = inner.next() else { return Err(self.malformed(span)) };
        let selector = Selector { name: selector.as_str().to_owned(), span: self.offsets.span(selector.as_span()) };
        let Some(operator) = inner.next() else { return Err(self.malformed(span)) };
        if operator.as_rule() == Rule::null_check {
            return self.null_check(selector, operator, span);
        }
        let Some(arguments) = inner.next() else { return Err(self.malformed(span)) };
        let operator_span = self.offsets.span(operator.as_span());
        let Some(op) = Operator::from_symbol(operator.as_str()) else {
            let kind = ParseErrorKind::UnknownOperator { operator: operator.as_str().to_owned() };
            return Err(ParseError { kind, span: operator_span });
        };
        let arguments_span = self.offsets.span(arguments.as_span());
        let arguments: Vec<Argument> = match arguments.as_rule() {
            Rule::list => arguments
                .into_inner()
                .filter(|pair| !matches!(pair.as_rule(), Rule::open | Rule::value_sep | Rule::close))
                .map(|value| self.value(value))
                .collect(),
            _ => vec![self.value(arguments)],
        };
        if !op.takes_list() && arguments.len() > 1 {
            let kind = ParseErrorKind::ListForSingleValue { operator: op, count: arguments.len() };
            return Err(ParseError { kind, span: arguments_span });
        }
        Ok(Comparison { selector, operator: op, operator_span, arguments, span })
    }

    /// `=isnull=` or `=notnull=`, refused with a value after it.
    fn null_check(&self, selector: Selector, check: Pair<'_, Rule>, span: Span) -> Result<Comparison, ParseError> {
        let mut inner = check.into_inner();
        let Some(operator) = inner.next() else { return Err(self.malformed(span)) };
        let operator_span = self.offsets.span(operator.as_span());
        let Some(op) = Operator::from_symbol(operator.as_str()) else { return Err(self.malformed(span)) };
        if let Some(value) = inner.next() {
            let kind = ParseErrorKind::ValueAfterNullCheck { operator: op };
            return Err(ParseError { kind, span: self.offsets.span(value.as_span()) });
        }
        Ok(Comparison { selector, operator: op, operator_span, arguments: Vec::new(), span })
    }

    /// A keyword (` and `, ` or `) needs a blank before it, as after it; `;` and `,` need none.
    fn keyword_blank(&self, operator: &Pair<'_, Rule>) -> Result<(), ParseError> {
        let is_keyword = operator.clone().into_inner().next().is_some();
        let before = self.query[..operator.as_span().start()].chars().next_back();
        if !is_keyword || before.is_some_and(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
            return Ok(());
        }
        let kind = ParseErrorKind::NoBlankBeforeKeyword { keyword: operator.as_str().to_owned() };
        Err(ParseError { kind, span: self.offsets.span(operator.as_span()) })
    }

    fn value(&self, pair: Pair<'_, Rule>) -> Argument {
        let span = self.offsets.span(pair.as_span());
        match pair.as_rule() {
            Rule::unquoted => Argument::new(unquoted_parts(pair.as_str()), span),
            // A quoted value's only child is its text between the quotes.
            _ => Argument::new(quoted_parts(pair.into_inner().as_str()), span),
        }
    }

    fn group_content<'i>(&self, group: Pair<'i, Rule>) -> Result<Pair<'i, Rule>, ParseError> {
        let span = self.offsets.span(group.as_span());
        group.into_inner().find(|pair| pair.as_rule() == Rule::or_expr).ok_or_else(|| self.malformed(span))
    }

    fn malformed(&self, span: Span) -> ParseError {
        ParseError { kind: ParseErrorKind::Unexpected { expected: Vec::new(), found: None }, span }
    }
}

/// One operand stands for itself; several become one operation, with same-kind operations flattened.
fn combine(
    operands: Vec<Expr>,
    span: Span,
    make: fn(Vec<Expr>, Span) -> Expr,
    same_kind: fn(Expr) -> Result<Vec<Expr>, Expr>,
) -> Expr {
    if operands.len() == 1 {
        return operands.into_iter().next().unwrap_or_else(|| make(Vec::new(), span));
    }
    let mut flat = Vec::with_capacity(operands.len());
    for operand in operands {
        match same_kind(operand) {
            Ok(nested) => flat.extend(nested),
            Err(other) => flat.push(other),
        }
    }
    make(flat, span)
}

/// Unquoted, every `*` is a wildcard and a backslash is an ordinary character.
fn unquoted_parts(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    for (index, piece) in text.split('*').enumerate() {
        if index > 0 {
            parts.push(Part::Wildcard);
        }
        parts.push(Part::Text(piece.to_owned()));
    }
    parts
}

/// Quoted, a backslash makes the next character literal (`\*` is a star, `\"` a quote) and a bare `*`
/// is a wildcard.
fn quoted_parts(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => literal.extend(chars.next()),
            '*' => {
                parts.push(Part::Text(std::mem::take(&mut literal)));
                parts.push(Part::Wildcard);
            }
            c => literal.push(c),
        }
    }
    parts.push(Part::Text(literal));
    parts
}
