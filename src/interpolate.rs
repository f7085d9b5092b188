//! Variable interpolation with Docker Compose's syntax, for `.env` values (and compose files).
//!
//! - `$$` is a literal `$`;
//! - `$NAME` and `${NAME}`: the value, or empty when unset (reported back in
//!   [`Interpolated::unset`], so the caller can warn, as Compose does);
//! - `${NAME:-default}` / `${NAME-default}`: the default when NAME is unset or empty / unset;
//! - `${NAME:?message}` / `${NAME?message}`: an error carrying the message when NAME is unset or
//!   empty / unset;
//! - `${NAME:+replacement}` / `${NAME+replacement}`: the replacement when NAME is set and not
//!   empty / set, else NAME's value (empty);
//! - defaults, messages and replacements are interpolated in turn (`${A:-${B:-x}}`), only when
//!   they are used, as Compose does;
//! - names are `[_A-Za-z][_A-Za-z0-9]*`; a `$` followed by anything else is kept as it is, but
//!   a `${` that is none of the forms above is an error.
//!
//! Source: compose-go's template package (github.com/compose-spec/compose-go,
//! template/template.go). One quirk is not reproduced: Compose's brace matching skips the
//! character after each `{`; here braces are simply counted.

use std::fmt;

/// Nesting deeper than this is refused (a default inside a default inside ...), so hostile
/// input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// What went wrong, with the byte offset in the interpolated text where the reference starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// A `${` that is not one of the supported forms (or is never closed).
    Invalid { offset: usize, reference: String },
    /// `${NAME:?message}` or `${NAME?message}` with NAME missing.
    MissingRequired {
        offset: usize,
        name: String,
        message: String,
    },
}

impl InterpolationError {
    /// The byte offset of the `$` of the reference.
    pub fn offset(&self) -> usize {
        match self {
            InterpolationError::Invalid { offset, .. }
            | InterpolationError::MissingRequired { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::Invalid { reference, .. } => write!(
                f,
                "invalid variable reference `{reference}`; write $NAME, ${{NAME}}, ${{NAME:-default}}, ${{NAME-default}}, ${{NAME:?message}}, ${{NAME?message}}, ${{NAME:+replacement}} or ${{NAME+replacement}} (NAME is letters, digits and _), and $$ for a literal $"
            ),
            InterpolationError::MissingRequired { name, message, .. } => {
                write!(f, "required variable {name} is missing a value")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for InterpolationError {}

/// The interpolated text, and the names that were unset and read as empty (each once, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    pub unset: Vec<String>,
}

/// Interpolates `template`, looking names up with `lookup`.
pub fn interpolate(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolationError> {
    let mut unset = Vec::new();
    let value = expand(template, 0, lookup, 0, &mut unset)?;
    Ok(Interpolated { value, unset })
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn is_name_char(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// The length of the name at the start of `s` (0 if there is none).
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first().is_some_and(|&c| is_name_start(c)) {
        b.iter().take_while(|&&c| is_name_char(c)).count()
    } else {
        0
    }
}

/// The index of the `}` closing the `{` at `open`, counting the braces in between.
fn closing_brace(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A short quote of an unclosed reference for error messages: up to the end of its line.
fn quote_unclosed(s: &str) -> String {
    let line = s.split(['\n', '\r']).next().unwrap_or(s);
    match line.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

fn note_unset(name: &str, unset: &mut Vec<String>) {
    if !unset.iter().any(|n| n == name) {
        unset.push(name.to_string());
    }
}

/// `s` interpolated; `base` is the offset of `s` in the outermost template.
fn expand(
    s: &str,
    base: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut literal = 0;
    let mut i = 0;
    while let Some(rel) = s[i..].find('$') {
        let dollar = i + rel;
        match bytes.get(dollar + 1) {
            Some(b'$') => {
                out.push_str(&s[literal..dollar]);
                out.push('$');
                i = dollar + 2;
                literal = i;
            }
            Some(b'{') => {
                out.push_str(&s[literal..dollar]);
                let close =
                    closing_brace(s, dollar + 1).ok_or_else(|| InterpolationError::Invalid {
                        offset: base + dollar,
                        reference: quote_unclosed(&s[dollar..]),
                    })?;
                out.push_str(&braced(
                    &s[dollar..=close],
                    base + dollar,
                    lookup,
                    depth,
                    unset,
                )?);
                i = close + 1;
                literal = i;
            }
            Some(&b) if is_name_start(b) => {
                out.push_str(&s[literal..dollar]);
                let len = name_len(&s[dollar + 1..]);
                let name = &s[dollar + 1..dollar + 1 + len];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => note_unset(name, unset),
                }
                i = dollar + 1 + len;
                literal = i;
            }
            // A `$` before anything else (a digit, a space, the end) is an ordinary character.
            _ => i = dollar + 1,
        }
    }
    out.push_str(&s[literal..]);
    Ok(out)
}

/// One `${...}` reference (`reference` includes `${` and `}`), at `offset`.
fn braced(
    reference: &str,
    offset: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    unset: &mut Vec<String>,
) -> Result<String, InterpolationError> {
    let invalid = || InterpolationError::Invalid {
        offset,
        reference: reference.to_string(),
    };
    if depth >= MAX_DEPTH {
        return Err(invalid());
    }
    let inner = &reference[2..reference.len() - 1];
    let len = name_len(inner);
    if len == 0 {
        return Err(invalid());
    }
    let name = &inner[..len];
    let rest = &inner[len..];
    if rest.is_empty() {
        return Ok(match lookup(name) {
            Some(v) => v,
            None => {
                note_unset(name, unset);
                String::new()
            }
        });
    }
    let colon = rest.starts_with(':');
    let after_colon = &rest[usize::from(colon)..];
    // The operator is one of `-?+` (ASCII); anything else, a multibyte character included,
    // makes the reference invalid before any slicing.
    let op = after_colon
        .bytes()
        .next()
        .filter(|b| matches!(b, b'-' | b'?' | b'+'))
        .ok_or_else(invalid)?;
    let word = &after_colon[1..];
    // Where `word` starts in the outermost template: `${`, the name, `:`, the operator.
    let word_base = offset + 2 + len + usize::from(colon) + 1;
    let sub = |unset: &mut Vec<String>| expand(word, word_base, lookup, depth + 1, unset);
    let value = lookup(name);
    // `:` makes an empty value count as missing.
    let missing = match &value {
        None => true,
        Some(v) => colon && v.is_empty(),
    };
    match op {
        b'-' => {
            if missing {
                sub(unset)
            } else {
                Ok(value.unwrap_or_default())
            }
        }
        b'+' => {
            if missing {
                Ok(value.unwrap_or_default())
            } else {
                sub(unset)
            }
        }
        b'?' => {
            if missing {
                let message = sub(unset)?;
                Err(InterpolationError::MissingRequired {
                    offset,
                    name: name.to_string(),
                    message,
                })
            } else {
                Ok(value.unwrap_or_default())
            }
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::{interpolate, InterpolationError};

    fn env(k: &str) -> Option<String> {
        match k {
            "A" => Some("a".into()),
            "EMPTY" => Some(String::new()),
            "B_2" => Some("b".into()),
            _ => None,
        }
    }

    fn ok(t: &str) -> String {
        interpolate(t, &env).unwrap().value
    }

    #[test]
    fn forms() {
        let rows = [
            ("plain", "plain"),
            ("$$A", "$A"),
            ("$$$A", "$a"),
            ("$A-x", "a-x"),
            ("${A}x", "ax"),
            ("$B_2.", "b."),
            ("${NOPE}|$NOPE", "|"),
            ("${NOPE:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${NOPE-d}", "d"),
            ("${A:-d}", "a"),
            ("${A:+r}", "r"),
            ("${EMPTY:+r}", ""),
            ("${EMPTY+r}", "r"),
            ("${NOPE+r}", ""),
            ("${A:?m}", "a"),
            ("${EMPTY?m}", ""),
            ("${NOPE:-${A}}", "a"),
            ("${NOPE:-${NOPE2:-${A:+{x}}}}!", "{x}!"),
            ("${NOPE:-a}b}", "ab}"),
            ("1$ 2$", "1$ 2$"),
            ("$1", "$1"),
            ("€$A€", "€a€"),
            // An unused default is not evaluated, as Compose does.
            ("${A:-${}}", "a"),
        ];
        for (t, want) in rows {
            assert_eq!(ok(t), want, "{t}");
        }
    }

    #[test]
    fn unset_names_are_reported_once() {
        let r = interpolate("$X ${X} ${Y:-d} ${Z}", &env).unwrap();
        assert_eq!(r.unset, ["X", "Z"]);
    }

    #[test]
    fn errors() {
        for (t, offset) in [
            ("x${}", 1),
            ("${1A}", 0),
            ("${A B}", 0),
            ("${A:x}", 0),
            ("${A:}", 0),
            ("ab${A", 2),
            ("${NOPE:-${}}", 8),
        ] {
            match interpolate(t, &env) {
                Err(e @ InterpolationError::Invalid { .. }) => {
                    assert_eq!(e.offset(), offset, "{t}")
                }
                other => panic!("{t}: {other:?}"),
            }
        }
        let e = interpolate("x ${NOPE:?set it, see ${A}}", &env).unwrap_err();
        assert_eq!(
            e,
            InterpolationError::MissingRequired {
                offset: 2,
                name: "NOPE".into(),
                message: "set it, see a".into()
            }
        );
        assert!(e
            .to_string()
            .contains("required variable NOPE is missing a value: set it, see a"));
        assert!(matches!(
            interpolate("${EMPTY:?}", &env),
            Err(InterpolationError::MissingRequired { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "${N:-".repeat(10_000) + &"}".repeat(10_000);
        assert!(interpolate(&deep, &env).is_err());
        let unclosed = "${".repeat(10_000);
        assert!(interpolate(&unclosed, &env).is_err());
    }
}
