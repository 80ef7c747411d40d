//! The SQL that queries become: values bound, correlation as one EXISTS, list values on their index.
use job_history::query::{Bind, Sql, condition};

fn sql(query: &str) -> Sql {
    condition(&common::rsql::parse(query).unwrap(), &Default::default()).unwrap()
}

#[test]
fn values_are_bound_never_written_into_the_sql() {
    for value in ["x'; DROP TABLE jobs; --", "\\\" OR 1=1 --", "$1", "Robert'); DELETE FROM jobs;--*"] {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        let query = format!(
            "description==\"{quoted}\",(paramLabel==\"{quoted}\";paramValue=out=(\"{quoted}\",x)),submissionMachines!=\"{quoted}\""
        );
        let built = sql(&query);
        for word in ["DROP", "DELETE", "OR 1=1", "Robert"] {
            assert!(!built.text.contains(word), "{word} in {}", built.text);
        }
        let literal = value.trim_end_matches('*');
        let bound = |bind: &Bind| match bind {
            Bind::Text(text) => text.contains(literal),
            Bind::Texts(texts) => texts.iter().any(|text| text.contains(literal)),
            _ => false,
        };
        assert!(built.binds.iter().any(bound), "{value:?} is among the bound values: {:?}", built.binds);
    }
}

#[test]
fn one_and_group_makes_one_exists_for_its_algorithm_and_parameter_comparisons() {
    let built = sql("(paramLabel=='Sleeps');(paramValue=in=('3','1'));algorithmName==Yade;priority==1");
    assert_eq!(built.text.matches("EXISTS").count(), 1, "{}", built.text);
    assert!(built.text.contains("JOIN job_parameters p ON p.algorithm = a.id"), "{}", built.text);
    let two = sql("paramLabel==A;paramValue==1;paramLabel==B");
    assert_eq!(two.text.matches("EXISTS").count(), 2, "a repeated selector starts the next parameter: {}", two.text);
    let separate = sql("paramLabel=='Sleeps',paramValue=='3'");
    assert_eq!(separate.text.matches("EXISTS").count(), 2, "OR keeps them apart: {}", separate.text);
}

#[test]
fn exact_list_values_use_the_array_index() {
    let built = sql("paramValue=in=(3,1)");
    assert!(built.text.contains("p.\"value\" && $1::text[]"), "{}", built.text);
    assert_eq!(built.binds[0], Bind::Texts(vec!["3".into(), "1".into()]));
}
