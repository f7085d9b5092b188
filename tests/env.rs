//! `sockproxy-gen env`: socket discovery, the group id, and a .env merge that keeps every
//! other byte. Real unix sockets, real file permissions (an unprivileged user via setpriv).

use std::os::unix::fs::PermissionsExt;

use crate::common::{self, cli, docker_socket, env_command, path_arg};
use predicates::prelude::*;

#[test]
fn merge_changes_only_that_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = docker_socket(dir.path(), 4242);
    let env = dir.path().join(".env");
    let before = "# infra settings\r\nTZ=Europe/Paris\r\n\r\n# written by sockproxy-gen env\r\nPGID_DOCKER_SOCKET=998\r\nDOMAIN=example.org # main\r\n";
    std::fs::write(&env, before).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
    env_command(&sock, &env).assert().success().stderr(
        predicate::str::contains("wrote PGID_DOCKER_SOCKET=4242")
            .and(predicate::str::contains("was PGID_DOCKER_SOCKET=998")),
    );
    let after = std::fs::read_to_string(&env).unwrap();
    // The socket's path is appended (compose mounts it), with the file's line ending.
    assert_eq!(
        after,
        format!(
            "{}DOCKER_SOCKET_PATH={}\r\n",
            before.replace("PGID_DOCKER_SOCKET=998", "PGID_DOCKER_SOCKET=4242"),
            sock.display()
        )
    );
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file keeps its mode"
    );
    // Run again: nothing to do, nothing rewritten.
    env_command(&sock, &env)
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
    let (_l, sock) = docker_socket(dir.path(), 4243);
    let env = dir.path().join("new.env");
    env_command(&sock, &env).assert().success();
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!(
            "PGID_DOCKER_SOCKET=4243\nDOCKER_SOCKET_PATH={}\n",
            sock.display()
        )
    );
    let other = dir.path().join("other.env");
    std::fs::write(&other, "A=1\r\nB=2").unwrap();
    env_command(&sock, &other).assert().success();
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        format!(
            "A=1\r\nB=2\r\nPGID_DOCKER_SOCKET=4243\r\nDOCKER_SOCKET_PATH={}\r\n",
            sock.display()
        )
    );
}

#[test]
fn check_and_print() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = docker_socket(dir.path(), 4244);
    let env = dir.path().join(".env");
    std::fs::write(&env, "PGID_DOCKER_SOCKET=1\n").unwrap();
    env_command(&sock, &env)
        .arg("--check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is stale: PGID_DOCKER_SOCKET=1, DOCKER_SOCKET_PATH not set",
        ));
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
            path_arg(&sock),
            "--env-file",
            path_arg(&dir.path().join("missing.env")),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not set"));
    env_command(&sock, &env).assert().success();
    env_command(&sock, &env)
        .arg("--check")
        .assert()
        .success()
        .stderr(predicate::str::contains("is up to date"));
    cli()
        .args(["env", "--print", "--socket", path_arg(&sock)])
        .assert()
        .success()
        .stdout(format!(
            "PGID_DOCKER_SOCKET=4244\nDOCKER_SOCKET_PATH={}\n",
            sock.display()
        ));
    // A socket that moved: the path alone is stale.
    std::fs::create_dir(dir.path().join("moved")).unwrap();
    let (_l2, moved) = docker_socket(&dir.path().join("moved"), 4244);
    env_command(&moved, &env)
        .arg("--check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "is stale: DOCKER_SOCKET_PATH={}",
            sock.display()
        )));
}

#[test]
fn discovery_through_docker_host_and_xdg_runtime_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = docker_socket(dir.path(), 4245);
    cli()
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["env", "--print"])
        .assert()
        .success()
        .stdout(format!(
            "PGID_DOCKER_SOCKET=4245\nDOCKER_SOCKET_PATH={}\n",
            sock.display()
        ))
        .stderr(predicate::str::contains("(DOCKER_HOST)"));
    cli()
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(["env", "--print"])
        .assert()
        .success()
        .stdout(format!(
            "PGID_DOCKER_SOCKET=4245\nDOCKER_SOCKET_PATH={}\n",
            sock.display()
        ))
        .stderr(predicate::str::contains("rootless Docker"));
}

#[test]
fn errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing there: say where we looked.
    let missing = dir.path().join("none.sock");
    cli()
        .args(["env", "--socket", path_arg(&missing)])
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
        .args(["env", "--socket", path_arg(&file)])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("is not a socket"));
    // Group 0: explain what it would mean for the container.
    let root_dir = tempfile::tempdir().unwrap();
    let (_l, root_sock) = docker_socket(root_dir.path(), 0);
    cli()
        .args(["env", "--socket", path_arg(&root_sock)])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("belongs to group 0 (root)")
                .and(predicate::str::contains("chgrp docker")),
        );
    // Permission denied: an unprivileged user cannot look into a 0700 directory.
    let private = tempfile::tempdir().unwrap();
    let (_l2, hidden) = docker_socket(private.path(), 4246);
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .args(["env", "--print", "--socket", path_arg(&hidden)])
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
    let (_l, sock) = docker_socket(dir.path(), 4247);
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let env = dir.path().join(".env");
    let before = "# keep me\nPGID_DOCKER_SOCKET=1\n";
    std::fs::write(&env, before).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .args([
            "env",
            "--socket",
            path_arg(&sock),
            "--env-file",
            path_arg(&env),
        ])
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

#[test]
fn check_reads_the_value_as_compose_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = docker_socket(dir.path(), 4248);
    let env = dir.path().join(".env");
    // Quoted, with an inline comment, after a multi-line value that mentions the key.
    let before = format!(
        "NOTE='\nPGID_DOCKER_SOCKET=1\n'\nexport PGID_DOCKER_SOCKET=\"4248\" # socket group\nDOCKER_SOCKET_PATH='{}'\n",
        sock.display()
    );
    std::fs::write(&env, &before).unwrap();
    env_command(&sock, &env)
        .arg("--check")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "is up to date: PGID_DOCKER_SOCKET=4248",
        ));
    env_command(&sock, &env)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "already has PGID_DOCKER_SOCKET=4248",
        ));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        before,
        "nothing rewritten"
    );
    // A file Compose cannot read is not edited: exit 65 at its line.
    let broken = dir.path().join("broken.env");
    std::fs::write(&broken, "A=1\nB=\"open\n").unwrap();
    env_command(&sock, &broken)
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{}:2:3: unterminated quoted value",
            broken.display()
        )));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "A=1\nB=\"open\n");
}

#[test]
fn a_bom_file_gets_no_duplicate_and_render_reads_what_env_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, sock) = docker_socket(dir.path(), 4249);
    let env = dir.path().join(".env");
    let before = "\u{FEFF}PGID_DOCKER_SOCKET=998\r\n# app\r\nDOMAIN=example.org # main\r\nPOSTGRES_PASSWORD='s3cr3t # x'\r\n\r\n# proxy flags\r\nCONTAINERS=1 # read-only\r\nexport IMAGES=\"1\"\r\n";
    std::fs::write(&env, before).unwrap();
    env_command(&sock, &env)
        .assert()
        .success()
        .stderr(predicate::str::contains("was PGID_DOCKER_SOCKET=998"));
    let after = std::fs::read_to_string(&env).unwrap();
    assert_eq!(
        after,
        format!(
            "{}DOCKER_SOCKET_PATH={}\r\n",
            before.replace("PGID_DOCKER_SOCKET=998", "PGID_DOCKER_SOCKET=4249"),
            sock.display()
        ),
        "the BOM's first line is updated in place, not appended again"
    );
    let out = cli()
        .args(["render", "--env-file", path_arg(&env)])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stdout.contains("allow:GET:/containers/json"),
        "CONTAINERS=1"
    );
    assert!(stdout.contains("allow:GET:/images/json"), "IMAGES=\"1\"");
    assert!(
        stderr.contains("not flags, so ignored: DOMAIN, POSTGRES_PASSWORD")
            && !stderr.contains("s3cr3t"),
        "{stderr}"
    );
}
