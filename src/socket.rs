//! Finding the Docker socket and the group that may open it (for `PGID_DOCKER_SOCKET`).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The .env variable with the socket's group id (the proxy's `user:` reads it).
pub const GID_KEY: &str = "PGID_DOCKER_SOCKET";
/// The .env variable with the socket's path on the host (the proxy's socket mount reads it).
pub const SOCKET_PATH_KEY: &str = "DOCKER_SOCKET_PATH";

/// A place the socket may be, and why we looked there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerSocket {
    pub path: PathBuf,
    pub origin: String,
    pub gid: u32,
    /// From /etc/group, when the group has a name there.
    pub group: Option<String>,
}

/// Where to look, in order: `--socket`, `DOCKER_HOST=unix://...`, the standard path, rootless
/// Docker's `$XDG_RUNTIME_DIR/docker.sock`, Podman's. An explicit `--socket` is the only place.
pub fn candidates(explicit: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Vec<Candidate> {
    if let Some(p) = explicit {
        return vec![Candidate {
            path: p.to_path_buf(),
            origin: "--socket".into(),
        }];
    }
    let mut out = Vec::new();
    if let Some(host) = env("DOCKER_HOST") {
        if let Some(path) = host.strip_prefix("unix://") {
            out.push(Candidate {
                path: path.into(),
                origin: "DOCKER_HOST".into(),
            });
        }
    }
    out.push(Candidate {
        path: "/var/run/docker.sock".into(),
        origin: "the standard path".into(),
    });
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        out.push(Candidate {
            path: Path::new(&dir).join("docker.sock"),
            origin: "rootless Docker ($XDG_RUNTIME_DIR)".into(),
        });
    }
    out.push(Candidate {
        path: "/run/podman/podman.sock".into(),
        origin: "Podman".into(),
    });
    out
}

/// The first candidate that exists, with its group. Errors say where we looked and what to do.
pub fn discover(candidates: &[Candidate], group_file: &Path) -> Result<DockerSocket> {
    for c in candidates {
        let meta = match std::fs::metadata(&c.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::SocketPermission {
                    path: c.path.clone(),
                })
            }
            Err(source) => {
                return Err(Error::Read {
                    path: c.path.clone(),
                    source,
                })
            }
        };
        if !meta.file_type().is_socket() {
            return Err(Error::NotASocket {
                path: c.path.clone(),
            });
        }
        let gid = meta.gid();
        if gid == 0 {
            return Err(Error::RootGroup {
                path: c.path.clone(),
            });
        }
        return Ok(DockerSocket {
            path: c.path.clone(),
            origin: c.origin.clone(),
            gid,
            group: group_name(group_file, gid),
        });
    }
    Err(Error::NoSocket {
        looked: candidates
            .iter()
            .map(|c| format!("{} ({})", c.path.display(), c.origin))
            .collect(),
    })
}

/// The name of `gid` in an /etc/group-format file.
fn group_name(group_file: &Path, gid: u32) -> Option<String> {
    let text = std::fs::read_to_string(group_file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == gid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_order() {
        let env = |k: &str| match k {
            "DOCKER_HOST" => Some("unix:///srv/d.sock".to_string()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_string()),
            _ => None,
        };
        let paths: Vec<PathBuf> = candidates(None, env).into_iter().map(|c| c.path).collect();
        let want = [
            "/srv/d.sock",
            "/var/run/docker.sock",
            "/run/user/1000/docker.sock",
            "/run/podman/podman.sock",
        ];
        assert_eq!(paths, want.map(PathBuf::from));
        let tcp = |k: &str| (k == "DOCKER_HOST").then(|| "tcp://x:2375".to_string());
        assert_eq!(candidates(None, tcp).len(), 2);
        assert_eq!(candidates(Some(Path::new("/x.sock")), env).len(), 1);
    }
}
