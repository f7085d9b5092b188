//! `sockproxy-gen verify` against real HAProxy (2.6, the host's) in front of the real Docker
//! Engine and of podman.
//!
//! Every test here only sends verify's probes, which are harmless, so they may run side by side;
//! the safety test proves that claim by comparing podman's state before and after.

use crate::common;

use std::collections::BTreeSet;
use std::process::Output;

use common::podman::{ensure_image, podman, start_podman, IMAGE};
use common::{engine, Haproxy, Running, WorkDir};
use serde_json::Value;

fn host_haproxy() -> Haproxy {
    common::haproxies()
        .into_iter()
        .find(|h| h.root.is_none())
        .expect("the host's HAProxy")
}

/// A daemon serving the Docker API on a socket in a fresh work directory: podman, or the real
/// engine (its socket hard-linked there).
struct Lab {
    work: WorkDir,
    _podman: Option<Running>,
    haproxy: Haproxy,
}

impl Lab {
    fn start() -> Lab {
        let haproxy = host_haproxy();
        let work = haproxy.workdir();
        let podman = start_podman(&work.host("daemon.sock"));
        Lab {
            work,
            _podman: Some(podman),
            haproxy,
        }
    }

    fn engine() -> Lab {
        let haproxy = host_haproxy();
        let work = haproxy.workdir();
        std::fs::hard_link(engine::socket(), work.host("daemon.sock"))
            .expect("link the engine's socket");
        Lab {
            work,
            _podman: None,
            haproxy,
        }
    }

    fn socket(&self) -> std::path::PathBuf {
        self.work.inner("daemon.sock")
    }

    /// Writes `config` and runs HAProxy on it with `env`; waits for `port`.
    fn proxy(&self, name: &str, config: &str, port: u16, env: &[(&str, &str)]) -> Running {
        std::fs::write(self.work.host(name), config).unwrap();
        self.haproxy.spawn_env(&self.work.inner(name), port, env)
    }
}

fn verify(args: &[&str]) -> Output {
    common::cli().arg("verify").args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --format json printed no JSON ({e}); stderr: {}",
            stderr(o)
        )
    })
}

fn routes_where(report: &Value, pick: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| pick(r))
        .map(|r| r["route"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rendered_presets_have_no_mismatch_in_front_of_podman() {
    rendered_presets_have_no_mismatch(Lab::start());
}

#[test]
fn rendered_presets_have_no_mismatch_in_front_of_the_docker_engine() {
    rendered_presets_have_no_mismatch(Lab::engine());
}

fn rendered_presets_have_no_mismatch(lab: Lab) {
    let catalog = sockproxy_gen::catalog::Catalog::builtin();
    for preset in [
        "traefik",
        "homepage",
        "portainer-readonly",
        "dozzle",
        "watchtower",
        "prometheus",
    ] {
        let port = common::free_port();
        let (policy, config) = common::render_config(
            common::presets(&[preset]),
            port,
            common::free_port(),
            &lab.socket(),
        );
        let _proxy = lab.proxy(&format!("{preset}.cfg"), &config, port, &[]);
        let out = verify(&[
            &format!("tcp://127.0.0.1:{port}"),
            "--preset",
            preset,
            "--format",
            "json",
        ]);
        let report = json_report(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{preset}: {}\n{}",
            stderr(&out),
            report["summary"]
        );
        // Every probed grant reached podman; every probed route outside the policy was denied.
        let granted: BTreeSet<String> = policy.clients[0]
            .grants
            .iter()
            .map(|g| catalog.get(g.route).display())
            .collect();
        let reached = routes_where(&report, |r| r["observed"] == "allowed");
        let probed_granted: BTreeSet<String> = granted
            .iter()
            .filter(|g| !routes_where(&report, |r| !r["not_probed"].is_null()).contains(*g))
            .cloned()
            .collect();
        assert_eq!(reached, probed_granted, "{preset}");
        let summary = &report["summary"];
        assert_eq!(summary["mismatches"], 0, "{preset}");
        assert_eq!(summary["probed"], 119);
        assert_eq!(summary["requests"], 238);
        eprintln!(
            "verify {preset}: {} reached, {} denied, 0 mismatches",
            summary["allowed"], summary["denied"]
        );
    }
}

#[test]
fn unix_socket_listener() {
    let lab = Lab::start();
    let listener = lab.work.inner("proxy-{client}.sock");
    let mut options = common::loopback_options(0, common::free_port(), &lab.socket());
    options.listen = sockproxy_gen::render::Listen::Unix { path: listener };
    let health = options.health.rsplit(':').next().unwrap().parse().unwrap();
    let (_, config) = common::render_text(common::presets(&["traefik"]), options);
    let _proxy = lab.proxy("unix.cfg", &config, health, &[]);
    let socket = lab.work.host("proxy-traefik.sock");
    let out = verify(&[
        &format!("unix://{}", socket.display()),
        "--preset",
        "traefik",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}\n{}", stderr(&out));
    assert!(table.contains("0 mismatch(es)"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("GET /containers/json") && l.contains("allowed   allowed")),
        "{table}"
    );
}

/// Tecnativa's semantics with CONTAINERS=1 POST=1, judged against the same flags as sockproxy-gen
/// reads them: POST=1 opens DELETE and PUT on every enabled section too, and OPTIONS passes the
/// method gate and matches the `/_ping` rule.
#[test]
fn tecnativa_semantics_broad_fixture_shows_exactly_the_expected_mismatches() {
    let lab = Lab::start();
    let port = common::free_port();
    let socket = lab.socket();
    let port_text = port.to_string();
    let _proxy = lab.proxy(
        "tecnativa-style.cfg",
        include_str!("fixtures/tecnativa-style.cfg"),
        port,
        &[
            ("PORT", &port_text),
            ("SOCKET_PATH", socket.to_str().unwrap()),
            ("LOG_LEVEL", "info"),
            ("EVENTS", "1"),
            ("PING", "1"),
            ("VERSION", "1"),
            ("CONTAINERS", "1"),
            ("POST", "1"),
        ],
    );
    let out = verify(&[
        &format!("127.0.0.1:{port}"),
        "--flag",
        "CONTAINERS=1",
        "--flag",
        "POST=1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json_report(&out);
    let mismatched = routes_where(&report, |r| !r["mismatch"].is_null());
    let expected: BTreeSet<String> = [
        "DELETE /containers/{name}/checkpoints/{checkpoint}",
        "PUT /containers/{name}/archive",
        "DELETE /containers/{name}",
        "OPTIONS /{anyroute}",
    ]
    .map(String::from)
    .into();
    assert_eq!(mismatched, expected);
    assert_eq!(
        routes_where(&report, |r| r["mismatch"] == "over-grant"),
        expected
    );
    assert_eq!(report["summary"]["mismatches"], 4);

    // Expected from the config itself (lint's evaluator, with the same environment): no mismatch.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tecnativa-style.cfg"
    );
    let mut args = vec![
        format!("127.0.0.1:{port}"),
        "--config".into(),
        fixture.into(),
        "--format".into(),
        "json".into(),
    ];
    for kv in [
        format!("PORT={port}"),
        format!("SOCKET_PATH={}", socket.display()),
        "LOG_LEVEL=info".into(),
        "EVENTS=1".into(),
        "PING=1".into(),
        "VERSION=1".into(),
        "CONTAINERS=1".into(),
        "POST=1".into(),
    ] {
        args.push("--env".into());
        args.push(kv);
    }
    let out = verify(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_report(&out);
    assert_eq!(report["summary"]["mismatches"], 0);
    assert_eq!(report["summary"]["allowed"], 34, "{}", report["summary"]);
}

/// Sorted lines describing podman's containers, images, volumes and networks with labels.
fn podman_state() -> Vec<String> {
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
        assert!(out.status.success(), "podman {args:?}: {}", stderr(&out));
        lines.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from),
        );
    }
    lines.sort();
    lines
}

const PASS_THROUGH: &str = "\
global
    log stdout format raw local0 info
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend everything
    bind \"127.0.0.1:${PORT}\"
    default_backend docker
backend docker
    server podman \"${SOCKET_PATH}\"
";

#[test]
fn probes_change_nothing_behind_a_proxy_that_allows_everything() {
    ensure_image();
    let lab = Lab::start();
    let tag = format!("spg-verify-{}", std::process::id());
    // Objects a careless probe could remove or change: stopped containers, unused volumes and
    // networks (what prune would take), all labelled.
    for i in 0..2 {
        let out = podman(&[
            "create",
            "--name",
            &format!("{tag}-{i}"),
            "--label",
            "spg.test=verify",
            IMAGE,
            "/bin/busybox",
            "true",
        ]);
        assert!(out.status.success(), "podman create: {}", stderr(&out));
    }
    assert!(
        podman(&["volume", "create", "--label", "spg.test=verify", &tag])
            .status
            .success()
    );
    assert!(
        podman(&["network", "create", "--label", "spg.test=verify", &tag])
            .status
            .success()
    );
    let before = podman_state();

    let port = common::free_port();
    let port_text = port.to_string();
    let socket = lab.socket();
    let _proxy = lab.proxy(
        "pass-through.cfg",
        PASS_THROUGH,
        port,
        &[
            ("PORT", &port_text),
            ("SOCKET_PATH", socket.to_str().unwrap()),
        ],
    );
    let out = verify(&[
        &format!("tcp://127.0.0.1:{port}"),
        "--preset",
        "traefik",
        "--format",
        "json",
    ]);
    let report = json_report(&out);
    let after = podman_state();

    for i in 0..2 {
        podman(&["rm", "-f", &format!("{tag}-{i}")]);
    }
    podman(&["volume", "rm", &tag]);
    podman(&["network", "rm", &tag]);

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Every probe reached podman, none was denied: the probes, not the proxy, kept it safe.
    assert_eq!(report["summary"]["allowed"], 119, "{}", report["summary"]);
    assert_eq!(report["summary"]["denied"], 0);
    assert_eq!(report["summary"]["no_answer"], 0);
    assert!(
        before.iter().filter(|l| l.contains(&tag)).count() >= 4,
        "{before:#?}"
    );
    assert_eq!(before, after, "podman's state changed");
    eprintln!(
        "verify through a pass-through proxy: {} requests reached podman, state unchanged ({} objects compared)",
        report["summary"]["requests"],
        before.len()
    );
}

#[test]
fn probes_change_nothing_on_the_docker_engine_behind_a_proxy_that_allows_everything() {
    let lab = Lab::engine();
    let tag = engine::unique("spg-verify-");
    let label = format!("spg.test={tag}");
    // What a careless probe could remove or change: a running and a stopped container, an unused
    // volume and network (what prune would take), all labelled; and every image.
    engine::docker_ok(&[
        "run",
        "-d",
        "--name",
        &format!("{tag}-run"),
        "--label",
        &label,
        engine::BUSYBOX,
        "sleep",
        "300",
    ]);
    engine::docker_ok(&[
        "create",
        "--name",
        &format!("{tag}-stopped"),
        "--label",
        &label,
        engine::BUSYBOX,
        "true",
    ]);
    engine::docker_ok(&["volume", "create", "--label", &label, &tag]);
    engine::docker_ok(&["network", "create", "--label", &label, &tag]);
    let before = engine::state(&label);

    let port = common::free_port();
    let port_text = port.to_string();
    let socket = lab.socket();
    let proxy = lab.proxy(
        "pass-through.cfg",
        PASS_THROUGH,
        port,
        &[
            ("PORT", &port_text),
            ("SOCKET_PATH", socket.to_str().unwrap()),
        ],
    );
    let out = verify(&[
        &format!("tcp://127.0.0.1:{port}"),
        "--preset",
        "traefik",
        "--format",
        "json",
    ]);
    let report = json_report(&out);
    drop(proxy);
    let after = engine::state(&label);

    engine::docker(&["rm", "-f", &format!("{tag}-run"), &format!("{tag}-stopped")]);
    engine::docker(&["volume", "rm", &tag]);
    engine::docker(&["network", "rm", &tag]);

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report["summary"]["allowed"], 119, "{}", report["summary"]);
    assert_eq!(report["summary"]["denied"], 0);
    assert_eq!(report["summary"]["no_answer"], 0);
    assert_eq!(
        before.iter().filter(|l| l.contains(&tag)).count(),
        4,
        "{before:#?}"
    );
    assert_eq!(before, after, "the engine's state changed");
    eprintln!(
        "verify through a pass-through proxy: {} requests reached the Docker Engine, state unchanged ({} objects compared)",
        report["summary"]["requests"],
        before.len()
    );
}

#[test]
fn markdown_report() {
    let lab = Lab::start();
    let port = common::free_port();
    let (_, config) = common::render_config(
        common::presets(&["traefik"]),
        port,
        common::free_port(),
        &lab.socket(),
    );
    let _proxy = lab.proxy("traefik.cfg", &config, port, &[]);
    let report = lab.work.host("report.md");
    let out = verify(&[
        &format!("tcp://127.0.0.1:{port}"),
        "--preset",
        "traefik",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).unwrap();
    let date = regex::Regex::new(r"\| Date \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \|").unwrap();
    assert!(date.is_match(&text), "{text}");
    let text = date.replace(&text, "| Date | [date] |");
    let text = text.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:[port]");
    common::snapshot("verify-report-traefik", &text);
}

#[test]
fn clear_errors_for_targets_that_cannot_be_verified() {
    let refused = common::free_port();
    let cases: Vec<(String, Vec<&str>, i32, &str)> = vec![
        (
            format!("tcp://127.0.0.1:{refused}"),
            vec![],
            69,
            "cannot connect",
        ),
        (
            format!("127.0.0.1:{}", common::fake_server(None)),
            vec!["--timeout", "1"],
            69,
            "no answer within 1s",
        ),
        (
            format!("127.0.0.1:{}", common::fake_server(Some(b"SSH-2.0-OpenSSH_9.2\r\n"))),
            vec![],
            76,
            "does not answer HTTP",
        ),
        (
            format!(
                "127.0.0.1:{}",
                common::fake_server(Some(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                ))
            ),
            vec![],
            76,
            "without an Api-Version header",
        ),
        (
            format!(
                "127.0.0.1:{}",
                common::fake_server(Some(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                ))
            ),
            vec![],
            69,
            "its Docker socket does not answer",
        ),
        ("unix:///nonexistent/sockproxy.sock".into(), vec![], 69, "cannot connect"),
        ("tcp://127.0.0.1".into(), vec![], 64, "give the port"),
        ("https://127.0.0.1:2376".into(), vec![], 64, "only plain HTTP"),
    ];
    for (target, extra, code, message) in cases {
        let mut args = vec![target.as_str(), "--preset", "traefik"];
        args.extend(extra);
        let out = verify(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{target}: {err}");
        assert!(err.contains(message), "{target}: {err}");
        assert!(out.stdout.is_empty(), "{target}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn unknown_preset_is_a_usage_error_before_any_request() {
    let port = common::fake_server(None);
    let out = verify(&[&format!("127.0.0.1:{port}"), "--preset", "traefk"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        stderr(&out).contains("did you mean `traefik`"),
        "{}",
        stderr(&out)
    );
}
