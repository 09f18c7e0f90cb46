//! The one place an outbound `reqwest::Client` is built: the Alexa API
//! clients and Login with Amazon, cert chain downloads, the `webhook`
//! handler and the CLI's `healthcheck`, `send` and `notify` all get theirs
//! from [`HttpPolicy::build`].
//!
//! Every client it builds: rustls with the aws-lc-rs provider (installed
//! once per process), **no redirects** (a client carrying a token or fetching
//! a cert chain follows nobody anywhere), user agent
//! [`USER_AGENT`], a connect timeout and a total timeout, and a bounded pool
//! of idle connections. What differs between callers (timeouts, pool size,
//! HTTPS only) is a field of the policy, not another builder.

use std::time::Duration;

/// `User-Agent` of every outbound request: `alexa-endpoint/<version>`.
pub const USER_AGENT: &str = concat!("alexa-endpoint/", env!("CARGO_PKG_VERSION"));

/// Idle keep-alive connections kept per host unless the policy says otherwise.
pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 16;

/// An idle keep-alive connection is closed after this long unless the policy
/// says otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How an outbound client behaves. Start from [`HttpPolicy::new`] and change
/// what differs; [`HttpPolicy::build`] makes the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    timeout: Duration,
    connect_timeout: Duration,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    https_only: bool,
}

impl HttpPolicy {
    /// `timeout` for a whole call (connect, send, answer and body) and for
    /// connecting; [`DEFAULT_MAX_IDLE_PER_HOST`] idle connections per host,
    /// closed after [`DEFAULT_IDLE_TIMEOUT`]; `http` and `https` URLs.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            connect_timeout: timeout,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            https_only: false,
        }
    }

    /// Bound on establishing a connection (TCP and TLS), at most the total
    /// timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Idle keep-alive connections kept per host.
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// How long an idle keep-alive connection is kept.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// `true`: a request to an `http://` URL fails without being sent.
    pub fn https_only(mut self, https_only: bool) -> Self {
        self.https_only = https_only;
        self
    }

    /// Build a client with this policy.
    pub fn build(&self) -> Result<reqwest::Client, reqwest::Error> {
        crate::install_crypto_provider();
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .pool_max_idle_per_host(self.max_idle_per_host)
            .pool_idle_timeout(self.idle_timeout)
            .https_only(self.https_only)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn client() -> reqwest::Client {
        HttpPolicy::new(Duration::from_secs(5))
            .build()
            .expect("client")
    }

    #[tokio::test]
    async fn a_redirect_is_returned_not_followed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/moved"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let res = client()
            .get(format!("{}/moved", server.uri()))
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/elsewhere");
    }

    #[tokio::test]
    async fn every_request_carries_the_user_agent() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("user-agent", USER_AGENT))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let res = client().get(server.uri()).send().await.expect("answer");
        assert_eq!(res.status(), 204);
        assert!(USER_AGENT.starts_with("alexa-endpoint/"));
        assert!(USER_AGENT.ends_with(env!("CARGO_PKG_VERSION")));
    }

    #[tokio::test]
    async fn https_only_refuses_plain_http_without_sending() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let client = HttpPolicy::new(Duration::from_secs(5))
            .https_only(true)
            .build()
            .expect("client");
        assert!(client.get(server.uri()).send().await.is_err());
    }

    #[tokio::test]
    async fn the_total_timeout_bounds_a_slow_answer() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let client = HttpPolicy::new(Duration::from_millis(200))
            .build()
            .expect("client");
        let err = client
            .get(server.uri())
            .send()
            .await
            .expect_err("times out");
        assert!(err.is_timeout(), "{err}");
    }

    #[test]
    fn policies_differ_by_their_parameters_only() {
        let cert = HttpPolicy::new(Duration::from_secs(2)).https_only(true);
        let api = HttpPolicy::new(Duration::from_secs(2));
        assert_ne!(cert, api);
        assert_eq!(cert.clone().https_only(false), api);
    }
}
