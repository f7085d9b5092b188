//! A parser for HAProxy's configuration syntax: sections, keywords, quoting and escapes,
//! comments, `"${VAR}"` expansion, with line and column for everything.
//!
//! It follows HAProxy's own line parser: outside quotes a `#` starts a comment and a backslash
//! escapes ` `, `\`, `#`, `"`, `'` and `$` (and `\r`, `\n`, `\t`, `\xNN`), while before any other
//! character it stays as it is (so regexes like `\d` survive); double quotes keep spaces and
//! expand environment variables; single quotes keep everything literally.

use std::collections::BTreeMap;

/// Where a word comes from: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    /// Length of the word in the source line, in characters.
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    /// userlist, resolvers, peers, mailers, program, http-errors, ring, cache, ...
    Other,
}

impl SectionKind {
    fn parse(keyword: &str) -> Option<SectionKind> {
        Some(match keyword {
            "global" => SectionKind::Global,
            "defaults" => SectionKind::Defaults,
            "frontend" => SectionKind::Frontend,
            "backend" => SectionKind::Backend,
            "listen" => SectionKind::Listen,
            "userlist" | "resolvers" | "peers" | "mailers" | "program" | "http-errors" | "ring"
            | "cache" | "log-forward" | "crt-store" | "traces" | "acme" => SectionKind::Other,
            _ => return None,
        })
    }

    /// Whether requests pass through this section's rules.
    pub fn is_proxy(self) -> bool {
        matches!(
            self,
            SectionKind::Frontend | SectionKind::Listen | SectionKind::Backend
        )
    }
}

/// One configuration line: a keyword and its arguments.
#[derive(Debug, Clone)]
pub struct Directive {
    pub words: Vec<Word>,
    pub line: usize,
}

impl Directive {
    pub fn keyword(&self) -> &str {
        &self.words[0].text
    }

    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i + 1).map(|w| w.text.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    pub keyword: String,
    pub name: Option<String>,
    pub line: usize,
    pub directives: Vec<Directive>,
}

/// Something the parser could not read; the file cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A `${VAR}` the environment did not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub sections: Vec<Section>,
    pub errors: Vec<ParseError>,
    pub unset: Vec<UnsetVariable>,
    /// The JSON after `# sockproxy-gen-inputs:`, with its line.
    pub inputs_header: Option<(usize, String)>,
}

impl Config {
    pub fn sections_of(&self, kind: SectionKind) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    pub fn backend(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| {
            matches!(s.kind, SectionKind::Backend | SectionKind::Listen)
                && s.name.as_deref() == Some(name)
        })
    }
}

/// The values of environment variables for `"${VAR}"` and `env(VAR)`.
pub type Env = BTreeMap<String, String>;

/// Whether `text` looks like an HAProxy configuration: a section keyword starts a line.
pub fn looks_like_haproxy(text: &str) -> bool {
    text.lines().any(|l| {
        let first = l.split_whitespace().next().unwrap_or("");
        !l.starts_with([' ', '\t'])
            && matches!(
                first,
                "global" | "defaults" | "frontend" | "backend" | "listen"
            )
    })
}

/// Parses a whole file.
pub fn parse(text: &str, env: &Env) -> Config {
    let mut config = Config::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let tokens = match tokenize(raw, line_no, env, &mut config.unset) {
            Ok(t) => t,
            Err(e) => {
                config.errors.push(e);
                continue;
            }
        };
        if let Some(comment) = &tokens.comment {
            let c = comment.trim();
            if let Some(json) = c.strip_prefix("sockproxy-gen-inputs:") {
                config.inputs_header = Some((line_no, json.trim().to_string()));
            }
        }
        if tokens.words.is_empty() {
            continue;
        }
        let directive = Directive {
            words: tokens.words,
            line: line_no,
        };
        let keyword = directive.keyword().to_string();
        // HAProxy recognises a section keyword as the first word of a line, indented or not.
        match SectionKind::parse(&keyword) {
            Some(kind) => {
                config.sections.push(Section {
                    kind,
                    keyword,
                    name: directive.arg(0).map(str::to_string),
                    line: line_no,
                    directives: Vec::new(),
                });
            }
            _ => match config.sections.last_mut() {
                Some(section) => section.directives.push(directive),
                None => config.errors.push(ParseError {
                    line: line_no,
                    column: directive.words[0].span.column,
                    message: format!(
                        "`{keyword}` outside any section; start with `global`, `defaults`, `frontend`, `backend` or `listen`"
                    ),
                }),
            },
        }
    }
    config
}

struct Tokens {
    words: Vec<Word>,
    comment: Option<String>,
}

/// Splits one line into words as HAProxy does.
fn tokenize(
    line: &str,
    line_no: usize,
    env: &Env,
    unset: &mut Vec<UnsetVariable>,
) -> Result<Tokens, ParseError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: String| ParseError {
        line: line_no,
        column,
        message,
    };
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            return Ok(Tokens {
                words,
                comment: None,
            });
        }
        if chars[i] == '#' {
            return Ok(Tokens {
                words,
                comment: Some(chars[i + 1..].iter().collect()),
            });
        }
        let start = i;
        let mut text = String::new();
        while i < chars.len() && !chars[i].is_whitespace() {
            match chars[i] {
                '#' => break,
                '\\' => {
                    let next = chars.get(i + 1).copied();
                    match next {
                        Some(c @ (' ' | '\\' | '#' | '"' | '\'' | '$')) => {
                            text.push(c);
                            i += 2;
                        }
                        Some('r') => {
                            text.push('\r');
                            i += 2;
                        }
                        Some('n') => {
                            text.push('\n');
                            i += 2;
                        }
                        Some('t') => {
                            text.push('\t');
                            i += 2;
                        }
                        Some('x') => {
                            let hex: String = chars.iter().skip(i + 2).take(2).collect();
                            let byte = u8::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 2);
                            match byte {
                                Some(b) => {
                                    text.push(b as char);
                                    i += 4;
                                }
                                None => {
                                    return Err(err(
                                        i + 1,
                                        "`\\x` must be followed by two hex digits".into(),
                                    ))
                                }
                            }
                        }
                        Some(_) => {
                            text.push('\\');
                            i += 1;
                        }
                        None => return Err(err(
                            i + 1,
                            "a backslash at the end of the line (HAProxy has no line continuation)"
                                .into(),
                        )),
                    }
                }
                '\'' => {
                    let close = chars[i + 1..].iter().position(|&c| c == '\'');
                    match close {
                        Some(n) => {
                            text.extend(&chars[i + 1..i + 1 + n]);
                            i += n + 2;
                        }
                        None => {
                            return Err(err(
                                i + 1,
                                "unterminated single quote; close it with `'` on the same line"
                                    .into(),
                            ))
                        }
                    }
                }
                '"' => {
                    let open = i;
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(err(
                                open + 1,
                                "unterminated double quote; close it with `\"` on the same line"
                                    .into(),
                            )),
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '$')) => {
                                text.push(chars[i + 1]);
                                i += 2;
                            }
                            Some('$') if chars.get(i + 1) == Some(&'{') => {
                                let close = chars[i + 2..].iter().position(|&c| c == '}');
                                let Some(n) = close else {
                                    return Err(err(
                                        i + 1,
                                        "unterminated `${`; write `\"${NAME}\"`".into(),
                                    ));
                                };
                                let name: String = chars[i + 2..i + 2 + n].iter().collect();
                                match env.get(&name) {
                                    Some(v) => text.push_str(v),
                                    None => unset.push(UnsetVariable {
                                        name,
                                        span: Span {
                                            line: line_no,
                                            column: i + 1,
                                            len: n + 3,
                                        },
                                    }),
                                }
                                i += n + 3;
                            }
                            Some(&c) => {
                                text.push(c);
                                i += 1;
                            }
                        }
                    }
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if i > start {
            words.push(Word {
                text,
                span: Span {
                    line: line_no,
                    column: start + 1,
                    len: i - start,
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let env: Env = [("SOCK".to_string(), "/run/d.sock".to_string())].into();
        let mut unset = Vec::new();
        tokenize(line, 1, &env, &mut unset)
            .unwrap()
            .words
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn quoting_escapes_and_comments() {
        assert_eq!(
            words("  acl a path -m reg ^(/v[\\d\\.]+)?/x # c"),
            ["acl", "a", "path", "-m", "reg", "^(/v[\\d\\.]+)?/x"]
        );
        assert_eq!(
            words(r#"server s "${SOCK}""#),
            ["server", "s", "/run/d.sock"]
        );
        assert_eq!(words(r"a\ b c\#d e\\f"), ["a b", "c#d", "e\\f"]);
        assert_eq!(
            words("x 'a \"b\" ${SOCK}' y"),
            ["x", "a \"b\" ${SOCK}", "y"]
        );
        assert_eq!(words(r#"x pre"mid dle"post"#), ["x", "premid dlepost"]);
        assert_eq!(words(r"x \x41"), ["x", "A"]);
        let mut unset = Vec::new();
        assert!(tokenize("x \"open", 3, &Env::new(), &mut unset).is_err());
        tokenize("x \"${NOPE}\"", 3, &Env::new(), &mut unset).unwrap();
        assert_eq!(unset[0].name, "NOPE");
    }

    #[test]
    fn sections() {
        let text = "global\n  log stdout local0\nfrontend f\n  bind :1\nbackend b\n  server s /x\n";
        let c = parse(text, &Env::new());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let kinds: Vec<_> = c
            .sections
            .iter()
            .map(|s| (s.kind, s.name.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                (SectionKind::Global, None),
                (SectionKind::Frontend, Some("f".into())),
                (SectionKind::Backend, Some("b".into()))
            ]
        );
    }
}
