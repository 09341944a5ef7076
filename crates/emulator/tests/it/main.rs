//! The emulator behaves like Meta: driven over real HTTP by Switchboard's own Graph client,
//! with webhooks delivered to a real receiver that verifies every signature.

mod account;
mod faults;
mod harness;
mod media;
mod messages;
mod templates;
mod webhooks;
