//! One exit-code contract for every subcommand: a table of (subcommand, mistake) → code, each
//! row run against the binary. The same mistake has the same code wherever it is made, and
//! README's table is the one the binary prints in `--help`.

use std::path::Path;

use sockproxy_gen::error::ExitCode;

use crate::common;

/// Files the rows point at, made fresh for each run.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Inputs {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write(
            "bad-preset.yaml",
            b"name: mine\ndescription: x\ngrants:\n  - route: GET /containers/nosuch\n    reason: x\n",
        );
        write("bad-yaml.yaml", b"name: [\n");
        write("not-a-socket", b"");
        write("binary.cfg", b"global\n\x00\x01");
        write("flags-typo.env", b"CONTAINERS=1\nIAMGES=1\n");
        write("unknown-kw.cfg", b"global\nfrontend f\n  bnd :2375\n");
        let (_, text) = common::render_text(common::presets(&["traefik"]), Default::default());
        write("traefik.cfg", text.as_bytes());
        write("stale.env", b"PGID_DOCKER_SOCKET=1\n");
        write(
            "unterminated.env",
            b"CONTAINERS=1\nAPP=\"no closing quote\n",
        );
        Inputs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// A TCP port that refuses connections (bound, then closed).
fn refused_port() -> u16 {
    let port = common::free_port();
    drop(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    port
}

#[test]
fn every_subcommand_maps_the_same_mistake_to_the_same_code() {
    let inputs = Inputs::new();
    let p = |name: &str| inputs.path(name);
    let missing = p("missing.yaml");
    let refused = format!("tcp://127.0.0.1:{}", refused_port());
    // Reachable, but not a Docker API: every request gets a plain-text 200.
    let other = format!(
        "127.0.0.1:{}",
        common::fake_server(Some(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        ))
    );
    let no_dir = p("no/such/dir/out.cfg");
    // A socket owned by group 0 (`env` refuses to hand that group to HAProxy), and one of its own.
    let (root_dir, group_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_root_listener, root_sock) = common::docker_socket(root_dir.path(), 0);
    let (_group_listener, group_sock) = common::docker_socket(group_dir.path(), 4242);
    let root_sock = common::path_arg(&root_sock).to_string();
    let group_sock = common::path_arg(&group_sock).to_string();

    let rows: Vec<(&str, Vec<String>, ExitCode)> = vec![
        // Usage (64): clap's own errors and ours, in every subcommand.
        ("no subcommand", vec![], ExitCode::Usage),
        ("unknown subcommand", vec!["bogus".into()], ExitCode::Usage),
        (
            "render: unknown option",
            args("render --bogus"),
            ExitCode::Usage,
        ),
        (
            "compose: unknown option",
            args("compose --bogus"),
            ExitCode::Usage,
        ),
        (
            "verify: unknown option",
            args("verify --bogus"),
            ExitCode::Usage,
        ),
        (
            "lint: unknown option",
            args("lint --bogus x"),
            ExitCode::Usage,
        ),
        ("env: unknown option", args("env --bogus"), ExitCode::Usage),
        (
            "presets: unknown option",
            args("presets --bogus"),
            ExitCode::Usage,
        ),
        (
            "routes: unknown option",
            args("routes --bogus"),
            ExitCode::Usage,
        ),
        (
            "explain: unknown option",
            args("explain --bogus"),
            ExitCode::Usage,
        ),
        ("man: unknown option", args("man --bogus"), ExitCode::Usage),
        (
            "completions: unknown shell",
            args("completions nosh"),
            ExitCode::Usage,
        ),
        ("lint: no file", args("lint"), ExitCode::Usage),
        (
            "verify: no target",
            args("verify --preset traefik"),
            ExitCode::Usage,
        ),
        ("render: no policy", args("render"), ExitCode::Usage),
        ("compose: no policy", args("compose"), ExitCode::Usage),
        (
            "verify: no policy",
            vec!["verify".into(), refused.clone()],
            ExitCode::Usage,
        ),
        (
            "render: unknown preset",
            args("render --preset treafik"),
            ExitCode::Usage,
        ),
        (
            "compose: unknown preset",
            args("compose --preset treafik"),
            ExitCode::Usage,
        ),
        (
            "verify: unknown preset",
            vec![
                "verify".into(),
                refused.clone(),
                "--preset".into(),
                "treafik".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "lint: unknown preset",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--preset".into(),
                "treafik".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "presets show: unknown preset",
            args("presets show treafik"),
            ExitCode::Usage,
        ),
        (
            "render: unknown flag",
            args("render --flag IAMGES=1"),
            ExitCode::Usage,
        ),
        (
            "compose: unknown flag",
            args("compose --flag IAMGES=1"),
            ExitCode::Usage,
        ),
        (
            "verify: unknown flag",
            vec![
                "verify".into(),
                refused.clone(),
                "--flag".into(),
                "IAMGES=1".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "render: flag value",
            args("render --flag CONTAINERS=maybe"),
            ExitCode::Usage,
        ),
        (
            "render: flag without =",
            args("render --flag CONTAINERS"),
            ExitCode::Usage,
        ),
        (
            "compose: flag without =",
            args("compose --flag CONTAINERS"),
            ExitCode::Usage,
        ),
        (
            "verify: flag without =",
            vec![
                "verify".into(),
                refused.clone(),
                "--flag".into(),
                "CONTAINERS".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "lint: --env without =",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--env".into(),
                "NOEQ".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "verify: --env without =",
            vec![
                "verify".into(),
                refused.clone(),
                "--config".into(),
                p("traefik.cfg"),
                "--env".into(),
                "NOEQ".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "verify: bad target",
            args("verify nohost --preset traefik"),
            ExitCode::Usage,
        ),
        (
            "verify: bad api version",
            vec![
                "verify".into(),
                refused.clone(),
                "--preset".into(),
                "traefik".into(),
                "--api-version".into(),
                "abc".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "lint: bad haproxy version",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--haproxy-version".into(),
                "1.8".into(),
            ],
            ExitCode::Usage,
        ),
        (
            "routes: unknown section",
            args("routes --section CONTAINER"),
            ExitCode::Usage,
        ),
        (
            "explain: unknown code",
            args("explain SPG999"),
            ExitCode::Usage,
        ),
        (
            "render: port 0",
            args("render --preset traefik --port 0"),
            ExitCode::Usage,
        ),
        (
            "compose: port 0",
            args("compose --preset traefik --port 0"),
            ExitCode::Usage,
        ),
        (
            "render: health without port",
            args("render --preset traefik --health localhost"),
            ExitCode::Usage,
        ),
        (
            "render: client on the health port",
            args("render --preset traefik --port 8404 --listen 127.0.0.1"),
            ExitCode::Usage,
        ),
        (
            "compose: client on the health port",
            args("compose --preset traefik --port 8404"),
            ExitCode::Usage,
        ),
        (
            "render: output is its input",
            vec![
                "render".into(),
                "--preset-file".into(),
                p("bad-preset.yaml"),
                "-o".into(),
                p("bad-preset.yaml"),
            ],
            ExitCode::Usage,
        ),
        // Malformed input (65): the content of a named file.
        (
            "render: preset file names an unknown route",
            vec![
                "render".into(),
                "--preset-file".into(),
                p("bad-preset.yaml"),
            ],
            ExitCode::DataErr,
        ),
        (
            "compose: preset file names an unknown route",
            vec![
                "compose".into(),
                "--preset-file".into(),
                p("bad-preset.yaml"),
            ],
            ExitCode::DataErr,
        ),
        (
            "verify: preset file names an unknown route",
            vec![
                "verify".into(),
                refused.clone(),
                "--preset-file".into(),
                p("bad-preset.yaml"),
            ],
            ExitCode::DataErr,
        ),
        (
            "render: preset file is not YAML",
            vec!["render".into(), "--preset-file".into(), p("bad-yaml.yaml")],
            ExitCode::DataErr,
        ),
        (
            "render: env file with a misspelt flag",
            vec!["render".into(), "--env-file".into(), p("flags-typo.env")],
            ExitCode::DataErr,
        ),
        (
            "verify: env file with a misspelt flag",
            vec![
                "verify".into(),
                refused.clone(),
                "--env-file".into(),
                p("flags-typo.env"),
            ],
            ExitCode::DataErr,
        ),
        (
            "lint: binary file",
            vec!["lint".into(), p("binary.cfg")],
            ExitCode::DataErr,
        ),
        (
            "lint: env file with an unterminated quote",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--env-file".into(),
                p("unterminated.env"),
            ],
            ExitCode::DataErr,
        ),
        (
            "render: env file with an unterminated quote",
            vec!["render".into(), "--env-file".into(), p("unterminated.env")],
            ExitCode::DataErr,
        ),
        (
            "verify: config is binary",
            vec![
                "verify".into(),
                refused.clone(),
                "--config".into(),
                p("binary.cfg"),
            ],
            ExitCode::DataErr,
        ),
        (
            "env: not a socket",
            vec![
                "env".into(),
                "--socket".into(),
                p("not-a-socket"),
                "--print".into(),
            ],
            ExitCode::DataErr,
        ),
        // Unreadable input (66), whichever option named it.
        (
            "render: missing preset file",
            vec!["render".into(), "--preset-file".into(), missing.clone()],
            ExitCode::NoInput,
        ),
        (
            "compose: missing preset file",
            vec!["compose".into(), "--preset-file".into(), missing.clone()],
            ExitCode::NoInput,
        ),
        (
            "verify: missing preset file",
            vec![
                "verify".into(),
                refused.clone(),
                "--preset-file".into(),
                missing.clone(),
            ],
            ExitCode::NoInput,
        ),
        (
            "render: missing env file",
            vec!["render".into(), "--env-file".into(), missing.clone()],
            ExitCode::NoInput,
        ),
        (
            "lint: missing file",
            vec!["lint".into(), missing.clone()],
            ExitCode::NoInput,
        ),
        (
            "lint: missing env file",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--env-file".into(),
                missing.clone(),
            ],
            ExitCode::NoInput,
        ),
        (
            "lint: missing compose file",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--compose".into(),
                missing.clone(),
            ],
            ExitCode::NoInput,
        ),
        (
            "verify: missing config",
            vec![
                "verify".into(),
                refused.clone(),
                "--config".into(),
                missing.clone(),
            ],
            ExitCode::NoInput,
        ),
        (
            "env: no socket",
            vec![
                "env".into(),
                "--socket".into(),
                p("no.sock"),
                "--print".into(),
            ],
            ExitCode::NoInput,
        ),
        // The target (69, 76).
        (
            "verify: refused",
            vec![
                "verify".into(),
                refused.clone(),
                "--preset".into(),
                "traefik".into(),
                "--timeout".into(),
                "2".into(),
            ],
            ExitCode::Unavailable,
        ),
        (
            "verify: not a Docker API",
            vec![
                "verify".into(),
                other,
                "--preset".into(),
                "traefik".into(),
                "--timeout".into(),
                "2".into(),
            ],
            ExitCode::Protocol,
        ),
        // Output (73).
        (
            "render: output directory missing",
            vec![
                "render".into(),
                "--preset".into(),
                "traefik".into(),
                "-o".into(),
                no_dir.clone(),
            ],
            ExitCode::CantCreate,
        ),
        (
            "compose: output directory missing",
            vec![
                "compose".into(),
                "--preset".into(),
                "traefik".into(),
                "-o".into(),
                no_dir.clone(),
            ],
            ExitCode::CantCreate,
        ),
        (
            "render: output is /dev/full",
            args("render --preset traefik -o /dev/full"),
            ExitCode::CantCreate,
        ),
        (
            "man: directory missing",
            vec!["man".into(), "--dir".into(), p("no/such/dir")],
            ExitCode::CantCreate,
        ),
        // The socket's group (78) and findings (1).
        (
            "env: socket in group 0",
            vec!["env".into(), "--socket".into(), root_sock, "--print".into()],
            ExitCode::Config,
        ),
        (
            "env --check: stale",
            vec![
                "env".into(),
                "--socket".into(),
                group_sock.clone(),
                "--env-file".into(),
                p("stale.env"),
                "--check".into(),
            ],
            ExitCode::Findings,
        ),
        (
            "lint: findings",
            vec![
                "lint".into(),
                p("traefik.cfg"),
                "--preset".into(),
                "homepage".into(),
            ],
            ExitCode::Findings,
        ),
        // Success (0).
        ("render", args("render --preset traefik"), ExitCode::Ok),
        ("help", args("--help"), ExitCode::Ok),
        ("version", args("--version"), ExitCode::Ok),
        (
            "lint clean",
            vec!["lint".into(), p("traefik.cfg")],
            ExitCode::Ok,
        ),
        (
            "env --print",
            vec![
                "env".into(),
                "--socket".into(),
                group_sock,
                "--print".into(),
            ],
            ExitCode::Ok,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, argv, expected) in &rows {
        let out = common::cli()
            .args(argv)
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(*expected as i32) {
            wrong.push(format!(
                "{what}: `sockproxy-gen {}` exited {:?}, expected {} ({expected:?})\n{stderr}",
                argv.join(" "),
                out.status.code(),
                *expected as i32
            ));
        }
        if stderr.contains("panicked") {
            wrong.push(format!("{what}: panicked\n{stderr}"));
        }
        if *expected as i32 >= 64 && stderr.trim().is_empty() {
            wrong.push(format!("{what}: no message on stderr"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
    // Every code of the contract is exercised here, except 77 (permission denied on the socket,
    // which needs an unprivileged user: tests/env.rs runs that case as `nobody`).
    for code in ExitCode::ALL {
        let tested = rows.iter().any(|(_, _, c)| *c == code);
        assert!(tested || code == ExitCode::NoPerm, "{code:?} has no row");
    }
}

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn readme_and_help_document_the_same_codes() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = ExitCode::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's exit-code table differs from ExitCode::markdown_table(); put this in README:\n{table}"
    );
    let help = common::cli().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for code in ExitCode::ALL {
        let n = code as u8;
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{n} "))),
            "--help lacks exit code {n}:\n{help}"
        );
    }
}
