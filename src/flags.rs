//! Tecnativa-style env flags (`CONTAINERS=1 POST=0 ...`) as a policy source.
//!
//! Names and meanings follow Tecnativa/docker-socket-proxy, with its known traps fixed:
//! - `ALLOW_START`, `ALLOW_STOP`, `ALLOW_RESTARTS` work without `POST=1`;
//! - `POST=1` opens POST routes only; DELETE and PUT need `DELETE=1` / `PUT=1` (our additions),
//!   and the notices say exactly which routes each opened;
//! - values are 0/1; `true`/`yes` are accepted with a warning, because the Tecnativa image reads
//!   them as 0; anything else, and any unknown name, is an error with a suggestion.
//! - `GET` never implies `HEAD` (only the routes that have HEAD get it).

use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, Method, Route};
use crate::error::{Error, Location, Result};
use crate::policy::{ClientPolicy, Notice};
use crate::suggest;

/// Flags on by default in Tecnativa's image.
pub const DEFAULT_ON: &[&str] = &["EVENTS", "PING", "VERSION"];

/// Method switches: which non-read methods the enabled sections open.
const METHOD_FLAGS: &[(&str, Method)] = &[
    ("POST", Method::Post),
    ("DELETE", Method::Delete),
    ("PUT", Method::Put),
];

/// Container actions that work without POST=1 here, each with the routes it opens (POST).
pub const ACTION_FLAGS: &[(&str, &[&str])] = &[
    ("ALLOW_START", &["/containers/{}/start"]),
    ("ALLOW_STOP", &["/containers/{}/stop"]),
    (
        "ALLOW_RESTARTS",
        &[
            "/containers/{}/stop",
            "/containers/{}/restart",
            "/containers/{}/kill",
        ],
    ),
];

/// Tecnativa settings that are not permissions.
const SETTING_FLAGS: &[&str] = &["LOG_LEVEL", "SOCKET_PATH", "DISABLE_IPV6"];

/// Where a flag value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    pub name: String,
    pub value: String,
    pub location: Option<Location>,
}

impl FlagValue {
    /// `KEY=VAL` from `--flag`.
    pub fn from_cli(raw: &str) -> Result<FlagValue> {
        let (name, value) = raw.split_once('=').ok_or_else(|| {
            Error::Invalid(format!(
                "--flag {raw}: expected KEY=VAL, for example --flag CONTAINERS=1"
            ))
        })?;
        Ok(FlagValue {
            name: name.trim().to_string(),
            value: value.trim().to_string(),
            location: None,
        })
    }
}

/// Settings carried by non-permission flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagSettings {
    pub socket_path: Option<PathBuf>,
    pub disable_ipv6: bool,
}

pub struct FlagPolicy {
    pub client: ClientPolicy,
    pub notices: Vec<Notice>,
    pub settings: FlagSettings,
}

/// What an env file gives the flags: the flag values, and notes about everything else in it.
pub struct EnvFlags {
    pub values: Vec<FlagValue>,
    pub notices: Vec<Notice>,
}

/// Variables of sockproxy-gen's own (`sockproxy-gen env` writes them): ignored without a note.
const OWN_VARIABLES: &[&str] = &["PGID_DOCKER_SOCKET"];

/// Whether `value` reads as an on/off switch (what a mistyped flag would hold).
pub(crate) fn switch_like(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "0" | "1" | "true" | "false" | "yes" | "no" | "on" | "off"
    )
}

/// How far `name` is from `flag` when it is close enough to be a typo of it: Damerau-Levenshtein
/// distance (case aside) up to 1 for flags of up to 6 characters, up to 2 for longer ones. The
/// one rule for near misses in env files (here) and in compose files (lint).
pub(crate) fn typo_distance(name: &str, flag: &str) -> Option<usize> {
    let d = strsim::damerau_levenshtein(&name.to_ascii_uppercase(), flag);
    (d <= if flag.len() <= 6 { 1 } else { 2 }).then_some(d)
}

/// The flag `name` is a near miss of: Damerau-Levenshtein distance (case aside) up to 1 for
/// flags of up to 6 characters, up to 2 for longer ones. Permission flags only count when the
/// value is a switch (0/1/true/...), so the app's `PORT=8080` or `HOST=db` is not taken for
/// POST; the settings with free values (LOG_LEVEL, SOCKET_PATH) count whatever the value.
fn near_miss(name: &str, value: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .filter(|k| switch_like(value) || matches!(k.as_str(), "LOG_LEVEL" | "SOCKET_PATH"))
        .filter_map(|k| Some((typo_distance(name, k)?, k)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// Reads a `.env` file for flags, with Docker Compose's syntax (see [`crate::dotenv`]); `lookup`
/// is the environment it interpolates from. The file may hold the app's other variables too:
/// they are ignored, with a note naming them (never their values, which may be secrets). A
/// near miss of a flag name (`IAMGES=1`) is an [`Error::UnknownFlag`] at its line.
pub fn read_env_file(
    catalog: &Catalog,
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvFlags> {
    let text = crate::input::read_text(path, "the env file", "")?;
    // Lenient: an interpolation error in another variable is not ours to fail on.
    let mut env = crate::dotenv::parse_lenient(&text, path, lookup)?;
    let mut errors = std::mem::take(&mut env.errors);
    let known = known_names(catalog);
    let mut values = Vec::new();
    let mut ignored = Vec::new();
    let mut notices = Vec::new();
    let at = |line: usize| Location {
        file: path.to_path_buf(),
        line,
        column: None,
    };
    for entry in env.effective() {
        if known.contains(&entry.key) {
            if let Some(i) = errors.iter().position(
                |e| matches!(e, Error::Malformed { location, .. } if location.line == entry.line),
            ) {
                return Err(errors.swap_remove(i));
            }
            values.push(FlagValue {
                name: entry.key.clone(),
                value: entry.value.clone(),
                location: Some(at(entry.line)),
            });
        } else if let Some(flag) = near_miss(&entry.key, &entry.value, &known) {
            return Err(Error::UnknownFlag {
                name: entry.key.clone(),
                suggestion: Some(flag),
                location: Some(at(entry.line)),
            });
        } else if !OWN_VARIABLES.contains(&entry.key.as_str()) {
            ignored.push(entry.key.clone());
        }
    }
    let flag_lines: Vec<usize> = values
        .iter()
        .filter_map(|v| Some(v.location.as_ref()?.line))
        .collect();
    for unset in &env.unset {
        if unset.bare && known.contains(&unset.name) {
            notices.push(Notice::info(format!(
                "{}: {} is not set: the bare name takes its value from the environment, where it is missing",
                at(unset.line),
                unset.name
            )));
        } else if !unset.bare && flag_lines.contains(&unset.line) {
            notices.push(Notice::warning(format!(
                "{}: ${} is not set, so it reads as an empty string (as in Compose); set it, or give a default: ${{{}:-0}}",
                at(unset.line),
                unset.name,
                unset.name
            )));
        }
    }
    if !ignored.is_empty() {
        notices.push(Notice::info(format!(
            "{}: not flags, so ignored: {}",
            path.display(),
            ignored.join(", ")
        )));
    }
    Ok(EnvFlags { values, notices })
}

fn parse_bool(flag: &FlagValue, notices: &mut Vec<Notice>) -> Result<bool> {
    match flag.value.to_ascii_lowercase().as_str() {
        "0" => Ok(false),
        "1" => Ok(true),
        word @ ("true" | "yes" | "false" | "no") => {
            let on = matches!(word, "true" | "yes");
            if on {
                notices.push(Notice::warning(format!(
                    "{}={}: read as 1 here, but the Tecnativa image reads anything but a non-zero integer as 0; write {}=1",
                    flag.name, flag.value, flag.name
                )));
            }
            Ok(on)
        }
        _ => Err(Error::BadFlagValue {
            name: flag.name.clone(),
            value: flag.value.clone(),
            location: flag.location.clone(),
        }),
    }
}

/// All flag names this tool knows.
pub fn known_names(catalog: &Catalog) -> Vec<String> {
    let mut names: Vec<String> = catalog.sections().iter().map(|s| s.to_string()).collect();
    names.extend(METHOD_FLAGS.iter().map(|(n, _)| n.to_string()));
    names.extend(ACTION_FLAGS.iter().map(|(n, _)| n.to_string()));
    names.extend(SETTING_FLAGS.iter().map(|n| n.to_string()));
    names.sort();
    names
}

pub fn policy_from_flags(catalog: &Catalog, values: &[FlagValue]) -> Result<FlagPolicy> {
    let known = known_names(catalog);
    let mut notices = Vec::new();
    let mut settings = FlagSettings::default();
    // Later values win (command line after env files), as the shell would do.
    let mut on: Vec<(String, bool)> = DEFAULT_ON.iter().map(|n| (n.to_string(), true)).collect();
    for flag in values {
        if !known.contains(&flag.name) {
            return Err(Error::UnknownFlag {
                name: flag.name.clone(),
                suggestion: suggest::closest(&flag.name, known.iter().map(String::as_str)),
                location: flag.location.clone(),
            });
        }
        match flag.name.as_str() {
            "SOCKET_PATH" => settings.socket_path = Some(PathBuf::from(&flag.value)),
            "LOG_LEVEL" => notices.push(Notice::info(format!(
                "LOG_LEVEL={}: ignored; every request is logged with its verdict, denials always",
                flag.value
            ))),
            name => {
                let value = parse_bool(flag, &mut notices)?;
                if name == "DISABLE_IPV6" {
                    settings.disable_ipv6 = value;
                } else {
                    on.retain(|(n, _)| n != name);
                    on.push((name.to_string(), value));
                }
            }
        }
    }
    let is_on = |name: &str| on.iter().any(|(n, v)| n == name && *v);
    let mut client = ClientPolicy::new(
        "env-flags",
        "Tecnativa-style env flags (sockproxy-gen semantics)",
        crate::policy::ClientOrigin::Flags,
    );
    let mut opened_by_method: Vec<(&str, Vec<String>)> = Vec::new();
    let mut dropped_h2c = Vec::new();
    for route in catalog.routes() {
        if !is_on(&route.section) {
            continue;
        }
        let reason = if route.method.is_read() {
            format!("{}=1", route.section)
        } else if let Some((flag, _)) = METHOD_FLAGS
            .iter()
            .find(|(f, m)| *m == route.method && is_on(f))
        {
            match opened_by_method.iter_mut().find(|(f, _)| f == flag) {
                Some((_, list)) => list.push(route.display()),
                None => opened_by_method.push((flag, vec![route.display()])),
            }
            format!("{}=1 and {flag}=1", route.section)
        } else {
            continue;
        };
        if route.traits.h2c {
            dropped_h2c.push(route.display());
            continue;
        }
        client.grant(route.id, reason);
    }
    for (flag, shapes) in ACTION_FLAGS {
        if !is_on(flag) {
            continue;
        }
        for shape in *shapes {
            let route: &Route = catalog
                .find(Method::Post, shape)
                .expect("action flag routes are in the catalog");
            client.grant(route.id, format!("{flag}=1"));
        }
    }
    for (flag, opened) in opened_by_method {
        notices.push(Notice::info(format!(
            "{flag}=1 opens {} route(s) of the enabled sections: {}",
            opened.len(),
            opened.join(", ")
        )));
    }
    if is_on("POST") && !is_on("DELETE") && !is_on("PUT") {
        notices.push(Notice::info(
            "POST=1 does not open DELETE or PUT routes here (it does in the Tecnativa image); add DELETE=1 or PUT=1 if the client needs them",
        ));
    }
    if !dropped_h2c.is_empty() {
        notices.push(Notice::warning(format!(
            "not granted, because they need an h2c upgrade, which the proxy always refuses: {}",
            dropped_h2c.join(", ")
        )));
    }
    if client.grants.is_empty() {
        notices.push(Notice::warning(
            "the flags grant nothing: every request will be denied",
        ));
    }
    Ok(FlagPolicy {
        client,
        notices,
        settings,
    })
}
