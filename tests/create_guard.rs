//! Issue 14: a client that may create containers still cannot become root on the host. The
//! rendered config runs in a real HAProxy in front of the real Docker Engine; the judge is the
//! daemon: every container that exists afterwards is inspected.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use sockproxy_gen::policy::PolicyInputs;

use crate::common::guard_corpus::{self, Names, Target};
use crate::common::{self, engine, Haproxy, Running};

/// The newest HAProxy line (the last of `common::haproxies()`), for the tests that run on one.
fn newest_haproxy() -> Haproxy {
    common::haproxies().into_iter().last().unwrap()
}

/// Everything one run makes on the engine, removed on drop.
struct Fixture {
    prefix: String,
    names: Names,
}

impl Fixture {
    fn new() -> Fixture {
        engine::socket();
        let prefix = engine::unique("spgguard");
        let names = Names {
            network: format!("{prefix}-net"),
            other: format!("{prefix}-other"),
            volume: format!("{prefix}-vol"),
        };
        let f = Fixture { prefix, names };
        engine::docker_ok(&["network", "create", &f.names.network]);
        engine::docker_ok(&["volume", "create", &f.names.volume]);
        // A running container with a host bind: what VolumesFrom and container:<id> would reach.
        engine::docker_ok(&[
            "run",
            "-d",
            "--name",
            &f.names.other,
            "--network",
            &f.names.network,
            "-v",
            "/etc:/hostetc:ro",
            engine::BUSYBOX,
            "sleep",
            "3600",
        ]);
        f
    }

    /// A stopped container made on the engine directly (a target for start).
    fn target(&self, n: usize) -> String {
        let name = format!("{}-target{n}", self.prefix);
        engine::docker_ok(&[
            "create",
            "--name",
            &name,
            "--network",
            &self.names.network,
            engine::BUSYBOX,
            "true",
        ]);
        name
    }

    /// The CgroupnsMode the engine gives a container that asks for nothing (target 0, made
    /// for this).
    fn cgroupns_default(&self) -> String {
        inspect("container", &self.target(0))["HostConfig"]["CgroupnsMode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `POST /v1.41/containers/create?name=PREFIX-NAME` with [`create_body`] on the fixture's
    /// network and `kv` (the body goes through serde_json, so its keys are sorted).
    fn create(&self, client: &mut common::HttpClient, name: &str, kv: &str) -> (u16, Value) {
        let body: Value = serde_json::from_str(&create_body(&self.names.network, kv)).unwrap();
        http_json(
            client,
            "POST",
            &format!("/v1.41/containers/create?name={}-{name}", self.prefix),
            Some(&body),
        )
    }

    /// Every container whose name starts with the prefix, but the fixture's own.
    fn containers(&self) -> Vec<String> {
        let out = engine::docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={}", self.prefix),
            "--format",
            "{{.Names}}",
        ]);
        out.lines()
            .filter(|n| !n.is_empty() && *n != self.names.other)
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let ids = engine::docker(&["ps", "-aq", "--filter", &format!("name={}", self.prefix)]);
        let ids = String::from_utf8_lossy(&ids.stdout).to_string();
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(ids.lines().filter(|l| !l.is_empty()));
        if args.len() > 3 {
            engine::docker(&args);
        }
        engine::docker(&["network", "rm", &self.names.network]);
        let vols = engine::docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name={}", self.prefix),
        ]);
        for v in String::from_utf8_lossy(&vols.stdout).lines() {
            engine::docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// A proxy on loopback in front of the engine, rendered from `inputs`.
struct Proxy {
    running: Option<Running>,
    port: u16,
    _work: common::WorkDir,
    _mount: Option<SocketMount>,
}

impl Proxy {
    fn start(haproxy: &Haproxy, inputs: PolicyInputs) -> Proxy {
        Proxy::start_with(haproxy, inputs, sockproxy_gen::guard::DEFAULT_BODY_LIMIT)
    }

    fn start_with(haproxy: &Haproxy, inputs: PolicyInputs, body_limit: u32) -> Proxy {
        let work = haproxy.workdir();
        // A chrooted HAProxy sees the engine's socket through a bind mount into its work dir.
        let (socket, mount) = match &haproxy.root {
            None => (engine::socket(), None),
            Some(_) => {
                let host = work.host("docker.sock");
                std::fs::write(&host, b"").unwrap();
                let m = SocketMount::new(&engine::socket(), &host);
                (work.inner("docker.sock"), Some(m))
            }
        };
        let port = common::free_ports(2);
        let (_, text) = common::render_text(
            inputs,
            sockproxy_gen::render::RenderOptions {
                body_limit,
                ..common::loopback_options(port, port + 1, &socket)
            },
        );
        let cfg = work.host("haproxy.cfg");
        std::fs::write(&cfg, &text).unwrap();
        let running = haproxy.spawn(&work.inner("haproxy.cfg"), port);
        common::wait_for_healthz(port + 1, 200, "the engine through the proxy");
        Proxy {
            running: Some(running),
            port,
            _work: work,
            _mount: mount,
        }
    }

    fn stop(&mut self) -> String {
        self.running.take().map(Running::stop).unwrap_or_default()
    }
}

struct SocketMount(std::path::PathBuf);

impl SocketMount {
    fn new(socket: &Path, at: &Path) -> SocketMount {
        let out = std::process::Command::new("mount")
            .arg("--bind")
            .arg(socket)
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount --bind the engine socket: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SocketMount(at.to_path_buf())
    }
}

impl Drop for SocketMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).output();
    }
}

/// `text` written to `dir/file`, a preset file; its path.
fn write_preset(dir: &tempfile::TempDir, file: &str, text: &str) -> PathBuf {
    let path = dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// The policy inputs of one preset file.
fn preset_file_inputs(file: &Path) -> PolicyInputs {
    PolicyInputs {
        preset_files: vec![file.to_path_buf()],
        ..Default::default()
    }
}

/// `sockproxy-gen render --preset-file FILE`.
fn render_preset_file(file: &Path) -> Output {
    common::cli()
        .arg("render")
        .arg("--preset-file")
        .arg(file)
        .output()
        .unwrap()
}

fn flags(list: &[&str]) -> PolicyInputs {
    PolicyInputs {
        flags: list.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Sends a request that never completes; the status HAProxy answers (after its wait).
fn send_incomplete(port: u16, request: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn inspect(what: &str, name: &str) -> Value {
    let text = engine::docker_ok(&[what, "inspect", name]);
    let v: Value = serde_json::from_str(&text).unwrap();
    v[0].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// What the daemon says makes a container more than an unprivileged one; empty when clean.
/// `cgroupns_default` is what the engine gives a container that asks for nothing.
fn host_access(c: &Value, cgroupns_default: &str) -> Vec<String> {
    let h = &c["HostConfig"];
    let mut bad = Vec::new();
    if h["Privileged"] != Value::Bool(false) {
        bad.push(format!("Privileged {}", h["Privileged"]));
    }
    for b in strings(&h["Binds"]) {
        if b.starts_with('/') || !b.contains(':') {
            bad.push(format!("Binds {b}"));
        }
    }
    for m in c["Mounts"].as_array().into_iter().flatten() {
        if m["Type"] != "volume" && m["Type"] != "tmpfs" {
            bad.push(format!("mount {m}"));
        }
        if m["Type"] == "volume" {
            let name = m["Name"].as_str().unwrap_or_default();
            let vol = inspect("volume", name);
            if !is_empty(&vol["Options"]) || vol["Driver"] != "local" {
                bad.push(format!("volume {name} {vol}"));
            }
        }
    }
    for key in ["NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode"] {
        let v = h[key].as_str().unwrap_or_default();
        if v == "host" || v.starts_with("container:") {
            bad.push(format!("{key} {v}"));
        }
    }
    if h["CgroupnsMode"].as_str().unwrap_or_default() != cgroupns_default {
        bad.push(format!("CgroupnsMode {}", h["CgroupnsMode"]));
    }
    for key in [
        "Cgroup",
        "CgroupParent",
        "Devices",
        "DeviceRequests",
        "DeviceCgroupRules",
        "CapAdd",
        "Capabilities",
        "Sysctls",
        "VolumesFrom",
        "VolumeDriver",
    ] {
        if !is_empty(&h[key]) {
            bad.push(format!("{key} {}", h[key]));
        }
    }
    for opt in strings(&h["SecurityOpt"]) {
        if !opt.starts_with("no-new-privileges") {
            bad.push(format!("SecurityOpt {opt}"));
        }
    }
    for (key, defaults) in [
        ("MaskedPaths", sockproxy_gen::guard::MASKED_PATHS),
        ("ReadonlyPaths", sockproxy_gen::guard::READONLY_PATHS),
    ] {
        let paths = strings(&h[key]);
        for p in defaults {
            if !paths.iter().any(|m| m == p) {
                bad.push(format!("{key} without {p}"));
            }
        }
    }
    if h["Runtime"] != "runc" {
        bad.push(format!("Runtime {}", h["Runtime"]));
    }
    bad
}

/// `GET path` on the engine's socket, as JSON.
fn engine_get(path: &str) -> Value {
    let mut s = std::os::unix::net::UnixStream::connect(engine::socket()).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    // Chunked or not, the JSON object is the part between the first { and the last }.
    let (start, end) = (
        body.find('{').unwrap_or(0),
        body.rfind('}').map_or(0, |e| e + 1),
    );
    serde_json::from_str(&body[start..end]).unwrap_or(Value::Null)
}

fn refused_by_proxy(status: u16, body: &[u8]) -> bool {
    status == 408 || String::from_utf8_lossy(body).contains("sockproxy-gen refused")
}

/// The attack corpus through one HAProxy; returns (size, refused, containers that exist and
/// are clean, execs clean).
fn run_corpus(haproxy: &Haproxy) -> (usize, usize, usize, usize) {
    let fixture = Fixture::new();
    let cgroupns_default = fixture.cgroupns_default();
    let targets: Vec<String> = (1..=3).map(|i| fixture.target(i)).collect();
    let mut proxy = Proxy::start(haproxy, flags(&["CONTAINERS=1", "POST=1"]));
    let cases = guard_corpus::corpus(&fixture.names);
    assert!(cases.len() >= 500, "corpus of {} cases", cases.len());
    let mut client = common::HttpClient::new(proxy.port);
    let mut refused = 0;
    let mut failures = Vec::new();
    let mut execs = Vec::new();
    let slow: Vec<_> = cases
        .iter()
        .filter(|c| c.incomplete)
        .map(|c| {
            let port = proxy.port;
            let name = c.name.clone();
            let request = String::from_utf8_lossy(&c.request)
                .replace("{NAME}", &format!("{}-slow", fixture.prefix))
                .into_bytes();
            std::thread::spawn(move || (name, send_incomplete(port, &request)))
        })
        .collect();
    for (i, case) in cases.iter().filter(|c| !c.incomplete).enumerate() {
        let id = match &case.target {
            Target::Create => String::new(),
            Target::Start { .. } => targets[i % targets.len()].clone(),
            Target::Exec => fixture.names.other.clone(),
        };
        let text = String::from_utf8_lossy(&case.request).to_string();
        // Only the request line holds the placeholders; the body stays byte for byte.
        let (line, rest) = case.request.split_at(text.find("\r\n").unwrap());
        let line = String::from_utf8_lossy(line)
            .replace("{NAME}", &format!("{}-c{i}", fixture.prefix))
            .replace("{ID}", &id);
        let mut request = line.into_bytes();
        request.extend_from_slice(rest);
        let (status, response) = client.send(&request);
        let by_proxy = refused_by_proxy(status, &response.body);
        if by_proxy {
            refused += 1;
        }
        if case.dangerous != by_proxy {
            failures.push(format!(
                "{}: {} {} ({})",
                case.name,
                if case.dangerous {
                    "not refused by the guard"
                } else {
                    "refused by the guard"
                },
                status,
                String::from_utf8_lossy(&response.body)
            ));
        }
        if case.target == Target::Exec && status == 201 {
            let v: Value = serde_json::from_slice(&response.body).unwrap();
            execs.push((case.name.clone(), v["Id"].as_str().unwrap().to_string()));
        }
    }
    for handle in slow {
        let (name, status) = handle.join().unwrap();
        if status != 408 {
            failures.push(format!("{name}: answered {status}, not 408"));
        } else {
            refused += 1;
        }
    }
    let log = proxy.stop();
    // The judge: every container that exists now, and every exec that was created.
    let containers = fixture.containers();
    let mut dirty = Vec::new();
    for name in &containers {
        let bad = host_access(&inspect("container", name), &cgroupns_default);
        if !bad.is_empty() {
            dirty.push(format!("{name}: {}", bad.join("; ")));
        }
    }
    for (case, id) in &execs {
        let v = engine_get(&format!("/v1.41/exec/{id}/json"));
        let p = &v["ProcessConfig"];
        if p["privileged"] != Value::Bool(false) || !is_empty(&p["user"]) {
            dirty.push(format!("exec {case}: {p}"));
        }
    }
    println!(
        "HAProxy {}: corpus {} bodies ({} create, {} start, {} exec); refused by the guard {}; reached the daemon {}; containers that exist afterwards {} ({} start targets made on the engine, the rest created through the proxy), clean {}; execs created {} (clean {})",
        haproxy.version,
        cases.len(),
        cases.iter().filter(|c| c.target == Target::Create).count(),
        cases
            .iter()
            .filter(|c| matches!(c.target, Target::Start { .. }))
            .count(),
        cases.iter().filter(|c| c.target == Target::Exec).count(),
        refused,
        cases.len() - refused,
        containers.len(),
        containers.iter().filter(|c| c.contains("-target")).count(),
        containers.len() - dirty.iter().filter(|d| !d.starts_with("exec ")).count(),
        execs.len(),
        execs.len() - dirty.iter().filter(|d| d.starts_with("exec ")).count(),
    );
    assert!(
        dirty.is_empty(),
        "the daemon reports host access:\n{}",
        dirty.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases went the wrong way:\n{}\nHAProxy log tail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(
        containers.len() > 20,
        "only {} containers exist: the controls should have been created",
        containers.len()
    );
    (cases.len(), refused, containers.len(), execs.len())
}

#[test]
fn attack_corpus_through_every_haproxy_leaves_no_container_with_host_access() {
    for haproxy in common::haproxies() {
        run_corpus(&haproxy);
    }
}

/// The creates in HAProxy's log: (allowed with 201, refused by a body check, other).
fn creates_in_log(log: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut ok, mut refused, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for line in log.lines().filter(|l| l.contains("/containers/create")) {
        if line.contains("rule=deny:body:") {
            refused.push(line.to_string());
        } else if line.contains(" 201 ") && line.contains("rule=allow:") {
            ok.push(line.to_string());
        } else {
            other.push(line.to_string());
        }
    }
    (ok, refused, other)
}

fn run_ok(c: &mut std::process::Command, what: &str) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const DOCKER_PY: &str = r#"
import sys, docker
prefix, net, vol = sys.argv[1], sys.argv[2], sys.argv[3]
c = docker.from_env(version="auto")
img = "spg/busybox:latest"
c.containers.create(img, ["sh", "-c", "echo a<b>c && x & y"], name=prefix + "-py1",
    environment={"A": "1", "B": "x y", "C": "é"}, labels={"app": "café", "tier": "<web>"},
    ports={"80/tcp": 18180}, volumes={vol: {"bind": "/data", "mode": "rw"}},
    restart_policy={"Name": "on-failure", "MaximumRetryCount": 3}, network=net)
c.containers.run(img, "sleep 30", name=prefix + "-py2", detach=True, network=net,
    cap_drop=["ALL"], security_opt=["no-new-privileges"], mem_limit="64m", read_only=True,
    tmpfs={"/run": "size=1m"}, user="1000:1000", working_dir="/tmp", init=True)
api = c.api
hc = api.create_host_config(binds=[vol + ":/v:ro"], port_bindings={8080: ("127.0.0.1", 18181)},
    restart_policy={"Name": "always"}, network_mode=net, shm_size="16m", pids_limit=50,
    ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=2048)], extra_hosts={"x": "10.0.0.1"})
api.create_container(img, "true", name=prefix + "-py3", host_config=hc, ports=[8080],
    healthcheck={"test": ["CMD", "true"], "interval": 5000000000}, stop_signal="SIGTERM")
mount = docker.types.Mount("/m", vol, type="volume", read_only=True)
c.containers.create(img, "true", name=prefix + "-py4", mounts=[mount], network=net, hostname="h",
    dns=["1.1.1.1"], log_config=docker.types.LogConfig(type="json-file", config={"max-size": "1m"}))
c.containers.create(img, name=prefix + "-py5", network=net, entrypoint=["sh", "-c"],
    command=["x > y < z & w"], stdin_open=True, tty=True, ipc_mode="private")
"#;

const COMPOSE: &str = r#"
services:
  web:
    image: spg/busybox:latest
    command: ["sh", "-c", "echo '<b>' > /tmp/x && cat < /tmp/x & sleep 30"]
    ports: ["127.0.0.1:18280:80"]
    environment:
      A: "1"
      B: "x & y"
    labels:
      traefik.http.routers.web.rule: "Host(`a.example`) && PathPrefix(`/x`)"
    volumes: ["data:/data"]
    restart: unless-stopped
    networks: [front, back]
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
  worker:
    image: spg/busybox:latest
    command: sleep 30
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    tmpfs: [/run]
    user: "1000"
    volumes:
      - type: volume
        source: data
        target: /d
        read_only: true
    networks: [back]
    restart: on-failure
volumes:
  data: {}
networks:
  front: {}
  back: {}
"#;

/// The bodies real clients send pass the guard: the docker CLI, docker-py and Compose (v2 and
/// 1.29) create through the proxy to the engine, and none is refused.
#[test]
fn real_clients_create_through_the_guard_without_a_false_denial() {
    let haproxy = newest_haproxy();
    let fixture = Fixture::new();
    let vol2 = format!("{}-vol2", fixture.prefix);
    let mut proxy = Proxy::start(
        &haproxy,
        flags(&[
            "CONTAINERS=1",
            "IMAGES=1",
            "NETWORKS=1",
            "VOLUMES=1",
            "INFO=1",
            "POST=1",
        ]),
    );
    let host = format!("tcp://127.0.0.1:{}", proxy.port);
    let p = &fixture.prefix;
    let net = &fixture.names.network;
    let vol = &fixture.names.volume;
    let n = |i: usize| format!("{p}-cli{i}");
    let cli: Vec<Vec<String>> = vec![
        vec![
            "create",
            "--name",
            &n(1),
            "-p",
            "18080:80",
            "-e",
            "A=1",
            "-e",
            "B=x y",
            "-l",
            "l1=v1",
            "-v",
            &format!("{vol}:/data"),
            "--restart",
            "unless-stopped",
            "--network",
            net,
            engine::BUSYBOX,
            "sh",
            "-c",
            "echo a<b>c && echo d&",
        ],
        vec![
            "run",
            "-d",
            "--name",
            &n(2),
            "--network",
            net,
            "--restart",
            "on-failure:3",
            engine::BUSYBOX,
            "sleep",
            "30",
        ],
        vec![
            "create",
            "--name",
            &n(3),
            "--network",
            net,
            "-p",
            "127.0.0.1:18081:81/udp",
            "--expose",
            "90",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(4),
            "--network",
            net,
            "--mount",
            &format!("type=volume,src={vol},dst=/m"),
            "--tmpfs",
            "/run:size=1m",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(5),
            "--network",
            net,
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(6),
            "--network",
            net,
            "--health-cmd",
            "true",
            "--health-interval",
            "5s",
            "-m",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "100",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(7),
            "--network",
            net,
            "--hostname",
            "h",
            "--add-host",
            "x:10.0.0.1",
            "--dns",
            "1.1.1.1",
            "--log-opt",
            "max-size=1m",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(8),
            "--network",
            net,
            "--init",
            "--stop-signal",
            "SIGTERM",
            "--stop-timeout",
            "5",
            "--entrypoint",
            "sh",
            engine::BUSYBOX,
            "-c",
            "x > y < z & w",
        ],
        vec![
            "create",
            "--name",
            &n(9),
            "--network",
            net,
            "--network-alias",
            "web",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(10),
            "--network",
            net,
            "-it",
            engine::BUSYBOX,
        ],
        vec![
            "run",
            "-d",
            "--name",
            &n(11),
            "--network",
            net,
            "-v",
            &format!("{vol2}:/d:ro"),
            engine::BUSYBOX,
            "sleep",
            "30",
        ],
        vec![
            "create",
            "--name",
            &n(12),
            "--network",
            net,
            "--ulimit",
            "nofile=1024:2048",
            "--shm-size",
            "16m",
            "--ipc",
            "private",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(13),
            "--network",
            net,
            "-e",
            r#"JSON={"a":"<b>","c":"\u0041"}"#,
            "-l",
            "traefik.http.routers.x.rule=Host(`a.b`) && PathPrefix(`/x`)",
            "-l",
            "name=café ☕",
            engine::BUSYBOX,
        ],
        vec![
            "create",
            "--name",
            &n(14),
            "--network",
            net,
            "--privileged=false",
            "--restart",
            "always",
            engine::BUSYBOX,
        ],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_string).collect())
    .collect();
    for args in &cli {
        run_ok(
            engine::command("docker")
                .env("DOCKER_HOST", &host)
                .args(args),
            &format!("docker {}", args.join(" ")),
        );
    }
    run_ok(
        engine::command(common::SYSTEM_PYTHON)
            .env("DOCKER_HOST", &host)
            .args(["-c", DOCKER_PY, p, net, vol]),
        "docker-py",
    );
    let mut projects = Vec::new();
    for compose in [engine::Compose::V2, engine::Compose::V1] {
        let project = engine::Project::new(compose);
        project.write("compose.yaml", COMPOSE);
        let mut c = match compose {
            engine::Compose::V2 => {
                let mut c = engine::command("docker");
                c.arg("compose");
                c
            }
            engine::Compose::V1 => engine::command("docker-compose"),
        };
        run_ok(
            c.env("DOCKER_HOST", &host)
                .current_dir(project.dir.path())
                .args(["-p", &project.name, "up", "--no-start"]),
            &format!("{compose:?} up --no-start"),
        );
        projects.push(project);
    }
    let log = proxy.stop();
    let (ok, refused, other) = creates_in_log(&log);
    println!(
        "HAProxy {}: real client creates through the guard: {} passed (docker CLI {}, docker-py 5, Compose v2 and 1.29 2 each), {} refused by a body check, {} other",
        haproxy.version,
        ok.len(),
        cli.len(),
        refused.len(),
        other.len()
    );
    assert!(refused.is_empty(), "false denials:\n{}", refused.join("\n"));
    assert!(
        other.is_empty(),
        "creates that failed:\n{}",
        other.join("\n")
    );
    assert!(ok.len() >= 20, "only {} creates:\n{log}", ok.len());
    assert_eq!(ok.len(), cli.len() + 5 + 4, "{log}");
    drop(projects);
    drop(fixture);
    engine::docker(&["volume", "rm", "-f", &vol2]);
}

/// A container create body: spg/busybox running `true`, on network `net`, with `kv` (one or
/// more `"Key":value` pairs) in its HostConfig.
fn create_body(net: &str, kv: &str) -> String {
    format!(
        r#"{{"Image":"{}","Cmd":["true"],"HostConfig":{{"NetworkMode":"{net}",{kv}}}}}"#,
        engine::BUSYBOX
    )
}

/// `method path` with `body` as the JSON body, sent byte for byte; the status and the response.
fn send_json(
    client: &mut common::HttpClient,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, common::backend::Message) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    client.send(request.as_bytes())
}

/// [`send_json`] with `body` serialized (none: empty); the status and the answer as JSON (null
/// when it is not JSON).
fn http_json(
    client: &mut common::HttpClient,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, response) = send_json(client, method, path, &body);
    let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (status, value)
}

/// [`http_json`], which must answer `expected` (`what` names the request when it does not);
/// the answer.
fn expect_json(
    client: &mut common::HttpClient,
    method: &str,
    path: &str,
    body: Option<&Value>,
    expected: u16,
    what: &str,
) -> Value {
    let (status, value) = http_json(client, method, path, body);
    assert_eq!(status, expected, "{what}: {value}");
    value
}

/// Watchtower's re-create of an ordinary container through the watchtower preset's guard:
/// inspect, stop, remove, create with the inspected Config, HostConfig and networks (as
/// watchtower's GetCreateConfig/GetCreateHostConfig copy them), start. The HostConfig that
/// inspect returns (MaskedPaths, ReadonlyPaths, CgroupnsMode host, IpcMode private, Runtime
/// runc, ...) passes as it is.
#[test]
fn watchtower_recreates_an_ordinary_container_through_the_guard() {
    let haproxy = newest_haproxy();
    let fixture = Fixture::new();
    let app = format!("{}-app", fixture.prefix);
    let vol = format!("{}:/data", fixture.names.volume);
    engine::docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        "--network",
        &fixture.names.network,
        "-v",
        &vol,
        "-e",
        "A=1",
        "-l",
        "com.example=x",
        "--restart",
        "unless-stopped",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        engine::BUSYBOX,
        "sleep",
        "600",
    ]);
    let mut proxy = Proxy::start(&haproxy, common::presets(&["watchtower"]));
    let mut client = common::HttpClient::new(proxy.port);
    let old = expect_json(
        &mut client,
        "GET",
        &format!("/v1.41/containers/{app}/json"),
        None,
        200,
        "inspect",
    );
    let old_id = old["Id"].as_str().unwrap().to_string();
    let image = "/v1.41/images/spg/busybox:latest/json";
    expect_json(&mut client, "GET", image, None, 200, "image inspect");
    let stop = format!("/v1.41/containers/{old_id}/stop?t=1");
    expect_json(&mut client, "POST", &stop, None, 204, "stop");
    let remove = format!("/v1.41/containers/{old_id}");
    expect_json(&mut client, "DELETE", &remove, None, 204, "remove");
    let mut config = old["Config"].clone();
    if config["Hostname"].as_str() == old_id.get(..12) {
        config["Hostname"] = Value::String(String::new());
    }
    config["Image"] = Value::String(engine::BUSYBOX.into());
    let mut endpoints = serde_json::Map::new();
    for (net, settings) in old["NetworkSettings"]["Networks"].as_object().unwrap() {
        endpoints.insert(
            net.clone(),
            serde_json::json!({
                "IPAMConfig": settings["IPAMConfig"],
                "Links": settings["Links"],
                "Aliases": settings["Aliases"],
            }),
        );
    }
    let mut body = config.as_object().unwrap().clone();
    body.insert("HostConfig".into(), old["HostConfig"].clone());
    body.insert(
        "NetworkingConfig".into(),
        serde_json::json!({ "EndpointsConfig": endpoints }),
    );
    let body = Value::Object(body);
    let created = expect_json(
        &mut client,
        "POST",
        &format!("/v1.41/containers/create?name={app}"),
        Some(&body),
        201,
        &format!("re-create with {body}"),
    );
    let start = format!(
        "/v1.41/containers/{}/start",
        created["Id"].as_str().unwrap()
    );
    expect_json(&mut client, "POST", &start, None, 204, "start");
    // The same body with one field changed is refused at the create.
    let mut privileged = body.clone();
    privileged["HostConfig"]["Privileged"] = Value::Bool(true);
    expect_json(
        &mut client,
        "POST",
        &format!("/v1.41/containers/create?name={app}-2"),
        Some(&privileged),
        403,
        "privileged re-create",
    );
    let log = proxy.stop();
    let now = inspect("container", &app);
    assert_eq!(now["State"]["Running"], Value::Bool(true), "{now}");
    assert_ne!(now["Id"].as_str().unwrap(), old_id);
    assert_eq!(now["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
    assert_eq!(now["Mounts"][0]["Name"], fixture.names.volume.as_str());
    assert!(log.contains("rule=allow:POST:/containers/create"), "{log}");
    drop(fixture);
}

/// Lint recognises the guard render writes, and reports a create grant without it (a check
/// removed, or the guard turned off on purpose in the preset) as root-equivalent (SPG404).
#[test]
fn lint_reports_a_create_grant_without_a_sound_guard() {
    let dir = tempfile::tempdir().unwrap();
    let lint = |file: &Path| {
        let out = common::cli().arg("lint").arg(file).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (_, text) = common::render_text(
        common::presets(&["watchtower"]),
        sockproxy_gen::render::RenderOptions::default(),
    );
    let whole = dir.path().join("whole.cfg");
    std::fs::write(&whole, &text).unwrap();
    assert!(!lint(&whole).contains("SPG404"), "{}", lint(&whole));
    for check in [
        "deny:body:binds)",
        "deny:body:escape)",
        "wait-for-body",
        "set-var(txn.spg_suspect)",
    ] {
        let cut: String = text
            .lines()
            .filter(|l| !l.contains(check))
            .map(|l| format!("{l}\n"))
            .collect();
        let file = dir.path().join("cut.cfg");
        std::fs::write(&file, cut).unwrap();
        let report = lint(&file);
        let name = match check {
            "set-var(txn.spg_suspect)" => "combined-pass",
            other => other.trim_start_matches("deny:body:").trim_end_matches(')'),
        };
        assert!(
            report.contains("error[SPG404]") && report.contains(&format!("missing: {name}")),
            "without {check}:\n{report}"
        );
    }
    let preset = write_preset(
        &dir,
        "creator.yaml",
        "name: creator\ndescription: a CI runner\ngrants:\n  - route: POST /containers/create\n    reason: runs jobs\n    body:\n      profile: unguarded\n      reason: the jobs need --privileged\n",
    );
    let out = render_preset_file(&preset);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("body guard off on purpose")
            && stderr.contains("the jobs need --privileged"),
        "{stderr}"
    );
    let file = dir.path().join("unguarded.cfg");
    std::fs::write(&file, &out.stdout).unwrap();
    let report = lint(&file);
    assert!(report.contains("error[SPG404]"), "{report}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("req.body"));
}

/// A preset's `body:` is checked where it is written: the file, the line and the fix.
#[test]
fn preset_body_profiles_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("    body:\n      profile: unguarded\n", "give `reason:` saying why"),
        ("    body:\n      profile: trusted\n", "unknown body profile `trusted`"),
        (
            "    body:\n      profile: unprivileged\n      host_paths:\n        - value: /srv/../etc\n          reason: r\n",
            "must be absolute and clean",
        ),
        (
            "    body:\n      profile: unprivileged\n      capabilities:\n        - value: ALL\n          reason: r\n",
            "not ALL",
        ),
        (
            "    body:\n      profile: unprivileged\n      users:\n        - value: root\n          reason: r\n",
            "`users:` applies to exec create only",
        ),
    ];
    for (body, expected) in cases {
        let preset = write_preset(
            &dir,
            "p.yaml",
            &format!("name: p\ndescription: d\ngrants:\n  - route: POST /containers/create\n    reason: r\n{body}"),
        );
        let out = render_preset_file(&preset);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{body}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("p.yaml:4"),
            "{body}: {stderr}"
        );
    }
    // On a route without a body kind, `body:` is an error too.
    let preset = write_preset(
        &dir,
        "p.yaml",
        "name: p\ndescription: d\ngrants:\n  - route: GET /containers/json\n    reason: r\n    body:\n      profile: unprivileged\n",
    );
    let out = render_preset_file(&preset);
    assert!(String::from_utf8_lossy(&out.stderr).contains("applies to container create"));
}

/// verify sends a privileged create (and start with API 1.23, and exec) naming objects that
/// cannot exist: through the guard each is refused; through a proxy whose preset turned the
/// guard off, verify reports them as unguarded and fails. The engine is left as it was.
#[test]
fn verify_probes_the_body_guard_on_the_engine() {
    let haproxy = newest_haproxy();
    let label = engine::unique("spgguardverify");
    let before = engine::state(&label);
    let dir = tempfile::tempdir().unwrap();
    let unguarded = write_preset(
        &dir,
        "unguarded.yaml",
        "name: unguarded\ndescription: a CI runner\ngrants:\n  - route: GET /_ping\n    reason: ping\n  - route: POST /containers/create\n    reason: runs jobs\n    body:\n      profile: unguarded\n      reason: the jobs need --privileged\n  - route: POST /containers/{id}/start\n    reason: starts them\n",
    );
    for (inputs, args, guarded) in [
        (
            common::presets(&["watchtower"]),
            vec!["--preset".to_string(), "watchtower".to_string()],
            true,
        ),
        (
            preset_file_inputs(&unguarded),
            vec![
                "--preset-file".to_string(),
                unguarded.to_string_lossy().into_owned(),
            ],
            false,
        ),
    ] {
        let mut proxy = Proxy::start(&haproxy, inputs);
        let out = common::cli()
            .arg("verify")
            .arg(format!("tcp://127.0.0.1:{}", proxy.port))
            .args(&args)
            .arg("--format")
            .arg("json")
            .output()
            .unwrap();
        proxy.stop();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let routes = report["routes"].as_array().unwrap();
        let probed: Vec<&Value> = routes
            .iter()
            .filter(|r| r["body_probes"].is_array())
            .collect();
        let names: Vec<&str> = probed
            .iter()
            .map(|r| r["route"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"POST /containers/create")
                && names.contains(&"POST /containers/{name}/start"),
            "{names:?}"
        );
        for r in &probed {
            let statuses: Vec<u64> = r["body_probes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["status"].as_u64().unwrap())
                .collect();
            let route = r["route"].as_str().unwrap();
            if guarded {
                assert!(statuses.iter().all(|s| *s == 403), "{route}: {statuses:?}");
                assert!(r["mismatch"].is_null(), "{r}");
            } else if route == "POST /containers/create" {
                assert!(statuses.iter().all(|s| *s != 403), "{route}: {statuses:?}");
                assert_eq!(r["mismatch"], "unguarded-body", "{r}");
            }
        }
        assert_eq!(
            out.status.success(),
            guarded,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every image and the Swarm's services as they were; no container of the probes' name.
    assert_eq!(
        engine::state(&label),
        before,
        "verify's probes changed the engine"
    );
    let probes = engine::docker_ok(&["ps", "-a", "--filter", "name=spg-verify-probe", "-q"]);
    assert!(probes.is_empty(), "{probes}");
}

/// The judge is sound: through a proxy whose create grant is unguarded on purpose, the same
/// bodies the guard refuses make containers that `host_access` reports.
#[test]
fn the_judge_sees_host_access_when_the_guard_is_off() {
    let haproxy = newest_haproxy();
    let fixture = Fixture::new();
    let cgroupns_default = fixture.cgroupns_default();
    let dir = tempfile::tempdir().unwrap();
    let preset = write_preset(
        &dir,
        "unguarded.yaml",
        "name: unguarded\ndescription: d\ngrants:\n  - route: POST /containers/create\n    reason: r\n    body:\n      profile: unguarded\n      reason: the judge's own test\n",
    );
    let mut proxy = Proxy::start(&haproxy, preset_file_inputs(&preset));
    let mut client = common::HttpClient::new(proxy.port);
    let bodies = [
        ("privileged", r#""Privileged":true"#.to_string()),
        ("bind", r#""Binds":["/etc:/hostetc:ro"]"#.to_string()),
        ("pid-host", r#""PidMode":"host""#.to_string()),
        ("cap-add", r#""CapAdd":["SYS_ADMIN"]"#.to_string()),
        ("seccomp", r#""SecurityOpt":["seccomp=unconfined"]"#.to_string()),
        ("devices", r#""Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x","CgroupPermissions":"rwm"}]"#.to_string()),
        ("masked", r#""MaskedPaths":[]"#.to_string()),
    ];
    for (name, kv) in &bodies {
        let (status, v) = fixture.create(&mut client, &format!("judge-{name}"), kv);
        assert_eq!(status, 201, "{name}: {v}");
    }
    proxy.stop();
    for (name, _) in &bodies {
        let c = inspect("container", &format!("{}-judge-{name}", fixture.prefix));
        let bad = host_access(&c, &cgroupns_default);
        assert!(!bad.is_empty(), "{name}: the judge saw nothing");
    }
}

/// Swarm services (the one-node Swarm of the engine): a grant of service create and update
/// carries the guard too. Specs that bind a host path, add capabilities, join the host's
/// network, turn confinement off or set sysctls are refused, on create and on update; an
/// ordinary service is created and updated, and the daemon's record of it is clean.
#[test]
fn service_create_and_update_are_guarded_on_the_swarm() {
    let haproxy = newest_haproxy();
    let name = engine::unique("spgguardsvc");
    let mut proxy = Proxy::start(&haproxy, flags(&["SERVICES=1", "POST=1"]));
    let mut client = common::HttpClient::new(proxy.port);
    let spec = |extra: &str, networks: &str| -> Value {
        serde_json::from_str(&format!(
            r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"{}","Command":["sleep","60"]{extra}}}{networks}}},"Mode":{{"Replicated":{{"Replicas":0}}}}}}"#,
            engine::BUSYBOX
        ))
        .unwrap()
    };
    let dangerous = [
        (
            "mount-bind",
            r#","Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]"#,
            "",
        ),
        (
            "mount-bind-lower",
            r#","mounts":[{"type":"BIND","source":"/etc","target":"/h"}]"#,
            "",
        ),
        (
            "driver-options",
            r#","Mounts":[{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]"#,
            "",
        ),
        ("cap-add", r#","CapabilityAdd":["CAP_SYS_ADMIN"]"#, ""),
        (
            "seccomp",
            r#","Privileges":{"Seccomp":{"Mode":"unconfined"}}"#,
            "",
        ),
        (
            "apparmor",
            r#","Privileges":{"AppArmor":{"Mode":"disabled"}}"#,
            "",
        ),
        (
            "selinux",
            r#","Privileges":{"SELinuxContext":{"Disable":true}}"#,
            "",
        ),
        ("sysctls", r#","Sysctls":{"net.ipv4.ip_forward":"1"}"#, ""),
        ("host-network", "", r#","Networks":[{"Target":"host"}]"#),
    ];
    let create = "/v1.41/services/create";
    for (case, extra, networks) in dangerous {
        let body = spec(extra, networks);
        let what = format!("create {case}");
        expect_json(&mut client, "POST", create, Some(&body), 403, &what);
    }
    let ordinary = spec("", "");
    let created = expect_json(&mut client, "POST", create, Some(&ordinary), 201, "create");
    let id = created["ID"].as_str().unwrap().to_string();
    let version = inspect("service", &id)["Version"]["Index"]
        .as_u64()
        .unwrap();
    let update = format!("/v1.41/services/{id}/update?version={version}");
    for (case, extra, networks) in dangerous {
        let body = spec(extra, networks);
        let what = format!("update {case}");
        expect_json(&mut client, "POST", &update, Some(&body), 403, &what);
    }
    let body = spec(r#","Env":["A=<b> & c"]"#, "");
    let (status, v) = http_json(&mut client, "POST", &update, Some(&body));
    proxy.stop();
    let record = inspect("service", &id);
    engine::docker(&["service", "rm", &id]);
    assert_eq!(status, 200, "ordinary update: {v}");
    let c = &record["Spec"]["TaskTemplate"]["ContainerSpec"];
    assert!(
        is_empty(&c["Mounts"]) && is_empty(&c["CapabilityAdd"]) && is_empty(&c["Sysctls"]),
        "{c}"
    );
    assert!(
        is_empty(&c["Privileges"]) || c["Privileges"]["Seccomp"].is_null(),
        "{c}"
    );
    assert_eq!(c["Env"][0], "A=<b> & c", "{c}");
}

/// A preset's allow-lists widen exactly what they name: an allow-listed host directory (and
/// below it) binds, its siblings, parents and `..` do not; an allow-listed capability is added,
/// others not; an allow-listed exec user runs, root does not.
#[test]
fn allow_lists_widen_exactly_what_they_name() {
    let haproxy = newest_haproxy();
    let fixture = Fixture::new();
    let host = tempfile::Builder::new()
        .prefix("spg-allowed-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::create_dir(host.path().join("sub")).unwrap();
    let allowed = host.path().to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    let preset = write_preset(
        &dir,
        "allow.yaml",
        &format!(
            "name: allow\ndescription: d\ngrants:\n  - route: POST /containers/create\n    reason: r\n    body:\n      profile: unprivileged\n      host_paths:\n        - value: {allowed}\n          reason: the app's data\n      capabilities:\n        - value: NET_ADMIN\n          reason: it sets routes\n  - route: POST /containers/{{id}}/exec\n    reason: r\n    body:\n      profile: unprivileged\n      users:\n        - value: \"1000:1000\"\n          reason: the app's user\n"
        ),
    );
    let mut proxy = Proxy::start(&haproxy, preset_file_inputs(&preset));
    let mut client = common::HttpClient::new(proxy.port);
    let cases = [
        ("bind-allowed", format!(r#""Binds":["{allowed}:/d"]"#), 201),
        (
            "bind-below",
            format!(r#""Binds":["{allowed}/sub:/d:ro"]"#),
            201,
        ),
        ("bind-sibling", format!(r#""Binds":["{allowed}x:/d"]"#), 403),
        ("bind-parent", r#""Binds":["/tmp:/d"]"#.to_string(), 403),
        (
            "bind-dotdot",
            format!(r#""Binds":["{allowed}/../../etc:/d"]"#),
            403,
        ),
        (
            "bind-upper",
            format!(r#""Binds":["{}:/d"]"#, allowed.to_uppercase()),
            403,
        ),
        (
            "mount-allowed",
            format!(r#""Mounts":[{{"Type":"bind","Source":"{allowed}/sub","Target":"/m"}}]"#),
            201,
        ),
        (
            "mount-etc",
            r#""Mounts":[{"Type":"bind","Source":"/etc","Target":"/m"}]"#.to_string(),
            403,
        ),
        (
            "mount-allowed-then-etc",
            format!(
                r#""Mounts":[{{"Type":"bind","Source":"{allowed}","Target":"/m"}},{{"Type":"bind","Target":"/n","Source":"/"}}]"#
            ),
            403,
        ),
        ("cap-allowed", r#""CapAdd":["NET_ADMIN"]"#.to_string(), 201),
        (
            "cap-prefixed",
            r#""CapAdd":["cap_net_admin"]"#.to_string(),
            201,
        ),
        (
            "cap-other",
            r#""CapAdd":["NET_ADMIN","SYS_ADMIN"]"#.to_string(),
            403,
        ),
        ("cap-all", r#""CapAdd":["ALL"]"#.to_string(), 403),
    ];
    let mut wrong = Vec::new();
    for (name, kv, expected) in &cases {
        let (status, _) = fixture.create(&mut client, name, kv);
        if status != *expected {
            wrong.push(format!("{name}: {status}, expected {expected}"));
        }
    }
    for (user, expected) in [("1000:1000", 201), ("root", 403), ("0", 403), ("1000", 403)] {
        let body = serde_json::json!({"Cmd": ["id"], "User": user});
        let (status, v) = http_json(
            &mut client,
            "POST",
            &format!("/v1.41/containers/{}/exec", fixture.names.other),
            Some(&body),
        );
        if status != expected {
            wrong.push(format!("exec as {user}: {status} {v}, expected {expected}"));
        }
    }
    proxy.stop();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let c = inspect("container", &format!("{}-bind-below", fixture.prefix));
    assert_eq!(c["HostConfig"]["Binds"][0], format!("{allowed}/sub:/d:ro"));
    let c = inspect("container", &format!("{}-cap-allowed", fixture.prefix));
    assert_eq!(c["HostConfig"]["CapAdd"][0], "NET_ADMIN");
}

/// With a raised `--body-limit` (1 MiB), bodies of hundreds of kilobytes are judged whole: a
/// check with one PCRE backtracking frame per array item ran out of PCRE's JIT stack at about
/// 5,000 items, HAProxy read that as "no match" and let `/:/host` through (seen on 2.6.12 before
/// the array repetition became possessive).
#[test]
fn long_arrays_under_a_raised_limit_are_still_judged() {
    let fixture = Fixture::new();
    let net = &fixture.names.network;
    let many = |item: &str, n: usize| vec![item; n].join(",");
    let cases = [
        (
            "binds",
            format!(r#""Binds":[{},"/:/host"]"#, many(r#""a:""#, 100_000)),
        ),
        (
            "security-opt",
            format!(
                r#""SecurityOpt":[{},"seccomp=unconfined"]"#,
                many(r#""no-new-privileges""#, 25_000)
            ),
        ),
        (
            "masked-paths",
            format!(r#""MaskedPaths":[{}]"#, many(r#""/proc/x""#, 50_000)),
        ),
        (
            "escape",
            format!(r#""Env":["{}\u0041"]"#, "\\\\".repeat(200_000)),
        ),
    ];
    for haproxy in common::haproxies() {
        let mut proxy = Proxy::start_with(&haproxy, flags(&["CONTAINERS=1", "POST=1"]), 1 << 20);
        let mut client = common::HttpClient::new(proxy.port);
        for (name, kv) in &cases {
            let body = create_body(net, kv);
            assert!(
                body.len() > 300_000 && body.len() < 1 << 20,
                "{name}: {}",
                body.len()
            );
            let path = format!(
                "/v1.41/containers/create?name={}-large-{name}",
                fixture.prefix
            );
            let (status, response) = send_json(&mut client, "POST", &path, &body);
            assert_eq!(
                status,
                if *name == "escape" { 400 } else { 403 },
                "HAProxy {} {name}: {}",
                haproxy.version,
                String::from_utf8_lossy(&response.body)
            );
        }
        proxy.stop();
    }
    assert!(
        fixture.containers().is_empty(),
        "{:?}",
        fixture.containers()
    );
}

/// A grant of volume create carries the guard too: a local volume with `o=bind,device=/` would
/// make a later `Binds: ["vol:/x"]` (which the create guard allows) the host's root.
#[test]
fn volume_create_with_driver_options_is_refused() {
    let haproxy = newest_haproxy();
    let fixture = Fixture::new();
    let mut proxy = Proxy::start(&haproxy, flags(&["VOLUMES=1", "POST=1"]));
    let mut client = common::HttpClient::new(proxy.port);
    let p = &fixture.prefix;
    let cases = [
        (
            format!(
                r#"{{"Name":"{p}-v1","Driver":"local","DriverOpts":{{"type":"none","o":"bind","device":"/"}}}}"#
            ),
            403,
        ),
        (
            format!(r#"{{"Name":"{p}-v2","driveropts":{{"device":"/etc"}}}}"#),
            403,
        ),
        (
            format!(r#"{{"Name":"{p}-v3","DriverOpts":{{}},"DriverOpts":{{"o":"bind"}}}}"#),
            403,
        ),
        (
            format!(r#"{{"Name":"{p}-v4","Driver":"spg-no-such-plugin"}}"#),
            403,
        ),
        (format!(r#"{{"Name":"{p}-v5"}}"#), 201),
        (
            format!(
                r#"{{"Name":"{p}-v6","Driver":"local","DriverOpts":{{}},"Labels":{{"a":"b"}}}}"#
            ),
            201,
        ),
        (
            format!(r#"{{"Name":"{p}-v7","Driver":"","DriverOpts":null}}"#),
            201,
        ),
    ];
    let mut wrong = Vec::new();
    for (body, expected) in &cases {
        let body: Value = serde_json::from_str(body).unwrap();
        let (status, v) = http_json(&mut client, "POST", "/v1.41/volumes/create", Some(&body));
        if status != *expected {
            wrong.push(format!("{body}: {status} {v}, expected {expected}"));
        }
    }
    proxy.stop();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for n in 5..=7 {
        let v = inspect("volume", &format!("{p}-v{n}"));
        assert!(is_empty(&v["Options"]) && v["Driver"] == "local", "{v}");
    }
}
