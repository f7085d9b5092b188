//! Learning a client's preset from the proxy's request log (`render --learn`, then `learn`).
//!
//! The log lines are the ones every rendered config writes, text or JSON, possibly wrapped by
//! `docker logs -t` or `docker compose logs`: only those two prefixes are skipped, so a record
//! quoted inside another service's line is never read. Frontend names are checked with the
//! one client-name rule ([`crate::policy::check_client_name`]) before they name a file. Each
//! line is mapped to the catalog route the daemon dispatches it to: from the rule token the
//! proxy logged (`learn:`, `allow:`, `would-deny:`, `deny:shadowed-by:`), else with the
//! daemon's own routing ([`crate::haproxy::daemon::route`]). Requests the proxy denied are
//! kept apart from the ones it let through.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::catalog::{Catalog, RouteId};
use crate::haproxy::daemon::{self, Daemon};
use crate::preset::{GrantText, Preset};

/// One request, as the proxy logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The frontend: the client's name.
    pub client: String,
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
        // %ci:%cp [%tr] %ft %HM %{+Q}HU %ST %B %Ta rule=%[var(txn.spg_rule)], from the start of
        // the line (after a docker prefix): an application's own log line that quotes one of
        // ours in the middle is not a request of the proxy.
        Regex::new(
            r#"^(\S+) \[([^\]]+)\] (\S+) (\S+) "((?:[^"\\]|\\.)*)" (-?\d+) (-?\d+) (-?\d+) rule=(\S*)\s*$"#,
        )
        .expect("valid regex")
    })
}

fn compose_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // `docker compose logs`: `NAME-1  | ` (Compose v2) or `project_name_1  | ` (1.29).
    RE.get_or_init(|| Regex::new(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*\| ").expect("valid regex"))
}

fn timestamp_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // `docker logs -t` / `docker compose logs -t`: an RFC 3339 time and a space.
    RE.get_or_init(|| {
        Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
            .expect("valid regex")
    })
}

/// A line without the prefixes `docker logs -t` and `docker compose logs` put before it: (the
/// compose container name, if any, and the rest). Nothing else is skipped.
pub fn strip_docker_prefix(line: &str) -> (Option<&str>, &str) {
    let mut rest = line;
    let mut container = None;
    if let Some(c) = compose_prefix().captures(rest) {
        container = c.get(1).map(|m| m.as_str());
        rest = &rest[c.get(0).map_or(0, |m| m.end())..];
    }
    if let Some(m) = timestamp_prefix().find(rest) {
        rest = &rest[m.end()..];
    }
    (container, rest)
}

/// Whether a `docker compose logs` container name (`proxy-1`, `stack-proxy-1`,
/// `stack_proxy_1`) is one of service `service`'s containers.
pub fn container_of_service(container: &str, service: &str) -> bool {
    let Some(i) = container.rfind(['-', '_']) else {
        return false;
    };
    let (head, number) = (&container[..i], &container[i + 1..]);
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && (head == service
            || head.ends_with(&format!("-{service}"))
            || head.ends_with(&format!("_{service}")))
}

#[derive(serde::Deserialize)]
struct JsonLine {
    time: String,
    frontend: String,
    method: String,
    uri: String,
    status: Option<i64>,
    #[serde(default)]
    rule: String,
}

/// Reads one log line in either format; `None` for lines that are not request lines (HAProxy's
/// start-up messages, other services' lines in `docker compose logs`). A record is read only at
/// the start of the line or right after a docker prefix ([`strip_docker_prefix`]).
pub fn parse_line(line: &str) -> Option<LogRecord> {
    let (_, line) = strip_docker_prefix(line);
    if line.starts_with('{') {
        let mut stream = serde_json::Deserializer::from_str(line).into_iter::<JsonLine>();
        if let Some(Ok(j)) = stream.next() {
            return Some(LogRecord {
                client: j.frontend,
                time: j.time,
                method: j.method,
                uri: j.uri,
                status: j.status,
                rule: j.rule,
            });
        }
        return None;
    }
    let c = text_line().captures(line)?;
    Some(LogRecord {
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
    /// The route the daemon runs for it; `denied` when the proxy answered it 403 itself.
    Route { id: RouteId, denied: bool },
    /// The proxy refuses it whatever the policy (`refuse:...`, h2c, gRPC, HAProxy's own 400 for
    /// a request it cannot parse): no grant helps.
    Refused(String),
    /// A canonical request that matches no route of the catalog (the daemon answers 404).
    NoRoute,
}

/// The prefixes of rule tokens that name the route the daemon runs (`deny:shadowed-by:` was
/// denied by the proxy).
const ROUTE_PREFIXES: &[&str] = &["allow:", "learn:", "would-deny:", "deny:shadowed-by:"];

/// Whether the proxy denied the request itself (a `deny:` rule token, or a 403 it logged
/// without a token).
fn denied(record: &LogRecord) -> bool {
    record.rule.starts_with("deny:")
        || ((record.rule.is_empty() || record.rule == "-") && record.status == Some(403))
}

/// Maps a request to its route, with the daemon's own routing ([`daemon::route`]).
pub fn outcome(catalog: &Catalog, record: &LogRecord) -> Outcome {
    if record.method == "<BADREQ>" || record.uri == "<BADREQ>" {
        return Outcome::Refused(
            "bad-request (HAProxy answered 400: not a valid HTTP request)".into(),
        );
    }
    if record.rule.starts_with("refuse:") || record.rule == "deny:h2c" || record.rule == "deny:grpc"
    {
        return Outcome::Refused(record.rule.clone());
    }
    let denied = denied(record);
    if let Some(token) = ROUTE_PREFIXES
        .iter()
        .find_map(|p| record.rule.strip_prefix(p))
    {
        if let Some(route) = catalog.routes().iter().find(|r| r.token() == token) {
            return Outcome::Route {
                id: route.id,
                denied,
            };
        }
    }
    let path = record.uri.split(['?', '#']).next().unwrap_or("");
    // The proxy's own refusals before the daemon sees the request.
    if path.to_ascii_lowercase().contains("%25") {
        return Outcome::Refused("refuse:double-encoding".into());
    }
    match daemon::route(catalog, &record.method, &record.uri) {
        Daemon::Handler(route) => Outcome::Route {
            id: route.id,
            denied,
        },
        Daemon::BadRequest => Outcome::Refused("refuse:invalid-escape".into()),
        Daemon::Redirect => Outcome::Refused("refuse:non-canonical-path".into()),
        Daemon::NotFound => Outcome::NoRoute,
    }
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
    /// Routes of requests the proxy let through (allowed, learned, or would-deny in audit).
    pub routes: BTreeMap<RouteId, Seen>,
    /// Routes of requests the proxy denied (403): not grants unless asked for.
    pub denied: BTreeMap<RouteId, Seen>,
    /// Requests the proxy refuses whatever the policy, by reason, with one example URI.
    pub refused: BTreeMap<String, (usize, String)>,
    /// Requests that match no route, by `METHOD path`.
    pub no_route: BTreeMap<String, usize>,
}

impl ClientTraffic {
    /// The denied routes become routes too (`learn --include-denied`).
    pub fn include_denied(&mut self) {
        for (id, seen) in std::mem::take(&mut self.denied) {
            match self.routes.get_mut(&id) {
                Some(s) => {
                    s.count += seen.count;
                    s.last = seen.last;
                }
                None => {
                    self.routes.insert(id, seen);
                }
            }
        }
    }

    /// Requests of the routes the proxy let through.
    pub fn allowed_requests(&self) -> usize {
        self.routes.values().map(|s| s.count).sum()
    }

    /// Requests the proxy denied.
    pub fn denied_requests(&self) -> usize {
        self.denied.values().map(|s| s.count).sum()
    }
}

/// Which lines of the log to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only the lines `docker compose logs` prints for this service's containers.
    pub service: Option<String>,
}

/// The log of several clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    pub clients: BTreeMap<String, ClientTraffic>,
    /// Lines read, and lines that were request lines.
    pub lines: usize,
    pub request_lines: usize,
    /// What was skipped and why (`file:line: ...`), for the caller to show.
    pub notes: Vec<String>,
}

impl Traffic {
    /// Adds the request lines of `text`, read from `source` (named in notes as `source:LINE`).
    pub fn add(&mut self, catalog: &Catalog, source: &str, text: &str, filter: &Filter) {
        for (index, line) in text.lines().enumerate() {
            self.lines += 1;
            if let Some(service) = &filter.service {
                let (container, _) = strip_docker_prefix(line);
                if !container.is_some_and(|c| container_of_service(c, service)) {
                    continue;
                }
            }
            let Some(record) = parse_line(line) else {
                continue;
            };
            if let Err(e) = crate::policy::check_client_name(&record.client) {
                let name: String = record.client.chars().take(80).collect();
                self.notes.push(format!(
                    "{source}:{}: request of frontend {name:?} skipped: {}",
                    index + 1,
                    e.to_string().replace(&format!("`{}` ", record.client), "")
                ));
                continue;
            }
            self.request_lines += 1;
            self.record(catalog, &record);
        }
    }

    pub fn record(&mut self, catalog: &Catalog, record: &LogRecord) {
        let client = self.clients.entry(record.client.clone()).or_default();
        client.requests += 1;
        let example: String = record.uri.chars().take(200).collect();
        match outcome(catalog, record) {
            Outcome::Route { id, denied } => {
                let routes = if denied {
                    &mut client.denied
                } else {
                    &mut client.routes
                };
                routes
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
    /// The granted routes that delete state, as readable names.
    pub destructive: Vec<String>,
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
    let destructive = grants
        .iter()
        .filter(|g| g.route.traits.destructive)
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
        destructive,
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
    use crate::catalog::Method;

    #[test]
    fn lines_in_both_formats_and_wrapped() {
        let text = r#"127.0.0.1:5555 [30/Nov/2026:08:00:01.123] cli GET "/v1.41/containers/abc/json?size=1" 200 1234 3 rule=learn:GET:/containers/**/json"#;
        let r = parse_line(text).unwrap();
        assert_eq!(r.client, "cli");
        assert_eq!(r.uri, "/v1.41/containers/abc/json?size=1");
        let wrapped = format!("2026-11-30T08:00:01.123456789Z {text}");
        assert_eq!(parse_line(&wrapped).unwrap(), r);
        let json = r#"{"time":"30/Nov/2026:08:00:01.123","client":"127.0.0.1:5555","frontend":"cli","method":"GET","uri":"/v1.41/containers/abc/json?size=1","status":200,"bytes":1234,"ms":3,"rule":"learn:GET:/containers/**/json"}"#;
        assert_eq!(parse_line(json).unwrap(), r);
        assert_eq!(parse_line(&format!("proxy-1  | {json}")).unwrap(), r);
        assert_eq!(
            parse_line(&format!(
                "stack_proxy_1  | 2026-11-30T08:00:01.123+01:00 {json}"
            ))
            .unwrap(),
            r
        );
        assert_eq!(parse_line("[NOTICE]   (1) : New worker (8) forked"), None);
    }

    #[test]
    fn a_record_inside_another_line_is_not_read() {
        // An application that logs what a user sent: the record is not at the line's start.
        let json = r#"{"time":"t","client":"c","frontend":"evil","method":"POST","uri":"/containers/create","status":201,"rule":"learn:POST:/containers/create"}"#;
        let text = r#"127.0.0.1:1 [t] evil POST "/containers/create" 201 1 1 rule=-"#;
        for line in [
            format!("app-1  | user said: {json}"),
            format!("app-1  | GET /search?q= {text}"),
            format!("2026-11-30T08:00:01Z hello {json}"),
            format!(" {json}"),
        ] {
            assert_eq!(parse_line(&line), None, "{line}");
        }
    }

    #[test]
    fn containers_of_a_service() {
        for c in ["proxy-1", "proxy-12", "stack-proxy-1", "stack_proxy_1"] {
            assert!(container_of_service(c, "proxy"), "{c}");
        }
        for c in ["proxy", "app-1", "myproxy-1", "proxy-x", "proxy-2-app-1"] {
            assert!(!container_of_service(c, "proxy"), "{c}");
        }
    }

    #[test]
    fn routes_from_tokens_or_paths() {
        let c = Catalog::builtin();
        let rec = |rule: &str, method: &str, uri: &str| LogRecord {
            client: "x".into(),
            time: "t".into(),
            method: method.into(),
            uri: uri.into(),
            status: Some(200),
            rule: rule.into(),
        };
        let inspect = c.find(Method::Get, "/containers/{id}/json").unwrap().id;
        let archive = c.find(Method::Get, "/containers/{id}/archive").unwrap().id;
        let route = |id, denied| Outcome::Route { id, denied };
        assert_eq!(
            outcome(c, &rec("learn:GET:/containers/**/json", "GET", "/x")),
            route(inspect, false)
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
            route(archive, true)
        );
        let mut forbidden = rec("-", "GET", "/v1.41/containers/a/archive");
        forbidden.status = Some(403);
        assert_eq!(outcome(c, &forbidden), route(archive, true));
        assert_eq!(
            outcome(c, &rec("-", "GET", "/v1.41/%63ontainers/a/json")),
            route(inspect, false)
        );
        assert!(matches!(
            outcome(c, &rec("refuse:double-encoding", "GET", "/%2563")),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            outcome(c, &rec("-", "GET", "/v1.41/%2563ontainers/a/json")),
            Outcome::Refused(r) if r == "refuse:double-encoding"
        ));
        assert!(matches!(
            outcome(c, &rec("-", "GET", "/containers//json")),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            outcome(c, &rec("-", "<BADREQ>", "<BADREQ>")),
            Outcome::Refused(r) if r.starts_with("bad-request")
        ));
        assert_eq!(outcome(c, &rec("-", "GET", "/nope")), Outcome::NoRoute);
    }

    #[test]
    fn bad_frontend_names_are_skipped_with_their_line() {
        let c = Catalog::builtin();
        let mut t = Traffic::default();
        let log = "127.0.0.1:1 [t] ok GET \"/version\" 200 1 1 rule=learn:GET:/version\n\
                   {\"time\":\"t\",\"client\":\"c\",\"frontend\":\"../pwned\",\"method\":\"GET\",\"uri\":\"/version\",\"status\":200,\"rule\":\"learn:GET:/version\"}\n\
                   {\"time\":\"t\",\"client\":\"c\",\"frontend\":\"/etc/cron.d/x\",\"method\":\"GET\",\"uri\":\"/version\",\"status\":200,\"rule\":\"learn:GET:/version\"}\n";
        t.add(c, "p.log", log, &Filter::default());
        assert_eq!(t.clients.keys().collect::<Vec<_>>(), ["ok"]);
        assert_eq!(t.notes.len(), 2, "{:?}", t.notes);
        assert!(t.notes[0].starts_with("p.log:2: "), "{}", t.notes[0]);
        assert!(t.notes[1].starts_with("p.log:3: "), "{}", t.notes[1]);
    }
}
