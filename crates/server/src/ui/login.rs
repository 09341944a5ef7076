//! The login page; the login itself is `POST /api/v1/auth/login`, sent by the page's script.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::{html, safe_next};
use crate::AppState;
use crate::agents::Agent;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    parts: axum::http::HeaderMap,
) -> Response {
    let next = safe_next(q.get("next").map(String::as_str));
    // Already logged in: straight on.
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = parts;
    let (mut p, _) = req.into_parts();
    if Agent::from_request_parts(&mut p, &state).await.is_ok() {
        return Redirect::to(&next).into_response();
    }
    html(&LoginPage { next })
}
