//! `alexa-endpoint send`: send a message through the Skill Messaging API,
//! as the third-party app does. The skill's client id and secret come from
//! `ALEXA_CLIENT_ID` / `ALEXA_CLIENT_SECRET` only, never from flags (flags
//! end up in shell history and `ps`).

use std::time::Duration;

use alexa_endpoint::api::{
    build_http_client, validate_message, ApiError, LwaClient, Region, SkillMessagingClient,
    DEFAULT_TOKEN_URL, MAX_DATA_BYTES, MAX_EXPIRES_AFTER_SECS, MIN_EXPIRES_AFTER_SECS,
};
use alexa_endpoint::config::redact_url;
use anyhow::{anyhow, bail, Context};
use secrecy::SecretString;

/// Environment variable holding the skill's LWA client id.
pub const CLIENT_ID_ENV: &str = "ALEXA_CLIENT_ID";
/// Environment variable holding the skill's LWA client secret.
pub const CLIENT_SECRET_ENV: &str = "ALEXA_CLIENT_SECRET";

/// Timeout of each HTTP call the command makes.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `alexa-endpoint send`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Send a message to the skill through the Skill Messaging API",
    after_help = "Credentials: the skill's client id and secret (developer console → the skill → \
                  Permissions → Alexa Skill Messaging) are read from the ALEXA_CLIENT_ID and \
                  ALEXA_CLIENT_SECRET environment variables."
)]
pub struct SendArgs {
    /// The user's id (`amzn1.ask.account....`), as the skill saw it in `context.System.user.userId`.
    #[arg(long)]
    pub user_id: String,
    /// The message: a JSON object of at most 6 KB, delivered to the skill as `request.message`.
    #[arg(long)]
    pub data: String,
    /// How long Alexa keeps trying to deliver the message, in seconds (60..=86400).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub expires_after: u32,
    /// The users' API region: na, eu or fe.
    #[arg(long, default_value = "na")]
    pub region: Region,
    /// The API endpoint to send to; overrides --region.
    #[arg(long, value_name = "URL")]
    pub api_endpoint: Option<url::Url>,
    /// Login with Amazon's token endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_TOKEN_URL)]
    pub lwa_url: url::Url,
}

/// Validate everything, then get a token and send the message. Prints one
/// confirmation line when Alexa accepted the message (202).
pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    // Everything that can be checked locally is checked before any request.
    if args.user_id.trim().is_empty() {
        bail!("--user-id is empty");
    }
    if !(MIN_EXPIRES_AFTER_SECS..=MAX_EXPIRES_AFTER_SECS).contains(&args.expires_after) {
        bail!(
            "--expires-after {} is out of range: it must be between {MIN_EXPIRES_AFTER_SECS} and \
             {MAX_EXPIRES_AFTER_SECS} seconds",
            args.expires_after
        );
    }
    let data: serde_json::Value =
        serde_json::from_str(&args.data).context("--data is not valid JSON")?;
    if !data.is_object() {
        bail!("--data must be a JSON object (e.g. '{{\"list\":\"shopping\",\"add\":[\"milk\"]}}')");
    }
    let size = serde_json::to_vec(&data)?.len();
    if size > MAX_DATA_BYTES {
        bail!("--data is {size} bytes (serialized compactly); the limit is {MAX_DATA_BYTES} bytes");
    }
    validate_message(&data, args.expires_after)?;
    let AppParts {
        endpoint,
        http,
        lwa,
    } = app_parts(args.api_endpoint.as_ref(), &args.lwa_url, args.region)?;
    let messaging = SkillMessagingClient::new(lwa.clone(), &endpoint, http)?;

    lwa.access_token().await.map_err(|e| {
        describe(
            e,
            &format!("token request to {}", redact_url(args.lwa_url.as_str())),
            "check ALEXA_CLIENT_ID / ALEXA_CLIENT_SECRET: they are the skill's Skill Messaging \
             credentials",
        )
    })?;
    messaging
        .send(&args.user_id, &data, args.expires_after)
        .await
        .map_err(|e| {
            describe(
                e,
                &format!("sending the message to {}", redact_url(&endpoint)),
                "check the user id, the region and that the credentials belong to this skill",
            )
        })?;
    println!(
        "message accepted for delivery to {} (expires in {} s)",
        args.user_id, args.expires_after
    );
    Ok(())
}

/// What `send` and `notify` build from their flags and the environment.
pub(crate) struct AppParts {
    /// The API endpoint: `--api-endpoint`, else the region's.
    pub endpoint: String,
    /// The HTTP client for the API and LWA calls.
    pub http: reqwest::Client,
    /// LWA with the skill's credentials from the environment.
    pub lwa: LwaClient,
}

/// Check the URLs (http(s) only), read the credentials and build the clients.
pub(crate) fn app_parts(
    api_endpoint: Option<&url::Url>,
    lwa_url: &url::Url,
    region: Region,
) -> anyhow::Result<AppParts> {
    for url in [api_endpoint, Some(lwa_url)].into_iter().flatten() {
        if !matches!(url.scheme(), "https" | "http") {
            bail!("{} is not an http(s) URL", redact_url(url.as_str()));
        }
    }
    let client_id = credential(CLIENT_ID_ENV)?;
    let client_secret = SecretString::from(credential(CLIENT_SECRET_ENV)?);
    let endpoint = match api_endpoint {
        Some(url) => url.as_str().to_owned(),
        None => region.endpoint().to_owned(),
    };
    let http = build_http_client(HTTP_TIMEOUT)?;
    let lwa = LwaClient::new(http.clone(), lwa_url.as_str(), client_id, client_secret);
    Ok(AppParts {
        endpoint,
        http,
        lwa,
    })
}

pub(crate) fn credential(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => bail!(
            "{name} is not set: export the skill's Skill Messaging credentials as \
             {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (they are never taken from flags)"
        ),
    }
}

/// An error that names the API's status and its own message.
pub(crate) fn describe(e: ApiError, action: &str, hint: &str) -> anyhow::Error {
    match (e.status(), e.api_message()) {
        (Some(status), Some(message)) => {
            anyhow!("{action} failed: HTTP {status}: {message} ({hint})")
        }
        _ => anyhow!("{action} failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_url_is_named_without_its_password() {
        let lwa = url::Url::parse("ftp://user:PW-IN-URL@lwa.example/token").unwrap();
        let Err(e) = app_parts(None, &lwa, Region::Na) else {
            panic!("an ftp URL is refused");
        };
        let text = e.to_string();
        assert!(
            text.contains("lwa.example/token is not an http(s) URL"),
            "{text}"
        );
        assert!(!text.contains("PW-IN-URL"), "{text}");
    }
}
