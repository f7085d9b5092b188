//! Rendered configs: insta snapshots for every preset and several flag sets, and `haproxy -c`
//! with warnings fatal on HAProxy 2.6, 3.0 and 3.2.

use crate::common;

use sockproxy_gen::policy::PolicyInputs;
use sockproxy_gen::preset;
use sockproxy_gen::render::{Listen, LogFormat, RenderInputs, RenderOptions};

fn render_with(inputs: PolicyInputs, options: RenderOptions) -> String {
    common::render_text(inputs, options).1
}

fn flags(list: &[&str]) -> PolicyInputs {
    PolicyInputs {
        flags: list.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Every configuration the tests check: (name, (policy inputs, render options)).
fn all_cases() -> Vec<(String, (PolicyInputs, RenderOptions))> {
    let mut out = Vec::new();
    for name in preset::builtin_names() {
        out.push((
            format!("preset-{name}"),
            (common::presets(&[name]), RenderOptions::default()),
        ));
    }
    for (name, set) in flag_sets() {
        out.push((
            format!("flags-{name}"),
            (flags(set), RenderOptions::default()),
        ));
    }
    out.push((
        "multi-traefik-homepage-dozzle".into(),
        (
            common::presets(&["traefik", "homepage", "dozzle"]),
            RenderOptions::default(),
        ),
    ));
    out.push((
        "merged-traefik-homepage".into(),
        (
            PolicyInputs {
                merge: true,
                ..common::presets(&["traefik", "homepage"])
            },
            RenderOptions::default(),
        ),
    ));
    out.push((
        "options-json-ipv4".into(),
        (
            common::presets(&["traefik"]),
            RenderOptions {
                listen: Listen::Ipv4,
                log_format: LogFormat::Json,
                ..Default::default()
            },
        ),
    ));
    out.push((
        "options-address-v6".into(),
        (
            common::presets(&["traefik"]),
            RenderOptions {
                listen: Listen::Address {
                    address: "::1".into(),
                },
                port: 12375,
                ..Default::default()
            },
        ),
    ));
    out.push((
        "options-unix-listener".into(),
        (
            common::presets(&["traefik", "dozzle"]),
            RenderOptions {
                listen: Listen::Unix {
                    path: "/run/sockproxy/{client}.sock".into(),
                },
                socket: "/run/podman/podman.sock".into(),
                ..Default::default()
            },
        ),
    ));
    out
}

/// Every configuration the tests check: (name, config text).
fn all_configs() -> Vec<(String, String)> {
    all_cases()
        .into_iter()
        .map(|(name, (inputs, options))| (name, render_with(inputs, options)))
        .collect()
}

fn flag_sets() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("defaults-only", &["LOG_LEVEL=info"]),
        ("containers", &["CONTAINERS=1"]),
        (
            "containers-events-off",
            &["CONTAINERS=1", "EVENTS=0", "PING=0", "VERSION=0"],
        ),
        (
            "restarts-without-post",
            &["CONTAINERS=1", "ALLOW_RESTARTS=1"],
        ),
        (
            "watchtower-like",
            &[
                "CONTAINERS=1",
                "IMAGES=1",
                "NETWORKS=1",
                "POST=1",
                "DELETE=1",
            ],
        ),
        (
            "portainer-like",
            &[
                "CONTAINERS=1",
                "IMAGES=1",
                "VOLUMES=1",
                "NETWORKS=1",
                "INFO=1",
                "EXEC=1",
                "POST=1",
            ],
        ),
        (
            "swarm-read",
            &[
                "SERVICES=1",
                "TASKS=1",
                "NODES=1",
                "NETWORKS=1",
                "SWARM=1",
                "CONFIGS=1",
                "SECRETS=1",
            ],
        ),
    ]
}

#[test]
fn snapshots_of_every_preset_and_flag_set() {
    for (name, text) in all_configs() {
        common::snapshot(&format!("render-{name}"), &text);
    }
}

#[test]
fn haproxy_check_passes_without_warnings_on_every_version() {
    let configs = all_configs();
    let mut checked = 0;
    for haproxy in common::haproxies() {
        let work = haproxy.workdir();
        for (name, text) in &configs {
            let file = format!("{name}.cfg");
            std::fs::write(work.host(&file), text).unwrap();
            let out = haproxy.check(&work.inner(&file));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !stderr.contains("WARNING") && !stderr.contains("ALERT"),
                "HAProxy {} rejects or warns on {name}:\n{stderr}",
                haproxy.version
            );
            checked += 1;
        }
    }
    println!("haproxy -c -dW: {checked} configs x versions passed with no warning");
    assert!(checked >= 3 * 30);
}

#[test]
fn structural_guarantees_hold_for_every_config() {
    for (name, text) in all_configs() {
        let directives: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        // 9: keep-alive to the daemon.
        assert!(
            directives
                .iter()
                .all(|l| !l.contains("http-server-close") && !l.contains("httpclose")),
            "{name}"
        );
        // 3: no prefix rules, every path rule anchored at both ends.
        for line in text.lines().filter(|l| l.contains("var(txn.spg_route) -m")) {
            assert!(
                !line.contains("-m beg") && !line.contains("-m sub"),
                "{name}: {line}"
            );
            if line.contains("-m reg") {
                let pattern = line
                    .rsplit("-m reg ")
                    .next()
                    .unwrap()
                    .trim_end_matches(" }");
                assert!(
                    pattern.starts_with('^') && pattern.ends_with('$'),
                    "{name}: unanchored {pattern}"
                );
            }
        }
        // 12: the header records version and inputs.
        assert!(
            text.contains(&format!("sockproxy-gen {}", sockproxy_gen::VERSION)),
            "{name}"
        );
        assert!(text.contains("# sockproxy-gen-inputs: {"), "{name}");
        // 10: health frontend on loopback.
        assert!(
            text.contains("monitor-uri /healthz") && text.contains("bind 127.0.0.1:8404"),
            "{name}"
        );
        // 6: backends speak HTTP/1.1 only.
        assert!(directives.iter().all(|l| !l.contains("proto h2")), "{name}");
    }
}

#[test]
fn header_inputs_round_trip() {
    let text = render_with(common::presets(&["traefik"]), RenderOptions::default());
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("# sockproxy-gen-inputs: "))
        .unwrap();
    let inputs: RenderInputs = serde_json::from_str(json).unwrap();
    assert_eq!(inputs.policy.presets, vec!["traefik"]);
    assert_eq!(inputs.options, RenderOptions::default());
}

/// Sends one request on a fresh connection and returns (status, body).
fn ask(stream: &mut (impl std::io::Read + std::io::Write), path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// Every rendered config also runs: on every HAProxy version, each client frontend answers a
/// request outside its policy with its own 403 (naming that client), and `/healthz` answers
/// from the health frontend only. The same inputs and options as the snapshots, with ports,
/// unix paths and the Docker socket moved into the test's own space.
#[test]
fn every_config_answers_live_from_the_right_frontend() {
    use std::os::unix::net::UnixStream;
    use std::time::Duration;
    let catalog = sockproxy_gen::catalog::Catalog::builtin();
    let mut frontends = 0;
    for haproxy in common::haproxies() {
        let work = haproxy.workdir();
        let _daemon = common::backend::RecordingBackend::start(&work.host("docker.sock"));
        for (name, (inputs, options)) in all_cases() {
            let policy = sockproxy_gen::policy::Policy::build(catalog, &inputs).unwrap();
            let clients: Vec<String> = policy.clients.iter().map(|c| c.name.clone()).collect();
            let base = common::free_ports(clients.len() as u16);
            let health = common::free_port();
            let live = RenderOptions {
                port: base,
                health: format!("127.0.0.1:{health}"),
                socket: work.inner("docker.sock"),
                listen: match &options.listen {
                    Listen::Unix { .. } => Listen::Unix {
                        path: work.inner("{client}.sock"),
                    },
                    other => other.clone(),
                },
                ..options.clone()
            };
            let text = render_with(inputs, live.clone());
            let file = format!("{name}.cfg");
            std::fs::write(work.host(&file), text).unwrap();
            let running = haproxy.spawn(&work.inner(&file), health);
            common::wait_for_healthz(health, 200, &format!("{name} on {}", haproxy.version));
            for (index, client) in clients.iter().enumerate() {
                let port = base + index as u16;
                let (status, body) = match &live.listen {
                    Listen::Unix { .. } => {
                        let path = work.host(&format!("{client}.sock"));
                        common::wait_for_path(&path);
                        let mut s = UnixStream::connect(&path).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        ask(&mut s, "/healthz")
                    }
                    Listen::Address { address } if address.contains(':') => {
                        let mut s = std::net::TcpStream::connect((address.as_str(), port)).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        ask(&mut s, "/healthz")
                    }
                    _ => {
                        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        ask(&mut s, "/healthz")
                    }
                };
                // `/healthz` is not a Docker route: the client's frontend denies it, by name.
                assert_eq!(
                    status, 403,
                    "{name} on {}: client {client}: {body}",
                    haproxy.version
                );
                assert!(
                    body.contains(&format!("is not allowed for client {client} ")),
                    "{name} on {}: port {port} did not answer as client {client}: {body}",
                    haproxy.version
                );
                frontends += 1;
            }
            drop(running);
        }
    }
    println!("{frontends} client frontends answered as themselves, with /healthz on its own port");
    assert!(frontends >= 3 * 30);
}
