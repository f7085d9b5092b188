//! `sockproxy-gen migrate`: compose files with a Tecnativa-style socket proxy in, a directory
//! with the migrated compose file, haproxy.cfg, .env and MIGRATION.md out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::{input, lint, migrate, output, socket, Error, Result};

use crate::cli::args::MigrateArgs;
use crate::cli::printing;

/// The socket's group: `--socket-gid`, else the group of the socket the proxy mounts (when it
/// is on this machine), else the socket `env` would find.
fn socket_gid(args: &MigrateArgs, path: &Path, text: &str) -> Result<u32> {
    if let Some(gid) = args.socket_gid {
        return Ok(gid);
    }
    let (proxies, _) = lint::compose::socket_proxies(path, text)?;
    let mounted = proxies
        .iter()
        .filter_map(|p| p.socket.as_deref())
        .map(PathBuf::from)
        .find(|p| p.exists());
    let candidates = socket::candidates(mounted.as_deref(), |k| std::env::var(k).ok());
    let sock = socket::discover(&candidates, Path::new("/etc/group")).map_err(|e| {
        Error::Invalid(format!(
            "{e}; or give the socket's group id with --socket-gid GID"
        ))
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
        let gid = socket_gid(&args, path, &text)?;
        let migration = migrate::migrate(
            catalog,
            path,
            &text,
            env_text.as_deref().map(|t| (env_path.as_path(), t)),
            gid,
        )?;
        for f in &migration.files {
            if !written.insert(f.path.clone()) {
                return Err(Error::Invalid(format!(
                    "two of the compose files would both write {} in {}: migrate them one at a time, each into its own directory",
                    f.path.display(),
                    args.output.display()
                )));
            }
        }
        printing::notices(&migration.notices);
        outputs.push(migration);
    }
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
            printing::status(&format!("wrote {}", target.display()));
        }
    }
    Ok(ExitCode::Ok)
}
