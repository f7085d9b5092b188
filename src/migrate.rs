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

/// The built-in presets that name an image in their `compose:` hint: (preset, image name),
/// read once per run.
fn image_presets(catalog: &Catalog) -> Vec<(&'static str, String)> {
    preset::builtin_names()
        .filter_map(|name| {
            let hint = preset::load_builtin(catalog, name).ok()?.compose?;
            Some((name, image_name(&hint.image)))
        })
        .collect()
}

/// The built-in preset for a client's image (the images the presets' `compose:` hints name),
/// refined by how the client is configured (Traefik's swarm provider, Dozzle's actions).
fn preset_for(table: &[(&'static str, String)], client: &FoundClient) -> Option<String> {
    let wanted = image_name(&client.image);
    if wanted.is_empty() {
        return None;
    }
    let mut candidates: Vec<&str> = table
        .iter()
        .filter(|(_, image)| *image == wanted)
        .map(|(name, _)| *name)
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
fn rewrite_strings(v: &mut Value, f: &mut dyn FnMut(&str) -> String) {
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

/// Merges the generated keys of a client into the user's service: environment entries set,
/// command flags replaced or added, networks and volumes added, `depends_on` the proxy; any
/// other generated key the service lacks is added; `image` stays the user's. The client's
/// Docker socket mounts (the `volumes:` items at `socket_mounts`, found on the interpolated
/// text) are dropped: it reaches the daemon through the proxy now. A service with a
/// `network_mode:` gets no `networks:` (Compose refuses both).
fn merge_client(service: &mut Mapping, generated: &Mapping, socket_mounts: &[usize]) {
    if let Some(Value::Sequence(volumes)) = service.get_mut("volumes") {
        let mut index = 0;
        volumes.retain(|_| {
            index += 1;
            !socket_mounts.contains(&(index - 1))
        });
        if volumes.is_empty() {
            service.remove("volumes");
        }
    }
    let network_mode = service.contains_key("network_mode");
    for (k, gen) in generated {
        let name = k.as_str().unwrap_or_default();
        match name {
            "image" => {}
            "networks" if network_mode => {}
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

/// Adds `network` to a service's `networks:` (a list or a mapping; a new list when it has
/// none).
fn add_network(service: &mut Mapping, network: &str) {
    match service.get_mut("networks") {
        Some(Value::Sequence(items)) => {
            if !items.iter().any(|i| i.as_str() == Some(network)) {
                items.push(key(network));
            }
        }
        Some(Value::Mapping(m)) => {
            if !m.contains_key(network) {
                m.insert(key(network), Value::Null);
            }
        }
        _ => {
            service.insert(
                key("networks"),
                Value::Sequence(vec![key("default"), key(network)]),
            );
        }
    }
}

/// `tcp://OLD:PORT` (the proxy's service or container name) -> `tcp://SERVICE:NEWPORT`;
/// `None` when the text does not name the proxy.
fn repoint(text: &str, proxy: &FoundProxy, new_port: u16) -> Option<String> {
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
                    return Some(out);
                }
            }
        }
    }
    None
}

/// The migrated file as YAML that YAML 1.1 readers (Compose 1.29's PyYAML) and 1.2 readers
/// (Compose v2) read the same: every string value is double-quoted (`"22:22"` is not base-60
/// 1342, `"yes"` not `true`), keys are bare only when they are plain words of neither YAML.
fn emit(doc: &Value) -> String {
    let mut out = String::new();
    match doc {
        Value::Mapping(m) if !m.is_empty() => emit_mapping(&mut out, m, 0),
        other => {
            out.push_str(&scalar_text(other));
            out.push('\n');
        }
    }
    out
}

fn emit_key(k: &Value) -> String {
    match k {
        Value::String(s) => {
            let plain = s
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
                );
            if plain {
                s.clone()
            } else {
                preset::quoted(s)
            }
        }
        other => scalar_text(other),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => preset::quoted(s),
        Value::Mapping(_) => "{}".into(),
        Value::Sequence(_) => "[]".into(),
        Value::Tagged(t) => format!("{} {}", t.tag, scalar_text(&t.value)),
    }
}

fn emit_mapping(out: &mut String, m: &Mapping, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&emit_key(k));
        out.push(':');
        emit_value(out, v, indent);
    }
}

/// A value after `key:` or `-`: nested collections on the next lines, scalars on this one.
fn emit_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            emit_mapping(out, m, indent + 2);
        }
        Value::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                match item {
                    Value::Mapping(m) if !m.is_empty() => {
                        let mut nested = String::new();
                        emit_mapping(&mut nested, m, indent + 4);
                        // The first entry goes on the dash's line.
                        out.push_str(&nested[indent + 3..]);
                    }
                    other => emit_value(out, other, indent + 2),
                }
            }
        }
        Value::Null => out.push('\n'),
        other => {
            out.push(' ');
            out.push_str(&scalar_text(other));
            out.push('\n');
        }
    }
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
    gid: &dyn Fn(&[String]) -> Result<u32>,
) -> Result<Migration> {
    let (proxies, clients) = socket_proxies(path, text)?;
    if proxies.is_empty() {
        return Err(malformed(
            path,
            "no socket proxy that reads Tecnativa-style flags found: no service runs a known socket-proxy image (Tecnativa, linuxserver and their forks) or has socket-proxy, sockproxy or dockerproxy in its name".into(),
        ));
    }
    // A name is not enough: only an image known to read the flags, or one that mounts the
    // Docker socket, is a socket proxy to replace.
    if let Some(p) = proxies
        .iter()
        .find(|p| !p.known_image && p.socket.is_none())
    {
        return Err(malformed(
            path,
            format!(
                "service `{}` is named like a socket proxy, but its image `{}` is not a known socket-proxy image (Tecnativa, linuxserver and their forks) and it mounts no Docker socket: migrate does not replace it; nothing was written. If it is a socket proxy, mount the socket in it (or use a known image); otherwise rename the service",
                p.service, p.image
            ),
        ));
    }
    let table = image_presets(catalog);
    let sockets: Vec<String> = proxies.iter().filter_map(|p| p.socket.clone()).collect();
    let gid = gid(&sockets)?;
    let mut parsed: Value = serde_norway::from_str(text)
        .map_err(|e| malformed(path, format!("not a YAML mapping: {e}")))?;
    // `<<: *anchor` becomes the keys it stands for (Compose reads it so).
    parsed
        .apply_merge()
        .map_err(|e| malformed(path, format!("a `<<:` merge key: {e}")))?;
    let Value::Mapping(mut doc) = parsed else {
        return Err(malformed(path, "not a YAML mapping".into()));
    };
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
    // Preset file names are one namespace for the whole file (presets/NAME.yaml).
    let mut taken_files: BTreeSet<String> = BTreeSet::new();
    for proxy in &proxies {
        // In a directory of its own, which the proxy mounts: a reload must see a re-rendered
        // file (a mounted file keeps its old inode when `render -o` replaces it).
        let config_name = if proxies.len() == 1 {
            "sockproxy/haproxy.cfg".to_string()
        } else {
            format!(
                "sockproxy-{}/haproxy.cfg",
                crate::policy::client_name_from(&proxy.service)
            )
        };
        let mine: Vec<&FoundClient> = clients
            .iter()
            .filter(|c| c.proxy == proxy.service)
            .collect();
        let mut plans: Vec<ClientPlan> = Vec::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for c in &mine {
            let plan = match preset_for(&table, c) {
                Some(p) if !taken.contains(&p) && !taken_files.contains(&p) => Plan::Preset(p),
                _ => {
                    let mut name = crate::policy::client_name_from(&c.service);
                    while taken.contains(&name) || taken_files.contains(&name) {
                        name.push_str("-2");
                    }
                    taken_files.insert(name.clone());
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
                        socket_note: None,
                        socket: None,
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
            socket: Some(PathBuf::from(&socket)),
            port: render::DEFAULT_PORT,
            publish: false,
            swarm: false,
            network: network.clone(),
            // Migrate repoints each client at its TCP port, as the old proxy was reached.
            isolation: render::Isolation {
                tcp: true,
                ..Default::default()
            },
            client_maxconn: render::DEFAULT_CLIENT_MAXCONN,
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
        let old_service = services.get(proxy.service.as_str()).cloned();
        let mut kept_settings = Vec::new();
        if let Some(Value::Mapping(mut p)) = gen_services.get(proxy.service.as_str()).cloned() {
            // The old service's settings: kept where safe, else listed in the report.
            if let Some(Value::Mapping(old)) = &old_service {
                for (k, v) in old {
                    let name = k.as_str().unwrap_or_default();
                    match name {
                        "image" | "environment" | "env_file" | "volumes" => {}
                        "restart" | "logging" | "container_name" | "labels" | "deploy"
                        | "mem_limit" | "cpus" | "pids_limit" => {
                            p.insert(k.clone(), v.clone());
                            kept_settings.push(format!("`{name}` kept"));
                        }
                        "networks" => {
                            let mut m = Mapping::new();
                            m.insert(k.clone(), v.clone());
                            let mut merged = p.clone();
                            merge_client(&mut merged, &m, &[]);
                            p = merged;
                            kept_settings
                                .push("`networks` kept (the proxy's network added)".into());
                        }
                        _ => kept_settings.push(format!(
                            "`{name}` dropped (the new proxy is generated: {})",
                            match name {
                                "ports" => "it publishes no port; clients reach it on its network",
                                "user" | "privileged" | "cap_add" | "cap_drop" | "security_opt"
                                | "read_only" | "tmpfs" =>
                                    "it runs as non-root, read-only, without capabilities",
                                "healthcheck" => "it has its own health check",
                                _ => "add it back by hand if it still applies",
                            }
                        )),
                    }
                }
            }
            services.insert(key(&proxy.service), Value::Mapping(p));
        }
        let mut client_notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut shared_namespaces: Vec<(String, String)> = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let port = render::client_port(render::DEFAULT_PORT, index, plan.name())?;
            let notes = client_notes.entry(plan.found.service.clone()).or_default();
            let Some(Value::Mapping(service)) = services.get_mut(plan.found.service.as_str())
            else {
                continue;
            };
            let mut repointed = 0;
            let mut written_values = Vec::new();
            for k in ["environment", "command", "entrypoint", "labels"] {
                if let Some(v) = service.get_mut(k) {
                    rewrite_strings(v, &mut |s| {
                        if let Some(r) = repoint(s, proxy, port) {
                            repointed += 1;
                            return r;
                        }
                        // Written with variables (`tcp://${SP_HOST}:2375`): the value they
                        // give, rewritten, replaces the text.
                        let interpolated = plan
                            .found
                            .written
                            .iter()
                            .find(|(raw, value)| raw == s && value != s)
                            .map(|(_, value)| value.clone());
                        if let Some(value) = interpolated {
                            if let Some(r) = repoint(&value, proxy, port) {
                                repointed += 1;
                                written_values.push(format!("`{s}` (= `{value}`) -> `{r}`"));
                                return r;
                            }
                        }
                        s.to_string()
                    });
                }
            }
            for w in written_values {
                notes.push(format!("Rewritten with its variables' values, which the new text no longer reads: {w}."));
            }
            // DOCKER_HOST (or the like) from an env_file: set in `environment:`, which wins.
            let mut from_env_file = Mapping::new();
            for (k, v) in &plan.found.env_file_values {
                if let Some(r) = repoint(v, proxy, port) {
                    repointed += 1;
                    from_env_file.insert(key(k), key(&r));
                    notes.push(format!("`{k}={v}` comes from its `env_file:`; `environment:` now sets `{k}={r}`, which wins over the file."));
                }
            }
            if !from_env_file.is_empty() {
                let mut g = Mapping::new();
                g.insert(key("environment"), Value::Mapping(from_env_file));
                merge_client(service, &g, &[]);
            }
            if repointed == 0 {
                let why = if plan.found.how == "depends_on" {
                    format!("it was found only by `depends_on: [{}]`", proxy.service)
                } else {
                    format!("its `{}` could not be rewritten", plan.found.how)
                };
                let must = format!(
                    "You must change: service `{}` still reaches the old address ({why}); point its Docker host at `tcp://{}:{port}` (its frontend `{}`), or it reaches another client's frontend or nothing.",
                    plan.found.service, proxy.service, plan.name()
                );
                notices.push(Notice::warning(must.clone()));
                notes.push(must);
            }
            for (index, mount) in &plan.found.socket_mounts {
                notes.push(format!(
                    "Dropped its Docker socket mount `{mount}` (volumes item {}): it reaches the daemon through the proxy now.",
                    index + 1
                ));
            }
            let mounts: Vec<usize> = plan.found.socket_mounts.iter().map(|(i, _)| *i).collect();
            match gen_services.get(plan.name()) {
                Some(Value::Mapping(g)) => merge_client(service, g, &mounts),
                _ => {
                    // No client side generated (a preset without a compose hint): the network.
                    let mut g = Mapping::new();
                    g.insert(key("networks"), Value::Sequence(vec![key(&network)]));
                    merge_client(service, &g, &mounts);
                }
            }
            if let Some(mode) = &plan.found.network_mode {
                match mode.strip_prefix("service:") {
                    Some(shared) => {
                        shared_namespaces.push((plan.found.service.clone(), shared.to_string()))
                    }
                    None => {
                        let must = format!(
                            "You must change: service `{}` has `network_mode: {mode}`, so it cannot join network `{network}` and cannot reach the proxy; give it a network, or run it with `network_mode: service:NAME` of a service on `{network}`.",
                            plan.found.service
                        );
                        notices.push(Notice::warning(must.clone()));
                        notes.push(must);
                    }
                }
            }
        }
        // A client in another service's network namespace reaches the proxy through that
        // service's networks: that service joins the proxy's network.
        for (client, shared) in shared_namespaces {
            let note = match services.get_mut(shared.as_str()) {
                Some(Value::Mapping(s)) if !s.contains_key("network_mode") => {
                    add_network(s, &network);
                    format!("It has `network_mode: service:{shared}` (no `networks:` of its own): service `{shared}` joins network `{network}` so that it reaches the proxy.")
                }
                _ => {
                    let must = format!("You must change: service `{client}` has `network_mode: service:{shared}`, and `{shared}` cannot be given network `{network}` here; attach it by hand or the client cannot reach the proxy.");
                    notices.push(Notice::warning(must.clone()));
                    must
                }
            };
            client_notes.entry(client).or_default().push(note);
        }
        merge_top(&mut doc, &generated, "networks");
        merge_top(&mut doc, &generated, "volumes");
        report.push_str(&proxy_report(
            catalog,
            proxy,
            &plans,
            &policy,
            &config_name,
            &kept_settings,
            &client_notes,
        )?);
        if plans.is_empty() {
            notices.push(Notice::warning(format!(
                "{}: no client found (no service reaches tcp://{}:{} or depends on it); the new proxy has one frontend with the old flags, traps fixed",
                proxy.service, proxy.service, proxy.port
            )));
        }
        notices.extend(policy.notices.iter().cloned());
    }
    let mut compose_text = format!(
        "# Migrated by sockproxy-gen {} from {file_name} (`sockproxy-gen migrate`; MIGRATION.md says what changed).\n# Re-written from its parsed form: comments are dropped, anchors, aliases and `<<:` merge keys are expanded in place,\n# every string is double-quoted; key order may change where `<<:` merged or migrate added keys. Compare with the original for comments.\n",
        crate::VERSION
    );
    compose_text.push_str(&emit(&Value::Mapping(doc)));
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
    kept_settings: &[String],
    client_notes: &BTreeMap<String, Vec<String>>,
) -> Result<String> {
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
    if !kept_settings.is_empty() {
        r.push_str(&format!(
            "\nThe old service's other settings: {}.\n",
            kept_settings.join("; ")
        ));
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
        let port = render::client_port(render::DEFAULT_PORT, index, &client.name)?;
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
        for note in client_notes.get(service).into_iter().flatten() {
            r.push_str(&format!("\n{note}\n"));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_socket_mounts_leave_no_empty_list() {
        let mut service: Mapping = serde_norway::from_str(
            "volumes: [\"${S:-/var/run/docker.sock}:/var/run/docker.sock\", \"./d:/d\"]\nnetwork_mode: host\n",
        )
        .unwrap();
        let generated: Mapping = serde_norway::from_str("networks: [sockproxy]\n").unwrap();
        merge_client(&mut service, &generated, &[0]);
        assert_eq!(service["volumes"], Value::Sequence(vec![key("./d:/d")]));
        assert!(!service.contains_key("networks"), "{service:?}");
        merge_client(&mut service, &Mapping::new(), &[0]);
        assert!(!service.contains_key("volumes"), "{service:?}");
    }

    #[test]
    fn the_emitter_keeps_every_value() {
        let text = "a:\n  b: \"yes\"\n  c: [\"22:22\", 1, true, null, {d: \"on\", e: []}]\n  f: {}\n  \"g h\": [[x, y]]\n  'on': 1\n  i:\n";
        let v: Value = serde_norway::from_str(text).unwrap();
        let out = emit(&v);
        let back: Value = serde_norway::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_eq!(back, v, "{out}");
        assert!(
            out.contains("b: \"yes\"") && out.contains("- \"22:22\""),
            "{out}"
        );
        assert!(out.contains("\"on\": 1"), "{out}");
    }
}
