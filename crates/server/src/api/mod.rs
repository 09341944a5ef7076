//! The REST API under `/api/v1`. Every handler takes an [`ApiCaller`](crate::auth::ApiCaller),
//! so no route is reachable without a valid key, and states the role it needs.

mod keys;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    keys::router()
}
