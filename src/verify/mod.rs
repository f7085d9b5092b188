//! `verify`: send one harmless probe per catalog route through a running proxy and compare what
//! got through with what the policy expects.
//!
//! A 403 is the proxy denying the request; any other answer (404 for the missing object, 400 for
//! the rejected body, ...) means the request reached the daemon. Each route is probed with and
//! without the `/vX.Y` prefix clients put in front, since a proxy may treat the two differently.

pub mod client;
pub mod probes;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::catalog::{Catalog, RouteId};
use crate::policy::Policy;
use crate::{Error, Result};

pub use client::Target;
use probes::Plan;

/// The API version put in front of the prefixed probes when the daemon does not tell its own:
/// the lowest that Docker 29 accepts.
pub const FALLBACK_API_VERSION: &str = "1.44";

/// What the proxy is expected to let through.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// How the expectation was given (`preset traefik`, `flags CONTAINERS=1`).
    pub description: String,
    pub allowed: BTreeSet<RouteId>,
}

impl Expectation {
    /// The union of every client's grants: a single listener is probed.
    pub fn from_policy(policy: &Policy, description: impl Into<String>) -> Expectation {
        Expectation {
            description: description.into(),
            allowed: policy.granted(),
        }
    }
}

/// What lint's evaluator says a frontend of `config` lets through, in every form a client of
/// today sends (a route that passes only with some version prefixes counts as denied).
pub fn expectation_from_config(
    catalog: &Catalog,
    path: &std::path::Path,
    env: &crate::haproxy::syntax::Env,
    frontend: Option<&str>,
    pattern_files: &[crate::lint::patterns::GivenPatternFile],
) -> Result<Expectation> {
    use crate::haproxy::{eval, matrix};
    let text = crate::lint::read(path)?;
    // A running proxy's version is not known here: judge as the compose service runs it.
    let version = crate::haproxy::version::Version::parse(crate::lint::DEFAULT_HAPROXY_VERSION)
        .expect("the default version is supported");
    let parsed = crate::haproxy::parse(path, &text, env, version)?;
    let at = |line: usize, message: String| Error::Malformed {
        location: crate::error::Location {
            file: path.to_path_buf(),
            line,
            column: None,
        },
        message,
    };
    // ACL files as lint reads them: given, or beside the config under `default-path config`.
    let (files, _) = crate::lint::patterns::resolve(path, &parsed, version, pattern_files)?;
    let model = eval::compile_with(&parsed, version.dialect().expect("supported"), &files);
    if let Some(u) = model.unevaluable.first() {
        return Err(at(
            u.line,
            format!(
                "{} cannot be evaluated, so the expected policy is unknown; use --preset or --flag",
                u.what
            ),
        ));
    }
    let entries: Vec<_> = model.entries().collect();
    let entry = match frontend {
        Some(name) => entries.iter().find(|p| p.name == name).copied(),
        None if entries.len() == 1 => Some(entries[0]),
        None => None,
    }
    .ok_or_else(|| {
        Error::Invalid(format!(
            "{}: pick the frontend the target listens on with --frontend (one of: {})",
            path.display(),
            entries
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let m = matrix::compute(catalog, &model, entry).map_err(|e| at(entry.line, e))?;
    Ok(Expectation {
        description: format!("config {} (frontend {})", path.display(), entry.name),
        allowed: m
            .rows
            .iter()
            .filter(|r| r.fully_allowed())
            .map(|r| r.route)
            .collect(),
    })
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub target: Target,
    /// Per connection and per read.
    pub timeout: Duration,
    /// The version of the prefixed probes; by default the one the daemon reports.
    pub api_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Denied,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
        }
    }
}

/// One request sent for a route.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    /// `GET /v1.41/containers/_spg-verify-probe_/json`
    pub request: String,
    pub status: Option<u16>,
    /// Why there is no status (timeout, reset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProbeResult {
    fn verdict(&self) -> Option<Verdict> {
        match self.status {
            Some(403) => Some(Verdict::Denied),
            Some(_) => Some(Verdict::Allowed),
            None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mismatch {
    /// Reached the daemon, but the policy does not grant it.
    OverGrant,
    /// The policy grants it, but the proxy denied at least one form of it: the client breaks.
    UnderGrant,
    /// No answer to a probe, so nothing can be said.
    NoAnswer,
    /// A body that asks for host access (privileged, a bind of /) reached the daemon: whoever
    /// may call the route is root on the host.
    UnguardedBody,
}

impl Mismatch {
    pub fn describe(self) -> &'static str {
        match self {
            Mismatch::OverGrant => "allowed, but the policy does not grant it",
            Mismatch::UnderGrant => "granted by the policy, but denied",
            Mismatch::NoAnswer => "no answer, so not verified",
            Mismatch::UnguardedBody => {
                "a privileged body reached the daemon: no sound body guard (root-equivalent)"
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    /// `GET /containers/{name}/json`
    pub route: String,
    pub expected: Verdict,
    /// None when the route was not probed, or a probe got no answer.
    pub observed: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<Mismatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
    /// Why the probe cannot change state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub harmless_because: Vec<&'static str>,
    /// Why the route was not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_probed: Option<&'static str>,
    /// The body-guard probes of a route that lets a body ask for host access.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub body_probes: Vec<ProbeResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_probe_harmless_because: Option<&'static str>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub routes: usize,
    pub probed: usize,
    pub requests: usize,
    pub allowed: usize,
    pub denied: usize,
    pub mismatches: usize,
    pub over_grants: usize,
    pub under_grants: usize,
    pub no_answer: usize,
    pub not_probed: usize,
    /// Routes whose body-guard probe reached the daemon.
    pub unguarded_bodies: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// RFC 3339, UTC, seconds.
    pub date: String,
    pub target: String,
    pub policy: String,
    /// The `/vX.Y` prefix of the prefixed probes.
    pub api_version: String,
    /// The `Api-Version` the daemon reported on `/_ping`, if the proxy let that through.
    pub daemon_api_version: Option<String>,
    pub notes: Vec<String>,
    pub summary: Summary,
    pub routes: Vec<RouteReport>,
}

impl Report {
    pub fn mismatches(&self) -> impl Iterator<Item = &RouteReport> {
        self.routes.iter().filter(|r| r.mismatch.is_some())
    }

    pub fn not_probed(&self) -> impl Iterator<Item = &RouteReport> {
        self.routes.iter().filter(|r| r.not_probed.is_some())
    }
}

/// Checks that a Docker API answers behind the target; returns its API version if the proxy
/// lets `/_ping` through, and a note when it does not.
fn check_target(options: &VerifyOptions) -> Result<(Option<String>, Vec<String>)> {
    let target = options.target.to_string();
    let unreachable = |reason: String| Error::Unreachable {
        target: target.clone(),
        reason,
    };
    let answer = client::send(&options.target, "GET", "/_ping", None, b"", options.timeout)
        .map_err(|e| match e {
            client::Failure::NotHttp => Error::NotDockerApi {
                target: target.clone(),
                reason: "it does not answer HTTP".into(),
            },
            other => unreachable(other.to_string()),
        })?;
    match answer.status {
        403 => Ok((
            None,
            vec![
                "the proxy denies GET /_ping, so the daemon behind it could not be confirmed"
                    .into(),
            ],
        )),
        502..=504 => Err(unreachable(format!(
            "it answers GET /_ping with {}: the proxy runs, but its Docker socket does not answer",
            answer.status
        ))),
        status => match answer.api_version {
            Some(v) => Ok((Some(v), Vec::new())),
            None => Err(Error::NotDockerApi {
                target,
                reason: format!("GET /_ping answered {status} without an Api-Version header"),
            }),
        },
    }
}

/// Probes every catalog route through the proxy and compares with `expected`.
pub fn run(catalog: &Catalog, expected: &Expectation, options: &VerifyOptions) -> Result<Report> {
    let (daemon_api_version, notes) = check_target(options)?;
    let api_version = options
        .api_version
        .clone()
        .or_else(|| daemon_api_version.clone())
        .unwrap_or_else(|| FALLBACK_API_VERSION.into());
    let mut summary = Summary {
        routes: catalog.routes().len(),
        ..Summary::default()
    };
    let mut routes = Vec::new();
    for route in catalog.routes() {
        let expected_verdict = if expected.allowed.contains(&route.id) {
            Verdict::Allowed
        } else {
            Verdict::Denied
        };
        let mut report = RouteReport {
            route: route.display(),
            expected: expected_verdict,
            observed: None,
            mismatch: None,
            probes: Vec::new(),
            harmless_because: Vec::new(),
            not_probed: None,
            body_probes: Vec::new(),
            body_probe_harmless_because: None,
        };
        let probe = match probes::plan(route) {
            Some(Plan::Send(probe)) => probe,
            Some(Plan::Skip(why)) => {
                report.not_probed = Some(why);
                summary.not_probed += 1;
                routes.push(report);
                continue;
            }
            None => {
                return Err(Error::Invalid(format!(
                    "internal: no probe plan for {}",
                    route.key()
                )))
            }
        };
        report.harmless_because = probe.why.to_vec();
        let path = probes::probe_path(route);
        for prefix in [String::new(), format!("/v{api_version}")] {
            let mut target = format!("{prefix}{path}");
            if !probe.query.is_empty() {
                target.push('?');
                target.push_str(probe.query);
            }
            let sent = client::send(
                &options.target,
                route.method.as_str(),
                &target,
                probe.body.content_type(),
                probe.body.bytes(),
                options.timeout,
            );
            report.probes.push(ProbeResult {
                request: format!("{} {target}", route.method),
                status: sent.as_ref().ok().map(|a| a.status),
                error: sent.err().map(|e| e.to_string()),
            });
        }
        summary.probed += 1;
        summary.requests += report.probes.len();
        let verdicts: Vec<Option<Verdict>> = report.probes.iter().map(|p| p.verdict()).collect();
        report.observed = if verdicts.contains(&Some(Verdict::Allowed)) {
            Some(Verdict::Allowed)
        } else if verdicts.contains(&None) {
            None
        } else {
            Some(Verdict::Denied)
        };
        report.mismatch = match (expected_verdict, report.observed) {
            (_, None) => Some(Mismatch::NoAnswer),
            (Verdict::Denied, Some(Verdict::Allowed)) => Some(Mismatch::OverGrant),
            // Granted: every form a client may send must pass.
            (Verdict::Allowed, _) if verdicts.iter().any(|v| *v != Some(Verdict::Allowed)) => {
                Some(Mismatch::UnderGrant)
            }
            _ => None,
        };
        // A route that lets a body through must refuse one that asks for host access.
        if let (Some(Verdict::Allowed), Some(kind)) =
            (report.observed, crate::guard::BodyKind::of(route))
        {
            let (old_prefix, body, why) = probes::body_probe(kind);
            let prefixes = match old_prefix {
                Some(p) => vec![p.to_string()],
                None => vec![String::new(), format!("/v{api_version}")],
            };
            for prefix in prefixes {
                let target = format!("{prefix}{path}");
                let sent = client::send(
                    &options.target,
                    route.method.as_str(),
                    &target,
                    Some("application/json"),
                    body,
                    options.timeout,
                );
                report.body_probes.push(ProbeResult {
                    request: format!("{} {target} (privileged body)", route.method),
                    status: sent.as_ref().ok().map(|a| a.status),
                    error: sent.err().map(|e| e.to_string()),
                });
            }
            report.body_probe_harmless_because = Some(why);
            summary.requests += report.body_probes.len();
            let through = report
                .body_probes
                .iter()
                .any(|p| p.status.is_some_and(|s| s != 403));
            if through {
                summary.unguarded_bodies += 1;
                if report.mismatch.is_none() {
                    report.mismatch = Some(Mismatch::UnguardedBody);
                }
            }
        }
        match report.observed {
            Some(Verdict::Allowed) => summary.allowed += 1,
            Some(Verdict::Denied) => summary.denied += 1,
            None => {}
        }
        match report.mismatch {
            Some(Mismatch::OverGrant) => summary.over_grants += 1,
            Some(Mismatch::UnderGrant) => summary.under_grants += 1,
            Some(Mismatch::NoAnswer) => summary.no_answer += 1,
            // Counted with the body probes above.
            Some(Mismatch::UnguardedBody) | None => {}
        }
        routes.push(report);
    }
    summary.mismatches = routes.iter().filter(|r| r.mismatch.is_some()).count();
    Ok(Report {
        date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        target: options.target.to_string(),
        policy: expected.description.clone(),
        api_version,
        daemon_api_version,
        notes,
        summary,
        routes,
    })
}

/// The Markdown report (a security verification report to keep with the deployment).
pub fn markdown(report: &Report) -> String {
    crate::template::render(
        "verify-report.md",
        include_str!("../../templates/verify-report.md.j2"),
        report,
    )
}
