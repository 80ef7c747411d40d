//! The SQL that queries become: values bound, correlation as one EXISTS, list values on their index.
use common::rsql::value::ValueType;
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

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    data_type: String,
}

#[tokio::test]
async fn every_job_level_selector_is_a_column_of_jobs_of_its_type() {
    // The consumer's tests check that it writes exactly the columns of `jobs`
    // (services/job-history-consumer/src/columns.rs, `JOB_COLUMNS`); with this check, whatever a
    // job-level selector searches is what the consumer wrote.
    use diesel_async::RunQueryDsl;
    use job_history::query::selectors::{SELECTORS, Scope};

    let database = history_store::testing::TestDatabase::create().await;
    let mut connection = database.connect().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'jobs'",
    )
    .load(&mut connection)
    .await
    .unwrap();
    let selectors: Vec<_> = SELECTORS.iter().filter(|s| s.scope == Scope::Job).collect();
    assert!(selectors.len() > 20, "the job-level selectors: {}", selectors.len());
    for selector in selectors {
        let expected = if selector.list {
            "ARRAY"
        } else {
            match selector.value_type {
                ValueType::Text | ValueType::ExitStatus => "text",
                ValueType::Integer => "bigint",
                ValueType::Decimal => "double precision",
                ValueType::DateTime => "timestamp with time zone",
                ValueType::Boolean => "boolean",
                ValueType::JobStatus => "no job-level column: statuses are job_status_history's",
            }
        };
        let column = columns.iter().find(|c| c.column_name == selector.column);
        assert_eq!(
            column.map(|c| c.data_type.as_str()),
            Some(expected),
            "the selector {} searches the column {} of jobs",
            selector.name,
            selector.column
        );
    }
}
