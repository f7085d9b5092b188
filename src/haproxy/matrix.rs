//! The effective permission matrix of one frontend: every catalog route, bare and with version
//! prefixes, with realistic ids, allowed or denied, and the line of the rule that decided.

use std::sync::OnceLock;

use serde::Serialize;

use super::eval::{Decision, Model, Proxy, Request};
use crate::catalog::{Catalog, RouteId};

/// The forms of each route that are evaluated. Clients send the current versions; `/v1.24` is
/// what old guides pin.
pub const PREFIXES: &[&str] = &["", "/v1.24", "/v1.41", "/v1.44"];

/// The forms a client of today may send: all must pass for a granted route.
pub const REQUIRED_PREFIXES: &[&str] = &["", "/v1.41", "/v1.44"];

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub prefix: &'static str,
    pub forwarded: bool,
    /// The status HAProxy answers with when it does not forward.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The line of the rule that decided (None: no rule stopped it, or HAProxy's own checks).
    pub line: Option<usize>,
    /// The backend it was forwarded to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The frontend of the same file it went through first (a backend's server is one of
    /// its binds): the verdict is that frontend's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The verdict depends on what the evaluator cannot model, at this line (see the SPG001
    /// finding there); `forwarded` is then false and says nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertain: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(skip)]
    pub route: RouteId,
    /// `GET /containers/{name}/json`
    pub name: String,
    /// Forwarded for certain in at least one form.
    pub allowed: bool,
    /// Not allowed, and some form's verdict is uncertain: neither allowed nor denied.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    pub cells: Vec<Cell>,
}

impl Row {
    /// Forwarded in every form a current client sends.
    pub fn fully_allowed(&self) -> bool {
        self.cells
            .iter()
            .filter(|c| REQUIRED_PREFIXES.contains(&c.prefix))
            .all(|c| c.forwarded)
    }

    /// The line that let it through first, or that denied it.
    pub fn deciding_line(&self) -> Option<usize> {
        self.cells
            .iter()
            .find(|c| c.uncertain.is_none() && c.forwarded == self.allowed)
            .and_then(|c| c.line)
    }

    /// Denied for certain in every form.
    pub fn denied(&self) -> bool {
        !self.allowed && !self.uncertain
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub frontend: String,
    pub line: usize,
    pub rows: Vec<Row>,
}

impl Matrix {
    pub fn allowed(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.allowed)
    }

    /// The rows with an uncertain form.
    pub fn uncertain(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.cells.iter().any(|c| c.uncertain.is_some()))
    }

    pub fn row(&self, route: RouteId) -> &Row {
        &self.rows[route.0]
    }
}

/// The id under which [`Model::decide_all`] shares the decisions of the built-in catalog's
/// requests between frontends compiled alike.
const BUILTIN_REQUESTS: usize = 0;

/// What is sent for one route: its forms (one per prefix), its name and headers.
struct RouteRequests {
    targets: Vec<String>,
    name: String,
    headers: Vec<(String, String)>,
}

fn route_requests(catalog: &Catalog) -> Vec<RouteRequests> {
    catalog
        .routes()
        .iter()
        .map(|route| {
            let path = route.example_path();
            let mut headers = vec![("Host".to_string(), "docker".to_string())];
            if route.traits.hijack {
                // As the docker CLI asks for attach and exec.
                headers.push(("Connection".into(), "Upgrade".into()));
                headers.push(("Upgrade".into(), "tcp".into()));
            }
            RouteRequests {
                targets: PREFIXES.iter().map(|p| format!("{p}{path}")).collect(),
                name: route.display(),
                headers,
            }
        })
        .collect()
}

/// Evaluates every route of `catalog` on `entry`. Errors name a broken config (an undefined
/// ACL or backend), which HAProxy itself would refuse.
pub fn compute(catalog: &Catalog, model: &Model, entry: &Proxy) -> Result<Matrix, String> {
    // The requests depend on the catalog only: for the built-in one (every run of lint and
    // verify) they are made once per process, not once per frontend.
    static BUILTIN: OnceLock<Vec<RouteRequests>> = OnceLock::new();
    let own;
    let builtin = std::ptr::eq(catalog, Catalog::builtin());
    let requests: &[RouteRequests] = if builtin {
        BUILTIN.get_or_init(|| route_requests(catalog))
    } else {
        own = route_requests(catalog);
        &own
    };
    let routes = catalog.routes();
    let sent: Vec<Request> = routes
        .iter()
        .zip(requests)
        .flat_map(|(route, req)| {
            req.targets.iter().map(|target| Request {
                method: route.method.as_str(),
                target,
                headers: &req.headers,
            })
        })
        .collect();
    // Frontends compiled alike (the copies of one in a large file) share the evaluation.
    let decisions = model.decide_all(entry, &sent, builtin.then_some(BUILTIN_REQUESTS))?;
    let mut decisions = decisions.into_iter();
    let mut rows = Vec::with_capacity(requests.len());
    for (route, req) in routes.iter().zip(requests) {
        let cells: Vec<Cell> = PREFIXES
            .iter()
            .zip(decisions.by_ref())
            .map(|(prefix, decision)| match decision {
                Decision::Answered { status, line } => Cell {
                    prefix,
                    forwarded: false,
                    status: Some(status),
                    line,
                    backend: None,
                    via: None,
                    uncertain: None,
                },
                Decision::Forwarded { backend, line, via } => Cell {
                    prefix,
                    forwarded: true,
                    status: None,
                    line,
                    backend: Some(backend.name.clone()),
                    via: via.map(|v| v.name.clone()),
                    uncertain: None,
                },
                Decision::Uncertain { line } => Cell {
                    prefix,
                    forwarded: false,
                    status: None,
                    line: None,
                    backend: None,
                    via: None,
                    uncertain: Some(line),
                },
            })
            .collect();
        let allowed = cells.iter().any(|c| c.forwarded);
        rows.push(Row {
            route: route.id,
            name: req.name.clone(),
            allowed,
            uncertain: !allowed && cells.iter().any(|c| c.uncertain.is_some()),
            cells,
        });
    }
    Ok(Matrix {
        frontend: entry.name.clone(),
        line: entry.line,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::eval::{compile, Dialect, Outcome};
    use crate::haproxy::syntax::{parse, Env};
    use crate::haproxy::version::Version;

    /// Frontends that share a program (`a`, `b`: the same rules, other lines, a named ACL
    /// defined after its use), that differ only in an ACL's definition (`c`), in whether the
    /// backend has their own name (`d`, `e`), listens that are their own backends, and a
    /// backend with rules of its own.
    const CONFIG: &str = "\
defaults
    mode http

frontend a
    bind :2375
    http-request set-var(txn.p) path,url_dec
    http-request deny if { var(txn.p) -m sub % }
    http-request allow if is_get { var(txn.p) -m reg ^/(v[0-9.]+/)?containers/json$ }
    http-request allow if { method HEAD } { path_reg ^/(v[0-9.]+/)?_ping$ }
    http-request deny deny_status 404 if { req.hdr(upgrade) -m found }
    acl is_get method GET
    use_backend checked if { path_beg /v1.24 }
    default_backend docker

frontend b


    bind :2376
    http-request set-var(txn.p) path,url_dec
    http-request deny if { var(txn.p) -m sub % }
    http-request allow if is_get { var(txn.p) -m reg ^/(v[0-9.]+/)?containers/json$ }
    http-request allow if { method HEAD } { path_reg ^/(v[0-9.]+/)?_ping$ }
    http-request deny deny_status 404 if { req.hdr(upgrade) -m found }
    acl is_get method GET
    use_backend checked if { path_beg /v1.24 }
    default_backend docker

frontend c
    bind :2377
    http-request set-var(txn.p) path,url_dec
    http-request deny if { var(txn.p) -m sub % }
    http-request allow if is_get { var(txn.p) -m reg ^/(v[0-9.]+/)?containers/json$ }
    http-request allow if { method HEAD } { path_reg ^/(v[0-9.]+/)?_ping$ }
    http-request deny deny_status 404 if { req.hdr(upgrade) -m found }
    acl is_get method POST
    use_backend checked if { path_beg /v1.24 }
    default_backend docker

frontend d
    bind :2378
    http-request allow if { method GET }
    default_backend d

frontend e
    bind :2379
    http-request allow if { method GET }
    default_backend d

backend d
    http-request deny if { path_beg /v1.44 }
    server s unix@/run/docker.sock

backend checked
    http-request allow if { method GET } { path_end /json }
    http-request deny
    server s unix@/run/docker.sock

backend docker
    server s unix@/run/docker.sock

listen l1
    bind :2380
    http-request deny if { method DELETE }
    server s unix@/run/docker.sock

listen l2
    bind :2381
    http-request deny if { method DELETE }
    server s unix@/run/docker.sock
";

    /// The matrix of `entry` as `compute` made it before decisions were shared: every request
    /// evaluated on its own.
    fn one_by_one(catalog: &Catalog, model: &Model, entry: &Proxy) -> Vec<Vec<Cell>> {
        catalog
            .routes()
            .iter()
            .map(|route| {
                let mut headers = vec![("Host".to_string(), "docker".to_string())];
                if route.traits.hijack {
                    headers.push(("Connection".into(), "Upgrade".into()));
                    headers.push(("Upgrade".into(), "tcp".into()));
                }
                PREFIXES
                    .iter()
                    .map(|prefix| {
                        let target = format!("{prefix}{}", route.example_path());
                        let request = Request {
                            method: route.method.as_str(),
                            target: &target,
                            headers: &headers,
                        };
                        let outcome = model.evaluate(entry, &request).unwrap();
                        Cell {
                            prefix,
                            forwarded: outcome.forwarded(),
                            status: match &outcome {
                                Outcome::Answered { status, .. } => Some(*status),
                                Outcome::Forwarded { .. } | Outcome::Uncertain { .. } => None,
                            },
                            line: outcome.line(),
                            backend: match outcome {
                                Outcome::Forwarded { backend, .. } => Some(backend),
                                Outcome::Answered { .. } | Outcome::Uncertain { .. } => None,
                            },
                            via: None,
                            uncertain: None,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn shared_decisions_are_each_entrys_own() {
        let catalog = Catalog::builtin();
        let parsed = parse(CONFIG, &Env::new(), Version::parse("3.2").unwrap());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        for dialect in [Dialect::HAPROXY_2_6, Dialect::HAPROXY_3_2] {
            let model = compile(&parsed, dialect);
            assert!(model.unevaluable.is_empty(), "{:?}", model.unevaluable);
            let names: Vec<&str> = model.entries().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["a", "b", "c", "d", "e", "l1", "l2"]);
            let entry = |name: &str| model.entries().find(|p| p.name == name).unwrap();
            assert!(model.same_program(entry("a"), entry("b")));
            for (x, y) in [("a", "c"), ("d", "e"), ("l1", "l2")] {
                assert!(!model.same_program(entry(x), entry(y)), "{x} and {y}");
            }
            // Twice: the second round finds no shared decisions left and evaluates again.
            for _ in 0..2 {
                for entry in model.entries() {
                    let m = compute(catalog, &model, entry).unwrap();
                    let expected = one_by_one(catalog, &model, entry);
                    let got: Vec<Vec<Cell>> = m.rows.into_iter().map(|r| r.cells).collect();
                    assert_eq!(
                        serde_json::to_string(&got).unwrap(),
                        serde_json::to_string(&expected).unwrap(),
                        "frontend {}",
                        entry.name
                    );
                }
            }
        }
    }
}
