//! Fitting `server.max_connections` into the process's file-descriptor
//! limit (`RLIMIT_NOFILE`).

/// Descriptors kept free for everything but Alexa connections: outbound
/// sockets (webhook, Alexa APIs, cert downloads, Redis), the admin listener's
/// connections, files, the runtime. A quarter of the limit when the limit is
/// small.
const RESERVED: u64 = 256;

/// Raise the soft `RLIMIT_NOFILE` to the hard limit, then return how many
/// Alexa connections fit: `wanted`, or fewer (with a warning naming both
/// numbers) when the limit leaves no room for them.
pub(crate) fn fit_connections(wanted: usize) -> usize {
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => soft,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise RLIMIT_NOFILE; server.max_connections kept");
            return wanted;
        }
    };
    let reserved = RESERVED.min(soft / 4);
    let room = usize::try_from(soft - reserved)
        .unwrap_or(usize::MAX)
        .max(1);
    if wanted > room {
        tracing::warn!(
            max_connections = wanted,
            lowered_to = room,
            rlimit_nofile = soft,
            "server.max_connections = {wanted} does not fit the file-descriptor limit \
             ({soft}, {reserved} kept for outbound sockets and files): lowered to {room}"
        );
        room
    } else {
        wanted
    }
}
