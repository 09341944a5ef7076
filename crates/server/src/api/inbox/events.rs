//! The live stream: every change the server applies, pushed to open inboxes as server-sent
//! events, so a page never polls.

use axum::extract::State;
use serde_json::json;

use crate::AppState;
use crate::agents::Agent;
use crate::error::ApiError;

/// Live updates as server-sent events: every change as it is applied (`message`, `status`,
/// `assignment`, `conversation`, `note`, `presence`), each with its conversation id; a
/// `lagged` event when this client fell behind and should reload.
pub(super) async fn stream(
    agent: Agent,
    State(state): State<AppState>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // Held by the stream: the slot is given back when the browser goes away.
    let slot = state.limits.stream(&format!("u{}", agent.user.id))?;
    let rx = state.events.subscribe();
    let stop = state.shutdown.clone();
    let stream = futures_util::stream::unfold((rx, slot), |(mut rx, slot)| async move {
        let ev = match rx.recv().await {
            Ok(e) => Event::default()
                .event(e.kind)
                .data(json!({"conversation_id": e.conversation_id, "data": e.data}).to_string()),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Event::default()
                .event("lagged")
                .data(json!({"missed": n}).to_string()),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, slot)))
    });
    use futures_util::StreamExt;
    let stream = stream.take_until(stop.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
