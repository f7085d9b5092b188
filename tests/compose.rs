//! `sockproxy-gen compose`: every output passes Debian's `docker-compose config` (1.29) with
//! PGID_DOCKER_SOCKET set, fails with our message without it, and is snapshotted.

use std::path::Path;

use crate::common;
use predicates::prelude::*;
use sockproxy_gen::preset;

fn compose_yaml(args: &[&str]) -> String {
    let out = common::cli().arg("compose").args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// `docker-compose config` in an empty project directory (no stray .env), with or without the
/// group id in the environment.
fn compose_config(dir: &Path, file: &Path, pgid: Option<&str>) -> std::process::Output {
    let mut c = std::process::Command::new("docker-compose");
    c.arg("--project-directory")
        .arg(dir)
        .arg("-f")
        .arg(file)
        .arg("config")
        .env_remove("PGID_DOCKER_SOCKET");
    if let Some(g) = pgid {
        c.env("PGID_DOCKER_SOCKET", g);
    }
    c.output()
        .expect("docker-compose (Debian's, 1.29) is installed by .ci/setup")
}

fn cases() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for name in preset::builtin_names() {
        out.push((
            format!("preset-{name}"),
            vec!["--preset".into(), name.into()],
        ));
        out.push((
            format!("swarm-preset-{name}"),
            vec!["--preset".into(), name.into(), "--swarm".into()],
        ));
    }
    let multi: Vec<String> = [
        "--preset", "traefik", "--preset", "homepage", "--preset", "dozzle",
    ]
    .map(String::from)
    .to_vec();
    out.push(("multi".into(), multi.clone()));
    out.push((
        "swarm-multi".into(),
        [multi, vec!["--swarm".into()]].concat(),
    ));
    out.push((
        "published".into(),
        ["--preset", "traefik", "--publish", "--port", "12375"]
            .map(String::from)
            .to_vec(),
    ));
    out.push((
        "env-flags".into(),
        ["--flag", "CONTAINERS=1"].map(String::from).to_vec(),
    ));
    out
}

#[test]
fn every_output_validates_with_docker_compose_and_is_snapshotted() {
    let mut checked = 0;
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "two cases share a snapshot name");
    for (name, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let name = name.as_str();
        let yaml = compose_yaml(&args);
        common::snapshot(&format!("compose-{name}"), &yaml);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, &yaml).unwrap();
        let ok = compose_config(dir.path(), &file, Some("4242"));
        let stdout = String::from_utf8_lossy(&ok.stdout);
        assert!(
            ok.status.success(),
            "{name}: docker-compose config failed:\n{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(stdout.contains("user: haproxy:4242"), "{name}: {stdout}");
        assert!(
            stdout.contains("read_only: true") && stdout.contains("internal: true"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains("/var/run/docker.sock:/var/run/docker.sock:ro"),
            "{name}: {stdout}"
        );
        assert!(!stdout.contains("privileged"), "{name}");
        let missing = compose_config(dir.path(), &file, None);
        assert!(
            !missing.status.success(),
            "{name}: must fail without PGID_DOCKER_SOCKET"
        );
        assert!(
            String::from_utf8_lossy(&missing.stderr).contains("run sockproxy-gen env"),
            "{name}: {}",
            String::from_utf8_lossy(&missing.stderr)
        );
        checked += 1;
    }
    println!("docker-compose config: {checked} compose outputs valid with PGID_DOCKER_SOCKET, rejected without it");
}

#[test]
fn client_side_and_placement() {
    let traefik = compose_yaml(&["--preset", "traefik"]);
    assert!(traefik.contains("--providers.docker.endpoint=tcp://sockproxy:2375"));
    assert!(
        !traefik.contains("ports:"),
        "no published port unless asked"
    );
    let swarm = compose_yaml(&["--preset", "traefik-swarm", "--swarm"]);
    assert!(swarm.contains("--providers.swarm.endpoint=tcp://sockproxy:2375"));
    assert!(
        swarm.contains("node.role == manager")
            && swarm.contains("attachable: true")
            && swarm.contains("driver: overlay")
    );
    // A client that needs no Swarm API runs one proxy per node.
    assert!(compose_yaml(&["--preset", "dozzle", "--swarm"]).contains("mode: global"));
    let multi = compose_yaml(&[
        "--preset", "traefik", "--preset", "glance", "--port", "3000",
    ]);
    assert!(
        multi.contains("tcp://sockproxy:3000")
            && multi.contains("DOCKER_HOST: \"tcp://sockproxy:3001\"")
    );
    assert!(multi.contains(
        "sockproxy-gen render --preset traefik --preset glance --port 3000 -o ./haproxy.cfg"
    ));
    let published = compose_yaml(&["--preset", "traefik", "--publish"]);
    assert!(
        published.contains("\"127.0.0.1:2375:2375\""),
        "loopback only"
    );
}

#[test]
fn bad_compose_input() {
    let mut c = common::cli();
    c.args(["compose", "--preset", "traefik", "--swarm", "--publish"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("--publish with --swarm"));
    let mut c = common::cli();
    c.args(["compose", "--preset", "traefik", "--service", "my proxy"])
        .assert()
        .code(64);
    let mut c = common::cli();
    c.args(["compose", "--preset", "treafik"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("did you mean `traefik`?"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("compose.yaml");
    let mut c = common::cli();
    c.args([
        "compose",
        "--preset",
        "traefik",
        "-o",
        out.to_str().unwrap(),
    ])
    .assert()
    .success()
    .stdout("");
    assert!(std::fs::read_to_string(&out).unwrap().contains("services:"));
}
