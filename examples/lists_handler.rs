//! A message handler that adds an item to the user's shopping list through
//! the List Management API, and only then acknowledges.
//!
//! ```sh
//! cargo run --example lists_handler -- config/local.toml
//! ```
#![forbid(unsafe_code)]

use alexa_endpoint::api::{DefaultList, ItemStatus};
use alexa_endpoint::envelope::MessageReceivedRequest;
use alexa_endpoint::{Config, HandlerResult, RequestContext, Response, Skill};

async fn on_message(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
    let Some(item) = msg.message.get("item").and_then(|v| v.as_str()) else {
        // Not for us, and no re-delivery will change that: acknowledge,
        // logged at error and counted, so that Alexa stops retrying.
        return Ok(Response::reject_message("message has no \"item\" string"));
    };
    // Refuses (sending nothing) an apiEndpoint outside alexa_api.allowed_endpoints.
    let lists = ctx.lists()?;
    let shopping = lists
        .find_default_list(DefaultList::Shopping) // by listId: names are localized
        .await?
        .ok_or("the user has no shopping list")?;
    lists
        .create_item(&shopping.list_id, item, ItemStatus::Active)
        .await?;
    // Only now is the message acknowledged: an error above answers 5xx and
    // Alexa re-delivers it.
    Ok(Response::ack())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let file = std::env::args().nth(1);
    let config = Config::load(file.as_deref().map(std::path::Path::new))?;
    alexa_endpoint::telemetry::init(config.log.format);
    let skill = Skill::builder().on_message(on_message).build();
    alexa_endpoint::serve(skill, config).await?;
    Ok(())
}
