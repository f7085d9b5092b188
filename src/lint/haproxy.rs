//! Lint of an HAProxy config: parse, evaluate every frontend's permission matrix, compare it
//! with the baseline, and look for bypass-prone patterns and missing hardening.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::patterns;
use super::{families, list, Code, FileKind, FileReport, Finding, LintOptions};
use crate::catalog::{Catalog, RouteId};
use crate::error::{Error, Location, Result};
use crate::haproxy::eval::{self, Model, PatternFiles};
use crate::haproxy::keywords::{self, Effect};
use crate::haproxy::matrix::{self, Matrix};
use crate::haproxy::syntax::{self as config, Config, Directive, Section, SectionKind};
use crate::policy::Policy;
use crate::render::{self, RenderInputs};

fn malformed(path: &Path, line: usize, column: Option<usize>, message: String) -> Error {
    Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line,
            column,
        },
        message,
    }
}

/// What a frontend is compared with.
struct Expected {
    label: String,
    routes: BTreeSet<RouteId>,
}

/// The baselines by frontend name (`None` key: applies to every frontend).
struct Baseline {
    label: String,
    by_frontend: BTreeMap<Option<String>, Expected>,
    rendered: Option<String>,
}

impl Baseline {
    fn for_frontend(&self, name: &str) -> Option<&Expected> {
        self.by_frontend
            .get(&Some(name.to_string()))
            .or_else(|| self.by_frontend.get(&None))
    }
}

fn baseline(
    catalog: &Catalog,
    path: &Path,
    parsed: &Config,
    text: &str,
    options: &LintOptions,
    findings: &mut Vec<Finding>,
) -> Result<Option<Baseline>> {
    if let Some((policy, rendered)) = &options.preset_baseline {
        let mut by_frontend = BTreeMap::new();
        for c in &policy.clients {
            by_frontend.insert(
                Some(c.name.clone()),
                Expected {
                    label: format!("the {} preset", c.name),
                    routes: c.grants.iter().map(|g| g.route).collect(),
                },
            );
        }
        by_frontend.insert(
            None,
            Expected {
                label: format!("preset {}", options.presets.join(" + ")),
                routes: policy.granted(),
            },
        );
        return Ok(Some(Baseline {
            label: format!("preset {}", options.presets.join(", ")),
            by_frontend,
            rendered: Some(rendered.clone()),
        }));
    }
    let Some((line, json)) = &parsed.inputs_header else {
        return Ok(None);
    };
    let inputs: RenderInputs = serde_json::from_str(json).map_err(|e| {
        malformed(
            path,
            *line,
            None,
            format!("the sockproxy-gen-inputs header is not valid JSON ({e}); re-render the file"),
        )
    })?;
    // The recorded files are where render found them, beside the config it wrote: relative
    // paths are the config's directory's, not lint's current directory's.
    let dir = path.parent().unwrap_or(Path::new(""));
    let policy = match Policy::build_in(catalog, &inputs.policy, dir) {
        Ok(p) => p,
        Err(e) => {
            findings.push(Finding::new(
                Code::Drift,
                path,
                *line,
                format!("the recorded inputs cannot be rebuilt here ({e}), so the file cannot be compared with them"),
            ));
            return Ok(None);
        }
    };
    let rendered = render::render(catalog, &policy, &inputs)?;
    if rendered != text {
        let changed = lines_not_shared(text, &rendered);
        let what = if changed == 0 {
            "the lines of a fresh render of the recorded inputs are all there, in another order"
                .to_string()
        } else {
            format!("{changed} line(s) differ from a fresh render of the recorded inputs")
        };
        findings.push(Finding::new(
            Code::Drift,
            path,
            *line,
            format!("{what}; `--diff` shows them"),
        ));
    }
    let by_frontend = policy
        .clients
        .iter()
        .map(|c| {
            (
                Some(c.name.clone()),
                Expected {
                    label: format!("the recorded policy of `{}`", c.name),
                    routes: c.grants.iter().map(|g| g.route).collect(),
                },
            )
        })
        .collect();
    Ok(Some(Baseline {
        label: "the file's sockproxy-gen header".into(),
        by_frontend,
        rendered: Some(rendered),
    }))
}

/// How many lines one text has that the other lacks (counted with repeats), in linear time: a
/// minimal diff (Myers) is quadratic in the worst case, and a hand-edited 50 MB file is one.
fn lines_not_shared(a: &str, b: &str) -> usize {
    let mut counts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for line in a.lines() {
        *counts.entry(line).or_default() += 1;
    }
    for line in b.lines() {
        *counts.entry(line).or_default() -= 1;
    }
    counts.values().map(|n| n.unsigned_abs() as usize).sum()
}

/// Rows grouped by the line that decided them (None sorts first: the frontend's own line).
fn by_line<'m>(
    rows: impl Iterator<Item = &'m matrix::Row>,
) -> BTreeMap<Option<usize>, Vec<String>> {
    let mut out: BTreeMap<Option<usize>, Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry(r.deciding_line())
            .or_default()
            .push(r.name.clone());
    }
    out
}

/// What a frontend lacks of the body guard sockproxy-gen writes for `kind` (empty: sound). The
/// checks are recognised by their exact regexes; the ones an allow-list changes by their key.
fn body_guard_gaps(section: &Section, kind: crate::guard::BodyKind) -> Vec<String> {
    use crate::guard;
    let words: BTreeSet<&str> = section
        .directives
        .iter()
        .flat_map(|d| d.words().map(|w| w.text))
        .collect();
    let mut missing = Vec::new();
    // The checks that make a body judgeable come first: without them the others see a part.
    let framing = [
        ("wait-for-body", "wait-for-body"),
        ("content-encoding", "req.hdr(content-encoding)"),
        ("too-large", "req.body_size"),
        ("nul", "req.body,length,sub(txn.spg_body_len)"),
    ];
    for (name, word) in framing {
        let buffered = name == "wait-for-body" && words.contains("http-buffer-request");
        if !words.contains(word) && !buffered {
            missing.push(name.to_string());
        }
    }
    let allow_listed = ["binds", "cap-add", "user", "mount-source"];
    // Whether `found` finds check `c`: its exact regex, or for the checks an allow-list
    // changes, its key.
    let finds = |c: &guard::Check, found: &dyn Fn(&str, bool) -> bool| {
        if allow_listed.contains(&c.name.as_str()) {
            let key_prefix = &c.regex[..c.regex.find(":(?!").map_or(c.regex.len(), |i| i + 4)];
            found(key_prefix, true)
        } else if c.name == "mount-bind" {
            // With allow-listed host paths the guard checks each mount's Source instead.
            found(&c.regex, false) || found(r#""source"\s*:(?!"#, true)
        } else {
            found(&c.regex, false)
        }
    };
    let profile = guard::checks(kind, &guard::Profile::default());
    for c in guard::judgeable_checks()
        .into_iter()
        .chain(profile.iter().cloned())
    {
        let present = finds(&c, &|text, prefix| {
            if prefix {
                words.iter().any(|w| w.starts_with(text))
            } else {
                words.contains(text)
            }
        });
        if !present {
            missing.push(c.name);
        }
    }
    // The one pass that decides whether the checks run at all must hold every check.
    let combined = words.iter().any(|w| {
        w.starts_with("(?:")
            && profile
                .iter()
                .all(|c| finds(c, &|text, _| w.contains(&format!("(?:{text}"))))
    });
    if !combined || !words.contains("set-var(txn.spg_suspect)") {
        missing.push("combined-pass".into());
    }
    missing
}

/// The directive on `line`, with the words of the named ACLs it uses.
fn rule_words(section: &Section, line: usize) -> Vec<&str> {
    let Some(d) = section.directives.iter().find(|d| d.line == line) else {
        return Vec::new();
    };
    let mut words: Vec<&str> = d.words().map(|w| w.text).collect();
    let names: BTreeSet<&str> = words.iter().map(|w| w.trim_start_matches('!')).collect();
    for a in section.directives.iter().filter(|a| a.keyword() == "acl") {
        if a.arg(0).is_some_and(|n| names.contains(n)) {
            words.extend(a.words().skip(2).map(|w| w.text));
        }
    }
    words
}

/// Whether the words match a path by prefix, or by a regex not anchored at the end.
fn prefix_style(words: &[&str]) -> bool {
    words.windows(2).any(|w| {
        let fetch_reg = w[0].contains("path_reg") || w[0].contains("url_reg");
        let method_reg = w[0] == "reg";
        w[0].contains("path_beg")
            || w[0].contains("url_beg")
            || (w[0] == "beg" && !w[1].ends_with(':'))
            // A regex list in a `-f` file is judged by its verdicts, not its words.
            || ((fetch_reg || method_reg) && !w[1].ends_with('$') && w[1] != "-f")
    })
}

fn compare(
    catalog: &Catalog,
    path: &Path,
    section: &Section,
    m: &Matrix,
    expected: Option<&Expected>,
    findings: &mut Vec<Finding>,
) {
    let frontend_line = |l: Option<usize>| l.unwrap_or(m.line);
    let dangerous = |id: RouteId| catalog.get(id).traits.dangerous;
    if let Some(exp) = expected {
        let over = by_line(m.allowed().filter(|r| !exp.routes.contains(&r.route)));
        for (line, names) in over {
            findings.push(Finding::new(
                Code::OverGrant,
                path,
                frontend_line(line),
                format!(
                    "frontend `{}`: {} route(s) that {} does not grant pass here: {}",
                    m.frontend,
                    names.len(),
                    exp.label,
                    list(&names)
                ),
            ));
        }
        let denied = by_line(
            exp.routes
                .iter()
                .map(|id| m.row(*id))
                .filter(|r| r.denied()),
        );
        for (line, names) in denied {
            findings.push(Finding::new(
                Code::UnderGrant,
                path,
                frontend_line(line),
                format!(
                    "frontend `{}`: {} route(s) that {} grants are denied, so the client breaks: {}",
                    m.frontend,
                    names.len(),
                    exp.label,
                    list(&names)
                ),
            ));
        }
        let pinned: Vec<String> = exp
            .routes
            .iter()
            .map(|id| m.row(*id))
            .filter(|r| {
                // The forms that do not pass are refused for certain.
                r.allowed && !r.fully_allowed() && r.cells.iter().all(|c| c.uncertain.is_none())
            })
            .map(|r| {
                let ok: Vec<&str> = r
                    .cells
                    .iter()
                    .filter(|c| c.forwarded)
                    .map(|c| {
                        if c.prefix.is_empty() {
                            "no prefix"
                        } else {
                            c.prefix
                        }
                    })
                    .collect();
                format!("{} (only {})", r.name, ok.join(", "))
            })
            .collect();
        if !pinned.is_empty() {
            findings.push(Finding::new(
                Code::PinnedApiVersion,
                path,
                m.line,
                format!(
                    "frontend `{}`: {} granted route(s) pass only with some version prefixes; clients on other API versions break: {}",
                    m.frontend,
                    pinned.len(),
                    list(&pinned)
                ),
            ));
        }
    }
    // Without a baseline, dangerous routes are the general risk to name. With one, they are
    // over-grants, or granted on purpose (render already warned when the policy was made).
    let risky = by_line(
        m.allowed()
            .filter(|r| expected.is_none() && dangerous(r.route)),
    );
    for (line, names) in risky {
        findings.push(Finding::new(
            Code::DangerousGrant,
            path,
            frontend_line(line),
            format!(
                "frontend `{}` lets through {} route(s) that can take over the host or read its data: {}",
                m.frontend,
                names.len(),
                list(&names)
            ),
        ));
    }
    // A prefix or end-unanchored rule that opens dangerous routes.
    for (line, names) in by_line(m.allowed().filter(|r| dangerous(r.route))) {
        let Some(line) = line else { continue };
        if prefix_style(&rule_words(section, line)) {
            findings.push(Finding::new(
                Code::PrefixOpensDangerous,
                path,
                line,
                format!(
                    "this prefix rule opens {} route(s) that can take over the host: {}",
                    names.len(),
                    list(&names)
                ),
            ));
        }
    }
    // Routes whose body can ask for host access need a sound body guard in this frontend.
    let mut unguarded: BTreeMap<Option<usize>, Vec<String>> = BTreeMap::new();
    let mut missing_all: Vec<String> = Vec::new();
    for r in m.allowed() {
        let Some(kind) = crate::guard::BodyKind::of(catalog.get(r.route)) else {
            continue;
        };
        let missing = body_guard_gaps(section, kind);
        if !missing.is_empty() {
            unguarded
                .entry(r.deciding_line())
                .or_default()
                .push(r.name.clone());
            for name in missing {
                if !missing_all.contains(&name) {
                    missing_all.push(name);
                }
            }
        }
    }
    for (line, names) in unguarded {
        let missing = &missing_all;
        findings.push(Finding::new(
            Code::UnguardedBody,
            path,
            frontend_line(line),
            format!(
                "frontend `{}` lets through {} without a sound body guard (missing: {}): a client can create a privileged container or bind / and is root on the host",
                m.frontend,
                list(&names),
                list(missing)
            ),
        ));
    }
    let get_ping = catalog
        .find(crate::catalog::Method::Get, "/_ping")
        .map(|r| m.row(r.id));
    let head_ping = catalog
        .find(crate::catalog::Method::Head, "/_ping")
        .map(|r| m.row(r.id));
    if let (Some(get), Some(head)) = (get_ping, head_ping) {
        let head_expected = expected.is_some_and(|e| e.routes.contains(&head.route));
        if get.allowed && head.denied() && !head_expected {
            findings.push(Finding::new(
                Code::HeadPingRefused,
                path,
                frontend_line(head.deciding_line()),
                format!(
                    "frontend `{}`: GET /_ping passes but HEAD /_ping is denied; Go clients negotiate the API version with HEAD /_ping",
                    m.frontend
                ),
            ));
        }
    }
}

/// ACLs on the raw path, or path regexes without anchors, in allow decisions: `deny unless`
/// rules, and `allow` rules that let at least one route through (`allowing`).
fn bypass_prone(
    path: &Path,
    section: &Section,
    allowing: &BTreeSet<usize>,
    files: &PatternFiles,
    findings: &mut Vec<Finding>,
) {
    let deciding: Vec<&Directive> = section
        .directives
        .iter()
        .filter(|d| d.keyword() == "http-request")
        .filter(|d| {
            let a = d.arg(0).unwrap_or("");
            let has = |w: &str| d.words().skip(1).any(|x| x.text == w);
            (a == "allow" && allowing.contains(&d.line))
                || ((a == "deny" || a == "return") && has("unless"))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut check = |words: &[config::Word], line: usize, findings: &mut Vec<Finding>| {
        let Some(fetch) = words.first() else { return };
        let f = fetch.text;
        let on_path = ["path", "url"]
            .iter()
            .any(|p| f == *p || f.starts_with(&format!("{p},")) || f.starts_with(&format!("{p}_")));
        if !on_path || !seen.insert((line, fetch.span.column())) {
            return;
        }
        let is_reg = f.contains("_reg")
            || words
                .windows(2)
                .any(|w| w[0].text == "-m" && w[1].text == "reg");
        if is_reg {
            // The last inline pattern (never a word after `-f`, `-m` or `-u`), and every
            // pattern of each `-f` file lint read.
            let pattern = words.iter().enumerate().rev().find(|(i, w)| {
                let after_flag = *i > 0 && matches!(words[i - 1].text, "-f" | "-m" | "-u");
                !w.text.starts_with('-') && !after_flag
            });
            let unanchored = |p: &str| !(p.starts_with('^') && p.ends_with('$'));
            if let Some((_, p)) = pattern.filter(|(i, _)| *i > 0) {
                if unanchored(p.text) {
                    findings.push(
                        Finding::new(
                            Code::UnanchoredRegex,
                            path,
                            line,
                            format!("`{}` is not anchored at both ends (`^...$`): it also matches every path that continues it", p.text),
                        )
                        .at(p.span.column(), p.span.width()),
                    );
                }
            }
            for (i, w) in words.iter().enumerate().skip(1) {
                if words[i - 1].text != "-f" {
                    continue;
                }
                let Some(contents) = files.contents(w.text) else {
                    continue;
                };
                let patterns =
                    eval::file_patterns(&contents, false, usize::MAX).unwrap_or_default();
                for p in patterns {
                    let p = String::from_utf8_lossy(&p);
                    if unanchored(&p) {
                        findings.push(
                            Finding::new(
                                Code::UnanchoredRegex,
                                path,
                                line,
                                format!("`{p}` (in {}) is not anchored at both ends (`^...$`): it also matches every path that continues it", w.text),
                            )
                            .at(w.span.column(), w.span.width()),
                        );
                    }
                }
            }
        }
    };
    for d in deciding {
        let args = d.args();
        let Some(cond_at) = args
            .iter()
            .position(|w| w.text == "if" || w.text == "unless")
        else {
            continue;
        };
        let cond = &args[cond_at + 1..];
        let mut i = 0;
        while i < cond.len() {
            let t = cond[i].text.trim_start_matches('!');
            if t == "{" || (t.is_empty() && cond.get(i + 1).is_some_and(|w| w.text == "{")) {
                let open = if t.is_empty() { i + 1 } else { i };
                let close = cond[open..]
                    .iter()
                    .position(|w| w.text == "}")
                    .map_or(cond.len(), |c| c + open);
                check(&cond[open + 1..close], d.line, findings);
                i = close + 1;
                continue;
            }
            for acl in section
                .directives
                .iter()
                .filter(|a| a.keyword() == "acl" && a.arg(0) == Some(t))
            {
                check(&acl.args()[1..], acl.line, findings);
            }
            i += 1;
        }
    }
}

/// A request that reaches a route the frontend does not let through in plain form.
#[derive(Debug, Clone)]
struct Bypass {
    method: String,
    target: String,
    /// The route the daemon runs.
    route: String,
    /// The rule that let it through.
    line: Option<usize>,
}

/// A frontend's bypasses, each with the place of its deciding rule among the frontend's rules
/// (binds aside), or `None` when the rule is elsewhere (a backend).
type FoundBypasses = Vec<(Bypass, Option<usize>)>;

/// The bypass search, once per (file without binds and header, frontend rules) and process.
fn cached_bypasses(
    key: (u64, Vec<String>),
    search: impl FnOnce() -> FoundBypasses,
) -> FoundBypasses {
    type Cache = std::sync::Mutex<std::collections::HashMap<(u64, Vec<String>), FoundBypasses>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return found.clone();
    }
    let found = search();
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, found.clone());
    found
}

/// Searches variants of every route the frontend denies in plain form (encoded letters and
/// slashes, odd version prefixes) for one that gets through and that the daemon routes to a
/// route outside the frontend's plain verdicts. One finding per route reached.
fn bypasses(catalog: &Catalog, model: &Model, entry: &eval::Proxy, m: &Matrix) -> Vec<Bypass> {
    use crate::haproxy::daemon::{self, Daemon};
    let allowed: BTreeSet<RouteId> = m.allowed().map(|r| r.route).collect();
    let mut found: BTreeMap<RouteId, Bypass> = BTreeMap::new();
    for route in catalog.routes().iter().filter(|r| !allowed.contains(&r.id)) {
        // The headers the matrix sends for the route: a hijacking route is asked for with its
        // upgrade, as the docker CLI asks (without it the handler does not hijack).
        let mut headers = vec![("Host".to_string(), "docker".to_string())];
        if route.traits.hijack {
            headers.push(("Connection".into(), "Upgrade".into()));
            headers.push(("Upgrade".into(), "tcp".into()));
        }
        for (method, target) in daemon::variants(route) {
            let request = eval::Request {
                method,
                target,
                headers: &headers,
            };
            let Ok(outcome) = model.evaluate(entry, &request) else {
                continue;
            };
            if !outcome.forwarded() {
                continue;
            }
            if let Daemon::Handler(reached) = daemon::route(catalog, method, target) {
                if !allowed.contains(&reached.id) && !found.contains_key(&reached.id) {
                    found.insert(
                        reached.id,
                        Bypass {
                            method: method.clone(),
                            target: target.clone(),
                            route: reached.display(),
                            line: outcome.line(),
                        },
                    );
                }
            }
        }
    }
    found.into_values().collect()
}

/// HAProxy durations: a number with an optional unit (ms by default).
fn duration_ms(s: &str) -> Option<u64> {
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().ok()?;
    let unit = &s[digits.len()..];
    Some(match unit {
        "" | "ms" => n,
        "us" => n / 1000,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return None,
    })
}

fn timeout(section: &Section, defaults: Option<&Section>, which: &str) -> Option<(String, usize)> {
    let find = |s: &Section| {
        s.directives
            .iter()
            .rev()
            .find(|d| d.keyword() == "timeout" && d.arg(0) == Some(which))
            .and_then(|d| d.arg(1).map(|v| (v.to_string(), d.line)))
    };
    find(section).or_else(|| defaults.and_then(find))
}

const QUIET_LEVELS: &[&str] = &["emerg", "alert", "crit", "err", "warning", "notice"];
const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// What the checks after the frontend loop need of a judged frontend (its matrix is kept only
/// when the output prints it).
struct Judged<'c> {
    section: &'c Section,
    frontend: String,
    /// Some route is forwarded for certain.
    allows_any: bool,
}

fn hardening(
    path: &Path,
    parsed: &Config,
    entries: &[&Judged],
    stream_backends: &BTreeMap<String, (bool, bool)>,
    findings: &mut Vec<Finding>,
) {
    let defaults = parsed.sections_of(SectionKind::Defaults).last();
    for s in &parsed.sections {
        for d in &s.directives {
            if d.keyword() == "option"
                && matches!(d.arg(0), Some("http-server-close" | "httpclose"))
            {
                findings.push(Finding::new(
                    Code::ServerClose,
                    path,
                    d.line,
                    format!("`option {}` closes the daemon connection after every request (Tecnativa's config measured about 0.55 of a keep-alive proxy's throughput)", d.arg(0).unwrap_or_default()),
                ));
            }
            if d.keyword() == "log" && d.arg(0) != Some("global") {
                let words: Vec<&str> = d.words().skip(1).map(|w| w.text).collect();
                if let Some(f) = words.iter().position(|w| FACILITIES.contains(w)) {
                    if let Some(level) = words.get(f + 1).filter(|l| QUIET_LEVELS.contains(l)) {
                        findings.push(Finding::new(
                            Code::QuietLogLevel,
                            path,
                            d.line,
                            format!("log level `{level}` drops every request line, denials included; use `info`"),
                        ));
                    }
                }
            }
        }
    }
    let global_log = parsed
        .sections_of(SectionKind::Global)
        .any(|g| g.directives.iter().any(|d| d.keyword() == "log"));
    for judged in entries {
        let section = judged.section;
        let frontend = &judged.frontend;
        let has = |s: &Section, f: &dyn Fn(&Directive) -> bool| s.directives.iter().any(f);
        let in_either =
            |f: &dyn Fn(&Directive) -> bool| has(section, f) || defaults.is_some_and(|d| has(d, f));
        let format = in_either(&|d| {
            d.keyword() == "log-format" || (d.keyword() == "option" && d.arg(0) == Some("httplog"))
        });
        let target =
            in_either(&|d| d.keyword() == "log" && (d.arg(0) != Some("global") || global_log));
        let silenced = has(section, &|d| d.keyword() == "no" && d.arg(0) == Some("log"));
        if !format || !target || silenced {
            findings.push(Finding::new(
                Code::NoRequestLog,
                path,
                section.line,
                format!("frontend `{frontend}` writes no per-request log line (needs `option httplog` or `log-format`, and a `log` target)"),
            ));
        }
        let observes = |token: &str| {
            section.directives.iter().find(|d| {
                d.keyword() == "http-request"
                    && d.arg(0) == Some("allow")
                    && d.words().any(|w| w.text == format!("{token}:"))
            })
        };
        for (token, mode) in [
            ("would-deny", "report-only (--audit)"),
            ("learn", "learning (--learn)"),
        ] {
            if let Some(d) = observes(token) {
                findings.push(Finding::new(
                    Code::ReportOnly,
                    path,
                    d.line,
                    format!("frontend `{frontend}` is {mode}: requests outside its policy are forwarded and logged as {token}:ROUTE, not denied; re-render without that option to enforce"),
                ));
            }
        }
        let looks_at_upgrade = section.directives.iter().any(|d| {
            d.words().any(|w| {
                let t = w.text.to_ascii_lowercase();
                t.contains("hdr(upgrade)") || t.contains("hdr(connection)")
            })
        });
        if judged.allows_any && !looks_at_upgrade {
            findings.push(Finding::new(
                Code::NoUpgradeControl,
                path,
                section.line,
                format!("frontend `{frontend}` has no rule on Upgrade: a request the daemon upgrades becomes an uninspected tunnel"),
            ));
        }
    }
    for (name, (streams, hijacks)) in stream_backends {
        let Some(backend) = parsed
            .sections
            .iter()
            .find(|s| s.kind.is_proxy() && s.name.as_deref() == Some(name))
        else {
            continue;
        };
        if *streams {
            match timeout(backend, defaults, "server") {
                Some((v, line)) if duration_ms(&v) == Some(0) => findings.push(Finding::new(
                    Code::StreamTimeout,
                    path,
                    line,
                    format!("backend `{name}` carries streams with `timeout server {v}`, which HAProxy treats as missing; use a long explicit value such as 24d"),
                )),
                Some((v, line)) if duration_ms(&v).is_some_and(|ms| ms < 3_600_000) => findings.push(Finding::new(
                    Code::StreamTimeout,
                    path,
                    line,
                    format!("backend `{name}` carries streams (events, logs) but `timeout server {v}` cuts them when idle; send them to a backend with a long timeout such as 24d"),
                )),
                None => findings.push(Finding::new(
                    Code::StreamTimeout,
                    path,
                    backend.line,
                    format!("backend `{name}` carries streams without a `timeout server`"),
                )),
                _ => {}
            }
        }
        if *hijacks && timeout(backend, defaults, "tunnel").is_none() {
            findings.push(Finding::new(
                Code::StreamTimeout,
                path,
                backend.line,
                format!("backend `{name}` carries attach/exec tunnels without a `timeout tunnel`, so `timeout server` cuts idle sessions"),
            ));
        }
    }
}

/// Flags people set together, beside each flag alone (docs/research/real-world.md): Traefik
/// with write access, Watchtower-like, Portainer-like, restarts.
const COMBINATIONS: &[&[&str]] = &[
    &["CONTAINERS", "POST"],
    &["CONTAINERS", "IMAGES", "NETWORKS", "VOLUMES", "POST"],
    &["CONTAINERS", "EXEC", "POST"],
    &["CONTAINERS", "ALLOW_RESTARTS"],
    &["CONTAINERS", "ALLOW_START", "ALLOW_STOP"],
    // Log viewers on linuxserver's image, which denies logs unless ALLOW_LOGS=1 since b31b2ff
    // (docs/research/socket-proxy-flags.md, section 2).
    &["CONTAINERS", "ALLOW_LOGS"],
];

/// The environment variables a config reads: `env(NAME)` fetches and `$NAME` expansions.
pub(super) fn referenced_variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let name_at = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        for (i, _) in code.match_indices("env(") {
            let name = name_at(&code[i + 4..]);
            if !name.is_empty() {
                out.insert(name);
            }
        }
        for (i, _) in code.match_indices('$') {
            let rest = code[i + 1..].trim_start_matches('{');
            let name = name_at(rest);
            if name.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
                out.insert(name);
            }
        }
    }
    out
}

/// Routes whose verdict is uncertain: by the line of what makes them so, then by frontend.
type Uncertain = BTreeMap<usize, BTreeMap<String, Vec<RouteId>>>;

/// One SPG001 finding per construct the evaluator cannot model, with the routes whose verdict
/// depends on it (those are not judged: no other finding counts them as allowed or denied).
fn unevaluable(
    catalog: &Catalog,
    path: &Path,
    model: &Model,
    uncertain: &Uncertain,
    findings: &mut Vec<Finding>,
) {
    let depend = |line: usize| -> Option<String> {
        let by_frontend = uncertain.get(&line)?;
        let parts: Vec<String> = by_frontend
            .iter()
            .map(|(frontend, routes)| {
                let dangerous: Vec<String> = routes
                    .iter()
                    .map(|r| catalog.get(*r))
                    .filter(|r| r.traits.dangerous)
                    .map(|r| r.display())
                    .collect();
                let mut part = format!("{} route(s) of frontend `{frontend}`", routes.len());
                if !dangerous.is_empty() {
                    part.push_str(&format!(
                        ", {} of them able to take over the host ({})",
                        dangerous.len(),
                        list(&dangerous)
                    ));
                }
                part
            })
            .collect();
        Some(parts.join("; "))
    };
    let mut noted = BTreeSet::new();
    for u in &model.unevaluable {
        noted.insert(u.line);
        let message = match depend(u.line) {
            Some(routes) => format!(
                "{} cannot be evaluated, so the verdicts that depend on it are not judged: {routes}; `sockproxy-gen verify` checks the running proxy",
                u.what
            ),
            None => match uncertain
                .keys()
                .find(|p| model.uncertain_with(**p).contains(&u.line))
            {
                Some(p) => format!(
                    "{} cannot be evaluated; the verdicts that depend on it depend on line {p} first and are reported there",
                    u.what
                ),
                None => format!(
                    "{} cannot be evaluated; no route's verdict turns on it (no request of the matrix reaches it undecided, or an earlier unknown on its way already made the verdict uncertain)",
                    u.what
                ),
            },
        };
        findings.push(Finding::new(Code::Unevaluable, path, u.line, message).at(u.column, 0));
    }
    for line in uncertain.keys().filter(|l| !noted.contains(*l)) {
        if let Some(routes) = depend(*line) {
            findings.push(Finding::new(
                Code::Unevaluable,
                path,
                *line,
                format!("the verdicts of {routes} cannot be decided here (the request passes through too many frontends of this file)"),
            ));
        }
    }
}

/// For each frontend: the routes it lets through (in some form), with the line that did.
type Allowed = BTreeMap<String, BTreeMap<RouteId, Option<usize>>>;

/// What `text` lets through with `env`, per frontend (a re-parse: conditions and `"$VAR"`
/// expansions depend on the environment too).
fn allowed_with(
    catalog: &Catalog,
    text: &str,
    env: &config::Env,
    options: &LintOptions,
    files: &PatternFiles,
    assume: config::Assume,
) -> Result<Allowed> {
    let parsed = config::parse_assuming(text, env, options.version, assume);
    let model = eval::compile_with(&parsed, options.dialect, files);
    let mut out = Allowed::new();
    for entry in model.entries() {
        // A frontend the evaluator cannot judge is reported by the main pass.
        let Ok(m) = matrix::compute(catalog, &model, entry) else {
            continue;
        };
        out.insert(
            entry.name.clone(),
            m.allowed().map(|r| (r.route, r.deciding_line())).collect(),
        );
    }
    Ok(out)
}

/// Flag-driven configs judged with the image's defaults: for every flag the rules read, alone
/// and in the combinations people use, what setting it would open, dangerous routes first.
#[allow(clippy::too_many_arguments)]
fn flag_sensitivity(
    catalog: &Catalog,
    path: &Path,
    text: &str,
    image: &str,
    env: &config::Env,
    base: &Allowed,
    flags: &[String],
    options: &LintOptions,
    files: &PatternFiles,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let assume = config::Assume {
        unknown_conditions: false,
    };
    let mut scenarios: Vec<Vec<&str>> = flags
        .iter()
        .filter(|f| env.get(*f).is_none_or(|v| v == "0"))
        .map(|f| vec![f.as_str()])
        .collect();
    for combo in COMBINATIONS {
        if combo.iter().all(|f| flags.iter().any(|g| g == f)) {
            scenarios.push(combo.to_vec());
        }
    }
    // frontend -> (scenario, opened, dangerous)
    let mut summary: BTreeMap<String, Vec<(String, usize, usize)>> = BTreeMap::new();
    for scenario in &scenarios {
        let mut with = env.clone();
        for f in scenario {
            with.insert(f.to_string(), "1".into());
        }
        let label = scenario
            .iter()
            .map(|f| format!("{f}=1"))
            .collect::<Vec<_>>()
            .join(" ");
        for (frontend, allowed) in allowed_with(catalog, text, &with, options, files, assume)? {
            let before = base.get(&frontend);
            let opened: Vec<(RouteId, Option<usize>)> = allowed
                .iter()
                .filter(|(r, _)| before.is_none_or(|b| !b.contains_key(*r)))
                .map(|(r, l)| (*r, *l))
                .collect();
            let mut dangerous_by_line: BTreeMap<Option<usize>, Vec<String>> = BTreeMap::new();
            for (route, line) in &opened {
                let r = catalog.get(*route);
                if r.traits.dangerous {
                    dangerous_by_line
                        .entry(*line)
                        .or_default()
                        .push(r.display());
                }
            }
            let dangerous: usize = dangerous_by_line.values().map(Vec::len).sum();
            summary.entry(frontend.clone()).or_default().push((
                label.clone(),
                opened.len(),
                dangerous,
            ));
            for (line, names) in dangerous_by_line {
                findings.push(Finding::new(
                    Code::FlagOpensDangerous,
                    path,
                    line.unwrap_or(1),
                    format!(
                        "with {label}, frontend `{frontend}` lets through {} route(s) that can take over the host or read its data: {}",
                        names.len(),
                        list(&names)
                    ),
                ));
            }
        }
    }
    for (frontend, rows) in summary {
        let line = base
            .get(&frontend)
            .and_then(|_| {
                text.lines()
                    .position(|l| l.trim_start().starts_with(&format!("frontend {frontend}")))
            })
            .map_or(1, |i| i + 1);
        let (opening, quiet): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, n, _)| *n > 0);
        let mut parts: Vec<String> = opening
            .iter()
            .map(|(label, n, d)| format!("{label} opens {n} ({d} dangerous)"))
            .collect();
        if !quiet.is_empty() {
            // Nothing of the Docker Engine API, which is what the matrix holds: Podman's own
            // `/libpod/...` API (linuxserver's LIBPOD_* flags) is not in the catalog.
            let labels: Vec<String> = quiet.iter().map(|(label, _, _)| label.clone()).collect();
            parts.push(format!(
                "{} other setting(s) open no route of the Docker Engine API: {}",
                quiet.len(),
                list(&labels)
            ));
        }
        findings.push(Finding::new(
            Code::FlagSensitivity,
            path,
            line,
            format!(
                "frontend `{frontend}`, from the defaults of {image}: {}",
                parts.join("; ")
            ),
        ));
    }
    Ok(())
}

/// Conditions the file cannot decide: the routes whose verdict depends on them.
#[allow(clippy::too_many_arguments)]
fn uncertain_conditions(
    catalog: &Catalog,
    path: &Path,
    text: &str,
    parsed: &Config,
    env: &config::Env,
    as_false: &Allowed,
    options: &LintOptions,
    files: &PatternFiles,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let unknown: Vec<&config::Condition> = parsed
        .conditions
        .iter()
        .filter(|c| c.value.is_none())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let as_true = allowed_with(
        catalog,
        text,
        env,
        options,
        files,
        config::Assume {
            unknown_conditions: true,
        },
    )?;
    let mut differ: BTreeSet<String> = BTreeSet::new();
    for (frontend, allowed) in as_false.iter().chain(as_true.iter()) {
        let other = if as_true.get(frontend) == Some(allowed) {
            as_false.get(frontend)
        } else {
            as_true.get(frontend)
        };
        for route in allowed.keys() {
            if other.is_none_or(|o| !o.contains_key(route)) {
                differ.insert(format!(
                    "{} (frontend `{frontend}`)",
                    catalog.get(*route).display()
                ));
            }
        }
    }
    for c in unknown {
        let why = c.unknown.as_deref().unwrap_or("it cannot be decided here");
        let message = if differ.is_empty() {
            format!(
                "`.if {}` cannot be decided ({why}); it changes no route's verdict",
                c.text
            )
        } else {
            let names: Vec<String> = differ.iter().cloned().collect();
            format!(
                "`.if {}` cannot be decided ({why}); {} route verdict(s) depend on it: {}",
                c.text,
                names.len(),
                list(&names)
            )
        };
        findings.push(Finding::new(
            Code::UncertainCondition,
            path,
            c.line,
            message,
        ));
    }
    Ok(())
}

pub fn lint(path: &Path, text: &str, options: &LintOptions) -> Result<FileReport> {
    let catalog = Catalog::builtin();
    // A flag-driven config with no environment given is judged with the image's defaults, and
    // what each flag would open is reported: never "clean" because the flags are unset.
    let referenced = referenced_variables(text);
    let known = crate::flags::known_names(catalog);
    // The image that runs the file (the compose service's), else the one whose template it is,
    // recognised by the names its rules read; defaults and flags are rows of
    // data/flags/known-flags.tsv.
    let assumed = options
        .proxy_image
        .as_deref()
        .and_then(|image| families::for_image(image, &referenced))
        .unwrap_or_else(|| families::detect(&referenced));
    let is_flag = |v: &String| known.contains(v) || families::template_variable(v);
    let permission_flags: Vec<String> = referenced
        .iter()
        .filter(|v| {
            (known.contains(v) || families::permission_flag(v))
                && !matches!(v.as_str(), "LOG_LEVEL" | "SOCKET_PATH" | "DISABLE_IPV6")
        })
        .cloned()
        .collect();
    let with_defaults = options.env.is_empty() && referenced.iter().any(is_flag);
    // The image sets its defaults (Dockerfile ENV); what the user gives wins over them.
    let mut env: config::Env = assumed.defaults.clone();
    env.extend(options.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let parsed = crate::haproxy::parse(path, text, &env, options.version)?;
    // Every keyword of the version's manual is read; an unknown one is refused, as HAProxy
    // refuses it; Lua and services make the verdicts of their section uncertain.
    let mut findings = Vec::new();
    for s in &parsed.sections {
        for d in &s.directives {
            let words: Vec<&str> = d.words().take(3).map(|w| w.text).collect();
            match keywords::lookup(options.version, &s.keyword, &words) {
                None => {
                    let w = &d.first();
                    return Err(malformed(
                        path,
                        w.span.line(),
                        Some(w.span.column()),
                        format!(
                            "unknown keyword `{}` in a {} section; HAProxy {} refuses it too (check the spelling, or --haproxy-version)",
                            d.keyword(),
                            s.keyword,
                            keywords::table_line(options.version)
                        ),
                    ));
                }
                // The evaluator models an SPOE agent by the variables it may set.
                Some((Effect::Lua, _))
                    if !(d.keyword() == "filter" && d.arg(0) == Some("spoe")) =>
                {
                    findings.push(
                        Finding::new(
                            Code::Unevaluable,
                            path,
                            d.line,
                            format!(
                                "`{}` runs code the evaluator cannot model: what this {} lets through is uncertain",
                                d.keyword(),
                                s.keyword
                            ),
                        )
                        .at(d.first().span.column(), d.first().span.width()),
                    );
                }
                Some(_) => {}
            }
        }
    }
    for u in &parsed.unset {
        findings.push(
            Finding::new(
                Code::UnsetVariable,
                path,
                u.span.line(),
                format!(
                    "`${{{}}}` is not set; pass --env {}=VALUE or --env-file",
                    u.name, u.name
                ),
            )
            .at(u.span.column(), u.span.width()),
        );
    }
    // The `-f` files lint reads (`--pattern-file`, `default-path config`), each named in a
    // finding: the verdicts of its ACLs rest on it. Every other one stays unknown (SPG001).
    let (files, read) = patterns::resolve_with_mounts(
        path,
        &parsed,
        options.version,
        &options.pattern_files,
        &options.proxy_mounts,
    )?;
    for r in &read {
        for &(line, column, width) in &r.at {
            findings.push(
                Finding::new(
                    Code::PatternFile,
                    path,
                    line,
                    format!(
                        "`-f {}`: read {} ({}, {} pattern(s)); the verdicts of this ACL rest on that file",
                        r.name,
                        r.local.display(),
                        r.how,
                        r.patterns
                    ),
                )
                .at(column, width),
            );
        }
    }
    let model: Model = eval::compile_with(&parsed, options.dialect, &files);
    // The routes whose verdict is uncertain, by the line of what makes it so.
    let mut uncertain: Uncertain = BTreeMap::new();
    let base = baseline(catalog, path, &parsed, text, options, &mut findings)?;
    let mut entries: Vec<Judged> = Vec::new();
    let mut matrices: Vec<Matrix> = Vec::new();
    let mut stream_backends: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    // The bypass search is the costliest check of a small file: results are shared by
    // frontends with the same rules in files that are the same but for their binds and header
    // (a CI job linting many copies of one rendered config), with the deciding rule kept as
    // its place among the frontend's rules.
    let file_key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        // The environment and version the file is judged with are part of what it means.
        env.hash(&mut h);
        options.version.to_string().hash(&mut h);
        for line in text.lines() {
            let t = line.trim_start();
            if t.starts_with("bind ") || t.starts_with("# sockproxy-gen-inputs:") {
                "-".hash(&mut h);
            } else {
                line.hash(&mut h);
            }
        }
        h.finish()
    };
    // Sections by their line, once: a scan per frontend is quadratic in a file of thousands.
    let by_line: std::collections::HashMap<usize, &Section> =
        parsed.sections.iter().map(|s| (s.line, s)).collect();
    let mut main_allowed = Allowed::new();
    for entry in model.entries() {
        let Some(section) = by_line.get(&entry.line).copied() else {
            continue;
        };
        let m = match matrix::compute(catalog, &model, entry) {
            Ok(m) => m,
            // A rule that uses an ACL the evaluator could not read (an `-f` file, an unknown
            // fetch) cannot be judged: HAProxy accepts the file, so the frontend's verdicts are
            // uncertain, not an error. Without such an ACL the name is undefined, as HAProxy
            // says too.
            Err(e) if !model.unevaluable.is_empty() => {
                findings.push(Finding::new(
                    Code::Unevaluable,
                    path,
                    entry.line,
                    format!(
                        "frontend `{}` is not judged ({e}: its definition uses what the evaluator cannot read, see the other SPG001 findings); verify the running proxy with `sockproxy-gen verify`",
                        entry.name
                    ),
                ));
                continue;
            }
            Err(e) => {
                return Err(malformed(
                    path,
                    entry.line,
                    None,
                    format!("frontend `{}`: {e}", entry.name),
                ))
            }
        };
        for row in m.uncertain() {
            let lines: BTreeSet<usize> = row.cells.iter().filter_map(|c| c.uncertain).collect();
            for line in lines {
                uncertain
                    .entry(line)
                    .or_default()
                    .entry(entry.name.clone())
                    .or_default()
                    .push(row.route);
            }
        }
        for row in m.allowed() {
            let t = catalog.get(row.route).traits;
            for cell in row.cells.iter().filter(|c| c.forwarded) {
                if let Some(b) = &cell.backend {
                    let e = stream_backends.entry(b.clone()).or_default();
                    e.0 |= t.stream;
                    e.1 |= t.hijack;
                }
            }
        }
        // What this environment lets through, for the flag and condition passes below (the
        // same as `allowed_with` computes for them, without parsing the file again).
        main_allowed.insert(
            entry.name.clone(),
            m.allowed().map(|r| (r.route, r.deciding_line())).collect(),
        );
        let expected = base.as_ref().and_then(|b| b.for_frontend(&entry.name));
        if base.is_some() && expected.is_none() {
            continue;
        }
        compare(catalog, path, section, &m, expected, &mut findings);
        let allowing: BTreeSet<usize> = m
            .allowed()
            .flat_map(|r| {
                r.cells
                    .iter()
                    .filter_map(|c| c.line.filter(|_| c.forwarded))
            })
            .collect();
        bypass_prone(path, section, &allowing, &files, &mut findings);
        // Frontends with the same rules have the same bypasses: search each rule set once.
        let rules: Vec<&Directive> = section
            .directives
            .iter()
            .filter(|d| d.keyword() != "bind")
            .collect();
        let key: Vec<String> = rules
            .iter()
            .map(|d| d.words().map(|w| w.text).collect::<Vec<_>>().join(" "))
            .collect();
        let found = cached_bypasses((file_key, key), || {
            bypasses(catalog, &model, entry, &m)
                .into_iter()
                .map(|b| {
                    let own = b.line.and_then(|l| rules.iter().position(|d| d.line == l));
                    (b, own)
                })
                .collect()
        });
        for (b, own) in found {
            let line = match own {
                Some(i) => Some(rules[i].line),
                None => b.line,
            };
            findings.push(Finding::new(
                Code::Bypass,
                path,
                line.unwrap_or(section.line),
                format!(
                    "frontend `{}`: `{} {}` gets through and the daemon runs {}, which the same request in plain form cannot reach",
                    entry.name, b.method, b.target, b.route
                ),
            ));
        }
        entries.push(Judged {
            section,
            frontend: m.frontend.clone(),
            allows_any: m.allowed().next().is_some(),
        });
        if options.keep_matrices {
            matrices.push(m);
        }
    }
    unevaluable(catalog, path, &model, &uncertain, &mut findings);
    // A frontend that only forwards to other frontends of the file (a tcp-mode listener in
    // front of the HTTP rules) logs and inspects there.
    let hardened: Vec<&Judged> = entries
        .iter()
        .filter(|j| {
            model
                .entries()
                .find(|p| p.line == j.section.line)
                .is_none_or(|p| !model.forwards_only_within(p))
        })
        .collect();
    hardening(path, &parsed, &hardened, &stream_backends, &mut findings);
    // The main pass is the parse with undecided conditions taken as false.
    uncertain_conditions(
        catalog,
        path,
        text,
        &parsed,
        &env,
        &main_allowed,
        options,
        &files,
        &mut findings,
    )?;
    let flags_line = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .position(|l| l.contains("env(") || l.contains('$'))
        .map_or(1, |i| i + 1);
    if !with_defaults && !permission_flags.is_empty() {
        // Only the flags the rules read, never other variables: a value may be a secret.
        let read: Vec<&String> = referenced.iter().filter(|v| is_flag(v)).collect();
        let (mut given, mut defaults, mut zero, mut unset) =
            (Vec::new(), Vec::new(), 0, Vec::new());
        for v in &read {
            match (env.get(*v), options.env_sources.get(*v)) {
                (Some(value), Some(source)) if options.env.contains_key(*v) => {
                    given.push(format!("{v}={value} ({source})"))
                }
                (Some(value), _) if options.env.contains_key(*v) => {
                    given.push(format!("{v}={value}"))
                }
                // The image's own values: the ones that are not 0 by name, the 0s counted.
                (Some(value), _) if value == "0" => zero += 1,
                (Some(value), _) => defaults.push(format!("{v}={value}")),
                (None, _) => unset.push(v.to_string()),
            }
        }
        if zero > 0 {
            let other = if defaults.is_empty() { "" } else { "other " };
            defaults.push(format!("0 for the {other}{zero} flag(s)"));
        }
        let mut message = format!(
            "judged with {}",
            if given.is_empty() {
                "no flag given".to_string()
            } else {
                given.join(", ")
            }
        );
        if !defaults.is_empty() {
            message.push_str(&format!(
                "; the defaults of {} for the rest: {}",
                assumed.describe(),
                defaults.join(", ")
            ));
        }
        if !unset.is_empty() {
            message.push_str(&format!(
                "; set neither by {} nor by the environment: {}",
                assumed.describe(),
                list(&unset)
            ));
        }
        findings.push(Finding::new(
            Code::JudgedEnvironment,
            path,
            flags_line,
            message,
        ));
    }
    if with_defaults {
        let line = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .position(|l| l.contains("env(") || l.contains('$'))
            .map_or(1, |i| i + 1);
        // The values the image sets, the 0s counted rather than listed (a fork's template reads
        // dozens of flags, nearly all 0).
        let mut values: Vec<String> = env
            .iter()
            .filter(|(_, v)| v.as_str() != "0")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let zeros = env.values().filter(|v| v.as_str() == "0").count();
        if zeros > 0 {
            let other = if values.is_empty() { "" } else { "other " };
            values.push(format!("0 for the {other}{zeros} flag(s)"));
        }
        if !assumed.unset.is_empty() {
            values.push(format!("{} not set", list(&assumed.unset)));
        }
        let read: Vec<String> = referenced.iter().cloned().collect();
        findings.push(Finding::new(
            Code::JudgedWithDefaults,
            path,
            line,
            format!(
                "the rules read {} and no --env, --env-file or --compose gives them: judged with the defaults of {}: {} ({}); lint the environment the proxy runs with to judge that",
                list(&read),
                assumed.describe(),
                if values.is_empty() { "none apply".to_string() } else { values.join(", ") },
                assumed.reason()
            ),
        ));
        flag_sensitivity(
            catalog,
            path,
            text,
            &assumed.describe(),
            &env,
            &main_allowed,
            &permission_flags,
            options,
            &files,
            &mut findings,
        )?;
    }
    Ok(FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Haproxy,
        baseline: base.as_ref().map(|b| b.label.clone()),
        findings,
        matrices,
        baseline_text: base.and_then(|b| b.rendered),
        // The caller moves the text in (`lint_text`).
        source: String::new(),
    })
}
