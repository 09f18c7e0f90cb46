//! The list-sync logic against a mock List Management API.

use alexa_endpoint::api::ApiError;
use alexa_endpoint::handlers::list_sync::{apply, ListSyncOutcome};
use serde_json::{json, Value};
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_support::*;

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// A mock API whose lists metadata is [`metadata_body`] and whose `list_id`
/// has these active and completed items.
async fn mock_api(list_id: &str, active: Vec<Value>, completed: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(&server)
        .await;
    for (status, items) in [("active", active), ("completed", completed)] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/v2/householdlists/{}/{status}",
                enc(list_id)
            )))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(list_body(list_id, "x", items)))
            .named(format!("GET {status}"))
            .mount(&server)
            .await;
    }
    server
}

fn items_path(list_id: &str) -> String {
    format!("/v2/householdlists/{}/items", enc(list_id))
}

fn applied(added: usize, completed: usize, removed: usize, skipped: usize) -> ListSyncOutcome {
    ListSyncOutcome::Applied {
        added,
        completed,
        removed,
        skipped,
    }
}

/// No write (POST, PUT, DELETE) may reach the mock.
async fn forbid_writes(server: &MockServer) {
    for verb in ["POST", "PUT", "DELETE"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .named(format!("no {verb}"))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn add_to_shopping_finds_the_default_list_by_id_and_creates_the_item() {
    let id = shopping_id();
    let server = mock_api(&id, vec![item("i1", "Eier", "active", 1)], vec![]).await;
    Mock::given(method("POST"))
        .and(path(items_path(&id)))
        .and(header("authorization", bearer().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"value": "milk", "status": "active"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("i2", "milk", "active", 1)))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "shopping", "add": ["milk"]}),
    )
    .await
    .expect("applied");
    assert_eq!(outcome, applied(1, 0, 0, 0));
}

#[tokio::test]
async fn add_of_an_active_value_posts_nothing() {
    let id = shopping_id();
    let server = mock_api(&id, vec![item("i1", "Milk", "active", 1)], vec![]).await;
    forbid_writes(&server).await;
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "shopping", "add": ["milk", " MILK "]}),
    )
    .await
    .expect("applied");
    assert_eq!(outcome, applied(0, 0, 0, 2));
}

#[tokio::test]
async fn complete_puts_the_item_with_its_version_and_skips_what_is_not_active() {
    let id = todo_id();
    let server = mock_api(
        &id,
        vec![item("t1", "Call mom", "active", 4)],
        vec![item("t0", "water plants", "completed", 2)],
    )
    .await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/t1", items_path(&id))))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(
            json!({"value": "Call mom", "status": "completed", "version": 4}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(item(
            "t1",
            "Call mom",
            "completed",
            5,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "todo", "complete": ["call mom", "water plants", "never added"]}),
    )
    .await
    .expect("applied");
    assert_eq!(outcome, applied(0, 1, 0, 2));
}

#[tokio::test]
async fn remove_deletes_active_and_completed_items_and_skips_absent_ones() {
    let id = garden_id();
    let server = mock_api(
        &id,
        vec![item("g1", "rake", "active", 1)],
        vec![item("g2", "seeds", "completed", 1)],
    )
    .await;
    for item_id in ["g1", "g2"] {
        Mock::given(method("DELETE"))
            .and(path(format!("{}/{item_id}", items_path(&id))))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "Garden", "remove": ["Rake", "seeds", "shovel"]}),
    )
    .await
    .expect("applied");
    assert_eq!(outcome, applied(0, 0, 2, 1));
}

#[tokio::test]
async fn an_item_gone_meanwhile_counts_as_skipped() {
    let id = garden_id();
    let server = mock_api(&id, vec![item("g1", "rake", "active", 1)], vec![]).await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Item not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "Garden", "remove": ["rake"]}),
    )
    .await
    .expect("applied");
    assert_eq!(outcome, applied(0, 0, 0, 1));
}

#[tokio::test]
async fn an_unknown_list_is_rejected_without_writes() {
    let server = mock_api(&shopping_id(), vec![], vec![]).await;
    forbid_writes(&server).await;
    let outcome = apply(
        &lists_for(&server),
        &json!({"list": "Hardware store", "add": ["nails"]}),
    )
    .await
    .expect("rejected, not an error");
    assert!(
        matches!(&outcome, ListSyncOutcome::Rejected { reason } if reason.contains("Hardware store")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_message_of_another_shape_is_rejected_without_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let lists = lists_for(&server);
    for message in [
        json!({"sometag": "message blob"}),
        json!("add milk"),
        json!({"list": "shopping"}),
        json!({"list": "shopping", "add": "milk"}),
        json!({"list": "shopping", "add": ["milk"], "remove": ["milk"]}),
    ] {
        let outcome = apply(&lists, &message).await.expect("rejected");
        assert!(
            matches!(outcome, ListSyncOutcome::Rejected { .. }),
            "{message}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn an_api_failure_is_an_error_and_the_redelivery_creates_the_item_once() {
    let id = shopping_id();
    let server = mock_api(&id, vec![], vec![]).await;
    Mock::given(method("POST"))
        .and(path(items_path(&id)))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"message": "Internal error"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(items_path(&id)))
        .and(body_json(json!({"value": "milk", "status": "active"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("i2", "milk", "active", 1)))
        .expect(1)
        .mount(&server)
        .await;
    let lists = lists_for(&server);
    let message = json!({"list": "shopping", "add": ["milk"]});
    let e = apply(&lists, &message).await.expect_err("500");
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    assert!(e.is_transient());
    assert_eq!(
        apply(&lists, &message).await.expect("retry"),
        applied(1, 0, 0, 0)
    );
}

#[tokio::test]
async fn a_failing_list_read_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let e = apply(&lists_for(&server), &json!({"list": "todo", "add": ["x"]}))
        .await
        .expect_err("503");
    assert!(matches!(e, ApiError::Server { status: 503, .. }), "{e:?}");
}
