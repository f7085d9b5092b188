//! The effective permission matrix of one frontend: every catalog route, bare and with version
//! prefixes, with realistic ids, allowed or denied, and the line of the rule that decided.

use serde::Serialize;

use super::eval::{Model, Outcome, Proxy, Request};
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(skip)]
    pub route: RouteId,
    /// `GET /containers/{name}/json`
    pub name: String,
    /// Forwarded in at least one form.
    pub allowed: bool,
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
            .find(|c| c.forwarded == self.allowed)
            .and_then(|c| c.line)
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

    pub fn row(&self, route: RouteId) -> &Row {
        &self.rows[route.0]
    }
}

/// Evaluates every route of `catalog` on `entry`. Errors name a broken config (an undefined
/// ACL or backend), which HAProxy itself would refuse.
pub fn compute(catalog: &Catalog, model: &Model, entry: &Proxy) -> Result<Matrix, String> {
    let mut rows = Vec::with_capacity(catalog.routes().len());
    for route in catalog.routes() {
        let path = route.example_path();
        let mut headers = vec![("Host".to_string(), "docker".to_string())];
        if route.traits.hijack {
            // As the docker CLI asks for attach and exec.
            headers.push(("Connection".into(), "Upgrade".into()));
            headers.push(("Upgrade".into(), "tcp".into()));
        }
        let mut cells = Vec::with_capacity(PREFIXES.len());
        for prefix in PREFIXES {
            let target = format!("{prefix}{path}");
            let outcome = model.evaluate(
                entry,
                &Request {
                    method: route.method.as_str(),
                    target: &target,
                    headers: &headers,
                },
            )?;
            cells.push(Cell {
                prefix,
                forwarded: outcome.forwarded(),
                status: match &outcome {
                    Outcome::Answered { status, .. } => Some(*status),
                    Outcome::Forwarded { .. } => None,
                },
                line: outcome.line(),
                backend: match &outcome {
                    Outcome::Forwarded { backend, .. } => Some(backend.clone()),
                    Outcome::Answered { .. } => None,
                },
            });
        }
        rows.push(Row {
            route: route.id,
            name: route.display(),
            allowed: cells.iter().any(|c| c.forwarded),
            cells,
        });
    }
    Ok(Matrix {
        frontend: entry.name.clone(),
        line: entry.line,
        rows,
    })
}
