//! The HAProxy model that lint and verify share: the configuration syntax ([`syntax`]), the
//! keywords of each section ([`keywords`]), the request evaluator ([`eval`]) and the permission
//! matrix it yields for the catalog ([`matrix`]). Nothing here knows about findings or output
//! formats: lint turns what this module computes into findings.

pub mod conditions;
pub mod daemon;
pub mod eval;
pub mod keywords;
pub mod matrix;
pub mod syntax;
pub mod version;

use std::path::Path;

use crate::error::{Error, Location, Result};
use syntax::{Config, Env};
use version::Version;

/// Parses `text` for HAProxy `version`; the first line HAProxy's syntax does not allow is an
/// error with file:line:col.
pub fn parse(path: &Path, text: &str, env: &Env, version: Version) -> Result<Config> {
    if let Some((line, column, placeholder, style)) = template_placeholder(text) {
        return Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line,
                column: Some(column),
            },
            message: format!(
                "`{placeholder}` is a {style} placeholder: this file is a template, not the config HAProxy runs. Render it first (as the image's entrypoint or your deploy tool does) and lint the result, e.g. `sockproxy-gen lint rendered.cfg`"
            ),
        });
    }
    let parsed = syntax::parse(text, env, version);
    match parsed.errors.first() {
        Some(e) => Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: e.line,
                column: Some(e.column),
            },
            message: e.message.clone(),
        }),
        None => Ok(parsed),
    }
}

/// The first template placeholder outside comments: `@@NAME@@` and `%%NAME%%` (sed-style),
/// `{{ x }}`, `{% x %}` and `{# x #}` (Jinja), a bare `SOMETHING_PLACEHOLDER` word. HAProxy
/// would read them as words and fail, or worse, accept them; a template is linted once
/// rendered. (`"${VAR}"` is HAProxy's own syntax and stays.)
fn template_placeholder(text: &str) -> Option<(usize, usize, String, &'static str)> {
    for (i, line) in text.lines().enumerate() {
        let code = match line.trim_start().starts_with("{#") {
            true => line,
            false => line.split('#').next().unwrap_or(""),
        };
        let found = [
            ("@@", "@@", "sed-style"),
            ("%%", "%%", "sed-style"),
            ("{{", "}}", "Jinja"),
            ("{%", "%}", "Jinja"),
            ("{#", "#}", "Jinja"),
        ]
        .iter()
        .filter_map(|(open, close, style)| {
            let start = code.find(open)?;
            let inner = &code[start + open.len()..];
            let end = inner.find(close)?;
            let name = &inner[..end];
            let word_like = !name.is_empty()
                && (open.starts_with('{')
                    || name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            word_like.then(|| {
                (
                    start,
                    code[start..start + open.len() + end + close.len()].to_string(),
                    *style,
                )
            })
        })
        .min_by_key(|(start, _, _)| *start);
        if let Some((start, placeholder, style)) = found {
            return Some((i + 1, code[..start].chars().count() + 1, placeholder, style));
        }
        if let Some((start, word)) = code
            .split_whitespace()
            .find(|w| {
                w.contains("PLACEHOLDER") && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            })
            .and_then(|w| Some((code.find(w)?, w)))
        {
            return Some((
                i + 1,
                code[..start].chars().count() + 1,
                word.to_string(),
                "template",
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::template_placeholder;

    #[test]
    fn placeholders_are_found_outside_comments() {
        let found = |t: &str| template_placeholder(t).map(|(l, c, p, _)| (l, c, p));
        assert_eq!(
            found("global\n    bind @@BIND@@\n"),
            Some((2, 10, "@@BIND@@".into()))
        );
        assert_eq!(
            found("a {{ port | default(2375) }}"),
            Some((1, 3, "{{ port | default(2375) }}".into()))
        );
        assert_eq!(found("{% if x %}"), Some((1, 1, "{% if x %}".into())));
        assert_eq!(
            found("  server s %%SOCKET%%"),
            Some((1, 12, "%%SOCKET%%".into()))
        );
        assert_eq!(
            found("    BIND_LINE_PLACEHOLDER"),
            Some((1, 5, "BIND_LINE_PLACEHOLDER".into()))
        );
        assert_eq!(
            found("# @@X@@ in a comment\nlog \"${LOG_LEVEL}\" 100%"),
            None
        );
        assert_eq!(found("acl a path_reg ^/v%%$"), None);
    }
}
