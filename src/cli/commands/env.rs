//! `sockproxy-gen env`: the build-env step. Finds the Docker socket, reads its group id, and
//! sets PGID_DOCKER_SOCKET in .env (which the compose service's `user:` reads).

use std::path::Path;

use sockproxy_gen::error::ExitCode;
use sockproxy_gen::{dotenv, input, output, socket, Error, Result};

use crate::cli::args::EnvArgs;
use crate::cli::printing;

pub const KEY: &str = "PGID_DOCKER_SOCKET";

pub fn run(args: EnvArgs) -> Result<ExitCode> {
    let candidates = socket::candidates(args.socket.as_deref(), |k| std::env::var(k).ok());
    let sock = socket::discover(&candidates, Path::new("/etc/group"))?;
    let gid = sock.gid.to_string();
    let group = sock.group.as_deref().map_or_else(
        || format!("gid {gid}"),
        |name| format!("group {name} ({gid})"),
    );
    let about = format!("{} of {} ({})", group, sock.path.display(), sock.origin);
    if args.print {
        printing::stdout(&format!("{KEY}={gid}\n"))?;
        printing::status(&format!("{KEY}: {about}"));
        return Ok(ExitCode::Ok);
    }
    let path = &args.env_file;
    let existing = match input::read_text(path, "the env file", "; nothing was changed") {
        Ok(text) => text,
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            String::new()
        }
        Err(e) => return Err(e),
    };
    // The value as Compose reads it (quotes removed, variables from the environment).
    let update = dotenv::set(&existing, path, KEY, &gid, &|k| std::env::var(k).ok())?;
    let was = update
        .previous
        .as_deref()
        .map_or_else(|| "not set".to_string(), |p| format!("{KEY}={p}"));
    if args.check {
        return Ok(if update.changed {
            printing::status(&format!(
                "{} is stale: {was}, but the socket's group is {about}; run `sockproxy-gen env`",
                path.display()
            ));
            ExitCode::Findings
        } else {
            printing::status(&format!(
                "{} is up to date: {KEY}={gid}, {about}",
                path.display()
            ));
            ExitCode::Ok
        });
    }
    if update.changed {
        output::write_file(path, update.text.as_bytes())?;
        printing::status(&format!(
            "wrote {KEY}={gid} to {} ({about}; was {was})",
            path.display()
        ));
    } else {
        printing::status(&format!(
            "{} already has {KEY}={gid} ({about})",
            path.display()
        ));
    }
    Ok(ExitCode::Ok)
}
