//! All clap types in one place. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::verify::Target;

#[derive(Debug, Parser)]
#[command(
    name = "sockproxy-gen",
    version,
    about = "Least-privilege HAProxy configs for the Docker socket",
    long_about = "Least-privilege HAProxy configs for the Docker socket.\n\n\
        Renders the smallest haproxy.cfg that lets exactly your clients (Traefik, Homepage, \
        Portainer, ...) call the Docker API endpoints they need, and denies everything else.",
    after_help = "Exit codes: 0 done, 1 findings, 64 and up could not run (see --help).",
    after_long_help = ExitCode::help_table(),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a hardened haproxy.cfg from presets or Tecnativa-style env flags.
    Render(RenderArgs),
    /// List the built-in presets, or show one preset's grants.
    Presets(PresetsArgs),
    /// List the Docker Engine API routes of the catalog (the names grants use).
    Routes(RoutesArgs),
    /// Write the Docker socket's group id to .env as PGID_DOCKER_SOCKET, keeping every other line.
    Env(EnvArgs),
    /// Print the compose service that runs the proxy as non-root, and each client's side.
    Compose(ComposeArgs),
    /// Probe a running proxy with one harmless request per API route; report what it lets through.
    Verify(VerifyArgs),
    /// Check haproxy.cfg, compose and .env files against the least-privilege baseline.
    #[command(visible_alias = "check")]
    Lint(LintArgs),
    /// Explain a lint code (SPG101 or over-grant); without a code, list them all.
    Explain(ExplainArgs),
    /// Turn a proxy's request log (from `render --learn`) into one preset per client, or compare
    /// the traffic with a preset.
    Learn(LearnArgs),
    /// Replace a Tecnativa or linuxserver socket proxy in compose files with a least-privilege
    /// one: new compose file, haproxy.cfg, .env and a report of what closes.
    Migrate(MigrateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand, from the same definitions
    /// as --help.
    Man(ManArgs),
}

/// Where a policy comes from: render, compose and verify take the same sources. Several
/// sources are several clients (render and compose: one frontend each; verify: their union).
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A built-in preset (repeatable); `sockproxy-gen presets` lists them.
    #[arg(long = "preset", value_name = "NAME")]
    pub presets: Vec<String>,
    /// A preset YAML file of your own (repeatable); `presets show NAME --yaml` is a start.
    #[arg(long = "preset-file", value_name = "FILE")]
    pub preset_files: Vec<PathBuf>,
    /// A Tecnativa-style flag, e.g. CONTAINERS=1 (repeatable). POST=1 opens POST routes of the
    /// enabled sections only; DELETE=1 and PUT=1 open those methods; ALLOW_START, ALLOW_STOP and
    /// ALLOW_RESTARTS work without POST. Defaults: EVENTS=1 PING=1 VERSION=1.
    #[arg(long = "flag", value_name = "KEY=VAL", value_parser = key_value)]
    pub flags: Vec<KeyValue>,
    /// A .env-style file of Tecnativa flags (repeatable; --flag values override it; other
    /// variables in it are ignored).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
}

/// How clients are kept apart: render and compose take the same options and must be given the
/// same ones.
#[derive(Debug, Args)]
pub struct IsolationArgs {
    /// Give even a single client its own unix socket on its own volume (the default with
    /// several clients: no client can reach another's policy).
    #[arg(long, conflicts_with = "tcp")]
    pub isolate: bool,
    /// Every client on a TCP listener on one shared network, the layout before isolation:
    /// anyone on that network reaches every client's policy.
    #[arg(long)]
    pub tcp: bool,
    /// This client on a TCP listener (repeatable), for a client that cannot share a volume
    /// with the proxy (another host); the others keep their own sockets.
    #[arg(long = "tcp-client", value_name = "NAME", conflicts_with = "tcp")]
    pub tcp_clients: Vec<String>,
    /// Connections each client may hold at once (streams such as /events count); HAProxy's
    /// global limit is the sum plus room for /healthz.
    #[arg(long, value_name = "N", default_value_t = sockproxy_gen::render::DEFAULT_CLIENT_MAXCONN)]
    pub client_maxconn: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub isolation: IsolationArgs,
    /// Serve all clients from one frontend with the union of their grants (one trust level).
    #[arg(long)]
    pub merge: bool,
    /// A frontend that learns client NAME (repeatable): it forwards every request the daemon
    /// routes (still refusing non-canonical paths, double encoding, h2c and gRPC) and logs the
    /// catalog route of each; `sockproxy-gen learn LOG` turns the log into a preset.
    #[arg(long, value_name = "NAME")]
    pub learn: Vec<String>,
    /// Report-only for client NAME (a preset name or a preset file's `name:`; repeatable):
    /// requests outside its policy are forwarded and logged as `would-deny:ROUTE`, not denied.
    #[arg(long, value_name = "NAME")]
    pub audit: Vec<String>,
    /// Write to FILE instead of stdout (a file is replaced atomically, keeping its owner and
    /// mode; a symlink is written through; a device or FIFO is written directly).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Port of the first client frontend; further clients get the next ports.
    #[arg(long, default_value_t = sockproxy_gen::render::DEFAULT_PORT)]
    pub port: u16,
    /// Listen on one address only (IPv4 or IPv6) instead of all interfaces.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["ipv4_only", "unix"])]
    pub listen: Option<String>,
    /// Listen on all IPv4 interfaces only (hosts without IPv6).
    #[arg(long, conflicts_with = "unix")]
    pub ipv4_only: bool,
    /// Listen on a unix socket instead of TCP; `{client}` in the path names each client's socket.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// The Docker socket as HAProxy sees it [default: /var/run/docker.sock, or SOCKET_PATH].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Per-request log lines as text or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Address of the health frontend (answers /healthz from the socket's state).
    #[arg(long, value_name = "ADDR:PORT", default_value = sockproxy_gen::render::DEFAULT_HEALTH)]
    pub health: String,
    /// The largest request body a body guard judges (container create, exec create, ...);
    /// larger ones are refused with 413. HAProxy's buffer (tune.bufsize) is twice it.
    #[arg(long, value_name = "BYTES", default_value_t = sockproxy_gen::guard::DEFAULT_BODY_LIMIT)]
    pub body_limit: u32,
}

#[derive(Debug, Args)]
pub struct PresetsArgs {
    #[command(subcommand)]
    pub action: Option<PresetsAction>,
}

#[derive(Debug, Subcommand)]
pub enum PresetsAction {
    /// Show a preset's grants as a table, or its YAML (a start for your own preset file).
    Show {
        name: String,
        /// Print the preset's YAML source instead of the table.
        #[arg(long)]
        yaml: bool,
    },
}

#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// Only routes whose Tecnativa section (flag) is SECTION, e.g. CONTAINERS.
    #[arg(long, value_parser = section)]
    pub section: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The Docker socket [default: DOCKER_HOST=unix://..., /var/run/docker.sock,
    /// $XDG_RUNTIME_DIR/docker.sock, /run/podman/podman.sock: the first that exists].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The env file to create or update.
    #[arg(long, value_name = "FILE", default_value = ".env")]
    pub env_file: PathBuf,
    /// Change nothing; exit 1 if the file lacks the socket's current group id.
    #[arg(long, conflicts_with = "print")]
    pub check: bool,
    /// Print `PGID_DOCKER_SOCKET=<gid>` on stdout instead of writing the file.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub isolation: IsolationArgs,
    /// Serve all clients from one frontend with the union of their grants (one trust level).
    #[arg(long)]
    pub merge: bool,
    /// Write to FILE instead of stdout (a file is replaced atomically, keeping its owner and
    /// mode; a symlink is written through; a device or FIFO is written directly).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A Swarm stack: `deploy:` (the proxy on every node, or on managers where the Swarm API is
    /// needed), node-local socket volumes, overlay network for TCP clients.
    #[arg(long)]
    pub swarm: bool,
    /// Publish the TCP clients' ports on the host's loopback (127.0.0.1) for clients outside
    /// compose.
    #[arg(long)]
    pub publish: bool,
    /// Port of the first client, as given to `render --port`.
    #[arg(long, default_value_t = sockproxy_gen::render::DEFAULT_PORT)]
    pub port: u16,
    /// The proxy's service name; clients reach it as tcp://SERVICE:PORT.
    #[arg(long, default_value = "sockproxy")]
    pub service: String,
    /// The HAProxy image.
    #[arg(long, default_value = sockproxy_gen::compose::DEFAULT_IMAGE)]
    pub image: String,
    /// The rendered haproxy.cfg on the host, in a directory of its own: the proxy mounts the
    /// directory, so a reload reads a re-rendered file.
    #[arg(long, value_name = "FILE", default_value = sockproxy_gen::compose::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The Docker socket on the host [default: DOCKER_SOCKET_PATH from .env, which `env`
    /// writes, else /var/run/docker.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The internal network the proxy shares with its clients.
    #[arg(long, default_value = "sockproxy")]
    pub network: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyFormat {
    /// A table of every route, then a summary.
    Table,
    /// The whole report as JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The proxy's listener: tcp://HOST:PORT, HOST:PORT or unix:///PATH.
    #[arg(value_parser = target)]
    pub target: Target,
    /// The policy the proxy should enforce; several sources mean the union of their grants.
    #[command(flatten)]
    pub expected: PolicyArgs,
    /// The haproxy.cfg the proxy runs: expect what lint's evaluator says it lets through.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["presets", "preset_files", "flags", "env_files"])]
    pub config: Option<PathBuf>,
    /// With --config: the frontend the target listens on [default: the only one].
    #[arg(long, value_name = "NAME", requires = "config")]
    pub frontend: Option<String>,
    /// With --config: a value for "${VAR}" and env(VAR) in it (repeatable).
    #[arg(long = "env", value_name = "KEY=VAL", requires = "config", value_parser = key_value)]
    pub env: Vec<KeyValue>,
    /// With --config: a file an ACL of it loads with `-f` (repeatable), NAME=LOCAL or PATH, as
    /// for `lint --pattern-file`.
    #[arg(long = "pattern-file", value_name = "NAME=LOCAL|PATH", requires = "config", value_parser = pattern_file)]
    pub pattern_files: Vec<PatternFileArg>,
    /// Also write a Markdown verification report to FILE (written as -o is by render).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: VerifyFormat,
    /// Seconds to wait for a connection or an answer, per request.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// The version in the prefixed probes (/vX.Y/...) [default: the one the daemon reports].
    #[arg(long, value_name = "X.Y", value_parser = api_version)]
    pub api_version: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LintFormat {
    /// Each finding with the offending line, then a summary.
    Text,
    /// Every finding (suppressed ones marked) and each frontend's permission matrix.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// GitHub workflow annotations (::error file=...::).
    Github,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Always exit 0 when the files could be read.
    Never,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// haproxy.cfg, compose or .env files (recognised by content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The baseline: what the proxy should allow (repeatable). Without it, a generated file is
    /// compared with its own header, and other files get the general checks only.
    #[arg(long = "preset", value_name = "NAME")]
    pub presets: Vec<String>,
    /// A value for "${VAR}" and env(VAR) in the config (repeatable).
    #[arg(long = "env", value_name = "KEY=VAL", value_parser = key_value)]
    pub env: Vec<KeyValue>,
    /// A .env file with such values (repeatable; --env wins).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Take the values from the socket proxy service's environment in this compose file.
    #[arg(long = "compose", value_name = "FILE")]
    pub compose: Option<PathBuf>,
    /// A file an ACL loads with `-f` (repeatable): NAME=LOCAL when the config names it NAME
    /// (`/usr/local/etc/haproxy/allowed.lst=haproxy/allowed.lst`), or PATH when the config
    /// names it by that same path. Without it, lint reads only relative names under
    /// `default-path config` (beside the config); other ACL files leave their verdicts
    /// uncertain.
    #[arg(long = "pattern-file", value_name = "NAME=LOCAL|PATH", value_parser = pattern_file)]
    pub pattern_files: Vec<PatternFileArg>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,
    /// Exit 1 when a finding has at least this severity.
    #[arg(long, value_enum, default_value = "warning")]
    pub fail_on: FailOn,
    /// Also print a unified diff of each config against its rendered baseline.
    #[arg(long)]
    pub diff: bool,
    /// The HAProxy line the config runs on (2.6, 3.0, 3.2): a few request details differ.
    #[arg(long, value_name = "X.Y", default_value = sockproxy_gen::lint::DEFAULT_HAPROXY_VERSION, value_parser = haproxy_version)]
    pub haproxy_version: String,
}

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Log files (`-` for stdin): HAProxy's lines as rendered configs write them, text or JSON,
    /// raw or as `docker logs` / `docker compose logs` print them.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Where to write the presets: a directory (an existing one, or a path ending in `/`,
    /// created if missing: one NAME.yaml per client) or a file (one client) [default: stdout,
    /// one client].
    #[arg(
        short,
        long,
        value_name = "FILE|DIR",
        conflicts_with = "compare_preset"
    )]
    pub output: Option<PathBuf>,
    /// Only this client (the frontend's name; repeatable).
    #[arg(long = "client", value_name = "NAME")]
    pub clients: Vec<String>,
    /// Only the lines of this compose service's containers in `docker compose logs` output
    /// (`NAME-1 | ...`): other services' lines are never read, even when they quote a request.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Grant the routes of requests the proxy denied (403) too. Without it they are counted and
    /// named on stderr but left out of the preset.
    #[arg(long)]
    pub include_denied: bool,
    /// Instead of writing presets, compare the traffic with a preset (a built-in name or a
    /// file): what it would deny and what it grants unused. Exits 1 when it would deny some.
    #[arg(long, value_name = "NAME|FILE")]
    pub compare_preset: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Compose files, each migrated on its own (with the .env beside it) into the same
    /// directory, under its own file name.
    #[arg(required = true, value_name = "COMPOSE")]
    pub files: Vec<PathBuf>,
    /// The directory to write the migrated compose file, haproxy.cfg, presets/ (clients no
    /// preset knows), .env and MIGRATION.md into (created if missing; files in it are replaced).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// The group id of the Docker socket for PGID_DOCKER_SOCKET [default: the group of
    /// --socket, else of the socket the proxy mounts, else of the socket `env` finds].
    #[arg(long, value_name = "GID")]
    pub socket_gid: Option<u32>,
    /// The Docker socket on this machine whose group goes into PGID_DOCKER_SOCKET (when the
    /// socket the proxy mounts is not on this machine or not at that path).
    #[arg(long, value_name = "PATH", conflicts_with = "socket_gid")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A code (SPG101) or name (over-grant).
    pub code: Option<String>,
    /// Print the whole rules page (Markdown), as in docs/rules.md.
    #[arg(long, conflicts_with = "code")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write sockproxy-gen.1 and sockproxy-gen-SUBCOMMAND.1 into DIR instead of printing the
    /// main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `KEY=VAL` from the command line (`--flag`, `--env`): the key is everything before the first
/// `=`, the value everything after it (it may contain `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

impl std::fmt::Display for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// `--pattern-file NAME=LOCAL` or `--pattern-file PATH`.
#[derive(Debug, Clone)]
pub struct PatternFileArg {
    pub name: Option<String>,
    pub local: PathBuf,
}

// Value parsers: each turns one kind of argument into its type, so a malformed value is a usage
// error from clap (exit 64) in every subcommand that takes it, with the same message.

/// `NAME=LOCAL` (the first `=` splits) or `PATH`; neither side empty.
fn pattern_file(raw: &str) -> Result<PatternFileArg, String> {
    let (name, local) = match raw.split_once('=') {
        Some((name, local)) => (Some(name.to_string()), local),
        None => (None, raw),
    };
    if local.is_empty() || name.as_deref() == Some("") {
        return Err(
            "expected NAME=LOCAL (the name after `-f` in the config, then the local copy) or PATH"
                .into(),
        );
    }
    Ok(PatternFileArg {
        name,
        local: PathBuf::from(local),
    })
}

/// `KEY=VAL`, the key non-empty and without spaces.
fn key_value(raw: &str) -> Result<KeyValue, String> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| "expected KEY=VAL, for example CONTAINERS=1".to_string())?;
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!(
            "`{key}` is not a variable name; expected KEY=VAL, for example CONTAINERS=1"
        ));
    }
    Ok(KeyValue {
        key: key.to_string(),
        value: value.trim().to_string(),
    })
}

/// A proxy listener: tcp://HOST:PORT, HOST:PORT or unix:///PATH.
fn target(raw: &str) -> Result<Target, String> {
    Target::parse(raw)
}

/// A Docker API version, `X.Y` (as in `/v1.41/...`).
fn api_version(raw: &str) -> Result<String, String> {
    let valid = raw.split_once('.').is_some_and(|(major, minor)| {
        [major, minor]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if valid {
        Ok(raw.to_string())
    } else {
        Err("expected a Docker API version X.Y, for example 1.41".into())
    }
}

/// An HAProxy line the lint evaluator models.
fn haproxy_version(raw: &str) -> Result<String, String> {
    match sockproxy_gen::haproxy::eval::Dialect::for_version(raw) {
        Some(_) => Ok(raw.to_string()),
        None => {
            Err("the evaluator knows HAProxy 2.6, 3.0 and 3.2 (and later); give one of them".into())
        }
    }
}

/// A Tecnativa section name of the catalog (any case), with the closest on a typo.
fn section(raw: &str) -> Result<String, String> {
    let catalog = sockproxy_gen::catalog::Catalog::builtin();
    catalog
        .section(raw)
        .map(str::to_string)
        .map_err(|e| e.to_string())
}
