//! The `sockproxy-gen` binary: parse arguments, run the command, turn errors into exit codes.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::args::Cli::parse();
    let code = cli::commands::run(args);
    std::process::ExitCode::from(code as u8)
}
