//! Switchboard's business rules, pure and unit-testable: no I/O, no database, no HTTP.
//!
//! Types here are parsed once at the edge and carry their rules ([`E164`], [`Bsuid`],
//! [`UnixMs`], [`Role`]); the decisions built on them (service window, send policy, pricing,
//! template lint, routing) join this crate as the issues that need them land.

pub mod consent;
pub mod conversation;
pub mod csv;
pub mod forecast;
pub mod identity;
pub mod lint;
pub mod markets;
pub mod money;
pub mod outbox;
pub mod pacing;
mod placeholder;
pub mod policy;
pub mod pricing;
pub mod role;
pub mod routing;
pub mod template;
pub mod template_plan;
pub mod time;
pub mod window;

pub use identity::{Bsuid, E164, IdentityError};
pub use role::Role;
pub use time::UnixMs;
