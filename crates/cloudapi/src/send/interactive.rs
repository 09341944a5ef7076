//! Interactive messages (§2.8): reply buttons, lists, CTA URL, location request, flows, commerce.
//! The `action` object differs per kind, so it is kept as JSON and built by the constructors.

use serde_json::{Value, json};

use super::{BuildError, MediaObject, check_count, check_len};
use crate::wire::wire_struct;

wire_struct! {
    pub struct Interactive {
        /// `button`, `list`, `cta_url`, `location_request_message`, `flow`, `product`, …
        #[serde(rename = "type")]
        pub kind: String,
        pub header: Header,
        pub body: TextObject,
        pub footer: TextObject,
        pub action: Value,
    }
}

wire_struct! {
    /// `text` (≤ 60 characters) or a media header (no caption).
    pub struct Header {
        #[serde(rename = "type")]
        pub kind: String,
        pub text: String,
        pub image: MediaObject,
        pub video: MediaObject,
        pub document: MediaObject,
    }
}

wire_struct! {
    pub struct TextObject {
        pub text: String,
    }
}

/// One row of a list message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// A section of a list message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSection {
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

impl Header {
    pub fn text(text: impl Into<String>) -> Result<Self, BuildError> {
        let text = text.into();
        check_len("header.text", &text, 60)?;
        Ok(Header {
            kind: Some("text".into()),
            text: Some(text),
            ..Default::default()
        })
    }
}

fn text_object(field: &'static str, text: String, max: usize) -> Result<TextObject, BuildError> {
    check_len(field, &text, max)?;
    Ok(TextObject {
        text: Some(text),
        ..Default::default()
    })
}

fn unique<'a>(
    field: &'static str,
    values: impl Iterator<Item = &'a str>,
) -> Result<(), BuildError> {
    let mut seen = std::collections::HashSet::new();
    for v in values {
        if !seen.insert(v) {
            return Err(BuildError::Duplicate {
                field,
                value: v.to_owned(),
            });
        }
    }
    Ok(())
}

impl Interactive {
    fn new(kind: &str, body: Option<TextObject>, action: Value) -> Self {
        Interactive {
            kind: Some(kind.into()),
            body,
            action: Some(action),
            ..Default::default()
        }
    }

    pub fn with_header(mut self, header: Header) -> Self {
        self.header = Some(header);
        self
    }

    pub fn with_footer(mut self, footer: impl Into<String>) -> Result<Self, BuildError> {
        self.footer = Some(text_object("footer.text", footer.into(), 60)?);
        Ok(self)
    }

    /// One to three reply buttons: `(id ≤ 256, title ≤ 20)`, both unique.
    pub fn buttons(body: impl Into<String>, buttons: &[(&str, &str)]) -> Result<Self, BuildError> {
        check_count("buttons", buttons.len(), 1, 3)?;
        for (id, title) in buttons {
            check_len("button id", id, 256)?;
            if id.trim() != *id {
                return Err(BuildError::Invalid(
                    "a button id cannot start or end with spaces",
                ));
            }
            check_len("button title", title, 20)?;
        }
        unique("button id", buttons.iter().map(|b| b.0))?;
        unique("button title", buttons.iter().map(|b| b.1))?;
        let buttons: Vec<Value> = buttons
            .iter()
            .map(|(id, title)| json!({"type": "reply", "reply": {"id": id, "title": title}}))
            .collect();
        Ok(Self::new(
            "button",
            Some(text_object("body.text", body.into(), 1024)?),
            json!({ "buttons": buttons }),
        ))
    }

    /// A list: a button label (≤ 20), one to ten sections, at most ten rows in all.
    pub fn list(
        body: impl Into<String>,
        button: impl Into<String>,
        sections: &[ListSection],
    ) -> Result<Self, BuildError> {
        let button = button.into();
        check_len("action.button", &button, 20)?;
        check_count("sections", sections.len(), 1, 10)?;
        let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
        check_count("rows", rows, 1, 10)?;
        let mut out = Vec::new();
        for s in sections {
            match &s.title {
                Some(t) => check_len("section title", t, 24)?,
                None if sections.len() > 1 => {
                    return Err(BuildError::Empty {
                        field: "section title",
                    });
                }
                None => {}
            }
            let mut rows = Vec::new();
            for r in &s.rows {
                check_len("row id", &r.id, 200)?;
                check_len("row title", &r.title, 24)?;
                let mut row = json!({"id": r.id, "title": r.title});
                if let Some(d) = &r.description {
                    check_len("row description", d, 72)?;
                    row["description"] = json!(d);
                }
                rows.push(row);
            }
            let mut section = json!({ "rows": rows });
            if let Some(t) = &s.title {
                section["title"] = json!(t);
            }
            out.push(section);
        }
        unique(
            "row id",
            sections
                .iter()
                .flat_map(|s| s.rows.iter().map(|r| r.id.as_str())),
        )?;
        Ok(Self::new(
            "list",
            Some(text_object("body.text", body.into(), 4096)?),
            json!({"button": button, "sections": out}),
        ))
    }

    /// A call-to-action URL button.
    pub fn cta_url(
        body: impl Into<String>,
        display_text: impl Into<String>,
        url: impl Into<String>,
    ) -> Result<Self, BuildError> {
        let (display_text, url) = (display_text.into(), url.into());
        check_len("display_text", &display_text, 20)?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(BuildError::Invalid(
                "a CTA URL must be an http:// or https:// URL",
            ));
        }
        Ok(Self::new(
            "cta_url",
            Some(text_object("body.text", body.into(), 1024)?),
            json!({"name": "cta_url", "parameters": {"display_text": display_text, "url": url}}),
        ))
    }

    /// Ask the customer to share their location.
    pub fn location_request(body: impl Into<String>) -> Result<Self, BuildError> {
        Ok(Self::new(
            "location_request_message",
            Some(text_object("body.text", body.into(), 1024)?),
            json!({"name": "send_location"}),
        ))
    }

    /// Open a published flow by id.
    pub fn flow(
        body: impl Into<String>,
        flow_id: impl Into<String>,
        cta: impl Into<String>,
        flow_token: impl Into<String>,
    ) -> Result<Self, BuildError> {
        let cta = cta.into();
        check_len("flow_cta", &cta, 20)?;
        Ok(Self::new(
            "flow",
            Some(text_object("body.text", body.into(), 1024)?),
            json!({"name": "flow", "parameters": {
                "flow_message_version": "3", "flow_token": flow_token.into(), "flow_id": flow_id.into(),
                "flow_cta": cta, "flow_action": "navigate"
            }}),
        ))
    }
}
