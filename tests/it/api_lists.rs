//! Every List Management call: exact method, path, headers and JSON body.

use alexa_endpoint::api::{DefaultList, ItemStatus, ListState};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::api_support::*;

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// Matches a request without a body and without `Content-Type`.
fn no_body(req: &Request) -> bool {
    req.body.is_empty() && !req.headers.contains_key("content-type")
}

/// `Authorization` and `Accept` on every call.
fn auth_get(verb: &str, p: String) -> wiremock::MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(header("authorization", bearer().as_str()))
        .and(header("accept", "application/json"))
}

#[tokio::test]
async fn lists_metadata_is_get_householdlists() {
    let server = MockServer::start().await;
    auth_get("GET", "/v2/householdlists/".into())
        .and(no_body)
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .expect(1)
        .mount(&server)
        .await;
    let lists = lists_for(&server).lists_metadata().await.expect("metadata");
    assert_eq!(lists.len(), 3);
    assert_eq!(lists[1].list_id, shopping_id());
    assert_eq!(lists[1].name, "Alexa-Einkaufsliste");
    assert_eq!(lists[1].state, ListState::Active);
    assert_eq!(lists[1].status_map.len(), 2);
    assert_eq!(lists[2].version, 3);
}

#[tokio::test]
async fn list_gets_items_by_status_with_encoded_id() {
    let server = MockServer::start().await;
    let id = shopping_id();
    assert!(id.ends_with('='));
    for status in ["active", "completed"] {
        auth_get("GET", format!("/v2/householdlists/{}/{status}", enc(&id)))
            .and(no_body)
            .respond_with(ResponseTemplate::new(200).set_body_json(list_body(
                &id,
                "Alexa-Einkaufsliste",
                vec![item("i1", "Milch", status, 1)],
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = lists_for(&server);
    let active = client.list(&id, ItemStatus::Active).await.expect("active");
    assert_eq!(active.items[0].value, "Milch");
    assert_eq!(active.items[0].status, ItemStatus::Active);
    assert_eq!(
        active.items[0].created_time.as_deref(),
        Some("Wed Jul 19 23:24:10 UTC 2017")
    );
    let completed = client.list(&id, ItemStatus::Completed).await.expect("done");
    assert_eq!(completed.items[0].status, ItemStatus::Completed);
}

#[tokio::test]
async fn list_all_follows_next_links_on_the_same_endpoint() {
    let server = MockServer::start().await;
    let id = garden_id();
    let first = format!("/v2/householdlists/{}/active", enc(&id));
    let mut page1 = list_body(&id, "Garden", vec![item("a", "seeds", "active", 1)]);
    page1["links"] =
        json!({"next": format!("v2/householdlists/{}/active?nextToken=abc", enc(&id))});
    Mock::given(method("GET"))
        .and(path(first.clone()))
        .and(wiremock::matchers::query_param_is_missing("nextToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page1))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(first))
        .and(wiremock::matchers::query_param("nextToken", "abc"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_body(
            &id,
            "Garden",
            vec![item("b", "rake", "active", 1)],
        )))
        .expect(1)
        .mount(&server)
        .await;
    let all = lists_for(&server)
        .list_all(&id, ItemStatus::Active)
        .await
        .expect("all pages");
    let values: Vec<_> = all.items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["seeds", "rake"]);
}

#[tokio::test]
async fn list_all_refuses_a_next_link_to_another_host() {
    let server = MockServer::start().await;
    let id = garden_id();
    let mut page1 = list_body(&id, "Garden", vec![]);
    page1["links"] = json!({"next": "https://evil.example/v2/householdlists/x/active"});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page1))
        .expect(1)
        .mount(&server)
        .await;
    let err = lists_for(&server)
        .list_all(&id, ItemStatus::Active)
        .await
        .expect_err("foreign link");
    assert!(err.to_string().contains("evil.example"), "{err}");
}

#[tokio::test]
async fn create_item_posts_value_and_status() {
    let server = MockServer::start().await;
    let id = shopping_id();
    auth_get("POST", format!("/v2/householdlists/{}/items", enc(&id)))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"value": "milk", "status": "active"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(item("new-1", "milk", "active", 1)))
        .expect(1)
        .mount(&server)
        .await;
    let created = lists_for(&server)
        .create_item(&id, "milk", ItemStatus::Active)
        .await
        .expect("created");
    assert_eq!(created.id, "new-1");
    assert_eq!(created.version, 1);
}

#[tokio::test]
async fn update_item_puts_value_status_and_version() {
    let server = MockServer::start().await;
    let id = garden_id();
    auth_get(
        "PUT",
        format!("/v2/householdlists/{}/items/{}", enc(&id), enc("item/1")),
    )
    .and(header("content-type", "application/json"))
    .and(body_json(
        json!({"value": "rake", "status": "completed", "version": 2}),
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(item("item/1", "rake", "completed", 3)))
    .expect(1)
    .mount(&server)
    .await;
    let updated = lists_for(&server)
        .update_item(&id, "item/1", "rake", ItemStatus::Completed, 2)
        .await
        .expect("updated");
    assert_eq!(updated.version, 3);
    assert_eq!(updated.status, ItemStatus::Completed);
}

#[tokio::test]
async fn delete_item_is_a_bodiless_delete() {
    let server = MockServer::start().await;
    let id = todo_id();
    auth_get(
        "DELETE",
        format!("/v2/householdlists/{}/items/{}", enc(&id), "i-9"),
    )
    .and(no_body)
    .respond_with(ResponseTemplate::new(200))
    .expect(1)
    .mount(&server)
    .await;
    lists_for(&server)
        .delete_item(&id, "i-9")
        .await
        .expect("deleted");
}

#[tokio::test]
async fn create_update_delete_list() {
    let server = MockServer::start().await;
    let id = garden_id();
    let meta = json!({"listId": id, "name": "Garden", "state": "active", "version": 1,
                      "statusMap": []});
    auth_get("POST", "/v2/householdlists/".into())
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"name": "Garden", "state": "active"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(meta.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let mut archived = meta.clone();
    archived["state"] = json!("archived");
    archived["version"] = json!(2);
    auth_get("PUT", format!("/v2/householdlists/{}", enc(&id)))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"name": "Old garden", "state": "archived", "version": 1}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(archived))
        .expect(1)
        .mount(&server)
        .await;
    auth_get("DELETE", format!("/v2/householdlists/{}", enc(&id)))
        .and(no_body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    let client = lists_for(&server);
    let created = client.create_list("Garden").await.expect("created");
    assert_eq!(created.list_id, id);
    let updated = client
        .update_list(&id, "Old garden", ListState::Archived, 1)
        .await
        .expect("updated");
    assert_eq!(updated.state, ListState::Archived);
    client.delete_list(&id).await.expect("deleted");
}

#[tokio::test]
async fn default_lists_are_found_by_list_id_suffix_not_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(&server)
        .await;
    let client = lists_for(&server);
    let shopping = client
        .find_default_list(DefaultList::Shopping)
        .await
        .expect("call")
        .expect("found");
    assert_eq!(shopping.list_id, shopping_id());
    let todo = client
        .find_default_list(DefaultList::Todo)
        .await
        .expect("call")
        .expect("found");
    assert_eq!(todo.list_id, todo_id());
    let garden = client
        .find_list_by_name("garden")
        .await
        .expect("call")
        .expect("found");
    assert_eq!(garden.list_id, garden_id());
    assert!(client
        .find_list_by_name("Hardware")
        .await
        .expect("call")
        .is_none());
}

#[tokio::test]
async fn observer_sees_every_call_with_its_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/householdlists/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata_body()))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "gone"})))
        .mount(&server)
        .await;
    let (observer, calls) = recorder();
    let client = api_for(&server)
        .with_observer(observer)
        .lists(&server.uri(), TOKEN.to_string().into())
        .expect("client");
    client.lists_metadata().await.expect("ok");
    client.delete_item("l", "i").await.expect_err("404");
    assert_eq!(
        *calls.lock().expect("lock"),
        [("lists", 200), ("lists", 404)]
    );
}
