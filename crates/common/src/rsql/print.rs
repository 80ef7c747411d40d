//! Canonical RSQL: the text of a tree that parses back to the same tree. Operators take their FIQL
//! spelling (`=gt=`, so a URL needs no encoding), values are quoted only when they must be, and
//! parentheses appear only where precedence needs them.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Argument, Comparison, Expr, Part};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Comparison(comparison) => comparison.fmt(f),
            Expr::Or { operands, .. } => join(f, operands, ',', |_| false),
            // AND binds tighter than OR: an OR inside an AND needs its parentheses.
            Expr::And { operands, .. } => join(f, operands, ';', |operand| matches!(operand, Expr::Or { .. })),
        }
    }
}

fn join(f: &mut Formatter<'_>, operands: &[Expr], separator: char, needs_group: impl Fn(&Expr) -> bool) -> fmt::Result {
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            f.write_char(separator)?;
        }
        if needs_group(operand) {
            write!(f, "({operand})")?;
        } else {
            write!(f, "{operand}")?;
        }
    }
    Ok(())
}

impl Display for Comparison {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.selector.name, self.operator)?;
        if self.operator.takes_no_value() {
            Ok(())
        } else if self.operator.takes_list() {
            f.write_char('(')?;
            for (index, argument) in self.arguments.iter().enumerate() {
                if index > 0 {
                    f.write_char(',')?;
                }
                argument.fmt(f)?;
            }
            f.write_char(')')
        } else {
            self.arguments.iter().try_for_each(|argument| argument.fmt(f))
        }
    }
}

impl Display for Argument {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let plain = !self.parts.is_empty()
            && self.parts.iter().all(|part| match part {
                Part::Wildcard => true,
                // Unquoted, a `*` would be a wildcard; anything reserved would end the value.
                Part::Text(text) => text.chars().all(|c| c != '*' && !is_reserved(c)),
            });
        if plain {
            return f.write_str(&self.display_text());
        }
        f.write_char('"')?;
        for part in &self.parts {
            match part {
                Part::Wildcard => f.write_char('*')?,
                Part::Text(text) => {
                    for c in text.chars() {
                        if matches!(c, '"' | '\\' | '*') {
                            f.write_char('\\')?;
                        }
                        f.write_char(c)?;
                    }
                }
            }
        }
        f.write_char('"')
    }
}

/// The characters that cannot appear in an unquoted value or a selector.
pub fn is_reserved(c: char) -> bool {
    matches!(c, '"' | '\'' | '(' | ')' | ';' | ',' | '=' | '!' | '~' | '<' | '>' | ' ' | '\t' | '\r' | '\n')
}
