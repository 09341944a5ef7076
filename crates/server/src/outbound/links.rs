//! Media links in sends: Meta fetches them, but a link into the business's own network (an
//! admin panel on 10.0.0.5, the cloud's metadata address) is never a customer's picture, and a
//! link that names such a host is how an attacker with an API key would probe it. A link is
//! refused when its host is a private, loopback or link-local address, or a name that resolves
//! only to such addresses (the operator can allow private targets for development).
//! Verdicts are kept for a minute per host, so a campaign resolves its header image once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_graph::target;

use crate::error::ApiError;

const REMEMBER: Duration = Duration::from_secs(60);
const LOOKUP: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct LinkCheck {
    allow_private: bool,
    /// host -> (why it is refused, if it is; when decided)
    verdicts: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl LinkCheck {
    pub fn new(allow_private: bool) -> Self {
        LinkCheck {
            allow_private,
            verdicts: Mutex::default(),
        }
    }

    /// Refuses the request (Cloud API JSON) if any media `link` in it points at a private target.
    pub async fn check(&self, request: &str) -> Result<(), ApiError> {
        if self.allow_private {
            return Ok(());
        }
        let Ok(v) = serde_json::from_str::<Value>(request) else {
            return Ok(());
        };
        let mut links = vec![];
        collect_links(&v, &mut links);
        for link in links {
            if let Some(why) = self.refusal(link).await {
                return Err(ApiError::Rejected {
                    code: "private_link",
                    message: format!(
                        "The media link {link:?} points inside a private network ({why}); use a public https:// address."
                    ),
                    details: Value::Null,
                });
            }
        }
        Ok(())
    }

    async fn refusal(&self, link: &str) -> Option<String> {
        let url = switchboard_graph::Url::parse(link).ok()?;
        if let Some(why) = target::refuse_literal(&url) {
            return Some(why);
        }
        let host = url.host_str()?.to_ascii_lowercase();
        if let Some((why, at)) = self.verdicts.lock().expect("not poisoned").get(&host)
            && at.elapsed() < REMEMBER
        {
            return why.clone();
        }
        let port = url.port_or_known_default().unwrap_or(443);
        // A name that does not resolve here is Meta's to fetch or fail: only an answer that
        // names private addresses alone is refused.
        let why = match tokio::time::timeout(LOOKUP, tokio::net::lookup_host((host.as_str(), port)))
            .await
        {
            Ok(Ok(addrs)) => {
                let addrs: Vec<_> = addrs.map(|a| a.ip()).collect();
                (!addrs.is_empty() && !addrs.iter().any(|ip| target::is_public(*ip)))
                    .then(|| format!("{host} resolves to {}", addrs[0]))
            }
            _ => None,
        };
        let mut m = self.verdicts.lock().expect("not poisoned");
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(host, (why.clone(), Instant::now()));
        why
    }
}

/// Every `"link": "..."` in a request (media messages, template header parameters).
fn collect_links<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("link", Value::String(s)) => out.push(s),
                    _ => collect_links(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_links(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_into_private_networks_are_refused_unless_allowed() {
        let check = LinkCheck::new(false);
        for link in [
            "http://127.0.0.1/x.jpg",
            "https://169.254.169.254/latest/meta-data/x.jpg",
            "https://10.0.0.5/admin.png",
            "https://[::1]/x.png",
            "https://localhost/x.png",
        ] {
            let body = format!(
                r#"{{"type":"template","template":{{"components":[{{"type":"header","parameters":[{{"type":"image","image":{{"link":"{link}"}}}}]}}]}}}}"#
            );
            let e = check.check(&body).await.unwrap_err();
            assert_eq!(e.code(), "private_link", "{link}");
        }
        let image = r#"{"type":"image","image":{"link":"https://157.240.1.1/cat.jpg"}}"#;
        assert!(check.check(image).await.is_ok());
        assert!(
            LinkCheck::new(true)
                .check(r#"{"type":"image","image":{"link":"http://127.0.0.1/x.jpg"}}"#)
                .await
                .is_ok()
        );
    }
}
