//! End-to-end tests: one test binary (see `tests/src/lib.rs` for the helpers).

mod cli;
mod client;
mod harvest;
mod real_locations;
mod simulator;
