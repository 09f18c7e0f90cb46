//! The `log` handler: logs the message and acknowledges.

use crate::dispatch::{HandlerResult, RequestContext};
use crate::envelope::{MessageReceivedRequest, Response};

/// Log the message (ids and the message blob; never a token) and acknowledge.
pub async fn handle(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
    tracing::info!(
        request_id = ctx.request_id(),
        user_id = ctx.user_id().unwrap_or(""),
        skill_id = ctx.skill_id().unwrap_or(""),
        message = %msg.message,
        "message received"
    );
    Ok(Response::ack())
}
