//! Render a [`Policy`] as haproxy.cfg (templates/haproxy.cfg.j2).
//!
//! The template holds the config's shape; this module decides what goes in it: which rules, in
//! which order, matched how. The guarantees are listed in docs/design.md section 3.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Route};
use crate::error::{Error, Result};
use crate::policy::{ClientPolicy, Notice, Policy, PolicyInputs};

const TEMPLATE: &str = include_str!("../templates/haproxy.cfg.j2");

/// Default Docker API port.
pub const DEFAULT_PORT: u16 = 2375;
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_HEALTH: &str = "127.0.0.1:8404";

/// Where each client frontend listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Listen {
    /// All interfaces, IPv4 and IPv6 (`:::PORT v4v6`).
    All,
    /// All IPv4 interfaces only (for hosts without IPv6).
    Ipv4,
    /// One address (IPv4 or IPv6).
    Address { address: String },
    /// A unix socket; `{client}` in the path is replaced by each client's name.
    Unix { path: PathBuf },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderOptions {
    pub listen: Listen,
    /// Port of the first client; each further client gets the next port.
    pub port: u16,
    /// The Docker socket as HAProxy sees it.
    pub socket: PathBuf,
    pub log_format: LogFormat,
    /// `ADDR:PORT` of the health frontend.
    pub health: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            listen: Listen::All,
            port: DEFAULT_PORT,
            socket: PathBuf::from(DEFAULT_SOCKET),
            log_format: LogFormat::Text,
            health: DEFAULT_HEALTH.to_string(),
        }
    }
}

/// Everything a rendered file depends on; written into its header so it can be re-rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderInputs {
    pub policy: PolicyInputs,
    pub options: RenderOptions,
}

#[derive(Serialize)]
struct RuleView {
    token: String,
    method: &'static str,
    /// `str` for literal paths, `reg` for templates with placeholders.
    r#match: &'static str,
    pattern: String,
}

#[derive(Serialize)]
struct GrantView {
    display: String,
    reason: String,
}

#[derive(Serialize)]
struct ClientView {
    name: String,
    description: String,
    listen: String,
    binds: Vec<String>,
    grants: Vec<GrantView>,
    rules: Vec<RuleView>,
    hijack_tokens: Vec<String>,
    stream_tokens: Vec<String>,
    /// How to allow a denied route on purpose, for this client's source.
    widen_hint: String,
    /// `learn` or `would-deny`: requests outside the grants are forwarded with this token.
    observe: Option<&'static str>,
    /// Rules for every route the daemon routes, after the grants (learn and report-only).
    observe_rules: Vec<RuleView>,
}

#[derive(Serialize)]
struct ConfigView<'a> {
    version: &'a str,
    inputs_json: String,
    clients: Vec<ClientView>,
    notices: &'a [Notice],
    log_format: LogFormat,
    health: &'a str,
    socket: String,
}

fn allow_token(route: &Route) -> String {
    format!("allow:{}", route.token())
}

/// The rules of one client: its grants, each preceded by a deny for every earlier-registered
/// route that the daemon would pick for some of the same paths (`DELETE /containers/{name:.*}`
/// also matches `/containers/x/checkpoints/y`, which the checkpoint handler takes first).
fn rules_for(catalog: &Catalog, client: &ClientPolicy) -> Vec<RuleView> {
    let shadow_prefix = match client.mode.observe_prefix() {
        Some(prefix) => format!("{prefix}:"),
        None => "deny:shadowed-by:".to_string(),
    };
    let mut ids: Vec<(usize, bool)> = Vec::new(); // (route index, granted)
    for grant in &client.grants {
        let route = catalog.get(grant.route);
        ids.push((route.id.0, true));
        for shadow in catalog.shadowing(route) {
            if !client.allows(shadow.id) {
                ids.push((shadow.id.0, false));
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|(index, granted)| {
            let route = &catalog.routes()[index];
            let token = if granted {
                allow_token(route)
            } else {
                format!("{shadow_prefix}{}", route.token())
            };
            rule_view(route, token)
        })
        .collect()
}

fn rule_view(route: &Route, token: String) -> RuleView {
    let (r#match, pattern) = match route.literal_path() {
        Some(p) => ("str", p),
        None => ("reg", route.path_regex()),
    };
    RuleView {
        token,
        method: route.method.as_str(),
        r#match,
        pattern,
    }
}

/// Learn and report-only frontends: after the grants, one rule per catalog route in
/// registration order, so the first match is the daemon's own choice of handler. The routes
/// the grants already decided are left out (their rules came first).
fn observe_rules(catalog: &Catalog, client: &ClientPolicy, prefix: &str) -> Vec<RuleView> {
    catalog
        .routes()
        .iter()
        .filter(|r| !client.allows(r.id))
        .map(|r| rule_view(r, format!("{prefix}:{}", r.token())))
        .collect()
}

/// The tokens (granted, or observed in learn and report-only frontends) of routes with a trait.
fn tokens_where(
    catalog: &Catalog,
    client: &ClientPolicy,
    has: impl Fn(&crate::catalog::Traits) -> bool,
) -> Vec<String> {
    let mut tokens: Vec<String> = client
        .grants
        .iter()
        .map(|g| catalog.get(g.route))
        .filter(|r| has(&r.traits))
        .map(allow_token)
        .collect();
    if let Some(prefix) = client.mode.observe_prefix() {
        tokens.extend(
            catalog
                .routes()
                .iter()
                .filter(|r| has(&r.traits) && !r.traits.h2c && !client.allows(r.id))
                .map(|r| format!("{prefix}:{}", r.token())),
        );
    }
    tokens
}

fn check_path_word(what: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '#')
    {
        return Err(Error::Invalid(format!(
            "{what} `{value}` must be non-empty and contain no spaces, quotes or `#` (it is written into haproxy.cfg unquoted)"
        )));
    }
    Ok(())
}

/// What a TCP listener binds to, as far as the config can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BindAddress {
    /// Every interface, IPv4 and IPv6 (`:::PORT v4v6`, or `::`).
    Any,
    /// Every IPv4 interface (`0.0.0.0`).
    AnyIpv4,
    /// One address (an IPv4-mapped IPv6 address is its IPv4 address).
    Ip(std::net::IpAddr),
    /// A host name, resolved when HAProxy starts: it may be any address.
    Host(String),
}

impl BindAddress {
    /// An address as given to `--listen` or `--health`: an IP literal or a host name. HAProxy
    /// refuses anything else (`127.0.0.1:9999`, `999.1.1.1`, a zone id, `not_a_host!`).
    fn parse(text: &str) -> Option<BindAddress> {
        if let Ok(ip) = text.parse::<std::net::IpAddr>() {
            let ip = match ip {
                std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
                v4 => v4,
            };
            return Some(match ip {
                std::net::IpAddr::V4(v4) if v4.is_unspecified() => BindAddress::AnyIpv4,
                std::net::IpAddr::V6(v6) if v6.is_unspecified() => BindAddress::Any,
                ip => BindAddress::Ip(ip),
            });
        }
        let host_like = text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        // All digits and dots, but not an IPv4 address: `999.1.1.1`.
        let numeric = text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        (host_like && !numeric && text.len() <= 253).then(|| BindAddress::Host(text.to_string()))
    }

    /// Whether both can receive the same connection.
    fn overlaps(&self, other: &BindAddress) -> bool {
        use std::net::IpAddr;
        match (self, other) {
            (BindAddress::Any, _) | (_, BindAddress::Any) => true,
            (BindAddress::Host(_), _) | (_, BindAddress::Host(_)) => true,
            (BindAddress::AnyIpv4, BindAddress::AnyIpv4) => true,
            (BindAddress::AnyIpv4, BindAddress::Ip(ip))
            | (BindAddress::Ip(ip), BindAddress::AnyIpv4) => {
                matches!(ip, IpAddr::V4(_))
            }
            (BindAddress::Ip(a), BindAddress::Ip(b)) => a == b,
        }
    }
}

/// Splits `ADDR:PORT` (`[v6]:PORT` for IPv6) of the health frontend.
fn health_address(health: &str) -> Result<(BindAddress, u16)> {
    let bad = |why: &str| {
        Error::Invalid(format!(
            "--health {health}: {why}; give ADDR:PORT, for example {DEFAULT_HEALTH} or [::1]:8404"
        ))
    };
    let (address, port) = health
        .rsplit_once(':')
        .ok_or_else(|| bad("the port is missing"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad(&format!("`{port}` is not a port number")))?;
    if port == 0 {
        return Err(bad("port 0 would bind a random port"));
    }
    let address = match address.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .filter(|a| a.contains(':'))
            .ok_or_else(|| bad("an IPv6 address goes in one pair of brackets"))?,
        None if address.contains(':') => {
            return Err(bad("an IPv6 address needs brackets"));
        }
        None => address,
    };
    let parsed = BindAddress::parse(address).ok_or_else(|| {
        bad(&format!(
            "`{address}` is neither an IP address nor a host name"
        ))
    })?;
    Ok((parsed, port))
}

/// What one `bind` line listens on, for the check that no two of them overlap.
struct Listener {
    what: String,
    place: Place,
}

enum Place {
    Tcp(BindAddress, u16),
    Unix(String),
}

impl Listener {
    /// Whether both can receive the same connection: one path, or one port on addresses that
    /// overlap. HAProxy binds with SO_REUSEPORT, so an overlap starts without an error and the
    /// kernel hands each connection to either.
    fn overlaps(&self, other: &Listener) -> bool {
        match (&self.place, &other.place) {
            (Place::Unix(a), Place::Unix(b)) => a == b,
            (Place::Tcp(a, p), Place::Tcp(b, q)) => p == q && a.overlaps(b),
            _ => false,
        }
    }

    fn where_(&self) -> String {
        match &self.place {
            Place::Tcp(_, port) => format!("port {port}"),
            Place::Unix(path) => path.clone(),
        }
    }
}

/// Refuses options HAProxy would reject or that would misbehave, before anything is written:
/// port 0, a health address without a port, two listeners on one address and port (or one
/// path), and a unix listener on the Docker socket itself (binding would replace the socket).
pub fn check_listeners(options: &RenderOptions, clients: &[&str]) -> Result<()> {
    if options.port == 0 && !matches!(options.listen, Listen::Unix { .. }) {
        return Err(Error::Invalid(
            "--port 0 would bind a random port that no client knows; give a port from 1 to 65535"
                .into(),
        ));
    }
    let (health, health_port) = health_address(&options.health)?;
    let mut listeners = vec![Listener {
        what: format!("the health frontend (--health {})", options.health),
        place: Place::Tcp(health, health_port),
    }];
    for (index, client) in clients.iter().enumerate() {
        let port = client_port(options.port, index, client)?;
        let place = match &options.listen {
            Listen::All => Place::Tcp(BindAddress::Any, port),
            Listen::Ipv4 => Place::Tcp(BindAddress::AnyIpv4, port),
            Listen::Address { address } => {
                let parsed = BindAddress::parse(address).ok_or_else(|| {
                    Error::Invalid(format!(
                        "--listen {address}: give one IP address (127.0.0.1, ::1) or a host name, without a port (--port sets it)"
                    ))
                })?;
                Place::Tcp(parsed, port)
            }
            Listen::Unix { path } => {
                let path = path.to_string_lossy().replace("{client}", client);
                if std::path::Path::new(&path) == options.socket {
                    return Err(Error::Invalid(format!(
                        "--unix {path} is the Docker socket itself (--socket): HAProxy would replace the daemon's socket with its own; listen on another path"
                    )));
                }
                Place::Unix(path)
            }
        };
        listeners.push(Listener {
            what: match place {
                Place::Tcp(_, p) => format!("client {client} (port {p})"),
                Place::Unix(_) => format!("client {client}"),
            },
            place,
        });
    }
    for (i, a) in listeners.iter().enumerate() {
        if let Some(b) = listeners[..i].iter().find(|b| b.overlaps(a)) {
            return Err(Error::Invalid(format!(
                "{} and {} would both listen on {}: HAProxy starts anyway and the kernel hands each connection to either; move one of them to another port",
                b.what,
                a.what,
                a.where_()
            )));
        }
    }
    Ok(())
}

/// The port of the `index`-th client: clients get consecutive ports from `base` (render and
/// compose must agree on them).
pub fn client_port(base: u16, index: usize, client: &str) -> Result<u16> {
    u16::try_from(index)
        .ok()
        .and_then(|i| base.checked_add(i))
        .ok_or_else(|| Error::Invalid(format!("--port {base} leaves no port for client {client}")))
}

fn bind_lines(
    options: &RenderOptions,
    client: &str,
    index: usize,
    clients: usize,
) -> Result<(Vec<String>, String)> {
    let port = client_port(options.port, index, client)?;
    Ok(match &options.listen {
        Listen::All => (
            vec![format!("bind :::{port} v4v6")],
            format!("port {port} (IPv4 and IPv6)"),
        ),
        Listen::Ipv4 => (
            vec![format!("bind 0.0.0.0:{port}")],
            format!("port {port} (IPv4)"),
        ),
        Listen::Address { address } => {
            check_path_word("--listen", address)?;
            let bind = if address.contains(':') {
                format!("bind ipv6@{address}:{port}")
            } else {
                format!("bind {address}:{port}")
            };
            (vec![bind], format!("{address} port {port}"))
        }
        Listen::Unix { path } => {
            let path = path.to_string_lossy();
            if clients > 1 && !path.contains("{client}") {
                return Err(Error::Invalid(format!(
                    "--unix {path}: several clients need one socket each; put {{client}} in the path (e.g. /run/sockproxy/{{client}}.sock) or use --merge"
                )));
            }
            let path = path.replace("{client}", client);
            check_path_word("--unix", &path)?;
            (
                vec![format!("bind unix@{path} mode 660")],
                format!("unix socket {path}"),
            )
        }
    })
}

/// Renders haproxy.cfg text for `policy`.
pub fn render(catalog: &Catalog, policy: &Policy, inputs: &RenderInputs) -> Result<String> {
    let options = &inputs.options;
    let socket = options.socket.to_string_lossy().to_string();
    check_path_word("--socket", &socket)?;
    check_path_word("--health", &options.health)?;
    let mut clients = Vec::with_capacity(policy.clients.len());
    for (index, client) in policy.clients.iter().enumerate() {
        let (binds, listen) = bind_lines(options, &client.name, index, policy.clients.len())?;
        let observe = client.mode.observe_prefix();
        clients.push(ClientView {
            name: client.name.clone(),
            description: client.description.clone(),
            listen,
            binds,
            grants: client
                .grants
                .iter()
                .map(|g| GrantView {
                    display: catalog.get(g.route).display(),
                    reason: g.reason.clone(),
                })
                .collect(),
            rules: rules_for(catalog, client),
            hijack_tokens: tokens_where(catalog, client, |t| t.hijack),
            stream_tokens: tokens_where(catalog, client, |t| t.stream),
            widen_hint: client.origin.widen_hint(),
            observe,
            observe_rules: observe
                .map(|prefix| observe_rules(catalog, client, prefix))
                .unwrap_or_default(),
        });
    }
    // After the bind lines, whose own errors (a shared unix path without {client}) say more.
    let names: Vec<&str> = policy.clients.iter().map(|c| c.name.as_str()).collect();
    check_listeners(options, &names)?;
    let view = ConfigView {
        version: crate::VERSION,
        inputs_json: serde_json::to_string(inputs).expect("inputs serialise"),
        clients,
        notices: &policy.notices,
        log_format: options.log_format,
        health: &options.health,
        socket,
    };
    let text = crate::template::render("haproxy.cfg", TEMPLATE, &view);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        listen: Listen,
        port: u16,
        health: &str,
        clients: &[&str],
    ) -> std::result::Result<(), String> {
        let options = RenderOptions {
            listen,
            port,
            health: health.into(),
            ..RenderOptions::default()
        };
        check_listeners(&options, clients).map_err(|e| e.to_string())
    }

    fn at(address: &str) -> Listen {
        Listen::Address {
            address: address.into(),
        }
    }

    #[test]
    fn listeners_that_share_a_port_and_an_address_are_refused() {
        let one = &["traefik"];
        let overlapping = [
            (Listen::All, 8404, "127.0.0.1:8404"),
            (Listen::Ipv4, 8404, "127.0.0.1:8404"),
            (at("127.0.0.1"), 8404, "127.0.0.1:8404"),
            (at("::1"), 8404, "[::1]:8404"),
            (at("0:0:0:0:0:0:0:1"), 8404, "[::1]:8404"),
            (at("::ffff:127.0.0.1"), 8404, "127.0.0.1:8404"),
            (at("::"), 8404, "127.0.0.1:8404"),
            (at("0.0.0.0"), 8404, "127.0.0.2:8404"),
            (at("localhost"), 8404, "127.0.0.2:8404"),
        ];
        for (listen, port, health) in overlapping {
            let what = format!("{listen:?} {port} {health}");
            let err = check(listen, port, health, one).expect_err(&what);
            assert!(
                err.contains("would both listen on port 8404"),
                "{what}: {err}"
            );
        }
        let apart = [
            (at("127.0.0.2"), 8404, "127.0.0.1:8404"),
            (at("::1"), 8404, "127.0.0.1:8404"),
            (Listen::Ipv4, 9000, "[::1]:9000"),
            (Listen::All, 2375, "127.0.0.1:8404"),
        ];
        for (listen, port, health) in apart {
            let what = format!("{listen:?} {port} {health}");
            assert_eq!(check(listen, port, health, one), Ok(()), "{what}");
        }
        // Several clients take consecutive ports: the second one lands on the health port.
        let err = check(Listen::All, 8403, "127.0.0.1:8404", &["a", "b"]).unwrap_err();
        assert!(err.contains("client b (port 8404)"), "{err}");
        // Unix listeners: one path each, never the Docker socket.
        let unix = |p: &str| Listen::Unix { path: p.into() };
        assert!(check(unix("/run/{client}.sock"), 0, "127.0.0.1:8404", &["a", "b"]).is_ok());
        let err = check(unix("/var/run/docker.sock"), 0, "127.0.0.1:8404", one).unwrap_err();
        assert!(err.contains("the Docker socket itself"), "{err}");
    }

    #[test]
    fn addresses_haproxy_refuses_are_refused() {
        for bad in [
            "127.0.0.1:9999",
            "999.1.1.1",
            "fe80::1%eth0",
            "not_a_host!",
            "",
            "-x",
        ] {
            assert!(
                check(at(bad), 2375, DEFAULT_HEALTH, &["t"]).is_err(),
                "--listen {bad}"
            );
        }
        for bad in [
            "localhost",
            "x]:8404",
            "[::1]x:8404",
            "[[::1]]:8404",
            "é:8404",
            "::1:8404",
            "h:0",
            "h:x",
        ] {
            assert!(
                check(Listen::All, 2375, bad, &["t"]).is_err(),
                "--health {bad}"
            );
        }
        for good in ["127.0.0.1:8404", "[::1]:8404", "proxy.internal:8404"] {
            assert_eq!(
                check(Listen::All, 2375, good, &["t"]),
                Ok(()),
                "--health {good}"
            );
        }
    }
}
