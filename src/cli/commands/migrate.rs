//! `sockproxy-gen migrate`: a Tecnativa-style socket proxy in compose files, replaced.

use sockproxy_gen::error::ExitCode;
use sockproxy_gen::{Error, Result};

use crate::cli::args::MigrateArgs;

pub fn run(_args: MigrateArgs) -> Result<ExitCode> {
    Err(Error::Invalid("migrate: not built yet".into()))
}
