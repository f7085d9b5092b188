//! The real Docker Engine that `.ci/engine` starts (moby 20.10 on its own socket, a one-node
//! Swarm, Compose v2 and 1.29, local images). A test that needs it fails with the fix when it is
//! not running; it never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The engine's socket (`SPG_STATE` moves it, for `.ci/engine` and the tests alike).
pub fn socket() -> PathBuf {
    let base = std::env::var("SPG_STATE").unwrap_or_else(|_| "/var/lib/sockproxy-gen".to_string());
    let sock = Path::new(&base).join("docker/docker.sock");
    let up = Command::new("docker")
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        up,
        "the Docker Engine on {} is not running: run `bash .ci/setup` (it starts it)",
        sock.display()
    );
    sock
}

/// The HAProxy images `.ci/engine` builds: the compose default's tag (3.2), and 2.6.
pub const HAPROXY_3_2: &str = "haproxy:3.2-alpine";
pub const HAPROXY_2_6: &str = "spg/haproxy:2.6";
/// Static busybox: something to create, start and inspect.
pub const BUSYBOX: &str = "spg/busybox:latest";
/// The docker CLI, python3 with docker-py, curl and busybox.
pub const CLIENT: &str = "spg/client:latest";
/// Real Traefik 3.7.
pub const TRAEFIK: &str = "spg/traefik:3.7";

/// A name no other test (or earlier run) uses: containers, networks, volumes, projects.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A command against the engine: `program` (docker, docker-compose) with DOCKER_HOST set and
/// nothing from the caller's Docker environment.
pub fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("DOCKER_HOST", format!("unix://{}", socket().display()))
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE");
    c
}

/// `docker ARGS` against the engine.
pub fn docker(args: &[&str]) -> Output {
    command("docker")
        .args(args)
        .output()
        .expect("the docker CLI is installed")
}

/// `docker ARGS`, which must succeed; its stdout, trimmed.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The engine's state that a harmless command must leave as it was: the containers (with their
/// state), volumes and networks labelled `label` (tests run side by side, so only a test's own
/// objects are stable), every image, and the Swarm's services.
pub fn state(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut lines = Vec::new();
    for args in [
        [
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            "container {{.ID}} {{.Names}} {{.State}} {{.Labels}}",
        ]
        .as_slice(),
        &[
            "volume",
            "ls",
            "--filter",
            &filter,
            "--format",
            "volume {{.Name}} {{.Labels}}",
        ],
        &[
            "network",
            "ls",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            "network {{.ID}} {{.Name}} {{.Labels}}",
        ],
        &[
            "images",
            "-a",
            "--no-trunc",
            "--format",
            "image {{.ID}} {{.Repository}}:{{.Tag}}",
        ],
        &["service", "ls", "--format", "service {{.ID}} {{.Name}}"],
    ] {
        lines.extend(docker_ok(args).lines().map(String::from));
    }
    lines.sort();
    lines
}

/// Which Compose runs a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compose {
    /// `docker compose` (v2.26, the CLI plugin): what the README tells users to type.
    V2,
    /// Debian 12's `docker-compose` 1.29.
    V1,
}

/// A compose project in its own directory, with a name no one else uses; `down -v` on drop.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub name: String,
    pub compose: Compose,
}

impl Project {
    pub fn new(compose: Compose) -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
            name: unique("spg"),
            compose,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    /// `docker compose -p NAME ARGS` (or `docker-compose`) in the project's directory.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = match self.compose {
            Compose::V2 => {
                let mut c = command("docker");
                c.arg("compose");
                c
            }
            Compose::V1 => command("docker-compose"),
        };
        c.current_dir(self.dir.path())
            .args(["-p", &self.name])
            .args(args)
            .output()
            .expect("docker compose is installed (.ci/engine)")
    }

    /// `run`, which must succeed; its stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "compose {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The container of `service` (the first replica).
    pub fn container(&self, service: &str) -> String {
        let label = format!("label=com.docker.compose.project={}", self.name);
        let svc = format!("label=com.docker.compose.service={service}");
        let id = docker_ok(&["ps", "-aq", "--filter", &label, "--filter", &svc]);
        assert!(!id.is_empty(), "no container for service {service}");
        id.lines().next().unwrap().to_string()
    }

    /// Waits until `service`'s health check passes (its state on timeout).
    pub fn wait_healthy(&self, service: &str, timeout: Duration) {
        wait_healthy(&self.container(service), timeout);
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "--remove-orphans", "-t", "1"]);
    }
}

/// Waits until the container's health check passes; panics with its health log otherwise.
pub fn wait_healthy(container: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let status = docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", container]);
        if status == "healthy" {
            return;
        }
        if start.elapsed() > timeout {
            let log = docker(&["inspect", "-f", "{{json .State.Health}}", container]);
            let logs = docker(&["logs", "--tail", "20", container]);
            panic!(
                "{container} is {status} after {timeout:?}: {}\nlogs: {}{}",
                String::from_utf8_lossy(&log.stdout),
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `docker exec CONTAINER ARGS`.
pub fn exec(container: &str, args: &[&str]) -> Output {
    let mut all = vec!["exec", container];
    all.extend_from_slice(args);
    docker(&all)
}

/// The socket's group id, as `sockproxy-gen env` would write it.
pub fn socket_gid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(socket()).unwrap().gid()
}
