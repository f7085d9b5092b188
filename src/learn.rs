//! Learning a client's preset from the proxy's request log (`render --learn`, then `learn`).
//!
//! The log lines are the ones every rendered config writes, text or JSON, possibly wrapped by
//! `docker logs -t` or `docker compose logs` (a prefix before the line is skipped). Each line
//! is mapped to the catalog route the daemon dispatches it to: from the rule token the proxy
//! logged (`learn:`, `allow:`, `would-deny:`, `deny:shadowed-by:`), else from the method and
//! the path, decoded and version-stripped as the proxy does.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::catalog::{Catalog, Method, RouteId};
use crate::preset::{GrantText, Preset};

/// One request, as the proxy logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The frontend: the client's name.
    pub client: String,
    /// `address:port` of the connection.
    pub source: String,
    /// The request time as logged (`%tr`).
    pub time: String,
    pub method: String,
    /// The URI as sent (path and query string).
    pub uri: String,
    pub status: Option<i64>,
    /// The rule token (`learn:GET:/containers/json`, `deny:not-in-policy`, ...).
    pub rule: String,
}

fn text_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // %ci:%cp [%tr] %ft %HM %{+Q}HU %ST %B %Ta rule=%[var(txn.spg_rule)]
        Regex::new(
            r#"(\S+) \[([^\]]+)\] (\S+) (\S+) "((?:[^"\\]|\\.)*)" (-?\d+) (-?\d+) (-?\d+) rule=(\S*)\s*$"#,
        )
        .expect("valid regex")
    })
}

#[derive(serde::Deserialize)]
struct JsonLine {
    time: String,
    client: String,
    frontend: String,
    method: String,
    uri: String,
    status: Option<i64>,
    #[serde(default)]
    rule: String,
}

/// Reads one log line in either format; `None` for lines that are not request lines (HAProxy's
/// start-up messages, other services' lines in `docker compose logs`).
pub fn parse_line(line: &str) -> Option<LogRecord> {
    if let Some(start) = line.find("{\"time\":") {
        let mut stream = serde_json::Deserializer::from_str(&line[start..]).into_iter::<JsonLine>();
        if let Some(Ok(j)) = stream.next() {
            return Some(LogRecord {
                client: j.frontend,
                source: j.client,
                time: j.time,
                method: j.method,
                uri: j.uri,
                status: j.status,
                rule: j.rule,
            });
        }
    }
    let c = text_line().captures(line)?;
    Some(LogRecord {
        source: c[1].to_string(),
        time: c[2].to_string(),
        client: c[3].to_string(),
        method: c[4].to_string(),
        uri: c[5].replace("\\\"", "\""),
        status: c[6].parse().ok(),
        rule: c[9].to_string(),
    })
}

/// What a logged request means for the client's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The route the daemon runs for it.
    Route(RouteId),
    /// The proxy refuses it whatever the policy (`refuse:...`, h2c, gRPC): no grant helps.
    Refused(String),
    /// A canonical request that matches no route of the catalog (the daemon answers 404).
    NoRoute,
}

/// The prefixes of rule tokens that name the route the daemon runs.
const ROUTE_PREFIXES: &[&str] = &["allow:", "learn:", "would-deny:", "deny:shadowed-by:"];

/// Maps a request to its route.
pub fn outcome(catalog: &Catalog, record: &LogRecord) -> Outcome {
    if let Some(token) = ROUTE_PREFIXES
        .iter()
        .find_map(|p| record.rule.strip_prefix(p))
    {
        if let Some(route) = catalog.routes().iter().find(|r| r.token() == token) {
            return Outcome::Route(route.id);
        }
    }
    if record.rule.starts_with("refuse:") || record.rule == "deny:h2c" || record.rule == "deny:grpc"
    {
        return Outcome::Refused(record.rule.clone());
    }
    let Some(method) = Method::parse(&record.method) else {
        return Outcome::NoRoute;
    };
    let path = record.uri.split('?').next().unwrap_or("");
    let Some(decoded) = url_decode(path) else {
        return Outcome::Refused("refuse:invalid-escape".into());
    };
    if decoded.contains('%') {
        return Outcome::Refused("refuse:double-encoding".into());
    }
    if decoded.contains("//") || decoded.contains("/./") || decoded.contains("/../") {
        return Outcome::Refused("refuse:non-canonical-path".into());
    }
    let stripped = strip_version(&decoded);
    match catalog.dispatch(method, stripped) {
        Some(route) => Outcome::Route(route.id),
        None => Outcome::NoRoute,
    }
}

/// `/v1.41/containers/json` -> `/containers/json`, as the proxy's `regsub(^/v[0-9.]+/,/)`.
fn strip_version(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('/') {
            return &rest[end..];
        }
    }
    path
}

/// One percent-decoding of a path (two hex digits per escape, as HAProxy's `url_dec`).
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What was seen of one route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub count: usize,
    pub first: String,
    pub last: String,
    /// The first request's URI (cut at 200 characters).
    pub example: String,
}

/// Everything one client did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientTraffic {
    pub requests: usize,
    pub routes: BTreeMap<RouteId, Seen>,
    /// Requests the proxy refuses whatever the policy, by reason, with one example URI.
    pub refused: BTreeMap<String, (usize, String)>,
    /// Requests that match no route, by `METHOD path`.
    pub no_route: BTreeMap<String, usize>,
}

/// The log of several clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub clients: BTreeMap<String, ClientTraffic>,
    /// Lines read, and lines that were request lines.
    pub lines: usize,
    pub request_lines: usize,
}

impl Traffic {
    /// Adds the request lines of `text`.
    pub fn add(&mut self, catalog: &Catalog, text: &str) {
        for line in text.lines() {
            self.lines += 1;
            if let Some(record) = parse_line(line) {
                self.request_lines += 1;
                self.record(catalog, &record);
            }
        }
    }

    pub fn record(&mut self, catalog: &Catalog, record: &LogRecord) {
        let client = self.clients.entry(record.client.clone()).or_default();
        client.requests += 1;
        let example: String = record.uri.chars().take(200).collect();
        match outcome(catalog, record) {
            Outcome::Route(id) => {
                client
                    .routes
                    .entry(id)
                    .and_modify(|s| {
                        s.count += 1;
                        s.last = record.time.clone();
                    })
                    .or_insert(Seen {
                        count: 1,
                        first: record.time.clone(),
                        last: record.time.clone(),
                        example,
                    });
            }
            Outcome::Refused(why) => {
                client.refused.entry(why).or_insert((0, example)).0 += 1;
            }
            Outcome::NoRoute => {
                let path = record.uri.split('?').next().unwrap_or("");
                *client
                    .no_route
                    .entry(format!("{} {path}", record.method))
                    .or_default() += 1;
            }
        }
    }
}

/// A preset written from one client's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedPreset {
    pub name: String,
    /// The preset YAML (`render --preset-file` reads it).
    pub yaml: String,
    /// The granted routes that can take over the host or read its files, as readable names.
    pub dangerous: Vec<String>,
}

/// The reason of a learned grant: what was seen.
pub fn reason(seen: &Seen) -> String {
    let times = if seen.count == 1 {
        format!("seen once, at {}", seen.first)
    } else {
        format!(
            "seen {} times, first {}, last {}",
            seen.count, seen.first, seen.last
        )
    };
    format!("{times}; e.g. {}", seen.example)
}

/// The preset of one client, or `None` when it made no request the daemon routes.
pub fn preset_for(
    catalog: &Catalog,
    name: &str,
    traffic: &ClientTraffic,
    sources: &[String],
) -> Option<LearnedPreset> {
    if traffic.routes.is_empty() {
        return None;
    }
    let header = vec![
        format!(
            "Learned by sockproxy-gen {} from {} request(s) of client `{name}` in {}.",
            crate::VERSION,
            traffic.requests,
            sources.join(", ")
        ),
        "Review every grant: a client may have called more than it needs while it was recorded."
            .to_string(),
    ];
    let grants: Vec<GrantText> = traffic
        .routes
        .iter()
        .map(|(id, seen)| GrantText {
            route: catalog.get(*id),
            reason: reason(seen),
        })
        .collect();
    let dangerous = grants
        .iter()
        .filter(|g| g.route.traits.dangerous)
        .map(|g| g.route.display())
        .collect();
    let y = crate::preset::to_yaml(
        &header,
        name,
        &format!(
            "{name}: learned from its traffic ({} route(s), {} request(s))",
            traffic.routes.len(),
            traffic.requests
        ),
        &format!("sockproxy-gen learn {}", sources.join(" ")),
        &grants,
        None,
    );
    Some(LearnedPreset {
        name: name.to_string(),
        yaml: y,
        dangerous,
    })
}

/// A client's traffic against a preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Seen but not granted: the preset would deny them.
    pub would_deny: Vec<(RouteId, Seen)>,
    /// Granted but never seen.
    pub unused: Vec<RouteId>,
}

pub fn compare(preset: &Preset, traffic: &ClientTraffic) -> Comparison {
    let granted: std::collections::BTreeSet<RouteId> =
        preset.grants.iter().map(|g| g.route).collect();
    Comparison {
        would_deny: traffic
            .routes
            .iter()
            .filter(|(id, _)| !granted.contains(id))
            .map(|(id, s)| (*id, s.clone()))
            .collect(),
        unused: granted
            .into_iter()
            .filter(|id| !traffic.routes.contains_key(id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_both_formats_and_wrapped() {
        let text = r#"127.0.0.1:5555 [30/Nov/2026:08:00:01.123] cli GET "/v1.41/containers/abc/json?size=1" 200 1234 3 rule=learn:GET:/containers/**/json"#;
        let r = parse_line(text).unwrap();
        assert_eq!(r.client, "cli");
        assert_eq!(r.uri, "/v1.41/containers/abc/json?size=1");
        let wrapped = format!("2026-11-30T08:00:01.123456789Z {text}");
        assert_eq!(parse_line(&wrapped).unwrap(), r);
        let json = r#"proxy-1  | {"time":"30/Nov/2026:08:00:01.123","client":"127.0.0.1:5555","frontend":"cli","method":"GET","uri":"/v1.41/containers/abc/json?size=1","status":200,"bytes":1234,"ms":3,"rule":"learn:GET:/containers/**/json"}"#;
        assert_eq!(parse_line(json).unwrap(), r);
        assert_eq!(parse_line("[NOTICE]   (1) : New worker (8) forked"), None);
    }

    #[test]
    fn routes_from_tokens_or_paths() {
        let c = Catalog::builtin();
        let rec = |rule: &str, method: &str, uri: &str| LogRecord {
            client: "x".into(),
            source: "s".into(),
            time: "t".into(),
            method: method.into(),
            uri: uri.into(),
            status: Some(200),
            rule: rule.into(),
        };
        let inspect = c.find(Method::Get, "/containers/{id}/json").unwrap().id;
        let archive = c.find(Method::Get, "/containers/{id}/archive").unwrap().id;
        assert_eq!(
            outcome(c, &rec("learn:GET:/containers/**/json", "GET", "/x")),
            Outcome::Route(inspect)
        );
        assert_eq!(
            outcome(
                c,
                &rec(
                    "deny:not-in-policy",
                    "GET",
                    "/v1.41/containers/a/archive?path=/"
                )
            ),
            Outcome::Route(archive)
        );
        assert_eq!(
            outcome(c, &rec("-", "GET", "/v1.41/%63ontainers/a/json")),
            Outcome::Route(inspect)
        );
        assert!(matches!(
            outcome(c, &rec("refuse:double-encoding", "GET", "/%2563")),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            outcome(c, &rec("-", "GET", "/containers//json")),
            Outcome::Refused(_)
        ));
        assert_eq!(outcome(c, &rec("-", "GET", "/nope")), Outcome::NoRoute);
    }
}
