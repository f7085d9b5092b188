//! The lint evaluator against real HAProxy (2.6, 3.0 and 3.2): for every (config, request) pair, the
//! evaluator's verdict (forwarded to a server, or answered by HAProxy) must equal what HAProxy
//! does. Configs: every preset rendered, fixtures with Tecnativa's and with linuxserver's
//! semantics under several flag sets (each on top of the defaults lint judges it with), and
//! hand-written fixtures in common styles (among them tcp-request rules of every phase and a
//! tcp-mode listener that forwards to frontends of its own file), and ACLs whose patterns are in
//! `-f` files read as lint reads them. Requests: every catalog route with version prefixes,
//! paths of Podman's `/libpod` API, and the bypass corpus. A tcp-mode frontend picks its backend once
//! per connection, so each request to one opens its own connection.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use common::backend::RecordingBackend;
use common::corpus::{self, Probe};
use common::Haproxy;
use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::haproxy::eval::{self, Mode, Request};
use sockproxy_gen::haproxy::syntax::{self, Env};
use sockproxy_gen::haproxy::version::Version;

/// One HAProxy process: a config, its environment, and the frontend behind each port.
struct Case {
    name: String,
    text: String,
    env: Env,
    /// (port, frontend name)
    frontends: Vec<(u16, String)>,
}

/// Paths of Podman's own API (`/libpod/...`), which linuxserver's template opens with its
/// LIBPOD_* flags and its ALLOW_* actions: not catalog routes (the catalog is the Docker Engine
/// API), so sent beside them.
fn libpod_corpus() -> Vec<Probe> {
    let mut out = Vec::new();
    for (method, path) in [
        ("GET", "/libpod/_ping"),
        ("HEAD", "/libpod/_ping"),
        ("GET", "/libpod/version"),
        ("GET", "/libpod/info"),
        ("GET", "/libpod/containers/json"),
        ("POST", "/libpod/containers/abc/start"),
        ("POST", "/libpod/containers/abc/stop"),
        ("POST", "/libpod/pods/abc/start"),
        ("POST", "/libpod/pods/abc/restart"),
        ("GET", "/libpod/containers/abc/archive"),
        ("GET", "/libpod/events"),
        ("GET", "/pods/abc/top"),
    ] {
        for v in ["", "/v4.0.0", "/v5.2"] {
            out.push(Probe {
                method: method.to_string(),
                target: format!("{v}{path}"),
                headers: Vec::new(),
                kind: "libpod",
                must_refuse: false,
            });
        }
    }
    out
}

/// What lint judges a flag-driven fixture with when no environment is given: the defaults of
/// the image whose template it is (data/flags/known-flags.tsv), without the settings the test
/// sets itself (the socket, the log level).
fn image_defaults(text: &str) -> Vec<(String, String)> {
    sockproxy_gen::lint::families::assumed_for(text)
        .defaults
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "SOCKET_PATH" | "LOG_LEVEL" | "PORT"))
        .collect()
}

/// The fixture `text` under [`TEMPLATE_FLAG_SETS`] and under its own `flag_sets`, each on top
/// of the defaults lint judges it with.
fn flag_set_cases<const N: usize>(
    name: &str,
    text: &str,
    socket_text: &str,
    flag_sets: [(&str, Vec<(&str, &str)>); N],
) -> Vec<Case> {
    let defaults = image_defaults(text);
    TEMPLATE_FLAG_SETS
        .iter()
        .map(|(label, flags)| (*label, flags.to_vec()))
        .chain(flag_sets)
        .map(|(label, flags)| {
            let mut all: Vec<(&str, &str)> = defaults
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            all.extend(flags);
            fixture_case(
                &format!("{name} {label}"),
                text,
                common::free_port(),
                socket_text,
                &all,
            )
        })
        .collect()
}

/// Every catalog route, bare and with version prefixes, HEAD where the daemon has it.
fn catalog_corpus(catalog: &Catalog) -> Vec<Probe> {
    let mut out = Vec::new();
    for r in catalog.routes() {
        for v in ["", "/v1.24", "/v1.41", "/v1.44"] {
            out.push(Probe {
                method: r.method.to_string(),
                target: format!("{v}{}", r.example_path()),
                headers: Vec::new(),
                kind: "catalog",
                must_refuse: false,
            });
        }
    }
    out
}

fn fixture_case(name: &str, text: &str, port: u16, socket: &str, flags: &[(&str, &str)]) -> Case {
    let mut env: Env = [
        ("PORT", port.to_string()),
        ("SOCKET_PATH", socket.to_string()),
        ("LOG_LEVEL", "info".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in flags {
        env.insert(k.to_string(), v.to_string());
    }
    let frontend = syntax::parse(text, &env, Version::parse("3.2").unwrap())
        .sections
        .iter()
        .find(|s| s.kind == syntax::SectionKind::Frontend)
        .and_then(|s| s.name.clone())
        .unwrap();
    Case {
        name: name.to_string(),
        text: text.to_string(),
        env,
        frontends: vec![(port, frontend)],
    }
}

fn cases(work: &common::WorkDir) -> Vec<Case> {
    let socket = work.inner("backend.sock");
    let socket_text = socket.to_str().unwrap();
    let mut cases = Vec::new();
    let names: Vec<String> = sockproxy_gen::preset::BUILTIN
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let base = common::free_ports(names.len() as u16);
    let (policy, text) = common::render_config(
        common::presets(&names.iter().map(String::as_str).collect::<Vec<_>>()),
        base,
        common::free_port(),
        &socket,
    );
    cases.push(Case {
        name: "every preset, rendered".into(),
        text,
        env: Env::new(),
        frontends: policy
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| (base + i as u16, c.name.clone()))
            .collect(),
    });
    let tecnativa = include_str!("fixtures/tecnativa-style.cfg");
    let flag_sets: [(&str, Vec<(&str, &str)>); 2] = [
        (
            "CONTAINERS IMAGES NETWORKS INFO ALLOW_RESTARTS POST",
            vec![
                ("CONTAINERS", "1"),
                ("IMAGES", "1"),
                ("NETWORKS", "1"),
                ("INFO", "1"),
                ("ALLOW_RESTARTS", "1"),
                ("POST", "1"),
            ],
        ),
        (
            "boolean traps POST=true CONTAINERS=yes EXEC=2",
            vec![("POST", "true"), ("CONTAINERS", "yes"), ("EXEC", "2")],
        ),
    ];
    cases.extend(flag_set_cases(
        "tecnativa-style",
        tecnativa,
        socket_text,
        flag_sets,
    ));
    // linuxserver's semantics: sub-resource denials first, actions before the method gate,
    // Podman's API; "defaults only" is what lint judges the file with (LIBPOD_PING=1 ...).
    let linuxserver = include_str!("fixtures/linuxserver-style.cfg");
    let flag_sets: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "ALLOW_RESTARTS ALLOW_START ALLOW_PAUSE with POST=0",
            vec![
                ("ALLOW_RESTARTS", "1"),
                ("ALLOW_START", "1"),
                ("ALLOW_PAUSE", "1"),
            ],
        ),
        (
            "CONTAINERS ALLOW_LOGS ALLOW_ARCHIVE ALLOW_CHANGES",
            vec![
                ("CONTAINERS", "1"),
                ("ALLOW_LOGS", "1"),
                ("ALLOW_ARCHIVE", "1"),
                ("ALLOW_CHANGES", "1"),
            ],
        ),
        (
            "LIBPOD_CONTAINERS LIBPOD_ALLOW_START LIBPOD_ALLOW_POD_RESTARTS POST",
            vec![
                ("LIBPOD_CONTAINERS", "1"),
                ("LIBPOD_ALLOW_START", "1"),
                ("LIBPOD_ALLOW_POD_RESTARTS", "1"),
                ("POST", "1"),
            ],
        ),
        (
            "boolean traps ALLOW_START=true LIBPOD_PING=0 EVENTS=yes",
            vec![
                ("ALLOW_START", "true"),
                ("LIBPOD_PING", "0"),
                ("EVENTS", "yes"),
            ],
        ),
    ];
    cases.extend(flag_set_cases(
        "linuxserver-style",
        linuxserver,
        socket_text,
        flag_sets,
    ));
    cases.push(fixture_case(
        "handwritten-tcp-chain",
        include_str!("fixtures/handwritten-tcp-chain.cfg"),
        common::free_port(),
        socket_text,
        &[("HOP_PORT", &common::free_port().to_string())],
    ));
    for (name, text) in [
        (
            "handwritten-tcp-request",
            include_str!("fixtures/handwritten-tcp-request.cfg"),
        ),
        (
            "handwritten-path-beg",
            include_str!("fixtures/handwritten-path-beg.cfg"),
        ),
        (
            "handwritten-pinned",
            include_str!("fixtures/handwritten-pinned.cfg"),
        ),
        (
            "handwritten-regex",
            include_str!("fixtures/handwritten-regex.cfg"),
        ),
    ] {
        cases.push(fixture_case(
            name,
            text,
            common::free_port(),
            socket_text,
            &[],
        ));
    }
    cases
}

#[derive(Default)]
struct Tally {
    pairs: usize,
    agree: usize,
    forwarded: usize,
    status_agree: usize,
}

fn run(haproxy: &Haproxy, requests: &[Probe]) -> (Tally, Vec<String>) {
    let work = haproxy.workdir();
    let backend = RecordingBackend::start(&work.host("backend.sock"));
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for (ci, case) in cases(&work).into_iter().enumerate() {
        let version = Version::parse(&haproxy.version).expect("a supported line");
        let parsed = syntax::parse(&case.text, &case.env, version);
        assert!(
            parsed.errors.is_empty(),
            "{}: {:?}",
            case.name,
            parsed.errors
        );
        let model = eval::compile(&parsed, version.dialect().expect("a supported line"));
        assert!(
            model.unevaluable.is_empty(),
            "{}: {:?}",
            case.name,
            model.unevaluable
        );
        let file = format!("case{ci}.cfg");
        std::fs::write(work.host(&file), &case.text).unwrap();
        let env: Vec<(&str, &str)> = case
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let proxy = haproxy.spawn_env(&work.inner(&file), case.frontends[0].0, &env);
        for (port, _) in &case.frontends {
            common::wait_for_port(*port);
        }
        // Frontends in parallel; ids unique per (case, frontend, request).
        let sent: Vec<(usize, String, &Probe, u16)> = std::thread::scope(|s| {
            let handles: Vec<_> = case
                .frontends
                .iter()
                .enumerate()
                .map(|(fi, (port, frontend))| {
                    let tcp = model
                        .proxies
                        .iter()
                        .any(|p| &p.name == frontend && p.mode == Mode::Tcp);
                    s.spawn(move || {
                        let mut http = common::HttpClient::new(*port);
                        requests
                            .iter()
                            .enumerate()
                            .map(|(i, p)| {
                                let id = (ci * 100 + fi) * 100_000 + i;
                                if tcp {
                                    http = common::HttpClient::new(*port);
                                }
                                let (status, _) = http.send(&p.to_bytes(id));
                                (id, frontend.clone(), p, status)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        drop(proxy);
        let reached: HashSet<usize> = backend
            .take()
            .iter()
            .filter_map(|r| r.message.header("x-spg-probe")?.parse().ok())
            .collect();
        let mut case_failures = 0;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, frontend, probe, status) in sent {
            let entry = model
                .proxies
                .iter()
                .find(|p| p.name == frontend)
                .expect("frontend compiled");
            let mut headers = vec![
                ("Host".to_string(), "docker".to_string()),
                ("X-Spg-Probe".to_string(), id.to_string()),
            ];
            headers.extend(probe.headers.iter().cloned());
            let outcome = model
                .evaluate(
                    entry,
                    &Request {
                        method: &probe.method,
                        target: &probe.target,
                        headers: &headers,
                    },
                )
                .unwrap();
            let real = reached.contains(&id);
            tally.pairs += 1;
            if real {
                tally.forwarded += 1;
            }
            let status_ok = match &outcome {
                eval::Outcome::Answered { status: s, .. } => *s == status,
                eval::Outcome::Forwarded { .. } => status == 200,
                // Nothing here is uncertain (no construct is unevaluable): a failure if it were.
                eval::Outcome::Uncertain { .. } => false,
            };
            if status_ok {
                tally.status_agree += 1;
            }
            if outcome.forwarded() == real {
                tally.agree += 1;
            } else {
                case_failures += 1;
                *kinds.entry(probe.kind).or_insert(0usize) += 1;
                if failures.len() < 60 && kinds[probe.kind] <= 3 {
                    failures.push(format!(
                        "HAProxy {} {} / {frontend}: {} {} {:?} [{}]: HAProxy {} ({status}), evaluator {outcome:?}",
                        haproxy.version,
                        case.name,
                        probe.method,
                        probe.target,
                        probe.headers,
                        probe.kind,
                        if real { "forwarded" } else { "answered" }
                    ));
                }
            }
        }
        println!(
            "  HAProxy {} {:<58} frontends {:>2}  disagreements {case_failures} {kinds:?}",
            haproxy.version,
            case.name,
            case.frontends.len()
        );
    }
    (tally, failures)
}

#[test]
fn evaluator_agrees_with_real_haproxy() {
    let catalog = Catalog::builtin();
    let mut requests = catalog_corpus(catalog);
    requests.extend(libpod_corpus());
    requests.extend(corpus::attacks(catalog));
    let mut by_line: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for haproxy in common::haproxies() {
        let (tally, f) = run(&haproxy, &requests);
        failures.extend(f);
        by_line.insert(haproxy.version.clone(), tally);
    }
    for (version, t) in &by_line {
        println!(
            "HAProxy {version}: {} (config, request) pairs, {} forwarded; verdicts agree {}/{} ({:.3}%), statuses agree {}/{}",
            t.pairs,
            t.forwarded,
            t.agree,
            t.pairs,
            100.0 * t.agree as f64 / t.pairs as f64,
            t.status_agree,
            t.pairs
        );
    }
    assert_eq!(by_line.len(), 3, "HAProxy 2.6, 3.0 and 3.2 are all needed");
    assert!(
        failures.is_empty(),
        "evaluator and HAProxy disagree, first {}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (version, t) in &by_line {
        assert_eq!(
            t.status_agree, t.pairs,
            "HAProxy {version}: answer statuses differ"
        );
    }
}

/// The flag sets every template fixture (real-world and our own) runs under, on top of the
/// defaults of the image whose template it is (what lint judges it with): those alone, the
/// usual Traefik setting, and Traefik with writes.
const TEMPLATE_FLAG_SETS: &[(&str, &[(&str, &str)])] = &[
    ("defaults only", &[]),
    ("CONTAINERS=1", &[("CONTAINERS", "1")]),
    ("CONTAINERS=1 POST=1", &[("CONTAINERS", "1"), ("POST", "1")]),
];

/// A real-world fixture made runnable here, with nothing else changed: every bind a client
/// reaches moves to a loopback port of the test (binds another frontend of the file forwards to
/// stay), every server that is not such a frontend becomes the recording daemon, files named by
/// `-f` and `lua-load` move into the work directory, and global lines that need the machine's
/// layout (chroot, pidfile, stats socket, user) go.
fn runnable(
    text: &str,
    work: &common::WorkDir,
    socket: &str,
    env: &Env,
) -> (
    String,
    Vec<(u16, String)>,
    Vec<sockproxy_gen::lint::patterns::GivenPatternFile>,
) {
    let parsed = syntax::parse(text, env, Version::parse("3.2").unwrap());
    // Addresses some server forwards to that a bind of this file listens on: internal hops.
    let binds: HashSet<String> = parsed
        .sections
        .iter()
        .flat_map(|s| s.directives.iter())
        .filter(|d| d.keyword() == "bind")
        .filter_map(|d| d.arg(0).map(str::to_string))
        .collect();
    let servers: HashSet<String> = parsed
        .sections
        .iter()
        .flat_map(|s| s.directives.iter())
        .filter(|d| d.keyword() == "server")
        .filter_map(|d| d.arg(1).map(str::to_string))
        .collect();
    let internal = |addr: &str| addr.starts_with("abns@") || servers.contains(addr);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut frontends = Vec::new();
    // The `-f` files moved into the work directory, as lint is given them: the name the
    // rewritten config uses and the copy.
    let mut given = Vec::new();
    for section in &parsed.sections {
        for d in &section.directives {
            let indent = "    ";
            let line = &mut lines[d.line - 1];
            match d.keyword() {
                "bind" if d.arg(0).is_some_and(|a| !internal(a)) => {
                    let port = common::free_port();
                    *line = format!("{indent}bind 127.0.0.1:{port}");
                    if let Some(name) = &section.name {
                        frontends.push((port, name.clone()));
                    }
                }
                "server" if d.arg(1).is_some_and(|a| !binds.contains(a)) => {
                    *line = format!("{indent}server {} unix@{socket}", d.arg(0).unwrap_or("s"));
                }
                "chroot"
                | "pidfile"
                | "user"
                | "group"
                | "uid"
                | "gid"
                | "daemon"
                | "unix-bind"
                | "server-state-file"
                | "load-server-state-from-file" => {
                    line.clear();
                }
                "stats" if d.arg(0) == Some("socket") => line.clear(),
                _ => {
                    // Files next to the fixture: into the work directory, by absolute path.
                    for (i, w) in d.words().enumerate() {
                        let names_file = i > 0
                            && matches!(
                                d.word(i - 1).map(|w| w.text),
                                Some("-f" | "lua-load" | "lua-load-per-thread")
                            );
                        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                            .join("tests/fixtures/real-world")
                            .join(w.text);
                        if names_file && source.is_file() {
                            let name = source.file_name().unwrap().to_str().unwrap();
                            std::fs::copy(&source, work.host(name)).unwrap();
                            let inner = work.inner(name).to_str().unwrap().to_string();
                            *line = line.replace(w.text, &inner);
                            if d.word(i - 1).is_some_and(|p| p.text == "-f") {
                                given.push(
                                    sockproxy_gen::lint::patterns::GivenPatternFile::read(
                                        Some(inner),
                                        work.host(name),
                                    )
                                    .unwrap(),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    (lines.join("\n") + "\n", frontends, given)
}

/// Every real-world fixture (tests/fixtures/real-world, docs/research/real-world.md) under each
/// flag set, on every HAProxy version: every request whose verdict the evaluator calls certain
/// must get HAProxy's verdict; those it calls uncertain (what they depend on cannot be modelled:
/// Lua, the client's address, ...) are counted, never guessed. The `-f` files a fixture names
/// are given to the evaluator as `lint --pattern-file NAME=LOCAL` gives them.
#[test]
fn real_world_fixtures_agree_with_haproxy() {
    let catalog = Catalog::builtin();
    let mut requests = catalog_corpus(catalog);
    requests.extend(libpod_corpus());
    // Every 8th attack keeps the run short; the full corpus runs on the rendered configs above.
    requests.extend(corpus::attacks(catalog).into_iter().step_by(8));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-world");
    let mut fixtures: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .filter(|p| !p.to_str().unwrap().ends_with(".template.cfg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 20, "{} fixtures", fixtures.len());
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for haproxy in common::haproxies() {
        let version = Version::parse(&haproxy.version).expect("a supported line");
        let work = haproxy.workdir();
        let socket = work.inner("backend.sock");
        let backend = RecordingBackend::start(&work.host("backend.sock"));
        let (mut judged, mut pairs, mut agree, mut uncertain) = (0, 0usize, 0usize, 0usize);
        let mut not_judged: Vec<String> = Vec::new();
        let mut uncertain_by: BTreeMap<String, usize> = BTreeMap::new();
        for (ci, (name, text)) in fixtures.iter().enumerate() {
            // A fixture that needs a newer HAProxy says so on its first line ("min HAProxy 3.0").
            let minimum = text
                .lines()
                .next()
                .and_then(|l| l.split("min HAProxy ").nth(1))
                .and_then(|v| {
                    Version::parse(v.split_whitespace().next()?.trim_end_matches([';', ',']))
                });
            if minimum.is_some_and(|m| !version.at_least(m.major, m.minor)) {
                continue;
            }
            for (fi, (label, flags)) in TEMPLATE_FLAG_SETS.iter().enumerate() {
                // The defaults lint judges the fixture with (its image's), then the flag set.
                let mut env: Env = image_defaults(text).into_iter().collect();
                env.insert("LOG_LEVEL".into(), "info".into());
                env.extend(flags.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                env.insert("SOCKET_PATH".into(), socket.to_str().unwrap().into());
                let (config, frontends, given) =
                    runnable(text, &work, socket.to_str().unwrap(), &env);
                let parsed = syntax::parse(&config, &env, version);
                let file = format!("rw{ci}-{fi}.cfg");
                // The `-f` files as lint reads them when given (`--pattern-file NAME=LOCAL`).
                let (files, _) = sockproxy_gen::lint::patterns::resolve(
                    &work.host(&file),
                    &parsed,
                    version,
                    &given,
                )
                .unwrap();
                let model = eval::compile_with(&parsed, version.dialect().unwrap(), &files);
                std::fs::write(work.host(&file), &config).unwrap();
                let pairs_env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let Some((first, _)) = frontends.first() else {
                    not_judged.push(format!("{name}: no frontend a client reaches"));
                    continue;
                };
                let proxy = haproxy.spawn_env(&work.inner(&file), *first, &pairs_env);
                for (port, frontend) in &frontends {
                    common::wait_for_port(*port);
                    let entry = model.proxies.iter().find(|p| &p.name == frontend);
                    let why_not = if !parsed.errors.is_empty() {
                        Some(format!("parse: {}", parsed.errors[0].message))
                    } else if entry.is_none() {
                        Some("not compiled".to_string())
                    } else {
                        None
                    };
                    if let Some(why) = why_not {
                        not_judged.push(format!("{name} [{label}] `{frontend}`: {why}"));
                        continue;
                    }
                    let entry = entry.unwrap();
                    judged += 1;
                    let tcp = entry.mode == Mode::Tcp;
                    let base = ((haproxy.line().len() * 1000 + ci) * 10 + fi) * 1_000_000;
                    // The evaluator first: requests whose verdict depends on what it cannot
                    // model are counted, never compared (nor sent).
                    let mut judged_here = Vec::new();
                    for (i, probe) in requests.iter().enumerate() {
                        let id = base + *port as usize % 100 * 10_000 + i;
                        let mut headers = vec![
                            ("Host".to_string(), "docker".to_string()),
                            ("X-Spg-Probe".to_string(), id.to_string()),
                        ];
                        headers.extend(probe.headers.iter().cloned());
                        let outcome = model.evaluate(
                            entry,
                            &Request {
                                method: &probe.method,
                                target: &probe.target,
                                headers: &headers,
                            },
                        );
                        if outcome.as_ref().is_ok_and(|o| o.uncertain()) {
                            uncertain += 1;
                            *uncertain_by
                                .entry(format!("{name} [{label}] `{frontend}`"))
                                .or_default() += 1;
                            continue;
                        }
                        judged_here.push((id, probe, outcome));
                    }
                    // Sent from several connections at once, each waiting at most half a second
                    // for an answer: rate limits in the fixtures drop requests silently, and
                    // whether a request was forwarded is what the recording daemon saw.
                    std::thread::scope(|s| {
                        for chunk in judged_here.chunks(judged_here.len().div_ceil(16).max(1)) {
                            s.spawn(move || {
                                let timeout = std::time::Duration::from_millis(500);
                                let mut http = common::HttpClient::with_timeout(*port, timeout);
                                for (id, probe, _) in chunk {
                                    if tcp {
                                        http = common::HttpClient::with_timeout(*port, timeout);
                                    }
                                    http.send(&probe.to_bytes(*id));
                                }
                            });
                        }
                    });
                    // A request whose client stopped waiting may still be on its way: collect
                    // until the daemon has seen nothing new for 300 ms (at most 5 s).
                    let mut reached: HashSet<usize> = HashSet::new();
                    let (mut quiet, started) = (0, std::time::Instant::now());
                    while quiet < 3 && started.elapsed() < std::time::Duration::from_secs(5) {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        let batch = backend.take();
                        quiet = if batch.is_empty() { quiet + 1 } else { 0 };
                        reached.extend(batch.iter().filter_map(|r| {
                            r.message.header("x-spg-probe")?.parse::<usize>().ok()
                        }));
                    }
                    for (id, probe, outcome) in judged_here {
                        pairs += 1;
                        match outcome {
                            Ok(o) if o.forwarded() == reached.contains(&id) => agree += 1,
                            other => {
                                if failures.len() < 40 {
                                    failures.push(format!(
                                        "HAProxy {} {name} [{label}] `{frontend}`: {} {}: HAProxy {}, evaluator {other:?}",
                                        haproxy.version,
                                        probe.method,
                                        probe.target,
                                        if reached.contains(&id) { "forwarded" } else { "answered" }
                                    ));
                                }
                            }
                        }
                    }
                }
                drop(proxy);
            }
        }
        summary.push(format!(
            "HAProxy {}: {judged} frontends judged, {} not; {} (config, request) pairs: {uncertain} uncertain ({:.1}%), verdicts agree on {agree}/{pairs} certain ones ({:.3}%)",
            haproxy.version,
            not_judged.len(),
            uncertain + pairs,
            100.0 * uncertain as f64 / (uncertain + pairs).max(1) as f64,
            100.0 * agree as f64 / pairs.max(1) as f64,
        ));
        for (what, n) in &uncertain_by {
            println!(
                "  HAProxy {} uncertain: {n} pairs of {what}",
                haproxy.version
            );
        }
        uncertain_by.clear();
        for n in &not_judged {
            println!("  HAProxy {} not judged: {n}", haproxy.version);
        }
    }
    for s in &summary {
        println!("{s}");
    }
    assert!(
        failures.is_empty(),
        "evaluator and HAProxy disagree on real-world fixtures, first {}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Requests aimed at the lists of handwritten-acl-files.cfg: case variants of exact and
/// case-insensitive entries, the trailing space of `/info ` (`%20` once decoded), a `#` that
/// is a pattern (`%23`), prefixes and words of each list.
fn acl_file_probes() -> Vec<Probe> {
    [
        ("GET", "/_ping"),
        ("GET", "/_PING"),
        ("GET", "/version"),
        ("GET", "/version%0d"),
        ("GET", "/info"),
        ("GET", "/INFO"),
        ("GET", "/info%20"),
        ("GET", "/info%20%20"),
        ("GET", "/containers/json"),
        ("GET", "/CONTAINERS/json"),
        ("GET", "/v1.41/containers/json"),
        ("GET", "/secrets"),
        ("GET", "/Secrets/x"),
        ("GET", "/plugins"),
        ("GET", "/%23export"),
        ("GET", "/x/%23export"),
        ("GET", "/containers/3f2a9c1e7b4d/export"),
        ("GET", "/v1.44/images/json"),
        ("GET", "/v1.4/images/json"),
        ("GET", "/v1.41/events"),
        ("GET", "/events"),
        ("GET", "/containers/3f2a9c1e7b4d/logs"),
        ("GET", "/containers/3f2a9c1e7b4d/logsx"),
        ("GET", "/networks"),
        ("GET", "/v1.41/networks/3f2a9c1e7b4d"),
        ("GET", "/networksx"),
        ("GET", "/volumes/3f2a9c1e7b4d"),
        ("GET", "/v1.41/volumes/3f2a9c1e7b4d/x"),
        ("GET", "/volumes/3f2a9c1e7b4dx"),
        ("GET", "/images/registry.example/team/app:1.0/json"),
        ("GET", "/images/myregistry.example/app/json"),
        ("GET", "/system/df"),
        ("GET", "/system/dfx"),
        ("GET", "/nodes"),
        ("POST", "/nodes"),
        ("GET", "/nodes-list"),
        ("GET", "/services"),
        ("GET", "/tasks"),
        ("DELETE", "/tasks"),
        ("GET", "/tasks/x"),
    ]
    .into_iter()
    .map(|(method, target)| Probe {
        method: method.into(),
        target: target.into(),
        headers: Vec::new(),
        kind: "acl-file",
        must_refuse: false,
    })
    .collect()
}

/// ACLs whose patterns are in `-f` files (tests/fixtures/handwritten-acl-files.cfg and its lists
/// in tests/fixtures/acl-files/), on HAProxy 2.6, 3.0 and 3.2. The config and its lists are
/// written into the work directory, where HAProxy reads the relative names (`default-path
/// config`); its one absolute name is rewritten to the work directory and given to lint as
/// `--pattern-file NAME=LOCAL`, the way a user gives the checked-in copy. Without the files the
/// verdicts that depend on them are uncertain; with them (read by lint's own resolution) every
/// verdict is certain and equals HAProxy's, request by request, status included.
#[test]
fn pattern_files_agree_with_haproxy() {
    use sockproxy_gen::lint::patterns::{self, GivenPatternFile};
    let catalog = Catalog::builtin();
    let mut requests = catalog_corpus(catalog);
    requests.extend(corpus::attacks(catalog));
    requests.extend(acl_file_probes());
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let text = std::fs::read_to_string(fixtures.join("handwritten-acl-files.cfg")).unwrap();
    let lists: Vec<String> = common::dir_entries(&fixtures.join("acl-files"));
    assert!(lists.len() >= 10, "{lists:?}");
    let mut by_line: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for haproxy in common::haproxies() {
        let version = Version::parse(&haproxy.version).expect("a supported line");
        let work = haproxy.workdir();
        std::fs::create_dir(work.host("acl-files")).unwrap();
        for name in &lists {
            std::fs::copy(
                fixtures.join("acl-files").join(name),
                work.host(&format!("acl-files/{name}")),
            )
            .unwrap();
        }
        std::fs::copy(
            fixtures.join("acl-files/absolute.lst"),
            work.host("absolute.lst"),
        )
        .unwrap();
        let absolute = work.inner("absolute.lst").to_str().unwrap().to_string();
        let config = text.replace("/etc/sockproxy-gen-test/absolute.lst", &absolute);
        std::fs::write(work.host("acl-files.cfg"), &config).unwrap();
        let backend = RecordingBackend::start(&work.host("backend.sock"));
        let port = common::free_port();
        let env: Env = [
            ("PORT", port.to_string()),
            (
                "SOCKET_PATH",
                work.inner("backend.sock").to_str().unwrap().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let parsed = syntax::parse(&config, &env, version);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let dialect = version.dialect().unwrap();
        // Without the files: the verdicts that depend on them are uncertain.
        let without = eval::compile(&parsed, dialect);
        let entry = without
            .proxies
            .iter()
            .find(|p| p.name == "acl_files")
            .unwrap();
        let ask = |model: &eval::Model, entry: &eval::Proxy, probe: &Probe, id: usize| {
            let mut headers = vec![
                ("Host".to_string(), "docker".to_string()),
                ("X-Spg-Probe".to_string(), id.to_string()),
            ];
            headers.extend(probe.headers.iter().cloned());
            model
                .evaluate(
                    entry,
                    &Request {
                        method: &probe.method,
                        target: &probe.target,
                        headers: &headers,
                    },
                )
                .unwrap()
        };
        let uncertain_without = requests
            .iter()
            .filter(|p| ask(&without, entry, p, 0).uncertain())
            .count();
        assert!(
            !without.unevaluable.is_empty() && uncertain_without > requests.len() / 2,
            "HAProxy {}: without the files, {uncertain_without} of {} requests uncertain",
            haproxy.version,
            requests.len()
        );
        // With them, as lint reads them: the relative names beside the config, the absolute
        // one given.
        let given =
            GivenPatternFile::read(Some(absolute.clone()), work.host("absolute.lst")).unwrap();
        let (files, read) =
            patterns::resolve(&work.host("acl-files.cfg"), &parsed, version, &[given]).unwrap();
        assert_eq!(read.len(), 10, "{read:?}");
        let model = eval::compile_with(&parsed, dialect, &files);
        assert!(model.unevaluable.is_empty(), "{:?}", model.unevaluable);
        let entry = model
            .proxies
            .iter()
            .find(|p| p.name == "acl_files")
            .unwrap();
        let env_pairs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let proxy = haproxy.spawn_env(&work.inner("acl-files.cfg"), port, &env_pairs);
        let mut http = common::HttpClient::new(port);
        let sent: Vec<(usize, &Probe, u16)> = requests
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (status, _) = http.send(&p.to_bytes(i));
                (i, p, status)
            })
            .collect();
        drop(proxy);
        let reached: HashSet<usize> = backend
            .take()
            .iter()
            .filter_map(|r| r.message.header("x-spg-probe")?.parse().ok())
            .collect();
        let (mut agree, mut status_agree, mut forwarded) = (0, 0, 0);
        for (id, probe, status) in &sent {
            let outcome = ask(&model, entry, probe, *id);
            let real = reached.contains(id);
            forwarded += usize::from(real);
            let status_ok = match &outcome {
                eval::Outcome::Answered { status: s, .. } => s == status,
                eval::Outcome::Forwarded { .. } => *status == 200,
                eval::Outcome::Uncertain { .. } => false,
            };
            status_agree += usize::from(status_ok);
            if outcome.forwarded() == real && status_ok {
                agree += 1;
            } else if failures.len() < 40 {
                failures.push(format!(
                    "HAProxy {}: {} {} [{}]: HAProxy {} ({status}), evaluator {outcome:?}",
                    haproxy.version,
                    probe.method,
                    probe.target,
                    probe.kind,
                    if real { "forwarded" } else { "answered" }
                ));
            }
        }
        println!(
            "HAProxy {}: ACL files: {} requests, {uncertain_without} uncertain without the files, 0 with them; {forwarded} forwarded; verdicts and statuses agree {agree}/{}, statuses {status_agree}/{}",
            haproxy.version,
            sent.len(),
            sent.len(),
            sent.len()
        );
        by_line.insert(haproxy.version.clone(), (sent.len(), agree, forwarded));
    }
    assert_eq!(by_line.len(), 3, "HAProxy 2.6, 3.0 and 3.2 are all needed");
    assert!(
        failures.is_empty(),
        "evaluator and HAProxy disagree on ACL files, first {}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (version, (_, _, forwarded)) in &by_line {
        assert!(*forwarded > 0, "HAProxy {version}: nothing was forwarded");
    }
}
