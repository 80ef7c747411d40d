//! A table of queries: what each valid one means, where each invalid one is wrong.

use common::rsql::{Argument, Comparison, Expected, Expr, Operator, ParseErrorKind, Part, Selector, Span, parse};

fn cmp(selector: &str, operator: Operator, values: &[Argument]) -> Expr {
    Expr::Comparison(Comparison {
        selector: Selector { name: selector.into(), span: Span::default() },
        operator,
        operator_span: Span::default(),
        arguments: values.to_vec(),
        span: Span::default(),
    })
}

fn lit(text: &str) -> Argument {
    Argument::literal(text)
}

fn pattern(parts: &[Option<&str>]) -> Argument {
    Argument::new(parts.iter().map(|p| p.map_or(Part::Wildcard, |t| Part::Text(t.into()))), Span::default())
}

fn and(operands: Vec<Expr>) -> Expr {
    Expr::And { operands, span: Span::default() }
}

fn or(operands: Vec<Expr>) -> Expr {
    Expr::Or { operands, span: Span::default() }
}

use Operator::*;

#[test]
fn valid_queries_mean_what_they_say() {
    let star = None;
    let cases: Vec<(&str, Expr, &str)> = vec![
        ("a==1", cmp("a", Equal, &[lit("1")]), "a==1"),
        ("a!=1", cmp("a", NotEqual, &[lit("1")]), "a!=1"),
        ("a=gt=1", cmp("a", GreaterThan, &[lit("1")]), "a=gt=1"),
        ("a>1", cmp("a", GreaterThan, &[lit("1")]), "a=gt=1"),
        ("a=ge=1", cmp("a", GreaterOrEqual, &[lit("1")]), "a=ge=1"),
        ("a>=1", cmp("a", GreaterOrEqual, &[lit("1")]), "a=ge=1"),
        ("a=lt=1", cmp("a", LessThan, &[lit("1")]), "a=lt=1"),
        ("a<1", cmp("a", LessThan, &[lit("1")]), "a=lt=1"),
        ("a=le=1", cmp("a", LessOrEqual, &[lit("1")]), "a=le=1"),
        ("a<=1", cmp("a", LessOrEqual, &[lit("1")]), "a=le=1"),
        ("a=in=(1,2)", cmp("a", In, &[lit("1"), lit("2")]), "a=in=(1,2)"),
        ("a=out=(1)", cmp("a", Out, &[lit("1")]), "a=out=(1)"),
        ("a=in=1", cmp("a", In, &[lit("1")]), "a=in=(1)"),
        ("a==(1)", cmp("a", Equal, &[lit("1")]), "a==1"),
        // AND binds tighter than OR.
        (
            "a==1;b==2,c==3",
            or(vec![
                and(vec![cmp("a", Equal, &[lit("1")]), cmp("b", Equal, &[lit("2")])]),
                cmp("c", Equal, &[lit("3")]),
            ]),
            "a==1;b==2,c==3",
        ),
        (
            "a==1,b==2;c==3",
            or(vec![
                cmp("a", Equal, &[lit("1")]),
                and(vec![cmp("b", Equal, &[lit("2")]), cmp("c", Equal, &[lit("3")])]),
            ]),
            "a==1,b==2;c==3",
        ),
        (
            "a==1;(b==2,c==3)",
            and(vec![
                cmp("a", Equal, &[lit("1")]),
                or(vec![cmp("b", Equal, &[lit("2")]), cmp("c", Equal, &[lit("3")])]),
            ]),
            "a==1;(b==2,c==3)",
        ),
        // Same-kind groups flatten; redundant parentheses vanish.
        (
            "(a==1;b==2);c==3",
            and(vec![cmp("a", Equal, &[lit("1")]), cmp("b", Equal, &[lit("2")]), cmp("c", Equal, &[lit("3")])]),
            "a==1;b==2;c==3",
        ),
        ("((((a==1))))", cmp("a", Equal, &[lit("1")]), "a==1"),
        (
            "(a==1,b==2),(c==3)",
            or(vec![cmp("a", Equal, &[lit("1")]), cmp("b", Equal, &[lit("2")]), cmp("c", Equal, &[lit("3")])]),
            "a==1,b==2,c==3",
        ),
        // Blanks between tokens.
        (
            "  a == 1 ;\tb =in= ( 1 , 2 )\n",
            and(vec![cmp("a", Equal, &[lit("1")]), cmp("b", In, &[lit("1"), lit("2")])]),
            "a==1;b=in=(1,2)",
        ),
        // Quoting and escapes.
        (r#"a=="x y""#, cmp("a", Equal, &[lit("x y")]), r#"a=="x y""#),
        ("a=='x y'", cmp("a", Equal, &[lit("x y")]), r#"a=="x y""#),
        (r#"a=="say \"hi\"""#, cmp("a", Equal, &[lit(r#"say "hi""#)]), r#"a=="say \"hi\"""#),
        (r"a=='it\'s'", cmp("a", Equal, &[lit("it's")]), r#"a=="it's""#),
        (r#"a=="back\\slash""#, cmp("a", Equal, &[lit(r"back\slash")]), r"a==back\slash"),
        (r#"a=="""#, cmp("a", Equal, &[lit("")]), r#"a=="""#),
        (r#"a=="(;,)""#, cmp("a", Equal, &[lit("(;,)")]), r#"a=="(;,)""#),
        // Wildcards: `*` anywhere; `\*` inside quotes is a star.
        ("a==adm*", cmp("a", Equal, &[pattern(&[Some("adm"), star])]), "a==adm*"),
        (r#"a=="adm*""#, cmp("a", Equal, &[pattern(&[Some("adm"), star])]), "a==adm*"),
        ("a==*MS2", cmp("a", Equal, &[pattern(&[star, Some("MS2")])]), "a==*MS2"),
        ("a==*", cmp("a", Equal, &[pattern(&[star])]), "a==*"),
        (r#"a=="5\*""#, cmp("a", Equal, &[lit("5*")]), r#"a=="5\*""#),
        (r#"a=="a\*b*""#, cmp("a", Equal, &[pattern(&[Some("a*b"), star])]), r#"a=="a\*b*""#),
        // Unquoted values take any unreserved character, non-ASCII and backslash included.
        ("a==ñandú/été-ß.%_:@", cmp("a", Equal, &[lit("ñandú/été-ß.%_:@")]), "a==ñandú/été-ß.%_:@"),
        (r"a==C:\temp", cmp("a", Equal, &[lit(r"C:\temp")]), r"a==C:\temp"),
        ("a.b_c-d==1", cmp("a.b_c-d", Equal, &[lit("1")]), "a.b_c-d==1"),
        (
            "a==2019-06-12T21:24:25.342Z",
            cmp("a", Equal, &[lit("2019-06-12T21:24:25.342Z")]),
            "a==2019-06-12T21:24:25.342Z",
        ),
        // The keywords, between blanks, mean `;` and `,`, with the same precedence.
        (
            "a==1 and b==2 or c==3",
            or(vec![
                and(vec![cmp("a", Equal, &[lit("1")]), cmp("b", Equal, &[lit("2")])]),
                cmp("c", Equal, &[lit("3")]),
            ]),
            "a==1;b==2,c==3",
        ),
        (
            "a==1 or b==2 and c==3",
            or(vec![
                cmp("a", Equal, &[lit("1")]),
                and(vec![cmp("b", Equal, &[lit("2")]), cmp("c", Equal, &[lit("3")])]),
            ]),
            "a==1,b==2;c==3",
        ),
        (
            "a=in=(x,y) and (b=='p q' or c==3)",
            and(vec![
                cmp("a", In, &[lit("x"), lit("y")]),
                or(vec![cmp("b", Equal, &[lit("p q")]), cmp("c", Equal, &[lit("3")])]),
            ]),
            r#"a=in=(x,y);(b=="p q",c==3)"#,
        ),
        ("a==1\tand\nb==2", and(vec![cmp("a", Equal, &[lit("1")]), cmp("b", Equal, &[lit("2")])]), "a==1;b==2"),
        // A keyword is a keyword only between blanks: elsewhere it is a value or a selector.
        ("a==and", cmp("a", Equal, &[lit("and")]), "a==and"),
        ("or==android", cmp("or", Equal, &[lit("android")]), "or==android"),
        ("a=='x and y'", cmp("a", Equal, &[lit("x and y")]), r#"a=="x and y""#),
        // Null checks take no value.
        ("a=isnull=", cmp("a", IsNull, &[]), "a=isnull="),
        ("a=notnull=", cmp("a", NotNull, &[]), "a=notnull="),
        (
            "a=isnull= and b=notnull=;c=isnull=,d==1",
            or(vec![
                and(vec![cmp("a", IsNull, &[]), cmp("b", NotNull, &[]), cmp("c", IsNull, &[])]),
                cmp("d", Equal, &[lit("1")]),
            ]),
            "a=isnull=;b=notnull=;c=isnull=,d==1",
        ),
        ("(a=isnull=)", cmp("a", IsNull, &[]), "a=isnull="),
    ];
    for (query, expected, canonical) in cases {
        let parsed = parse(query).unwrap_or_else(|e| panic!("{query:?} should parse: {e}"));
        assert_eq!(parsed, expected, "tree of {query:?}");
        assert_eq!(parsed.to_string(), canonical, "canonical form of {query:?}");
        assert_eq!(parse(canonical).unwrap(), parsed, "{canonical:?} parses back to the same tree");
    }
}

#[test]
fn spans_point_at_characters_not_bytes() {
    let parsed = parse("né==ü ; b=in=(x,'yé')").unwrap();
    let Expr::And { operands, .. } = parsed else { panic!("an AND") };
    let Expr::Comparison(first) = &operands[0] else { panic!() };
    assert_eq!(first.selector.span, Span { start: 0, end: 2 });
    assert_eq!(first.operator_span, Span { start: 2, end: 4 });
    assert_eq!(first.arguments[0].span, Span { start: 4, end: 5 });
    let Expr::Comparison(second) = &operands[1] else { panic!() };
    assert_eq!(second.span, Span { start: 8, end: 21 });
    assert_eq!(second.arguments[1].span, Span { start: 16, end: 20 });
}

#[test]
fn invalid_queries_say_what_was_expected_and_where() {
    use Expected::*;
    let unexpected =
        |expected: &[Expected], found: Option<char>| ParseErrorKind::Unexpected { expected: expected.to_vec(), found };
    let cases: Vec<(&str, ParseErrorKind, usize)> = vec![
        ("", ParseErrorKind::Empty, 1),
        ("   ", ParseErrorKind::Empty, 1),
        ("a", unexpected(&[Operator], None), 2),
        ("a==", unexpected(&[Open, Value], None), 4),
        ("==1", unexpected(&[Selector, Open], Some('=')), 1),
        ("a=b", unexpected(&[Operator], Some('=')), 2),
        ("a~=1", unexpected(&[Operator], Some('~')), 2),
        ("a==1 b==2", unexpected(&[And, Or, End], Some('b')), 6),
        ("(a==1 b==2)", unexpected(&[And, Or, Close], Some('b')), 7),
        ("a==1;", unexpected(&[Selector, Open], None), 6),
        ("a==1,", unexpected(&[Selector, Open], None), 6),
        ("a==1;;b==1", unexpected(&[Selector, Open], Some(';')), 6),
        ("a==1)", unexpected(&[And, Or, End], Some(')')), 5),
        ("((a==1)", unexpected(&[And, Or, Close], None), 8),
        ("()", unexpected(&[Selector, Open], Some(')')), 2),
        ("a=in=()", unexpected(&[Value], Some(')')), 7),
        ("a=in=(1 2)", unexpected(&[ValueSeparator, Close], Some('2')), 9),
        ("a=in=(1,", unexpected(&[Value], None), 9),
        ("\"a\"==1", unexpected(&[Selector, Open], Some('"')), 1),
        ("a==b\"c\"", unexpected(&[And, Or, End], Some('"')), 5),
        ("é==1 x", unexpected(&[And, Or, End], Some('x')), 6),
        ("a==\"x", ParseErrorKind::UnterminatedQuote { quote: '"' }, 4),
        ("a=in=(1,'x)", ParseErrorKind::UnterminatedQuote { quote: '\'' }, 9),
        (r#"a=="x\""#, ParseErrorKind::UnterminatedQuote { quote: '"' }, 4),
        ("a=foo=1", ParseErrorKind::UnknownOperator { operator: "=foo=".into() }, 2),
        ("a==1;b=like=x", ParseErrorKind::UnknownOperator { operator: "=like=".into() }, 7),
        ("a==(1,2)", ParseErrorKind::ListForSingleValue { operator: Equal, count: 2 }, 4),
        // Keywords: lower case, between blanks.
        ("a==1 AND b==2", unexpected(&[And, Or, End], Some('A')), 6),
        ("a==1 and", unexpected(&[And, Or, End], Some('a')), 6),
        ("a==1 and ", unexpected(&[Selector, Open], None), 10),
        ("a==1 andb==2", unexpected(&[And, Or, End], Some('a')), 6),
        ("a==1 and(b==2)", unexpected(&[And, Or, End], Some('a')), 6),
        ("a==1 and and b==2", unexpected(&[Operator], Some('b')), 14),
        ("a=='x'and b==2", ParseErrorKind::NoBlankBeforeKeyword { keyword: "and".into() }, 7),
        ("(a==1)or b==2", ParseErrorKind::NoBlankBeforeKeyword { keyword: "or".into() }, 7),
        ("a=in=(1 or 2)", unexpected(&[ValueSeparator, Close], Some('o')), 9),
        // Null checks: no value, no list.
        ("a=isnull=1", ParseErrorKind::ValueAfterNullCheck { operator: IsNull }, 10),
        ("a=notnull= 'x'", ParseErrorKind::ValueAfterNullCheck { operator: NotNull }, 12),
        ("a=isnull=(1,2);b==1", ParseErrorKind::ValueAfterNullCheck { operator: IsNull }, 10),
        ("a=isnull= andrew", ParseErrorKind::ValueAfterNullCheck { operator: IsNull }, 11),
        ("a=isnull==1", unexpected(&[And, Or, End], Some('=')), 10),
        ("a=gt=(1,2,3)", ParseErrorKind::ListForSingleValue { operator: GreaterThan, count: 3 }, 6),
    ];
    for (query, kind, position) in cases {
        let error = parse(query).expect_err(query);
        assert_eq!(error.kind, kind, "kind for {query:?}");
        assert_eq!(error.span.position(), position, "position for {query:?}: {error}");
    }
}

#[test]
fn nesting_is_bounded_instead_of_overflowing_the_stack() {
    let deep = format!("{}a==1{}", "(".repeat(10_000), ")".repeat(10_000));
    let error = parse(&deep).unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::TooDeep { max: common::rsql::MAX_DEPTH });
    assert_eq!(error.span.position(), common::rsql::MAX_DEPTH + 1);
    // Parentheses inside quotes are text, not nesting.
    let quoted = format!("a==\"{}\"", "(".repeat(100));
    assert!(parse(&quoted).is_ok());
    let at_limit = format!("{}a==1{}", "(".repeat(common::rsql::MAX_DEPTH), ")".repeat(common::rsql::MAX_DEPTH));
    assert!(parse(&at_limit).is_ok());
}

#[test]
fn messages_are_written_for_people() {
    let message = |query: &str| parse(query).unwrap_err().to_string();
    assert_eq!(
        message("a==1 b==2"),
        "expected `;` (and), `,` (or) or the end of the query at character 6, but found `b`"
    );
    assert_eq!(message("a=="), "expected `(` or a value at character 4, but the query ends there");
    assert_eq!(message("a==\"x"), "the quote \" opened at character 4 is never closed");
    assert_eq!(
        message("a=foo=1"),
        "unknown operator `=foo=` at character 2; the operators are ==, !=, =gt= (>), =ge= (>=), =lt= (<), =le= (<=), =in=, =out=, =isnull=, =notnull="
    );
    assert_eq!(
        message("endTime=isnull=2019"),
        "`=isnull=` takes no value, but one is written at character 16; write the selector and `=isnull=` alone, as in endTime=isnull="
    );
    assert_eq!(
        message("a=='x'or b==1"),
        "`or` at character 7 needs a blank before it, as the keywords and and or stand between blanks (`;` and `,` need none)"
    );
    assert_eq!(
        message("a==(1,2)"),
        "the operator `==` takes one value, but a list of 2 starts at character 4; use =in= or =out= to compare with a list"
    );
}

/// The original history service's example queries (Soma Job History), verbatim, and the `q` of its example URLs.
#[test]
fn the_seed_examples_parse() {
    let star = None;
    let owner_admin = cmp("jobOwner", Equal, &[lit("admin")]);
    let cases: Vec<(&str, Expr)> = vec![
        (r#"description=="Teste Yade com batch""#, cmp("description", Equal, &[lit("Teste Yade com batch")])),
        (r#"jobOwner=="adm*""#, cmp("jobOwner", Equal, &[pattern(&[Some("adm"), star])])),
        ("priority==1", cmp("priority", Equal, &[lit("1")])),
        (r#"algorithmName=="Teste_Progresso""#, cmp("algorithmName", Equal, &[lit("Teste_Progresso")])),
        ("algorithmName==Teste_Progresso", cmp("algorithmName", Equal, &[lit("Teste_Progresso")])),
        (
            r#"executionMachine==40100;jobOwner=="admin""#,
            and(vec![cmp("executionMachine", Equal, &[lit("40100")]), owner_admin.clone()]),
        ),
        (r#"priority==1,jobOwner=="admin""#, or(vec![cmp("priority", Equal, &[lit("1")]), owner_admin])),
        ("description==*MS2", cmp("description", Equal, &[pattern(&[star, Some("MS2")])])),
        (
            "(isDeleted==false);(description==*MS2)",
            and(vec![
                cmp("isDeleted", Equal, &[lit("false")]),
                cmp("description", Equal, &[pattern(&[star, Some("MS2")])]),
            ]),
        ),
        (
            r#"algorithmName=="Yade";exitStatus=="KILLED""#,
            and(vec![cmp("algorithmName", Equal, &[lit("Yade")]), cmp("exitStatus", Equal, &[lit("KILLED")])]),
        ),
        (r#"paramLabel=="Sleeps""#, cmp("paramLabel", Equal, &[lit("Sleeps")])),
        (
            "(paramLabel=='Sleeps');(paramValue=='3')",
            and(vec![cmp("paramLabel", Equal, &[lit("Sleeps")]), cmp("paramValue", Equal, &[lit("3")])]),
        ),
        (
            "(paramLabel=='Sleeps');(paramValue=in=('3','1'))",
            and(vec![cmp("paramLabel", Equal, &[lit("Sleeps")]), cmp("paramValue", In, &[lit("3"), lit("1")])]),
        ),
        (
            "submissionTime=='2019/06/12 21:24:25.342-0300'",
            cmp("submissionTime", Equal, &[lit("2019/06/12 21:24:25.342-0300")]),
        ),
        (
            "endTime=gt='2019/06/12 21:00+03';endTime=lt='2019/06/12 22:00+03'",
            and(vec![
                cmp("endTime", GreaterThan, &[lit("2019/06/12 21:00+03")]),
                cmp("endTime", LessThan, &[lit("2019/06/12 22:00+03")]),
            ]),
        ),
    ];
    for (query, expected) in cases {
        let parsed = parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        assert_eq!(parsed, expected, "{query:?}");
        assert_eq!(parse(&parsed.to_string()).unwrap(), parsed, "{query:?} round-trips");
    }
}
