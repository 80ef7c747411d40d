//! Properties over random input: the parser never panics, and printing a tree gives text that
//! parses back to the same tree.

use common::rsql::{Argument, Comparison, Expr, Operator, Part, Selector, Span, parse};
use proptest::prelude::*;

fn operator() -> impl Strategy<Value = Operator> {
    proptest::sample::select(Operator::ALL.to_vec())
}

fn argument() -> impl Strategy<Value = Argument> {
    let part = prop_oneof![
        3 => any::<String>().prop_map(Part::Text),
        3 => "[a-z0-9 ;,()'\"\\\\*=!~<>]{0,6}".prop_map(Part::Text),
        1 => Just(Part::Wildcard),
    ];
    proptest::collection::vec(part, 0..4).prop_map(|parts| Argument::new(parts, Span::default()))
}

fn comparison() -> impl Strategy<Value = Expr> {
    let selector = "[a-zA-Zé][a-zA-Z0-9_.ü-]{0,8}";
    (selector, operator(), proptest::collection::vec(argument(), 1..4)).prop_map(|(name, operator, mut arguments)| {
        if operator.takes_no_value() {
            arguments.clear();
        } else if !operator.takes_list() {
            arguments.truncate(1);
        }
        Expr::Comparison(Comparison {
            selector: Selector { name, span: Span::default() },
            operator,
            operator_span: Span::default(),
            arguments,
            span: Span::default(),
        })
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(|operands| flatten(true, operands)),
            proptest::collection::vec(inner, 2..4).prop_map(|operands| flatten(false, operands)),
        ]
    })
}

/// An AND of ANDs is one AND (and so for OR), as the parser builds it.
fn flatten(and: bool, operands: Vec<Expr>) -> Expr {
    let mut flat = Vec::new();
    for operand in operands {
        match operand {
            Expr::And { operands, .. } if and => flat.extend(operands),
            Expr::Or { operands, .. } if !and => flat.extend(operands),
            other => flat.push(other),
        }
    }
    if and {
        Expr::And { operands: flat, span: Span::default() }
    } else {
        Expr::Or { operands: flat, span: Span::default() }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_is_parsed_or_refused_without_panic(query in any::<String>()) {
        if let Err(error) = parse(&query) {
            prop_assert!(error.span.start <= query.chars().count());
            let message = error.to_string();
            let placed = message.contains(&format!("character {}", error.span.position()));
            prop_assert!(placed || message == "the query is empty", "{}", message);
        }
    }

    #[test]
    fn rsql_like_text_is_parsed_or_refused_at_a_real_position(query in "[a-c1-2=!<>();,'\"\\\\* ~ég]{0,40}") {
        match parse(&query) {
            Ok(tree) => {
                let printed = tree.to_string();
                let reparsed = parse(&printed);
                prop_assert_eq!(reparsed.as_ref(), Ok(&tree), "reprinted as {}", printed);
            }
            Err(error) => prop_assert!(error.span.start <= query.chars().count(), "{:?}", error),
        }
    }

    #[test]
    fn keywords_and_null_checks_among_tokens_are_parsed_or_refused_at_a_real_position(
        query in "(a|b|1|'x y'|==|!=|=in=|=isnull=|=notnull=| and | or |and|or|;|,|\\(|\\)| ){0,12}"
    ) {
        match parse(&query) {
            Ok(tree) => {
                let printed = tree.to_string();
                let reparsed = parse(&printed);
                prop_assert_eq!(reparsed.as_ref(), Ok(&tree), "reprinted as {}", printed);
            }
            Err(error) => {
                prop_assert!(error.span.start <= query.chars().count(), "{:?}", error);
                let message = error.to_string();
                let placed = message.contains(&format!("character {}", error.span.position()));
                prop_assert!(placed || message == "the query is empty", "{}", message);
            }
        }
    }

    #[test]
    fn printing_a_tree_gives_rsql_that_parses_back_to_it(tree in expr()) {
        let printed = tree.to_string();
        let parsed = parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&tree), "printed as {}", printed);
        prop_assert_eq!(parsed.map(|p| p.to_string()).ok(), Some(printed), "canonical text is stable");
    }
}
