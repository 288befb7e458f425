//! End-to-end tests of the API with the official Rust SDK (`aws-sdk-sfn`) as
//! the client, against a server started in-process on a random port: every
//! operation of issue 4 and every typed error the SDK must raise.

mod common;

use std::collections::HashSet;

use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEventType, RoutingConfigurationListItem, StateMachineType,
    SyncExecutionStatus, Tag, ValidateStateMachineDefinitionResultCode,
};
use common::{create, wait_done, TestServer, PASS, ROLE};
use serde_json::{json, Value};

const WAIT_CHAIN: &str = r#"{
  "StartAt": "Greet",
  "States": {
    "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"}, "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": "done", "ResultPath": "$.status", "End": true}
  }
}"#;

const LONG_WAIT: &str =
    r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#;

const FAILS: &str =
    r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"on purpose"}}}"#;

fn parse(s: Option<&str>) -> Value {
    s.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machine_lifecycle() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = create(c, "life", PASS).await;
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:life"
    );

    // Identical create: idempotent. Different definition: already exists.
    assert_eq!(create(c, "life", PASS).await, arn);
    let err = c
        .create_state_machine()
        .name("life")
        .definition(FAILS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_already_exists(), "{err:?}");

    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.name, "life");
    assert_eq!(d.definition, PASS);
    assert_eq!(d.r#type, StateMachineType::Standard);
    assert_eq!(d.role_arn, ROLE);
    let first_revision = d.revision_id.clone().unwrap();

    let u = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(FAILS)
        .send()
        .await
        .unwrap();
    assert_ne!(u.revision_id.as_deref(), Some(first_revision.as_str()));
    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition, FAILS);

    // List with pagination.
    for i in 0..4 {
        create(c, &format!("page-{i}"), PASS).await;
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_state_machines()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.state_machines.len() <= 2);
        seen.extend(page.state_machines.iter().map(|m| m.name.clone()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["life", "page-0", "page-1", "page-2", "page-3"]);

    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_runs_to_completion_with_history() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = create(c, "chain", WAIT_CHAIN).await;
    let input = r#"{"who":"world"}"#;
    let started = c
        .start_execution()
        .state_machine_arn(&arn)
        .name("run-1")
        .input(input)
        .send()
        .await
        .unwrap();
    let exec = started.execution_arn.clone();
    assert_eq!(
        exec,
        "arn:aws:states:us-east-1:123456789012:execution:chain:run-1"
    );

    // Same name and input while running: the same execution.
    let again = c
        .start_execution()
        .state_machine_arn(&arn)
        .name("run-1")
        .input(input)
        .send()
        .await
        .unwrap();
    assert_eq!(again.execution_arn, exec);
    // Same name, other input: refused.
    let err = c
        .start_execution()
        .state_machine_arn(&arn)
        .name("run-1")
        .input("{}")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_already_exists(), "{err:?}");

    let done = wait_done(c, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        parse(done.output.as_deref()),
        json!({"greeting": "Hello, world!", "status": "done"})
    );
    assert!(done.stop_date.is_some());

    // A finished execution's name cannot be reused.
    let err = c
        .start_execution()
        .state_machine_arn(&arn)
        .name("run-1")
        .input(input)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_already_exists(), "{err:?}");

    // History, paged three at a time: dense ids, started first, succeeded last.
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(&exec)
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    assert_eq!(events[0].r#type, HistoryEventType::ExecutionStarted);
    assert_eq!(
        events.last().map(|e| e.r#type.clone()),
        Some(HistoryEventType::ExecutionSucceeded)
    );
    assert!(events
        .iter()
        .any(|e| e.r#type == HistoryEventType::WaitStateEntered));

    let rev = c
        .get_execution_history()
        .execution_arn(&exec)
        .reverse_order(true)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.events.first().map(|e| e.id), Some(events.len() as i64));
    let entered = rev
        .events
        .iter()
        .find_map(|e| e.state_entered_event_details.as_ref())
        .unwrap();
    assert!(entered.input.is_none(), "execution data was not stripped");

    let listed = c
        .list_executions()
        .state_machine_arn(&arn)
        .status_filter(ExecutionStatus::Succeeded)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions.len(), 1);
    assert_eq!(listed.executions[0].execution_arn, exec);
    let none = c
        .list_executions()
        .state_machine_arn(&arn)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .unwrap();
    assert!(none.executions.is_empty());

    let sm = c
        .describe_state_machine_for_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(sm.name, "chain");
    assert_eq!(sm.definition, WAIT_CHAIN);

    // A generated name is a UUID.
    let gen = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(input)
        .send()
        .await
        .unwrap();
    let name = gen.execution_arn.rsplit(':').next().unwrap().to_string();
    assert_eq!(name.len(), 36, "{name}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_executions_pages() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = create(c, "many", LONG_WAIT).await;
    for i in 0..5 {
        c.start_execution()
            .state_machine_arn(&arn)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut names = HashSet::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_executions()
            .state_machine_arn(&arn)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        for e in page.executions {
            assert_eq!(e.status, ExecutionStatus::Running);
            assert!(names.insert(e.name));
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 5);
    assert!(pages >= 3);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_redrive() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let waiting = create(c, "waits", LONG_WAIT).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&waiting)
        .send()
        .await
        .unwrap()
        .execution_arn;
    c.stop_execution()
        .execution_arn(&exec)
        .error("Halt")
        .cause("test")
        .send()
        .await
        .unwrap();
    let d = wait_done(c, &exec).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    let hist = c
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert!(hist
        .events
        .iter()
        .any(|e| e.r#type == HistoryEventType::ExecutionAborted));

    // A failed execution can be redriven (it fails again, counted).
    let failing = create(c, "fails", FAILS).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&failing)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = wait_done(c, &exec).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("Boom"));
    assert_eq!(d.cause.as_deref(), Some("on purpose"));
    c.redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let d = wait_done(c, &exec).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.redrive_count, Some(1));
    let redriven = c
        .list_executions()
        .state_machine_arn(&failing)
        .redrive_filter(aws_sdk_sfn::types::ExecutionRedriveFilter::Redriven)
        .send()
        .await
        .unwrap();
    assert_eq!(redriven.executions.len(), 1);

    // A succeeded execution cannot.
    let ok = create(c, "ok", PASS).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&ok)
        .send()
        .await
        .unwrap()
        .execution_arn;
    wait_done(c, &exec).await;
    let err = c
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_not_redrivable(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_aliases() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let one = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}"#;
    let two = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":2,"End":true}}}"#;
    let created = c
        .create_state_machine()
        .name("ver")
        .definition(one)
        .role_arn(ROLE)
        .publish(true)
        .version_description("first")
        .send()
        .await
        .unwrap();
    let v1 = created.state_machine_version_arn.unwrap();
    assert_eq!(v1, format!("{}:1", created.state_machine_arn));
    let arn = created.state_machine_arn;
    let v2 = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(two)
        .publish(true)
        .send()
        .await
        .unwrap()
        .state_machine_version_arn
        .unwrap();
    assert_eq!(v2, format!("{arn}:2"));
    // Publishing an unchanged revision returns the newest version.
    let again = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_version_arn, v2);

    let dv1 = c
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(dv1.definition, one);
    assert_eq!(dv1.description.as_deref(), Some("first"));

    let versions = c
        .list_state_machine_versions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = versions
        .state_machine_versions
        .iter()
        .map(|v| v.state_machine_version_arn.clone())
        .collect();
    assert_eq!(listed, [v2.clone(), v1.clone()]);

    let route = |v: &str, w: i32| {
        RoutingConfigurationListItem::builder()
            .state_machine_version_arn(v)
            .weight(w)
            .build()
            .unwrap()
    };
    let alias = c
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&v1, 50))
        .routing_configuration(route(&v2, 50))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn;
    assert_eq!(alias, format!("{arn}:live"));

    // Starting through the alias picks both versions over enough runs.
    let mut outputs = HashSet::new();
    for i in 0..40 {
        let e = c
            .start_execution()
            .state_machine_arn(&alias)
            .name(format!("a{i}"))
            .send()
            .await
            .unwrap()
            .execution_arn;
        let d = wait_done(c, &e).await;
        assert_eq!(d.state_machine_alias_arn.as_deref(), Some(alias.as_str()));
        outputs.insert(d.output.unwrap_or_default());
        if outputs.len() == 2 {
            break;
        }
    }
    assert_eq!(outputs.len(), 2, "50/50 routing used one version only");

    // A version started directly records its version ARN.
    let e = c
        .start_execution()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = wait_done(c, &e).await;
    assert_eq!(d.state_machine_version_arn.as_deref(), Some(v1.as_str()));
    assert_eq!(d.output.as_deref(), Some("1"));

    let da = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!(da.name.as_deref(), Some("live"));
    assert_eq!(da.routing_configuration.map(|r| r.len()), Some(2));

    c.update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route(&v2, 100))
        .send()
        .await
        .unwrap();
    let aliases = c
        .list_state_machine_aliases()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(aliases.state_machine_aliases.len(), 1);

    // v2 is routed to: it cannot be deleted; v1 no longer is.
    let err = c
        .delete_state_machine_version()
        .state_machine_version_arn(&v2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    c.delete_state_machine_version()
        .state_machine_version_arn(&v1)
        .send()
        .await
        .unwrap();

    // Weights must add up to 100; unknown versions are not found.
    let err = c
        .create_state_machine_alias()
        .name("bad")
        .routing_configuration(route(&v2, 60))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let err = c
        .create_state_machine_alias()
        .name("gone")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");

    c.delete_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    let err = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = c
        .create_state_machine()
        .name("tagged")
        .definition(PASS)
        .role_arn(ROLE)
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    c.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("dev").build())
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default();
    let pairs: Vec<_> = tags
        .iter()
        .map(|t| (t.key.clone().unwrap(), t.value.clone().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("env".to_string(), "dev".to_string()),
            ("team".to_string(), "core".to_string())
        ]
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap()
        .tags
        .unwrap_or_default();
    assert_eq!(tags.len(), 1);

    let missing = format!("{arn}-nope");
    let err = c
        .list_tags_for_resource()
        .resource_arn(&missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
    let err = c
        .tag_resource()
        .resource_arn(&missing)
        .tags(Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_definition() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let ok = c
        .validate_state_machine_definition()
        .definition(PASS)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.result, ValidateStateMachineDefinitionResultCode::Ok);
    assert!(ok.diagnostics.is_empty());
    let bad = c
        .validate_state_machine_definition()
        .definition(r#"{"States":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.result, ValidateStateMachineDefinitionResultCode::Fail);
    assert!(!bad.diagnostics.is_empty());
    assert_eq!(bad.diagnostics[0].code, "SCHEMA_VALIDATION_FAILED");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_executions() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let express = c
        .create_state_machine()
        .name("fast")
        .r#type(StateMachineType::Express)
        .definition(PASS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = c
        .start_sync_execution()
        .state_machine_arn(&express)
        .input("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status, SyncExecutionStatus::Succeeded);
    assert_eq!(parse(out.output.as_deref()), json!({"ok": true}));

    let failing = c
        .create_state_machine()
        .name("fast-fail")
        .r#type(StateMachineType::Express)
        .definition(FAILS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = c
        .start_sync_execution()
        .state_machine_arn(&failing)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status, SyncExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Boom"));

    let standard = create(c, "slow", PASS).await;
    let err = c
        .start_sync_execution()
        .state_machine_arn(&standard)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_type_not_supported(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = create(c, "errs", PASS).await;

    let err = c
        .describe_state_machine()
        .state_machine_arn("not-an-arn")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_arn(), "{err:?}");

    let err = c
        .create_state_machine()
        .name("has space")
        .definition(PASS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_name(), "{err:?}");

    let err = c
        .create_state_machine()
        .name("baddef")
        .definition(r#"{"StartAt":"X"}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "),
        "{msg}"
    );

    let err = c
        .start_execution()
        .state_machine_arn(&arn)
        .input("{not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_execution_input(), "{err:?}");

    let err = c
        .start_execution()
        .state_machine_arn(format!("{arn}-missing"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "{err:?}");

    let err = c
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:errs:nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");

    let err = c
        .get_execution_history()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:errs:nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");

    let err = c
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_arn(), "{err:?}");

    let err = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_missing_required_parameter(), "{err:?}");

    let err = c
        .create_state_machine()
        .name("logs")
        .definition(PASS)
        .role_arn(ROLE)
        .logging_configuration(
            aws_sdk_sfn::types::LoggingConfiguration::builder()
                .level(aws_sdk_sfn::types::LogLevel::All)
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_logging_configuration(), "{err:?}");

    let mut tag = c.tag_resource().resource_arn(&arn);
    for i in 0..51 {
        tag = tag.tags(Tag::builder().key(format!("k{i}")).value("v").build());
    }
    let err = tag.send().await.unwrap_err().into_service_error();
    assert!(err.is_too_many_tags(), "{err:?}");

    let err = c
        .list_state_machines()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_token(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_on_the_wire() {
    let srv = TestServer::start().await;
    let cases: &[(Option<&str>, &str, u16, &str)] = &[
        (
            Some("AWSStepFunctions.NoSuchThing"),
            "{}",
            400,
            "UnknownOperationException",
        ),
        (None, "{}", 400, "UnknownOperationException"),
        (
            Some("AWSStepFunctions.ListStateMachines"),
            "{nope",
            400,
            "SerializationException",
        ),
        (
            Some("AWSStepFunctions.CreateStateMachine"),
            r#"{"definition":"{}","roleArn":"arn:aws:iam::1:role/r"}"#,
            400,
            "ValidationException",
        ),
        (
            Some("AWSStepFunctions.ListStateMachines"),
            r#"{"maxResults":5000}"#,
            400,
            "ValidationException",
        ),
        (
            Some("AWSStepFunctions.DescribeStateMachine"),
            r#"{"stateMachineArn":5}"#,
            400,
            "SerializationException",
        ),
        (
            Some("AWSStepFunctions.RedriveExecution"),
            r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:m:e","clientToken":"a b"}"#,
            400,
            "ValidationException",
        ),
        (
            Some("AWSStepFunctions.GetExecutionHistory"),
            r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:m:e","maxResults":-1}"#,
            400,
            "ValidationException",
        ),
        (
            Some("AWSStepFunctions.ListExecutions"),
            r#"{}"#,
            400,
            "ValidationException",
        ),
        (
            Some("AWSStepFunctions.ListExecutions"),
            r#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:m","statusFilter":"DONE"}"#,
            400,
            "ValidationException",
        ),
    ];
    for (target, body, status, kind) in cases {
        let (got_status, got) = srv.raw(*target, body).await;
        assert_eq!(got_status, *status, "{target:?} {body}: {got}");
        assert_eq!(got["__type"], *kind, "{target:?} {body}: {got}");
        assert!(got["message"].is_string(), "{got}");
    }
    let (_, got) = srv
        .raw(
            Some("AWSStepFunctions.CreateStateMachine"),
            r#"{"definition":"{}","roleArn":"arn:aws:iam::1:role/r"}"#,
        )
        .await;
    assert!(
        got["message"].as_str().unwrap_or("").contains("'name'"),
        "{got}"
    );
    // Any Host (here `sync-localhost`) is served; a good request succeeds.
    let (status, got) = srv
        .raw(Some("AWSStepFunctions.ListStateMachines"), "{}")
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, json!({"stateMachines": []}));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_state_runs_one_state() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let pass = c
        .test_state()
        .definition(r#"{"Type":"Pass","Parameters":{"x.$":"$.a"},"Next":"After"}"#)
        .role_arn(ROLE)
        .input(r#"{"a":7}"#)
        .inspection_level(aws_sdk_sfn::types::InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pass.status,
        Some(aws_sdk_sfn::types::TestExecutionStatus::Succeeded)
    );
    assert_eq!(parse(pass.output.as_deref()), json!({"x": 7}));
    assert_eq!(pass.next_state.as_deref(), Some("After"));
    assert!(pass.inspection_data.is_some());

    // A mocked task failure that a Catch handles.
    let caught = c
        .test_state()
        .definition(
            r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
                "Catch":[{"ErrorEquals":["Oops"],"ResultPath":"$.err","Next":"Recover"}],"End":true}"#,
        )
        .input(r#"{"a":1}"#)
        .mock(
            aws_sdk_sfn::types::MockInput::builder()
                .error_output(
                    aws_sdk_sfn::types::MockErrorOutput::builder()
                        .error("Oops")
                        .cause("mocked")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        caught.status,
        Some(aws_sdk_sfn::types::TestExecutionStatus::CaughtError)
    );
    assert_eq!(caught.next_state.as_deref(), Some("Recover"));
    assert_eq!(
        parse(caught.output.as_deref()),
        json!({"a": 1, "err": {"Error": "Oops", "Cause": "mocked"}})
    );

    let err = c
        .test_state()
        .definition("{not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_executions_complete() {
    let srv = TestServer::start().await;
    let c = &srv.client;
    let arn = create(
        c,
        "busy",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"i.$":"$.i"},"Next":"W"},"W":{"Type":"Wait","Seconds":1,"Next":"B"},"B":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..200 {
        let c = c.clone();
        let arn = arn.clone();
        starts.spawn(async move {
            let e = c
                .start_execution()
                .state_machine_arn(arn)
                .name(format!("c{i}"))
                .input(format!(r#"{{"i":{i}}}"#))
                .send()
                .await
                .expect("start")
                .execution_arn;
            (i, e)
        });
    }
    let mut arns = Vec::new();
    while let Some(r) = starts.join_next().await {
        arns.push(r.expect("join"));
    }
    for (i, e) in arns {
        let d = wait_done(c, &e).await;
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{e}");
        assert_eq!(parse(d.output.as_deref()), json!({ "i": i }));
    }
    srv.stop().await;
}
