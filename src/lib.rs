//! sockproxy-gen: least-privilege HAProxy configs for the Docker socket.
//!
//! One model under every command: the [`catalog`] of Docker Engine API routes, and a
//! [`policy`] (a set of grants on catalog routes) built from presets or Tecnativa-style env
//! flags. [`render`] turns a policy into haproxy.cfg; [`verify`] probes a running proxy.
//!
//! The library never prints: it returns values, notices and errors; the binary decides how to
//! show them.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod compose;
pub mod dotenv;
pub mod error;
pub mod flags;
pub mod haproxy;
pub mod input;
pub mod interpolate;
pub mod learn;
pub mod lint;
pub mod migrate;
pub mod output;
pub mod policy;
pub mod preset;
pub mod render;
pub mod socket;
mod suggest;
mod template;
pub mod verify;

pub use error::{Error, Result};

/// The tool's version, recorded in every generated file's header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
