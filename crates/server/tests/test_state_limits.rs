//! TestState with JSONata that never terminates: each request fails with
//! `States.QueryEvaluationError` naming the time limit, and while such
//! requests run the server goes on answering others (the state runs on the
//! blocking pool, not on the threads that serve the API).

mod common;

use serde_json::{json, Value};

fn request(output: &str) -> Vec<u8> {
    json!({
        "definition": json!({"QueryLanguage": "JSONata", "Type": "Pass", "Output": output, "End": true}).to_string(),
        "input": "{}",
        "roleArn": common::ROLE,
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_terminating_jsonata_fails_and_the_server_keeps_answering() {
    let srv = common::TestServer::start().await;
    // As many never-ending requests as the runtime has worker threads.
    let mut slow = Vec::new();
    for expr in [
        "{% ($f := function($x){ $f($x) }; $f(1)) %}",
        "{% $reduce([1..100000], function($a, $b){ $reduce([1..100000], function($c, $d){ $c + $d }) }) %}",
    ] {
        let service = srv.service.clone();
        slow.push(tokio::spawn(async move {
            service.call("TestState", &request(expr)).await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Quick requests, on the same worker threads, are answered while both
    // are still evaluating.
    let service = srv.service.clone();
    let (quick, listed) = tokio::spawn(async move {
        let quick = service.call("TestState", &request("{% 6 * 7 %}")).await;
        let listed = service.call("ListStateMachines", b"{}").await;
        (quick, listed)
    })
    .await
    .expect("joins");
    let quick = quick.expect("the quick TestState is answered");
    assert_eq!(quick["status"], "SUCCEEDED", "{quick}");
    assert_eq!(quick["output"], "42");
    assert!(listed.is_ok(), "{listed:?}");
    assert!(
        slow.iter().all(|h| !h.is_finished()),
        "the quick requests waited for the non-terminating ones"
    );
    for h in slow {
        let out: Value = h.await.expect("joins").expect("TestState answers");
        assert_eq!(out["status"], "FAILED", "{out}");
        assert_eq!(out["error"], "States.QueryEvaluationError", "{out}");
        let cause = out["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains("exceeded the evaluation time limit of 1000 ms"),
            "{cause}"
        );
    }
}
