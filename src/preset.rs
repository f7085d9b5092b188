//! Presets: the grants one client needs, read from its source (`presets/*.yaml`, embedded).

use std::path::Path;

use serde::Deserialize;

use crate::catalog::{shape_of, Catalog, Method, Route, RouteId};
use crate::error::{Error, Location, Result};
use crate::policy::ClientPolicy;
use crate::suggest;

macro_rules! builtin_presets {
    ($($name:literal),* $(,)?) => {
        /// Built-in presets: (name, YAML text). Embedded so the binary needs no files.
        pub const BUILTIN: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../presets/", $name, ".yaml")))),*
        ];
    };
}

builtin_presets!(
    "alloy",
    "autoheal",
    "crowdsec",
    "diun",
    "dozzle",
    "dozzle-actions",
    "glance",
    "glances",
    "homepage",
    "homepage-swarm",
    "netdata",
    "portainer-readonly",
    "prometheus",
    "prometheus-swarm",
    "traefik",
    "traefik-swarm",
    "uptime-kuma",
    "watchtower",
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetDoc {
    name: String,
    description: String,
    /// The client versions the grants were read from.
    #[serde(default)]
    clients: Vec<String>,
    /// Where the facts come from (file and section, upstream source files).
    #[serde(default)]
    source: Option<String>,
    grants: Vec<GrantDoc>,
    /// How the client is deployed next to the proxy (`sockproxy-gen compose`).
    #[serde(default)]
    compose: Option<ComposeHint>,
}

/// The client side of a compose file: its image and how it is pointed at the proxy. In the
/// strings, `{proxy}` is `service:port`, `{service}` the proxy's service name, `{port}` the port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeHint {
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    /// Extra environment (written sorted by name).
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
    /// Set DOCKER_HOST=tcp://{proxy} (false where the client takes a flag instead).
    #[serde(default = "yes")]
    pub docker_host: bool,
    /// Where else the client must be told about the proxy (its own config file or UI).
    #[serde(default)]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantDoc {
    /// `METHOD /path/{placeholder}/...`, as in the catalog; placeholder names are free.
    route: String,
    reason: String,
}

#[derive(Debug, Clone)]
pub struct PresetGrant {
    pub route: RouteId,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Preset {
    pub name: String,
    pub description: String,
    pub clients: Vec<String>,
    pub source: Option<String>,
    pub grants: Vec<PresetGrant>,
    pub compose: Option<ComposeHint>,
}

impl Preset {
    pub fn into_client(self, origin: crate::policy::ClientOrigin) -> ClientPolicy {
        let mut c = ClientPolicy::new(self.name, self.description, origin);
        c.compose = self.compose;
        for g in self.grants {
            c.grant(g.route, g.reason);
        }
        c
    }
}

pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(n, _)| *n)
}

pub fn load_builtin(catalog: &Catalog, name: &str) -> Result<Preset> {
    let (_, text) =
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::UnknownPreset {
                name: name.to_string(),
                suggestion: suggest::closest(name, builtin_names()),
            })?;
    parse(catalog, text, Path::new(&format!("presets/{name}.yaml")))
}

pub fn load_file(catalog: &Catalog, path: &Path) -> Result<Preset> {
    let text = crate::input::read_text(path, "the preset file", "")?;
    parse(catalog, &text, path)
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// One grant of a preset to write: the route, the reason, and whether it is marked dangerous.
pub struct GrantText<'a> {
    pub route: &'a Route,
    pub reason: String,
}

/// The one writer of preset YAML (`learn`, `migrate`): `header` lines become comments, and a
/// grant of a dangerous route gets a comment above it and `DANGEROUS` in its reason.
pub fn to_yaml(
    header: &[String],
    name: &str,
    description: &str,
    source: &str,
    grants: &[GrantText],
    compose: Option<&ComposeHint>,
) -> String {
    let mut y = String::new();
    for line in header {
        y.push_str(&format!("# {line}\n"));
    }
    y.push_str(&format!("name: {}\n", quoted(name)));
    y.push_str(&format!("description: {}\n", quoted(description)));
    y.push_str(&format!("source: {}\n", quoted(source)));
    y.push_str("grants:\n");
    for g in grants {
        let mut reason = g.reason.clone();
        if g.route.traits.dangerous {
            reason = format!("DANGEROUS (can take over the host or read its files): {reason}");
            y.push_str("  # DANGEROUS: this route can take over the host or read its files.\n");
        }
        y.push_str(&format!("  - route: {}\n", quoted(&g.route.display())));
        y.push_str(&format!("    reason: {}\n", quoted(&reason)));
    }
    if let Some(c) = compose {
        y.push_str("compose:\n");
        y.push_str(&format!("  image: {}\n", quoted(&c.image)));
        if !c.command.is_empty() {
            y.push_str("  command:\n");
            for a in &c.command {
                y.push_str(&format!("    - {}\n", quoted(a)));
            }
        }
        if !c.environment.is_empty() {
            y.push_str("  environment:\n");
            for (k, v) in &c.environment {
                y.push_str(&format!("    {}: {}\n", quoted(k), quoted(v)));
            }
        }
        y.push_str(&format!("  docker_host: {}\n", c.docker_host));
        if let Some(n) = &c.note {
            y.push_str(&format!("  note: {}\n", quoted(n)));
        }
    }
    y
}

/// Parses a preset's YAML; `origin` names it in errors.
pub fn parse(catalog: &Catalog, text: &str, origin: &Path) -> Result<Preset> {
    let doc: PresetDoc = serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, None), |l| (l.line(), Some(l.column())));
        Error::Malformed {
            location: Location {
                file: origin.to_path_buf(),
                line,
                column,
            },
            // serde's message ends with its own " at line L column C"; the location says it.
            message: format!(
                "not a valid preset: {}",
                e.to_string().split(" at line ").next().unwrap_or_default()
            ),
        }
    })?;
    let valid_name = doc
        .name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && doc
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_name || doc.name.starts_with("spg_") {
        return Err(Error::Malformed {
            location: line_of(origin, text, "name:"),
            message: format!(
                "preset name `{}` must be lower-case letters, digits, `-` or `_`, not starting with `spg_` (it names an HAProxy frontend; `spg_` names are the proxy's own)",
                doc.name
            ),
        });
    }
    if doc.grants.is_empty() {
        return Err(Error::Malformed {
            location: line_of(origin, text, "grants:"),
            message: "a preset needs at least one grant".into(),
        });
    }
    let mut grants = Vec::with_capacity(doc.grants.len());
    for g in doc.grants {
        let route = parse_route_spec(catalog, &g.route).map_err(|e| match e {
            Error::UnknownRoute {
                spec, suggestion, ..
            } => Error::UnknownRoute {
                location: Some(line_of(origin, text, &spec)),
                spec,
                suggestion,
            },
            other => other,
        })?;
        grants.push(PresetGrant {
            route,
            reason: g.reason,
        });
    }
    Ok(Preset {
        name: doc.name,
        description: doc.description,
        clients: doc.clients,
        source: doc.source,
        grants,
        compose: doc.compose,
    })
}

/// The 1-based line of the first occurrence of `needle` (serde gives no spans for values).
fn line_of(origin: &Path, text: &str, needle: &str) -> Location {
    let line = text
        .lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1);
    Location {
        file: origin.to_path_buf(),
        line,
        column: None,
    }
}

/// `GET /containers/{id}/json` -> the catalog route; unknown ones suggest the closest.
pub fn parse_route_spec(catalog: &Catalog, spec: &str) -> Result<RouteId> {
    let mut words = spec.split_whitespace();
    let (method_word, path_word) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let unknown = || {
        let wanted = format!(
            "{} {}",
            method_word.to_ascii_uppercase(),
            shape_of(path_word)
        );
        let keys: Vec<String> = catalog.routes().iter().map(Route::key).collect();
        let suggestion = suggest::closest(&wanted, keys.iter().map(String::as_str))
            .and_then(|key| catalog.routes().iter().find(|r| r.key() == key))
            .map(Route::display);
        Error::UnknownRoute {
            spec: spec.to_string(),
            suggestion,
            location: None,
        }
    };
    if words.next().is_some() {
        return Err(unknown());
    }
    let method = Method::parse(method_word).ok_or_else(unknown)?;
    catalog
        .find(method, path_word)
        .map(|r| r.id)
        .ok_or_else(unknown)
}
