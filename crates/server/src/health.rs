//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can reach its
//! database), for load balancers and orchestrators. Neither needs a key; neither reveals data.
//! Readiness also says how far projection is behind (`projection`: journal rows acknowledged
//! and not projected yet, and the age of the oldest in seconds): a backlog does not make an
//! instance unready (acknowledging Meta is what must not stop), it is what to watch.

use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let check = tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await;
    match check {
        Ok(Ok(())) => {
            let projection = crate::inbound::projector::Backlog::read(&state.store)
                .await
                .map(|b| json!(b))
                .unwrap_or(Value::Null);
            (
                StatusCode::OK,
                Json(json!({"status": "ready", "database": "ok", "projection": projection})),
            )
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::error::error_chain(&e), "readiness: database check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "database": "unreachable"})),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": "timeout"})),
        ),
    }
}
