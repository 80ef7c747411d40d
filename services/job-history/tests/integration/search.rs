//! Searches as a client sends them, against the fixtures.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use service_kit::testing::TestServer;

use crate::fixtures::{DELETED, LOOKALIKE, MS2, ORIGINAL, PERCENT, STAR, server};

/// GETs `path_and_query` (written as a person would type it; reqwest percent-encodes what a URL
/// cannot hold, as a browser does).
async fn get(server: &TestServer, path_and_query: &str) -> (u16, Value) {
    let response = server.client.get(server.url(path_and_query)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(body: &Value) -> Vec<String> {
    body["jobs"].as_array().unwrap().iter().map(|job| job["jobId"].as_str().unwrap().to_owned()).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

/// The original history service's example URLs, verbatim but for the host.
#[tokio::test]
async fn the_seeds_example_urls_find_what_they_describe() {
    let server = server().await;
    let cases: Vec<(&str, &[&str])> = vec![
        (r#"/v1/jobs/history?q=description=="Teste Yade com batch"&offset=0&limit=20&locale=pt_BR"#, &[LOOKALIKE]),
        (r#"/v1/jobs/history?q=jobOwner=="adm*"&offset=0&limit=20&locale=pt_BR"#, &[ORIGINAL, MS2]),
        ("/v1/jobs/history?q=priority==1&offset=0&limit=20&locale=pt_BR", &[ORIGINAL, DELETED]),
        ("/v1/jobs/history?q=algorithmName==Teste_Progresso&offset=0&limit=20&locale=pt_BR", &[DELETED]),
        (r#"/v1/jobs/history?q=executionMachine==40100;jobOwner=="admin"&offset=0&limit=20&locale=pt_BR"#, &[ORIGINAL]),
        (r#"/v1/jobs/history?q=priority==1,jobOwner=="admin"&offset=0&limit=20&locale=pt_BR"#, &[ORIGINAL, DELETED]),
        ("/v1/jobs/history?q=(isDeleted==false);(description==*MS2)&offset=0&limit=20&locale=pt_BR", &[MS2]),
        ("/v1/jobs/history?q=description==*MS2&offset=0&limit=20", &[MS2, DELETED]),
        (r#"/v1/jobs/history?q=algorithmName=="Yade";exitStatus=="KILLED"&offset=0&limit=20&locale=pt_BR"#, &[MS2]),
        (r#"/v1/jobs/history?q=paramLabel=="Sleeps"&offset=0&limit=20&locale=pt_BR"#, &[MS2, DELETED, LOOKALIKE]),
        ("/v1/jobs/history?q=(paramLabel=='Sleeps');(paramValue=='3')&offset=0&limit=20&locale=pt_BR", &[MS2]),
        (
            "/v1/jobs/history?q=(paramLabel=='Sleeps');(paramValue=in=('3','1'))&offset=0&limit=20&locale=pt_BR",
            &[MS2, DELETED],
        ),
        (
            "/v1/jobs/history?q=submissionTime=='2019/06/12 21:24:25.342-0300'&offset=0&limit=20&locale=pt_BR",
            &[ORIGINAL],
        ),
        (
            "/v1/jobs/history?q=endTime=gt='2019/06/12 21:00%2B03';endTime=lt='2019/06/12 22:00%2B03'&offset=0&limit=20&locale=pt_BR",
            &[MS2],
        ),
    ];
    for (url, expected) in cases {
        let (status, body) = get(&server, url).await;
        assert_eq!(status, 200, "{url}: {body}");
        assert_eq!(ids(&body).into_iter().collect::<BTreeSet<_>>(), set(expected), "{url}");
        assert_eq!(body["total"], expected.len(), "{url}");
        assert_eq!((body["offset"].clone(), body["limit"].clone()), (json!(0), json!(20)), "{url}");
    }

    let (_, ascending) =
        get(&server, "/v1/jobs/history?offset=0&limit=20&attr=submissionTime&asc=true&locale=pt_BR").await;
    assert_eq!(ids(&ascending), [PERCENT, DELETED, MS2, ORIGINAL, LOOKALIKE, STAR], "oldest first, no date last");
    let (_, descending) =
        get(&server, "/v1/jobs/history?offset=0&limit=20&attr=submissionTime&asc=false&locale=pt_BR").await;
    assert_eq!(ids(&descending), [STAR, LOOKALIKE, ORIGINAL, MS2, DELETED, PERCENT], "newest first, no date first");
}

#[tokio::test]
async fn every_operator_type_wildcard_null_list_and_correlation() {
    let server = server().await;
    let all = [ORIGINAL, MS2, DELETED, LOOKALIKE, PERCENT, STAR];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // Integers; a null never matches, `!=` and `=out=` included.
        ("priority==1", vec![ORIGINAL, DELETED]),
        ("priority!=1", vec![MS2, PERCENT, STAR]),
        ("priority=out=(1,2)", vec![PERCENT, STAR]),
        ("priority=in=(2,3)", vec![MS2, PERCENT, STAR]),
        ("priority>1", vec![MS2, PERCENT, STAR]),
        ("priority=gt=1", vec![MS2, PERCENT, STAR]),
        ("priority>=2", vec![MS2, PERCENT, STAR]),
        ("priority<2", vec![ORIGINAL, DELETED]),
        ("priority=le=1", vec![ORIGINAL, DELETED]),
        ("wallclockTime==412", vec![ORIGINAL]),
        ("exitCode==0", vec![ORIGINAL]),
        // Decimals.
        ("cpuTime>1", vec![LOOKALIKE]),
        ("cpuTime==0", vec![ORIGINAL]),
        ("ramMemory==2048", vec![LOOKALIKE]),
        ("ramMemory=ge=2047.5", vec![LOOKALIKE]),
        // Booleans.
        ("isDeleted==true", vec![DELETED]),
        ("isDeleted==false", vec![ORIGINAL, MS2, LOOKALIKE, PERCENT, STAR]),
        ("multipleExecution==false", vec![ORIGINAL]),
        // Date-times compare as instants, whatever the offset or format.
        ("submissionTime=lt=2019-06-12T18:00:00Z", vec![MS2, DELETED, PERCENT]),
        ("submissionTime=lt='2019/06/12 15:00-03'", vec![MS2, DELETED, PERCENT]),
        ("submissionTime=ge='2019/06/13+00'", vec![ORIGINAL, LOOKALIKE]),
        ("submissionTime=='2019-06-13T00:24:25.342Z'", vec![ORIGINAL]),
        ("endTime=out=('2019/06/12 15:30-03')", vec![ORIGINAL]),
        // Text: exact and case-sensitive; `*` is the only wildcard; `%` and `_` are literal.
        ("description=='Teste MS2'", vec![MS2]),
        ("description=='teste*'", vec![]),
        ("description=='Teste*'", vec![MS2, LOOKALIKE]),
        ("description==*Yade*", vec![LOOKALIKE]),
        ("description==*yade*", vec![ORIGINAL]),
        ("description==50%_off", vec![PERCENT]),
        ("description=='50%*'", vec![PERCENT]),
        ("description=='5_*'", vec![]),
        (r#"description=="5\* *""#, vec![STAR]),
        ("description=='5\\*'", vec![]),
        ("description!=*MS2", vec![ORIGINAL, LOOKALIKE, PERCENT, STAR]),
        ("description=in=('Teste MS2',*batch)", vec![MS2, LOOKALIKE]),
        ("description=out=(*MS2,*%*)", vec![ORIGINAL, LOOKALIKE, STAR]),
        ("jobOwner=gt=b", vec![DELETED, LOOKALIKE]),
        ("jobId==admi@test.CBNNGZHYE2", vec![ORIGINAL]),
        // Enumerations.
        ("exitStatus==KILLED", vec![MS2]),
        ("exitStatus=in=(KILLED,EXECUTION_ERROR)", vec![MS2, DELETED]),
        ("exitStatus!=SUCCESS", vec![MS2, DELETED]),
        // Statuses: any of the history; `!=` when none is.
        ("status==DOWNLOADING", vec![ORIGINAL]),
        ("status==EXECUTING", vec![ORIGINAL, MS2, LOOKALIKE]),
        ("status=in=(UPLOADING,FINISHED)", vec![ORIGINAL, MS2]),
        ("status!=FINISHED", vec![DELETED, LOOKALIKE]),
        ("status=out=(EXECUTING,DOWNLOADING)", vec![DELETED]),
        // A list field of the job.
        ("submissionMachines==m2", vec![LOOKALIKE]),
        ("submissionMachines==m*", vec![LOOKALIKE]),
        ("submissionMachines!=m1", vec![]),
        ("submissionMachines!=m9", vec![LOOKALIKE]),
        ("submissionMachines=gt=m1", vec![LOOKALIKE]),
        // Algorithms and parameters: one group, one algorithm, one parameter.
        ("algorithmName==Yade;algorithmVersion==5.0.1", vec![MS2]),
        ("algorithmName==Yade;algorithmVersion=='5.0.*'", vec![ORIGINAL, MS2, LOOKALIKE]),
        ("algorithmId==Teste_Progresso;paramValue==5", vec![DELETED]),
        ("algorithmId==Yade;paramValue==5", vec![]),
        ("(paramLabel=='Sleeps');(paramValue=='3')", vec![MS2]),
        ("paramLabel=='Sleeps',paramValue=='3'", vec![MS2, DELETED, LOOKALIKE]),
        ("(paramLabel==Sleeps);(paramValue!=3)", vec![DELETED, LOOKALIKE]),
        ("paramId==number_of_cores;paramType==INTEGER;paramValue==4", vec![ORIGINAL]),
        ("paramLabel==Sleeps;priority==2", vec![MS2]),
        // A selector named again is about another parameter of the job.
        ("paramLabel==Sleeps;paramLabel==Cores", vec![MS2]),
        ("paramLabel==Sleeps;paramValue==3;paramLabel==Cores;paramValue==1", vec![MS2]),
        ("paramLabel==Sleeps;paramValue==1;paramLabel==Cores;paramValue==1", vec![]),
        ("paramLabel==Sleeps;paramLabel==Other", vec![LOOKALIKE]),
        ("(paramLabel==Sleeps;paramValue==7),(paramLabel==Cores;paramValue==1)", vec![MS2, LOOKALIKE]),
        ("paramValue=='*Particles*'", vec![ORIGINAL]),
        // A job matched through many of its rows is counted and returned once.
        ("paramValue=in=(1,3,4,5,7)", vec![ORIGINAL, MS2, DELETED, LOOKALIKE]),
        ("status=in=(SCHEDULED,EXECUTING,FINISHED)", vec![ORIGINAL, MS2, DELETED, LOOKALIKE]),
        // Values that look like SQL are values.
        ("description==\"x' OR '1'='1\"", vec![]),
        ("jobOwner==\"admin'--\"", vec![]),
    ];
    for (query, expected) in cases {
        let url = format!("/v1/jobs/history?q={}", encode(query));
        let (status, body) = get(&server, &url).await;
        assert_eq!(status, 200, "{query}: {body}");
        let found = ids(&body);
        assert_eq!(found.len(), expected.len(), "{query}: each job once, found {found:?}");
        assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), set(&expected), "{query}");
        assert_eq!(body["total"], expected.len(), "{query}");
    }
    let (_, everything) = get(&server, "/v1/jobs/history").await;
    assert_eq!(everything["total"], all.len());
    assert_eq!(everything["limit"], 1000, "the default limit");
}

#[tokio::test]
async fn keywords_null_checks_and_status_patterns() {
    let server = server().await;
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // ` and ` and ` or ` are `;` and `,`, AND binding tighter.
        ("priority==1 and jobOwner==admin", vec![ORIGINAL]),
        ("priority==2 or jobOwner==carol", vec![MS2, LOOKALIKE]),
        ("jobOwner==carol or priority==1 and isDeleted==true", vec![LOOKALIKE, DELETED]),
        ("(jobOwner==carol or priority==1) and isDeleted==false", vec![ORIGINAL, LOOKALIKE]),
        ("priority==1 and\tisDeleted==false;exitCode==0", vec![ORIGINAL]),
        // ...and correlate parameters as `;` does.
        ("paramLabel==Sleeps and paramValue==3", vec![MS2]),
        ("paramLabel==Sleeps or paramValue==3", vec![MS2, DELETED, LOOKALIKE]),
        // A field without a value.
        ("endTime=isnull=", vec![DELETED, LOOKALIKE, PERCENT, STAR]),
        ("endTime=notnull=", vec![ORIGINAL, MS2]),
        ("jobOwner=isnull=", vec![PERCENT, STAR]),
        ("exitStatus=isnull= and priority=notnull=", vec![PERCENT, STAR]),
        ("isDeleted=isnull=", vec![]),
        // A list without an element: no status, no machine, a parameter without values.
        ("status=isnull=", vec![PERCENT, STAR]),
        ("status=notnull=", vec![ORIGINAL, MS2, DELETED, LOOKALIKE]),
        ("submissionMachines=isnull=", vec![ORIGINAL, MS2, DELETED, PERCENT, STAR]),
        ("submissionMachines=notnull=", vec![LOOKALIKE]),
        ("paramValue=isnull=", vec![ORIGINAL]),
        ("paramLabel=='Parameter Table File';paramValue=isnull=", vec![ORIGINAL]),
        ("paramLabel==Sleeps;paramValue=isnull=", vec![]),
        ("paramValue=notnull=", vec![ORIGINAL, MS2, DELETED, LOOKALIKE]),
        // A field of an algorithm or parameter: some algorithm or parameter of the job.
        ("algorithmVersion=isnull=", vec![]),
        ("algorithmVersion=notnull=;algorithmName==Teste_Progresso", vec![DELETED]),
        // Patterns on statuses match their names.
        ("exitStatus==*ERROR", vec![DELETED]),
        ("exitStatus!=*ERROR", vec![ORIGINAL, MS2]),
        ("exitStatus=in=(*ERROR,KILLED)", vec![MS2, DELETED]),
        ("exitStatus=out=(*ERROR,S*)", vec![MS2]),
        ("exitStatus==*", vec![ORIGINAL, MS2, DELETED]),
        ("status==*ING", vec![ORIGINAL, MS2, LOOKALIKE]),
        ("status!=*ING", vec![DELETED]),
        ("status=out=(*ING,FINISHED)", vec![DELETED]),
        ("status=in=(DOWN*,FIN*)", vec![ORIGINAL, MS2]),
    ];
    for (query, expected) in cases {
        let url = format!("/v1/jobs/history?q={}", encode(query));
        let (status, body) = get(&server, &url).await;
        assert_eq!(status, 200, "{query}: {body}");
        let found = ids(&body);
        assert_eq!(found.len(), expected.len(), "{query}: each job once, found {found:?}");
        assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), set(&expected), "{query}");
    }

    let refused: Vec<(&str, usize, &str)> = vec![
        ("endTime=isnull=2019", 16, "`=isnull=` takes no value, but one is written at character 16"),
        ("endTime=notnull=('x')", 17, "`=notnull=` takes no value"),
        ("priority==1 AND jobOwner==admin", 13, "expected `;` (and), `,` (or) or the end of the query"),
        ("priority==1 and", 13, "expected `;` (and), `,` (or) or the end of the query"),
        ("jobOwner=='x'and priority==1", 14, "`and` at character 14 needs a blank before it"),
        ("exitStatus==*DONE", 13, "`*DONE` at character 13 matches no exit status; the values are UNKNOWN"),
        ("status==*ing", 9, "matches no job status (values are upper case: did you mean *ING?)"),
        ("status=gt=FIN*", 7, "orders values, but `status` is a job status"),
    ];
    for (query, position, message) in refused {
        let (status, body) = get(&server, &format!("/v1/jobs/history?q={}", encode(query))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("invalid_query"), Some("q")), "{query}");
        assert_eq!(body["position"], position, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{query}: {}", body["message"]);
    }
    let (_, portuguese) =
        get(&server, &format!("/v1/jobs/history?locale=pt_BR&q={}", encode("exitStatus==*DONE"))).await;
    assert!(
        portuguese["message"].as_str().unwrap().starts_with("`*DONE` no caractere 13 não corresponde a nenhum valor"),
        "{portuguese}"
    );
    let (_, french) = get(&server, &format!("/v1/jobs/history?locale=fr&q={}", encode("endTime=isnull=x"))).await;
    assert!(french["message"].as_str().unwrap().starts_with("`=isnull=` ne prend pas de valeur"), "{french}");
}

/// A value of the selector's type, as a query writes it.
fn sample_value(selector: &Value) -> String {
    match selector["type"].as_str().unwrap() {
        "string" => "x".to_owned(),
        "integer" => "1".to_owned(),
        "number" => "1.5".to_owned(),
        "datetime" => "2019-06-12T00:00:00Z".to_owned(),
        _ => selector["values"][0].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn the_selector_list_says_what_each_selector_takes_and_the_search_agrees() {
    let server = server().await;
    let (status, list) = get(&server, "/v1/jobs/history/selectors").await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    let by_name = |name: &str| list.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name} listed"));
    let equalities = json!(["==", "!=", "=in=", "=out=", "=isnull=", "=notnull="]);
    let exit_status = by_name("exitStatus");
    assert_eq!(
        (&exit_status["type"], &exit_status["list"], &exit_status["operators"], &exit_status["wildcards"]),
        (&json!("enum"), &json!(false), &equalities, &json!(true))
    );
    assert_eq!(exit_status["values"].as_array().unwrap().len(), 12);
    assert_eq!(exit_status["values"][2], "EXECUTION_ERROR");
    let status_selector = by_name("status");
    assert_eq!((&status_selector["list"], &status_selector["sortable"]), (&json!(true), &json!(false)));
    assert_eq!(status_selector["values"].as_array().unwrap().len(), 8);
    let priority = by_name("priority");
    assert_eq!(
        (&priority["type"], &priority["sortable"], &priority["wildcards"]),
        (&json!("integer"), &json!(true), &json!(false))
    );
    assert_eq!(priority["operators"].as_array().unwrap().len(), 10);
    assert!(priority.get("values").is_none(), "{priority}");
    assert_eq!(by_name("isDeleted")["values"], json!(["true", "false"]));
    assert_eq!(by_name("cpuTime")["type"], "number");
    assert_eq!(by_name("endTime")["type"], "datetime");
    assert_eq!((&by_name("paramValue")["type"], &by_name("paramValue")["list"]), (&json!("string"), &json!(true)));
    assert_eq!(list.len(), 35, "every field of the job, status, the algorithms' and the parameters'");

    // Each listed operator is taken with a value of the listed type, each other one refused.
    let all = ["==", "!=", "=gt=", "=ge=", "=lt=", "=le=", "=in=", "=out=", "=isnull=", "=notnull="];
    for selector in list {
        let name = selector["name"].as_str().unwrap();
        let value = sample_value(selector);
        let listed: Vec<&str> = selector["operators"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        for operator in all {
            let query = match operator {
                "=isnull=" | "=notnull=" => format!("{name}{operator}"),
                "=in=" | "=out=" => format!("{name}{operator}({value})"),
                _ => format!("{name}{operator}{value}"),
            };
            let (status, body) = get(&server, &format!("/v1/jobs/history?limit=0&q={}", encode(&query))).await;
            let expected = if listed.contains(&operator) { 200 } else { 400 };
            assert_eq!(status, expected, "{query}: {body}");
        }
        if selector["wildcards"] == true {
            let pattern = format!("{}*", &value[..1]);
            let (status, body) =
                get(&server, &format!("/v1/jobs/history?limit=0&q={name}=={}", encode(&pattern))).await;
            assert_eq!(status, 200, "{name}=={pattern}: {body}");
        }
        let sort = get(&server, &format!("/v1/jobs/history?limit=0&attr={name}")).await.0;
        assert_eq!(sort == 200, selector["sortable"] == true, "sorting by {name}");
    }
}

/// Percent-encodes a query for a URL (`+` in particular would otherwise be a blank).
fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[tokio::test]
async fn pages_are_stable_and_sorted_with_job_id_breaking_ties() {
    let server = server().await;
    // Priorities: ORIGINAL 1, DELETED 1, MS2 2, PERCENT 3, STAR 3, LOOKALIKE none (last ascending).
    let expected = [ORIGINAL, DELETED, MS2, PERCENT, STAR, LOOKALIKE];
    let mut sorted = expected.to_vec();
    sorted[..2].sort();
    sorted[3..5].sort();
    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let (status, body) =
            get(&server, &format!("/v1/jobs/history?attr=priority&asc=true&limit=2&offset={offset}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 6);
        paged.extend(ids(&body));
    }
    assert_eq!(paged, sorted);
    let (_, beyond) = get(&server, "/v1/jobs/history?limit=2&offset=10").await;
    assert_eq!((ids(&beyond).len(), beyond["total"].clone()), (0, json!(6)));

    let (_, descending) = get(&server, "/v1/jobs/history?attr=priority&asc=false").await;
    let descending = ids(&descending);
    assert_eq!(descending[0], LOOKALIKE, "a null is larger than any value: first when descending");
    assert_eq!(descending[1..3], [PERCENT, STAR], "ties by job id ascending, whatever the direction");

    let (_, newest) = get(&server, "/v1/jobs/history").await;
    assert_eq!(ids(&newest), [STAR, LOOKALIKE, ORIGINAL, MS2, DELETED, PERCENT], "newest submission first by default");
    let (_, zero) = get(&server, "/v1/jobs/history?limit=0").await;
    assert_eq!((ids(&zero).len(), zero["total"].clone()), (0, json!(6)), "limit 0 counts only");
}

#[tokio::test]
async fn one_job_has_the_seeds_structure_and_deletion_is_soft() {
    let server = server().await;
    let (status, job) = get(&server, &format!("/v1/jobs/history/{ORIGINAL}")).await;
    assert_eq!(status, 200);
    let keys: BTreeSet<&str> = job.as_object().unwrap().keys().map(String::as_str).collect();
    let original_keys: BTreeSet<&str> = [
        "jobId",
        "groupId",
        "projectId",
        "jobOwner",
        "automaticallyMachineSelection",
        "submissionMachines",
        "numberOfProcesses",
        "numberOfProcessesByMachine",
        "submissionTime",
        "description",
        "priority",
        "multipleExecution",
        "jobType",
        "numberOfAttempts",
        "executionMachine",
        "endTime",
        "exitCode",
        "guiltyNodeId",
        "exitStatus",
        "cpuTime",
        "wallclockTime",
        "ramMemory",
        "statusHistory",
        "algorithms",
        "flowId",
        "flowVersion",
        "flowName",
        "lastModifiedTime",
        "isDeleted",
    ]
    .into();
    assert_eq!(keys, original_keys, "the original history service's Job JSON, field for field");
    assert_eq!(job["submissionTime"], "2019-06-13T00:24:25.342Z", "UTC, milliseconds");
    assert_eq!(job["exitStatus"], "SUCCESS");
    assert_eq!(job["submissionMachines"], Value::Null);
    let history: Vec<&str> =
        job["statusHistory"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(history, ["SCHEDULED", "UPLOADING", "EXECUTING", "DOWNLOADING", "FINISHED"], "ordered by time");
    let parameters = job["algorithms"][0]["parameters"].as_array().unwrap();
    assert_eq!(parameters.len(), 6);
    assert_eq!(parameters[5]["parameterId"], "number_of_cores");
    assert_eq!(parameters[5]["value"], json!(["4"]));
    assert_eq!(parameters[3]["value"], json!([]));
    assert!(parameters[0]["id"].is_i64(), "each parameter has its history id, as in the original history service");

    let (_, without) = get(&server, &format!("/v1/jobs/history/{ORIGINAL}?showParam=false")).await;
    assert!(without["algorithms"][0].get("parameters").is_none());
    let (_, page) = get(&server, "/v1/jobs/history?q=jobOwner==admin&showParam=false").await;
    assert!(page["jobs"][0]["algorithms"][0].get("parameters").is_none());
    assert_eq!(page["jobs"][0]["algorithms"][0]["algorithmVersion"], "5.0.0");

    let (status, missing) = get(&server, "/v1/jobs/history/nope?locale=fr").await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], "job_not_found");
    assert_eq!(missing["message"], "aucun job `nope` dans l'historique");

    for _ in 0..2 {
        let deleted = server.client.delete(server.url(&format!("/v1/jobs/history/{MS2}"))).send().await.unwrap();
        assert_eq!(deleted.status(), 204, "deleting is idempotent");
    }
    let (_, job) = get(&server, &format!("/v1/jobs/history/{MS2}")).await;
    assert_eq!(job["isDeleted"], true, "still there, marked");
    let (_, found) = get(&server, "/v1/jobs/history?q=description==*MS2").await;
    assert_eq!(found["total"], 2, "searches return deleted jobs unless they filter on isDeleted");
    let (_, live) = get(&server, "/v1/jobs/history?q=isDeleted==false;description==*MS2").await;
    assert_eq!(live["total"], 0);
    let missing = server.client.delete(server.url("/v1/jobs/history/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn bad_input_is_a_400_that_says_what_where_and_why_in_the_callers_language() {
    let server = server().await;
    let cases: Vec<(&str, &str, Option<usize>, &str)> = vec![
        (
            "q=priority==1;jobOwnr==admin",
            "q",
            Some(13),
            "unknown selector `jobOwnr` at character 13; the selectors are jobId, groupId",
        ),
        ("q=priority=%3D", "q", Some(11), "expected `(` or a value at character 11"),
        ("q=priority==one", "q", Some(11), "`one` at character 11 is not an integer"),
        ("q=priority==1*", "q", Some(11), "a `*` wildcard is only allowed in text and statuses, not in an integer"),
        ("q=isDeleted=gt=true", "q", Some(10), "`=gt=` at character 10 orders values, but `isDeleted` is a boolean"),
        ("q=status%3EINIT", "q", Some(7), "`=gt=` at character 7 orders values, but `status` is a job status"),
        (
            "q=exitStatus==killed",
            "q",
            Some(13),
            "(values are upper case: did you mean KILLED?); the values are UNKNOWN, SUCCESS",
        ),
        ("q=endTime=gt='2019/06/12 21:00'", "q", Some(12), "has no time-zone offset"),
        ("q=description=gt=a*", "q", Some(16), "a `*` wildcard at character 16 cannot be used with `=gt=`"),
        ("q=description=like=x", "q", Some(12), "unknown operator `=like=`"),
        ("q=(priority==1", "q", Some(13), "expected `;` (and), `,` (or) or `)` at character 13"),
        ("limit=1001", "limit", None, "limit 1001 is more than the maximum, 1000"),
        ("limit=-1", "limit", None, "`limit` must be a whole number of 0 or more, not `-1`"),
        ("offset=first", "offset", None, "`offset` must be a whole number of 0 or more, not `first`"),
        ("asc=maybe", "asc", None, "`asc` must be true or false, not `maybe`"),
        ("showParam=no", "showParam", None, "`showParam` must be true or false, not `no`"),
        // Typed values left empty are refused, not taken as absent.
        ("limit=", "limit", None, "`limit` must be a whole number of 0 or more, not ``"),
        ("asc=", "asc", None, "`asc` must be true or false, not ``"),
        ("attr=status", "attr", None, "cannot sort by `status`; sort by one of jobId, groupId"),
        ("attr=paramValue", "attr", None, "cannot sort by `paramValue`"),
        ("locale=de", "locale", None, "unsupported locale `de`; the locales are en, pt_BR and fr"),
    ];
    for (query, field, position, message) in cases {
        let (status, body) = get(&server, &format!("/v1/jobs/history?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}");
        assert_eq!(body["position"].as_u64().map(|p| p as usize), position, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{query}: {}", body["message"]);
        assert!(["invalid_query", "invalid_parameter"].contains(&body["code"].as_str().unwrap()));
    }

    let (_, portuguese) = get(&server, "/v1/jobs/history?q=exitStatus==killed&locale=pt_BR").await;
    assert_eq!(
        portuguese["message"],
        "`killed` no caractere 13 não é um status de saída (os valores são em maiúsculas: quis dizer KILLED?); \
         os valores são UNKNOWN, SUCCESS, EXECUTION_ERROR, JOB_IDENTIFIER_NOT_FOUND, UNEXPECTED_MACHINE_ERROR, \
         PROJECT_NOT_FOUND, FAILED_SETUP_EXECUTION_ENVIRONMENT, NO_PERMISSION, NO_MACHINE_AVAILABLE, KILLED, LOST, UNDEFINED"
    );
    let (_, french) = get(&server, "/v1/jobs/history?q=priority==1%20b&locale=fr").await;
    assert_eq!(
        french["message"],
        "attendu `;` (et), `,` (ou) ou la fin de la requête au caractère 13, mais trouvé `b`"
    );
    let (status, _) = get(&server, "/v1/jobs/history?q=job_id;DROP%20TABLE%20jobs==1").await;
    assert_eq!(status, 400);
    let (_, still) = get(&server, "/v1/jobs/history").await;
    assert_eq!(still["total"], 6);
}

#[tokio::test]
async fn a_database_that_goes_away_is_a_503_and_an_unready_service() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let database = history_store::testing::TestDatabase::create().await;
    let env = service_kit::testing::test_env([("DATABASE_URL", database.url.as_str())]);
    let settings = job_history::Settings::from_env(&env).unwrap();
    let server = TestServer::start(|listener| job_history::run(settings, listener)).await;
    assert_eq!(get(&server, "/v1/jobs/history").await.0, 200);

    let admin_url = format!("{}/postgres", history_store::testing::server_url());
    let mut admin = AsyncPgConnection::establish(&admin_url).await.unwrap();
    admin.batch_execute(&format!("DROP DATABASE \"{}\" WITH (FORCE)", database.name)).await.unwrap();

    let (status, body) = get(&server, "/v1/jobs/history?locale=pt_BR").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "database_unavailable");
    assert!(body["message"].as_str().unwrap().starts_with("o banco de dados do histórico de jobs está indisponível"));
    assert!(!body.to_string().contains(&database.name), "no internals in the answer: {body}");
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["checks"]["database"], "unavailable", "the reason goes to the log, not the answer");
    assert_eq!(server.get("/healthz").await.status(), 200, "alive all the same");
}
