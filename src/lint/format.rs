//! The output formats of `lint`. Each returns text; the binary prints it.

use serde::Serialize;
use serde_json::json;

use super::{Code, FailedFile, FileReport, Finding, Severity};

/// Where each code's documentation lives (README's rules section).
pub const DOCS_URL: &str = "https://github.com/sockproxy-gen/sockproxy-gen/blob/main/docs/rules.md";

fn anchor(code: Code) -> String {
    format!("{DOCS_URL}#{}", code.id().to_ascii_lowercase())
}

/// Byte range of (line, column, width) in `source` (columns in characters).
fn span(source: &str, f: &Finding) -> std::ops::Range<usize> {
    let mut offset = 0;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        if i + 1 == f.line {
            let content = line.trim_end_matches(['\n', '\r']);
            let start = content
                .char_indices()
                .nth(f.column.saturating_sub(1))
                .map_or(content.len(), |(b, _)| b);
            let end = if f.width == 0 {
                content.len()
            } else {
                content[start..]
                    .char_indices()
                    .nth(f.width)
                    .map_or(content.len(), |(b, _)| start + b)
            };
            // A whole-line finding starts at the first non-blank character.
            let start = if f.width == 0 && f.column <= 1 {
                content.len() - content.trim_start().len()
            } else {
                start
            };
            return offset + start..offset + end.max(start);
        }
        offset += line.len();
    }
    offset..offset
}

/// Human output: each finding with the line it is about (annotate-snippets, plain), then the
/// summary.
pub fn text(reports: &[FileReport], failed: &[FailedFile]) -> String {
    let mut out = text_findings(reports);
    out.push_str(&summary(reports, failed));
    out
}

/// The findings part of [`text`], for output that streams file by file.
pub fn text_findings(reports: &[FileReport]) -> String {
    use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
    let renderer = Renderer::plain();
    let mut out = String::new();
    for r in reports {
        let path = r.file.display().to_string();
        for f in r.active() {
            let level = match f.severity {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
                Severity::Info => Level::INFO,
            };
            let help = format!(
                "{} ({}): {}\n`sockproxy-gen explain {}` for more",
                f.code.name(),
                f.code.id(),
                f.code.summary(),
                f.code.id()
            );
            let report = &[
                level
                    .clone()
                    .primary_title(f.message.as_str())
                    .id(f.code.id())
                    .element(
                        Snippet::source(r.source.as_str())
                            .path(path.as_str())
                            .fold(true)
                            .annotation(AnnotationKind::Primary.span(span(&r.source, f))),
                    ),
                Group::with_title(Level::HELP.secondary_title(help)),
            ];
            out.push_str(&renderer.render(report));
            out.push_str("\n\n");
        }
    }
    out
}

/// `3 errors, 1 warning, 0 infos in 2 files (1 suppressed)`, and the files that could not be
/// linted.
pub fn summary(reports: &[FileReport], failed: &[FailedFile]) -> String {
    let count = |s: Severity| {
        reports
            .iter()
            .flat_map(|r| r.active())
            .filter(|f| f.severity == s)
            .count()
    };
    let suppressed = reports
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.suppressed.is_some())
        .count();
    format!(
        "{} error(s), {} warning(s), {} info(s) in {} file(s){}{}\n",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        reports.len(),
        if suppressed > 0 {
            format!(" ({suppressed} suppressed)")
        } else {
            String::new()
        },
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} file(s) could not be linted: {}",
                failed.len(),
                failed
                    .iter()
                    .map(|f| f.file.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: &'a [FileReport],
    /// The files that could not be linted, with their errors.
    errors: &'a [FailedFile],
}

/// Everything, including suppressed findings (marked), each frontend's matrix, and the files
/// that could not be linted, written to `out` as it is produced: with every frontend's matrix
/// the document is many times the size of the config (261 MB for a 10 MB one), too much to
/// build in memory first.
pub fn write_json(
    mut out: impl std::io::Write,
    reports: &[FileReport],
    failed: &[FailedFile],
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(
        &mut out,
        &JsonReport {
            files: reports,
            errors: failed,
        },
    )?;
    out.write_all(b"\n")
}

/// GitHub workflow commands: one `::error file=...::` line per finding.
pub fn github(reports: &[FileReport], failed: &[FailedFile]) -> String {
    let escape = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for f in failed {
        out.push_str(&format!(
            "::error title=sockproxy-gen could not lint this file,file={}{}{}::{}\n",
            prop(&f.file.display().to_string()),
            f.line.map(|l| format!(",line={l}")).unwrap_or_default(),
            f.column.map(|c| format!(",col={c}")).unwrap_or_default(),
            escape(&f.message)
        ));
    }
    for r in reports {
        for f in r.active() {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            out.push_str(&format!(
                "::{level} title={},file={},line={},col={}::{}\n",
                prop(&format!("{} {}", f.code.id(), f.code.name())),
                prop(&r.file.display().to_string()),
                f.line,
                f.column,
                escape(&f.message)
            ));
        }
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0 as GitHub code scanning reads it: every rule with its descriptions and help,
/// results with a repo-relative location; suppressed findings carry an in-source suppression.
pub fn sarif(reports: &[FileReport], failed: &[FailedFile]) -> String {
    let rules: Vec<_> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "name": c.name(),
                "shortDescription": { "text": c.summary() },
                "fullDescription": { "text": c.doc() },
                "help": { "text": c.doc(), "markdown": format!("{}\n\n[{}]({})", c.doc(), c.id(), anchor(*c)) },
                "helpUri": anchor(*c),
                "defaultConfiguration": { "level": sarif_level(c.severity()) },
                "properties": {
                    "tags": ["security", "docker-socket"],
                    "precision": "high",
                    "security-severity": match c.severity() {
                        Severity::Error => "8.0",
                        Severity::Warning => "5.0",
                        Severity::Info => "2.0",
                    },
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        let uri = r.file.display().to_string();
        let uri = uri.trim_start_matches("./");
        for f in &r.findings {
            let index = Code::ALL.iter().position(|c| *c == f.code).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.code.id(),
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endColumn": f.column + f.width.max(1),
                        },
                    },
                }],
            });
            if let Some(reason) = &f.suppressed {
                result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
            }
            results.push(result);
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "sockproxy-gen",
                    "version": crate::VERSION,
                    "informationUri": DOCS_URL,
                    "rules": rules,
                },
            },
            "results": results,
            // SARIF's place for files the tool could not analyse: a failed invocation with one
            // error notification per file (GitHub shows them as tool errors).
            "invocations": [{
                "executionSuccessful": failed.is_empty(),
                "toolExecutionNotifications": failed.iter().map(|f| {
                    let mut region = json!({});
                    if let Some(line) = f.line {
                        region["startLine"] = json!(line);
                    }
                    if let Some(column) = f.column {
                        region["startColumn"] = json!(column);
                    }
                    let mut location = json!({
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": f.file.display().to_string().trim_start_matches("./"),
                            },
                        },
                    });
                    if f.line.is_some() {
                        location["physicalLocation"]["region"] = region;
                    }
                    json!({
                        "level": "error",
                        "message": { "text": f.message },
                        "locations": [location],
                    })
                }).collect::<Vec<_>>(),
            }],
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("serialises");
    s.push('\n');
    s
}

/// The documentation page of every code (docs/rules.md is generated from this).
pub fn rules_page() -> String {
    let mut out = String::from("# sockproxy-gen lint rules\n\nGenerated by `sockproxy-gen explain --all`. Codes are stable: a code never changes meaning.\n\n| Code | Name | Severity | Summary |\n|---|---|---|---|\n");
    for c in Code::ALL {
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} |\n",
            c.id(),
            c.id().to_ascii_lowercase(),
            c.name(),
            c.severity().as_str(),
            c.summary()
        ));
    }
    for c in Code::ALL {
        out.push_str(&format!("\n## {}\n\n", c.id()));
        out.push_str(&explain(*c));
    }
    out
}

/// `sockproxy-gen explain CODE`
pub fn explain(c: Code) -> String {
    format!(
        "**{}** ({}, default severity {})\n\n{}\n\n{}\n\nSilence one occurrence with `# sockproxy-gen: ignore {} <reason>` on the line, or alone on the line before.\n",
        c.name(),
        c.id(),
        c.severity().as_str(),
        c.summary(),
        c.doc(),
        c.id()
    )
}
