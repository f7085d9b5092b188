//! Every kind of finding: a stable code, a kebab-case name, a default severity, a one-line
//! summary and a documentation entry (`sockproxy-gen explain CODE`). Codes never change
//! meaning; a snapshot test pins the set.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $variant:ident = $id:literal, $name:literal, $sev:ident, $summary:literal, $doc:literal; )*) => {
        /// A kind of finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// `SPG101`
            pub fn id(self) -> &'static str {
                match self { $( Code::$variant => $id, )* }
            }

            /// `over-grant`
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// One line: what the finding means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// The documentation entry: why it matters and how to fix it.
            pub fn doc(self) -> &'static str {
                match self { $( Code::$variant => $doc, )* }
            }
        }
    };
}

codes! {
    Unevaluable = "SPG001", "unevaluable", Warning,
        "a construct the evaluator cannot model; the verdicts that depend on it are uncertain",
        "The evaluator models the `tcp-request` and `http-request` subset socket proxies use (see `src/haproxy/eval.rs`). A rule, fetch, converter or match method outside it (Lua, `src`, `http_auth`, `replace-path`, ...), or an ACL file (`-f FILE`) lint was not given (see SPG008 for the files it reads, and `--pattern-file`), is reported on its line, with the reason. It is evaluated both ways: each request of the permission matrix whose verdict changes with it is uncertain (neither allowed nor denied, and counted by no other finding), every other request keeps its verdict. The finding names the uncertain routes per frontend and the dangerous ones among them; where several unknowns decide the same routes, the finding of the one whose answer changed their verdict carries them and the others point to its line. Rewrite the rule with supported constructs, or verify the running proxy with `sockproxy-gen verify`.";
    UnsetVariable = "SPG002", "unset-variable", Warning,
        "`\"${VAR}\"` or `env(VAR)` names a variable that no --env, env file or compose service gives",
        "HAProxy expands an unset variable to an empty string and `env(VAR)` gives no sample, so the rule behaves as if the flag were off. Pass the value the proxy really runs with: `--env KEY=VAL`, `--env-file FILE`, or lint the compose file that sets it.";
    UnmatchedSuppression = "SPG003", "unmatched-suppression", Warning,
        "a `# sockproxy-gen: ignore CODE` comment that silences nothing",
        "A suppression that matches no finding is stale: the problem was fixed, or the code or line is wrong. Remove it, so it cannot hide a future finding by accident.";
    OverGrant = "SPG101", "over-grant", Error,
        "the config lets through routes the baseline does not grant",
        "Each route the client does not need is attack surface: with the Docker socket, reading is often enough to take over the host (archive, export, inspect showing secrets). The finding names the rule that lets the routes through. Remove or narrow that rule, or re-render the config with `sockproxy-gen render`.";
    UnderGrant = "SPG102", "under-grant", Error,
        "the config denies routes the client needs; it will break",
        "The baseline (a preset, or the file's own recorded inputs) says the client calls these routes. Denying them breaks the client, often in ways that look like network problems. Allow them, version-agnostically, or re-render.";
    PinnedApiVersion = "SPG103", "pinned-api-version", Error,
        "a granted route passes only with some `/vX.Y` prefixes",
        "Clients negotiate the API version with the daemon, and Docker 29 refuses versions below 1.44. Rules that only match one prefix (`/v1.24/...`) break as soon as client or daemon moves. Strip the version like the daemon does (`regsub(^/v[0-9.]+/,/)`) and match the rest.";
    HeadPingRefused = "SPG104", "head-ping-refused", Warning,
        "GET /_ping passes but HEAD /_ping does not",
        "The Go client (Traefik >= 2.11.31/3.6.1, the docker CLI) negotiates the API version with `HEAD /_ping` first. A proxy that refuses it forces a fallback, or breaks negotiation. Allow HEAD /_ping together with GET /_ping.";
    Drift = "SPG105", "drift", Warning,
        "a generated file differs from what its recorded inputs render to",
        "The header records how the file was generated. The file no longer matches a fresh render of those inputs: it was edited by hand, or rendered by another version. Review the diff (`--diff`), then re-render, or move the change into a preset file.";
    UnanchoredRegex = "SPG201", "unanchored-regex", Warning,
        "a path regex in an allow decision is not anchored at both ends",
        "`^/containers` also matches `/containers/x/archive` and `/containersX`; without `$` a rule for one route opens every route below it. Anchor both ends and match one route per rule.";
    NoUrlDecoding = "SPG202", "no-url-decoding", Error,
        "an allow decision matches the raw path, which the daemon decodes first (no longer reported: SPG204 reports the concrete request)",
        "The daemon decodes `%XX` (including `%2F`) before routing, so `/%63ontainers/json` is `/containers/json` to it. A rule on the raw path can be bypassed or can mis-route. Match `path,url_dec`, and refuse paths that still contain `%` after one decoding.";
    PrefixOpensDangerous = "SPG203", "prefix-opens-dangerous", Error,
        "a prefix or unanchored rule lets through routes that can take over the host",
        "A prefix such as `/containers` allows archive (read and write files), export (the whole filesystem), attach and exec as well as the list. Replace the prefix with one anchored rule per route the client needs.";
    ServerClose = "SPG301", "http-server-close", Info,
        "`option http-server-close` opens a new socket connection per request",
        "Closing the server connection after every request costs throughput (Tecnativa's config measured about 0.55 of a keep-alive proxy here). The Docker daemon handles keep-alive well; remove the option.";
    StreamTimeout = "SPG302", "stream-timeout", Warning,
        "streams (events, logs, attach) pass through a backend whose timeouts cut or never bound them",
        "`timeout server 0` counts as missing (HAProxy warns), and a finite server timeout cuts idle `/events` streams, which Traefik and others then miss. Send streaming routes to a backend with long explicit `timeout server` and `timeout tunnel` (for example 24d).";
    NoRequestLog = "SPG303", "no-request-log", Warning,
        "no per-request log line, so denials leave no trace",
        "Without `option httplog` or a `log-format`, and a `log` target, nobody sees what the proxy denied or let through. Log one line per request.";
    QuietLogLevel = "SPG304", "quiet-log-level", Warning,
        "the log level is above info, which hides every request line including denials",
        "HAProxy logs request lines at level info; a `log` line with `notice`, `warning` or higher drops them all. Use `info` (Tecnativa's LOG_LEVEL above info has the same effect).";
    NoUpgradeControl = "SPG305", "no-upgrade-control", Warning,
        "no rule looks at Upgrade: after a 101 the connection is an uninspected tunnel",
        "A request with `Upgrade` that the daemon accepts (attach, exec start, session, grpc) turns the connection into a tunnel HAProxy no longer inspects. Deny Upgrade and `Connection: upgrade` except on the hijacking routes the client needs.";
    DangerousGrant = "SPG401", "dangerous-grant", Warning,
        "the config lets through routes that can take over the host or read its data",
        "Container create, exec, build, archive, export, attach, secrets and plugins give root on the host or its data to whoever reaches the proxy. Grant them only to a client that needs them, on its own frontend, and say why in the preset.";
    UnguardedBody = "SPG404", "unguarded-body", Error,
        "container create (or start, exec create, service create/update, volume create) passes without a sound body guard: root on the host",
        "Whoever may create a container may ask for `Privileged: true`, `Binds: [\"/:/host\"]`, `NetworkMode: host` and more, and is root on the host. A sound guard buffers the body (`http-request wait-for-body`), refuses what it cannot judge (too large, incomplete, encoded, NUL, escapes that could spell a key, letters Go folds to ASCII) and checks every occurrence of every key the daemon reads, case-insensitively (docs/create-guard.md). `sockproxy-gen render` writes it for every grant of these routes (profile `unprivileged`); a preset that opts out with `body: {profile: unguarded, reason: ...}` is reported here on purpose. Lint recognises the checks sockproxy-gen writes; hand-written body checks it cannot show to be sound count as none.";
    SocketMount = "SPG501", "socket-mount", Error,
        "a service other than the socket proxy mounts the Docker socket",
        "Mounting `/var/run/docker.sock` is root on the host. Give the service the proxy's address instead (`DOCKER_HOST=tcp://sockproxy:2375`) and mount the socket only into the proxy.";
    FlagsBroaderThanPreset = "SPG502", "flags-broader-than-preset", Error,
        "the proxy's env flags open routes the named preset does not grant",
        "The Tecnativa-style flags of the proxy service open more than the client needs. Use the preset's grants: render with `--preset` instead of flags, or turn the extra flags off.";
    BooleanTrap = "SPG503", "boolean-trap", Error,
        "a flag set to `true`/`yes`, which the Tecnativa image reads as off",
        "`env(X) -m bool` is true only for a non-zero integer, so `POST=true` is off in the Tecnativa image, silently. Use `1` and `0`.";
    MisspeltFlag = "SPG504", "misspelt-flag", Error,
        "an env name that is almost a flag name; the image ignores it",
        "An unknown flag such as `IAMGES=1` is ignored silently. Fix the name (the finding suggests the closest flag).";
    PostOpensAllMethods = "SPG505", "post-opens-all-methods", Warning,
        "`POST=1` opens every method (DELETE, PUT) on every enabled section",
        "In the Tecnativa image POST=1 only lifts the method gate: DELETE and PUT pass too, on every section that is on. With sockproxy-gen, POST=1 opens POST only and DELETE=1/PUT=1 are separate; better, use a preset.";
    AllowWithoutPost = "SPG506", "allow-without-post", Warning,
        "ALLOW_START/STOP/RESTARTS without POST=1 does nothing in the Tecnativa image",
        "The image's method gate runs first and denies every POST while POST=0, so the ALLOW_* flags never apply. sockproxy-gen renders them without POST; in the image itself, they need POST=1 (which opens more).";
    PublishedPort = "SPG507", "published-port", Error,
        "the proxy's API port is published on the host",
        "Publishing 2375 lets anyone who reaches the host call the API without TLS. Keep the proxy on an internal network, or publish on 127.0.0.1 only.";
    SocketWritable = "SPG508", "socket-writable", Warning,
        "the Docker socket is mounted without `:ro`",
        "`:ro` does not make the API read-only, but it keeps the socket file itself from being replaced. Mount it `:ro`.";
    RootProxy = "SPG509", "root-proxy", Warning,
        "the proxy runs as root or privileged",
        "HAProxy needs only the socket's group. Run it as `user: \"haproxy:${PGID_DOCKER_SOCKET}\"` (see `sockproxy-gen env`), never `privileged: true`.";
    NoGroupOverride = "SPG510", "no-group-override", Warning,
        "the proxy runs without the socket's group id",
        "HAProxy >= 2.4 runs as user haproxy, which cannot open a root:docker 0660 socket unless it has the socket's group. Set `user: \"haproxy:${PGID_DOCKER_SOCKET}\"` and write the id with `sockproxy-gen env`.";
    UncertainCondition = "SPG004", "uncertain-condition", Warning,
        "a `.if` condition the file alone cannot decide changes what the proxy lets through",
        "`feature()`, `enabled()`, the SSL library predicates and a `version_atleast()` finer than `--haproxy-version` depend on the binary or its command line. Lint evaluates the file both ways; the routes whose verdict differs are named here. Pass `--haproxy-version X.Y.Z`, or make the condition explicit.";
    JudgedWithDefaults = "SPG006", "judged-with-defaults", Info,
        "rules read environment variables and none were given: the file is judged with the image's defaults",
        "A flag-driven config (`env(CONTAINERS)`, `\"${LOG_LEVEL}\"`) means nothing until its environment is known. Without `--env`, `--env-file` or `--compose`, lint applies the defaults of the image whose template the file is, and reports, flag by flag, what setting it would open (SPG402, SPG403). The image is recognised by the names the rules read: a fork's own names (linuxserver's `ALLOW_ARCHIVE`, `ALLOW_PAUSE`, `LIBPOD_*`; ZoeyVid's `ALLOW_POWER`; tprasadtp's `CONTAINERS_*`, `DELETE`; padhi-homelab's `METH_POST`) against Tecnativa's, the template every fork started from. The fork with the most own names read is the image; a file with none, or with as many of one fork's as of another's, is judged as Tecnativa's. The defaults are each image's Dockerfile `ENV` (data/flags/known-flags.tsv): Tecnativa's EVENTS=1, PING=1, VERSION=1, LOG_LEVEL=info; linuxserver's the same plus LIBPOD_PING=1 and LIBPOD_VERSION=1, with every ALLOW_* 0 (so `CONTAINERS=1` does not reach archive, export or logs) and GRPC not set. With `--compose`, the image the proxy service runs decides instead (the official `haproxy` image sets no flag). The finding names the image, the names that decided it and every value it assumed. Lint the environment the proxy really runs with to judge it.";
    FlagOpensDangerous = "SPG402", "flag-opens-dangerous", Warning,
        "setting this flag (or combination) would let through routes that can take over the host",
        "In flag-driven configs one flag opens a whole section: `CONTAINERS=1`, the usual Traefik setting, also opens `/archive` (read and write container files), `/export` (whole filesystems) and attach; with `POST=1` it opens create and exec. The finding names the flags, the routes and the rule that lets them through. Give each client a preset instead (`sockproxy-gen migrate` or `render --preset`).";
    FlagSensitivity = "SPG403", "flag-sensitivity", Info,
        "what each flag the rules read would open, from the image's defaults",
        "One line per frontend: for each flag (and the combinations people use), how many routes setting it opens and how many of those are dangerous (SPG402 names them). It shows what a one-letter change in the proxy's environment does.";
    UnresolvableCompose = "SPG511", "unresolvable-compose", Error,
        "`docker compose` refuses the file: a required `${VAR:?message}` is missing, a `${...}` is invalid, or an `env_file:` or `.env` cannot be read",
        "Compose interpolates every value from the shell environment and the `.env` file beside the compose file, and reads each `env_file:`, before anything runs. A required variable (`${VAR:?message}`, `${VAR?message}`) that is not set, a malformed `${...}` reference, or an `env_file:` that is missing or malformed stops `docker compose up`, and what lint reports about the service assumes values it does not have. Set the variable in `.env` (give it to lint with `--env KEY=VAL` or `--env-file`), fix the reference, or create the file (or mark it `required: false`).";
    Bypass = "SPG204", "bypass", Error,
        "a request variant gets through and reaches a route that the same request in plain form cannot",
        "The daemon decodes `%XX` (also `%2F`), accepts odd version prefixes (`/v1.41../`, `/v01.041/`) and routes the result. A rule that matches the raw path, or a deny that an earlier allow skips, lets such a variant reach a route the config denies in plain form. The finding shows the request, the rule that let it through and the route the daemon runs. Match `path,url_dec` with anchored rules and refuse paths that still hold `%` or are not canonical (what `sockproxy-gen render` does).";
    JudgedEnvironment = "SPG007", "judged-environment", Info,
        "the flag values a flag-driven config was judged with, and where each came from",
        "The verdicts of a config whose rules read `env(...)` or `\"${...}\"` hold for one environment. This lists the values of the flags the rules read, each with its source (the compose file's `environment:` line or `env_file:`, an env file's line, `--env`), then the defaults of the image that runs the file (the compose service's, else the one whose template it is, recognised as for SPG006) for the flags not given, and the flags neither sets, so a reader can check it is the environment the proxy runs with.";
    PatternFile = "SPG008", "pattern-file", Info,
        "an ACL's patterns were read from a `-f` file: its verdicts rest on that file",
        "HAProxy loads the patterns of `acl NAME FETCH -f FILE` from FILE, one per line (a line starting with `#` is a comment, leading blanks are dropped, the pattern runs to the end of the line). Lint reads such a file only where it knows it is the one HAProxy reads: a file given with `--pattern-file NAME=LOCAL_COPY` (or `--pattern-file PATH`), a relative name under `default-path config` (or `parent`) that exists beside the config, or (with `--compose`) a path in the container under a directory the proxy service bind-mounts from beside the compose file. This finding names each file read, where it was read and how many patterns it holds, so a reader knows which lists the verdicts rest on. A `-f` file lint does not read leaves its ACL unknown (SPG001, with the reason and the option to pass).";
    ReportOnly = "SPG106", "report-only", Warning,
        "a frontend forwards requests outside its policy (report-only or learning) instead of denying them",
        "`render --audit CLIENT` and `render --learn CLIENT` make frontends that forward what the policy does not grant and only log it (`would-deny:ROUTE`, `learn:ROUTE`), so a new preset can be tried on live traffic or a client's calls recorded. While such a frontend runs, the client can do anything the daemon routes, dangerous routes included. Keep it for the trial only: turn the log into a preset (`sockproxy-gen learn LOG`), then re-render without `--audit` or `--learn`.";
    SocketPathMismatch = "SPG512", "socket-path-mismatch", Error,
        "the mounted haproxy.cfg reaches the Docker socket at a path where the service mounts no socket",
        "`render --socket` is the socket's path inside the proxy's container (default `/var/run/docker.sock`); `compose --socket` is its path on the host. Given the host path for both, HAProxy looks for the socket where nothing is mounted, `/healthz` answers 503 and the proxy never turns healthy. Lint reads the config the service mounts and compares each `server ... unix@PATH` with the service's mount targets. Re-render with `--socket` set to the mount's target, or mount the socket where the config expects it.";
    MissingMountSource = "SPG513", "missing-mount-source", Warning,
        "a bind mount of the proxy names a host path that does not exist on this machine",
        "For a missing bind-mount source, Docker creates an empty directory and mounts that: a socket path becomes a directory (the proxy stays unhealthy), a config path an empty directory (HAProxy does not start). `sockproxy-gen env` records the socket it finds as DOCKER_SOCKET_PATH in .env, which the generated compose file mounts. Checked only where the answer does not depend on the machine lint runs on: a path beside the compose file, or a path from a variable that is set (in the `.env` beside it, or lint's `--env`). Lint on the Docker host, or create the path.";
    SharedTcpNetwork = "SPG514", "shared-tcp-network", Error,
        "clients of different TCP frontends share one network with the proxy, so none is separated from the others",
        "One TCP port per client separates nothing when the clients share a network with the proxy: a compromised read-only dashboard connects to the port of the client that may create containers and uses that policy. Give each client its own unix socket on a volume only it and the proxy mount (`sockproxy-gen compose`, the default with several clients), or put each client on its own network with the proxy.";
}

impl Code {
    /// Looks a code up by id (`SPG101`) or name (`over-grant`), case-insensitively.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(s) || c.name().eq_ignore_ascii_case(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        let mut ids: Vec<&str> = Code::ALL.iter().map(|c| c.id()).collect();
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        ids.sort_unstable();
        names.sort_unstable();
        let n = ids.len();
        ids.dedup();
        names.dedup();
        assert_eq!((ids.len(), names.len()), (n, n));
        assert_eq!(Code::parse("spg101"), Some(Code::OverGrant));
        assert_eq!(Code::parse("boolean-trap"), Some(Code::BooleanTrap));
    }
}
