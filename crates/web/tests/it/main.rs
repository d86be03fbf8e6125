//! One integration-test binary: the app runs on a real port over a real store, and every
//! scenario runs twice, on SQLite and on PostgreSQL (`AMTSWEG_TEST_POSTGRES_URL`; mandatory
//! when `CI=true`), each in a fresh database or schema.

mod common;

mod api;
mod assistant;
mod casework;
mod daily;
mod matrix;
mod evidence;
mod fim;
mod hardening;
mod isolation;
mod login;
mod maengel;
mod ledger;
mod open311;
mod openapi;
mod pages;
mod platform;
mod siem;
mod store;
