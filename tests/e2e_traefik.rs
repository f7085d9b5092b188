//! Real Traefik 3.7 as the client of the traefik preset, through the generated stack on the real
//! Docker Engine: it discovers labelled containers and follows their start and stop events, and
//! the proxy denies none of its requests.

use std::time::{Duration, Instant};

use crate::common::engine::{self, Compose, Project};
use crate::common::{self, cli, path_arg};

/// The container's address on the project's `default` network (the host reaches it there).
fn address(container: &str) -> String {
    engine::docker_ok(&[
        "inspect",
        "-f",
        "{{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}} {{end}}",
        container,
    ])
    .split(' ')
    .find_map(|pair| {
        let (net, ip) = pair.split_once('=')?;
        net.ends_with("_default").then(|| ip.to_string())
    })
    .unwrap_or_else(|| panic!("{container} is not on the default network"))
}

/// Traefik's routers, from its API (`--api.insecure` on :8080).
fn routers(ip: &str) -> Option<serde_json::Value> {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-m",
            "3",
            &format!("http://{ip}:8080/api/http/routers"),
        ])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Waits until Traefik's routers include (or lack) `name`.
fn wait_for_router(ip: &str, name: &str, present: bool) {
    let start = Instant::now();
    loop {
        let seen = routers(ip);
        let has = seen.as_ref().is_some_and(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"].as_str().is_some_and(|n| n.starts_with(name)))
        });
        if has == present {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Traefik never {} router {name}: {seen:?}",
            if present { "showed" } else { "dropped" }
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn real_traefik_discovers_and_follows_containers_through_the_proxy() {
    real_traefik(&[]);
}

/// The same through Traefik's own socket (isolation): its volume at /var/run, Traefik's default
/// endpoint, a proxy without a network.
#[test]
fn real_traefik_on_its_own_socket() {
    real_traefik(&["--isolate"]);
}

/// `layout`: the isolation options given to render and compose.
fn real_traefik(layout: &[&str]) {
    let project = Project::new(Compose::V2);
    let dir = project.dir.path();
    let sock = engine::socket();
    cli()
        .current_dir(dir)
        .args(["env", "--socket", path_arg(&sock)])
        .assert()
        .success();
    // The config in a directory of its own, which the proxy mounts (README).
    std::fs::create_dir_all(dir.join("sockproxy")).unwrap();
    cli()
        .current_dir(dir)
        .args([
            "render",
            "--preset",
            "traefik",
            "-o",
            "sockproxy/haproxy.cfg",
        ])
        .args(layout)
        .assert()
        .success();
    cli()
        .current_dir(dir)
        .args(["compose", "--preset", "traefik", "-o", "compose.yaml"])
        .args(["--socket", path_arg(&sock)])
        .args(layout)
        .assert()
        .success();
    let generated: serde_json::Value = serde_json::from_str(&project.run_ok(&[
        "-f",
        "compose.yaml",
        "config",
        "--format",
        "json",
    ]))
    .unwrap();
    // The generated endpoint, and Traefik's API to watch what it discovered.
    let mut command: Vec<String> = generated["services"]["traefik"]["command"]
        .as_array()
        .map(|c| c.iter().map(|a| a.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    if !command.iter().any(|a| a.starts_with("--providers.docker")) {
        command.push("--providers.docker.endpoint=unix:///var/run/docker.sock".into());
    }
    command.extend([
        "--api.insecure=true".into(),
        "--providers.docker.exposedbydefault=false".into(),
        "--log.level=DEBUG".into(),
        // No registry or internet here: no version check, no usage report.
        "--global.checknewversion=false".into(),
        "--global.sendanonymoususage=false".into(),
    ]);
    let mut over = format!(
        "services:\n  traefik:\n    image: {}\n    command:\n",
        engine::TRAEFIK
    );
    for a in &command {
        over.push_str(&format!("      - \"{a}\"\n"));
    }
    project.write("override.yaml", &over);
    project.run_ok(&["-f", "compose.yaml", "-f", "override.yaml", "up", "-d"]);
    project.wait_healthy("sockproxy", Duration::from_secs(60));
    let traefik = project.container("traefik");
    let ip = address(&traefik);

    // A labelled container started after Traefik: Traefik learns of it from /events and
    // inspects it; stopped, it disappears.
    let app = engine::unique("spg-traefik-app-");
    let rule = format!("traefik.http.routers.{app}.rule=Host(`{app}.test`)");
    let network = format!("{}_default", project.name);
    engine::docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        "--network",
        &network,
        "--label",
        "traefik.enable=true",
        "--label",
        &rule,
        "--label",
        &format!("traefik.http.services.{app}.loadbalancer.server.port=8000"),
        engine::BUSYBOX,
        "httpd",
        "-f",
        "-p",
        "8000",
    ]);
    wait_for_router(&ip, &app, true);
    engine::docker_ok(&["stop", "-t", "1", &app]);
    wait_for_router(&ip, &app, false);
    engine::docker_ok(&["start", &app]);
    wait_for_router(&ip, &app, true);
    engine::docker(&["rm", "-f", &app]);

    // A stream is logged when it ends: stop Traefik so its /events request is in the log.
    engine::docker_ok(&["stop", "-t", "5", &traefik]);
    // HAProxy writes the line when it sees the connection close: give a loaded machine time.
    let proxy_logs =
        || common::output_text(&engine::docker(&["logs", &project.container("sockproxy")]));
    let start = Instant::now();
    let mut logs = proxy_logs();
    while !logs.contains("rule=allow:GET:/events") && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(500));
        logs = proxy_logs();
    }
    let traefik_lines: Vec<&str> = logs.lines().filter(|l| l.contains(" traefik ")).collect();
    assert!(
        traefik_lines
            .iter()
            .any(|l| l.contains("rule=allow:GET:/events")),
        "Traefik did not watch events through the proxy:\n{logs}"
    );
    assert!(
        traefik_lines
            .iter()
            .any(|l| l.contains("rule=allow:GET:/containers/{name}/json")
                || l.contains("/json\" 200")),
        "{logs}"
    );
    let denied: Vec<&&str> = traefik_lines
        .iter()
        .filter(|l| l.contains("rule=deny"))
        .collect();
    assert!(denied.is_empty(), "the proxy denied Traefik: {denied:#?}");
    let traefik_log = common::output_text(&engine::docker(&["logs", &traefik]));
    assert!(
        // Our denial names the client; the daemon's own errors (another test's container
        // removed while Traefik inspects it) are not the proxy's doing. The proxy log above
        // already shows no denial.
        !traefik_log.contains("is not allowed for client traefik"),
        "Traefik saw a refusal: {traefik_log}"
    );
    if !layout.is_empty() {
        let proxy = project.container("sockproxy");
        let mode = engine::docker_ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &proxy]);
        assert_eq!(
            mode, "none",
            "the proxy of a socket-only stack has no network"
        );
        let generated_command = generated["services"]["traefik"]["command"].to_string();
        assert!(
            generated_command.contains("--providers.docker.endpoint=unix:///var/run/docker.sock"),
            "{generated_command}"
        );
    }
    println!(
        "real Traefik 3.7 {layout:?}: discovered, dropped and re-discovered {app} through the proxy; {} requests, 0 denied",
        traefik_lines.len()
    );
}
