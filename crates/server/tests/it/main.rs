//! The server, built as in production and driven over real HTTP, on SQLite and PostgreSQL,
//! with an emulator of Meta's API delivering real signed webhooks.

mod api_keys;
mod browser;
mod campaigns;
mod costs;
mod health;
mod helpers;
mod inbound;
mod inbox;
mod items;
mod openapi;
mod outbound;
mod read_api;
mod registry;
mod security;
