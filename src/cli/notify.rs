//! `alexa-endpoint notify`: send a proactive event (a notification) to one
//! user or to all subscribed users, with the skill's own Login with Amazon
//! credentials from `ALEXA_CLIENT_ID` / `ALEXA_CLIENT_SECRET` (never flags).

use std::path::PathBuf;
use std::time::Duration;

use alexa_endpoint::api::{
    Audience, ProactiveEvent, ProactiveEventsClient, Region, Stage, DEFAULT_TOKEN_URL,
    MAX_EVENT_EXPIRY, MIN_EVENT_EXPIRY, PROACTIVE_EVENTS_SCOPE,
};
use alexa_endpoint::config::redact_url;
use anyhow::{bail, Context};

use super::send::{app_parts, describe, AppParts};

/// Largest event file read.
const MAX_EVENT_FILE_BYTES: u64 = 64 * 1024;

/// Arguments of `alexa-endpoint notify`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Send a proactive event (notification) through the Proactive Events API",
    after_help = "Credentials: the skill's client id and secret (developer console → the skill → \
                  Permissions → Alexa Skill Messaging; the skill must declare the event's schema) \
                  are read from the ALEXA_CLIENT_ID and ALEXA_CLIENT_SECRET environment variables.",
    group = clap::ArgGroup::new("audience").required(true).args(["user_id", "multicast"])
)]
pub struct NotifyArgs {
    /// The event: Amazon's schema JSON (`event {name, payload}`,
    /// `localizedAttributes`, ...). `timestamp`, `referenceId` and
    /// `expiryTime` are filled when absent and kept when given.
    #[arg(long, value_name = "FILE")]
    pub event: PathBuf,
    /// Send to this user only (Unicast): the `userId` the skill saw.
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,
    /// Send to every user subscribed to the event (Multicast).
    #[arg(long)]
    pub multicast: bool,
    /// The skill stage: development or live.
    #[arg(long, default_value = "development")]
    pub stage: Stage,
    /// The users' API region: na, eu or fe.
    #[arg(long, default_value = "na")]
    pub region: Region,
    /// `expiryTime` when the event has none, in seconds from now (300..=86400).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub expires_after: u64,
    /// The API endpoint to send to; overrides --region.
    #[arg(long, value_name = "URL")]
    pub api_endpoint: Option<url::Url>,
    /// Login with Amazon's token endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_TOKEN_URL)]
    pub lwa_url: url::Url,
}

/// Validate everything, then get a token and send the event. Prints what
/// Alexa accepted.
pub async fn run(args: NotifyArgs) -> anyhow::Result<()> {
    let audience = match (&args.user_id, args.multicast) {
        (Some(user), false) if !user.trim().is_empty() => Audience::Unicast { user: user.clone() },
        (Some(_), false) => bail!("--user-id is empty"),
        (None, true) => Audience::Multicast,
        // clap's argument group makes exactly one of them present.
        _ => bail!("give exactly one of --user-id and --multicast"),
    };
    let expires_after = Duration::from_secs(args.expires_after);
    if !(MIN_EVENT_EXPIRY..=MAX_EVENT_EXPIRY).contains(&expires_after) {
        bail!(
            "--expires-after {} is out of range: it must be between {} and {} seconds",
            args.expires_after,
            MIN_EVENT_EXPIRY.as_secs(),
            MAX_EVENT_EXPIRY.as_secs()
        );
    }
    let mut event = read_event(&args.event)?;
    event.fill_defaults(expires_after)?;
    let AppParts {
        endpoint,
        http,
        lwa,
    } = app_parts(args.api_endpoint.as_ref(), &args.lwa_url, args.region)?;
    let lwa = lwa.with_scope(PROACTIVE_EVENTS_SCOPE);
    let client = ProactiveEventsClient::new(lwa.clone(), &endpoint, http)?;

    lwa.access_token().await.map_err(|e| {
        describe(
            e,
            &format!("token request to {}", redact_url(args.lwa_url.as_str())),
            "check ALEXA_CLIENT_ID / ALEXA_CLIENT_SECRET: they are the skill's credentials from \
             Permissions → Alexa Skill Messaging",
        )
    })?;
    let sent = client
        .send(&event, audience.clone(), args.stage)
        .await
        .map_err(|e| {
            describe(
                e,
                &format!(
                    "sending the event to {} ({} stage)",
                    redact_url(&endpoint),
                    args.stage
                ),
                "check the event against its schema, the user id, the region, the stage and \
                 that the skill declares this event",
            )
        })?;
    println!(
        "event {} ({}) accepted for {audience} on the {} stage (expires {})",
        sent.reference_id.as_deref().unwrap_or("-"),
        sent.event.name,
        args.stage,
        sent.expiry_time.as_deref().unwrap_or("-"),
    );
    Ok(())
}

/// The event file as a [`ProactiveEvent`], naming the offending field.
fn read_event(path: &std::path::Path) -> anyhow::Result<ProactiveEvent> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .with_context(|| format!("--event {shown}"))?
        .len();
    if size > MAX_EVENT_FILE_BYTES {
        bail!("--event {shown} is {size} bytes; the limit is {MAX_EVENT_FILE_BYTES}");
    }
    let bytes = std::fs::read(path).with_context(|| format!("--event {shown}"))?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de)
        .with_context(|| format!("--event {shown} is not a proactive event"))
}
