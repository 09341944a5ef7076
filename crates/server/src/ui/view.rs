//! What the pages show, made from the stored rows: one [`Bubble`] per message whatever its type
//! (unknown types shown honestly, with their raw JSON), delivery ticks from Meta's statuses,
//! the service window, and a template's parts for the picker.

use serde_json::Value;
use switchboard_domain::UnixMs;
use switchboard_domain::conversation::EventKind;
use switchboard_domain::window;
use switchboard_store::{ConversationEvent, ConversationRow, MessageRow, PendingOutbound};

/// One item of a thread: a message (either way), an outbox entry not yet accepted by Meta, a
/// note, or a change of hands.
pub struct Bubble {
    pub id: i64,
    /// `in`, `out`, `note` or `event`.
    pub side: &'static str,
    pub kind: String,
    pub at_ms: i64,
    pub time: String,
    pub text: Option<String>,
    pub media: Option<Media>,
    pub location: Option<Location>,
    pub lines: Vec<String>,
    pub reaction: Option<String>,
    pub choice: Option<String>,
    pub template: Option<String>,
    pub unknown: Option<String>,
    pub raw: String,
    /// `queued`, `sending`, `sent`, `delivered`, `read`, `failed` (for `out`).
    pub status: Option<String>,
    pub ticks: &'static str,
    pub error: Option<String>,
    pub author: Option<String>,
}

pub struct Media {
    pub kind: String,
    pub url: Option<String>,
    pub name: Option<String>,
    pub state: String,
}

pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub label: String,
}

impl Bubble {
    fn empty(id: i64, side: &'static str, kind: &str, at_ms: i64) -> Bubble {
        Bubble {
            id,
            side,
            kind: kind.to_owned(),
            at_ms,
            time: clock(at_ms),
            text: None,
            media: None,
            location: None,
            lines: vec![],
            reaction: None,
            choice: None,
            template: None,
            unknown: None,
            raw: String::new(),
            status: None,
            ticks: "",
            error: None,
            author: None,
        }
    }

    pub fn is_media_image(&self) -> bool {
        self.media
            .as_ref()
            .is_some_and(|m| matches!(m.kind.as_str(), "image" | "sticker") && m.url.is_some())
    }
}

/// `HH:MM` in UTC (the page rewrites it in the reader's time zone from `data-at`).
pub fn clock(at_ms: i64) -> String {
    let (_, _, _, h, m, _) = UnixMs(at_ms).civil();
    format!("{h:02}:{m:02}")
}

/// `YYYY-MM-DD HH:MM` UTC.
pub fn when(at_ms: i64) -> String {
    let (y, mo, d, h, m, _) = UnixMs(at_ms).civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}")
}

fn s(v: &Value) -> Option<String> {
    v.as_str().filter(|x| !x.is_empty()).map(str::to_owned)
}

fn ticks(status: Option<&str>) -> &'static str {
    match status {
        Some("sent") => "✓",
        Some("delivered") => "✓✓",
        Some("read") | Some("played") => "✓✓",
        Some("failed") => "!",
        _ => "○",
    }
}

/// A message row as a bubble.
pub fn message(m: &MessageRow) -> Bubble {
    let side = if m.direction == "in" { "in" } else { "out" };
    let mut b = Bubble::empty(m.id, side, &m.kind, m.meta_at_ms);
    let p: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    b.raw = serde_json::to_string_pretty(&p).unwrap_or_default();
    let body = &p[m.kind.as_str()];
    match m.kind.as_str() {
        "text" => b.text = m.text.clone().or_else(|| s(&body["body"])),
        "image" | "video" | "audio" | "document" | "sticker" => {
            b.text = s(&body["caption"]);
            let url = if side == "in" {
                (m.media_status.as_deref() == Some("stored"))
                    .then(|| format!("/api/v1/messages/{}/media", m.id))
            } else {
                s(&body["link"])
            };
            b.media = Some(Media {
                kind: m.kind.clone(),
                url,
                name: s(&body["filename"]).or_else(|| s(&body["mime_type"])),
                state: m.media_status.clone().unwrap_or_else(|| "sent".into()),
            });
        }
        "location" => {
            let label = [s(&body["name"]), s(&body["address"])]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            b.location = Some(Location {
                lat: body["latitude"].as_f64().unwrap_or_default(),
                lng: body["longitude"].as_f64().unwrap_or_default(),
                label,
            });
        }
        "contacts" => {
            for c in body.as_array().into_iter().flatten() {
                let name = s(&c["name"]["formatted_name"]).unwrap_or_else(|| "(no name)".into());
                let phones: Vec<String> = c["phones"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|ph| s(&ph["phone"]))
                    .collect();
                b.lines.push(if phones.is_empty() {
                    name
                } else {
                    format!("{name}: {}", phones.join(", "))
                });
            }
        }
        "reaction" => {
            b.reaction = Some(s(&body["emoji"]).unwrap_or_else(|| "(reaction removed)".into()))
        }
        "interactive" => {
            let r = &body[body["type"].as_str().unwrap_or("")];
            b.choice = s(&r["title"]).map(|t| match s(&r["description"]) {
                Some(d) => format!("{t} — {d}"),
                None => t,
            });
            if b.choice.is_none() {
                // An interactive message we sent (buttons, list): its body text.
                b.text = s(&body["body"]["text"]);
                b.choice = s(&body["type"]).map(|t| format!("interactive {t}"));
            }
        }
        "button" => b.choice = s(&body["text"]).or_else(|| s(&body["payload"])),
        "order" => {
            let items = body["product_items"].as_array().map_or(0, Vec::len);
            let total: f64 = body["product_items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    i["item_price"].as_f64().unwrap_or_default()
                        * i["quantity"].as_f64().unwrap_or(1.0)
                })
                .sum();
            let currency = body["product_items"][0]["currency"].as_str().unwrap_or("");
            b.lines
                .push(format!("Order: {items} item(s), {total:.2} {currency}"));
            b.text = s(&body["text"]);
        }
        "template" => {
            b.template = s(&body["name"]);
            b.text = m.text.clone();
        }
        _ => {
            b.unknown = Some(m.kind.clone());
            b.text = m.text.clone();
        }
    }
    if side == "out" {
        b.status = Some(m.status.clone().unwrap_or_else(|| "accepted".into()));
        b.ticks = ticks(m.status.as_deref());
        b.error = m.error_code.map(|c| format!("Meta error {c}"));
    }
    b
}

/// An outbox entry Meta has not accepted (queued, sending, failed before Meta took it).
pub fn pending(o: &PendingOutbound) -> Bubble {
    let p: Value = serde_json::from_str(&o.request).unwrap_or(Value::Null);
    let mut b = Bubble::empty(-o.id, "out", &o.kind, o.created_at_ms);
    b.raw = serde_json::to_string_pretty(&p).unwrap_or_default();
    b.text = s(&p["text"]["body"]).or_else(|| s(&p[o.kind.as_str()]["caption"]));
    b.template = s(&p["template"]["name"]);
    b.status = Some(o.state.to_string());
    b.ticks = if o.state.ended_unsent() { "!" } else { "○" };
    b.error = o.error_message.clone();
    b
}

pub fn event(e: &ConversationEvent, name: &dyn Fn(Option<i64>) -> String) -> Bubble {
    let side = if e.kind == EventKind::Note {
        "note"
    } else {
        "event"
    };
    let mut b = Bubble::empty(e.id, side, e.kind.as_str(), e.at_ms);
    b.author = Some(name(e.actor_user_id));
    b.text = Some(match e.kind {
        EventKind::Note => e.detail.clone().unwrap_or_default(),
        EventKind::Claimed => format!("{} claimed the conversation", name(e.actor_user_id)),
        EventKind::Released => format!("{} released the conversation", name(e.actor_user_id)),
        EventKind::Transferred => format!(
            "{} transferred it to {}",
            name(e.actor_user_id),
            name(e.user_id)
        ),
        EventKind::TakenOver => format!(
            "{} took it over from {}",
            name(e.actor_user_id),
            name(e.previous_user_id)
        ),
        EventKind::Routed => format!("Routed to {}", name(e.user_id)),
        EventKind::Requeued => format!(
            "Back in the queue ({} went offline)",
            name(e.previous_user_id)
        ),
        EventKind::Status(s) => format!("{} marked it {}", name(e.actor_user_id), s.as_str()),
    });
    b
}

/// The service window of a conversation at `now`.
pub struct Window {
    pub open: bool,
    pub until_ms: i64,
    pub left: String,
}

pub fn window(c: &ConversationRow, now: UnixMs) -> Window {
    let last_inbound = c.last_inbound_at_ms.map(UnixMs);
    let until_ms = last_inbound.map_or(0, |t| window::window_closes_at(t).0);
    let left_ms = until_ms - now.0;
    Window {
        open: window::window_open(last_inbound, now),
        until_ms,
        left: if left_ms > 0 {
            format!(
                "{}h {:02}m",
                left_ms / 3_600_000,
                left_ms % 3_600_000 / 60_000
            )
        } else {
            String::new()
        },
    }
}

/// A template for the picker: its parts, with the parameters it needs.
pub struct PickTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    /// The components as JSON (the page builds the form and preview from it).
    pub components: String,
}

pub fn pick_template(
    name: &str,
    language: &str,
    category: Option<&str>,
    definition: &str,
) -> Option<PickTemplate> {
    let d: Value = serde_json::from_str(definition).ok()?;
    Some(PickTemplate {
        name: name.to_owned(),
        language: language.to_owned(),
        category: category.unwrap_or("").to_owned(),
        components: json_for_attr(&serde_json::json!({
            "components": d["components"],
            "parameter_format": d["parameter_format"],
        })),
    })
}

/// JSON safe to put in an HTML attribute (askama escapes quotes and angle brackets).
pub fn json_for_attr(v: &Value) -> String {
    v.to_string()
}

/// A contact's display name.
pub fn display_name(c: &ConversationRow) -> String {
    c.contact_name
        .clone()
        .or_else(|| c.contact_wa_id.as_ref().map(|w| format!("+{w}")))
        .or_else(|| c.contact_bsuid.clone())
        .unwrap_or_else(|| format!("Contact {}", c.contact_id))
}

/// What the customer is reachable as: `+number` or the BSUID.
pub fn address(c: &ConversationRow) -> String {
    c.contact_wa_id
        .as_ref()
        .map(|w| format!("+{w}"))
        .or_else(|| c.contact_bsuid.clone())
        .unwrap_or_default()
}

pub fn initials(name: &str) -> String {
    let mut it = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()));
    let a = it.next().unwrap_or('?');
    let b = it.next();
    let mut s: String = a.to_uppercase().collect();
    if let Some(b) = b {
        s.extend(b.to_uppercase());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, payload: Value) -> MessageRow {
        MessageRow {
            id: 7,
            wamid: "wamid.X".into(),
            conversation_id: 1,
            direction: "in".into(),
            kind: kind.into(),
            text: None,
            payload: payload.to_string(),
            meta_at_ms: 1_700_000_000_000,
            status: None,
            status_at_ms: None,
            error_code: None,
            media_status: Some("stored".into()),
        }
    }

    #[test]
    fn every_inbound_type_has_something_to_show() {
        let b = message(&row(
            "location",
            serde_json::json!({"type":"location","location":{"latitude":38.7,"longitude":-9.1,"name":"Shop","address":"Rua 1"}}),
        ));
        assert_eq!(b.location.unwrap().label, "Shop · Rua 1");
        let b = message(&row(
            "interactive",
            serde_json::json!({"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"a","title":"Tuesday","description":"9-12"}}}),
        ));
        assert_eq!(b.choice.as_deref(), Some("Tuesday — 9-12"));
        let b = message(&row(
            "image",
            serde_json::json!({"type":"image","image":{"id":"1","caption":"my receipt"}}),
        ));
        assert!(b.is_media_image());
        assert_eq!(b.text.as_deref(), Some("my receipt"));
        let b = message(&row(
            "contacts",
            serde_json::json!({"type":"contacts","contacts":[{"name":{"formatted_name":"Ana"},"phones":[{"phone":"+351 1"}]}]}),
        ));
        assert_eq!(b.lines, vec!["Ana: +351 1"]);
        let b = message(&row(
            "order",
            serde_json::json!({"type":"order","order":{"catalog_id":"c","product_items":[{"product_retailer_id":"x","quantity":2,"item_price":5.5,"currency":"EUR"}]}}),
        ));
        assert_eq!(b.lines, vec!["Order: 1 item(s), 11.00 EUR"]);
        let b = message(&row(
            "hologram",
            serde_json::json!({"type":"hologram","hologram":{}}),
        ));
        assert_eq!(b.unknown.as_deref(), Some("hologram"));
        assert!(b.raw.contains("hologram"));
    }

    #[test]
    fn initials_and_ticks() {
        assert_eq!(initials("sheena nelson"), "SN");
        assert_eq!(initials("+1650"), "1");
        assert_eq!(ticks(Some("delivered")), "✓✓");
        assert_eq!(ticks(None), "○");
    }
}
