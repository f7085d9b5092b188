//! Lint of compose files and `.env` files: socket mounts, the proxy service's user, ports and
//! socket mount, and Tecnativa-style flags (boolean traps, misspellings, POST, ALLOW_*).
//!
//! YAML values carry no positions once parsed, so each finding is placed on the first line
//! after the service's own line that holds the offending text.

use std::path::Path;

use serde_norway::Value;

use super::{Code, FileKind, FileReport, Finding, LintOptions};
use crate::catalog::Catalog;
use crate::error::{Error, Location, Result};
use crate::flags::{self, FlagValue};
use crate::suggest;

/// Images and names that identify a socket proxy service.
fn is_proxy(name: &str, image: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let i = image.to_ascii_lowercase();
    [
        "socket-proxy",
        "sockproxy",
        "socketproxy",
        "dockerproxy",
        "docker-proxy",
    ]
    .iter()
    .any(|k| n.contains(k) || i.contains(k))
        || i.starts_with("haproxy")
        || i.contains("/haproxy")
}

fn is_tecnativa(image: &str) -> bool {
    image.to_ascii_lowercase().contains("docker-socket-proxy")
}

/// The first line at or after `from` (1-based) containing `needle`, else `from`.
fn line_of(text: &str, from: usize, needle: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map_or(from, |(i, _)| i + 1)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Mapping(m) => {
                    // Long volume/port syntax: source:target / published:target.
                    let get = |k: &str| m.get(Value::String(k.into())).and_then(scalar);
                    match (get("source").or(get("published")), get("target")) {
                        (Some(s), Some(t)) => Some(format!(
                            "{s}:{t}{}",
                            if m.get(Value::String("read_only".into())) == Some(&Value::Bool(true))
                            {
                                ":ro"
                            } else {
                                ""
                            }
                        )),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `environment:` as a list of KEY=VAL or a mapping.
fn environment(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s, String::new()),
            })
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v).unwrap_or_default())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Flag checks shared by compose `environment:` and `.env` files. `line` places each finding.
fn flag_findings(
    path: &Path,
    vars: &[(String, String)],
    line: &dyn Fn(&str) -> usize,
    tecnativa_image: bool,
    options: &LintOptions,
    findings: &mut Vec<Finding>,
) {
    let catalog = Catalog::builtin();
    let known = flags::known_names(catalog);
    let mut flag_values = Vec::new();
    for (name, value) in vars {
        if known.contains(name) {
            let v = value.trim().trim_matches('"').to_ascii_lowercase();
            if matches!(v.as_str(), "true" | "yes" | "on") {
                findings.push(Finding::new(
                    Code::BooleanTrap,
                    path,
                    line(name),
                    format!("{name}={value}: the Tecnativa image reads `{value}` as 0 (off); write {name}=1"),
                ));
            } else if !["LOG_LEVEL", "SOCKET_PATH"].contains(&name.as_str()) {
                flag_values.push(FlagValue {
                    name: name.clone(),
                    value: v,
                    location: None,
                });
            }
            continue;
        }
        let looks_like_flag = name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
        if looks_like_flag {
            if let Some(s) = suggest::closest(name, known.iter().map(String::as_str)) {
                findings.push(Finding::new(
                    Code::MisspeltFlag,
                    path,
                    line(name),
                    format!("`{name}` is no flag the proxy reads, so it is ignored; did you mean `{s}`?"),
                ));
            }
        }
    }
    let on = |n: &str| {
        flag_values
            .iter()
            .any(|f| f.name == n && f.value != "0" && !f.value.is_empty())
    };
    if on("POST") && tecnativa_image {
        findings.push(Finding::new(
            Code::PostOpensAllMethods,
            path,
            line("POST"),
            "POST=1 lifts the method gate: DELETE and PUT pass too, on every section that is on"
                .to_string(),
        ));
    }
    if tecnativa_image && !on("POST") {
        for a in ["ALLOW_START", "ALLOW_STOP", "ALLOW_RESTARTS"] {
            if on(a) {
                findings.push(Finding::new(
                    Code::AllowWithoutPost,
                    path,
                    line(a),
                    format!("{a}=1 does nothing while POST=0: the image's method gate denies every POST first"),
                ));
            }
        }
    }
    if let (Some((preset, _)), false) = (&options.preset_baseline, flag_values.is_empty()) {
        if let Ok(fp) = flags::policy_from_flags(catalog, &flag_values) {
            let granted = preset.granted();
            let extra: Vec<String> = fp
                .client
                .grants
                .iter()
                .filter(|g| !granted.contains(&g.route))
                .map(|g| catalog.get(g.route).display())
                .collect();
            if !extra.is_empty() {
                let first = flag_values
                    .first()
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                findings.push(Finding::new(
                    Code::FlagsBroaderThanPreset,
                    path,
                    line(&first),
                    format!(
                        "these flags open {} route(s) that preset {} does not grant (even read the way sockproxy-gen reads them): {}",
                        extra.len(),
                        options.presets.join(", "),
                        extra.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
                            + &if extra.len() > 8 { format!(" (+{} more)", extra.len() - 8) } else { String::new() }
                    ),
                ));
            }
        }
    }
}

/// A compose file as YAML; a syntax error names the file, line and column.
fn parse_yaml(path: &Path, text: &str) -> Result<Value> {
    serde_norway::from_str(text).map_err(|e| Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line: e.location().map_or(1, |l| l.line()),
            column: e.location().map(|l| l.column()),
        },
        message: format!("not valid YAML: {e}"),
    })
}

pub fn lint_compose(path: &Path, text: &str, options: &LintOptions) -> Result<FileReport> {
    let doc = parse_yaml(path, text)?;
    let mut findings = Vec::new();
    let services = doc
        .get("services")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    for (name, service) in &services {
        let name = scalar(name).unwrap_or_default();
        let start = text
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{name}:")))
            .map_or(1, |i| i + 1);
        let at = |needle: &str| line_of(text, start, needle);
        let image = service.get("image").and_then(scalar).unwrap_or_default();
        let proxy = is_proxy(&name, &image);
        let volumes = strings(service.get("volumes"));
        for v in volumes.iter().filter(|v| v.contains("docker.sock")) {
            let host = v.split(':').next().unwrap_or("");
            if !proxy && host.contains("docker.sock") {
                findings.push(Finding::new(
                    Code::SocketMount,
                    path,
                    at("docker.sock"),
                    format!("service `{name}` mounts the Docker socket ({v}): that is root on the host; point it at the socket proxy (DOCKER_HOST=tcp://sockproxy:2375) instead"),
                ));
            } else if proxy
                && !v
                    .split(':')
                    .skip(2)
                    .any(|o| o.split(',').any(|f| f == "ro"))
            {
                findings.push(Finding::new(
                    Code::SocketWritable,
                    path,
                    at("docker.sock"),
                    format!("service `{name}` mounts the socket without `:ro` ({v})"),
                ));
            }
        }
        if !proxy {
            continue;
        }
        for p in strings(service.get("ports")) {
            let parts: Vec<&str> = p.split(':').collect();
            let loopback = parts.len() == 3 && (parts[0] == "127.0.0.1" || parts[0] == "[::1]");
            if p.contains("2375") && !loopback {
                findings.push(Finding::new(
                    Code::PublishedPort,
                    path,
                    at("2375"),
                    format!("service `{name}` publishes the API port ({p}) on every host interface; use 127.0.0.1:2375:2375, or no ports and an internal network"),
                ));
            }
        }
        if service.get("privileged") == Some(&Value::Bool(true)) {
            findings.push(Finding::new(
                Code::RootProxy,
                path,
                at("privileged"),
                format!(
                    "service `{name}` runs privileged: the proxy needs only the socket's group"
                ),
            ));
        }
        let user = service.get("user").and_then(scalar);
        match user.as_deref() {
            Some(u) if u == "root" || u == "0" || u.starts_with("root:") || u.starts_with("0:") => {
                findings.push(Finding::new(
                    Code::RootProxy,
                    path,
                    at("user:"),
                    format!("service `{name}` runs as `{u}`; use `haproxy:${{PGID_DOCKER_SOCKET}}`"),
                ));
            }
            Some(u) if !u.contains(':') => findings.push(Finding::new(
                Code::NoGroupOverride,
                path,
                at("user:"),
                format!("service `{name}` runs as `{u}` without the socket's group; use `{u}:${{PGID_DOCKER_SOCKET}}`"),
            )),
            Some(_) => {}
            None if is_tecnativa(&image) => findings.push(Finding::new(
                Code::RootProxy,
                path,
                start,
                format!("service `{name}` ({image}) runs as root, as the image does by default; run HAProxy as `haproxy:${{PGID_DOCKER_SOCKET}}` (sockproxy-gen compose)"),
            )),
            None => findings.push(Finding::new(
                Code::NoGroupOverride,
                path,
                start,
                format!("service `{name}` sets no `user:`; HAProxy's own user cannot open a root:docker 0660 socket without `user: \"haproxy:${{PGID_DOCKER_SOCKET}}\"`"),
            )),
        }
        let env = environment(service.get("environment"));
        flag_findings(
            path,
            &env,
            &|n| at(n),
            is_tecnativa(&image),
            options,
            &mut findings,
        );
    }
    Ok(FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Compose,
        baseline: (!options.presets.is_empty())
            .then(|| format!("preset {}", options.presets.join(", "))),
        findings,
        matrices: Vec::new(),
        baseline_text: None,
        source: text.to_string(),
    })
}

pub fn lint_env(path: &Path, text: &str, options: &LintOptions) -> Result<FileReport> {
    // Read as Compose reads it (the winning assignment of each key, at its line), interpolated
    // from lint's environment (--env, --env-file, the compose service's).
    let env = crate::dotenv::parse_lenient(text, path, &|k| options.env.get(k).cloned())?;
    let vars: Vec<(String, String)> = env
        .effective()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let lines: std::collections::HashMap<&str, usize> =
        env.effective().map(|e| (e.key.as_str(), e.line)).collect();
    let mut findings = Vec::new();
    // A .env feeds a compose file; which image reads it is unknown, so Tecnativa's traps count.
    flag_findings(
        path,
        &vars,
        &|n| lines.get(n).copied().unwrap_or(1),
        true,
        options,
        &mut findings,
    );
    Ok(FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Env,
        baseline: None,
        findings,
        matrices: Vec::new(),
        baseline_text: None,
        source: text.to_string(),
    })
}

/// The environment of the socket proxy service in a compose file, for linting its haproxy.cfg.
pub fn proxy_environment(path: &Path, text: &str) -> Result<Vec<(String, String)>> {
    let doc = parse_yaml(path, text)?;
    let services = doc.get("services").and_then(Value::as_mapping);
    for (name, service) in services.into_iter().flatten() {
        let image = service.get("image").and_then(scalar).unwrap_or_default();
        if is_proxy(&scalar(name).unwrap_or_default(), &image) {
            return Ok(environment(service.get("environment")));
        }
    }
    Err(Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line: 1,
            column: None,
        },
        message: "no socket proxy service found (an image or name with socket-proxy, sockproxy or haproxy)".into(),
    })
}
