//! Faults a test can inject through `POST /_emulator/faults`: failures of the next calls with a
//! chosen Meta error, a 5xx rate, latency, timeouts, dropped connections and an expired token.
//! They apply to the Graph endpoints only, never to the control API. Account-level events
//! (quality drops, restrictions, paused templates) are not faults but webhooks; see `control`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_cloudapi::ErrorCode;

use crate::ids;
use crate::refusal::graph_error;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Fail the next `count` Graph calls with this error.
    pub fail_next: Option<FailNext>,
    /// Share of Graph calls answered 500 with error 131000 (0.0–1.0).
    pub error_rate_5xx: f64,
    /// Added to every Graph call.
    pub latency_ms: u64,
    /// Uniform extra latency, 0..jitter.
    pub latency_jitter_ms: u64,
    /// Share of calls that never answer (the client must time out).
    pub timeout_rate: f64,
    /// Share of calls whose connection is dropped before a response is complete.
    pub drop_rate: f64,
    /// Every call fails with 190 (access token expired) until cleared.
    pub token_expired: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailNext {
    pub count: u32,
    pub code: i64,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub details: Option<String>,
}

/// What the faults decide for one Graph call.
pub enum Outcome {
    Pass,
    Fail(Response),
    Hang,
    Drop,
}

impl Faults {
    /// Draws the latency and the outcome of one Graph call (counting down `fail_next`).
    pub fn draw(&mut self) -> (u64, Outcome) {
        let jitter = if self.latency_jitter_ms > 0 {
            rand::random_range(0..self.latency_jitter_ms)
        } else {
            0
        };
        let latency = self.latency_ms + jitter;
        let outcome = if self.token_expired {
            Outcome::Fail(expired_token())
        } else if let Some(fail) = self.fail_next.as_mut().filter(|n| n.count > 0) {
            fail.count -= 1;
            let code = ErrorCode(fail.code);
            let details = fail
                .details
                .clone()
                .unwrap_or_else(|| "Injected by the emulator's fail_next fault.".into());
            let status = fail.http_status.unwrap_or_else(|| code.http_status());
            if fail.count == 0 {
                self.fail_next = None;
            }
            Outcome::Fail(graph_error(status, code, "Injected failure", &details))
        } else if chance(self.timeout_rate) {
            Outcome::Hang
        } else if chance(self.drop_rate) {
            Outcome::Drop
        } else if chance(self.error_rate_5xx) {
            Outcome::Fail(graph_error(
                500,
                ErrorCode::UNKNOWN_ERROR,
                "Something went wrong",
                "Injected 5xx.",
            ))
        } else {
            Outcome::Pass
        };
        (latency, outcome)
    }
}

/// Carries out a drawn outcome around the call `next` would make (the Graph router's
/// middleware draws under the state lock, then calls this with the lock released).
pub async fn apply(latency: u64, outcome: Outcome, req: Request, next: Next) -> Response {
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match outcome {
        Outcome::Pass => next.run(req).await,
        Outcome::Fail(r) => r,
        Outcome::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            graph_error(
                500,
                ErrorCode::UNKNOWN_ERROR,
                "Timeout",
                "The emulator hung this call on purpose.",
            )
        }
        // A body that fails after the headers makes the server abort the connection mid-response.
        Outcome::Drop => {
            let stream = futures_lite_error_stream();
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .expect("valid response")
        }
    }
}

fn futures_lite_error_stream()
-> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    ErrorOnce(false)
}

struct ErrorOnce(bool);

impl futures_core::Stream for ErrorOnce {
    type Item = Result<bytes::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.0 {
            std::task::Poll::Ready(None)
        } else {
            self.0 = true;
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped by the emulator",
            ))))
        }
    }
}

fn chance(p: f64) -> bool {
    p > 0.0 && rand::random::<f64>() < p
}

pub fn expired_token() -> Response {
    let mut e = switchboard_cloudapi::GraphError::new(
        ErrorCode::ACCESS_TOKEN_EXPIRED,
        "Access token has expired",
        "Error validating access token: Session has expired.",
        &ids::fbtrace(),
    );
    e.message = "Error validating access token: Session has expired.".into();
    e.error_subcode = Some(463);
    e.error_data = None;
    (
        axum::http::StatusCode::UNAUTHORIZED,
        axum::Json(switchboard_cloudapi::GraphErrorBody {
            error: e,
            extra: Default::default(),
        }),
    )
        .into_response()
}
