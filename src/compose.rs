//! The compose service that runs the proxy as non-root, and the client side of each preset.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::policy::{Policy, PolicyInputs};
use crate::render::{Isolation, DEFAULT_HEALTH};
use crate::socket::{GID_KEY, SOCKET_PATH_KEY};

const TEMPLATE: &str = include_str!("../templates/compose.yaml.j2");

/// The HAProxy image: the official alpine image (busybox wget for the health check), on the
/// LTS line the render targets and Tecnativa ships.
pub const DEFAULT_IMAGE: &str = "haproxy:3.2-alpine";

/// Where `compose` expects the rendered config: in a directory of its own, which the proxy
/// mounts (a file bind mount keeps the inode it started with, and `render -o` replaces the file).
pub const DEFAULT_CONFIG: &str = "./sockproxy/haproxy.cfg";
/// The directory the image reads its config from.
pub const IMAGE_CONFIG_DIR: &str = "/usr/local/etc/haproxy";
/// The uid of the image's `haproxy` user (the official image's): it owns the socket volumes.
pub const PROXY_UID: u32 = 99;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeOptions {
    /// The proxy's service name; TCP clients reach it as `tcp://SERVICE:PORT`.
    pub service: String,
    pub image: String,
    /// haproxy.cfg on the host, as the compose file refers to it.
    pub config: PathBuf,
    /// The Docker socket on the host; `None`: `DOCKER_SOCKET_PATH` from .env (what `env`
    /// found), else the standard path.
    pub socket: Option<PathBuf>,
    /// Port of the first client (matching `render --port`).
    pub port: u16,
    /// Publish the TCP clients' ports on the host's loopback.
    pub publish: bool,
    /// A Swarm stack (`deploy:`, overlay network).
    pub swarm: bool,
    pub network: String,
    /// Which clients get their own socket (as given to `render`).
    pub isolation: Isolation,
    /// `--client-maxconn`, passed on to the render command.
    pub client_maxconn: u32,
}

#[derive(Serialize)]
struct ClientView {
    name: String,
    port: u16,
    image: Option<String>,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    note: Option<String>,
    /// On its own socket: the volume, where the client mounts it, and the socket it sees.
    isolated: bool,
    volume: String,
    mount_dir: String,
    proxy_dir: String,
    socket: String,
    /// Swarm: the client calls the Swarm API, so it runs on a manager.
    manager: bool,
}

#[derive(Serialize)]
struct ComposeView {
    version: &'static str,
    render_command: String,
    service: String,
    image: String,
    config_dir: String,
    config_dir_inside: &'static str,
    /// `haproxy -f` when the file is not called haproxy.cfg.
    config_file: Option<String>,
    socket: String,
    socket_variable: &'static str,
    gid_variable: &'static str,
    network: String,
    health: &'static str,
    publish: bool,
    swarm: bool,
    /// The proxy's placement in a stack: `global`, `global-managers` or `manager`.
    placement: &'static str,
    manager_routes: String,
    /// Every client is on a socket: the proxy needs no network at all.
    no_network: bool,
    tcp_clients: bool,
    isolated_clients: bool,
    proxy_uid: u32,
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
    if options.isolation.isolate {
        words.push("--isolate".into());
    }
    if options.isolation.tcp {
        words.push("--tcp".into());
    }
    for c in &options.isolation.tcp_clients {
        words.push(format!("--tcp-client {c}"));
    }
    if options.client_maxconn != crate::render::DEFAULT_CLIENT_MAXCONN {
        words.push(format!("--client-maxconn {}", options.client_maxconn));
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

/// The directory the proxy mounts, and the config's file name in it.
fn config_place(config: &Path) -> Result<(String, String)> {
    let file = config
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "--config {}: give the haproxy.cfg file, e.g. {DEFAULT_CONFIG}",
                config.display()
            ))
        })?;
    let dir = config.parent().map(|d| d.to_string_lossy().into_owned());
    match dir.as_deref() {
        None | Some("") | Some(".") => Err(Error::Invalid(format!(
            "--config {}: the proxy mounts the config's directory (a mounted file keeps its old content after `render -o` replaces it, so a reload would apply the old policy), and this one is the compose project's own directory, with .env in it; put the config in a directory of its own, e.g. {DEFAULT_CONFIG}",
            config.display()
        ))),
        Some(d) if !d.starts_with('/') && !d.starts_with('.') => Ok((format!("./{d}"), file)),
        Some(d) => Ok((d.to_string(), file)),
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
    if let Some(socket) = &options.socket {
        yaml_word("--socket", &socket.to_string_lossy())?;
    }
    let (config_dir, config_file) = config_place(&options.config)?;
    if options.publish && options.swarm {
        return Err(Error::Invalid(
            "--publish with --swarm: Swarm publishes through its ingress on every interface, not on loopback; put the clients on sockets (the default with several clients) or attach them to the overlay network instead".into(),
        ));
    }
    let names: Vec<&str> = policy.clients.iter().map(|c| c.name.as_str()).collect();
    if let Some(clash) = policy
        .clients
        .iter()
        .find(|c| c.name == options.service && c.compose.is_some())
    {
        return Err(Error::Invalid(format!(
            "--service {}: client {} gets a service of that name in the same file (one YAML key for two services); give the proxy another name, e.g. --service sockproxy",
            options.service, clash.name
        )));
    }
    let isolated = crate::render::isolated_clients(&names, &options.isolation)?;
    if options.publish && isolated.len() == names.len() {
        return Err(Error::Invalid(
            "--publish publishes TCP listeners, but every client is on its own socket (isolation, the default with several clients): name the clients that need a port with --tcp-client NAME, or use --tcp".into(),
        ));
    }
    // The listeners the rendered config has, with the default health frontend it mounts.
    let render_options = crate::render::RenderOptions {
        port: options.port,
        isolated: isolated.clone(),
        client_maxconn: options.client_maxconn,
        ..Default::default()
    };
    crate::render::check_listeners(&render_options, &names)?;
    crate::render::global_maxconn(&render_options, names.len())?;
    let mut clients = Vec::new();
    for (index, client) in policy.clients.iter().enumerate() {
        let port = crate::render::client_port(options.port, index, &client.name)?;
        let on_socket = isolated.contains(&client.name);
        let socket = crate::render::client_socket_path(client);
        let proxy = format!("{}:{port}", options.service);
        let endpoint = if on_socket {
            format!("unix://{socket}")
        } else {
            format!("tcp://{proxy}")
        };
        let fill = |s: &str| {
            s.replace("tcp://{proxy}", &endpoint)
                .replace("{proxy}", &proxy)
                .replace("{service}", &options.service)
                .replace("{port}", &port.to_string())
                .replace("{socket}", &socket)
        };
        let hint = client.compose.as_ref();
        let mut environment: Vec<(String, String)> = Vec::new();
        if hint.is_some_and(|h| h.docker_host) {
            environment.push(("DOCKER_HOST".into(), endpoint.clone()));
        }
        if let Some(h) = hint {
            environment.extend(h.environment.iter().map(|(k, v)| (k.clone(), fill(v))));
        }
        let note = hint.and_then(|h| {
            let text = if on_socket {
                h.socket_note.as_deref().or(h.note.as_deref())
            } else {
                h.note.as_deref()
            };
            text.map(fill)
        });
        let mount_dir = match socket.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((dir, _)) => dir.to_string(),
        };
        let manager = client
            .grants
            .iter()
            .any(|g| catalog.get(g.route).group == "swarm");
        clients.push(ClientView {
            name: client.name.clone(),
            port,
            image: hint.map(|h| h.image.clone()),
            command: hint.map_or_else(Vec::new, |h| h.command.iter().map(|a| fill(a)).collect()),
            environment,
            note,
            isolated: on_socket,
            volume: format!("{}-{}", options.service, client.name),
            mount_dir,
            proxy_dir: format!("{}/{}", crate::render::ISOLATION_DIR, client.name),
            socket,
            manager,
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
    let isolated_clients = clients.iter().any(|c| c.isolated);
    let tcp_clients = clients.iter().any(|c| !c.isolated);
    let placement = if !isolated_clients {
        // One proxy for TCP clients: where the Swarm API is, or one per node.
        if manager_routes.is_empty() {
            "global"
        } else {
            "manager"
        }
    } else if clients.iter().all(|c| c.manager) {
        // Sockets are node-local: a proxy on every node where one of its clients may run.
        "global-managers"
    } else {
        "global"
    };
    let view = ComposeView {
        version: crate::VERSION,
        render_command: render_command(inputs, options),
        service: options.service.clone(),
        image: options.image.clone(),
        config_dir,
        config_dir_inside: IMAGE_CONFIG_DIR,
        config_file: (config_file != "haproxy.cfg").then_some(config_file),
        socket: options.socket.as_ref().map_or_else(
            || format!("${{{SOCKET_PATH_KEY}:-{}}}", crate::render::DEFAULT_SOCKET),
            |s| s.to_string_lossy().into_owned(),
        ),
        socket_variable: SOCKET_PATH_KEY,
        gid_variable: GID_KEY,
        network: options.network.clone(),
        health: DEFAULT_HEALTH,
        publish: options.publish,
        swarm: options.swarm,
        placement,
        manager_routes: manager_routes.join(", "),
        no_network: !tcp_clients && !options.swarm,
        tcp_clients,
        isolated_clients,
        proxy_uid: PROXY_UID,
        clients,
    };
    Ok(crate::template::render("compose.yaml", TEMPLATE, &view))
}
