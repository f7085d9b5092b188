//! `migrate` on our own compose fixtures (tests/fixtures/migrate, written in the styles of public
//! set-ups): what it finds, what the report says, that it is repeatable, and that the migrated
//! stack comes up on the real Docker Engine and answers its clients.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::engine::{self, Compose, Project};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrate")
        .join(name)
}

/// `migrate FIXTURE/compose.yaml -o OUT --socket-gid 998`, run in the fixture's directory so
/// the report names files as `compose.yaml` and `.env`.
fn migrate(name: &str, out: &Path) -> String {
    let o = common::cli()
        .current_dir(fixture(name))
        .args(["migrate", "compose.yaml", "--socket-gid", "998", "-o"])
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "migrate {name}: {stderr}");
    stderr
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The report's section of one client.
fn client_section<'a>(report: &'a str, client: &str) -> &'a str {
    let start = report
        .find(&format!("### Client `{client}`"))
        .unwrap_or_else(|| panic!("no section for {client}:\n{report}"));
    let rest = &report[start..];
    let end = rest[4..].find("\n##").map_or(rest.len(), |i| i + 4);
    &rest[..end]
}

#[test]
fn a_containers_traefik_setup_closes_archive_and_export() {
    let out = tempfile::tempdir().unwrap();
    migrate("tecnativa-traefik", out.path());
    assert_eq!(
        common::dir_entries(out.path()),
        [".env", "MIGRATION.md", "compose.yaml", "haproxy.cfg"]
    );
    let report = read(out.path(), "MIGRATION.md");
    assert!(
        report.contains("`CONTAINERS=1` (compose.yaml:9)"),
        "{report}"
    );
    let traefik = client_section(&report, "traefik");
    assert!(traefik.contains("-> preset `traefik`"), "{traefik}");
    for closed in [
        "- `GET /containers/{name}/archive` **dangerous** (opened by CONTAINERS=1)",
        "- `GET /containers/{name}/export` **dangerous** (opened by CONTAINERS=1)",
        "- `GET /containers/{name}/attach/ws` **dangerous** (opened by CONTAINERS=1)",
    ] {
        assert!(traefik.contains(closed), "{closed}:\n{traefik}");
    }
    assert!(traefik.contains("Opened: none"), "{traefik}");

    // The proxy is replaced, the client points at its frontend, the rest is untouched.
    let compose: serde_norway::Value =
        serde_norway::from_str(&read(out.path(), "compose.yaml")).unwrap();
    let proxy = &compose["services"]["socket-proxy"];
    assert_eq!(proxy["image"].as_str(), Some("haproxy:3.2-alpine"));
    assert!(proxy.get("environment").is_none(), "{proxy:?}");
    let traefik = &compose["services"]["traefik"];
    assert_eq!(traefik["image"].as_str(), Some("traefik:v3.1"));
    let command: Vec<&str> = traefik["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(command.contains(&"--providers.docker.endpoint=tcp://socket-proxy:2375"));
    assert!(
        command.contains(&"--entrypoints.web.address=:80"),
        "{command:?}"
    );
    let whoami: serde_norway::Value =
        serde_norway::from_str(&read(&fixture("tecnativa-traefik"), "compose.yaml")).unwrap();
    assert_eq!(compose["services"]["whoami"], whoami["services"]["whoami"]);
    assert_eq!(read(out.path(), ".env"), "PGID_DOCKER_SOCKET=998\n");

    // The config is what render makes of the recorded inputs: lint finds no drift.
    let lint = common::cli()
        .arg("lint")
        .arg(out.path().join("haproxy.cfg"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&lint.stdout);
    assert!(
        !text.contains("SPG105") && !text.contains("SPG101"),
        "{text}"
    );
}

#[test]
fn post_with_restarts_and_a_client_no_preset_knows() {
    let out = tempfile::tempdir().unwrap();
    let stderr = migrate("post-restarts", out.path());
    let report = read(out.path(), "MIGRATION.md");
    assert!(
        report.contains("POST=1 also opened DELETE routes"),
        "{report}"
    );
    let autoheal = client_section(&report, "autoheal");
    assert!(autoheal.contains("-> preset `autoheal`"), "{autoheal}");
    assert!(
        autoheal.contains("- `DELETE /containers/{name}` (opened by CONTAINERS=1 and POST=1)"),
        "{autoheal}"
    );
    assert!(
        !autoheal.contains("`POST /containers/{name}/restart`"),
        "autoheal restarts containers: {autoheal}"
    );
    // The unknown image keeps the old flags with the traps fixed: POST no longer opens DELETE.
    let bot = client_section(&report, "ops-bot");
    assert!(bot.contains("no preset knows this image"), "{bot}");
    assert!(bot.contains("`presets/ops-bot.yaml`"), "{bot}");
    assert!(
        bot.contains("- `DELETE /containers/{name}` (opened by CONTAINERS=1 and POST=1)"),
        "{bot}"
    );
    assert!(!bot.contains("POST /containers/create"), "{bot}");
    assert!(
        stderr.contains("warning: ops-bot: grants routes that can take over the host"),
        "{stderr}"
    );
    let preset = read(out.path(), "presets/ops-bot.yaml");
    assert!(
        preset.contains("route: \"POST /containers/{name}/restart\""),
        "{preset}"
    );
    // The unknown client is pointed at its own frontend (the second port).
    let compose = read(out.path(), "compose.yaml");
    assert!(
        compose.contains("DOCKER_HOST: tcp://dockerproxy:2376"),
        "{compose}"
    );
    assert!(compose.contains("BOT_TOKEN: change-me"), "{compose}");
}

#[test]
fn linuxserver_flags_are_read_as_linuxserver_reads_them() {
    let out = tempfile::tempdir().unwrap();
    migrate("linuxserver", out.path());
    let report = read(out.path(), "MIGRATION.md");
    assert!(report.contains("(linuxserver flags)"), "{report}");
    let dozzle = client_section(&report, "dozzle");
    assert!(dozzle.contains("-> preset `dozzle`"), "{dozzle}");
    // linuxserver's ALLOW_RESTARTS sits before its method gate: it opened restarts with POST=0.
    assert!(
        dozzle.contains("- `POST /containers/{name}/restart` (opened by ALLOW_RESTARTS=1)"),
        "{dozzle}"
    );
}

#[test]
fn a_stack_with_env_interpolation() {
    let out = tempfile::tempdir().unwrap();
    migrate("stack", out.path());
    let report = read(out.path(), "MIGRATION.md");
    assert!(
        report.contains("`CONTAINERS=1` (compose.yaml:8, with PROXY_CONTAINERS from .env:2)"),
        "{report}"
    );
    for (client, preset) in [
        ("traefik", "traefik"),
        ("homepage", "homepage"),
        ("watchtower", "watchtower"),
    ] {
        let section = client_section(&report, client);
        assert!(
            section.contains(&format!("-> preset `{preset}`")),
            "{section}"
        );
    }
    assert!(client_section(&report, "homepage").contains("reached via depends_on"));
    let watchtower = client_section(&report, "watchtower");
    assert!(
        watchtower.contains("Opened: 2 route(s)")
            && watchtower.contains("`POST /networks/{id}/connect`"),
        "{watchtower}"
    );
    // .env keeps its lines and gains the socket's group; the file keeps its variables.
    let env = read(out.path(), ".env");
    assert!(
        env.starts_with("# Values for compose.yaml\nPROXY_CONTAINERS=1\n"),
        "{env}"
    );
    assert!(env.ends_with("PGID_DOCKER_SOCKET=998\n"), "{env}");
    let compose = read(out.path(), "compose.yaml");
    assert!(
        compose.contains("image: traefik:${TRAEFIK_TAG}"),
        "{compose}"
    );
    assert!(compose.contains("${WATCHTOWER_POLL:-86400}"), "{compose}");
    assert!(
        compose.contains("DOCKER_HOST: tcp://docker-socket-proxy:2377"),
        "{compose}"
    );
}

#[test]
fn migrate_twice_gives_the_same_output() {
    for name in ["tecnativa-traefik", "post-restarts", "linuxserver", "stack"] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        migrate(name, a.path());
        migrate(name, b.path());
        // And a second run over the first output directory changes nothing.
        migrate(name, a.path());
        let files = |d: &Path| -> Vec<(String, String)> {
            let mut out = Vec::new();
            for e in walk(d) {
                let rel = e.strip_prefix(d).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&e).unwrap()));
            }
            out.sort();
            out
        };
        assert_eq!(files(a.path()), files(b.path()), "{name}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_file_without_a_socket_proxy_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    std::fs::write(&path, "services:\n  web:\n    image: nginx\n").unwrap();
    let o = common::cli()
        .args(["migrate", "--socket-gid", "998", "-o"])
        .arg(dir.path().join("out"))
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("compose.yaml:1") && err.contains("no socket proxy"),
        "{err}"
    );
}

#[test]
fn the_migrated_stack_comes_up_and_answers_its_clients() {
    let socket = engine::socket();
    // The fixture's clients run from the images `.ci/engine` makes (no registry is reachable).
    let text = std::fs::read_to_string(fixture("engine-up").join("compose.yaml")).unwrap();
    for image in [engine::TRAEFIK, engine::CLIENT] {
        assert!(text.contains(&format!("image: {image}")), "{image}");
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("engine-up").join("compose.yaml"),
        work.path().join("compose.yaml"),
    )
    .unwrap();
    std::fs::write(
        work.path().join(".env"),
        format!("DOCKER_SOCK={}\n", socket.display()),
    )
    .unwrap();
    // Migrated into the project's directory; no --socket-gid: the group of the socket the
    // proxy mounts.
    let project = Project::new(Compose::V2);
    common::cli()
        .arg("migrate")
        .arg(work.path().join("compose.yaml"))
        .arg("-o")
        .arg(project.dir.path())
        .assert()
        .success();
    let out = project.dir.path();
    assert!(read(out, ".env").contains(&format!("PGID_DOCKER_SOCKET={}\n", engine::socket_gid())));
    project.run_ok(&["up", "-d"]);
    project.wait_healthy("socket-proxy", Duration::from_secs(90));
    let ops = project.container("ops");
    // The client no preset knows (the docker CLI) lists containers through its frontend.
    let start = Instant::now();
    let listed = loop {
        let ps = engine::exec(&ops, &["docker", "ps", "--format", "{{.Names}}"]);
        if ps.status.success() {
            break String::from_utf8_lossy(&ps.stdout).into_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "docker ps through the proxy: {}",
            String::from_utf8_lossy(&ps.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        listed.contains(&format!("{}-traefik-1", project.name)),
        "{listed}"
    );
    // Traefik's frontend denies what its preset does not grant.
    let archive = engine::exec(
        &ops,
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://socket-proxy:2375/v1.41/containers/x/archive?path=/etc",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&archive.stdout), "403");
    // Traefik's provider reads the daemon through its own frontend.
    let proxy = project.container("socket-proxy");
    let start = Instant::now();
    loop {
        let logs = engine::docker(&["logs", &proxy]);
        let text = String::from_utf8_lossy(&logs.stdout).into_owned();
        if text.contains("rule=allow:GET:/containers/json") && text.contains("] traefik GET ") {
            assert!(
                text.contains("] ops GET \"/v1.41/containers/json"),
                "{text}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Traefik never listed containers through the proxy:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_fork_is_found_by_its_flag_names_even_without_clients() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  dsp:\n    image: registry.example.test/my/fork:1\n    environment:\n      CONTAINERS: 1\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = common::cli()
        .current_dir(dir.path())
        .args(["migrate", "compose.yaml", "--socket-gid", "998", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("warning: dsp: no client found"), "{stderr}");
    let report = read(&out, "MIGRATION.md");
    assert!(report.contains("## Proxy `dsp`"), "{report}");
    assert!(
        report.contains("### Client `env-flags`") && report.contains("no client found"),
        "{report}"
    );
    let cfg = read(&out, "haproxy.cfg");
    assert!(cfg.contains("frontend env-flags"), "{cfg}");
}

#[test]
fn the_output_never_replaces_the_compose_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compose.yaml");
    let text = read(&fixture("tecnativa-traefik"), "compose.yaml");
    std::fs::write(&path, &text).unwrap();
    let o = common::cli()
        .args(["migrate", "--socket-gid", "998", "-o"])
        .arg(dir.path())
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("would destroy the input"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(common::dir_entries(dir.path()), ["compose.yaml"]);
}
