//! Everything that only the binary does: argument types, one module per subcommand, printing.

pub mod args;
pub mod commands;
pub mod printing;
