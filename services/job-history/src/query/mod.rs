//! From an RSQL tree to an SQL condition over `jobs j`, with every value bound as a parameter.
//!
//! Meaning, beyond SQL's own null rule (a null never matches, `!=` and `=out=` included):
//! - a `*` in a text value makes a `LIKE` in which only `*` is special; in a status (`exitStatus`,
//!   `status`) it stands for the names it matches (`*ERROR`), and must match one;
//! - `=isnull=` and `=notnull=` ask whether the field has a value; a list has one when it has an
//!   element (an empty list, no status, a parameter without values: `=isnull=`);
//! - list fields (`status`, `submissionMachines`, `paramValue`) match when an element does; their
//!   `!=` and `=out=` are the negations: the list is not empty and no element matches;
//! - inside one AND group, the `algorithm*` and `param*` comparisons hold for the same algorithm and
//!   the same parameter (of that algorithm): one `EXISTS` over them, so nothing fans out. A selector
//!   named again starts the next parameter: `paramLabel==A;paramValue==1;paramLabel==B` asks for a
//!   parameter A of value 1 and a parameter B.

pub mod limits;
pub mod selectors;

use chrono::{DateTime, Utc};
use common::rsql::value::{TypedValue, ValueError, ValueType};
use common::rsql::{Comparison, Expr, Operator, ParseError, Span};

use limits::{Limit, QueryLimits, TooLarge};
use selectors::{Scope, Selector};

/// A value bound to a `$n` parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Texts(Vec<String>),
    Integer(i64),
    Decimal(f64),
    Boolean(bool),
    Instant(DateTime<Utc>),
}

/// SQL text with `$1`, `$2`... and the values that go with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    /// Adds a value and returns its placeholder.
    pub fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

/// Why a query cannot be run, and where.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    Parse(ParseError),
    Value(ValueError),
    UnknownSelector {
        name: String,
        span: Span,
    },
    /// An ordering operator on a type without order (booleans, statuses).
    Unordered {
        operator: Operator,
        selector: &'static str,
        value_type: ValueType,
        span: Span,
    },
    /// A wildcard with an ordering operator.
    WildcardOrdering {
        operator: Operator,
        span: Span,
    },
    /// The query asks more than one of its bounds allows.
    TooLarge(TooLarge),
}

impl QueryError {
    pub fn span(&self) -> Span {
        match self {
            QueryError::Parse(error) => error.span,
            QueryError::Value(error) => error.span,
            QueryError::TooLarge(error) => error.span,
            QueryError::UnknownSelector { span, .. }
            | QueryError::Unordered { span, .. }
            | QueryError::WildcardOrdering { span, .. } => *span,
        }
    }
}

/// The condition of `q` over `jobs j`, its values starting at `$1`, if the query stays within
/// `limits`.
pub fn condition(query: &Expr, limits: &QueryLimits) -> Result<Sql, QueryError> {
    check_comparisons(query, limits)?;
    let mut sql = Sql::default();
    sql.text = expr(&mut sql, query, limits)?;
    Ok(sql)
}

/// Refuses a query of more comparisons than allowed, at the first one too many.
fn check_comparisons(query: &Expr, limits: &QueryLimits) -> Result<(), QueryError> {
    fn walk<'a>(query: &'a Expr, found: &mut Vec<&'a Comparison>) {
        match query {
            Expr::And { operands, .. } | Expr::Or { operands, .. } => operands.iter().for_each(|o| walk(o, found)),
            Expr::Comparison(comparison) => found.push(comparison),
        }
    }
    let mut comparisons = Vec::new();
    walk(query, &mut comparisons);
    match comparisons.get(limits.comparisons) {
        Some(first_too_many) => Err(QueryError::TooLarge(TooLarge {
            limit: Limit::Comparisons,
            actual: comparisons.len(),
            max: limits.comparisons,
            span: first_too_many.span,
        })),
        None => Ok(()),
    }
}

fn expr(sql: &mut Sql, query: &Expr, limits: &QueryLimits) -> Result<String, QueryError> {
    match query {
        Expr::Or { operands, .. } => {
            let parts = operands.iter().map(|operand| expr(sql, operand, limits)).collect::<Result<Vec<_>, _>>()?;
            Ok(format!("({})", parts.join(" OR ")))
        }
        Expr::And { operands, .. } => {
            let mut parts = Vec::new();
            let mut correlated: Vec<Vec<(&Comparison, &Selector)>> = Vec::new();
            // The subqueries that Postgres joins for this AND: one per parameter or algorithm
            // described, one per comparison on the statuses.
            let mut subqueries = 0;
            for operand in operands {
                match operand {
                    Expr::Comparison(comparison) => {
                        let selector = resolve(comparison)?;
                        let starts_subquery = match selector.scope {
                            Scope::Algorithm | Scope::Parameter => {
                                let repeated = correlated
                                    .last()
                                    .is_none_or(|set| set.iter().any(|(_, known)| known.name == selector.name));
                                if repeated {
                                    correlated.push(Vec::new());
                                }
                                correlated.last_mut().into_iter().for_each(|set| set.push((comparison, selector)));
                                repeated
                            }
                            Scope::Status => true,
                            Scope::Job => false,
                        };
                        if starts_subquery {
                            subqueries += 1;
                            limits
                                .check(Limit::Subqueries, subqueries, comparison.span)
                                .map_err(QueryError::TooLarge)?;
                        }
                        if !matches!(selector.scope, Scope::Algorithm | Scope::Parameter) {
                            parts.push(comparison_sql(sql, comparison, selector, limits)?);
                        }
                    }
                    other => parts.push(expr(sql, other, limits)?),
                }
            }
            for set in &correlated {
                parts.push(algorithm_exists(sql, set, limits)?);
            }
            Ok(format!("({})", parts.join(" AND ")))
        }
        Expr::Comparison(comparison) => {
            let selector = resolve(comparison)?;
            match selector.scope {
                Scope::Algorithm | Scope::Parameter => algorithm_exists(sql, &[(comparison, selector)], limits),
                Scope::Job | Scope::Status => comparison_sql(sql, comparison, selector, limits),
            }
        }
    }
}

fn resolve(comparison: &Comparison) -> Result<&'static Selector, QueryError> {
    selectors::find(&comparison.selector.name).ok_or_else(|| QueryError::UnknownSelector {
        name: comparison.selector.name.clone(),
        span: comparison.selector.span,
    })
}

/// The comparison's values in the selector's type, after checking that the operator fits.
fn typed_values(
    comparison: &Comparison,
    selector: &Selector,
    limits: &QueryLimits,
) -> Result<Vec<TypedValue>, QueryError> {
    let operator = comparison.operator;
    if operator.takes_no_value() {
        return Ok(Vec::new());
    }
    if let Some(first_too_many) = comparison.arguments.get(limits.list_values) {
        return Err(QueryError::TooLarge(TooLarge {
            limit: Limit::ListValues,
            actual: comparison.arguments.len(),
            max: limits.list_values,
            span: first_too_many.span,
        }));
    }
    if operator.is_ordering() && !selector.value_type.is_ordered() {
        return Err(QueryError::Unordered {
            operator,
            selector: selector.name,
            value_type: selector.value_type,
            span: comparison.operator_span,
        });
    }
    comparison
        .arguments
        .iter()
        .map(|argument| {
            let value = argument.to_typed(selector.value_type).map_err(QueryError::Value)?;
            if operator.is_ordering() && matches!(value, TypedValue::Pattern(_)) {
                return Err(QueryError::WildcardOrdering { operator, span: argument.span });
            }
            Ok(value)
        })
        .collect()
}

/// A comparison on a column of `jobs` or on the statuses.
fn comparison_sql(
    sql: &mut Sql,
    comparison: &Comparison,
    selector: &Selector,
    limits: &QueryLimits,
) -> Result<String, QueryError> {
    let values = typed_values(comparison, selector, limits)?;
    Ok(match selector.scope {
        Scope::Status => status_sql(sql, comparison.operator, &values),
        _ => column_sql(sql, &format!("j.\"{}\"", selector.column), selector.list, comparison.operator, &values),
    })
}

/// One `EXISTS` over the job's algorithms (and their parameters) for comparisons that must hold for
/// the same algorithm and the same parameter.
fn algorithm_exists(
    sql: &mut Sql,
    comparisons: &[(&Comparison, &Selector)],
    limits: &QueryLimits,
) -> Result<String, QueryError> {
    let on_parameters = comparisons.iter().any(|(_, s)| s.scope == Scope::Parameter);
    let on_algorithms = comparisons.iter().any(|(_, s)| s.scope == Scope::Algorithm);
    let from = match (on_algorithms, on_parameters) {
        (true, true) => "job_algorithms a JOIN job_parameters p ON p.algorithm = a.id WHERE a.job_id = j.job_id",
        (false, true) => "job_parameters p WHERE p.job_id = j.job_id",
        _ => "job_algorithms a WHERE a.job_id = j.job_id",
    };
    let mut conditions = Vec::with_capacity(comparisons.len());
    for (comparison, selector) in comparisons {
        let values = typed_values(comparison, selector, limits)?;
        let alias = if selector.scope == Scope::Parameter { "p" } else { "a" };
        let column = format!("{alias}.\"{}\"", selector.column);
        conditions.push(column_sql(sql, &column, selector.list, comparison.operator, &values));
    }
    Ok(format!("EXISTS (SELECT 1 FROM {from} AND {})", conditions.join(" AND ")))
}

fn column_sql(sql: &mut Sql, column: &str, list: bool, operator: Operator, values: &[TypedValue]) -> String {
    if list {
        return list_sql(sql, column, operator, values);
    }
    match operator {
        Operator::IsNull => format!("{column} IS NULL"),
        Operator::NotNull => format!("{column} IS NOT NULL"),
        Operator::Equal => matches(sql, column, &values[0]),
        Operator::NotEqual => not_matches(sql, column, &values[0]),
        Operator::In => any_of(values.iter().map(|v| matches(sql, column, v)).collect(), " OR "),
        Operator::Out => any_of(values.iter().map(|v| not_matches(sql, column, v)).collect(), " AND "),
        ordering => format!("{column} {} {}", ordering_symbol(ordering), sql.bind(bind(&values[0]))),
    }
}

fn any_of(parts: Vec<String>, separator: &str) -> String {
    if parts.len() == 1 { parts.into_iter().collect() } else { format!("({})", parts.join(separator)) }
}

fn matches(sql: &mut Sql, column: &str, value: &TypedValue) -> String {
    match value {
        TypedValue::Pattern(pattern) => format!("{column} LIKE {} ESCAPE '\\'", sql.bind(Bind::Text(pattern.clone()))),
        TypedValue::Names(names) => format!("{column} = ANY({})", sql.bind(Bind::Texts(to_strings(names)))),
        other => format!("{column} = {}", sql.bind(bind(other))),
    }
}

fn not_matches(sql: &mut Sql, column: &str, value: &TypedValue) -> String {
    match value {
        TypedValue::Pattern(pattern) => {
            format!("{column} NOT LIKE {} ESCAPE '\\'", sql.bind(Bind::Text(pattern.clone())))
        }
        TypedValue::Names(names) => format!("{column} <> ALL({})", sql.bind(Bind::Texts(to_strings(names)))),
        other => format!("{column} <> {}", sql.bind(bind(other))),
    }
}

/// A `text[]` column: `==` and `=in=` when an element matches (`&&` uses the GIN index for exact
/// values), `!=` and `=out=` when the list is not empty and none does.
fn list_sql(sql: &mut Sql, column: &str, operator: Operator, values: &[TypedValue]) -> String {
    let element_matches = |sql: &mut Sql| {
        let mut parts = Vec::new();
        let exact: Vec<String> = values.iter().flat_map(literal_texts).collect();
        if !exact.is_empty() {
            parts.push(format!("{column} && {}::text[]", sql.bind(Bind::Texts(exact))));
        }
        for value in values {
            if let TypedValue::Pattern(pattern) = value {
                let placeholder = sql.bind(Bind::Text(pattern.clone()));
                parts.push(format!(
                    "EXISTS (SELECT 1 FROM unnest({column}) AS e(v) WHERE v LIKE {placeholder} ESCAPE '\\')"
                ));
            }
        }
        any_of(parts, " OR ")
    };
    match operator {
        Operator::IsNull => format!("coalesce(cardinality({column}), 0) = 0"),
        Operator::NotNull => format!("cardinality({column}) > 0"),
        Operator::Equal | Operator::In => element_matches(sql),
        Operator::NotEqual | Operator::Out => {
            format!("(cardinality({column}) > 0 AND NOT {})", element_matches(sql))
        }
        ordering => {
            let placeholder = sql.bind(bind(&values[0]));
            format!(
                "EXISTS (SELECT 1 FROM unnest({column}) AS e(v) WHERE v {} {placeholder})",
                ordering_symbol(ordering)
            )
        }
    }
}

/// The statuses of the job's history: any of them for `==` and `=in=`, none for `!=` and `=out=`;
/// `=isnull=` when the history has none, `=notnull=` when it has one.
fn status_sql(sql: &mut Sql, operator: Operator, values: &[TypedValue]) -> String {
    let exists = |condition: &str| {
        format!("EXISTS (SELECT 1 FROM job_status_history s WHERE s.job_id = j.job_id AND {condition})")
    };
    match operator {
        Operator::IsNull => return format!("NOT {}", exists("TRUE")),
        Operator::NotNull => return exists("TRUE"),
        _ => {}
    }
    let names: Vec<String> = values.iter().flat_map(literal_texts).collect();
    let placeholder = sql.bind(Bind::Texts(names));
    let any = exists(&format!("s.status = ANY({placeholder})"));
    match operator {
        Operator::NotEqual | Operator::Out => format!("({} AND NOT {any})", exists("TRUE")),
        _ => any,
    }
}

/// The exact texts a value stands for: none for a text pattern, every matched name for a status
/// pattern.
fn literal_texts(value: &TypedValue) -> Vec<String> {
    match value {
        TypedValue::Text(text) => vec![text.clone()],
        TypedValue::JobStatus(status) => vec![status.name().to_owned()],
        TypedValue::ExitStatus(status) => vec![status.name().to_owned()],
        TypedValue::Names(names) => to_strings(names),
        _ => Vec::new(),
    }
}

fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn bind(value: &TypedValue) -> Bind {
    match value {
        TypedValue::Text(text) | TypedValue::Pattern(text) => Bind::Text(text.clone()),
        TypedValue::Integer(number) => Bind::Integer(*number),
        TypedValue::Decimal(number) => Bind::Decimal(*number),
        TypedValue::Boolean(flag) => Bind::Boolean(*flag),
        TypedValue::DateTime(instant) => Bind::Instant(*instant),
        TypedValue::JobStatus(status) => Bind::Text(status.name().to_owned()),
        TypedValue::ExitStatus(status) => Bind::Text(status.name().to_owned()),
        TypedValue::Names(names) => Bind::Texts(to_strings(names)),
    }
}

fn ordering_symbol(operator: Operator) -> &'static str {
    match operator {
        Operator::GreaterThan => ">",
        Operator::GreaterOrEqual => ">=",
        Operator::LessThan => "<",
        _ => "<=",
    }
}
