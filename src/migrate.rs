//! `migrate`: a Tecnativa-style socket proxy in a compose file, replaced by a least-privilege
//! one.
//!
//! The proxy service and each client's side come from [`crate::compose::compose`] and the
//! config from [`crate::render::render`]: this module only decides the inputs (which preset for
//! which client, which flags for the rest) and merges the generated services into the user's
//! file, so whatever shape the compose generator gives them is what the migrated file gets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

use crate::catalog::{Catalog, RouteId};
use crate::compose::{self, ComposeOptions};
use crate::error::{Error, Location, Result};
use crate::lint::compose::{socket_proxies, FoundClient, FoundProxy};
use crate::policy::{Notice, Policy, PolicyInputs};
use crate::preset::{self, GrantText};
use crate::render::{self, RenderInputs, RenderOptions};

/// One file to write into the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the output directory (`compose.yaml`, `presets/app.yaml`).
    pub path: PathBuf,
    pub contents: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub files: Vec<OutputFile>,
    pub notices: Vec<Notice>,
}

/// What a client becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// A built-in preset, recognised by the client's image.
    Preset(String),
    /// No preset for its image: a preset file with the old flags' routes (traps fixed).
    Flags { name: String },
}

struct ClientPlan<'a> {
    found: &'a FoundClient,
    plan: Plan,
}

impl ClientPlan<'_> {
    /// The client's name in the policy (its frontend and generated service key).
    fn name(&self) -> &str {
        match &self.plan {
            Plan::Preset(p) => p,
            Plan::Flags { name } => name,
        }
    }
}

/// `registry.example/team/app:1.0@sha256:..` -> `app`
fn image_name(image: &str) -> String {
    let mut s = image.trim().to_ascii_lowercase();
    if let Some(i) = s.find('@') {
        s.truncate(i);
    }
    let start = s.rfind('/').map_or(0, |i| i + 1);
    let mut name = s[start..].to_string();
    if let Some(i) = name.find(':') {
        name.truncate(i);
    }
    name
}

/// The built-in preset for a client's image (the images the presets' `compose:` hints name),
/// refined by how the client is configured (Traefik's swarm provider, Dozzle's actions).
fn preset_for(catalog: &Catalog, client: &FoundClient) -> Option<String> {
    let wanted = image_name(&client.image);
    if wanted.is_empty() {
        return None;
    }
    let mut candidates: Vec<&str> = preset::builtin_names()
        .filter(|name| {
            preset::load_builtin(catalog, name)
                .ok()
                .and_then(|p| p.compose)
                .is_some_and(|hint| image_name(&hint.image) == wanted)
        })
        .collect();
    candidates.sort_by_key(|n| (n.len(), *n));
    let says = |needle: &str| {
        client
            .strings
            .iter()
            .any(|s| s.to_ascii_lowercase().contains(needle))
    };
    let variant = |suffix: &str| {
        candidates
            .iter()
            .find(|n| n.ends_with(suffix))
            .map(|n| n.to_string())
    };
    if says("providers.swarm") || says("swarm: true") {
        if let Some(v) = variant("-swarm") {
            return Some(v);
        }
    }
    if says("dozzle_enable_actions=true") || says("--enable-actions") {
        if let Some(v) = variant("-actions") {
            return Some(v);
        }
    }
    candidates.first().map(|n| n.to_string())
}

/// A client name safe as a preset name and frontend: `[a-z0-9][a-z0-9_-]*`.
fn safe_name(service: &str) -> String {
    let mut s: String = service
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        s.insert(0, 'c');
    }
    if s.starts_with("spg_") {
        s.insert(0, 'c');
    }
    s
}

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn malformed(path: &Path, message: String) -> Error {
    Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line: 1,
            column: None,
        },
        message,
    }
}

/// Every string in a value, rewritten by `f` (environment, command, labels).
fn rewrite_strings(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Sequence(items) => items.iter_mut().for_each(|i| rewrite_strings(i, f)),
        Value::Mapping(m) => m.values_mut().for_each(|i| rewrite_strings(i, f)),
        _ => {}
    }
}

/// `environment:` as a mapping (a list `KEY=VAL` becomes `KEY: VAL`, order kept).
fn env_mapping(v: Option<Value>) -> Mapping {
    match v {
        Some(Value::Mapping(m)) => m,
        Some(Value::Sequence(items)) => {
            let mut m = Mapping::new();
            for item in items {
                if let Value::String(s) = item {
                    match s.split_once('=') {
                        Some((k, v)) => m.insert(key(k), key(v)),
                        None => m.insert(key(&s), Value::Null),
                    };
                }
            }
            m
        }
        _ => Mapping::new(),
    }
}

/// `--flag=value` arguments of `generated` replace the same flag in `original`, or are added.
fn merge_command(original: Option<Value>, generated: &Value) -> Value {
    let gen: Vec<String> = match generated {
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let flag = |a: &str| a.split('=').next().unwrap_or(a).to_string();
    match original {
        Some(Value::Sequence(mut items)) => {
            for g in gen {
                match items
                    .iter_mut()
                    .find(|i| i.as_str().is_some_and(|s| flag(s) == flag(&g)))
                {
                    Some(slot) => *slot = Value::String(g),
                    None => items.push(Value::String(g)),
                }
            }
            Value::Sequence(items)
        }
        Some(Value::String(s)) => {
            let mut words: Vec<String> = s.split_whitespace().map(str::to_string).collect();
            for g in gen {
                match words.iter_mut().find(|w| flag(w) == flag(&g)) {
                    Some(slot) => *slot = g,
                    None => words.push(g),
                }
            }
            Value::String(words.join(" "))
        }
        _ => generated.clone(),
    }
}

/// A bind mount of the Docker socket in a `volumes:` item.
fn socket_mount(v: &Value) -> bool {
    let source = match v {
        Value::String(s) => s.split(':').next().unwrap_or("").to_string(),
        Value::Mapping(m) => m
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => return false,
    };
    source.ends_with("/docker.sock") || source.ends_with("/podman.sock")
}

/// Merges the generated keys of a client into the user's service: environment entries set,
/// command flags replaced or added, networks and volumes added, `depends_on` the proxy; any
/// other generated key the service lacks is added; `image` stays the user's. A Docker socket
/// mount of the client is dropped: it reaches the daemon through the proxy now.
fn merge_client(service: &mut Mapping, generated: &Mapping) {
    if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
        volumes.retain(|v| !socket_mount(v));
    }
    for (k, gen) in generated {
        let name = k.as_str().unwrap_or_default();
        match name {
            "image" => {}
            "environment" => {
                let mut env = env_mapping(service.remove("environment"));
                for (ek, ev) in env_mapping(Some(gen.clone())) {
                    env.insert(ek, ev);
                }
                service.insert(key("environment"), Value::Mapping(env));
            }
            "command" => {
                let merged = merge_command(service.remove("command"), gen);
                service.insert(key("command"), merged);
            }
            "networks" => {
                let gen_names: Vec<Value> = match gen {
                    Value::Sequence(items) => items.clone(),
                    Value::Mapping(m) => m.keys().cloned().collect(),
                    _ => Vec::new(),
                };
                match service.get_mut("networks") {
                    // The service chose its networks: add the proxy's, not `default`.
                    Some(Value::Sequence(items)) => {
                        for n in gen_names {
                            if n.as_str() != Some("default") && !items.contains(&n) {
                                items.push(n);
                            }
                        }
                    }
                    Some(Value::Mapping(m)) => {
                        for n in gen_names {
                            if n.as_str() != Some("default") && !m.contains_key(&n) {
                                m.insert(n, Value::Null);
                            }
                        }
                    }
                    _ => {
                        service.insert(key("networks"), gen.clone());
                    }
                }
            }
            "depends_on" => {
                let mut deps = match service.remove("depends_on") {
                    Some(Value::Mapping(m)) => m,
                    Some(Value::Sequence(items)) => {
                        let mut m = Mapping::new();
                        for i in items {
                            let mut cond = Mapping::new();
                            cond.insert(key("condition"), key("service_started"));
                            m.insert(i, Value::Mapping(cond));
                        }
                        m
                    }
                    _ => Mapping::new(),
                };
                if let Value::Mapping(g) = gen {
                    for (dk, dv) in g {
                        deps.insert(dk.clone(), dv.clone());
                    }
                }
                service.insert(key("depends_on"), Value::Mapping(deps));
            }
            "volumes" => match (service.get_mut("volumes"), gen) {
                (Some(Value::Sequence(items)), Value::Sequence(g)) => {
                    for v in g {
                        if !items.contains(v) {
                            items.push(v.clone());
                        }
                    }
                }
                _ => {
                    service.insert(key("volumes"), gen.clone());
                }
            },
            _ => {
                if !service.contains_key(k) {
                    service.insert(k.clone(), gen.clone());
                }
            }
        }
    }
}

/// Adds the generated top-level entries (`networks:`, `volumes:`) the file lacks.
fn merge_top(doc: &mut Mapping, generated: &Mapping, section: &str) {
    let Some(Value::Mapping(gen)) = generated.get(section) else {
        return;
    };
    let entry = doc
        .entry(key(section))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !matches!(entry, Value::Mapping(_)) {
        *entry = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(m) = entry {
        for (k, v) in gen {
            if !m.contains_key(k) {
                m.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `tcp://OLD:PORT` (the proxy's service or container name) -> `tcp://SERVICE:NEWPORT`.
fn repoint(text: &str, proxy: &FoundProxy, new_port: u16) -> String {
    let mut names = vec![proxy.service.clone()];
    names.extend(proxy.container_name.clone());
    let mut out = text.to_string();
    for name in names {
        for port in [format!(":{}", proxy.port), String::new()] {
            let old = format!("tcp://{name}{port}");
            if let Some(i) = out.find(&old) {
                let end = i + old.len();
                // Only a whole host (and port): not tcp://proxy2 or tcp://proxy:23750.
                let next = out[end..].chars().next();
                let whole = next.is_none_or(|c| !(c.is_ascii_alphanumeric() || "-_.:".contains(c)));
                if whole {
                    out = format!(
                        "{}tcp://{}:{new_port}{}",
                        &out[..i],
                        proxy.service,
                        &out[end..]
                    );
                    return out;
                }
            }
        }
    }
    out
}

/// A name for the internal network that the file does not use yet.
fn network_name(doc: &Mapping) -> String {
    let used = |n: &str| {
        doc.get("networks")
            .and_then(Value::as_mapping)
            .is_some_and(|m| m.contains_key(n))
    };
    ["sockproxy", "sockproxy-internal", "sockproxy-net"]
        .into_iter()
        .find(|n| !used(n))
        .unwrap_or("sockproxy-spg")
        .to_string()
}

/// Migrates one compose file. `dotenv` is the text of the `.env` Compose reads with it (kept,
/// with `PGID_DOCKER_SOCKET` set to `gid`).
pub fn migrate(
    catalog: &Catalog,
    path: &Path,
    text: &str,
    dotenv: Option<(&Path, &str)>,
    gid: u32,
) -> Result<Migration> {
    let (proxies, clients) = socket_proxies(path, text)?;
    if proxies.is_empty() {
        return Err(malformed(
            path,
            "no socket proxy that reads Tecnativa-style flags found: no service runs a known socket-proxy image (Tecnativa, linuxserver and their forks) or has socket-proxy, sockproxy or dockerproxy in its name".into(),
        ));
    }
    let mut doc: Mapping = serde_norway::from_str(text)
        .map_err(|e| malformed(path, format!("not a YAML mapping: {e}")))?;
    let file_name = path.file_name().map_or_else(
        || "compose.yaml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut files = Vec::new();
    let mut notices = Vec::new();
    let mut report = format!(
        "# Migration of {file_name}\n\nWritten by `sockproxy-gen migrate` {}. Every socket proxy below is replaced by HAProxy running as non-root with a rendered least-privilege config: one frontend per client, each with only the routes its preset grants.\n",
        crate::VERSION
    );
    let network = network_name(&doc);
    for proxy in &proxies {
        let config_name = if proxies.len() == 1 {
            "haproxy.cfg".to_string()
        } else {
            format!("haproxy-{}.cfg", safe_name(&proxy.service))
        };
        let mine: Vec<&FoundClient> = clients
            .iter()
            .filter(|c| c.proxy == proxy.service)
            .collect();
        let mut plans: Vec<ClientPlan> = Vec::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for c in &mine {
            let plan = match preset_for(catalog, c) {
                Some(p) if !taken.contains(&p) => Plan::Preset(p),
                _ => {
                    let mut name = safe_name(&c.service);
                    while taken.contains(&name) {
                        name.push_str("-2");
                    }
                    Plan::Flags { name }
                }
            };
            let plan = ClientPlan { found: c, plan };
            taken.insert(plan.name().to_string());
            plans.push(plan);
        }
        // The policy lists presets first, then preset files: keep the plans in that order, so
        // the n-th client of the policy is the n-th plan (ports follow that order).
        plans.sort_by_key(|p| matches!(p.plan, Plan::Flags { .. }));
        let fixed_values: Vec<crate::flags::FlagValue> = proxy
            .fixed_flags
            .iter()
            .map(|f| crate::flags::FlagValue::from_cli(f))
            .collect::<Result<_>>()?;
        let from_flags = crate::flags::policy_from_flags(catalog, &fixed_values)?;
        let mut inputs = PolicyInputs::default();
        for p in &plans {
            match &p.plan {
                Plan::Preset(name) => inputs.presets.push(name.clone()),
                Plan::Flags { name } => {
                    let grants: Vec<GrantText> = from_flags
                        .client
                        .grants
                        .iter()
                        .map(|g| GrantText {
                            route: catalog.get(g.route),
                            reason: format!("opened by the old proxy's {}", g.reason),
                        })
                        .collect();
                    let hint = preset::ComposeHint {
                        image: p.found.image.clone(),
                        command: Vec::new(),
                        environment: BTreeMap::new(),
                        docker_host: p.found.how.starts_with("tcp://")
                            && p.found.strings.iter().any(|s| s.contains("tcp://")),
                        note: None,
                    };
                    let rel = PathBuf::from("presets").join(format!("{name}.yaml"));
                    files.push(OutputFile {
                        path: rel.clone(),
                        contents: preset::to_yaml(
                            &[format!(
                                "Written by sockproxy-gen migrate for service `{}` of {file_name}: no preset knows its image ({}), so it keeps what the old proxy's flags opened, with their traps fixed ({}).",
                                p.found.service,
                                p.found.image,
                                proxy.fixed_flags.join(" ")
                            ),
                            "Narrow it: `sockproxy-gen render --learn` and `sockproxy-gen learn` record what the client really calls.".into()],
                            name,
                            &format!("{}: the old socket proxy's flags, traps fixed", p.found.service),
                            &format!("sockproxy-gen migrate {file_name}"),
                            &grants,
                            Some(&hint),
                        ),
                    });
                    inputs.preset_files.push(rel);
                }
            }
        }
        if plans.is_empty() {
            inputs.flags = proxy.fixed_flags.clone();
        }
        // The preset files are not on disk yet: the policy reads them from `files`.
        let written: BTreeMap<PathBuf, String> = files
            .iter()
            .map(|f| (f.path.clone(), f.contents.clone()))
            .collect();
        let policy = Policy::build_with_files(catalog, &inputs, &written)?;
        let render_inputs = RenderInputs {
            policy: inputs.clone(),
            options: RenderOptions::default(),
        };
        let cfg = render::render(catalog, &policy, &render_inputs)?;
        files.push(OutputFile {
            path: PathBuf::from(&config_name),
            contents: cfg,
        });
        let socket = proxy
            .socket
            .clone()
            .unwrap_or_else(|| render::DEFAULT_SOCKET.to_string());
        let options = ComposeOptions {
            service: proxy.service.clone(),
            image: compose::DEFAULT_IMAGE.to_string(),
            config: PathBuf::from(format!("./{config_name}")),
            socket: PathBuf::from(&socket),
            port: render::DEFAULT_PORT,
            publish: false,
            swarm: false,
            network: network.clone(),
        };
        let generated_text = compose::compose(catalog, &policy, &inputs, &options)?;
        let generated: Mapping = serde_norway::from_str(&generated_text).map_err(|e| {
            Error::Invalid(format!("the generated compose file does not parse: {e}"))
        })?;
        let gen_services = generated
            .get("services")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let services = doc
            .entry(key("services"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(services) = services else {
            return Err(malformed(path, "`services:` is not a mapping".into()));
        };
        if let Some(p) = gen_services.get(proxy.service.as_str()) {
            services.insert(key(&proxy.service), p.clone());
        }
        for (index, plan) in plans.iter().enumerate() {
            let port = render::client_port(render::DEFAULT_PORT, index, plan.name())?;
            let Some(Value::Mapping(service)) = services.get_mut(plan.found.service.as_str())
            else {
                continue;
            };
            for k in ["environment", "command", "entrypoint", "labels"] {
                if let Some(v) = service.get_mut(k) {
                    rewrite_strings(v, &|s| repoint(s, proxy, port));
                }
            }
            match gen_services.get(plan.name()) {
                Some(Value::Mapping(g)) => merge_client(service, g),
                _ => {
                    // No client side generated (a preset without a compose hint): the network.
                    let mut g = Mapping::new();
                    g.insert(key("networks"), Value::Sequence(vec![key(&network)]));
                    merge_client(service, &g);
                }
            }
        }
        merge_top(&mut doc, &generated, "networks");
        merge_top(&mut doc, &generated, "volumes");
        report.push_str(&proxy_report(catalog, proxy, &plans, &policy, &config_name));
        if plans.is_empty() {
            notices.push(Notice::warning(format!(
                "{}: no client found (no service reaches tcp://{}:{} or depends on it); the new proxy has one frontend with the old flags, traps fixed",
                proxy.service, proxy.service, proxy.port
            )));
        }
        notices.extend(policy.notices.iter().cloned());
    }
    let mut compose_text = format!(
        "# Migrated by sockproxy-gen {} from {file_name} (`sockproxy-gen migrate`; MIGRATION.md says what changed).\n# The YAML library does not keep comments: compare with the original for them.\n",
        crate::VERSION
    );
    compose_text.push_str(
        &serde_norway::to_string(&Value::Mapping(doc))
            .map_err(|e| Error::Invalid(format!("the migrated compose file: {e}")))?,
    );
    files.push(OutputFile {
        path: PathBuf::from(&file_name),
        contents: compose_text,
    });
    let (env_path, env_text) = match dotenv {
        Some((p, t)) => (p.to_path_buf(), t.to_string()),
        None => (PathBuf::from(".env"), String::new()),
    };
    let update = crate::dotenv::set(
        &env_text,
        &env_path,
        "PGID_DOCKER_SOCKET",
        &gid.to_string(),
        &|k| std::env::var(k).ok(),
    )?;
    files.push(OutputFile {
        path: PathBuf::from(".env"),
        contents: update.text,
    });
    files.push(OutputFile {
        path: PathBuf::from("MIGRATION.md"),
        contents: report,
    });
    Ok(Migration { files, notices })
}

/// The report's section on one proxy: per client, what closes and what opens.
fn proxy_report(
    catalog: &Catalog,
    proxy: &FoundProxy,
    plans: &[ClientPlan],
    policy: &Policy,
    config_name: &str,
) -> String {
    let mut r = String::new();
    let flags: Vec<String> = proxy
        .flags
        .iter()
        .map(|(k, v, source)| format!("`{k}={v}` ({source})"))
        .collect();
    r.push_str(&format!(
        "\n## Proxy `{}`\n\nImage `{}` ({} flags): {}.\nWith these flags the old image let every client through {} route(s) ({} dangerous). It is replaced by `{}` with `{config_name}`.\n",
        proxy.service,
        proxy.image,
        proxy.family,
        if flags.is_empty() { "no flag set (the image's defaults)".to_string() } else { flags.join(", ") },
        proxy.opened.len(),
        proxy.opened.keys().filter(|id| catalog.get(**id).traits.dangerous).count(),
        compose::DEFAULT_IMAGE,
    ));
    for n in &proxy.notes {
        r.push_str(&format!("\n- Note: {n}"));
    }
    if !proxy.notes.is_empty() {
        r.push('\n');
    }
    let old: BTreeSet<RouteId> = proxy.opened.keys().copied().collect();
    let clients: Vec<(String, String, &crate::policy::ClientPolicy)> = if plans.is_empty() {
        policy
            .clients
            .iter()
            .map(|c| (c.name.clone(), "no client found".to_string(), c))
            .collect()
    } else {
        plans
            .iter()
            .zip(&policy.clients)
            .map(|(p, c)| {
                let what = match &p.plan {
                    Plan::Preset(name) => format!(
                        "service `{}` (image `{}`, reached via {}) -> preset `{name}`",
                        p.found.service, p.found.image, p.found.how
                    ),
                    Plan::Flags { name } => format!(
                        "service `{}` (image `{}`, reached via {}) -> no preset knows this image: it keeps the old flags' routes with their traps fixed (`presets/{name}.yaml`; narrow it with `render --learn`)",
                        p.found.service, p.found.image, p.found.how
                    ),
                };
                (p.found.service.clone(), what, c)
            })
            .collect()
    };
    for (index, (service, what, client)) in clients.iter().enumerate() {
        let port = render::DEFAULT_PORT as usize + index;
        let new: BTreeSet<RouteId> = client.grants.iter().map(|g| g.route).collect();
        r.push_str(&format!(
            "\n### Client `{service}`\n\n{what}; now `tcp://{}:{port}` (frontend `{}`).\n",
            proxy.service, client.name
        ));
        let closed: Vec<&RouteId> = old.difference(&new).collect();
        let opened: Vec<&RouteId> = new.difference(&old).collect();
        r.push_str(&format!(
            "\nClosed: {} route(s) the old flags opened that the new config denies.\n",
            closed.len()
        ));
        for id in closed {
            let route = catalog.get(*id);
            let mark = if route.traits.dangerous {
                " **dangerous**"
            } else {
                ""
            };
            r.push_str(&format!(
                "- `{}`{mark} (opened by {})\n",
                route.display(),
                proxy.opened[id]
            ));
        }
        if opened.is_empty() {
            r.push_str("\nOpened: none (the new config opens nothing the old flags did not).\n");
        } else {
            r.push_str(&format!(
                "\nOpened: {} route(s) the old flags did not open, because the client needs them:\n",
                opened.len()
            ));
            for id in opened {
                let grant = client.grants.iter().find(|g| g.route == *id);
                r.push_str(&format!(
                    "- `{}`: {}\n",
                    catalog.get(*id).display(),
                    grant.map_or("", |g| g.reason.as_str())
                ));
            }
        }
        if let Some(note) = client.compose.as_ref().and_then(|h| h.note.as_ref()) {
            r.push_str(&format!(
                "\nAlso: {}\n",
                note.replace("{proxy}", &format!("{}:{port}", proxy.service))
                    .replace("{service}", &proxy.service)
                    .replace("{port}", &port.to_string())
            ));
        }
    }
    r
}
