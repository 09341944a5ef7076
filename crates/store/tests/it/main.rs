//! The store conformance suite: every test runs on SQLite and on a real PostgreSQL.

mod api_keys;
mod items;
mod journal;
mod media;
mod migrations;
mod outbox;
mod projection;
mod state;
mod users;
