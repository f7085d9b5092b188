//! End to end on each HAProxy version: the rendered traefik config in front of a real daemon,
//! driven by the `docker` CLI and by docker-py. The daemons: the real Docker Engine (moby), and
//! podman's Docker-compatible service as the second.

use crate::common;

use std::process::Command;

use common::podman::{docker, ensure_image};
use common::real_daemon::Daemon;
use common::{engine, Haproxy};

fn run_flows(haproxy: &Haproxy, daemon: Daemon) {
    let work = haproxy.workdir();
    let _daemon = daemon.socket_at(&work.host("daemon.sock"));
    let image = daemon.image();
    let name = engine::unique(&format!("spg-e2e-{}-", haproxy.line().replace('.', "")));
    let since = common::now() - 1;
    let created = daemon.admin(&[
        "create",
        "--name",
        &name,
        "--label",
        "spg.test=e2e",
        "--label",
        "traefik.enable=true",
        image,
        "/bin/busybox",
        "sleep",
        "60",
    ]);
    assert!(
        created.status.success(),
        "{daemon:?} create: {}",
        common::output_text(&created)
    );
    let port = common::free_port();
    let (_, config) = common::render_config(
        common::presets(&["traefik"]),
        port,
        common::free_port(),
        &work.inner("daemon.sock"),
    );
    std::fs::write(work.host("haproxy.cfg"), config).unwrap();
    let proxy = haproxy.spawn(&work.inner("haproxy.cfg"), port);
    let cfg = tempfile::tempdir().unwrap();
    let v = &format!("{} on {daemon:?}", haproxy.version);

    // Allowed: what Traefik does, through the docker CLI.
    let ps = docker(
        port,
        cfg.path(),
        &["ps", "-a", "--format", "{{.Names}} {{.Labels}}"],
    );
    assert!(
        ps.status.success(),
        "HAProxy {v}: docker ps -a failed: {}",
        common::output_text(&ps)
    );
    let ps_out = common::output_text(&ps);
    assert!(
        ps_out.contains(&name) && ps_out.contains("spg.test=e2e"),
        "HAProxy {v}: ps -a lacks the container: {ps_out}"
    );
    let inspect = docker(
        port,
        cfg.path(),
        &[
            "inspect",
            &name,
            "--format",
            "{{index .Config.Labels \"spg.test\"}}",
        ],
    );
    assert!(
        inspect.status.success() && common::output_text(&inspect).trim() == "e2e",
        "HAProxy {v}: inspect: {}",
        common::output_text(&inspect)
    );
    let version = docker(
        port,
        cfg.path(),
        &["version", "--format", "{{.Server.APIVersion}}"],
    );
    assert!(
        version.status.success() && !common::output_text(&version).trim().is_empty(),
        "HAProxy {v}: version: {}",
        common::output_text(&version)
    );
    let until = common::now() + 1;
    let events = docker(
        port,
        cfg.path(),
        &[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
        ],
    );
    assert!(
        events.status.success(),
        "HAProxy {v}: events: {}",
        common::output_text(&events)
    );

    // Refused with 403 and our JSON message, which the CLI prints.
    for args in [
        vec!["run", "--rm", image, "/bin/busybox", "true"],
        vec!["exec", &name, "/bin/busybox", "true"],
        vec!["rm", &name],
        vec!["network", "create", "spg-e2e-net"],
        vec!["volume", "ls"],
    ] {
        let out = docker(port, cfg.path(), &args);
        let t = common::output_text(&out);
        assert!(
            !out.status.success(),
            "HAProxy {v}: docker {args:?} should fail: {t}"
        );
        assert!(
            t.contains("sockproxy-gen: ") && t.contains("is not allowed for client traefik"),
            "HAProxy {v}: docker {args:?} did not print our message: {t}"
        );
    }

    // The same flows with docker-py.
    let py = Command::new(common::SYSTEM_PYTHON)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/e2e/dockerpy_flows.py"
        ))
        .args([
            port.to_string(),
            name.clone(),
            since.to_string(),
            (common::now() + 1).to_string(),
            image.to_string(),
        ])
        .output()
        .expect("python3 with docker-py (.ci/run installs python3-docker)");
    assert!(
        py.status.success(),
        "HAProxy {v}: docker-py flows failed: {}",
        common::output_text(&py)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&py.stdout).expect("docker-py prints JSON");
    assert!(
        result["listed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == name.as_str()),
        "HAProxy {v}: {result}"
    );
    assert_eq!(result["labels"]["spg.test"], "e2e", "HAProxy {v}: {result}");
    assert!(
        result["server_version"].is_string(),
        "HAProxy {v}: {result}"
    );
    for (call, outcome) in result["denied"].as_object().unwrap() {
        assert_eq!(
            outcome["status"], 403,
            "HAProxy {v}: docker-py {call}: {outcome}"
        );
        let explanation = outcome["explanation"].as_str().unwrap_or("");
        assert!(
            explanation.contains("is not allowed for client traefik"),
            "HAProxy {v}: docker-py {call}: {explanation}"
        );
    }

    // Every request was logged with its verdict and rule; denials included.
    let log = proxy.stop();
    assert!(
        log.contains("rule=allow:GET:/containers/json"),
        "HAProxy {v}: log lacks allowed lines:\n{log}"
    );
    assert!(
        log.contains("rule=deny:not-in-policy") && log.contains(" 403 "),
        "HAProxy {v}: log lacks denials:\n{log}"
    );
    let _ = daemon.admin(&["rm", "-f", &name]);
    println!("HAProxy {v}: docker CLI and docker-py flows through the traefik config: ok");
}

#[test]
fn traefik_config_in_front_of_the_docker_engine() {
    for haproxy in common::haproxies() {
        run_flows(&haproxy, Daemon::Engine);
    }
}

#[test]
fn traefik_config_in_front_of_podman() {
    ensure_image();
    for haproxy in common::haproxies() {
        run_flows(&haproxy, Daemon::Podman);
    }
}

/// A client that may create and start but not attach (the watchtower preset): `docker run -d`
/// works; `docker run` without -d is refused the attach, and the CLI shows only the status, as
/// README and render's warning say.
#[test]
fn create_without_attach_on_the_docker_engine() {
    let haproxy = common::haproxies().remove(0);
    let work = haproxy.workdir();
    let _ = Daemon::Engine.socket_at(&work.host("daemon.sock"));
    let port = common::free_port();
    let (policy, config) = common::render_config(
        common::presets(&["watchtower"]),
        port,
        common::free_port(),
        &work.inner("daemon.sock"),
    );
    assert!(
        policy
            .notices
            .iter()
            .any(|n| n.message.contains("may create containers but not attach")),
        "{:?}",
        policy.notices
    );
    std::fs::write(work.host("haproxy.cfg"), config).unwrap();
    let proxy = haproxy.spawn(&work.inner("haproxy.cfg"), port);
    let cfg = tempfile::tempdir().unwrap();
    let detached = engine::unique("spg-attach-d-");
    let out = docker(
        port,
        cfg.path(),
        &["run", "-d", "--name", &detached, engine::BUSYBOX, "true"],
    );
    assert!(
        out.status.success(),
        "docker run -d: {}",
        common::output_text(&out)
    );
    let attached = engine::unique("spg-attach-");
    let out = docker(
        port,
        cfg.path(),
        &["run", "--name", &attached, engine::BUSYBOX, "true"],
    );
    let t = common::output_text(&out);
    assert!(
        !out.status.success() && t.contains("unable to upgrade to tcp, received 403"),
        "{t}"
    );
    let state = engine::docker_ok(&["inspect", "-f", "{{.State.Status}}", &attached]);
    assert_eq!(state, "created");
    engine::docker(&["rm", "-f", &detached, &attached]);
    let log = proxy.stop();
    assert!(
        log.lines()
            .any(|l| l.contains("/attach") && l.contains(" 403 ") && l.contains("rule=deny:")),
        "{log}"
    );
}
