//! `.env` files: the one reader ([`parse`]) and the one writer ([`set`]) of the tool.
//!
//! The syntax is Docker Compose's, so a file means here what it means to `docker compose`.
//! Source: compose-go dotenv parser (github.com/compose-spec/compose-go, dotenv/parser.go), the
//! parser Compose v2 uses, and its template package for interpolation ([`crate::interpolate`]).
//!
//! - a UTF-8 BOM at the start is skipped; blank lines and lines starting with `#` are skipped;
//! - `KEY=value`, `export KEY=value`, and YAML style `KEY: value`; spaces around the separator
//!   are allowed; key characters are letters, digits and `_ . - [ ]`;
//! - a bare `KEY` line takes KEY from the environment, and sets nothing when it is not there;
//! - unquoted values run to the end of the line; ` #` (a space, then `#`) starts a comment
//!   (`a#b` keeps its `#`); trailing whitespace, a CRLF's `\r` included, is dropped;
//! - `'single'` values are literal (only `\'` is unescaped); `"double"` values unescape `\"`,
//!   then the shell escapes `\n \r \t \a \b \f \v \\ \$` and octal `\0NNN`; both kinds may span
//!   lines; after the closing quote only whitespace and a `# comment` may follow;
//! - unquoted and double-quoted values are interpolated (`$$`, `$NAME`, `${NAME:-default}`, ...,
//!   see [`crate::interpolate`]); a name is looked up in the environment (the caller's lookup)
//!   first, then among the keys set earlier in the file, as Compose does;
//! - the last assignment of a key wins.
//!
//! Where this reader is stricter than Compose, it says what to fix instead of guessing: text
//! after a closing quote (`A="x" B=2`, which Compose reads as two assignments) is an error, an
//! empty key (`=value`) is an error, and any whitespace inside a key is an error. A bare `KEY`
//! on the last line without a final newline is a bare key (compose-go misreads it). Errors
//! are [`Error::Malformed`] with the file, the line (and the column when it helps), and the fix.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::interpolate::{self, InterpolationError};

/// The UTF-8 byte order mark some editors put at the start of a file.
pub const BOM: &str = "\u{FEFF}";

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

/// What follows the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `KEY=value`
    Equals,
    /// `KEY: value`
    Colon,
    /// A bare `KEY`: the value comes from the environment.
    Bare,
}

/// One assignment, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// The value as Compose reads it: quotes removed, escapes and variables expanded.
    pub value: String,
    /// The 1-based line where the assignment starts.
    pub line: usize,
    /// The assignment's bytes in the text: from `export` (or the key) to the end of the value
    /// (its closing quote included); neither the comment after it nor the line ending.
    pub span: Range<usize>,
    /// The value's bytes as written, quotes included; empty, at the end of the key, for a bare
    /// `KEY`.
    pub value_span: Range<usize>,
    pub quote: Quote,
    pub separator: Separator,
}

/// A variable that was not set: referenced by a value (`$NAME`, read as empty) or named on a
/// bare `KEY` line (so KEY is not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unset {
    pub name: String,
    pub line: usize,
    /// On a bare `KEY` line, not in a value.
    pub bare: bool,
}

/// A parsed `.env` file.
#[derive(Debug, Default)]
pub struct Dotenv {
    /// Every assignment that sets its key, in file order (duplicates included: the last wins).
    pub entries: Vec<Entry>,
    /// Variables that were not set, in file order.
    pub unset: Vec<Unset>,
    /// With [`parse_lenient`]: the interpolation errors (their values are left uninterpolated).
    pub errors: Vec<Error>,
}

impl Dotenv {
    /// The value of `key` (its last assignment).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// The assignments that win: the last one of each key, in file order.
    pub fn effective(&self) -> impl Iterator<Item = &Entry> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            last.insert(e.key.as_str(), i);
        }
        self.entries
            .iter()
            .enumerate()
            .filter(move |(i, e)| last.get(e.key.as_str()) == Some(i))
            .map(|(_, e)| e)
    }
}

/// A lookup that finds nothing: no environment.
pub fn no_environment(_: &str) -> Option<String> {
    None
}

/// Reads `text` (the content of `file`, named in errors). `lookup` is the environment for bare
/// keys and interpolation (the CLI passes the process environment, as Compose does).
pub fn parse(text: &str, file: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Dotenv> {
    scan(text, file, lookup, true).map(Scan::into_dotenv)
}

/// Like [`parse`], but an interpolation error (a required variable that is missing, an invalid
/// `${...}`) does not stop the reading: it is listed in [`Dotenv::errors`] and the value is kept
/// uninterpolated. Syntax errors still fail.
pub fn parse_lenient(
    text: &str,
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Dotenv> {
    scan(text, file, lookup, false).map(Scan::into_dotenv)
}

/// One statement: an assignment, or a bare key the environment does not have (`value` None).
struct Statement {
    key: String,
    value: Option<String>,
    line: usize,
    span: Range<usize>,
    value_span: Range<usize>,
    quote: Quote,
    separator: Separator,
}

struct Scan {
    statements: Vec<Statement>,
    unset: Vec<Unset>,
    errors: Vec<Error>,
}

impl Scan {
    fn into_dotenv(self) -> Dotenv {
        let entries = self
            .statements
            .into_iter()
            .filter_map(|s| {
                Some(Entry {
                    value: s.value?,
                    key: s.key,
                    line: s.line,
                    span: s.span,
                    value_span: s.value_span,
                    quote: s.quote,
                    separator: s.separator,
                })
            })
            .collect();
        Dotenv {
            entries,
            unset: self.unset,
            errors: self.errors,
        }
    }
}

/// Spaces that are not line breaks (compose-go's `isSpace`).
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{85}' | '\u{A0}'
    )
}

fn skip_spaces(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    from + (rest.len() - rest.trim_start_matches(is_space).len())
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// Positions to lines and columns, for errors.
struct Positions<'t> {
    text: &'t str,
    file: &'t Path,
    bom: usize,
    line_starts: Vec<usize>,
}

impl<'t> Positions<'t> {
    fn new(text: &'t str, file: &'t Path) -> Self {
        let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let mut line_starts = vec![bom];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Positions {
            text,
            file,
            bom,
            line_starts,
        }
    }

    fn line(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= pos).max(1)
    }

    fn location(&self, pos: usize, with_column: bool) -> Location {
        let line = self.line(pos);
        let start = self.line_starts[line - 1].max(self.bom).min(pos);
        Location {
            file: self.file.to_path_buf(),
            line,
            column: with_column.then(|| self.text[start..pos].chars().count() + 1),
        }
    }

    fn error(&self, pos: usize, with_column: bool, message: String) -> Error {
        Error::Malformed {
            location: self.location(pos, with_column),
            message,
        }
    }

    /// The rest of the line at `pos`, shortened, for messages.
    fn excerpt(&self, pos: usize) -> String {
        let line = self.text[pos..line_end(self.text, pos)].trim_end();
        match line.char_indices().nth(60) {
            Some((i, _)) => format!("{}...", &line[..i]),
            None => line.to_string(),
        }
    }
}

fn scan(
    text: &str,
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Scan> {
    let at = Positions::new(text, file);
    let mut pos = at.bom;
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut out = Scan {
        statements: Vec::new(),
        unset: Vec::new(),
        errors: Vec::new(),
    };
    loop {
        let rest = text[pos..].trim_start();
        pos = text.len() - rest.len();
        if rest.is_empty() {
            break;
        }
        if rest.starts_with('#') {
            pos = line_end(text, pos);
            continue;
        }
        let start = pos;
        if let Some(after) = rest.strip_prefix("export") {
            if after.starts_with(is_space) {
                let key_at = skip_spaces(text, pos + "export".len());
                if matches!(text[key_at..].chars().next(), None | Some('\n')) {
                    // `export` alone on its line: Compose ignores it.
                    pos = key_at;
                    continue;
                }
                pos = key_at;
            }
        }
        let key_start = pos;
        let mut terminator = None;
        for (i, c) in text[key_start..].char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    terminator = Some((key_start + i, c));
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if is_space(c) || c.is_alphanumeric() => {}
                c => {
                    return Err(at.error(
                        key_start + i,
                        true,
                        format!(
                            "expected KEY=VAL, found `{}`: `{c}` cannot be part of a variable name (letters, digits, _ . - [ ]); fix the name, or start the line with # to make it a comment",
                            at.excerpt(key_start)
                        ),
                    ))
                }
            }
        }
        let (term_at, term) = terminator.unwrap_or((text.len(), '\n'));
        let key = text[key_start..term_at].trim_end_matches(char::is_whitespace);
        if key.is_empty() {
            return Err(at.error(
                key_start,
                false,
                format!(
                    "expected KEY=VAL, found `{}`: the variable name is missing",
                    at.excerpt(start)
                ),
            ));
        }
        if key.contains(char::is_whitespace) {
            return Err(at.error(
                key_start,
                false,
                format!(
                    "expected KEY=VAL, found `{}`: a variable name cannot contain spaces; fix the name, or start the line with # to make it a comment",
                    at.excerpt(start)
                ),
            ));
        }
        let key_end = key_start + key.len();
        let line = at.line(key_start);
        let known =
            |vars: &HashMap<String, String>, k: &str| lookup(k).or_else(|| vars.get(k).cloned());
        if term == '\n' {
            let value = known(&vars, key);
            if value.is_none() {
                out.unset.push(Unset {
                    name: key.to_string(),
                    line,
                    bare: true,
                });
            }
            if let Some(v) = &value {
                vars.insert(key.to_string(), v.clone());
            }
            out.statements.push(Statement {
                key: key.to_string(),
                value,
                line,
                span: start..key_end,
                value_span: key_end..key_end,
                quote: Quote::None,
                separator: Separator::Bare,
            });
            pos = term_at;
            continue;
        }
        let separator = if term == '=' {
            Separator::Equals
        } else {
            Separator::Colon
        };
        let value_start = skip_spaces(text, term_at + 1);
        let quote = match text[value_start..].chars().next() {
            Some('"') => Quote::Double,
            Some('\'') => Quote::Single,
            _ => Quote::None,
        };
        let (raw, value_span, next) = match quote {
            Quote::None => {
                let end = line_end(text, value_start);
                let mut raw = &text[value_start..end];
                if let Some(comment) = raw.find(" #") {
                    raw = &raw[..comment];
                }
                let raw = raw.trim_end();
                // An empty value sits after the spaces and tabs that follow the separator, so a
                // new one goes before a CRLF's `\r`, not between it and the `\n`.
                let span_start = if raw.is_empty() {
                    let after = &text[term_at + 1..];
                    term_at + 1 + (after.len() - after.trim_start_matches([' ', '\t']).len())
                } else {
                    value_start
                };
                (raw.to_string(), span_start..span_start + raw.len(), end)
            }
            Quote::Single | Quote::Double => {
                let q = if quote == Quote::Double { '"' } else { '\'' };
                let (raw, close) = quoted(text, value_start, q).ok_or_else(|| {
                    at.error(
                        value_start,
                        true,
                        format!(
                            "unterminated quoted value {}: the {q} that opens it is never closed; close it with {q} (a {q} inside the value is written \\{q})",
                            at.excerpt(value_start)
                        ),
                    )
                })?;
                let after = skip_spaces(text, close + 1);
                let next = match text[after..].chars().next() {
                    None | Some('\n') => after,
                    Some('#') => line_end(text, after),
                    Some(_) => {
                        return Err(at.error(
                            after,
                            true,
                            format!(
                                "unexpected `{}` after the closing {q} of {key}'s value; put it inside the quotes, or make it a comment with #",
                                at.excerpt(after)
                            ),
                        ))
                    }
                };
                (raw, value_start..close + 1, next)
            }
        };
        let value = if quote == Quote::Single {
            raw
        } else {
            let template = if quote == Quote::Double {
                expand_escapes(&raw)
            } else {
                raw
            };
            match interpolate::interpolate(&template, &|k| known(&vars, k)) {
                Ok(done) => {
                    out.unset.extend(done.unset.into_iter().map(|name| Unset {
                        name,
                        line,
                        bare: false,
                    }));
                    done.value
                }
                Err(e) => {
                    let error = interpolation_error(&at, &e, key, quote, value_start);
                    if strict {
                        return Err(error);
                    }
                    out.errors.push(error);
                    template
                }
            }
        };
        vars.insert(key.to_string(), value.clone());
        out.statements.push(Statement {
            key: key.to_string(),
            value: Some(value),
            line,
            span: start..value_span.end.max(key_end),
            value_span,
            quote,
            separator,
        });
        pos = next;
    }
    Ok(out)
}

fn interpolation_error(
    at: &Positions,
    e: &InterpolationError,
    key: &str,
    quote: Quote,
    value_start: usize,
) -> Error {
    // In an unquoted value, offsets in the template are offsets in the file; in a
    // double-quoted one, escapes moved them, so the error points at the opening quote.
    let pos = if quote == Quote::None {
        value_start + e.offset()
    } else {
        value_start
    };
    let message = match e {
        InterpolationError::Invalid { .. } => format!("{key}: {e}"),
        InterpolationError::MissingRequired { name, .. } => format!(
            "{key}: {e}; set {name} in the environment or earlier in this file, or give a default with ${{{name}:-value}}"
        ),
    };
    at.error(pos, true, message)
}

/// The raw content of the quoted value opening at `open` (with `\q` unescaped, other `\x`
/// kept), and the index of its closing quote; None when it is never closed.
fn quoted(text: &str, open: usize, q: char) -> Option<(String, usize)> {
    let mut raw = String::new();
    let mut escaped = false;
    for (i, c) in text[open + 1..].char_indices() {
        if c == q && !escaped {
            return Some((raw, open + 1 + i));
        }
        if c == q {
            escaped = false;
            raw.push(c);
        } else if escaped {
            escaped = false;
            raw.push('\\');
            raw.push(c);
        } else if c == '\\' {
            escaped = true;
        } else {
            raw.push(c);
        }
    }
    None
}

/// The shell escapes of double-quoted values. `\$` becomes `$$`, which interpolation then reads
/// as a literal `$`. Anything else after a backslash is kept as it is.
fn expand_escapes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let simple = match after.as_bytes().first() {
            Some(b'a') => Some("\u{07}"),
            Some(b'b') => Some("\u{08}"),
            Some(b'f') => Some("\u{0C}"),
            Some(b'n') => Some("\n"),
            Some(b'r') => Some("\r"),
            Some(b't') => Some("\t"),
            Some(b'v') => Some("\u{0B}"),
            Some(b'\\') => Some("\\"),
            Some(b'"') => Some("\""),
            Some(b'$') => Some("$$"),
            _ => None,
        };
        if let Some(s) = simple {
            out.push_str(s);
            rest = &after[1..];
        } else if let Some(digits) = after.strip_prefix('0') {
            // `\0` and up to three digits; exactly three octal digits up to 0377 make a
            // character, anything else stays as written.
            let n = digits
                .bytes()
                .take(3)
                .take_while(u8::is_ascii_digit)
                .count();
            let code = (n == 3)
                .then(|| u32::from_str_radix(&digits[..3], 8).ok())
                .flatten()
                .filter(|&v| v <= 0o377)
                .and_then(char::from_u32);
            match code {
                Some(c) => out.push(c),
                None => {
                    out.push_str("\\0");
                    out.push_str(&digits[..n]);
                }
            }
            rest = &digits[n..];
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The file after [`set`], and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub text: String,
    /// The value the key had before, as Compose reads it (quotes removed), if it was set.
    pub previous: Option<String>,
    pub changed: bool,
}

/// A value that reads the same unquoted, single- and double-quoted.
fn is_plain(value: &str) -> bool {
    value.chars().all(|c| {
        !c.is_whitespace() && !c.is_control() && !matches!(c, '#' | '$' | '\\' | '\'' | '"')
    })
}

/// `value` written so that the reader gives it back: in the line's own quoting when that
/// needs no escape, else double-quoted with escapes.
fn encode(value: &str, quote: Quote) -> String {
    if is_plain(value) {
        return match quote {
            Quote::None => value.to_string(),
            Quote::Single => format!("'{value}'"),
            Quote::Double => format!("\"{value}\""),
        };
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sets `key` to `value` in `existing` (the content of `file`), keeping every other byte: other
/// lines, comments, order, the BOM, line endings, and on the key's own line its `export`,
/// spacing, quoting (when the value needs none other) and comment.
///
/// If the key already has `value` as Compose reads it (`lookup` is the environment for
/// interpolation), nothing changes. Otherwise each assignment of the key gets the new value; if
/// there is none, one line is appended with the file's dominant line ending. A file the reader
/// cannot parse is an error: it is not safe to edit.
pub fn set(
    existing: &str,
    file: &Path,
    key: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Update> {
    let scanned = scan(existing, file, lookup, false)?;
    let mine: Vec<&Statement> = scanned.statements.iter().filter(|s| s.key == key).collect();
    let previous = mine.iter().rev().find_map(|s| s.value.clone());
    if previous.as_deref() == Some(value) {
        return Ok(Update {
            text: existing.to_string(),
            previous,
            changed: false,
        });
    }
    let mut text = String::with_capacity(existing.len() + key.len() + value.len() + 4);
    let mut copied = 0;
    for s in &mine {
        if s.value.as_deref() == Some(value) {
            continue;
        }
        text.push_str(&existing[copied..s.value_span.start]);
        if s.separator == Separator::Bare {
            text.push('=');
        }
        let mut encoded = encode(value, s.quote);
        let rest = &existing[s.value_span.end..line_end(existing, s.value_span.end)];
        if encoded.is_empty() && !rest.trim().is_empty() {
            // `KEY=  # comment` would read as "# comment": an empty value needs its quotes.
            encoded = "\"\"".to_string();
        }
        text.push_str(&encoded);
        copied = s.value_span.end;
    }
    text.push_str(&existing[copied..]);
    if mine.is_empty() {
        let crlf = existing.matches("\r\n").count();
        let lf = existing.matches('\n').count() - crlf;
        let ending = if crlf > lf { "\r\n" } else { "\n" };
        let body = existing.strip_prefix(BOM).unwrap_or(existing);
        if !body.is_empty() && !body.ends_with('\n') {
            text.push_str(ending);
        }
        text.push_str(key);
        text.push('=');
        text.push_str(&encode(value, Quote::None));
        text.push_str(ending);
    }
    let changed = text != existing;
    Ok(Update {
        text,
        previous,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::{expand_escapes, no_environment, parse, set, Update};
    use std::path::Path;

    fn set_(existing: &str, key: &str, value: &str) -> Update {
        set(existing, Path::new(".env"), key, value, &no_environment).unwrap()
    }

    #[test]
    fn replaces_only_the_value() {
        let before =
            "# hosts\r\nTZ=Europe/Paris\r\nexport PGID_DOCKER_SOCKET=998  # old\r\nOTHER=1";
        let u = set_(before, "PGID_DOCKER_SOCKET", "999");
        assert_eq!(
            u.text,
            "# hosts\r\nTZ=Europe/Paris\r\nexport PGID_DOCKER_SOCKET=999  # old\r\nOTHER=1"
        );
        assert_eq!(u.previous.as_deref(), Some("998"));
        assert!(u.changed);
        assert!(!set_(&u.text, "PGID_DOCKER_SOCKET", "999").changed);
    }

    #[test]
    fn appends_with_the_files_line_ending() {
        assert_eq!(set_("", "K", "1").text, "K=1\n");
        assert_eq!(set_("A=1\r\nB=2", "K", "1").text, "A=1\r\nB=2\r\nK=1\r\n");
        assert_eq!(set_("A=1\n", "K", "1").text, "A=1\nK=1\n");
        // A longer key that merely starts with K is another key.
        assert_eq!(set_("KEY=1\n", "K", "2").text, "KEY=1\nK=2\n");
        // The value as Compose reads it: quotes removed; the same value changes nothing.
        let quoted = set_("K=\"7\"\n", "K", "7");
        assert_eq!(quoted.previous.as_deref(), Some("7"));
        assert!(!quoted.changed);
        assert_eq!(quoted.text, "K=\"7\"\n");
        // A BOM: the first line is still an assignment, and an empty file gets no blank line.
        assert_eq!(set_("\u{FEFF}K=1\n", "K", "2").text, "\u{FEFF}K=2\n");
        assert_eq!(set_("\u{FEFF}", "K", "2").text, "\u{FEFF}K=2\n");
    }

    #[test]
    fn keeps_quoting_and_escapes_what_needs_it() {
        assert_eq!(set_("K='1' # c\n", "K", "2").text, "K='2' # c\n");
        assert_eq!(set_("K: \"1\"\n", "K", "2").text, "K: \"2\"\n");
        assert_eq!(set_("K\n", "K", "2").text, "K=2\n");
        assert_eq!(set_("K=1  # c\r\n", "K", "").text, "K=\"\"  # c\r\n");
        assert_eq!(set_("K=\r\n", "K", "0").text, "K=0\r\n");
        assert_eq!(
            set_("K=1\n", "K", "a \"b\" $c\\\n").text,
            "K=\"a \\\"b\\\" $$c\\\\\\n\"\n"
        );
        // A line inside a multi-line value is not an assignment.
        let text = "A=\"x\nK=1\ny\"\nK=2\n";
        assert_eq!(set_(text, "K", "3").text, "A=\"x\nK=1\ny\"\nK=3\n");
    }

    #[test]
    fn a_file_it_cannot_read_is_not_edited() {
        assert!(set("A=\"open\n", Path::new("x.env"), "K", "1", &no_environment).is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            expand_escapes(r#"a\tb\\n\0101\012\0400\09\x\"\$"#),
            "a\tb\\nA\\012\\0400\\09\\x\"$$"
        );
        assert_eq!(expand_escapes("é\\é\\"), "é\\é\\");
    }

    #[test]
    fn errors_never_panic_on_odd_input() {
        for text in [
            "\u{FEFF}",
            "=",
            ":",
            "export",
            "export ",
            "export\n",
            "A=\"",
            "A='\\",
            "\\",
            "A=$",
            "A=${",
            "A=\"\\0\"",
            "\u{FEFF}\u{FEFF}",
            "A\u{FEFF}=1",
            "A=\"x\"\u{FEFF}",
            "é",
            "#\u{FEFF}",
            "A=\"${\"",
            "A=\r",
            "\r\n\r",
            "A:\n",
            "[]=1",
        ] {
            let _ = parse(text, Path::new("x"), &no_environment);
        }
    }
}
