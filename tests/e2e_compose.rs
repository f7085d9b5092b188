//! The generated files on the real Docker Engine, as a user runs them: `env`, `render -o`,
//! `compose`, then `docker compose up -d` (Compose v2, and Debian's 1.29). Each client's service
//! is swapped for a client image (the docker CLI, docker-py) by an override file, the way a user
//! merges the generated keys into their own service.

use std::time::Duration;

use crate::common::engine::{self, wait_healthy, Compose, Project};
use crate::common::{self, cli, path_arg};

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

/// The generated files in the project's directory, by the README's commands: `env` records the
/// engine's socket in .env, and `compose` mounts it without being told (`--socket` unset).
fn generate(project: &Project, case: &Case) {
    generate_with(project, case.policy, &["--image", case.image]);
}

fn generate_with(project: &Project, policy: &[&str], compose_args: &[&str]) {
    let sock = engine::socket();
    let dir = project.dir.path();
    cli()
        .current_dir(dir)
        .args(["env", "--socket", path_arg(&sock)])
        .assert()
        .success();
    std::fs::create_dir_all(dir.join("sockproxy")).unwrap();
    let mut render = cli();
    render
        .current_dir(dir)
        .args(["render", "-o", "sockproxy/haproxy.cfg"])
        .args(policy);
    render.assert().success();
    let mut compose = cli();
    compose
        .current_dir(dir)
        .args(["compose", "-o", "compose.yaml"])
        .args(compose_args)
        .args(policy);
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
    assert_haproxy_with_socket_group(&proxy, &what);
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
    for line in common::output_text(&status).lines() {
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
                common::output_text(&out)
            );
        }
        for call in case.denied {
            let out = engine::exec(&container, &cli_args(&host, call));
            let t = common::output_text(&out);
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
    let logs = common::output_text(&logs);
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
        // The shared-network layout, still there for clients that cannot share a volume.
        policy: &["--preset", "homepage", "--preset", "watchtower", "--tcp"],
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
    let env = std::fs::read_to_string(project.path(".env")).unwrap();
    let stale: String = env
        .lines()
        .map(|l| match l.starts_with("PGID_DOCKER_SOCKET=") {
            true => "PGID_DOCKER_SOCKET=65534\n".to_string(),
            false => format!("{l}\n"),
        })
        .collect();
    project.write(".env", &stale);
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
        if !out.status.success() && common::output_text(&err).contains("down: ") {
            break common::output_text(&err);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never unhealthy: {}",
            common::output_text(&err)
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
    let logs = common::output_text(&engine::docker(&["logs", &proxy]));
    let down: Vec<&str> = logs.lines().filter(|l| l.contains(" is DOWN")).collect();
    assert_eq!(down.len(), 1, "{logs}");
    assert!(down[0].contains("Permission denied"), "{logs}");
    println!(
        "unhealthy proxy: /healthz says why; the log says `{}` once",
        down[0].trim()
    );
}

/// `docker exec` in a client, which must succeed; its stdout and stderr.
fn exec_ok(container: &str, what: &str, args: &[&str]) -> String {
    let out = engine::exec(container, args);
    assert!(
        out.status.success(),
        "{what}: {}: {}",
        args.join(" "),
        common::output_text(&out)
    );
    common::output_text(&out)
}

/// Copies this build's sockproxy-gen into a client container (its glibc is newer than the host's).
fn copy_binary(container: &str) {
    let bin = crate::common::bin();
    engine::docker_ok(&[
        "cp",
        path_arg(&bin),
        &format!("{container}:/tmp/sockproxy-gen"),
    ]);
}

/// From inside a client container, on its /var/run/docker.sock: `verify` finds exactly its
/// preset (every catalog route probed), the docker CLI and docker-py list containers, curl gets
/// our 403 for a route outside the preset; no other client's socket and no proxy address exist
/// there; the client mounts its own volume and nothing else of the proxy's.
fn check_isolated_client(container: &str, preset: &str, others: &[&str], what: &str) {
    let what = format!("{what}: {preset}");
    copy_binary(container);
    let verify = exec_ok(
        container,
        &what,
        &[
            "/tmp/sockproxy-gen",
            "verify",
            "unix:///var/run/docker.sock",
            "--preset",
            preset,
            "--api-version",
            "1.41",
        ],
    );
    assert!(verify.contains("\n0 mismatch(es)"), "{what}: {verify}");
    // Every preset here may list containers; each through its own client library.
    exec_ok(
        container,
        &what,
        &[
            "env",
            "DOCKER_API_VERSION=1.41",
            "docker",
            "ps",
            "--format",
            "{{.Names}}",
        ],
    );
    exec_ok(
        container,
        &what,
        &[
            "python3",
            "-c",
            "import docker; docker.DockerClient(base_url='unix:///var/run/docker.sock', version='1.41').containers.list()",
        ],
    );
    let denied = exec_ok(
        container,
        &what,
        &[
            "curl",
            "-sS",
            "--unix-socket",
            "/var/run/docker.sock",
            "http://docker/v1.41/secrets",
        ],
    );
    assert!(
        denied.contains(&format!("is not allowed for client {preset}")),
        "{what}: {denied}"
    );
    // The only socket the client can find is its own (in every mount; as root, which in
    // homepage's container has no capabilities, so unreadable directories are skipped).
    let found = exec_ok(
        container,
        &what,
        &[
            "sh",
            "-c",
            "find / \\( -path /proc -o -path /sys \\) -prune -o -type s -print 2>/dev/null; true",
        ],
    );
    let found: Vec<&str> = found.lines().collect();
    assert_eq!(
        found,
        ["/run/docker.sock"],
        "{what}: the sockets in the container"
    );
    let listing = exec_ok(container, &what, &["ls", "-la", "/var/run/"]);
    assert!(
        listing.lines().filter(|l| l.starts_with('s')).count() == 1,
        "{what}: {listing}"
    );
    for other in others {
        let out = engine::exec(container, &["ls", &format!("/run/sockproxy/{other}")]);
        assert!(!out.status.success(), "{what}: sees {other}'s directory");
    }
    let mounts = engine::docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}};{{end}}",
        container,
    ]);
    let mounts: Vec<&str> = mounts.split(';').filter(|m| !m.is_empty()).collect();
    assert_eq!(mounts.len(), 1, "{what}: {mounts:?}");
    assert!(
        mounts[0].starts_with("volume ")
            && mounts[0].ends_with(&format!("_sockproxy-{preset} /var/run false")),
        "{what}: its own volume, read-only, where /var/run points: {mounts:?}"
    );
    // No TCP port of the proxy: no name to resolve, and the proxy has no address (below).
    let tcp = engine::exec(
        container,
        &["curl", "-sS", "-m", "3", "http://sockproxy:2375/_ping"],
    );
    assert!(
        !tcp.status.success(),
        "{what}: reached sockproxy:2375: {}",
        common::output_text(&tcp)
    );
}

/// The proxy runs as the image's user haproxy (uid 99) with the socket's group and no other.
fn assert_haproxy_with_socket_group(container: &str, what: &str) {
    let id = common::output_text(&engine::exec(container, &["id"]));
    let gid = engine::socket_gid();
    assert_eq!(
        id.trim(),
        format!("uid=99(haproxy) gid={gid} groups={gid}"),
        "{what}"
    );
}

/// The proxy of an isolated stack: non-root with the socket's group, and no network at all.
fn check_isolated_proxy(proxy: &str, what: &str) {
    assert_haproxy_with_socket_group(proxy, what);
    let net = engine::docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.NetworkMode}} {{range .NetworkSettings.Networks}}[{{.IPAddress}}]{{end}}",
        proxy,
    ]);
    assert_eq!(net, "none []", "{what}: the proxy has a network");
    let addresses = common::output_text(&engine::exec(
        proxy,
        &["cat", "/proc/net/if_inet6", "/proc/net/dev"],
    ));
    assert!(
        addresses
            .lines()
            .filter(|l| l.contains(':') && !l.contains("lo"))
            .count()
            <= 1,
        "{what}: interfaces besides lo: {addresses}"
    );
}

/// An override that runs each client service as the client image, idle; `homepage` as an
/// unprivileged user without capabilities, to show a socket needs no privilege to connect.
fn isolated_override(clients: &[&str]) -> String {
    let mut s = String::from("services:\n");
    for c in clients {
        s.push_str(&format!(
            "  {c}:\n    image: {}\n    entrypoint: [\"sleep\"]\n    command: [\"900\"]\n",
            engine::CLIENT
        ));
        if *c == "homepage" {
            s.push_str("    user: \"1000:1000\"\n    cap_drop: [ALL]\n");
        }
    }
    s
}

const ISOLATED: [&str; 3] = ["homepage", "traefik", "watchtower"];

fn isolated_stack(compose: Compose, image: &str) {
    let project = Project::new(compose);
    let policy = [
        "--preset",
        "homepage",
        "--preset",
        "traefik",
        "--preset",
        "watchtower",
    ];
    generate_with(&project, &policy, &["--image", image]);
    let yaml = std::fs::read_to_string(project.path("compose.yaml")).unwrap();
    assert!(yaml.contains("network_mode: none"), "{yaml}");
    project.write("override.yaml", &isolated_override(&ISOLATED));
    project.run_ok(&["-f", "compose.yaml", "-f", "override.yaml", "up", "-d"]);
    project.wait_healthy("sockproxy", Duration::from_secs(90));
    let what = format!("{compose:?} {image}");
    check_isolated_proxy(&project.container("sockproxy"), &what);
    for client in ISOLATED {
        let others: Vec<&str> = ISOLATED.iter().copied().filter(|c| *c != client).collect();
        check_isolated_client(&project.container(client), client, &others, &what);
    }
    println!("{what}: three clients, each on its own socket with exactly its preset; the proxy has no network");
}

#[test]
fn isolated_clients_on_compose_v2() {
    isolated_stack(Compose::V2, engine::HAPROXY_3_2);
}

#[test]
fn isolated_clients_on_compose_1_29_with_haproxy_2_6() {
    isolated_stack(Compose::V1, engine::HAPROXY_2_6);
}

/// Milliseconds a command in a container takes, which must succeed.
fn timed(container: &str, what: &str, args: &[&str]) -> (u128, String) {
    let start = std::time::Instant::now();
    let out = exec_ok(container, what, args);
    (start.elapsed().as_millis(), out)
}

/// A client holding its connection limit of idle streams (`/events`) waits for its own
/// connections only: another client's request and `/healthz` answer at once.
#[test]
fn a_client_at_its_connection_limit_blocks_no_one_else() {
    let project = Project::new(Compose::V2);
    let policy = [
        "--preset",
        "traefik",
        "--preset",
        "homepage",
        "--client-maxconn",
        "4",
    ];
    generate_with(&project, &policy, &[]);
    let cfg = std::fs::read_to_string(project.path("sockproxy/haproxy.cfg")).unwrap();
    assert!(
        cfg.contains("    maxconn 24\n") && cfg.contains("mode 666 maxconn 4\n"),
        "{cfg}"
    );
    project.write(
        "override.yaml",
        &isolated_override(&["traefik", "homepage"]),
    );
    project.run_ok(&["-f", "compose.yaml", "-f", "override.yaml", "up", "-d"]);
    project.wait_healthy("sockproxy", Duration::from_secs(90));
    let traefik = project.container("traefik");
    let homepage = project.container("homepage");
    let proxy = project.container("sockproxy");
    // Traefik opens its limit of event streams, and one more, and leaves them open.
    let hold = "for i in 1 2 3 4 5; do curl -sS -N --unix-socket /var/run/docker.sock \
        http://docker/v1.41/events > /tmp/events.$i 2>&1 & done; sleep 2; echo held";
    exec_ok(&traefik, "streams", &["sh", "-c", hold]);
    let established = |what: &str| {
        let out = exec_ok(
            &traefik,
            what,
            &["sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done | grep -c '^curl -sS -N'"],
        );
        out.trim().parse::<u32>().unwrap()
    };
    assert_eq!(
        established("streams"),
        5,
        "five streams run in traefik's container"
    );
    // Traefik's next request waits behind its own limit...
    let own = engine::exec(
        &traefik,
        &[
            "curl",
            "-sS",
            "-m",
            "3",
            "--unix-socket",
            "/var/run/docker.sock",
            "http://docker/v1.41/version",
        ],
    );
    assert!(
        !own.status.success(),
        "traefik's own limit did not apply: {}",
        common::output_text(&own)
    );
    // ... while Homepage and the health check answer at once.
    for round in 0..3 {
        let (ms, body) = timed(
            &homepage,
            "homepage",
            &[
                "curl",
                "-sS",
                "-m",
                "5",
                "--unix-socket",
                "/var/run/docker.sock",
                "http://docker/v1.41/containers/json",
            ],
        );
        assert!(body.starts_with('['), "homepage: {body}");
        assert!(ms < 2000, "round {round}: homepage waited {ms} ms");
        let (ms, _) = timed(
            &proxy,
            "healthz",
            &["wget", "-q", "-O", "-", "http://127.0.0.1:8404/healthz"],
        );
        assert!(ms < 2000, "round {round}: /healthz took {ms} ms");
    }
    assert_eq!(
        engine::docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", &proxy]),
        "healthy"
    );
    println!("traefik holds 4 of 4 streams (a 5th and a request wait); homepage and /healthz answer in under 2 s");
}

/// README's policy change: re-render, then `docker compose kill -s USR2 sockproxy`. The proxy
/// mounts the config's directory, so the reload reads the new file: a route the old policy
/// allowed is denied, in the same container.
#[test]
fn a_tightened_policy_denies_after_the_documented_reload() {
    let project = Project::new(Compose::V2);
    let wide = ["--flag", "CONTAINERS=1", "--flag", "IMAGES=1"];
    generate_with(&project, &wide, &[]);
    project.write(
        "override.yaml",
        &format!(
            "services:\n  client:\n    image: {}\n    entrypoint: [\"sleep\"]\n    command: [\"900\"]\n    networks: [sockproxy]\n",
            engine::CLIENT
        ),
    );
    project.run_ok(&["-f", "compose.yaml", "-f", "override.yaml", "up", "-d"]);
    project.wait_healthy("sockproxy", Duration::from_secs(90));
    let proxy = project.container("sockproxy");
    let client = project.container("client");
    let images = |what: &str| {
        let out = engine::exec(&client, &cli_args("tcp://sockproxy:2375", "images"));
        (
            out.status.success(),
            format!("{what}: {}", common::output_text(&out)),
        )
    };
    let (ok, why) = images("before");
    assert!(ok, "{why}");
    // The documented step: render again over the same file, then reload.
    cli()
        .current_dir(project.dir.path())
        .args([
            "render",
            "-o",
            "sockproxy/haproxy.cfg",
            "--flag",
            "CONTAINERS=1",
        ])
        .assert()
        .success();
    project.run_ok(&["kill", "-s", "USR2", "sockproxy"]);
    let start = std::time::Instant::now();
    loop {
        let (ok, why) = images("after the reload");
        if !ok {
            assert!(why.contains("is not allowed for client env-flags"), "{why}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still allowed: {why}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let ps = engine::exec(&client, &cli_args("tcp://sockproxy:2375", "ps"));
    assert!(ps.status.success(), "{}", common::output_text(&ps));
    assert_eq!(
        project.container("sockproxy"),
        proxy,
        "the same container, reloaded"
    );
    let logs = common::output_text(&engine::docker(&["logs", &proxy]));
    assert!(
        logs.contains("Loading success") || logs.contains("reexec"),
        "{logs}"
    );
    println!("IMAGES=1 dropped: `docker images` denied after render -o and kill -s USR2; ps still allowed");
}

/// `--publish`: the TCP listener on the host's loopback, and nowhere else.
#[test]
fn publish_reaches_the_proxy_from_the_host_loopback_only() {
    let project = Project::new(Compose::V2);
    let port = crate::common::free_port();
    let port_arg = port.to_string();
    let policy = ["--preset", "traefik", "--port", &port_arg];
    generate_with(&project, &policy, &["--publish"]);
    project.run_ok(&["up", "-d", "sockproxy"]);
    project.wait_healthy("sockproxy", Duration::from_secs(90));
    let proxy = project.container("sockproxy");
    let published = engine::docker_ok(&["port", &proxy]);
    assert_eq!(published, format!("{port}/tcp -> 127.0.0.1:{port}"));
    let get = |host: &str| {
        std::process::Command::new("curl")
            .args([
                "-sS",
                "-m",
                "5",
                &format!("http://{host}:{port}/v1.41/_ping"),
            ])
            .output()
            .unwrap()
    };
    let local = get("127.0.0.1");
    assert!(
        local.status.success() && common::output_text(&local) == "OK",
        "from the host's loopback: {}",
        common::output_text(&local)
    );
    // Every other address of the host refuses the connection.
    let addresses = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .unwrap();
    let addresses = String::from_utf8_lossy(&addresses.stdout).to_string();
    let mut others = 0;
    for address in addresses.split_whitespace().filter(|a| !a.contains(':')) {
        let out = get(address);
        assert!(
            !out.status.success(),
            "reached from {address}: {}",
            common::output_text(&out)
        );
        others += 1;
    }
    println!("--publish: 127.0.0.1:{port} answers _ping; {others} other host addresses refuse");
}

/// `docker stack deploy` of `compose --swarm`, as README says (the environment from .env): the
/// PGID message no longer breaks the stack's interpolation, the proxy runs as uid 99 with the
/// socket's group; homepage (as uid 1000), traefik and watchtower each get exactly their preset
/// on their own node-local socket volume (the one the proxy task on the same node mounts);
/// dozzle, kept on TCP with --tcp-client, reaches the proxy task by the task's own IP (this
/// engine has no IPVS for the service's virtual IP), and the socket clients reach no TCP port of
/// the proxy.
#[test]
fn swarm_stack_with_a_socket_per_client() {
    let stack = engine::Stack::new();
    let dir = stack.dir.path();
    let policy = [
        "--preset",
        "homepage",
        "--preset",
        "traefik",
        "--preset",
        "watchtower",
        "--preset",
        "dozzle",
        "--tcp-client",
        "dozzle",
    ];
    cli()
        .current_dir(dir)
        .args(["env", "--socket", path_arg(&engine::socket())])
        .assert()
        .success();
    std::fs::create_dir_all(dir.join("sockproxy")).unwrap();
    cli()
        .current_dir(dir)
        .args(["render", "-o", "sockproxy/haproxy.cfg"])
        .args(policy)
        .assert()
        .success();
    cli()
        .current_dir(dir)
        .args(["compose", "--swarm", "-o", "compose.yaml"])
        .args(policy)
        .assert()
        .success();
    let mut over = isolated_override(&ISOLATED);
    over.push_str(&format!(
        "  dozzle:\n    image: {}\n    entrypoint: [\"sleep\"]\n    command: [\"900\"]\n",
        engine::CLIENT
    ));
    std::fs::write(dir.join("override.yaml"), over).unwrap();
    let out = stack.deploy(&["compose.yaml", "override.yaml"]);
    assert!(
        out.status.success(),
        "stack deploy: {}",
        common::output_text(&out)
    );
    let proxy = stack.container("sockproxy", Duration::from_secs(90));
    wait_healthy(&proxy, Duration::from_secs(90));
    let what = format!("stack {}", stack.name);
    assert_haproxy_with_socket_group(&proxy, &what);
    let proxy_mounts = engine::docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Name}} {{end}}",
        &proxy,
    ]);
    for client in ISOLATED {
        let container = stack.container(client, Duration::from_secs(60));
        let others: Vec<&str> = ISOLATED.iter().copied().filter(|c| *c != client).collect();
        check_isolated_client(&container, client, &others, &what);
        // Node-local: the volume the client mounts is the one this node's proxy task mounts.
        let volume = format!("{}_sockproxy-{client}", stack.name);
        assert!(proxy_mounts.contains(&volume), "{what}: {proxy_mounts}");
        assert_eq!(
            engine::docker_ok(&["volume", "inspect", "-f", "{{.Driver}} {{.Scope}}", &volume]),
            "local local"
        );
    }
    // The TCP client: the proxy task's own address on the stack's internal overlay network.
    let address = engine::docker_ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &proxy,
    ]);
    let dozzle = stack.container("dozzle", Duration::from_secs(60));
    // Dozzle is the fourth client: the fourth port.
    let host = format!("tcp://{address}:2378");
    let ps = engine::exec(&dozzle, &cli_args(&host, "ps"));
    assert!(
        ps.status.success(),
        "{what}: dozzle via {host}: {}",
        common::output_text(&ps)
    );
    let denied = engine::exec(&dozzle, &cli_args(&host, "volume ls"));
    assert!(
        common::output_text(&denied).contains("is not allowed for client dozzle"),
        "{what}: {}",
        common::output_text(&denied)
    );
    // The socket clients are not on that network: dozzle's port does not answer them.
    let traefik = stack.container("traefik", Duration::from_secs(60));
    let tcp = engine::exec(
        &traefik,
        &[
            "curl",
            "-sS",
            "-m",
            "3",
            &format!("http://{address}:2378/_ping"),
        ],
    );
    assert!(
        !tcp.status.success(),
        "{what}: traefik reached {address}:2378, dozzle's port"
    );
    println!("{what}: deployed; three socket clients with exactly their presets on node-local volumes, dozzle over TCP to the task's own address");
}
