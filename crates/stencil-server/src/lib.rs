//! The Stencil server as a library: configuration, start-up, the axum app and dispatch.
//!
//! The binary (`stencil serve`) and the test kit both call [`prepare`] and then [`serve`] with
//! a bound listener and a shutdown future (or [`serve_all`] with the NBD listener too), so tests
//! run the real server on port 0.

pub mod app;
pub mod config;
pub mod credentials;
pub mod dispatch;
mod instances;
mod lifecycle;
mod nbd;
pub mod nonce;
mod sharing;
mod startup;
pub mod state;

pub use nbd::serve_nbd;
pub use startup::{Prepared, StartError, prepare, serve, serve_all};
