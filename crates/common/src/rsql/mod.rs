//! The RSQL query language (after jirutka/rsql-parser), as the job history's `q` parameter takes it.
//!
//! [`parse`] gives a tree ([`Expr`]) whose every node knows where it was written; printing a tree
//! ([`std::fmt::Display`]) gives canonical RSQL that parses back to the same tree. What a selector
//! means and which type its values have is the consumer's business: [`value`] converts a value to
//! the types the history uses.

mod ast;
mod error;
mod parser;
mod print;
pub mod value;

pub use ast::{Argument, Comparison, Expr, Operator, Part, Selector, Span};
pub use error::{Expected, ParseError, ParseErrorKind};
pub use parser::{MAX_DEPTH, parse};
pub use print::is_reserved;
