//! The generated files on the real Docker Engine, as a user runs them: `env`, `render -o`,
//! `compose`, then `docker compose up -d` (Compose v2, and Debian's 1.29). Each client's service
//! is swapped for a client image (the docker CLI, docker-py) by an override file, the way a user
//! merges the generated keys into their own service.

use std::time::Duration;

use crate::common::engine::{self, Compose, Project};
use crate::common::{cli, path_arg};

/// One stack to bring up.
struct Case {
    compose: Compose,
    /// `render`/`compose` policy arguments (`--preset X`, `--flag K=V`).
    policy: &'static [&'static str],
    /// The HAProxy image (`compose --image`).
    image: &'static str,
    /// A call each client may make, and one it may not (docker CLI arguments).
    allowed: &'static [&'static str],
    denied: &'static [&'static str],
    /// Flag sets generate no client service: the client a user would add, on the proxy's network.
    own_client: bool,
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The generated files in the project's directory, by the README's commands.
fn generate(project: &Project, case: &Case) {
    let sock = engine::socket();
    let dir = project.dir.path();
    cli()
        .current_dir(dir)
        .args(["env", "--socket", path_arg(&sock)])
        .assert()
        .success();
    let mut render = cli();
    render
        .current_dir(dir)
        .args(["render", "-o", "haproxy.cfg"])
        .args(case.policy);
    render.assert().success();
    let mut compose = cli();
    compose
        .current_dir(dir)
        .args(["compose", "-o", "compose.yaml", "--image", case.image])
        .args(["--socket", path_arg(&sock)])
        .args(case.policy);
    compose.assert().success();
}

/// The services of the resolved compose file, as JSON (`docker compose config`).
fn resolved(project: &Project, files: &[&str]) -> serde_json::Value {
    let mut args = Vec::new();
    for f in files {
        args.extend(["-f", *f]);
    }
    args.push("config");
    let out = match project.compose {
        Compose::V2 => {
            args.extend(["--format", "json"]);
            project.run_ok(&args)
        }
        // 1.29 prints YAML only.
        Compose::V1 => {
            let yaml = project.run_ok(&args);
            let v: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
            serde_json::to_string(&v).unwrap()
        }
    };
    serde_json::from_str(&out).unwrap()
}

/// How a client service reaches the proxy: DOCKER_HOST in its environment, Traefik's endpoint
/// flag, or a socket mounted where clients look for the Docker socket.
fn endpoint(service: &serde_json::Value) -> Option<String> {
    if let Some(h) = service["environment"]["DOCKER_HOST"].as_str() {
        return Some(h.to_string());
    }
    if let Some(cmd) = service["command"].as_array() {
        for a in cmd {
            if let Some(e) = a
                .as_str()
                .and_then(|a| a.strip_prefix("--providers.docker.endpoint="))
            {
                return Some(e.to_string());
            }
        }
    }
    for v in service["volumes"].as_array().into_iter().flatten() {
        if v["target"] == "/var/run/docker.sock" {
            return Some("unix:///var/run/docker.sock".to_string());
        }
    }
    None
}

/// The clients in the generated file: every service but the proxy.
fn clients(services: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = services
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "sockproxy")
        .cloned()
        .collect();
    v.sort();
    v
}

/// An override that runs each client service as the client image, idle, keeping everything
/// the generated file gave it.
fn client_override(clients: &[String], own_client: bool) -> String {
    let mut s = String::from("services:\n");
    for c in clients {
        s.push_str(&format!(
            "  {c}:\n    image: {}\n    entrypoint: [\"sleep\"]\n    command: [\"600\"]\n",
            engine::CLIENT
        ));
        if own_client {
            s.push_str(
                "    networks: [sockproxy]\n    environment:\n      DOCKER_HOST: tcp://sockproxy:2375\n",
            );
        }
    }
    s
}

/// `docker exec` arguments for the docker CLI in a client container. The API version is pinned
/// to the engine's: presets without `/_ping` (Homepage's) leave the CLI nothing to negotiate with.
fn cli_args<'a>(host: &'a str, call: &'a str) -> Vec<&'a str> {
    let mut args = vec!["env", "DOCKER_API_VERSION=1.41", "docker", "-H", host];
    args.extend(call.split(' '));
    args
}

fn run_case(case: &Case) {
    let project = Project::new(case.compose);
    generate(&project, case);
    let generated = resolved(&project, &["compose.yaml"]);
    let mut clients = clients(&generated["services"]);
    if case.own_client {
        assert!(
            clients.is_empty(),
            "a flag set made client services: {generated}"
        );
        clients.push("client".to_string());
    }
    project.write("override.yaml", &client_override(&clients, case.own_client));
    let files = ["-f", "compose.yaml", "-f", "override.yaml"];
    let mut up = files.to_vec();
    up.extend(["up", "-d"]);
    project.run_ok(&up);
    project.wait_healthy("sockproxy", Duration::from_secs(60));
    let proxy = project.container("sockproxy");
    let what = format!("{:?} {:?} {}", case.compose, case.policy, case.image);

    // Non-root with the socket's group and nothing else; read-only; no capabilities.
    let id = engine::exec(&proxy, &["id"]);
    let gid = engine::socket_gid();
    assert_eq!(
        text(&id).trim(),
        format!("uid=99(haproxy) gid={gid} groups={gid}"),
        "{what}"
    );
    let inspect = engine::docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapDrop}} {{json .HostConfig.SecurityOpt}} {{.HostConfig.Privileged}}",
        &proxy,
    ]);
    assert_eq!(
        inspect, r#"true ["ALL"] ["no-new-privileges:true"] false"#,
        "{what}"
    );
    let status = engine::exec(&proxy, &["grep", "^Cap", "/proc/1/status"]);
    for line in text(&status).lines() {
        assert!(
            line.ends_with("0000000000000000") || line.starts_with("CapBnd"),
            "{what}: {line}"
        );
    }
    let written = engine::exec(&proxy, &["touch", "/usr/local/etc/haproxy/x"]);
    assert!(!written.status.success(), "{what}: the root is writable");

    // Each client: its allowed call passes, its denied call prints our message.
    let services = resolved(&project, &["compose.yaml", "override.yaml"]);
    for client in &clients {
        // The generated side (Traefik's endpoint is in the command the override replaces),
        // else the user's own client.
        let host = endpoint(&generated["services"][client])
            .or_else(|| endpoint(&services["services"][client]))
            .unwrap_or_else(|| panic!("{what}: no way from {client} to the proxy"));
        // The client named in denials: the preset's name, or "env-flags" for a flag set.
        let name = if case.own_client { "env-flags" } else { client };
        let container = project.container(client);
        for call in case.allowed {
            let out = engine::exec(&container, &cli_args(&host, call));
            assert!(
                out.status.success(),
                "{what}: {client}: {call}: {}",
                text(&out)
            );
        }
        for call in case.denied {
            let out = engine::exec(&container, &cli_args(&host, call));
            let t = text(&out);
            assert!(
                !out.status.success()
                    && t.contains("sockproxy-gen: ")
                    && t.contains(&format!("is not allowed for client {name}")),
                "{what}: {client}: {call} was not refused with our message: {t}"
            );
        }
        assert_eq!(
            services["services"][client]["image"],
            engine::CLIENT,
            "{what}"
        );
    }

    // One log line per request, with its verdict, in `docker logs`.
    let logs = engine::docker(&["logs", &proxy]);
    let logs = text(&logs);
    assert!(
        logs.contains("rule=allow:GET:/containers/json") && logs.contains("rule=deny:"),
        "{what}: {logs}"
    );
    println!("{what}: up, healthy, non-root, allowed and denied as the preset says");
}

#[test]
fn traefik_stack_on_compose_v2() {
    run_case(&Case {
        compose: Compose::V2,
        policy: &["--preset", "traefik"],
        image: engine::HAPROXY_3_2,
        allowed: &["ps", "version"],
        denied: &["run --rm spg/busybox:latest true", "volume ls"],
        own_client: false,
    });
}

#[test]
fn flag_set_stack_on_compose_1_29_with_haproxy_2_6() {
    run_case(&Case {
        compose: Compose::V1,
        policy: &["--flag", "CONTAINERS=1", "--flag", "IMAGES=1"],
        image: engine::HAPROXY_2_6,
        allowed: &["ps", "images"],
        denied: &["network ls", "run --rm spg/busybox:latest true"],
        own_client: true,
    });
}

#[test]
fn multi_client_stack_on_compose_v2() {
    run_case(&Case {
        compose: Compose::V2,
        policy: &["--preset", "homepage", "--preset", "watchtower"],
        image: engine::HAPROXY_3_2,
        allowed: &["ps"],
        denied: &["volume ls"],
        own_client: false,
    });
}

/// A proxy whose group cannot open the socket (a stale PGID_DOCKER_SOCKET) says why: in the
/// /healthz body, and in one log line with the system's error.
#[test]
fn an_unhealthy_proxy_says_why() {
    let project = Project::new(Compose::V2);
    generate(
        &project,
        &Case {
            compose: Compose::V2,
            policy: &["--preset", "traefik"],
            image: engine::HAPROXY_3_2,
            allowed: &[],
            denied: &[],
            own_client: false,
        },
    );
    // A group that is not the socket's: what a moved daemon or a copied .env leaves behind.
    project.write(".env", "PGID_DOCKER_SOCKET=65534\n");
    project.run_ok(&["-f", "compose.yaml", "up", "-d", "sockproxy"]);
    let proxy = project.container("sockproxy");
    let start = std::time::Instant::now();
    let body = loop {
        let out = engine::exec(
            &proxy,
            &["wget", "-q", "-O", "-", "http://127.0.0.1:8404/healthz"],
        );
        // busybox wget prints no body on an error status: ask with nc, as curl would show it.
        let err = engine::exec(
            &proxy,
            &[
                "sh",
                "-c",
                r"printf 'GET /healthz HTTP/1.0\r\n\r\n' | nc 127.0.0.1 8404",
            ],
        );
        if !out.status.success() && text(&err).contains("down: ") {
            break text(&err);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never unhealthy: {}",
            text(&err)
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        body.contains("503")
            && body.contains("down: the Docker socket /var/run/docker.sock does not answer /_ping")
            && body.contains("PGID_DOCKER_SOCKET must be the socket's group"),
        "{body}"
    );
    // Past several check intervals, the log still says it once.
    std::thread::sleep(Duration::from_secs(5));
    let logs = text(&engine::docker(&["logs", &proxy]));
    let down: Vec<&str> = logs.lines().filter(|l| l.contains(" is DOWN")).collect();
    assert_eq!(down.len(), 1, "{logs}");
    assert!(down[0].contains("Permission denied"), "{logs}");
    println!(
        "unhealthy proxy: /healthz says why; the log says `{}` once",
        down[0].trim()
    );
}
