//! One module per subcommand; `run` dispatches and turns errors into exit codes.

mod completions;
mod compose;
mod env;
mod explain;
mod learn;
mod lint;
mod migrate;
mod presets;
pub mod render;
mod routes;
mod verify;

use sockproxy_gen::error::ExitCode;

use super::args::{Cli, Command};
use super::printing;

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Render(args) => render::run(args).map(|()| ExitCode::Ok),
        Command::Presets(args) => presets::run(args).map(|()| ExitCode::Ok),
        Command::Routes(args) => routes::run(args).map(|()| ExitCode::Ok),
        Command::Env(args) => env::run(args),
        Command::Compose(args) => compose::run(args).map(|()| ExitCode::Ok),
        Command::Verify(args) => verify::run(args),
        Command::Lint(args) => Ok(lint::run(args)),
        Command::Explain(args) => explain::run(args).map(|()| ExitCode::Ok),
        Command::Learn(args) => learn::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Completions(args) => completions::completions(args).map(|()| ExitCode::Ok),
        Command::Man(args) => completions::man(args).map(|()| ExitCode::Ok),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            printing::error(&e);
            e.exit_code()
        }
    }
}
