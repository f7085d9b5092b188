//! The `sockproxy-gen` binary: parse arguments, run the command, turn errors into exit codes.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let code = match cli::args::Cli::try_parse() {
        Ok(args) => cli::commands::run(args),
        Err(e) => cli::printing::usage(&e),
    };
    std::process::ExitCode::from(code as u8)
}
