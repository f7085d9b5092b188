//! The learn loop on the real Docker Engine: the docker CLI, docker-py and dockerode through a
//! `render --learn` proxy (HAProxy on the host); `learn` writes presets; configs rendered from
//! them replay the same flows with no denial and deny a route the flows did not use.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::engine;

/// Where `.ci/setup` installs dockerode (NODE_PATH for `node`); missing is a failure with the fix.
fn node_path() -> std::path::PathBuf {
    let dir =
        std::env::var("SPG_NODE_DIR").unwrap_or_else(|_| "/var/lib/sockproxy-gen/node".into());
    let path = Path::new(&dir).join("node_modules");
    assert!(
        path.join("dockerode/package.json").exists(),
        "dockerode is not installed in {}; run `bash .ci/setup`",
        path.display()
    );
    path
}

/// A container removed when the test ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = engine::docker(&["rm", "-f", "-v", &self.0]);
    }
}

/// The docker CLI: version, ps, inspect, logs, events.
fn cli_flow(port: u16, name: &str, since: u64) {
    let host = format!("tcp://127.0.0.1:{port}");
    let until = (common::now() + 1).to_string();
    let since = since.to_string();
    let runs: [&[&str]; 5] = [
        &["version"],
        &["ps", "-a"],
        &["inspect", name],
        &["logs", name],
        &["events", "--since", &since, "--until", &until],
    ];
    for args in runs {
        let out = Command::new("docker")
            .arg("-H")
            .arg(&host)
            .args(args)
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            common::output_text(&out)
        );
        if args[0] == "logs" {
            assert!(
                common::output_text(&out).contains("hello-learn"),
                "{}",
                common::output_text(&out)
            );
        }
    }
}

/// docker-py: list, get (inspect), logs, version, events.
fn python_flow(port: u16, name: &str, since: u64) {
    let script = format!(
        r#"
import docker, time
c = docker.DockerClient(base_url="tcp://127.0.0.1:{port}", version="auto")
assert any(x.name == "{name}" for x in c.containers.list(all=True))
ct = c.containers.get("{name}")
assert b"hello-learn" in ct.logs()
c.version()
list(c.events(since={since}, until=int(time.time()) + 1, decode=True))
print("py-ok")
"#
    );
    let out = Command::new(common::SYSTEM_PYTHON)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        common::output_text(&out).contains("py-ok"),
        "docker-py: {}",
        common::output_text(&out)
    );
}

/// dockerode (Node.js): list, inspect, logs, version, events.
fn node_flow(port: u16, name: &str, since: u64) {
    let script = format!(
        r#"
const Docker = require("dockerode");
const d = new Docker({{ host: "127.0.0.1", port: {port} }});
(async () => {{
  const list = await d.listContainers({{ all: true }});
  if (!list.some((c) => c.Names.includes("/{name}"))) throw new Error("not listed");
  const c = d.getContainer("{name}");
  await c.inspect();
  const logs = await c.logs({{ stdout: true, stderr: true }});
  if (!logs.toString().includes("hello-learn")) throw new Error("no logs");
  await d.version();
  const ev = await d.getEvents({{ since: {since}, until: Math.floor(Date.now() / 1000) + 1 }});
  await new Promise((ok, fail) => {{ ev.on("end", ok); ev.on("error", fail); ev.resume(); }});
  console.log("node-ok");
}})().catch((e) => {{ console.error(e); process.exit(1); }});
"#
    );
    let out = Command::new("node")
        .args(["-e", &script])
        .env("NODE_PATH", node_path())
        .output()
        .expect("node is installed");
    assert!(
        common::output_text(&out).contains("node-ok"),
        "dockerode: {}",
        common::output_text(&out)
    );
}

fn flows(base: u16, name: &str, since: u64) {
    cli_flow(base, name, since);
    python_flow(base + 1, name, since);
    node_flow(base + 2, name, since);
}

fn render(args: &[&str], port: u16, health: u16, socket: &Path, out: &Path) {
    let mut c = common::cli();
    c.arg("render")
        .args(args)
        // Several clients on TCP ports (isolation, one socket each, is the default).
        .args([
            "--tcp",
            "--listen",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--health", &format!("127.0.0.1:{health}")])
        .arg("--socket")
        .arg(socket)
        .arg("-o")
        .arg(out);
    c.assert().success();
}

/// Raw `GET path` on one frontend: the status.
fn status_of(port: u16, path: &str) -> u16 {
    common::HttpClient::new(port)
        .send(
            format!("GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .0
}

#[test]
fn learn_loop_on_the_real_engine() {
    let socket = engine::socket();
    let host = common::haproxies()
        .into_iter()
        .find(|h| h.root.is_none())
        .expect("the host's HAProxy");
    let name = engine::unique("spg-learn");
    engine::docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        engine::BUSYBOX,
        "sh",
        "-c",
        "echo hello-learn; sleep 600",
    ]);
    let _container = Container(name.clone());
    let since = common::now() - 5;
    let work = host.workdir();
    let socket = socket.as_path();

    // 1. Record: one learning frontend per client.
    let (port, health) = (common::free_ports(3), common::free_port());
    let learn_cfg = work.host("learn.cfg");
    render(
        &["--learn", "cli", "--learn", "py", "--learn", "node"],
        port,
        health,
        socket,
        &learn_cfg,
    );
    let proxy = host.spawn(&work.inner("learn.cfg"), port);
    flows(port, &name, since);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let learn_log = proxy.stop();
    assert!(
        [" cli ", " py ", " node "]
            .iter()
            .all(|c| learn_log.contains(c)),
        "{learn_log}"
    );
    assert!(
        !learn_log.contains("rule=deny:"),
        "a learning proxy denied a flow:\n{learn_log}"
    );
    let log_file = work.host("learn.log");
    std::fs::write(&log_file, &learn_log).unwrap();

    // 2. Learn: one preset per client.
    let presets = work.host("presets");
    std::fs::create_dir(&presets).unwrap();
    common::cli()
        .arg("learn")
        .arg(&log_file)
        .arg("-o")
        .arg(&presets)
        .assert()
        .success();
    assert_eq!(
        common::dir_entries(&presets),
        ["cli.yaml", "node.yaml", "py.yaml"]
    );
    let cli_preset = std::fs::read_to_string(presets.join("cli.yaml")).unwrap();
    for route in [
        "GET /containers/json",
        "GET /containers/{name}/json",
        "GET /containers/{name}/logs",
        "GET /events",
        "GET /version",
    ] {
        assert!(
            cli_preset.contains(&format!("route: \"{route}\"")),
            "{route}:\n{cli_preset}"
        );
    }
    assert!(!cli_preset.contains("archive"), "{cli_preset}");

    // 3. Enforce the learned presets: the same flows pass with no denial; an unused route is
    //    denied for each client.
    let (port, health) = (common::free_ports(3), common::free_port());
    let files: Vec<String> = ["cli", "py", "node"]
        .iter()
        .map(|c| presets.join(format!("{c}.yaml")).display().to_string())
        .collect();
    let enforce_cfg = work.host("enforce.cfg");
    let mut args = Vec::new();
    for f in &files {
        args.extend(["--preset-file", f.as_str()]);
    }
    render(&args, port, health, socket, &enforce_cfg);
    let proxy = host.spawn(&work.inner("enforce.cfg"), port);
    flows(port, &name, since);
    for client in 0..3 {
        assert_eq!(
            status_of(
                port + client,
                &format!("/v1.41/containers/{name}/archive?path=/etc")
            ),
            403,
            "client {client}: archive must be denied"
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = proxy.stop();
    let denials: Vec<&str> = log.lines().filter(|l| l.contains("rule=deny:")).collect();
    assert_eq!(
        denials.len(),
        3,
        "only the three archive probes are denied:\n{log}"
    );
    assert!(
        denials.iter().all(|l| l.contains("/archive")),
        "{denials:?}"
    );

    // 4. Compare: the recorded log plus one request to an extra route names that route.
    let extra = format!(
        "{learn_log}127.0.0.1:40000 [30/Nov/2026:08:00:00.000] cli GET \"/v1.41/containers/{name}/export\" 200 1 1 rule=learn:GET:/containers/**/export\n"
    );
    let extra_log = work.host("extra.log");
    std::fs::write(&extra_log, extra).unwrap();
    let out = common::cli()
        .arg("learn")
        .arg(&extra_log)
        .arg("--client")
        .arg("cli")
        .arg("--compare-preset")
        .arg(presets.join("cli.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    let would_deny = shown.split("granted but unused").next().unwrap_or_default();
    assert!(
        would_deny.contains("GET /containers/{name}/export [dangerous]"),
        "{shown}"
    );
    assert_eq!(would_deny.matches("\n    ").count(), 1, "{shown}");
}

/// Learning and report-only configs are valid, without a warning, on every HAProxy line.
#[test]
fn learn_and_audit_configs_pass_haproxy_check() {
    for haproxy in common::haproxies() {
        let work = haproxy.workdir();
        let path = work.host("observe.cfg");
        common::cli()
            .args(["render", "--learn", "newclient", "--preset", "traefik"])
            .args(["--preset", "homepage", "--audit", "homepage", "-o"])
            .arg(&path)
            .assert()
            .success();
        let lint = common::cli().arg("lint").arg(&path).output().unwrap();
        let findings = String::from_utf8_lossy(&lint.stdout);
        for frontend in ["newclient` is learning", "homepage` is report-only"] {
            assert!(
                findings.contains(&format!("warning[SPG106]: frontend `{frontend}")),
                "{frontend}: {findings}"
            );
        }
        let out = haproxy.check(&work.inner("observe.cfg"));
        assert!(
            out.status.success(),
            "HAProxy {}: {}",
            haproxy.version,
            common::output_text(&out)
        );
    }
}

/// `--audit`: a route outside the policy is forwarded to the daemon and logged would-deny.
#[test]
fn audit_forwards_and_logs_would_deny() {
    let socket = engine::socket();
    let host = common::haproxies()
        .into_iter()
        .find(|h| h.root.is_none())
        .expect("the host's HAProxy");
    let work = host.workdir();
    let (port, health) = (common::free_port(), common::free_port());
    render(
        &[
            "--preset",
            "traefik",
            "--audit",
            "traefik",
            "--log-format",
            "json",
        ],
        port,
        health,
        &socket,
        &work.host("audit.cfg"),
    );
    let proxy = host.spawn(&work.inner("audit.cfg"), port);
    // Forwarded: the daemon answers (404 for a container that does not exist), not the proxy.
    assert_eq!(
        status_of(port, "/v1.41/containers/spg-no-such/archive?path=/"),
        404
    );
    assert_eq!(status_of(port, "/v1.41/version"), 200);
    // Still refused whatever the mode: a non-canonical path.
    assert_eq!(status_of(port, "/v1.41/containers//json"), 400);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = proxy.stop();
    assert!(
        log.contains(r#""rule":"would-deny:GET:/containers/**/archive""#),
        "{log}"
    );
    assert!(log.contains(r#""rule":"allow:GET:/version""#), "{log}");
    assert!(
        log.contains(r#""rule":"refuse:non-canonical-path""#),
        "{log}"
    );
    // learn reads the JSON lines: against the traefik preset, /archive would be denied.
    let log_file = work.host("audit.log");
    std::fs::write(&log_file, &log).unwrap();
    let out = common::cli()
        .arg("learn")
        .arg(&log_file)
        .args(["--compare-preset", "traefik"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", common::output_text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("seen but not granted (would be denied):\n    GET /containers/{name}/archive [dangerous]  seen once"),
        "{shown}"
    );
    assert!(
        common::output_text(&out)
            .contains("refused by the proxy whatever the policy (refuse:non-canonical-path)"),
        "{}",
        common::output_text(&out)
    );
}

/// learn without a request line, an unknown --client, several clients on stdout, and an output
/// that is its own log: each a clear error, nothing written.
#[test]
fn learn_errors_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.log");
    let lines = "127.0.0.1:1 [30/Nov/2026:08:00:00.000] a GET \"/v1.41/version\" 200 1 1 rule=learn:GET:/version\n\
                 127.0.0.1:2 [30/Nov/2026:08:00:01.000] b GET \"/v1.41/containers//json\" 400 1 1 rule=refuse:non-canonical-path\n\
                 127.0.0.1:3 [30/Nov/2026:08:00:02.000] b GET \"/v1.41/info\" 200 1 1 rule=learn:GET:/info\n";
    std::fs::write(&log, lines).unwrap();
    let run = |args: &[&str]| {
        let o = common::cli().arg("learn").args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let path = common::path_arg(&log);
    let (code, err) = run(&[path]);
    assert_eq!(code, Some(64));
    assert!(
        err.contains("2 clients in the log (a, b)") && err.contains("-o DIR/"),
        "{err}"
    );
    let (code, err) = run(&[path, "--client", "c"]);
    assert_eq!(code, Some(64));
    assert!(err.contains("the clients seen are: a, b"), "{err}");
    let (code, err) = run(&[path, "--client", "b", "-o", path]);
    assert_eq!(code, Some(64));
    assert!(err.contains("would destroy the input"), "{err}");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), lines);
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "[NOTICE] started\n").unwrap();
    let (code, err) = run(&[common::path_arg(&empty)]);
    assert_eq!(code, Some(65));
    assert!(
        err.contains("no request line") && err.contains("1 line(s) read"),
        "{err}"
    );
    // One client on stdout; the refused request is noted, not granted.
    let o = common::cli()
        .args(["learn", path, "--client", "b"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let yaml = String::from_utf8_lossy(&o.stdout);
    assert!(
        yaml.contains("route: \"GET /info\"") && !yaml.contains("/json"),
        "{yaml}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("refuse:non-canonical-path"));
}

/// `learn ARGS...` in `dir`: (exit code, stdout, stderr).
fn learn_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = common::cli()
        .current_dir(dir)
        .arg("learn")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json_line(frontend: &str, method: &str, uri: &str, status: u16, rule: &str) -> String {
    serde_json::json!({
        "time": "30/Nov/2026:08:00:00.000", "client": "127.0.0.1:1", "frontend": frontend,
        "method": method, "uri": uri, "status": status, "bytes": 1, "ms": 1, "rule": rule
    })
    .to_string()
}

#[test]
fn learn_never_writes_outside_its_directory_and_reads_only_the_proxys_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let good = json_line("cli", "GET", "/v1.41/version", 200, "learn:GET:/version");
    let log = [
        format!("proxy-1  | {good}"),
        format!(
            "proxy-1  | {}",
            json_line("../pwned", "GET", "/v1.41/info", 200, "learn:GET:/info")
        ),
        format!(
            "proxy-1  | {}",
            json_line(
                &dir.path().join("abs").display().to_string(),
                "GET",
                "/v1.41/info",
                200,
                "learn:GET:/info"
            )
        ),
        // An application that logs what its users send: never a request of the proxy.
        format!(
            "app-1    | search for {}",
            json_line(
                "cli",
                "POST",
                "/v1.41/containers/create",
                201,
                "learn:POST:/containers/create"
            )
        ),
        format!(
            "app-1    | {}",
            json_line(
                "app",
                "POST",
                "/v1.41/containers/create",
                201,
                "learn:POST:/containers/create"
            )
        ),
    ]
    .join("\n");
    std::fs::write(dir.path().join("all.log"), &log).unwrap();
    let (code, _, err) = learn_in(dir.path(), &["all.log", "-o", "out"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("note: all.log:2: request of frontend \"../pwned\" skipped"),
        "{err}"
    );
    assert!(err.contains("note: all.log:3: "), "{err}");
    // The client app's own line at the line's start is a record; --service leaves it out.
    assert_eq!(common::dir_entries(&out), ["app.yaml", "cli.yaml"]);
    assert_eq!(common::dir_entries(dir.path()), ["all.log", "out"]);
    let cli = std::fs::read_to_string(out.join("cli.yaml")).unwrap();
    assert!(!cli.contains("/containers/create"), "{cli}");
    let (code, _, err) = learn_in(
        dir.path(),
        &["all.log", "--service", "proxy", "-o", "only/"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(common::dir_entries(&dir.path().join("only")), ["cli.yaml"]);
    let (code, _, err) = learn_in(dir.path(), &["all.log", "--service", "db"]);
    assert_eq!(code, Some(65), "{err}");
    assert!(err.contains("--service keeps only"), "{err}");
}

#[test]
fn denied_requests_are_counted_and_left_out_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        json_line(
            "cli",
            "GET",
            "/v1.41/containers/json",
            200,
            "allow:GET:/containers/json",
        ),
        json_line(
            "cli",
            "GET",
            "/v1.41/containers/json",
            200,
            "allow:GET:/containers/json",
        ),
        json_line(
            "cli",
            "GET",
            "/v1.41/containers/a/archive?path=/",
            403,
            "deny:not-in-policy",
        ),
        json_line(
            "cli",
            "DELETE",
            "/v1.41/containers/a",
            200,
            "learn:DELETE:/containers/*",
        ),
        "127.0.0.1:9 [30/Nov/2026:08:00:00.000] cli <BADREQ> \"<BADREQ>\" 400 0 0 rule=-"
            .to_string(),
    ]
    .join("\n");
    std::fs::write(dir.path().join("p.log"), &log).unwrap();
    let (code, yaml, err) = learn_in(dir.path(), &["p.log"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!yaml.contains("/archive"), "{yaml}");
    assert!(
        err.contains("3 request(s) allowed, 1 denied by the proxy (403): GET /containers/{name}/archive (1x); left out of the preset (give --include-denied to grant them)"),
        "{err}"
    );
    assert!(
        err.contains("routes that delete state") && err.contains("DELETE /containers/{name}"),
        "{err}"
    );
    assert!(yaml.contains("# DESTRUCTIVE"), "{yaml}");
    assert!(err.contains("(bad-request (HAProxy answered 400"), "{err}");
    assert!(!err.contains("match no Docker API route"), "{err}");
    let (code, yaml, err) = learn_in(dir.path(), &["p.log", "--include-denied"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        yaml.contains("/archive") && yaml.contains("# DANGEROUS"),
        "{yaml}"
    );

    // Only refused or denied requests: no preset, and advice that fits.
    let refused = [
        json_line(
            "cli",
            "GET",
            "/v1.41/containers//json",
            400,
            "refuse:non-canonical-path",
        ),
        json_line("cli", "GET", "/v1.41/info", 403, "deny:not-in-policy"),
    ]
    .join("\n");
    std::fs::write(dir.path().join("r.log"), refused).unwrap();
    let (code, _, err) = learn_in(dir.path(), &["r.log"]);
    assert_eq!(code, Some(65), "{err}");
    assert!(
        err.contains("no preset to write")
            && err.contains("--include-denied")
            && !err.contains("-o DIR"),
        "{err}"
    );
}

#[test]
fn learned_presets_round_trip_odd_uris_and_outputs_never_hit_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // A URI with DEL, a C1 control, a quote, a backslash and a tab in its query.
    let log = json_line(
        "cli",
        "GET",
        "/v1.41/containers/json?filters=\u{7f}\u{85}\u{9b}\"\\\t",
        200,
        "learn:GET:/containers/json",
    );
    std::fs::write(dir.path().join("del.log"), &log).unwrap();
    let (code, _, err) = learn_in(dir.path(), &["del.log", "-o", "cli.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    let yaml = std::fs::read_to_string(dir.path().join("cli.yaml")).unwrap();
    assert!(yaml.contains("\\u007F"), "{yaml}");
    let o = common::cli()
        .current_dir(dir.path())
        .args(["render", "--preset-file", "cli.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    let reason = doc["grants"][0]["reason"].as_str().unwrap();
    assert!(
        reason.ends_with("e.g. /v1.41/containers/json?filters=\u{7f}\u{85}\u{9b}\"\\\t"),
        "{reason:?}"
    );

    // -o DIR where DIR/cli.yaml is one of the logs: refused before anything is written.
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("cli.yaml"), &log).unwrap();
    std::fs::write(
        logs.join("other.log"),
        json_line("app", "GET", "/v1.41/info", 200, "learn:GET:/info"),
    )
    .unwrap();
    let (code, _, err) = learn_in(&logs, &["cli.yaml", "other.log", "-o", "."]);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("would destroy the input"), "{err}");
    assert_eq!(common::dir_entries(&logs), ["cli.yaml", "other.log"]);
    assert_eq!(std::fs::read_to_string(logs.join("cli.yaml")).unwrap(), log);

    // --compare-preset: a missing file cannot be read (66); an unknown name is a usage error.
    let (code, _, err) = learn_in(
        dir.path(),
        &["del.log", "--compare-preset", "./missing.yaml"],
    );
    assert_eq!(code, Some(66), "{err}");
    assert!(
        err.contains("missing.yaml") && !err.contains("--preset-file"),
        "{err}"
    );
    let (code, _, err) = learn_in(dir.path(), &["del.log", "--compare-preset", "traefk"]);
    assert_eq!(code, Some(64), "{err}");
    assert!(
        err.contains("`traefik`") && !err.contains("--preset-file"),
        "{err}"
    );
}
