//! The production cert source. No internet here: production rules are
//! tested by refusing `http://` without sending anything; capping, retry,
//! timeout and no-redirect are tested against a loopback mock through the
//! test-only constructor that additionally allows `http://127.0.0.1`.

use std::time::Duration;

use alexa_endpoint::verify::{CertSource, FetchError, HttpsCertSource, MAX_CERT_CHAIN_BYTES};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_millis(500);

fn url(server: &MockServer, p: &str) -> url::Url {
    url::Url::parse(&format!("{}{p}", server.uri())).expect("mock URL")
}

#[tokio::test]
async fn production_source_refuses_http_without_sending_anything() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pem"))
        .expect(0)
        .mount(&server)
        .await;
    let source = HttpsCertSource::new(TIMEOUT).expect("source");
    assert_eq!(
        source.fetch(&url(&server, "/echo.api/cert.pem")).await,
        Err(FetchError::NotHttps)
    );
    let ftp = url::Url::parse("ftp://127.0.0.1/echo.api/cert.pem").expect("url");
    assert_eq!(source.fetch(&ftp).await, Err(FetchError::NotHttps));
    // `server` verifies `.expect(0)` on drop.
}

#[tokio::test]
async fn test_source_still_refuses_http_to_non_loopback_hosts() {
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    for u in [
        "http://s3.amazonaws.com/echo.api/cert.pem",
        "http://localhost/echo.api/cert.pem",
        "http://10.0.0.1/echo.api/cert.pem",
    ] {
        let u = url::Url::parse(u).expect("url");
        assert_eq!(source.fetch(&u).await, Err(FetchError::NotHttps), "{u}");
    }
}

#[tokio::test]
async fn downloads_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/echo.api/cert.pem"))
        .respond_with(ResponseTemplate::new(200).set_body_string("-----BEGIN CERTIFICATE-----"))
        .expect(1)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    let body = source
        .fetch(&url(&server, "/echo.api/cert.pem"))
        .await
        .expect("fetch");
    assert_eq!(&body[..], b"-----BEGIN CERTIFICATE-----");
}

#[tokio::test]
async fn body_over_64_kib_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(vec![b'a'; MAX_CERT_CHAIN_BYTES + 1]),
        )
        .expect(1)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    assert_eq!(
        source.fetch(&url(&server, "/big")).await,
        Err(FetchError::TooLarge)
    );
}

#[tokio::test]
async fn body_of_exactly_64_kib_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'a'; MAX_CERT_CHAIN_BYTES]))
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    let body = source.fetch(&url(&server, "/max")).await.expect("fetch");
    assert_eq!(body.len(), MAX_CERT_CHAIN_BYTES);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/echo.api/cert.pem"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/elsewhere", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pem"))
        .expect(0)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    assert_eq!(
        source.fetch(&url(&server, "/echo.api/cert.pem")).await,
        Err(FetchError::Status(302))
    );
}

#[tokio::test]
async fn server_error_is_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pem"))
        .expect(1)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    let body = source
        .fetch(&url(&server, "/c"))
        .await
        .expect("retry succeeds");
    assert_eq!(&body[..], b"pem");
}

#[tokio::test]
async fn persistent_server_error_gives_up_after_two_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    assert_eq!(
        source.fetch(&url(&server, "/c")).await,
        Err(FetchError::Status(500))
    );
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    assert_eq!(
        source.fetch(&url(&server, "/c")).await,
        Err(FetchError::Status(404))
    );
}

#[tokio::test]
async fn slow_server_times_out_per_attempt_and_is_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("pem")
                .set_delay(Duration::from_secs(5)),
        )
        .expect(2)
        .mount(&server)
        .await;
    let source = HttpsCertSource::for_loopback_tests(Duration::from_millis(200)).expect("source");
    // The mock answers after 5 s: a Timeout after two requests means each
    // attempt was cut off by the per-attempt timeout.
    assert_eq!(
        source.fetch(&url(&server, "/slow")).await,
        Err(FetchError::Timeout)
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let source = HttpsCertSource::for_loopback_tests(TIMEOUT).expect("source");
    let u = url::Url::parse(&format!("http://127.0.0.1:{port}/c")).expect("url");
    let err = source.fetch(&u).await.expect_err("refused");
    assert!(matches!(err, FetchError::Network(_)), "{err:?}");
}
