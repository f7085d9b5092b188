//! `lint`: read haproxy.cfg, compose and .env files, compute what they really let through, and
//! compare it with the least-privilege baseline.
//!
//! Files are recognised by content. For an HAProxy config the evaluator
//! ([`crate::haproxy::eval`]) gives the permission matrix ([`crate::haproxy::matrix`]): every catalog route, bare and with version prefixes, allowed
//! or denied, with the line that decided. That is compared with the baseline: `--preset`, or
//! the file's own sockproxy-gen header (re-rendered, so drift shows), or none (general risks
//! only). Compose and .env files get the checks of [`compose`].

pub mod codes;
pub mod compose;
pub mod families;
pub mod format;
pub mod haproxy;
pub mod patterns;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::haproxy::eval::Dialect;
use crate::haproxy::syntax::Env;
use crate::haproxy::version::Version;
pub use codes::{Code, Severity};

use crate::catalog::Catalog;
use crate::error::{Error, Location, Result};
use crate::policy::{Policy, PolicyInputs};
use crate::render::{self, RenderInputs};

/// The HAProxy line lint judges for by default: the one the compose service runs.
pub const DEFAULT_HAPROXY_VERSION: &str = "3.2";

#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Baseline presets; empty means the file's header, or no baseline.
    pub presets: Vec<String>,
    /// Values for `"${VAR}"` and `env(VAR)`.
    pub env: Env,
    /// The HAProxy version the config runs on (`3.2`), and the evaluator's behaviour for it.
    pub version: Version,
    pub dialect: Dialect,
    /// The policy of `presets` and its rendered config, built once for all files.
    pub preset_baseline: Option<(Policy, String)>,
    /// Where each value of `env` came from (`compose.yaml:12`, `proxy.env:3`, `--env`), for the
    /// account of the environment a flag-driven config is judged with.
    pub env_sources: std::collections::BTreeMap<String, String>,
    /// Whether each report keeps its frontends' permission matrices (only the JSON output
    /// prints them). A matrix is some 80 KB a frontend: a large config linted for text output
    /// would hold several times its size in matrices nobody reads.
    pub keep_matrices: bool,
    /// The image of the compose service that runs the config (`--compose`): its defaults are
    /// the ones that apply, rather than those of the image the file's names point to.
    pub proxy_image: Option<String>,
    /// The `--pattern-file`s, read once (`patterns::resolve` says which `-f` names they are).
    pub pattern_files: Vec<patterns::GivenPatternFile>,
    /// With `--compose`: what the proxy service bind-mounts from beside the compose file (the
    /// path here, the path in the container), where lint reads ACL files the config names by
    /// their path in the container.
    pub proxy_mounts: Vec<(PathBuf, String)>,
}

impl LintOptions {
    pub fn new(presets: Vec<String>, env: Env, haproxy_version: &str) -> Result<LintOptions> {
        let (version, dialect) = Version::parse(haproxy_version)
            .and_then(|v| Some((v, v.dialect()?)))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--haproxy-version {haproxy_version}: the evaluator knows 2.6, 3.0 and 3.2 (and later)"
                ))
            })?;
        let preset_baseline = if presets.is_empty() {
            None
        } else {
            let catalog = Catalog::builtin();
            let inputs = PolicyInputs {
                presets: presets.clone(),
                ..PolicyInputs::default()
            };
            let policy = Policy::build(catalog, &inputs)?;
            let rendered = render::render(
                catalog,
                &policy,
                &RenderInputs {
                    policy: inputs,
                    options: render::RenderOptions::default(),
                },
            )?;
            Some((policy, rendered))
        };
        Ok(LintOptions {
            presets,
            env,
            version,
            dialect,
            preset_baseline,
            env_sources: Default::default(),
            keep_matrices: true,
            proxy_image: None,
            pattern_files: Vec::new(),
            proxy_mounts: Vec::new(),
        })
    }
}

/// `a, b, c (+N more)`: the first eight names of a list in a finding's message.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" (+{} more)", names.len() - SHOWN));
    }
    s
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Haproxy,
    Compose,
    Env,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    #[serde(serialize_with = "serialize_code")]
    pub code: Code,
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Columns the finding covers on its line (at least 1).
    pub width: usize,
    pub message: String,
    /// Set when an inline suppression silences it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

fn serialize_code<S: serde::Serializer>(code: &Code, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(code.id())
}

impl Finding {
    pub fn new(code: Code, file: &Path, line: usize, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            file: file.to_path_buf(),
            line: line.max(1),
            column: 1,
            width: 0,
            message: message.into(),
            suppressed: None,
        }
    }

    pub fn at(mut self, column: usize, width: usize) -> Finding {
        self.column = column.max(1);
        self.width = width;
        self
    }
}

/// Everything lint found in one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub kind: FileKind,
    /// What the baseline is: `preset traefik`, `the file's header`, or none.
    pub baseline: Option<String>,
    pub findings: Vec<Finding>,
    pub matrices: Vec<crate::haproxy::matrix::Matrix>,
    /// The rendered baseline, for `--diff`.
    #[serde(skip)]
    pub baseline_text: Option<String>,
    /// The file's text: the one copy lint keeps (`lint_text` moves it in).
    #[serde(skip)]
    pub source: String,
}

impl FileReport {
    /// Findings that count (not suppressed).
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    /// Drops what only output needs (source, matrices, baseline text), keeping the findings:
    /// what a long run keeps per file, so its memory stays flat.
    pub fn into_summary(self) -> FileReport {
        FileReport {
            matrices: Vec::new(),
            baseline_text: None,
            source: String::new(),
            ..self
        }
    }

    /// A unified diff of the file against the rendered baseline.
    pub fn diff(&self) -> Option<String> {
        let baseline = self.baseline_text.as_ref()?;
        let name = self.file.display().to_string();
        // A minimal diff is quadratic in the worst case: past a few seconds `similar` settles
        // for a correct but longer one.
        let diff = similar::TextDiff::configure()
            .timeout(std::time::Duration::from_secs(5))
            .diff_lines(self.source.as_str(), baseline.as_str());
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&name, &format!("{name} (rendered baseline)"))
            .to_string();
        Some(text)
    }
}

/// A file that could not be linted, for every output format: text and `github` show the
/// error, JSON lists it, SARIF records a failed invocation with its location.
#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    pub file: PathBuf,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl FailedFile {
    pub fn new(file: &Path, error: &Error) -> FailedFile {
        let location = match error {
            Error::Malformed { location, .. } => Some(location),
            _ => None,
        };
        FailedFile {
            file: file.to_path_buf(),
            message: error.to_string(),
            line: location.map(|l| l.line),
            column: location.and_then(|l| l.column),
        }
    }
}

/// Reads a file for lint, once (a pipe, `/dev/stdin` and `-` for stdin work): not binary,
/// valid UTF-8; errors name the file and line.
pub fn read(path: &Path) -> Result<String> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map_err(read_err)?;
        bytes
    } else {
        std::fs::read(path).map_err(read_err)?
    };
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: 1 + bytes[..pos].iter().filter(|&&b| b == b'\n').count(),
                column: None,
            },
            message: "a NUL byte: this is a binary file, not a config; give haproxy.cfg, a compose file or a .env file".into(),
        });
    }
    crate::input::text(path, bytes, "the file", "; save it as UTF-8")
}

/// Which kind of file `text` is.
pub fn detect(path: &Path, text: &str) -> Option<FileKind> {
    let body = text.strip_prefix(crate::dotenv::BOM).unwrap_or(text);
    if crate::haproxy::syntax::looks_like_haproxy(body) {
        return Some(FileKind::Haproxy);
    }
    if body.lines().any(|l| l.trim_end() == "services:") {
        return Some(FileKind::Compose);
    }
    let named_env = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".env") || n.ends_with(".env"));
    if named_env {
        // Even when the .env reader rejects it: lint then reports the reader's error at its line.
        return Some(FileKind::Env);
    }
    // Whatever the .env reader accepts (BOM, quotes, multi-line values, comments, `export`), as
    // long as it is KEY=VAL statements: YAML-style `KEY: value` and bare words would take any
    // YAML or text file for a .env.
    let env_like = crate::dotenv::parse_lenient(text, path, &crate::dotenv::no_environment)
        .is_ok_and(|env| {
            env.unset.iter().all(|u| !u.bare)
                && env
                    .entries
                    .iter()
                    .all(|e| e.separator == crate::dotenv::Separator::Equals)
        });
    (env_like && !body.trim().is_empty()).then_some(FileKind::Env)
}

/// Lints one file.
pub fn lint_file(path: &Path, options: &LintOptions) -> Result<FileReport> {
    lint_text(path, read(path)?, options)
}

/// Lints `text` as the content of `path`. The text moves into the report (`source`, for
/// snippets, suppressions and `--diff`): one copy of the file, not two.
pub fn lint_text(path: &Path, text: String, options: &LintOptions) -> Result<FileReport> {
    let kind = detect(path, &text).ok_or_else(|| Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line: 1,
            column: None,
        },
        message: "not an HAProxy config (no global/defaults/frontend/backend/listen section), a compose file (no `services:`) or a .env file (KEY=VAL lines)".into(),
    })?;
    let mut report = match kind {
        FileKind::Haproxy => haproxy::lint(path, &text, options)?,
        FileKind::Compose => compose::lint_compose(path, &text, options)?,
        FileKind::Env => compose::lint_env(path, &text, options)?,
    };
    report.source = text;
    apply_suppressions(&mut report);
    report.findings.sort_by_key(|f| (f.line, f.column, f.code));
    Ok(report)
}

/// `# sockproxy-gen: ignore CODE reason`, on the finding's line or alone on the line before.
/// A suppression that matches nothing is a finding of its own.
fn apply_suppressions(report: &mut FileReport) {
    let lines: Vec<&str> = report.source.lines().collect();
    let mut suppressions = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(pos) = line.find("# sockproxy-gen: ignore") else {
            continue;
        };
        let rest = line[pos + "# sockproxy-gen: ignore".len()..].trim();
        let (code, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let alone = line[..pos].trim().is_empty();
        // Alone on its line: the next non-comment line.
        let target = if alone {
            (i + 1..lines.len())
                .find(|&j| {
                    let t = lines[j].trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .map(|j| j + 1)
        } else {
            Some(i + 1)
        };
        suppressions.push((i + 1, target, code.to_string(), reason.trim().to_string()));
    }
    let mut unmatched = Vec::new();
    for (line, target, code, reason) in suppressions {
        let parsed = Code::parse(&code);
        let mut used = false;
        for f in report.findings.iter_mut() {
            if Some(f.line) == target && Some(f.code) == parsed {
                f.suppressed = Some(if reason.is_empty() {
                    "no reason given".into()
                } else {
                    reason.clone()
                });
                used = true;
            }
        }
        if !used {
            let why = match parsed {
                None => format!(
                    "`{code}` is not a sockproxy-gen code; `sockproxy-gen explain` lists them"
                ),
                Some(c) => format!(
                    "`ignore {}` matches no finding on line {}; remove the comment",
                    c.id(),
                    target.unwrap_or(line)
                ),
            };
            unmatched.push(Finding::new(
                Code::UnmatchedSuppression,
                &report.file,
                line,
                why,
            ));
        }
    }
    report.findings.extend(unmatched);
}

/// The highest severity among active findings of all reports.
pub fn worst(reports: &[FileReport]) -> Option<Severity> {
    reports
        .iter()
        .flat_map(|r| r.active().map(|f| f.severity))
        .max()
}
