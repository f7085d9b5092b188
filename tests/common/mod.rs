//! Real components for the tests: HAProxy 2.6 (host), 3.0 and 3.2 (Debian chroots), podman.
//! `.ci/run` installs them; a missing one fails the test with what to run, never skips it.

pub mod backend;
pub mod corpus;
pub mod daemon;
pub mod engine;
pub mod guard_corpus;
pub mod podman;
pub mod real_daemon;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::policy::{Policy, PolicyInputs};
use sockproxy_gen::render::{self, Listen, RenderInputs, RenderOptions};

/// The built `sockproxy-gen` binary, ready for arguments. Socket discovery sees only what a
/// test sets up: the host's DOCKER_HOST and XDG_RUNTIME_DIR are not passed on.
pub fn cli() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("sockproxy-gen")
        .expect("the binary is built with the tests");
    c.env_remove("DOCKER_HOST").env_remove("XDG_RUNTIME_DIR");
    c
}

/// The path of the built binary, for a plain `std::process::Command` (stdout on a chosen file,
/// or under `sh` or `setpriv`).
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sockproxy-gen")
}

/// A path as a command-line argument.
pub fn path_arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// `sockproxy-gen env --socket SOCK --env-file ENV`, more arguments to follow.
pub fn env_command(sock: &Path, env: &Path) -> assert_cmd::Command {
    let mut c = cli();
    c.args([
        "env",
        "--socket",
        path_arg(sock),
        "--env-file",
        path_arg(env),
    ]);
    c
}

/// A command's stdout and stderr, for assertions and failure messages.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Seconds since the epoch (the unit of `docker events --since`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The names in `dir`, sorted.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A listening unix socket `dir/docker.sock` owned by root:`gid`, mode 0660, like the Docker
/// daemon's.
pub fn docker_socket(dir: &Path, gid: u32) -> (std::os::unix::net::UnixListener, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::os::unix::fs::chown(&path, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).unwrap();
    (listener, path)
}

/// The one snapshot helper: every snapshot is `snapshots/NAME.snap`, named by the test, not by
/// the module it sits in.
pub fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

/// Where `.ci/setup` puts the Debian chroots with newer HAProxy lines (`SPG_CHROOT_BASE`
/// overrides it, for the tests and `.ci/setup` alike).
pub const DEFAULT_CHROOT_BASE: &str = "/var/lib/sockproxy-gen/chroots";

/// The chroot suites: trixie has HAProxy 3.0, sid 3.2.
pub const CHROOT_SUITES: &[&str] = &["trixie", "sid"];

/// One HAProxy installation: the host's, or one inside a chroot.
#[derive(Debug, Clone)]
pub struct Haproxy {
    /// The chroot directory, or None for the host's /usr/sbin/haproxy.
    pub root: Option<PathBuf>,
    pub version: String,
}

impl Haproxy {
    fn command(&self) -> Command {
        self.command_as(None)
    }

    /// `haproxy`, inside the chroot if any, optionally as `(uid, gid)` with no other groups.
    fn command_as(&self, user: Option<(u32, u32)>) -> Command {
        let mut args: Vec<String> = Vec::new();
        if let Some(root) = &self.root {
            args.push("chroot".into());
            args.push(root.to_string_lossy().into());
        }
        if let Some((uid, gid)) = user {
            args.extend([
                "setpriv".into(),
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".into(),
            ]);
        }
        args.push("haproxy".into());
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        c
    }

    /// "2.6", "3.0", "3.2"
    pub fn line(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A fresh directory HAProxy can see: (path on the host, same path as HAProxy sees it).
    pub fn workdir(&self) -> WorkDir {
        let base = match &self.root {
            None => PathBuf::from("/tmp"),
            Some(root) => root.join("tmp"),
        };
        let dir = tempfile::Builder::new()
            .prefix("spg-test-")
            .tempdir_in(&base)
            .expect("temp dir for HAProxy");
        let inner = match &self.root {
            None => dir.path().to_path_buf(),
            Some(_) => Path::new("/tmp").join(dir.path().file_name().unwrap()),
        };
        WorkDir { dir, inner }
    }

    /// `haproxy -c -dW`: valid, and no warning at all (-dW makes warnings fatal).
    pub fn check(&self, config_inner: &Path) -> std::process::Output {
        self.command()
            .args(["-c", "-dW", "-f"])
            .arg(config_inner)
            .output()
            .expect("run haproxy -c")
    }

    /// Starts HAProxy in the foreground on `config_inner`; waits until `port` accepts.
    pub fn spawn(&self, config_inner: &Path, port: u16) -> Running {
        self.spawn_as(config_inner, port, None)
    }

    /// Like `spawn`, as an unprivileged `(uid, gid)` (setpriv, no supplementary groups).
    pub fn spawn_as(&self, config_inner: &Path, port: u16, user: Option<(u32, u32)>) -> Running {
        self.spawn_with(config_inner, port, user, &[])
    }

    /// Like `spawn`, with environment variables (configs that read `"${VAR}"` or `env(VAR)`).
    pub fn spawn_env(&self, config_inner: &Path, port: u16, env: &[(&str, &str)]) -> Running {
        self.spawn_with(config_inner, port, None, env)
    }

    fn spawn_with(
        &self,
        config_inner: &Path,
        port: u16,
        user: Option<(u32, u32)>,
        env: &[(&str, &str)],
    ) -> Running {
        let child = self
            .command_as(user)
            .envs(env.iter().copied())
            .args(["-db", "-f"])
            .arg(config_inner)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start haproxy");
        let mut running = Running { child };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = running.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = running.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "HAProxy {} exited ({status}) before listening on {port}:\n{err}",
                    self.version
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "HAProxy {} does not listen on {port} after 10s",
                self.version
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }
}

pub struct WorkDir {
    dir: tempfile::TempDir,
    inner: PathBuf,
}

impl WorkDir {
    pub fn host(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn inner(&self, name: &str) -> PathBuf {
        self.inner.join(name)
    }
}

/// A child process killed when dropped.
pub struct Running {
    pub child: Child,
}

impl Running {
    /// Stops the process and returns what it wrote on stdout (HAProxy's log lines).
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// All HAProxy lines the project supports. Panics with the fix when one is missing.
pub fn haproxies() -> Vec<Haproxy> {
    let mut found = Vec::new();
    let version_of = |mut c: Command| -> Option<String> {
        let out = c.arg("-v").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let v = text
            .split_whitespace()
            .nth(2)?
            .split('-')
            .next()?
            .to_string();
        Some(v)
    };
    if let Some(v) = version_of(Command::new("haproxy")) {
        found.push(Haproxy {
            root: None,
            version: v,
        });
    }
    let base = std::env::var("SPG_CHROOT_BASE").unwrap_or_else(|_| DEFAULT_CHROOT_BASE.into());
    for suite in CHROOT_SUITES {
        let root = format!("{base}/{suite}");
        let mut c = Command::new("chroot");
        c.arg(&root).arg("haproxy");
        if let Some(v) = version_of(c) {
            found.push(Haproxy {
                root: Some(root.into()),
                version: v,
            });
        }
    }
    let lines: Vec<String> = found.iter().map(Haproxy::line).collect();
    for want in ["2.6", "3.0", "3.2"] {
        assert!(
            lines.iter().any(|l| l == want),
            "HAProxy {want} not found (have {lines:?}, CI={}); run `bash .ci/run` once, which installs HAProxy 2.6 and debootstraps 3.0/3.2 into {base}/{{trixie,sid}}",
            in_ci()
        );
    }
    found
}

/// `count` consecutive TCP ports free right now on 127.0.0.1, chosen at random below the
/// ephemeral range (32768+). Ports handed out once are never handed out again in this process:
/// tests of one binary run in parallel, and a port that is free now may be bound by another
/// test's HAProxy a moment later (which then answers in place of ours).
pub fn free_ports(count: u16) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..500 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let base = 20000 + (h.finish() % 12000) as u16;
        let range = base..base + count;
        if range.clone().any(|p| taken.contains(&p)) {
            continue;
        }
        if range
            .clone()
            .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        {
            taken.extend(range);
            return base;
        }
    }
    panic!("no {count} consecutive free ports");
}

pub fn free_port() -> u16 {
    free_ports(1)
}

pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing listens on port {port} after 10s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn wait_for_path(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} did not appear in 20s",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds the policy and renders it with `options`.
pub fn render_text(inputs: PolicyInputs, options: RenderOptions) -> (Policy, String) {
    let catalog = Catalog::builtin();
    let policy = Policy::build(catalog, &inputs).expect("policy builds");
    let text = render::render(
        catalog,
        &policy,
        &RenderInputs {
            policy: inputs,
            options,
        },
    )
    .expect("renders");
    (policy, text)
}

/// Loopback render options for a running test proxy.
pub fn loopback_options(port: u16, health_port: u16, socket: &Path) -> RenderOptions {
    RenderOptions {
        listen: Listen::Address {
            address: "127.0.0.1".into(),
        },
        port,
        socket: socket.to_path_buf(),
        log_format: render::LogFormat::Text,
        health: format!("127.0.0.1:{health_port}"),
        ..RenderOptions::default()
    }
}

/// Renders a config for tests: loopback, the given ports and socket.
pub fn render_config(
    inputs: PolicyInputs,
    port: u16,
    health_port: u16,
    socket: &Path,
) -> (Policy, String) {
    render_text(inputs, loopback_options(port, health_port, socket))
}

pub fn presets(names: &[&str]) -> PolicyInputs {
    PolicyInputs {
        presets: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// An HTTP/1.1 client on one keep-alive connection, reconnecting when the peer closes it
/// (thousands of probes on fresh connections would fill the TIME-WAIT table).
pub struct HttpClient {
    port: u16,
    stream: Option<std::io::BufReader<TcpStream>>,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(port: u16) -> HttpClient {
        HttpClient::with_timeout(port, Duration::from_secs(10))
    }

    /// A client that waits at most `timeout` for each read.
    pub fn with_timeout(port: u16, timeout: Duration) -> HttpClient {
        HttpClient {
            port,
            stream: None,
            timeout,
        }
    }

    /// Sends raw request bytes; returns the status (0 if no answer) and the response.
    pub fn send(&mut self, request: &[u8]) -> (u16, backend::Message) {
        let head_request = request.starts_with(b"HEAD ");
        let mut reused = false;
        for attempt in 0..2 {
            // A second attempt only when a kept-alive connection was closed under us.
            if attempt > 0 && !reused {
                break;
            }
            reused = self.stream.is_some();
            let reader = match self.stream.take() {
                Some(r) => r,
                None => {
                    let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to proxy");
                    s.set_read_timeout(Some(self.timeout)).unwrap();
                    std::io::BufReader::new(s)
                }
            };
            let mut reader = reader;
            if reader.get_mut().write_all(request).is_err() {
                continue;
            }
            let Some(response) = backend::read_message(&mut reader, head_request) else {
                continue;
            };
            let status = response
                .head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let closes = response
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
            if !closes {
                self.stream = Some(reader);
            }
            return (status, response);
        }
        (0, backend::Message::default())
    }
}

/// The status of the health frontend's `/healthz`.
pub fn healthz(port: u16) -> u16 {
    HttpClient::new(port)
        .send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .0
}

/// Waits until `/healthz` answers `status` (HAProxy checks the socket every 2s, falls after 2).
pub fn wait_for_healthz(port: u16, status: u16, what: &str) {
    let start = Instant::now();
    while healthz(port) != status {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what}: /healthz not {status} after 15s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The machine's `python3` with docker-py: Debian's (python3-docker), not a pyenv shim.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// A server on a free port that answers every connection with `answer` (or nothing).
pub fn fake_server(answer: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match answer {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    port
}
