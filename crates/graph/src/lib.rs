//! An async client for the Cloud API endpoints of Meta's Graph API: send, mark read, media,
//! templates, phone numbers.
//!
//! Every failure is a [`GraphCallError`] that knows its [`RetryClass`] (from Meta's error code
//! when there is one, else from the transport) and whether it is *ambiguous*: a timeout or a
//! connection lost after the request was written may mean Meta accepted the message, and the
//! Cloud API has no idempotency key, so a sender must not blindly retry those.
//!
//! The HTTP stack is reqwest over rustls with the `ring` provider (aws-lc-rs, reqwest's default,
//! costs ~25 s of C build on two cores for nothing we need). Base URL and API version are
//! configurable so the same client talks to Meta or to the emulator.

pub mod target;

pub use reqwest::Url;

use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_cloudapi::send::{MarkRead, SendRequest, SendResponse};
use switchboard_cloudapi::{ErrorCode, GraphError, GraphErrorBody, RetryClass};

static CRYPTO: Once = Once::new();

/// Installs rustls's `ring` provider for the process (idempotent).
pub fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client with connect and request timeouts. Build one per process and clone it.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .pool_max_idle_per_host(512)
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with a crypto provider installed builds")
}

/// A client for URLs someone else chose: it connects to public addresses only and follows a
/// redirect only to a public address (a name is checked when resolved, by [`target::PublicOnly`]).
fn public_only_client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .dns_resolver(target::PublicOnly)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if let Some(why) = target::refuse_literal(attempt.url()) {
                attempt.error(why)
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with a crypto provider installed builds")
}

/// A failed Graph call.
#[derive(Debug, thiserror::Error)]
pub enum GraphCallError {
    /// Meta answered with an error object.
    #[error("Graph error {} (HTTP {status}): {}", .error.code, .error.details().unwrap_or(&.error.message))]
    Graph { status: u16, error: Box<GraphError> },
    /// A non-2xx answer without a Graph error object.
    #[error("HTTP {status} without a Graph error body")]
    Http { status: u16 },
    /// No connection could be made: the request never left.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The request may have reached Meta but no answer came (timeout, connection lost).
    #[error("no answer (the request may have been processed): {0}")]
    NoAnswer(String),
    /// A 2xx answer that did not parse.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// Not sent: the target is not one the server may fetch from ([`target`]), or the answer
    /// is larger than the caller accepts.
    #[error("refused: {0}")]
    Refused(String),
}

impl GraphCallError {
    /// How a sender should react.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            GraphCallError::Graph { status, error } => {
                let class = error.code.retry_class();
                // An unlisted code on a 5xx is Meta's trouble, not the request's.
                if class == RetryClass::Permanent && *status >= 500 && !is_listed(error.code) {
                    RetryClass::Transient
                } else {
                    class
                }
            }
            GraphCallError::Http { status } if *status >= 500 || *status == 429 => {
                RetryClass::Transient
            }
            GraphCallError::Http { status } if *status == 401 || *status == 403 => RetryClass::Auth,
            GraphCallError::Http { .. } => RetryClass::Permanent,
            GraphCallError::Connect(_) | GraphCallError::NoAnswer(_) => RetryClass::Transient,
            GraphCallError::Decode(_) => RetryClass::Transient,
            GraphCallError::Refused(_) => RetryClass::Permanent,
        }
    }

    /// The request may have been processed by Meta although we saw no success.
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            GraphCallError::NoAnswer(_) | GraphCallError::Decode(_)
        )
    }

    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            GraphCallError::Graph { error, .. } => Some(error.code),
            _ => None,
        }
    }
}

fn is_listed(code: ErrorCode) -> bool {
    code.retry_class() != RetryClass::Permanent || matches!(code.0, 3 | 131045 | 133000 | 134102)
}

fn transport(e: reqwest::Error) -> GraphCallError {
    if e.is_connect() {
        GraphCallError::Connect(e.to_string())
    } else {
        GraphCallError::NoAnswer(e.to_string())
    }
}

/// What `GET /{media-id}` returns.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: String,
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    pub id: String,
}

/// A client for one Graph base URL and version; the access token is per call (per number).
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// For URLs someone else chose (media downloads): public addresses only.
    downloads: reqwest::Client,
    /// The operator lets downloads reach private addresses (development only).
    allow_private: bool,
    base_url: String,
    version: String,
}

impl GraphClient {
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> Self {
        Self::with_client(http_client(timeout), base_url, version)
    }

    pub fn with_client(http: reqwest::Client, base_url: &str, version: &str) -> Self {
        GraphClient {
            downloads: public_only_client(Duration::from_secs(60)),
            allow_private: false,
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            version: version.to_owned(),
        }
    }

    /// Lets downloads reach private, loopback and link-local addresses (development only).
    pub fn allowing_private_targets(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_url,
            self.version,
            path.trim_start_matches('/')
        )
    }

    /// A request to `path` under the versioned base URL, authenticated with `token`.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &SecretString,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token.expose_secret())
    }

    /// Sends `req` and decodes a 2xx body as `T`, or the Graph error object of any other answer.
    async fn call<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, GraphCallError> {
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| GraphCallError::NoAnswer(e.to_string()))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&body).map_err(|e| GraphCallError::Decode(e.to_string()))
        } else {
            match serde_json::from_slice::<GraphErrorBody>(&body) {
                Ok(b) => Err(GraphCallError::Graph {
                    status,
                    error: Box::new(b.error),
                }),
                Err(_) => Err(GraphCallError::Http { status }),
            }
        }
    }

    /// `POST /{phone-number-id}/messages`. Success means *accepted*, never delivered.
    pub async fn send(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        req: &SendRequest,
    ) -> Result<SendResponse, GraphCallError> {
        Self::call(
            self.request(
                reqwest::Method::POST,
                &format!("{phone_number_id}/messages"),
                token,
            )
            .json(req),
        )
        .await
    }

    /// As [`GraphClient::send`], with a request body already serialised (the outbox stores
    /// requests as JSON and sends them as they were accepted).
    pub async fn send_json(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        body: String,
    ) -> Result<SendResponse, GraphCallError> {
        Self::call(
            self.request(
                reqwest::Method::POST,
                &format!("{phone_number_id}/messages"),
                token,
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body),
        )
        .await
    }

    /// Mark an inbound message (and those before it) read, optionally showing "typing…".
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        req: &MarkRead,
    ) -> Result<(), GraphCallError> {
        let _: Value = Self::call(
            self.request(
                reqwest::Method::POST,
                &format!("{phone_number_id}/messages"),
                token,
            )
            .json(req),
        )
        .await?;
        Ok(())
    }

    /// `POST /{phone-number-id}/media`: uploads bytes, returns the media id (usable for 30 days).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        bytes: Bytes,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GraphCallError> {
        let part = reqwest::multipart::Part::stream(bytes)
            .file_name(filename.to_owned())
            .mime_str(mime_type)
            .map_err(|e| GraphCallError::Decode(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_owned())
            .part("file", part);
        let v: Value = Self::call(
            self.request(
                reqwest::Method::POST,
                &format!("{phone_number_id}/media"),
                token,
            )
            .multipart(form),
        )
        .await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| GraphCallError::Decode("no id in the upload response".into()))
    }

    /// `GET /{media-id}`: a short-lived download URL and the media's facts.
    pub async fn media_info(
        &self,
        media_id: &str,
        token: &SecretString,
    ) -> Result<MediaInfo, GraphCallError> {
        Self::call(self.request(reqwest::Method::GET, media_id, token)).await
    }

    /// Downloads a media URL with the bearer token, `max_bytes` at most (read as it arrives,
    /// never held whole past the limit). An expired URL answers 404 (`Http { status: 404 }`):
    /// retrieve a new one with [`GraphClient::media_info`]. The Graph API's own host is
    /// trusted; any other must be a public address ([`target`]).
    pub async fn download(
        &self,
        url: &str,
        token: &SecretString,
        max_bytes: u64,
    ) -> Result<Bytes, GraphCallError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| GraphCallError::Refused(format!("not a URL: {e}")))?;
        let own =
            reqwest::Url::parse(&self.base_url).is_ok_and(|base| base.origin() == parsed.origin());
        if !own && !matches!(parsed.scheme(), "https" | "http") {
            return Err(GraphCallError::Refused(format!(
                "{} URLs are not downloaded",
                parsed.scheme()
            )));
        }
        let client = if own || self.allow_private {
            &self.http
        } else if let Some(why) = target::refuse_literal(&parsed) {
            return Err(GraphCallError::Refused(why));
        } else {
            &self.downloads
        };
        let mut resp = client
            .get(parsed)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() && e.to_string().contains("public address") {
                    GraphCallError::Refused(e.to_string())
                } else {
                    transport(e)
                }
            })?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(GraphCallError::Http { status });
        }
        let too_big =
            |n: u64| GraphCallError::Refused(format!("more than {max_bytes} bytes ({n})"));
        if let Some(n) = resp.content_length().filter(|n| *n > max_bytes) {
            return Err(too_big(n));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| GraphCallError::NoAnswer(e.to_string()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(too_big(body.len() as u64));
            }
        }
        Ok(body.into())
    }

    /// `GET /{waba-id}/message_templates`, one page (`after` is the previous page's cursor).
    pub async fn list_templates(
        &self,
        waba_id: &str,
        token: &SecretString,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Value, GraphCallError> {
        let mut q = vec![("limit", limit.to_string())];
        if let Some(a) = after {
            q.push(("after", a.to_owned()));
        }
        Self::call(
            self.request(
                reqwest::Method::GET,
                &format!("{waba_id}/message_templates"),
                token,
            )
            .query(&q),
        )
        .await
    }

    /// `POST /{waba-id}/message_templates` with Meta's create JSON.
    pub async fn create_template(
        &self,
        waba_id: &str,
        token: &SecretString,
        template: &Value,
    ) -> Result<Value, GraphCallError> {
        Self::call(
            self.request(
                reqwest::Method::POST,
                &format!("{waba_id}/message_templates"),
                token,
            )
            .json(template),
        )
        .await
    }

    /// `POST /{template-id}`: edit a template (Meta's edit body: `components`, and `category`
    /// while not approved). It goes back to review.
    pub async fn edit_template(
        &self,
        template_id: &str,
        token: &SecretString,
        edit: &Value,
    ) -> Result<(), GraphCallError> {
        let _: Value = Self::call(
            self.request(reqwest::Method::POST, template_id, token)
                .json(edit),
        )
        .await?;
        Ok(())
    }

    /// `DELETE /{waba-id}/message_templates?name=…` (all languages).
    pub async fn delete_template(
        &self,
        waba_id: &str,
        token: &SecretString,
        name: &str,
    ) -> Result<(), GraphCallError> {
        self.delete_template_in(waba_id, token, name, None).await
    }

    /// Deletes a template by name, or only the one language whose template id is `hsm_id`.
    pub async fn delete_template_in(
        &self,
        waba_id: &str,
        token: &SecretString,
        name: &str,
        hsm_id: Option<&str>,
    ) -> Result<(), GraphCallError> {
        let mut q = vec![("name", name)];
        if let Some(id) = hsm_id {
            q.push(("hsm_id", id));
        }
        let req = self
            .request(
                reqwest::Method::DELETE,
                &format!("{waba_id}/message_templates"),
                token,
            )
            .query(&q);
        let _: Value = Self::call(req).await?;
        Ok(())
    }

    /// `GET /{phone-number-id}`: quality rating, throughput, messaging limit, status.
    pub async fn phone_number(
        &self,
        phone_number_id: &str,
        token: &SecretString,
    ) -> Result<Value, GraphCallError> {
        Self::call(self.request(reqwest::Method::GET, phone_number_id, token)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(code: i64, status: u16) -> GraphCallError {
        GraphCallError::Graph {
            status,
            error: Box::new(GraphError::new(ErrorCode(code), "t", "d", "f")),
        }
    }

    #[test]
    fn classes() {
        assert_eq!(graph(130429, 400).retry_class(), RetryClass::Throttled);
        assert_eq!(graph(190, 401).retry_class(), RetryClass::Auth);
        assert_eq!(graph(100, 400).retry_class(), RetryClass::Permanent);
        assert_eq!(
            graph(999_999, 503).retry_class(),
            RetryClass::Transient,
            "unknown code on a 5xx"
        );
        assert_eq!(
            GraphCallError::Http { status: 502 }.retry_class(),
            RetryClass::Transient
        );
        assert_eq!(
            GraphCallError::Http { status: 404 }.retry_class(),
            RetryClass::Permanent
        );
        assert!(GraphCallError::NoAnswer("t".into()).is_ambiguous());
        assert!(!GraphCallError::Connect("c".into()).is_ambiguous());
    }

    #[test]
    fn clients_build_repeatedly() {
        let _a = http_client(Duration::from_secs(1));
        let _b = GraphClient::new("http://127.0.0.1:1/", "v26.0", Duration::from_secs(1));
    }
}
