//! The RSQL parser on arbitrary input: it never panics, and whatever it accepts prints as canonical
//! text that parses back to the same tree and prints the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;

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
});
