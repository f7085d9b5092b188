//! `sockproxy-gen migrate`: compose files with a Tecnativa-style socket proxy in, a directory
//! with the migrated compose file, haproxy.cfg, .env and MIGRATION.md out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::{input, migrate, output, socket, Error, Result};

use crate::cli::args::MigrateArgs;
use crate::cli::printing;

/// The socket's group: `--socket-gid`, else the group of `--socket`, else of the socket the
/// proxy mounts (`sockets`, when it is on this machine), else of the socket `env` would find. A
/// socket that cannot be found is "no input" (66), as for `env`.
fn socket_gid(args: &MigrateArgs, sockets: &[String]) -> Result<u32> {
    if let Some(gid) = args.socket_gid {
        return Ok(gid);
    }
    let mounted = sockets.iter().map(PathBuf::from).find(|p| p.exists());
    let explicit = args.socket.as_deref().or(mounted.as_deref());
    let candidates = socket::candidates(explicit, |k| std::env::var(k).ok());
    let sock = socket::discover(&candidates, Path::new("/etc/group")).inspect_err(|_| {
        printing::status("hint: or give the socket's group id with --socket-gid GID");
    })?;
    Ok(sock.gid)
}

pub fn run(args: MigrateArgs) -> Result<ExitCode> {
    // Never over the compose files being migrated (each is written under its own name; the
    // .env beside them may be updated: it only gains PGID_DOCKER_SOCKET, as `env` does).
    let inputs: Vec<(&'static str, &Path)> = args
        .files
        .iter()
        .map(|p| ("COMPOSE", p.as_path()))
        .collect();
    for path in &args.files {
        if let Some(name) = path.file_name() {
            output::refuse_output_that_is_input(("--output", &args.output.join(name)), &inputs)?;
        }
    }
    let catalog = Catalog::builtin();
    let mut written: BTreeSet<PathBuf> = BTreeSet::new();
    let mut outputs = Vec::new();
    for path in &args.files {
        let text = input::read_text(path, "the compose file", "")?;
        // The .env Compose reads for interpolation: beside the compose file.
        let env_path = path.parent().unwrap_or(Path::new("")).join(".env");
        let env_text = match input::read_text(&env_path, "the .env file", "") {
            Ok(t) => Some(t),
            Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                None
            }
            Err(e) => return Err(e),
        };
        let migration = migrate::migrate(
            catalog,
            path,
            &text,
            env_text.as_deref().map(|t| (env_path.as_path(), t)),
            &|sockets| socket_gid(&args, sockets),
        )?;
        let mut mine: BTreeSet<PathBuf> = BTreeSet::new();
        for f in &migration.files {
            if !mine.insert(f.path.clone()) {
                return Err(Error::Invalid(format!(
                    "the migration of {} would write {} twice in {}; nothing was written (please report this as a bug)",
                    path.display(),
                    f.path.display(),
                    args.output.display()
                )));
            }
            if !written.insert(f.path.clone()) {
                return Err(Error::Invalid(format!(
                    "two of the compose files would both write {} in {}: migrate them one at a time, each into its own directory; nothing was written",
                    f.path.display(),
                    args.output.display()
                )));
            }
        }
        outputs.push(migration);
    }
    // Every file is written before anything is printed: a closed or failing stderr cannot
    // leave the output half-written.
    let mut wrote = Vec::new();
    for migration in &outputs {
        for f in &migration.files {
            let target = args.output.join(&f.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            output::write_file(&target, f.contents.as_bytes())?;
            wrote.push(target);
        }
    }
    for migration in &outputs {
        printing::notices(&migration.notices);
    }
    for target in wrote {
        printing::status(&format!("wrote {}", target.display()));
    }
    Ok(ExitCode::Ok)
}
