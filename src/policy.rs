//! Policy: which catalog routes each client may call, and why.
//!
//! Every command reasons on a [`Policy`]: render writes it as haproxy.cfg, lint rebuilds one from
//! an existing config and compares, verify probes a proxy against it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, RouteId};
use crate::error::{Error, Result};
use crate::flags::{self, FlagSettings, FlagValue};
use crate::preset;

/// One allowed (method, route template), with the reason a reader can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub route: RouteId,
    pub reason: String,
}

/// The grants of one client (one preset, or the env-flag set). Rendered as its own frontend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientPolicy {
    /// A name safe in HAProxy section names and log lines: `[a-z0-9][a-z0-9_-]*`.
    pub name: String,
    pub description: String,
    /// In catalog (registration) order, one per route.
    pub grants: Vec<Grant>,
    /// The client's side of a compose file, when its preset says.
    #[serde(skip)]
    pub compose: Option<crate::preset::ComposeHint>,
    /// Where the grants come from: it decides how a user widens them on purpose.
    pub origin: ClientOrigin,
    /// Whether the proxy enforces the grants, or forwards and logs (learn, report-only).
    pub mode: ClientMode,
}

/// How a client's frontend treats requests outside its grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientMode {
    /// Denied with a 403 (the normal case).
    #[default]
    Enforce,
    /// Report-only (`--audit`): forwarded when the daemon routes them, logged `would-deny:ROUTE`.
    Audit,
    /// Learning (`--learn`): no grants; every routed request forwarded, logged `learn:ROUTE`.
    Learn,
}

impl ClientMode {
    /// The prefix of the log token for requests forwarded without a grant, if any.
    pub fn observe_prefix(self) -> Option<&'static str> {
        match self {
            ClientMode::Enforce => None,
            ClientMode::Audit => Some("would-deny"),
            ClientMode::Learn => Some("learn"),
        }
    }
}

/// The source of one client's grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "from")]
pub enum ClientOrigin {
    /// A built-in preset, by name.
    Preset(String),
    /// A preset file of the user's.
    PresetFile(PathBuf),
    /// Tecnativa-style flags (`--flag`, `--env-file`).
    Flags,
    /// Several clients merged on purpose (`--merge`), by name.
    Merged(Vec<String>),
    /// A client being learnt (`render --learn NAME`): no grants of its own yet.
    Learn,
}

impl ClientOrigin {
    /// How to allow one more route for this client on purpose: the last sentence of a denial.
    /// It ends up inside HAProxy's single-quoted log-format string and a JSON string, so a
    /// file name with anything but `[A-Za-z0-9._/-]` is not quoted in it.
    pub fn widen_hint(&self) -> String {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        };
        match self {
            ClientOrigin::Preset(name) => format!(
                "To allow it on purpose, copy the preset (sockproxy-gen presets show {name} --yaml > {name}.yaml), add the route to its grants and render with --preset-file {name}.yaml in place of --preset {name}"
            ),
            ClientOrigin::PresetFile(path) => {
                let path = path.to_string_lossy();
                if plain(&path) {
                    format!("To allow it on purpose, add the route to the grants of {path} and render again")
                } else {
                    "To allow it on purpose, add the route to the grants of the preset file of this client and render again".into()
                }
            }
            ClientOrigin::Flags => "To allow it on purpose, set the flag of its section (sockproxy-gen routes shows the flag of every route) and render again, or move to a preset file (sockproxy-gen presets)".into(),
            ClientOrigin::Merged(names) => format!(
                "These clients share one policy on purpose (--merge: {}); to allow it, add the route to one of their presets or preset files and render again",
                names.join(", ")
            ),
            ClientOrigin::Learn => "This learning frontend forwards every route the daemon routes; this request matches none of them".into(),
        }
    }
}

impl ClientPolicy {
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        origin: ClientOrigin,
    ) -> Self {
        ClientPolicy {
            name: name.into(),
            description: description.into(),
            grants: Vec::new(),
            compose: None,
            origin,
            mode: ClientMode::Enforce,
        }
    }

    /// Adds a grant; a route granted twice keeps its first reason.
    pub fn grant(&mut self, route: RouteId, reason: impl Into<String>) {
        if let Err(pos) = self.grants.binary_search_by_key(&route, |g| g.route) {
            self.grants.insert(
                pos,
                Grant {
                    route,
                    reason: reason.into(),
                },
            );
        }
    }

    pub fn allows(&self, route: RouteId) -> bool {
        self.grants
            .binary_search_by_key(&route, |g| g.route)
            .is_ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeLevel {
    Warning,
    Info,
}

/// Something the user should know about their inputs that is not an error
/// (`POST=1` opens these routes, `true` is read as 0 by the Tecnativa image, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub level: NoticeLevel,
    pub message: String,
}

impl Notice {
    pub fn warning(message: impl Into<String>) -> Self {
        Notice {
            level: NoticeLevel::Warning,
            message: message.into(),
        }
    }
    pub fn info(message: impl Into<String>) -> Self {
        Notice {
            level: NoticeLevel::Info,
            message: message.into(),
        }
    }
}

/// What a policy is built from. Recorded in the header of generated files, so `lint` can
/// re-render the same baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preset_files: Vec<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_files: Vec<PathBuf>,
    /// `KEY=VAL` given on the command line (they override env files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Several clients merged into one frontend on purpose.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merge: bool,
    /// Clients to learn (`--learn NAME`): one forwarding, logging frontend each, no grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learn: Vec<String>,
    /// Clients (by name) in report-only mode (`--audit NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<String>,
}

impl PolicyInputs {
    /// A one-line account of where the policy comes from, for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let paths = |p: &[PathBuf]| {
            p.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.presets.is_empty() {
            parts.push(format!("preset {}", self.presets.join(", ")));
        }
        if !self.preset_files.is_empty() {
            parts.push(format!("preset file {}", paths(&self.preset_files)));
        }
        if !self.env_files.is_empty() {
            parts.push(format!("env file {}", paths(&self.env_files)));
        }
        if !self.flags.is_empty() {
            parts.push(format!("flags {}", self.flags.join(" ")));
        }
        if self.merge {
            parts.push("merged".into());
        }
        if !self.learn.is_empty() {
            parts.push(format!("learning {}", self.learn.join(", ")));
        }
        if !self.audit.is_empty() {
            parts.push(format!("report-only {}", self.audit.join(", ")));
        }
        parts.join("; ")
    }

    pub fn is_empty(&self) -> bool {
        self.presets.is_empty()
            && self.preset_files.is_empty()
            && self.env_files.is_empty()
            && self.flags.is_empty()
            && self.learn.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub clients: Vec<ClientPolicy>,
    pub notices: Vec<Notice>,
    /// Settings carried by Tecnativa flags (SOCKET_PATH, DISABLE_IPV6); render options win.
    #[serde(skip)]
    pub flag_settings: FlagSettings,
}

impl Policy {
    /// The routes any client is granted (the union of the grants).
    pub fn granted(&self) -> std::collections::BTreeSet<crate::catalog::RouteId> {
        self.clients
            .iter()
            .flat_map(|c| c.grants.iter().map(|g| g.route))
            .collect()
    }

    /// Builds the policy; env files interpolate from the process environment, as Compose does.
    pub fn build(catalog: &Catalog, inputs: &PolicyInputs) -> Result<Policy> {
        Policy::build_with_env(catalog, inputs, &|k| std::env::var(k).ok())
    }

    /// Like [`Policy::build`], with relative preset and env files read from `dir` (the inputs a
    /// generated config recorded are relative to that config's directory). The policy still
    /// names them as recorded.
    pub fn build_in(catalog: &Catalog, inputs: &PolicyInputs, dir: &Path) -> Result<Policy> {
        Policy::build_from(catalog, inputs, &|k| std::env::var(k).ok(), dir)
    }

    /// Like [`Policy::build`], with `lookup` as the environment env files interpolate from.
    pub fn build_with_env(
        catalog: &Catalog,
        inputs: &PolicyInputs,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Policy> {
        Policy::build_from(catalog, inputs, lookup, Path::new(""))
    }

    /// Like [`Policy::build`], with preset files taken from `files` (path -> text) instead of
    /// the disk: `migrate` builds the policy of the preset files it is about to write.
    pub fn build_with_files(
        catalog: &Catalog,
        inputs: &PolicyInputs,
        files: &std::collections::BTreeMap<PathBuf, String>,
    ) -> Result<Policy> {
        let read = |path: &Path| match files.get(path) {
            Some(text) => preset::parse(catalog, text, path),
            None => preset::load_file(catalog, path),
        };
        Policy::build_reading(
            catalog,
            inputs,
            &|k| std::env::var(k).ok(),
            Path::new(""),
            &read,
        )
    }

    fn build_from(
        catalog: &Catalog,
        inputs: &PolicyInputs,
        lookup: &dyn Fn(&str) -> Option<String>,
        dir: &Path,
    ) -> Result<Policy> {
        Policy::build_reading(catalog, inputs, lookup, dir, &|path| {
            preset::load_file(catalog, path)
        })
    }

    fn build_reading(
        catalog: &Catalog,
        inputs: &PolicyInputs,
        lookup: &dyn Fn(&str) -> Option<String>,
        dir: &Path,
        read_preset: &dyn Fn(&Path) -> Result<preset::Preset>,
    ) -> Result<Policy> {
        if inputs.is_empty() {
            return Err(Error::Invalid(
                "no policy given: pass --preset NAME (see `sockproxy-gen presets`), --preset-file FILE, --flag KEY=VAL, --env-file FILE or --learn NAME".into(),
            ));
        }
        let mut clients = Vec::new();
        let mut notices = Vec::new();
        for name in &inputs.presets {
            clients.push(
                preset::load_builtin(catalog, name)?
                    .into_client(ClientOrigin::Preset(name.clone())),
            );
        }
        for path in &inputs.preset_files {
            clients.push(
                read_preset(&dir.join(path))?.into_client(ClientOrigin::PresetFile(path.clone())),
            );
        }
        let mut flag_settings = FlagSettings::default();
        if !inputs.env_files.is_empty() || !inputs.flags.is_empty() {
            let mut values: Vec<FlagValue> = Vec::new();
            for path in &inputs.env_files {
                let read = flags::read_env_file(catalog, &dir.join(path), lookup)?;
                values.extend(read.values);
                notices.extend(read.notices);
            }
            for raw in &inputs.flags {
                values.push(FlagValue::from_cli(raw)?);
            }
            let from_flags = flags::policy_from_flags(catalog, &values)?;
            clients.push(from_flags.client);
            notices.extend(from_flags.notices);
            flag_settings = from_flags.settings;
        }
        for name in &inputs.learn {
            check_client_name(name)?;
            let mut client = ClientPolicy::new(
                name.clone(),
                "learning: forwards every request the daemon routes and logs its route (sockproxy-gen learn turns the log into a preset)",
                ClientOrigin::Learn,
            );
            client.mode = ClientMode::Learn;
            clients.push(client);
        }
        if inputs.merge && !inputs.learn.is_empty() {
            return Err(Error::Invalid(
                "--merge and --learn do not go together: a learning frontend has no grants to merge; learn each client on its own frontend".into(),
            ));
        }
        let mut names: Vec<&str> = clients.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::Invalid(format!(
                "client `{}` is given twice; each preset renders as its own frontend",
                w[0]
            )));
        }
        if inputs.merge && clients.len() > 1 {
            let name = clients
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("_");
            let names: Vec<String> = clients.iter().map(|c| c.name.clone()).collect();
            let mut merged = ClientPolicy::new(
                name,
                format!("merged on purpose: {}", names.join(", ")),
                ClientOrigin::Merged(names),
            );
            for c in &clients {
                for g in &c.grants {
                    merged.grant(g.route, format!("{}: {}", c.name, g.reason));
                }
            }
            notices.push(Notice::info(format!(
                "--merge: {} clients share one frontend and one policy (the union of their grants)",
                clients.len()
            )));
            clients = vec![merged];
        }
        for name in &inputs.audit {
            let known: Vec<String> = clients.iter().map(|c| c.name.clone()).collect();
            let client = clients
                .iter_mut()
                .find(|c| &c.name == name)
                .ok_or_else(|| {
                    let hint = crate::suggest::closest(name, known.iter().map(String::as_str))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    Error::Invalid(format!(
                        "--audit {name}: no client of that name{hint}; the clients are {}",
                        known.join(", ")
                    ))
                })?;
            match client.mode {
                ClientMode::Learn => {
                    return Err(Error::Invalid(format!(
                        "--audit {name}: a learning client forwards everything already"
                    )))
                }
                _ => client.mode = ClientMode::Audit,
            }
            notices.push(Notice::warning(format!(
                "{name}: report-only (--audit): requests outside its policy are forwarded and logged as would-deny:ROUTE, not denied"
            )));
        }
        for client in &clients {
            if client.mode == ClientMode::Learn {
                notices.push(Notice::warning(format!(
                    "{}: learning (--learn): every request the daemon routes is forwarded, dangerous ones included; run it only while you record the client's traffic",
                    client.name
                )));
            }
            notices.extend(dangerous_notice(catalog, client));
            notices.extend(upgrade_body_notice(catalog, client));
            notices.extend(create_without_attach_notice(catalog, client));
        }
        Ok(Policy {
            clients,
            notices,
            flag_settings,
        })
    }
}

/// A client name is an HAProxy frontend name and a log word: `[a-z0-9][a-z0-9_-]*`, not `spg_`.
pub fn check_client_name(name: &str) -> Result<()> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !name.starts_with("spg_");
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "client name `{name}` must be lower-case letters, digits, `-` or `_`, not starting with `spg_` (it names an HAProxy frontend)"
        )))
    }
}

/// The granted routes with a trait, as readable names.
fn granted_where(
    catalog: &Catalog,
    client: &ClientPolicy,
    has: impl Fn(&crate::catalog::Traits) -> bool,
) -> Vec<String> {
    client
        .grants
        .iter()
        .map(|g| catalog.get(g.route))
        .filter(|r| has(&r.traits))
        .map(|r| r.display())
        .collect()
}

/// A warning for hijacking grants whose upgrade carries a body: they fail behind HAProxy 2.6.
fn upgrade_body_notice(catalog: &Catalog, client: &ClientPolicy) -> Option<Notice> {
    let routes = granted_where(catalog, client, |t| t.upgrade_body);
    (!routes.is_empty()).then(|| {
        Notice::warning(format!(
            "{}: {} upgrade(s) with a request body; HAProxy 2.6 drops such upgrades (haproxy/haproxy#2684), so `docker exec` fails behind it: run HAProxy 3.0 or 3.2 (passes on 3.0.11 and 3.2.26, fails on 2.6.12)",
            client.name,
            routes.join(", ")
        ))
    })
}

/// A warning for a client that may create containers but not attach to them: `docker run`
/// without `-d` creates, then attaches before it starts. The attach is refused, and the docker
/// CLI prints only the status of a refused upgrade ("unable to upgrade to tcp, received 403"),
/// never the proxy's message, and leaves the container in state Created.
fn create_without_attach_notice(catalog: &Catalog, client: &ClientPolicy) -> Option<Notice> {
    use crate::catalog::Method;
    let granted = |template: &str| {
        catalog.find(Method::Post, template).is_some_and(|r| {
            client
                .grants
                .iter()
                .any(|g| catalog.get(g.route).key() == r.key())
        })
    };
    (granted("/containers/create") && !granted("/containers/{name}/attach")).then(|| {
        Notice::warning(format!(
            "{}: may create containers but not attach to them: `docker run` without -d creates the container, is refused the attach (the docker CLI then prints only `unable to upgrade to tcp, received 403`, not the proxy's message) and leaves it Created; use `docker run -d`, or grant POST /containers/{{name}}/attach",
            client.name
        ))
    })
}

/// A warning naming the grants that can take over the host or read its files.
fn dangerous_notice(catalog: &Catalog, client: &ClientPolicy) -> Option<Notice> {
    let dangerous = granted_where(catalog, client, |t| t.dangerous);
    (!dangerous.is_empty()).then(|| {
        Notice::warning(format!(
            "{}: grants routes that can take over the host or read its files: {}",
            client.name,
            dangerous.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::ClientOrigin;

    /// A hint is written inside HAProxy's single-quoted log-format string and a JSON string.
    #[test]
    fn widen_hints_need_no_quoting() {
        let origins = [
            ClientOrigin::Preset("traefik".into()),
            ClientOrigin::PresetFile("deploy/my-proxy.yaml".into()),
            ClientOrigin::PresetFile("it's \"mine\" 100%.yaml".into()),
            ClientOrigin::Flags,
            ClientOrigin::Merged(vec!["traefik".into(), "homepage".into()]),
        ];
        for origin in origins {
            let hint = origin.widen_hint();
            assert!(!hint.contains(['\'', '"', '%', '\\']), "{origin:?}: {hint}");
        }
        assert!(ClientOrigin::PresetFile("deploy/my-proxy.yaml".into())
            .widen_hint()
            .contains("deploy/my-proxy.yaml"));
    }
}
