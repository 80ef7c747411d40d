//! The RSQL parser and the typed values on arbitrary input: nothing panics, and whatever parses
//! prints as canonical text that parses back to the same tree and prints the same again.
#![no_main]

use common::rsql::value::ValueType;
use libfuzzer_sys::fuzz_target;

const TYPES: [ValueType; 7] = [
    ValueType::Text,
    ValueType::Integer,
    ValueType::Decimal,
    ValueType::Boolean,
    ValueType::DateTime,
    ValueType::JobStatus,
    ValueType::ExitStatus,
];

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    match common::rsql::parse(query) {
        Ok(tree) => {
            let printed = tree.to_string();
            let again = common::rsql::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}"));
            assert_eq!(again, tree, "{printed:?}");
            assert_eq!(again.to_string(), printed);
        }
        Err(error) => assert!(error.span.start <= query.chars().count()),
    }
    // Every value converted to every type: an error or a value, never a panic.
    if let Ok(common::rsql::Expr::Comparison(comparison)) = common::rsql::parse(&format!("x=={query:?}")) {
        for value_type in TYPES {
            let _ = comparison.arguments[0].to_typed(value_type);
        }
    }
    for value_type in TYPES {
        let _ = common::rsql::Argument::literal(query).to_typed(value_type);
    }
});
