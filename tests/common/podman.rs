//! podman as the Docker-API daemon, and the docker CLI as its client.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::Running;

pub const IMAGE: &str = "localhost/spg-busybox:latest";

pub fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("podman is installed (.ci/run installs it)")
}

/// Sorted lines describing podman's containers (with their state), images, volumes and
/// networks (with their labels).
pub fn state() -> Vec<String> {
    let mut lines = Vec::new();
    for args in [
        &[
            "ps",
            "-a",
            "--format",
            "container {{.ID}} {{.Names}} {{.State}} {{.Labels}}",
        ][..],
        &[
            "images",
            "-a",
            "--format",
            "image {{.ID}} {{.Repository}}:{{.Tag}}",
        ],
        &["volume", "ls", "--format", "volume {{.Name}} {{.Labels}}"],
        &["network", "ls", "--format", "network {{.Name}} {{.Labels}}"],
    ] {
        let out = podman(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
    }
    lines.sort();
    lines
}

/// A tiny image made from Debian's static busybox, so no registry is needed.
pub fn ensure_image() {
    if podman(&["image", "exists", IMAGE]).status.success() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root/bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.path().join("root/bin/busybox"))
        .expect("/bin/busybox (Debian busybox-static)");
    let tar = dir.path().join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(dir.path().join("root"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = podman(&["import", tar.to_str().unwrap(), IMAGE]);
    assert!(
        out.status.success(),
        "podman import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `podman system service` serving the Docker-compatible API on `socket`.
pub fn start_podman(socket: &Path) -> Running {
    let child = Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start podman system service");
    let running = Running { child };
    super::wait_for_path(socket);
    running
}

pub fn docker(port: u16, config_dir: &Path, args: &[&str]) -> Output {
    Command::new("docker")
        .arg("-H")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(args)
        .env("DOCKER_CONFIG", config_dir)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_API_VERSION")
        .output()
        .expect("the docker CLI is installed")
}
