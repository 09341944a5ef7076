//! Meta's WhatsApp Cloud API wire format, and nothing else.
//!
//! Reading order: [`webhook`] (what Meta POSTs to us), [`send`] (what we POST to Meta and what it
//! answers), [`error`] (Graph error objects and the retry class of every documented code), and
//! [`signature`] (`X-Hub-Signature-256`).
//!
//! Two rules shape every type here:
//!
//! * **Lossless.** Meta adds fields without notice. Every object keeps the keys it does not know in
//!   an `extra` map, unknown webhook fields and message types are kept as raw JSON, and
//!   re-serialising a parsed payload gives back the same JSON value. A newer payload is never a
//!   parse error. In a webhook, a change or an item whose *known* keys have the wrong shape is
//!   kept unparsed beside the rest (`webhook::Items`), so only a body that is not an envelope at
//!   all fails to parse; elsewhere, a payload whose known keys have the wrong shape is an error.
//! * **Wire-shaped.** Values keep Meta's representation (timestamps as the strings Meta sends, ids
//!   as strings, numbers as JSON numbers) so that the journal and the typed view never disagree.
//!   Typed views (`kind()`, `as_unix()`, …) are methods, not conversions at parse time.
//!
//! No I/O, no database, no policy: those live in `graph`, `store` and `domain`.

pub mod error;
pub mod send;
pub mod signature;
pub mod webhook;
mod wire;

pub use error::{ErrorCode, GraphError, GraphErrorBody, RetryClass, WebhookError};
pub use wire::{Extra, Flexible, Timestamp, TypeKeyed};
