//! The token exfiltration guard: a token only goes to an allowed endpoint.

use alexa_endpoint::api::ApiError;
use secrecy::SecretString;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::api_support::*;

#[tokio::test]
async fn a_foreign_endpoint_gets_nothing() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("nothing may reach the mock")
        .mount(&server)
        .await;
    let api = api_for(&server);
    let uri = server.uri();
    let port = server.address().port();
    // `localhost` reaches the very same mock: only an exact match is allowed.
    for endpoint in [
        "https://evil.example".to_owned(),
        format!("http://localhost:{port}"),
        format!("{uri}/v2"),
        format!("{uri}//"),
        format!("{uri}@evil.example"),
        uri.to_uppercase(),
    ] {
        match api.lists(&endpoint, SecretString::from(TOKEN)) {
            Err(ApiError::EndpointNotAllowed(e)) => assert_eq!(e, endpoint),
            other => panic!("{endpoint}: {other:?}"),
        }
    }
    // Dropping `server` verifies `.expect(0)`.
}

#[tokio::test]
async fn the_default_regions_are_allowed_and_a_trailing_slash_is_ignored() {
    let cfg = alexa_endpoint::config::Config::default().alexa_api;
    let api = alexa_endpoint::api::AlexaApi::new(&cfg).expect("api");
    for endpoint in [
        "https://api.amazonalexa.com",
        "https://api.eu.amazonalexa.com/",
        "https://api.fe.amazonalexa.com",
    ] {
        let client = api
            .lists(endpoint, SecretString::from(TOKEN))
            .expect("allowed");
        assert_eq!(client.endpoint(), endpoint.trim_end_matches('/'));
    }
    assert!(matches!(
        api.lists("https://evil.example", SecretString::from(TOKEN)),
        Err(ApiError::EndpointNotAllowed(_))
    ));
}

#[tokio::test]
async fn an_empty_token_is_no_token() {
    let server = MockServer::start().await;
    assert!(matches!(
        api_for(&server).lists(&server.uri(), SecretString::from("")),
        Err(ApiError::NoToken)
    ));
}
