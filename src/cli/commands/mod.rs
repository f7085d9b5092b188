//! One module per subcommand; `run` dispatches and turns errors into exit codes.

mod presets;
mod render;
mod routes;

use sockproxy_gen::error::ExitCode;

use super::args::{Cli, Command};
use super::printing;

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Render(args) => render::run(args),
        Command::Presets(args) => presets::run(args),
        Command::Routes(args) => routes::run(args),
    };
    match result {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            printing::error(&e);
            e.exit_code()
        }
    }
}
