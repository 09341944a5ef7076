//! Session-message content: text, media, location, contacts, reaction (and, by reference,
//! interactive and template).

use serde::{Deserialize, Serialize};

use super::{BuildError, Interactive, Template, check_count, check_len};
use crate::webhook::ContactCard;
use crate::wire::{Extra, Flexible, type_keyed_enum, wire_struct};

type_keyed_enum! {
    /// What a send carries, by `type` (§2).
    pub enum OutboundContent {
        Text(OutboundText) = "text",
        Image(MediaObject) = "image",
        Audio(MediaObject) = "audio",
        Video(MediaObject) = "video",
        Document(MediaObject) = "document",
        Sticker(MediaObject) = "sticker",
        Location(OutboundLocation) = "location",
        Contacts(Vec<ContactCard>) = "contacts",
        Reaction(OutboundReaction) = "reaction",
        Interactive(Interactive) = "interactive",
        Template(Template) = "template",
    }
}

/// Where media comes from: an uploaded media id (recommended) or a public link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    Id(String),
    Link(String),
}

/// Media types that can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl OutboundContent {
    /// Text, 1–4096 characters; `preview_url` renders a preview of the first link.
    pub fn text(body: impl Into<String>, preview_url: bool) -> Result<Self, BuildError> {
        let body = body.into();
        check_len("text.body", &body, 4096)?;
        Ok(OutboundContent::Text(OutboundText {
            body,
            preview_url: preview_url.then_some(true),
            extra: Extra::new(),
        }))
    }

    /// Media with an optional caption (image, video, document; ≤ 1024 characters) and filename
    /// (document only). Audio and stickers take neither.
    pub fn media(
        kind: MediaKind,
        source: MediaSource,
        caption: Option<String>,
        filename: Option<String>,
    ) -> Result<Self, BuildError> {
        let mut m = MediaObject::from_source(source)?;
        if let Some(c) = caption {
            if matches!(kind, MediaKind::Audio | MediaKind::Sticker) {
                return Err(BuildError::Invalid(
                    "audio and stickers cannot have a caption",
                ));
            }
            check_len("caption", &c, 1024)?;
            m.caption = Some(c);
        }
        if let Some(f) = filename {
            if kind != MediaKind::Document {
                return Err(BuildError::Invalid("only documents have a filename"));
            }
            check_len("filename", &f, 240)?;
            m.filename = Some(f);
        }
        Ok(match kind {
            MediaKind::Image => OutboundContent::Image(m),
            MediaKind::Audio => OutboundContent::Audio(m),
            MediaKind::Video => OutboundContent::Video(m),
            MediaKind::Document => OutboundContent::Document(m),
            MediaKind::Sticker => OutboundContent::Sticker(m),
        })
    }

    /// A voice note (OGG/OPUS); shown with a play button.
    pub fn voice_note(source: MediaSource) -> Result<Self, BuildError> {
        let mut m = MediaObject::from_source(source)?;
        m.voice = Some(true);
        Ok(OutboundContent::Audio(m))
    }

    pub fn location(
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    ) -> Result<Self, BuildError> {
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return Err(BuildError::Invalid(
                "latitude must be within ±90 and longitude within ±180",
            ));
        }
        Ok(OutboundContent::Location(OutboundLocation {
            latitude: Some(latitude.into()),
            longitude: Some(longitude.into()),
            name,
            address,
            extra: Extra::new(),
        }))
    }

    /// One to 257 contact cards, each with a `name.formatted_name`.
    pub fn contacts(cards: Vec<ContactCard>) -> Result<Self, BuildError> {
        check_count("contacts", cards.len(), 1, 257)?;
        for card in &cards {
            let formatted = card
                .name
                .as_ref()
                .and_then(|n| n.get("formatted_name"))
                .and_then(|v| v.as_str());
            if formatted.is_none_or(|s| s.trim().is_empty()) {
                return Err(BuildError::Empty {
                    field: "contacts[].name.formatted_name",
                });
            }
        }
        Ok(OutboundContent::Contacts(cards))
    }

    /// React to a message; an empty `emoji` removes an earlier reaction.
    pub fn reaction(
        message_id: impl Into<String>,
        emoji: impl Into<String>,
    ) -> Result<Self, BuildError> {
        let message_id = message_id.into();
        check_len("reaction.message_id", &message_id, 512)?;
        Ok(OutboundContent::Reaction(OutboundReaction {
            message_id: Some(message_id),
            emoji: Some(emoji.into()),
            extra: Extra::new(),
        }))
    }

    /// Whether this content may be sent outside the customer service window (only templates).
    pub fn is_template(&self) -> bool {
        matches!(self, OutboundContent::Template(_))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundText {
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

wire_struct! {
    /// A media object to send: exactly one of `id` and `link` (checked by the constructors and
    /// by the emulator, not by parsing, so a bad request can still be answered with Meta's error).
    pub struct MediaObject {
        pub id: String,
        pub link: String,
        pub caption: String,
        pub filename: String,
        pub voice: bool,
    }
}

impl MediaObject {
    pub fn from_source(source: MediaSource) -> Result<Self, BuildError> {
        let mut m = MediaObject::default();
        match source {
            MediaSource::Id(id) => {
                check_len("media id", &id, 256)?;
                m.id = Some(id)
            }
            MediaSource::Link(link) => {
                if !(link.starts_with("https://") || link.starts_with("http://")) {
                    return Err(BuildError::Invalid(
                        "a media link must be an http:// or https:// URL",
                    ));
                }
                m.link = Some(link)
            }
        }
        Ok(m)
    }

    /// The source, if exactly one of `id` and `link` is set.
    pub fn source(&self) -> Option<MediaSource> {
        match (&self.id, &self.link) {
            (Some(id), None) => Some(MediaSource::Id(id.clone())),
            (None, Some(link)) => Some(MediaSource::Link(link.clone())),
            _ => None,
        }
    }
}

wire_struct! {
    pub struct OutboundLocation {
        pub latitude: Flexible,
        pub longitude: Flexible,
        pub name: String,
        pub address: String,
    }
}

wire_struct! {
    pub struct OutboundReaction {
        pub message_id: String,
        pub emoji: String,
    }
}
