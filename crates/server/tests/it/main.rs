//! The server, built as in production and driven over real HTTP, on SQLite and PostgreSQL.

mod api_keys;
mod health;
mod helpers;
