//! The real Docker Engine `.ci/engine` starts (moby 20.10, API 1.41) on its own socket, the
//! docker CLI that talks to it, and containers removed when a test ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The engine's socket (`SPG_STATE` moves it, as in `.ci/engine`).
pub fn socket_path() -> PathBuf {
    let base = std::env::var("SPG_STATE").unwrap_or_else(|_| "/var/lib/sockproxy-gen".into());
    Path::new(&base).join("docker/docker.sock")
}

/// The docker CLI.
pub const DOCKER_CLI: &str = "docker";

/// A static busybox image made by `.ci/engine`.
pub const BUSYBOX: &str = "spg/busybox:latest";

/// Where `.ci/setup` installs dockerode (NODE_PATH for `node`).
pub fn node_path() -> PathBuf {
    let dir =
        std::env::var("SPG_NODE_DIR").unwrap_or_else(|_| "/var/lib/sockproxy-gen/node".into());
    let path = Path::new(&dir).join("node_modules");
    assert!(
        path.join("dockerode/package.json").exists(),
        "dockerode is not installed in {}; run `bash .ci/setup`",
        path.display()
    );
    path
}

/// A name no other test or run uses.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `docker -H unix://SOCKET ARGS...` on the engine.
pub fn docker(args: &[&str]) -> Output {
    Command::new(DOCKER_CLI)
        .arg("-H")
        .arg(format!("unix://{}", socket_path().display()))
        .args(args)
        .output()
        .expect("the docker CLI (.ci/setup installs it)")
}

pub struct Engine {
    socket: PathBuf,
}

impl Engine {
    /// The running engine; fails with the fix when it does not answer (never skips).
    pub fn get() -> Engine {
        let out = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
        assert!(
            out.status.success(),
            "the Docker Engine on {} does not answer ({}); run `bash .ci/setup`",
            socket_path().display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Engine {
            socket: socket_path(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `docker run -d --name NAME ARGS...`; the container is removed when the guard drops.
    pub fn container(&self, name: &str, args: &[&str]) -> Removed {
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        let out = docker(&all);
        assert!(
            out.status.success(),
            "docker run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Removed {
            kind: "container",
            name: name.to_string(),
        }
    }
}

/// Removes an engine object (container, network, volume) when dropped.
pub struct Removed {
    pub kind: &'static str,
    pub name: String,
}

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = match self.kind {
            "container" => docker(&["rm", "-f", "-v", &self.name]),
            kind => docker(&[kind, "rm", &self.name]),
        };
    }
}
