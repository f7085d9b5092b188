//! `sockproxy-gen verify` against real HAProxy (2.6, the host's) in front of the real Docker
//! Engine and of podman.
//!
//! Every test here only sends verify's probes, which are harmless, so they may run side by side;
//! the safety tests prove that claim by comparing the engine's and podman's state before and after.

use crate::common;

use std::collections::BTreeSet;
use std::process::Output;

use common::podman::ensure_image;
use common::real_daemon::Daemon;
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
    _daemon: Option<Running>,
    haproxy: Haproxy,
}

impl Lab {
    fn new(daemon: Daemon) -> Lab {
        let haproxy = host_haproxy();
        let work = haproxy.workdir();
        let running = daemon.socket_at(&work.host("daemon.sock"));
        Lab {
            work,
            _daemon: running,
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
    rendered_presets_have_no_mismatch(Lab::new(Daemon::Podman));
}

#[test]
fn rendered_presets_have_no_mismatch_in_front_of_the_docker_engine() {
    rendered_presets_have_no_mismatch(Lab::new(Daemon::Engine));
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
        // Two per probed route, and the body-guard probes of the routes that take a body.
        let body_probes: usize = report["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["body_probes"].as_array())
            .map(Vec::len)
            .sum();
        assert_eq!(summary["requests"], 238 + body_probes as u64);
        assert_eq!(summary["unguarded_bodies"], 0, "{preset}");
        eprintln!(
            "verify {preset}: {} reached, {} denied, 0 mismatches",
            summary["allowed"], summary["denied"]
        );
    }
}

#[test]
fn unix_socket_listener() {
    let lab = Lab::new(Daemon::Podman);
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
/// method gate and matches the `/_ping` rule; create, start and exec take privileged bodies.
#[test]
fn tecnativa_semantics_broad_fixture_shows_exactly_the_expected_mismatches() {
    let lab = Lab::new(Daemon::Podman);
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
    // Its create, start and exec let a privileged body through (no body guard).
    let unguarded: BTreeSet<String> = [
        "POST /containers/create",
        "POST /containers/{name}/start",
        "POST /containers/{name}/exec",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        mismatched,
        expected.union(&unguarded).cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(
        routes_where(&report, |r| r["mismatch"] == "over-grant"),
        expected
    );
    assert_eq!(
        routes_where(&report, |r| r["mismatch"] == "unguarded-body"),
        unguarded
    );
    assert_eq!(report["summary"]["mismatches"], 7);

    // Expected from the config itself (lint's evaluator, with the same environment): no route
    // mismatch; only the bodies the config does not guard.
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json_report(&out);
    assert_eq!(
        routes_where(&report, |r| !r["mismatch"].is_null()),
        unguarded
    );
    assert_eq!(report["summary"]["unguarded_bodies"], 3);
    assert_eq!(report["summary"]["allowed"], 34, "{}", report["summary"]);
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
    probes_change_nothing(Daemon::Podman);
}

#[test]
fn probes_change_nothing_on_the_docker_engine_behind_a_proxy_that_allows_everything() {
    probes_change_nothing(Daemon::Engine);
}

/// verify's probes for traefik through a proxy that forwards everything: every probe reaches
/// the daemon, and the daemon's state is as it was.
fn probes_change_nothing(daemon: Daemon) {
    let lab = Lab::new(daemon);
    let tag = engine::unique("spg-verify-");
    let label = format!("spg.test={tag}");
    // What a careless probe could remove or change: containers (on the engine a running and a
    // stopped one, on podman two stopped ones), an unused volume and network (what prune would
    // take), all labelled; and every image.
    let image = daemon.image();
    let containers: Vec<(String, Vec<&str>, Vec<&str>)> = match daemon {
        Daemon::Engine => vec![
            (
                format!("{tag}-run"),
                vec!["run", "-d"],
                vec![image, "sleep", "300"],
            ),
            (
                format!("{tag}-stopped"),
                vec!["create"],
                vec![image, "true"],
            ),
        ],
        Daemon::Podman => (0..2)
            .map(|i| {
                (
                    format!("{tag}-{i}"),
                    vec!["create"],
                    vec![image, "/bin/busybox", "true"],
                )
            })
            .collect(),
    };
    for (name, verb, command) in &containers {
        let labelled = ["--name", name, "--label", &label];
        daemon.admin_ok(&[&verb[..], &labelled, &command[..]].concat());
    }
    daemon.admin_ok(&["volume", "create", "--label", &label, &tag]);
    daemon.admin_ok(&["network", "create", "--label", &label, &tag]);
    let before = daemon.state(&label);

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
    let after = daemon.state(&label);

    let mut rm = vec!["rm", "-f"];
    rm.extend(containers.iter().map(|(name, _, _)| name.as_str()));
    daemon.admin(&rm);
    daemon.admin(&["volume", "rm", &tag]);
    daemon.admin(&["network", "rm", &tag]);

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Every probe reached the daemon, none was denied: the probes, not the proxy, kept it safe.
    assert_eq!(report["summary"]["allowed"], 119, "{}", report["summary"]);
    assert_eq!(report["summary"]["denied"], 0);
    assert_eq!(report["summary"]["no_answer"], 0);
    let tagged = before.iter().filter(|l| l.contains(&tag)).count();
    match daemon {
        Daemon::Engine => assert_eq!(tagged, 4, "{before:#?}"),
        Daemon::Podman => assert!(tagged >= 4, "{before:#?}"),
    }
    assert_eq!(before, after, "{}'s state changed", daemon.name());
    eprintln!(
        "verify through a pass-through proxy: {} requests reached {}, state unchanged ({} objects compared)",
        report["summary"]["requests"],
        daemon.name(),
        before.len()
    );
}

#[test]
fn markdown_report() {
    let lab = Lab::new(Daemon::Podman);
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
