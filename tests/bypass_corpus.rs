//! The bypass corpus: thousands of crafted requests through real HAProxy (2.6, 3.0, 3.2) with
//! the rendered config, to a recording backend. Every request that reached the backend is
//! judged by the daemon's own routing rules (tests/common/daemon.rs): it fails if any handler
//! outside the client's policy would run, if anything docs/design.md section 3 says to refuse
//! got through, or if any legitimate request of the policy was denied.

use crate::common;

use std::collections::HashMap;

use common::backend::RecordingBackend;
use common::corpus::{self, Probe};
use common::daemon::{DaemonRouter, Outcome};
use sockproxy_gen::catalog::{Catalog, Method};
use sockproxy_gen::policy::{ClientPolicy, PolicyInputs};

/// (probe id, probe, status the client saw)
type Sent = (usize, Probe, u16);

#[derive(Default, Debug)]
struct Counts {
    sent: usize,
    reached: usize,
    denied_403: usize,
    refused_400: usize,
    other_status: usize,
    legit: usize,
    legit_ok: usize,
}

fn inputs() -> PolicyInputs {
    PolicyInputs {
        presets: [
            "traefik",
            "watchtower",
            "dozzle-actions",
            "portainer-readonly",
        ]
        .map(String::from)
        .to_vec(),
        // A broad Tecnativa-style set: POST and DELETE on containers, exec, restarts.
        flags: [
            "CONTAINERS=1",
            "POST=1",
            "DELETE=1",
            "EXEC=1",
            "ALLOW_RESTARTS=1",
        ]
        .map(String::from)
        .to_vec(),
        ..Default::default()
    }
}

/// Why a probe that reached the backend should not have, if it should not.
fn violation(
    catalog: &Catalog,
    router: &DaemonRouter,
    client: &ClientPolicy,
    probe: &Probe,
    seen: &common::backend::Recorded,
) -> Option<String> {
    if probe.must_refuse {
        return Some(format!("must be refused ({})", probe.kind));
    }
    let upgrade = seen
        .message
        .header("upgrade")
        .unwrap_or("")
        .to_ascii_lowercase();
    if upgrade.contains("h2c")
        || seen
            .message
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/grpc"))
    {
        return Some("h2c or gRPC reached the daemon".into());
    }
    match router.route(&seen.method, &seen.target) {
        Outcome::Handler(i) => {
            let r = &router.routes[i];
            let granted = Method::parse(&r.method)
                .and_then(|m| catalog.find(m, &r.template))
                .is_some_and(|ours| client.allows(ours.id));
            if !granted {
                return Some(format!(
                    "daemon would run {} {} (not granted)",
                    r.method, r.template
                ));
            }
            let hijack = catalog
                .find(Method::parse(&r.method).unwrap(), &r.template)
                .unwrap()
                .traits
                .hijack;
            let connection = seen
                .message
                .header("connection")
                .unwrap_or("")
                .to_ascii_lowercase();
            if !hijack && (!upgrade.is_empty() || connection.contains("upgrade")) {
                return Some(format!(
                    "upgrade passed to non-hijacking {} {}",
                    r.method, r.template
                ));
            }
            None
        }
        _ => None,
    }
}

/// Sends the corpus through `haproxy` with the rendered config (after `mutate`), returns the
/// report line and the failures.
fn run_corpus(
    haproxy: &common::Haproxy,
    attacks: &[Probe],
    mutate: impl Fn(String) -> String,
) -> (String, Vec<String>) {
    let catalog = Catalog::builtin();
    let router = DaemonRouter::load();
    let mut failures = Vec::new();
    let work = haproxy.workdir();
    let backend = RecordingBackend::start(&work.host("backend.sock"));
    let clients = 5;
    let port = common::free_ports(clients);
    let (policy, config) = common::render_config(
        inputs(),
        port,
        common::free_port(),
        &work.inner("backend.sock"),
    );
    assert_eq!(policy.clients.len(), clients as usize);
    std::fs::write(work.host("haproxy.cfg"), mutate(config)).unwrap();
    let proxy = haproxy.spawn(&work.inner("haproxy.cfg"), port);
    // Each client frontend gets the legitimate requests of its policy and every attack;
    // clients run in parallel, ids are unique across them.
    let results: Vec<(usize, Vec<Sent>)> = std::thread::scope(|s| {
        let handles: Vec<_> = policy
            .clients
            .iter()
            .enumerate()
            .map(|(ci, client)| {
                s.spawn(move || {
                    let mut http = common::HttpClient::new(port + ci as u16);
                    let mut probes = corpus::legitimate(catalog, client);
                    probes.extend(attacks.iter().cloned());
                    let sent: Vec<Sent> = probes
                        .into_iter()
                        .enumerate()
                        .map(|(i, probe)| {
                            let id = ci * 1_000_000 + i;
                            let (status, _) = http.send(&probe.to_bytes(id));
                            (id, probe, status)
                        })
                        .collect();
                    (ci, sent)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    drop(proxy);
    let seen: HashMap<usize, common::backend::Recorded> = backend
        .take()
        .into_iter()
        .filter_map(|r| {
            r.message
                .header("x-spg-probe")
                .and_then(|v| v.parse().ok())
                .map(|id| (id, r))
        })
        .collect();
    let mut counts = Counts::default();
    let mut odd = Vec::new();
    for (ci, sent) in &results {
        let client = &policy.clients[*ci];
        for (id, probe, status) in sent {
            counts.sent += 1;
            let reached = seen.get(id);
            match (reached, status) {
                (Some(_), _) => counts.reached += 1,
                (None, 403) => counts.denied_403 += 1,
                (None, 400) => counts.refused_400 += 1,
                (None, _) => {
                    counts.other_status += 1;
                    odd.push(format!(
                        "{} {} [{}] -> {status}",
                        probe.method, probe.target, probe.kind
                    ));
                }
            }
            if probe.kind == "legitimate" {
                counts.legit += 1;
                if reached.is_some() && *status == 200 {
                    counts.legit_ok += 1;
                } else {
                    failures.push(format!(
                        "HAProxy {} client {}: legitimate {} {} denied ({status})",
                        haproxy.version, client.name, probe.method, probe.target
                    ));
                }
            }
            if let Some(seen) = reached {
                if let Some(why) = violation(catalog, &router, client, probe, seen) {
                    failures.push(format!(
                        "HAProxy {} client {}: {} {} [{}] reached the backend as {} {} {:?}: {why}",
                        haproxy.version,
                        client.name,
                        probe.method,
                        probe.target,
                        probe.kind,
                        seen.method,
                        seen.target,
                        seen.message.headers
                    ));
                }
            }
        }
    }
    let mut line = format!(
        "HAProxy {:<8} sent {:>6}  reached backend {:>5}  denied 403 {:>6}  refused 400 {:>5}  other {:>3}  legitimate ok {}/{}  violations {}",
        haproxy.version, counts.sent, counts.reached, counts.denied_403, counts.refused_400, counts.other_status, counts.legit_ok, counts.legit, failures.len()
    );
    if !odd.is_empty() {
        // Not a bypass, but every request should be answered by the proxy or the backend.
        line.push_str(&format!(
            "\n  other statuses, e.g.: {:?}",
            &odd[..odd.len().min(5)]
        ));
    }
    (line, failures)
}

#[test]
fn bypass_corpus_through_real_haproxy() {
    let attacks = corpus::attacks(Catalog::builtin());
    let mut failures = Vec::new();
    println!("bypass corpus: {} attack requests per client frontend, 5 frontends, plus each policy's legitimate requests", attacks.len());
    for haproxy in common::haproxies() {
        let (line, f) = run_corpus(&haproxy, &attacks, |c| c);
        println!("{line}");
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} violations, first 40:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The corpus must catch the classic mistakes: with the inspect rule turned into a prefix
/// rule and the canonical-path refusal removed, violations appear.
#[test]
fn corpus_catches_a_weakened_config() {
    let attacks = corpus::attacks(Catalog::builtin());
    let haproxy = common::haproxies().into_iter().next().unwrap();
    let weaken = |config: String| {
        let weakened = config
            .replace(
                "-m reg ^/containers/[^/]+(/[^/]+)*/json$",
                "-m beg /containers/",
            )
            .lines()
            .filter(|l| !l.contains("refuse:non-canonical-path"))
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        assert_ne!(weakened, config, "the weakening must change the config");
        weakened
    };
    let (line, failures) = run_corpus(&haproxy, &attacks, weaken);
    println!("weakened config: {line}");
    assert!(
        failures
            .iter()
            .any(|f| f.contains("daemon would run GET /containers/{name:.*}/archive")),
        "a prefix rule must let archive through: {line}"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("must be refused (dot-dot")),
        "traversal must be caught: {line}"
    );
}
