//! The compose service that runs the proxy as non-root, and the client side of each preset.

use std::path::PathBuf;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::policy::{Policy, PolicyInputs};
use crate::render::DEFAULT_HEALTH;

const TEMPLATE: &str = include_str!("../templates/compose.yaml.j2");

/// The HAProxy image: the official alpine image (busybox wget for the health check), on the
/// LTS line the render targets and Tecnativa ships.
pub const DEFAULT_IMAGE: &str = "haproxy:3.2-alpine";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeOptions {
    /// The proxy's service name; clients reach it as `tcp://SERVICE:PORT`.
    pub service: String,
    pub image: String,
    /// haproxy.cfg on the host, as the compose file refers to it.
    pub config: PathBuf,
    /// The Docker socket on the host.
    pub socket: PathBuf,
    /// Port of the first client (matching `render --port`).
    pub port: u16,
    /// Publish the client ports on the host's loopback.
    pub publish: bool,
    /// A Swarm stack (`deploy:`, overlay network).
    pub swarm: bool,
    pub network: String,
}

#[derive(Serialize)]
struct ClientView {
    name: String,
    port: u16,
    image: Option<String>,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    note: Option<String>,
}

#[derive(Serialize)]
struct ComposeView {
    version: &'static str,
    render_command: String,
    service: String,
    image: String,
    config: String,
    socket: String,
    network: String,
    health: &'static str,
    publish: bool,
    swarm: bool,
    manager: bool,
    manager_routes: String,
    clients: Vec<ClientView>,
}

/// The `render` command that writes the haproxy.cfg this compose file mounts.
fn render_command(inputs: &PolicyInputs, options: &ComposeOptions) -> String {
    let mut words = vec!["sockproxy-gen".to_string(), "render".to_string()];
    for p in &inputs.presets {
        words.push(format!("--preset {p}"));
    }
    for p in &inputs.preset_files {
        words.push(format!("--preset-file {}", p.display()));
    }
    for p in &inputs.env_files {
        words.push(format!("--env-file {}", p.display()));
    }
    for f in &inputs.flags {
        words.push(format!("--flag {f}"));
    }
    if inputs.merge {
        words.push("--merge".into());
    }
    if options.port != crate::render::DEFAULT_PORT {
        words.push(format!("--port {}", options.port));
    }
    words.push(format!("-o {}", options.config.display()));
    words.join(" ")
}

fn yaml_word(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} `{value}` may only contain letters, digits and - _ . / : @"
        )))
    }
}

pub fn compose(
    catalog: &Catalog,
    policy: &Policy,
    inputs: &PolicyInputs,
    options: &ComposeOptions,
) -> Result<String> {
    yaml_word("--service", &options.service)?;
    yaml_word("--image", &options.image)?;
    yaml_word("--network", &options.network)?;
    yaml_word("--config", &options.config.to_string_lossy())?;
    yaml_word("--socket", &options.socket.to_string_lossy())?;
    if options.publish && options.swarm {
        return Err(Error::Invalid(
            "--publish with --swarm: Swarm publishes through its ingress on every interface, not on loopback; attach the clients to the overlay network instead".into(),
        ));
    }
    // The ports the rendered config listens on, with the default health frontend it mounts.
    let names: Vec<&str> = policy.clients.iter().map(|c| c.name.as_str()).collect();
    crate::render::check_listeners(
        &crate::render::RenderOptions {
            port: options.port,
            ..Default::default()
        },
        &names,
    )?;
    let mut clients = Vec::new();
    for (index, client) in policy.clients.iter().enumerate() {
        let port = crate::render::client_port(options.port, index, &client.name)?;
        let proxy = format!("{}:{port}", options.service);
        let fill = |s: &str| {
            s.replace("{proxy}", &proxy)
                .replace("{service}", &options.service)
                .replace("{port}", &port.to_string())
        };
        let hint = client.compose.as_ref();
        let mut environment: Vec<(String, String)> = Vec::new();
        if hint.is_some_and(|h| h.docker_host) {
            environment.push(("DOCKER_HOST".into(), format!("tcp://{proxy}")));
        }
        if let Some(h) = hint {
            environment.extend(h.environment.iter().map(|(k, v)| (k.clone(), fill(v))));
        }
        clients.push(ClientView {
            name: client.name.clone(),
            port,
            image: hint.map(|h| h.image.clone()),
            command: hint.map_or_else(Vec::new, |h| h.command.iter().map(|a| fill(a)).collect()),
            environment,
            note: hint.and_then(|h| h.note.as_deref().map(fill)),
        });
    }
    let mut manager_routes: Vec<String> = policy
        .clients
        .iter()
        .flat_map(|c| c.grants.iter())
        .map(|g| catalog.get(g.route))
        .filter(|r| r.group == "swarm")
        .map(|r| r.display())
        .collect();
    manager_routes.sort();
    manager_routes.dedup();
    let view = ComposeView {
        version: crate::VERSION,
        render_command: render_command(inputs, options),
        service: options.service.clone(),
        image: options.image.clone(),
        config: options.config.to_string_lossy().into(),
        socket: options.socket.to_string_lossy().into(),
        network: options.network.clone(),
        health: DEFAULT_HEALTH,
        publish: options.publish,
        swarm: options.swarm,
        manager: !manager_routes.is_empty(),
        manager_routes: manager_routes.join(", "),
        clients,
    };
    Ok(crate::template::render("compose.yaml", TEMPLATE, &view))
}
