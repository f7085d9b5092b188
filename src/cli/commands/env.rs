//! `sockproxy-gen env`: the build-env step. Finds the Docker socket, reads its group id, and
//! sets PGID_DOCKER_SOCKET in .env (which the compose service's `user:` reads).

use std::path::Path;

use sockproxy_gen::error::ExitCode;
use sockproxy_gen::{dotenv, input, output, socket, Error, Result};

use crate::cli::args::EnvArgs;
use crate::cli::printing;

pub const KEY: &str = socket::GID_KEY;

pub fn run(args: EnvArgs) -> Result<ExitCode> {
    let candidates = socket::candidates(args.socket.as_deref(), |k| std::env::var(k).ok());
    let sock = socket::discover(&candidates, Path::new("/etc/group"))?;
    let gid = sock.gid.to_string();
    // Absolute: compose reads a relative mount source from the project's directory.
    let path = std::path::absolute(&sock.path).unwrap_or_else(|_| sock.path.clone());
    let path = path.to_string_lossy().into_owned();
    let group = sock.group.as_deref().map_or_else(
        || format!("gid {gid}"),
        |name| format!("group {name} ({gid})"),
    );
    let about = format!("{} of {} ({})", group, sock.path.display(), sock.origin);
    let wanted = [
        (KEY, gid.as_str()),
        (socket::SOCKET_PATH_KEY, path.as_str()),
    ];
    if args.print {
        let lines: String = wanted.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        printing::stdout(&lines)?;
        printing::status(&format!("{KEY}: {about}"));
        return Ok(ExitCode::Ok);
    }
    let file = &args.env_file;
    let existing = match input::read_text(file, "the env file", "; nothing was changed") {
        Ok(text) => text,
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            String::new()
        }
        Err(e) => return Err(e),
    };
    // Each value as Compose reads it (quotes removed, variables from the environment).
    let mut text = existing;
    let mut needs = Vec::new();
    let mut was = Vec::new();
    for (key, value) in wanted {
        let update = dotenv::set(&text, file, key, value, &|k| std::env::var(k).ok())?;
        // Compose mounts `${DOCKER_SOCKET_PATH:-/var/run/docker.sock}`: an old .env without
        // the path is right for the standard socket, and stays as it is.
        let by_default = key == socket::SOCKET_PATH_KEY
            && update.previous.is_none()
            && value == sockproxy_gen::render::DEFAULT_SOCKET;
        if update.changed && !by_default {
            needs.push(format!("{key}={value}"));
            was.push(
                update
                    .previous
                    .as_deref()
                    .map_or_else(|| format!("{key} not set"), |p| format!("{key}={p}")),
            );
            text = update.text;
        }
    }
    let now = format!("{KEY}={gid} and {}={path}", socket::SOCKET_PATH_KEY);
    if args.check {
        return Ok(if needs.is_empty() {
            printing::status(&format!("{} is up to date: {now}, {about}", file.display()));
            ExitCode::Ok
        } else {
            printing::status(&format!(
                "{} is stale: {}, but the socket is {about} (needs {}); run `sockproxy-gen env`",
                file.display(),
                was.join(", "),
                needs.join(", ")
            ));
            ExitCode::Findings
        });
    }
    if needs.is_empty() {
        printing::status(&format!("{} already has {now} ({about})", file.display()));
    } else {
        output::write_file(file, text.as_bytes())?;
        printing::status(&format!(
            "wrote {} to {} ({about}; was {})",
            needs.join(" and "),
            file.display(),
            was.join(", ")
        ));
    }
    Ok(ExitCode::Ok)
}
