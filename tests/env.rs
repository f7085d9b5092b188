//! `sockproxy-gen env`: socket discovery, the group id, and a .env merge that keeps every
//! other byte. Real unix sockets, real file permissions (an unprivileged user via setpriv).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::common;
use predicates::prelude::*;

fn cli() -> assert_cmd::Command {
    let mut c = common::cli();
    // Discovery must only find what a test sets up.
    c.env_remove("DOCKER_HOST").env_remove("XDG_RUNTIME_DIR");
    c
}

/// A listening unix socket owned by root:`gid`, mode 0660, like the Docker daemon's.
fn socket(dir: &Path, gid: u32) -> (UnixListener, PathBuf) {
    let path = dir.join("docker.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::os::unix::fs::chown(&path, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).unwrap();
    (listener, path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn merge_changes_only_that_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = socket(dir.path(), 4242);
    let env = dir.path().join(".env");
    let before = "# infra settings\r\nTZ=Europe/Paris\r\n\r\n# written by sockproxy-gen env\r\nPGID_DOCKER_SOCKET=998\r\nDOMAIN=example.org # main\r\n";
    std::fs::write(&env, before).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
    cli()
        .args(["env", "--socket", s(&sock), "--env-file", s(&env)])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("wrote PGID_DOCKER_SOCKET=4242")
                .and(predicate::str::contains("was PGID_DOCKER_SOCKET=998")),
        );
    let after = std::fs::read_to_string(&env).unwrap();
    assert_eq!(
        after,
        before.replace("PGID_DOCKER_SOCKET=998", "PGID_DOCKER_SOCKET=4242")
    );
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file keeps its mode"
    );
    // Run again: nothing to do, nothing rewritten.
    cli()
        .args(["env", "--socket", s(&sock), "--env-file", s(&env)])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "already has PGID_DOCKER_SOCKET=4242",
        ));
    assert_eq!(std::fs::read_to_string(&env).unwrap(), after);
}

#[test]
fn creates_or_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = socket(dir.path(), 4243);
    let env = dir.path().join("new.env");
    cli()
        .args(["env", "--socket", s(&sock), "--env-file", s(&env)])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "PGID_DOCKER_SOCKET=4243\n"
    );
    let other = dir.path().join("other.env");
    std::fs::write(&other, "A=1\r\nB=2").unwrap();
    cli()
        .args(["env", "--socket", s(&sock), "--env-file", s(&other)])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "A=1\r\nB=2\r\nPGID_DOCKER_SOCKET=4243\r\n"
    );
}

#[test]
fn check_and_print() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = socket(dir.path(), 4244);
    let env = dir.path().join(".env");
    std::fs::write(&env, "PGID_DOCKER_SOCKET=1\n").unwrap();
    cli()
        .args([
            "env",
            "--check",
            "--socket",
            s(&sock),
            "--env-file",
            s(&env),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is stale: PGID_DOCKER_SOCKET=1"));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "PGID_DOCKER_SOCKET=1\n",
        "--check changes nothing"
    );
    cli()
        .args([
            "env",
            "--check",
            "--socket",
            s(&sock),
            "--env-file",
            s(&dir.path().join("missing.env")),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not set"));
    cli()
        .args(["env", "--socket", s(&sock), "--env-file", s(&env)])
        .assert()
        .success();
    cli()
        .args([
            "env",
            "--check",
            "--socket",
            s(&sock),
            "--env-file",
            s(&env),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("is up to date"));
    cli()
        .args(["env", "--print", "--socket", s(&sock)])
        .assert()
        .success()
        .stdout("PGID_DOCKER_SOCKET=4244\n");
}

#[test]
fn discovery_through_docker_host_and_xdg_runtime_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = socket(dir.path(), 4245);
    cli()
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["env", "--print"])
        .assert()
        .success()
        .stdout("PGID_DOCKER_SOCKET=4245\n")
        .stderr(predicate::str::contains("(DOCKER_HOST)"));
    cli()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(["env", "--print"])
        .assert()
        .success()
        .stdout("PGID_DOCKER_SOCKET=4245\n")
        .stderr(predicate::str::contains("rootless Docker"));
}

#[test]
fn errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing there: say where we looked.
    let missing = dir.path().join("none.sock");
    cli()
        .args(["env", "--socket", s(&missing)])
        .assert()
        .code(66)
        .stderr(predicate::str::contains(format!(
            "looked at: {} (--socket); pass --socket PATH",
            missing.display()
        )));
    cli()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(["env", "--print"])
        .assert()
        .stderr(predicate::str::contains(
            "docker.sock (rootless Docker ($XDG_RUNTIME_DIR))",
        ));
    // A regular file.
    let file = dir.path().join("file.sock");
    std::fs::write(&file, "").unwrap();
    cli()
        .args(["env", "--socket", s(&file)])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("is not a socket"));
    // Group 0: explain what it would mean for the container.
    let root_dir = tempfile::tempdir().unwrap();
    let (_l, root_sock) = socket(root_dir.path(), 0);
    cli()
        .args(["env", "--socket", s(&root_sock)])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("belongs to group 0 (root)")
                .and(predicate::str::contains("chgrp docker")),
        );
    // Permission denied: an unprivileged user cannot look into a 0700 directory.
    let private = tempfile::tempdir().unwrap();
    let (_l2, hidden) = socket(private.path(), 4246);
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("sockproxy-gen"))
        .args(["env", "--print", "--socket", s(&hidden)])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied looking at"));
}

#[test]
fn unwritable_directory_leaves_the_file_intact() {
    // Root ignores directory permissions, so the write is attempted as `nobody`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_l, sock) = socket(dir.path(), 4247);
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let env = dir.path().join(".env");
    let before = "# keep me\nPGID_DOCKER_SOCKET=1\n";
    std::fs::write(&env, before).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("sockproxy-gen"))
        .args(["env", "--socket", s(&sock), "--env-file", s(&env)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(73), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}", env.display()))
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temp file left: {names:?}");
}
