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
        .env_remove("PGID_DOCKER_SOCKET")
        .env_remove("DOCKER_SOCKET_PATH");
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
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    out.push(("multi".into(), multi.clone()));
    out.push((
        "swarm-multi".into(),
        [multi.clone(), vec!["--swarm".into()]].concat(),
    ));
    out.push((
        "multi-tcp".into(),
        [multi.clone(), vec!["--tcp".into()]].concat(),
    ));
    out.push((
        "multi-one-tcp-client".into(),
        [multi.clone(), strings(&["--tcp-client", "dozzle"])].concat(),
    ));
    out.push((
        "swarm-multi-tcp".into(),
        [multi, strings(&["--tcp", "--swarm"])].concat(),
    ));
    out.push((
        "isolated-one".into(),
        strings(&["--preset", "traefik", "--isolate", "--client-maxconn", "8"]),
    ));
    out.push((
        "swarm-isolated-managers".into(),
        strings(&[
            "--preset",
            "traefik-swarm",
            "--preset",
            "homepage-swarm",
            "--swarm",
        ]),
    ));
    out.push((
        "published-one-of-two".into(),
        strings(&[
            "--preset",
            "traefik",
            "--preset",
            "homepage",
            "--tcp-client",
            "homepage",
            "--publish",
        ]),
    ));
    out.push((
        "config-elsewhere".into(),
        strings(&[
            "--preset",
            "glance",
            "--config",
            "/etc/sockproxy/proxy.cfg",
            "--socket",
            "/run/user/1000/docker.sock",
        ]),
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
        // A network only where a TCP client or Swarm needs one; then internal.
        assert!(
            stdout.contains("read_only: true")
                && (stdout.contains("internal: true") != stdout.contains("network_mode: none")),
            "{name}: {stdout}"
        );
        let socket = if name == "config-elsewhere" {
            "/run/user/1000/docker.sock"
        } else {
            "/var/run/docker.sock"
        };
        assert!(
            stdout.contains(&format!("{socket}:/var/run/docker.sock:ro")),
            "{name}: {stdout}"
        );
        assert!(!stdout.contains("privileged"), "{name}");
        // docker stack deploy (CLI 20.10) reads any `-` in `${VAR:?message}` as a default.
        let user = yaml
            .lines()
            .find(|l| l.contains("${PGID_DOCKER_SOCKET:?"))
            .unwrap();
        let message = user.split(":?").nth(1).unwrap();
        assert!(!message.contains('-'), "{name}: {user}");
        let missing = compose_config(dir.path(), &file, None);
        assert!(
            !missing.status.success(),
            "{name}: must fail without PGID_DOCKER_SOCKET"
        );
        assert!(
            String::from_utf8_lossy(&missing.stderr)
                .contains("the Docker socket group id is not set"),
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
        "--preset", "traefik", "--preset", "glance", "--port", "3000", "--tcp",
    ]);
    assert!(
        multi.contains("tcp://sockproxy:3000")
            && multi.contains("DOCKER_HOST: \"tcp://sockproxy:3001\"")
    );
    assert!(multi.contains(
        "sockproxy-gen render --preset traefik --preset glance --tcp --port 3000 -o ./sockproxy/haproxy.cfg"
    ));
    let published = compose_yaml(&["--preset", "traefik", "--publish"]);
    assert!(
        published.contains("\"127.0.0.1:2375:2375\""),
        "loopback only"
    );
    // Docker publishes no port of an internal network: the proxy is also on one of its own.
    assert!(
        published.contains("- sockproxy-published\n")
            && published.contains("  sockproxy-published:\n    # The proxy alone")
    );
    // The config's directory is mounted, so a reload reads a re-rendered file.
    assert!(
        traefik.contains("- ./sockproxy:/usr/local/etc/haproxy:ro"),
        "{traefik}"
    );
    let elsewhere = compose_yaml(&["--preset", "traefik", "--config", "/srv/proxy/my.cfg"]);
    assert!(
        elsewhere.contains("- /srv/proxy:/usr/local/etc/haproxy:ro")
            && elsewhere.contains(r#"command: ["haproxy", "-f", "/usr/local/etc/haproxy/my.cfg"]"#),
        "{elsewhere}"
    );
}

/// Several clients: each on its own socket and volume, the proxy without a network.
#[test]
fn isolation_is_the_default_with_several_clients() {
    let yaml = compose_yaml(&[
        "--preset",
        "traefik",
        "--preset",
        "homepage",
        "--preset",
        "watchtower",
    ]);
    assert!(
        yaml.contains("network_mode: none") && !yaml.contains("networks:"),
        "{yaml}"
    );
    for client in ["traefik", "homepage", "watchtower"] {
        assert!(
            yaml.contains(&format!("- sockproxy-{client}:/run/sockproxy/{client}\n")),
            "{yaml}"
        );
        assert!(
            yaml.contains(&format!("- sockproxy-{client}:/var/run:ro\n")),
            "{yaml}"
        );
        assert_eq!(
            yaml.matches(&format!("sockproxy-{client}:")).count(),
            3,
            "proxy, client, definition: {yaml}"
        );
    }
    assert!(yaml.contains("--providers.docker.endpoint=unix:///var/run/docker.sock"));
    assert!(yaml.contains("DOCKER_HOST: \"unix:///var/run/docker.sock\""));
    assert!(
        yaml.contains("config/docker.yaml: socket: /var/run/docker.sock"),
        "the socket note: {yaml}"
    );
    assert!(yaml.contains(r#"o: "uid=99,mode=0755,size=64k""#));
    // The config render must write: the same isolation, and the per-client limit.
    let cfg = common::cli()
        .args([
            "render",
            "--preset",
            "traefik",
            "--preset",
            "homepage",
            "--client-maxconn",
            "5",
        ])
        .assert()
        .success();
    let cfg = String::from_utf8(cfg.get_output().stdout.clone()).unwrap();
    assert!(
        cfg.contains("bind unix@/run/sockproxy/traefik/docker.sock mode 666 maxconn 5\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("bind unix@/run/sockproxy/homepage/docker.sock mode 666 maxconn 5\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("    maxconn 26\n"),
        "2 x 5 + 16 for the health frontend: {cfg}"
    );
    // One client on TCP: the proxy keeps the internal network for it alone.
    let mixed = compose_yaml(&[
        "--preset",
        "traefik",
        "--preset",
        "homepage",
        "--tcp-client",
        "homepage",
    ]);
    assert!(
        !mixed.contains("network_mode") && mixed.contains("internal: true"),
        "{mixed}"
    );
    assert!(
        mixed.contains("DOCKER_HOST: \"tcp://sockproxy:2376\"")
            && mixed.contains("sockproxy-traefik:/var/run:ro"),
        "{mixed}"
    );
    assert!(!mixed.contains("sockproxy-homepage"), "{mixed}");
    // Swarm: node-local volumes; the proxy on every node a client may run on.
    let swarm = compose_yaml(&["--preset", "traefik-swarm", "--preset", "dozzle", "--swarm"]);
    assert!(
        swarm.contains("mode: global") && !swarm.contains("replicas: 1"),
        "{swarm}"
    );
    assert!(swarm.contains("Same node as a sockproxy task"), "{swarm}");
    let managers = compose_yaml(&[
        "--preset",
        "traefik-swarm",
        "--preset",
        "homepage-swarm",
        "--swarm",
    ]);
    assert!(managers.contains("mode: global\n      placement:\n        constraints:\n          - node.role == manager"), "{managers}");
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
    // The proxy's service name taken by a client's service: one YAML key for two services.
    let mut c = common::cli();
    c.args(["compose", "--preset", "traefik", "--service", "traefik"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "--service traefik: client traefik gets a service of that name",
        ));
    // Isolation and its options.
    for (args, message) in [
        (
            &["--preset", "traefik", "--preset", "dozzle", "--publish"][..],
            "every client is on its own socket",
        ),
        (
            &["--preset", "traefik", "--tcp-client", "traefk"],
            "did you mean `traefik`?",
        ),
        (
            &["--preset", "traefik", "--client-maxconn", "0"],
            "--client-maxconn 0",
        ),
        (
            &["--preset", "traefik", "--config", "haproxy.cfg"],
            "a directory of its own",
        ),
    ] {
        let mut c = common::cli();
        c.arg("compose")
            .args(args)
            .assert()
            .code(64)
            .stderr(predicate::str::contains(message));
    }
    let mut c = common::cli();
    c.args([
        "render",
        "--preset",
        "traefik",
        "--preset",
        "dozzle",
        "--listen",
        "127.0.0.1",
    ])
    .assert()
    .code(64)
    .stderr(predicate::str::contains("add --tcp"));
    let mut c = common::cli();
    c.args(["render", "--preset", "traefik", "--tcp", "--isolate"])
        .assert()
        .code(64);
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
