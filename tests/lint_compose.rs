//! `sockproxy-gen lint` on compose and `.env` files: every real-world compose fixture (with the
//! `.env` beside it) gives exactly its codes at its lines, and each problem users reported has a
//! case of its own (fixtures in tests/fixtures/lint-compose/, one directory per case, because a
//! `.env` is judged with the compose files of its directory).

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use sockproxy_gen::haproxy::syntax::Env;
use sockproxy_gen::lint::compose::{self, VariableOrigin};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REAL_WORLD: &str = "tests/fixtures/real-world";
const CASES: &str = "tests/fixtures/lint-compose";

/// `sockproxy-gen lint ARGS` from the repository root (paths in output stay relative).
fn lint(args: &[&str]) -> Output {
    common::cli()
        .current_dir(ROOT)
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The findings of the one file `lint --format json ARGS` reports: (code, line, message,
/// suppressed).
fn findings(args: &[&str]) -> Vec<(String, usize, String, bool)> {
    let o = lint(&[args, &["--format", "json"]].concat());
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: exit {:?}\n{}{}",
        o.status.code(),
        out(&o),
        err(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("JSON");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{args:?}: {v}");
    files[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as usize,
                f["message"].as_str().unwrap().to_string(),
                f.get("suppressed").is_some(),
            )
        })
        .collect()
}

/// The active findings as sorted (code, line).
fn codes(args: &[&str]) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = findings(args)
        .into_iter()
        .filter(|f| !f.3)
        .map(|(c, l, _, _)| (c, l))
        .collect();
    v.sort();
    v
}

fn expected(list: &[(&str, usize)]) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = list.iter().map(|(c, l)| (c.to_string(), *l)).collect();
    v.sort();
    v
}

/// The message of the one active finding with `code` at `line`.
fn message(args: &[&str], code: &str, line: usize) -> String {
    let all: Vec<String> = findings(args)
        .into_iter()
        .filter(|f| f.0 == code && f.1 == line && !f.3)
        .map(|f| f.2)
        .collect();
    assert_eq!(all.len(), 1, "{args:?}: {code} at {line}: {all:?}");
    all[0].clone()
}

/// Every compose fixture of tests/fixtures/real-world, with the `.env` beside it: the exact set
/// of (code, line). The comments say why, from each fixture's first lines.
const REAL_WORLD_COMPOSE: &[(&str, &[(&str, usize)])] = &[
    // Two Tecnativa proxies from anchors: root by "0:${DOCKER_GID}" and by the image's default;
    // POST comes after the merged flag set.
    (
        "anchors-merge-keys",
        &[("SPG509", 31), ("SPG509", 49), ("SPG505", 58)],
    ),
    // CetusGuard is a proxy (by image), not a client mounting the socket; no Tecnativa flags.
    ("cetusguard-rules-block", &[]),
    // Three clients mount the socket beside the proxy: rw, :ro, and /run/docker.sock elsewhere.
    (
        "direct-socket-mounts",
        &[
            ("SPG509", 4),
            ("SPG501", 15),
            ("SPG501", 24),
            ("SPG501", 37),
        ],
    ),
    // ALLOW_RESTARTS="1" from the env_file, with POST overridden to "0" in environment:, on the
    // env_file item; Traefik mounts the socket.
    (
        "env-file-flags",
        &[("SPG509", 4), ("SPG506", 8), ("SPG501", 37)],
    ),
    // An unknown image named socket-proxy: other forks' per-action names are flags, not typos.
    ("fine-grained-quoted-items", &[("SPG510", 5)]),
    // HOST_IP=0.0.0.0 and POST=true from .env; ALLOW_RESTARTS=1 while POST reads as 0.
    (
        "interpolated-flags-host-ip",
        &[
            ("SPG509", 6),
            ("SPG507", 17),
            ("SPG503", 30),
            ("SPG506", 33),
        ],
    ),
    ("legacy-external-network", &[("SPG509", 6), ("SPG507", 15)]),
    // linuxserver: ALLOW_* work without POST there, but POST=1 is on anyway.
    (
        "linuxserver-quoted-profiles",
        &[("SPG509", 4), ("SPG505", 27)],
    ),
    // A Go filter Traefik-style clients reach at tcp://filter:2375 is the proxy; its long-syntax
    // socket mount is read_only; its long-syntax port has no host_ip.
    ("long-syntax-socket", &[("SPG507", 25)]),
    // The stock haproxy image with the socket and "haproxy:${PGID_DOCKER_SOCKET}": clean.
    ("plain-haproxy-gid", &[]),
    // linuxserver's LIBPOD_* flags are flags; user has a group.
    // The socket path comes from XDG_RUNTIME_DIR (set in .env) and is not on this machine.
    ("podman-rootless-libpod", &[("SPG513", 24)]),
    ("profiles-unbraced-vars", &[("SPG509", 8), ("SPG508", 13)]),
    (
        "proxy-behind-traefik",
        &[("SPG509", 4), ("SPG507", 8), ("SPG508", 10)],
    ),
    // ${DOCKER_GID:?...} is set in .env; wollomatic on 127.0.0.1.
    ("required-gid-loopback", &[]),
    // The app's POSTGRES_PASSWORD, VERSION, INFO, BUILD, AUTH, LOG_LEVEL are not judged.
    ("secrets-in-environment", &[("SPG509", 5)]),
    ("shared-socket-volume", &[("SPG509", 7)]),
    (
        "static-ip-linuxserver",
        &[("SPG509", 4), ("SPG507", 9), ("SPG505", 18)],
    ),
    ("swarm-deploy-traefik-v1", &[("SPG509", 7), ("SPG508", 10)]),
    // The sidecar whose network the proxy shares publishes 2375.
    (
        "tailscale-sidecar-all-on",
        &[("SPG509", 4), ("SPG505", 27), ("SPG507", 46)],
    ),
    ("tecnativa-homepage-readonly", &[("SPG509", 4)]),
    (
        "tecnativa-mapping-privileged",
        &[
            ("SPG509", 12),
            ("SPG509", 17),
            ("SPG508", 32),
            ("SPG505", 41),
        ],
    ),
    (
        "traefik-homepage-watchtower",
        &[
            ("SPG509", 17),
            ("SPG507", 28),
            ("SPG508", 30),
            ("SPG505", 38),
        ],
    ),
    // POST=${DS_POST} with DS_POST=1, NETWORKS=${DS_NETWORKS} with DS_NETWORKS=yes.
    (
        "unset-vars-published",
        &[
            ("SPG509", 11),
            ("SPG507", 17),
            ("SPG508", 19),
            ("SPG505", 28),
            ("SPG503", 32),
        ],
    ),
    ("wollomatic-dozzle-internal", &[]),
    ("wollomatic-watchtower-writes", &[]),
];

/// The `.env` files of tests/fixtures/real-world.
const REAL_WORLD_ENV: &[(&str, &[(&str, usize)])] = &[
    // Read by every compose file of the directory: only what feeds a proxy's flags is judged,
    // at its own line (POST=true into POST=${POST:-0}, DS_NETWORKS=yes into NETWORKS).
    (".env", &[("SPG503", 23), ("SPG503", 82)]),
    // The proxy's env_file: POST=1 is overridden by the service, nothing else is wrong.
    ("env-file-flags.proxy.env", &[]),
    // Given to compose with --env-file only, so a lone .env: it has flags, judged as such.
    (
        "interpolated-flags-host-ip.env",
        &[("SPG503", 7), ("SPG506", 8)],
    ),
    ("anchors-merge-keys.env", &[]),
    ("fine-grained-quoted-items.env", &[]),
    ("linuxserver-quoted-profiles.env", &[]),
    ("long-syntax-socket.env", &[]),
    ("plain-haproxy-gid.env", &[]),
    ("podman-rootless-libpod.env", &[]),
    ("profiles-unbraced-vars.env", &[]),
    ("proxy-behind-traefik.env", &[]),
    ("required-gid-loopback.env", &[]),
    ("secrets-in-environment.env", &[]),
    ("tecnativa-mapping-privileged.env", &[]),
    ("traefik-homepage-watchtower.env", &[]),
    ("unset-vars-published.env", &[]),
];

#[test]
fn real_world_compose_fixtures_give_exactly_their_codes_and_lines() {
    let dir = Path::new(ROOT).join(REAL_WORLD);
    let mut on_disk: Vec<String> = common::dir_entries(&dir)
        .into_iter()
        .filter_map(|n| n.strip_suffix(".compose.yaml").map(str::to_string))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = REAL_WORLD_COMPOSE
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, on_disk, "every compose fixture has a row");
    for (name, want) in REAL_WORLD_COMPOSE {
        let file = format!("{REAL_WORLD}/{name}.compose.yaml");
        assert_eq!(codes(&[&file]), expected(want), "{file}");
        // The same values given to lint with --env-file (as `docker compose --env-file`) give the
        // same findings.
        let env = format!("{REAL_WORLD}/{name}.env");
        if Path::new(ROOT).join(&env).is_file() {
            let with_env = codes(&[&file, "--env-file", &env]);
            if *name == "podman-rootless-libpod" {
                let m = message(&[&file, "--env-file", &env], "SPG513", 24);
                assert!(
                    m.contains("mounts /run/user/1000/podman/podman.sock, which does not exist")
                        && m.contains("XDG_RUNTIME_DIR from lint's --env/--env-file"),
                    "{m}"
                );
            }
            assert_eq!(with_env, expected(want), "{file} --env-file {env}");
        }
    }
}

#[test]
fn real_world_env_files_are_judged_only_for_what_reaches_a_proxy() {
    let dir = Path::new(ROOT).join(REAL_WORLD);
    let mut on_disk: Vec<String> = common::dir_entries(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".env"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = REAL_WORLD_ENV.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "every .env fixture has a row");
    for (name, want) in REAL_WORLD_ENV {
        let file = format!("{REAL_WORLD}/{name}");
        assert_eq!(codes(&[&file]), expected(want), "{file}");
    }
    let m = message(&[&format!("{REAL_WORLD}/.env")], "SPG503", 82);
    assert!(
        m.starts_with("DS_NETWORKS=yes gives NETWORKS=yes:")
            && m.contains("write DS_NETWORKS=1")
            && m.contains("unset-vars-published.compose.yaml:32"),
        "{m}"
    );
}

#[test]
fn real_world_text_output() {
    for (name, file) in [
        (
            "lint-compose-interpolated-flags-host-ip",
            "interpolated-flags-host-ip.compose.yaml",
        ),
        ("lint-compose-env-file-flags", "env-file-flags.compose.yaml"),
        (
            "lint-compose-tailscale-sidecar-all-on",
            "tailscale-sidecar-all-on.compose.yaml",
        ),
        ("lint-compose-real-world-dotenv", ".env"),
    ] {
        let o = lint(&[&format!("{REAL_WORLD}/{file}")]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", err(&o));
        common::snapshot(name, &out(&o));
    }
}

/// Flags of the maintained forks (linuxserver's ALLOW_PAUSE, LIBPOD_*, ZoeyVid's ALLOW_RESTART,
/// tprasadtp's CONTAINERS_CREATE, DELETE) are never "misspelt"; near misses of them are; the
/// app's variables are not judged and their values never printed.
#[test]
fn forks_flags_are_known_and_app_variables_are_left_alone() {
    let file = format!("{CASES}/forks/compose.yaml");
    assert_eq!(
        codes(&[&file]),
        expected(&[("SPG504", 18), ("SPG504", 19), ("SPG504", 32)])
    );
    assert!(message(&[&file], "SPG504", 18).contains("did you mean `ALLOW_PAUSE`?"));
    assert!(message(&[&file], "SPG504", 19).contains("did you mean `LIBPOD_CONTAINERS`?"));
    assert!(message(&[&file], "SPG504", 32).contains("did you mean `IMAGES`?"));
    let o = lint(&[&file]);
    let text = out(&o);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("POSTGRES"), "{text}");
    assert!(!text.contains("did you mean `POST`"), "{text}");

    // A lone .env with no flag is the app's: nothing is judged, POSTT and HOST included.
    assert_eq!(codes(&[&format!("{CASES}/standalone/app.env")]), vec![]);
    // A lone .env with a flag: only its flag-like names; values of others never appear.
    let flags = format!("{CASES}/standalone/flags.env");
    assert_eq!(codes(&[&flags]), expected(&[("SPG504", 4), ("SPG503", 6)]));
    let o = lint(&[&flags, "--format", "json"]);
    assert!(!out(&o).contains("hunter2"), "{}", out(&o));
    let o = lint(&[&flags]);
    assert!(!out(&o).contains("hunter2"), "{}", out(&o));
}

/// Only a socket proxy's settings are judged: its env_file (with the lines of that file), the
/// `.env` values that feed its flags; not an app's env_file, not a `.env` that feeds a proxy
/// that reads no flags.
#[test]
fn only_proxy_settings_are_judged() {
    let dir = format!("{CASES}/env-file");
    assert_eq!(
        codes(&[&format!("{dir}/compose.yaml")]),
        expected(&[("SPG503", 6), ("SPG504", 6)])
    );
    let m = message(&[&format!("{dir}/compose.yaml")], "SPG503", 6);
    assert!(
        m.ends_with(&format!("(from {dir}/proxy.env:4)")),
        "the finding says where the value came from: {m}"
    );
    assert_eq!(
        codes(&[&format!("{dir}/proxy.env")]),
        expected(&[("SPG504", 3), ("SPG503", 4)])
    );
    assert!(
        message(&[&format!("{dir}/proxy.env")], "SPG504", 3).contains(&format!(
            "env_file of service `socket-proxy` in {dir}/compose.yaml:6"
        ))
    );
    // The app's env_file names VERSION, INFO and POSTT: not the proxy's business.
    assert_eq!(codes(&[&format!("{dir}/app.env")]), vec![]);
    // The .env that interpolates a proxy flag (POST=${WRITE_ACCESS}) is judged at that line.
    let dotenv = format!("{CASES}/interpolation/.env");
    assert_eq!(codes(&[&dotenv]), expected(&[("SPG503", 4)]));
    let m = message(&[&dotenv], "SPG503", 4);
    assert!(m.starts_with("WRITE_ACCESS=true gives POST=true"), "{m}");
    assert!(!out(&lint(&[&dotenv])).contains("hunter2"));
    // The .env of a plain haproxy service (its config reads what it reads): not flags.
    assert_eq!(codes(&[&format!("{CASES}/environment/.env")]), vec![]);
    assert_eq!(codes(&[&format!("{CASES}/environment/flags.env")]), vec![]);
}

/// Every string is interpolated as Compose does: lint's --env/--env-file first, then the `.env`
/// beside the compose file; findings that depend on a value say where it came from, and a
/// missing required variable is a finding, not a crash.
#[test]
fn values_are_interpolated_as_compose_does() {
    let file = format!("{CASES}/interpolation/compose.yaml");
    assert_eq!(codes(&[&file]), expected(&[("SPG507", 7), ("SPG503", 10)]));
    let m = message(&[&file], "SPG507", 7);
    assert!(m.contains("(0.0.0.0:2375:2375)"), "{m}");
    assert!(
        m.ends_with(&format!("(HOST_IP from {CASES}/interpolation/.env:2)")),
        "{m}"
    );
    let m = message(&[&file], "SPG503", 10);
    assert!(
        m.contains("from `POST=${WRITE_ACCESS}`, with WRITE_ACCESS from"),
        "{m}"
    );
    // lint's values win over the .env, as the shell's do for Compose.
    assert_eq!(
        codes(&[
            &file,
            "--env",
            "HOST_IP=127.0.0.1",
            "--env",
            "WRITE_ACCESS=1"
        ]),
        expected(&[("SPG505", 10)])
    );
    let m = message(&[&file, "--env", "WRITE_ACCESS=1"], "SPG505", 10);
    assert!(
        m.ends_with("with WRITE_ACCESS from lint's --env/--env-file)"),
        "{m}"
    );

    // ${VAR:?message} with VAR missing, an invalid ${...}, a missing env_file: findings at their
    // lines; an optional env_file that is missing is fine.
    let file = format!("{CASES}/required/compose.yaml");
    let o = lint(&[&file]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!err(&o).contains("panicked"), "{}", err(&o));
    assert_eq!(
        codes(&[&file]),
        expected(&[("SPG511", 5), ("SPG511", 9), ("SPG511", 11)])
    );
    let m = message(&[&file], "SPG511", 5);
    assert!(
        m.starts_with("required variable DOCKER_GID is missing a value: set DOCKER_GID to the host's docker group id"),
        "{m}"
    );
    assert_eq!(
        codes(&[&file, "--env", "DOCKER_GID=998"]),
        expected(&[("SPG511", 9), ("SPG511", 11)])
    );
}

/// The proxy is recognised by its image (any fork, CetusGuard, a plain haproxy that mounts the
/// socket), its name, or the clients that reach it at tcp://NAME:PORT; only clients are SPG501.
#[test]
fn the_proxy_is_not_reported_as_a_client() {
    let file = format!("{CASES}/recognition/compose.yaml");
    assert_eq!(codes(&[&file]), expected(&[("SPG508", 23), ("SPG501", 46)]));
    assert!(message(&[&file], "SPG501", 46).starts_with("service `traefik` mounts"));
    assert!(message(&[&file], "SPG508", 23).starts_with("service `plain-haproxy` mounts"));
}

/// The same key in several services: each finding is on the line of the key inside that
/// service's `environment:` block, so a suppression on that line works.
#[test]
fn findings_are_on_their_own_service_lines() {
    let file = format!("{CASES}/lines/compose.yaml");
    let all = findings(&[&file]);
    let mut active: Vec<(String, usize)> = all
        .iter()
        .filter(|f| !f.3)
        .map(|f| (f.0.clone(), f.1))
        .collect();
    active.sort();
    assert_eq!(active, expected(&[("SPG504", 14), ("SPG503", 15)]));
    let mut suppressed: Vec<(String, usize)> = all
        .iter()
        .filter(|f| f.3)
        .map(|f| (f.0.clone(), f.1))
        .collect();
    suppressed.sort();
    assert_eq!(suppressed, expected(&[("SPG504", 23), ("SPG503", 24)]));
}

/// YAML anchors and aliases, `<<:` merge keys (a service's and an environment's), `x-` fields
/// (not services), profiles (also from a variable).
#[test]
fn anchors_merge_keys_extension_fields_and_profiles() {
    let file = format!("{CASES}/anchors/compose.yaml");
    let all = findings(&[&file]);
    let mut got: Vec<(String, usize)> = all.iter().map(|f| (f.0.clone(), f.1)).collect();
    got.sort();
    // Merged values are reported where they are written (the anchor), once per message.
    assert_eq!(
        got,
        expected(&[("SPG508", 6), ("SPG508", 6), ("SPG504", 9), ("SPG503", 25)])
    );
    let writable: Vec<&str> = all
        .iter()
        .filter(|f| f.0 == "SPG508")
        .map(|f| f.2.as_str())
        .collect();
    assert!(writable[0].starts_with("service `first`"), "{writable:?}");
    assert!(writable[1].starts_with("service `second`"), "{writable:?}");
}

/// Published ports are judged after interpolation, in short and long syntax.
#[test]
fn published_ports_after_interpolation() {
    let file = format!("{CASES}/ports/compose.yaml");
    assert_eq!(
        codes(&[&file]),
        expected(&[("SPG507", 22), ("SPG507", 30), ("SPG507", 36)])
    );
    assert!(message(&[&file], "SPG507", 30).contains("on host address 192.168.1.10"));
    assert!(message(&[&file], "SPG507", 36).contains("network_mode: host"));
    assert_eq!(
        codes(&[&file, "--env", "HOST_IP=0.0.0.0"]),
        expected(&[
            ("SPG507", 7),
            ("SPG507", 22),
            ("SPG507", 30),
            ("SPG507", 36)
        ])
    );
    let m = message(&[&file, "--env", "HOST_IP=0.0.0.0"], "SPG507", 7);
    assert!(m.ends_with("(HOST_IP from lint's --env/--env-file)"), "{m}");
}

/// `proxy_environment` (for `lint haproxy.cfg --compose`): the proxy's effective environment,
/// env_file files then `environment:`, interpolated, with where each value came from.
#[test]
fn proxy_environment_is_the_effective_environment() {
    let dir = Path::new(ROOT).join(CASES).join("environment");
    let path = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let got = compose::proxy_environment_with_sources(&path, &text, &Env::new()).unwrap();
    let view: Vec<(String, String, String, usize)> = got
        .iter()
        .map(|(k, v, s)| {
            (
                k.clone(),
                v.clone(),
                s.file.file_name().unwrap().to_string_lossy().into_owned(),
                s.line,
            )
        })
        .collect();
    let want: Vec<(String, String, String, usize)> = [
        ("INFO", "1", "more.env", 1),
        ("NETWORKS", "0", "more.env", 2),
        ("CONTAINERS", "1", "compose.yaml", 15),
        ("IMAGES", "1", "compose.yaml", 16),
        ("EVENTS", "true", "compose.yaml", 17),
        ("POST", "1", "compose.yaml", 18),
        ("LOG_LEVEL", "notice", "compose.yaml", 19),
    ]
    .iter()
    .map(|(k, v, f, l)| (k.to_string(), v.to_string(), f.to_string(), *l))
    .collect();
    assert_eq!(view, want);
    let post = &got.iter().find(|(k, _, _)| k == "POST").unwrap().2;
    assert_eq!(post.variables.len(), 1);
    assert_eq!(post.variables[0].name, "POST_FLAG");
    assert_eq!(
        post.variables[0].origin,
        VariableOrigin::File {
            file: dir.join(".env"),
            line: 2
        }
    );
    assert!(got.iter().find(|(k, _, _)| k == "INFO").unwrap().2.env_file);
    // lint's values come first, as the shell's do for Compose.
    let lint_env: Env = [("POST_FLAG".to_string(), "0".to_string())].into();
    let got = compose::proxy_environment_with_sources(&path, &text, &lint_env).unwrap();
    let post = got.iter().find(|(k, _, _)| k == "POST").unwrap();
    assert_eq!(post.1, "0");
    assert_eq!(post.2.variables[0].origin, VariableOrigin::Lint);
    // The old function: the same pairs.
    let pairs: BTreeMap<String, String> = compose::proxy_environment(&path, &text)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(pairs["POST"], "1");
    assert_eq!(pairs["EVENTS"], "true");
    assert!(!pairs.contains_key("SOCKET_PATH"), "unset pass-through");
    assert!(
        !pairs.contains_key("APP_ONLY"),
        "the app's, not the proxy's"
    );
    // env_file as a string, next to the compose file.
    let path = Path::new(ROOT).join(CASES).join("env-file/compose.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let pairs = compose::proxy_environment(&path, &text).unwrap();
    assert_eq!(
        pairs,
        vec![
            ("CONTAINERS".to_string(), "1".to_string()),
            ("IAMGES".to_string(), "1".to_string()),
            ("POST".to_string(), "true".to_string()),
        ]
    );
    // Through the CLI: `lint haproxy.cfg --compose compose.yaml` takes them.
    let o = lint(&[
        "tests/fixtures/tecnativa-style.cfg",
        "--compose",
        &format!("{CASES}/environment/compose.yaml"),
        "--env",
        "PORT=2375",
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", err(&o));
    assert!(!err(&o).contains("no socket proxy service"), "{}", err(&o));
    // A required env_file that is missing makes --compose fail with where it is named.
    let path = Path::new(ROOT).join(CASES).join("required/compose.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let e = compose::proxy_environment(&path, &text).unwrap_err();
    assert!(e.to_string().contains("missing.env"), "{e}");
}

/// Compose files cut at every line, or with one line's indentation removed, or with a line
/// turned into a block scalar header or a list item: lint reports or refuses them, never
/// panics (the line outline reads text the YAML parser accepted in any shape).
#[test]
fn cut_and_mangled_compose_files_never_panic() {
    use sockproxy_gen::lint::{lint_text, LintOptions};
    let options = LintOptions::new(Vec::new(), Env::new(), "3.2").unwrap();
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [REAL_WORLD.to_string()].into_iter().chain(
        common::dir_entries(&Path::new(ROOT).join(CASES))
            .into_iter()
            .map(|d| format!("{CASES}/{d}")),
    ) {
        let dir = Path::new(ROOT).join(dir);
        if !dir.is_dir() {
            continue;
        }
        for name in common::dir_entries(&dir) {
            if name.ends_with(".yaml") && name.contains("compose") {
                files.push(dir.join(name));
            }
        }
    }
    assert!(files.len() > 30, "{files:?}");
    // Nowhere near a .env or another compose file: only the text is read.
    let path = Path::new("/nonexistent-dir/mangled.compose.yaml");
    let mut linted = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for k in 0..lines.len() {
            let mut variants = vec![lines[..k].join("\n")];
            let mut dedent = lines.clone();
            let trimmed = lines[k].trim_start().to_string();
            dedent[k] = &trimmed;
            variants.push(dedent.join("\n"));
            for extra in [" |", " *a"] {
                let mut v = lines.clone();
                let changed = format!("{}{extra}", lines[k]);
                v[k] = &changed;
                variants.push(v.join("\n"));
            }
            let mut item = lines.clone();
            let listed = format!("- {}", lines[k]);
            item[k] = &listed;
            variants.push(item.join("\n"));
            for v in variants {
                if lint_text(path, v, &options).is_ok() {
                    linted += 1;
                }
            }
        }
    }
    assert!(linted > 100, "{linted}");
}

/// In a project made as README says (`env`, `render -o sockproxy/haproxy.cfg`, `compose`):
/// absolute paths, so `lint` finds the config and socket the compose file mounts.
fn project(
    render: &[&str],
    compose_args: &[&str],
) -> (tempfile::TempDir, std::os::unix::net::UnixListener) {
    let dir = tempfile::tempdir().unwrap();
    let (listener, sock) = common::docker_socket(dir.path(), 4242);
    let run = |args: &[&str]| {
        common::cli()
            .current_dir(dir.path())
            .args(args)
            .assert()
            .success();
    };
    run(&["env", "--socket", common::path_arg(&sock)]);
    std::fs::create_dir(dir.path().join("sockproxy")).unwrap();
    run(&[&["render", "-o", "sockproxy/haproxy.cfg"], render].concat());
    run(&[&["compose", "-o", "compose.yaml"], compose_args].concat());
    (dir, listener)
}

/// (code, line) of `lint compose.yaml` in a project.
fn project_codes(dir: &Path) -> Vec<(String, usize)> {
    codes(&[common::path_arg(&dir.join("compose.yaml"))])
}

#[test]
fn generated_projects_lint_clean_and_their_mistakes_are_found() {
    let three = [
        "--preset",
        "homepage",
        "--preset",
        "traefik",
        "--preset",
        "watchtower",
    ];
    // Isolation (the default), and one client on TCP: clean, config and socket found.
    for extra in [&[][..], &["--tcp-client", "homepage"], &["--isolate"][..1]] {
        let args = [&three[..], extra].concat();
        let (dir, _l) = project(&args, &args);
        assert_eq!(project_codes(dir.path()), expected(&[]), "{args:?}");
        let all = lint(&[
            common::path_arg(&dir.path().join("compose.yaml")),
            common::path_arg(&dir.path().join(".env")),
            common::path_arg(&dir.path().join("sockproxy/haproxy.cfg")),
        ]);
        assert_eq!(
            all.status.code(),
            Some(0),
            "{args:?}: {}{}",
            out(&all),
            err(&all)
        );
    }
    // Every client on one network with TCP ports: not separated (SPG514 on the proxy's networks).
    let tcp = [&three[..], &["--tcp"]].concat();
    let (dir, _l) = project(&tcp, &tcp);
    let file = dir.path().join("compose.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let line = yaml.lines().position(|l| l == "    networks:").unwrap() + 1;
    assert_eq!(project_codes(dir.path()), expected(&[("SPG514", line)]));
    let m = message(&[common::path_arg(&file)], "SPG514", line);
    assert!(
        m.contains("`homepage` (port 2375), `traefik` (port 2376), `watchtower` (port 2377)")
            && m.contains("on the one network `sockproxy`"),
        "{m}"
    );
    // The host's socket path given to render too (issue 13, 4): SPG512 on the socket mount.
    let (dir, listener) = project(&["--preset", "traefik"], &["--preset", "traefik"]);
    let sock = dir.path().join("docker.sock");
    common::cli()
        .current_dir(dir.path())
        .args([
            "render",
            "--preset",
            "traefik",
            "-o",
            "sockproxy/haproxy.cfg",
        ])
        .args(["--socket", common::path_arg(&sock)])
        .assert()
        .success();
    let file = dir.path().join("compose.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let mount = yaml
        .lines()
        .position(|l| l.contains(":/var/run/docker.sock:ro"))
        .unwrap()
        + 1;
    assert_eq!(project_codes(dir.path()), expected(&[("SPG512", mount)]));
    let m = message(&[common::path_arg(&file)], "SPG512", mount);
    assert!(
        m.contains(&format!(
            "HAProxy reaches the Docker socket at {} inside service `sockproxy`",
            sock.display()
        )) && m.contains("re-render with `--socket /var/run/docker.sock`"),
        "{m}"
    );
    // The socket env recorded is gone (issue 13, 3): SPG513, naming the variable and its line.
    drop(listener);
    std::fs::remove_file(&sock).unwrap();
    common::cli()
        .current_dir(dir.path())
        .args([
            "render",
            "--preset",
            "traefik",
            "-o",
            "sockproxy/haproxy.cfg",
        ])
        .assert()
        .success();
    assert_eq!(project_codes(dir.path()), expected(&[("SPG513", mount)]));
    let m = message(&[common::path_arg(&file)], "SPG513", mount);
    assert!(
        m.contains(&format!(
            "mounts {}, which does not exist on this machine",
            sock.display()
        )) && m.contains("DOCKER_SOCKET_PATH from")
            && m.contains(".env:2"),
        "{m}"
    );
}
