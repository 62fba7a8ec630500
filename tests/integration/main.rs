//! End-to-end tests: one test binary (see `tests/src/lib.rs` for the helpers).

mod accessibility;
mod browser;
mod cli;
mod client;
mod dedup;
mod harvest;
mod keys;
mod links;
mod live;
mod metrics;
mod partner_feeds;
mod real_locations;
mod roles;
mod search;
mod simulator;
mod syndication;
mod traffic;
