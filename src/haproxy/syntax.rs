//! A parser for HAProxy's configuration syntax: sections, keywords, quoting and escapes,
//! comments, `"${VAR}"` expansion, with line and column for everything.
//!
//! It follows HAProxy's own line parser: outside quotes a `#` starts a comment and a backslash
//! escapes ` `, `\`, `#`, `"`, `'` and `$` (and `\r`, `\n`, `\t`, `\xNN`), while before any other
//! character it stays as it is (so regexes like `\d` survive); double quotes keep spaces and
//! expand environment variables; single quotes keep everything literally.

use std::collections::BTreeMap;

use super::conditions::{self, Truth};
use super::version::Version;

/// Where a word comes from: 1-based line and column (in characters). Kept as `u32` (a parse
/// tree holds one per word, so its size is a large share of lint's memory on a big file); a
/// value past `u32::MAX` (a line of 4 G characters) is stored as `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    line: u32,
    column: u32,
    len: u32,
}

impl Span {
    pub fn new(line: usize, column: usize, len: usize) -> Span {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            line: narrow(line),
            column: narrow(column),
            len: narrow(len),
        }
    }

    pub fn line(&self) -> usize {
        self.line as usize
    }

    pub fn column(&self) -> usize {
        self.column as usize
    }

    /// Length of the word in the source line, in characters.
    pub fn width(&self) -> usize {
        self.len as usize
    }
}

/// One word of a directive as the parser read it (after unquoting and variable expansion),
/// borrowed from its [`Directive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub span: Span,
}

/// Where a word of a directive sits: where its text ends in [`Directive::text`] (it starts
/// where the previous one ends), and its column and width in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    end: u32,
    column: u32,
    width: u32,
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
            | "cache" | "log-forward" | "crt-store" | "traces" | "acme" | "fcgi-app"
            | "log-profile" => SectionKind::Other,
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
///
/// The parse tree keeps every word of the file, so it is most of lint's memory on a large
/// config: a directive holds its words' texts in one allocation and 12 bytes per word for where
/// each sits, instead of a `String` and a span per word (which was about 5x the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The texts of the words, one after another.
    text: Box<str>,
    /// One per word; never empty (a line without words is not a directive).
    slots: Box<[Slot]>,
    pub line: usize,
}

impl Directive {
    /// How many words, the keyword included.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true for a parsed directive; here for the `len` convention.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `i`th word, the keyword being word 0.
    pub fn word(&self, i: usize) -> Option<Word<'_>> {
        let slot = self.slots.get(i)?;
        let start = match i.checked_sub(1).and_then(|p| self.slots.get(p)) {
            Some(previous) => previous.end as usize,
            None => 0,
        };
        Some(Word {
            // A directive of more than 4 GB is cut short rather than sliced mid-character.
            text: self.text.get(start..slot.end as usize).unwrap_or(""),
            span: Span::new(self.line, slot.column as usize, slot.width as usize),
        })
    }

    /// Every word, the keyword first.
    pub fn words(&self) -> impl DoubleEndedIterator<Item = Word<'_>> + Clone + '_ {
        (0..self.slots.len()).filter_map(move |i| self.word(i))
    }

    /// The keyword, as a word with its place.
    pub fn first(&self) -> Word<'_> {
        self.word(0).unwrap_or(Word {
            text: "",
            span: Span::new(self.line, 1, 0),
        })
    }

    pub fn keyword(&self) -> &str {
        self.first().text
    }

    /// The words after the keyword.
    pub fn args(&self) -> Vec<Word<'_>> {
        self.words().skip(1).collect()
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.word(i + 1).map(|w| w.text)
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
    /// Every `.if`/`.elif` condition HAProxy evaluates, with its value.
    pub conditions: Vec<Condition>,
    /// The `.diag/.notice/.warning/.alert` lines of the branches taken.
    pub messages: Vec<Message>,
    /// The environment after the global section's `setenv` and friends: what `env(VAR)` reads
    /// when the proxy runs.
    pub env: Env,
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

/// What a `.if`/`.elif` decided, for the findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub line: usize,
    /// The condition as written (after unquoting and variable expansion).
    pub text: String,
    /// `None` when it could not be decided from the file (the reason is in `unknown`).
    pub value: Option<bool>,
    pub unknown: Option<String>,
}

/// A `.diag`, `.notice`, `.warning` or `.alert` line that HAProxy would print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub line: usize,
    pub level: String,
    pub text: String,
}

/// How a parse treats what the file alone cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assume {
    /// The value of a condition that cannot be decided (`feature(LUA)`).
    pub unknown_conditions: bool,
}

/// Parses a whole file for HAProxy `version`, conditions that cannot be decided taken as false.
pub fn parse(text: &str, env: &Env, version: Version) -> Config {
    parse_assuming(
        text,
        env,
        version,
        Assume {
            unknown_conditions: false,
        },
    )
}

/// One open `.if` block: whether its current branch is taken, and whether one was.
struct Block {
    line: usize,
    taking: bool,
    taken: bool,
    seen_else: bool,
    /// The enclosing blocks all take their current branch.
    outer: bool,
}

/// Parses a whole file for HAProxy `version`, with `assume` for what it cannot decide.
///
/// As HAProxy does: every line is split into words (a quoting error is an error even in a
/// branch not taken); `.if/.elif/.else/.endif` choose the lines that count; `.diag/.notice/
/// .warning/.alert` are messages (an alert in a branch taken fails the file); `setenv`,
/// `presetenv`, `unsetenv` and `resetenv` in `global` change the environment of the lines after
/// them, and `Config::env` is the environment the running process has (what `env(VAR)` reads).
pub fn parse_assuming(text: &str, env: &Env, version: Version, assume: Assume) -> Config {
    let mut config = Config::default();
    let mut env = env.clone();
    for (name, value) in conditions::predefined(version) {
        env.entry(name.to_string()).or_insert(value);
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut words = LineWords::default();
    let taking = |blocks: &[Block]| blocks.last().is_none_or(|b| b.taking && b.outer);
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let comment = match tokenize(raw, line_no, &env, &mut config.unset, &mut words) {
            Ok(c) => c,
            Err(e) => {
                config.errors.push(e);
                continue;
            }
        };
        if let Some(comment) = comment {
            let c = comment.trim();
            if let Some(json) = c.strip_prefix("sockproxy-gen-inputs:") {
                config.inputs_header = Some((line_no, json.trim().to_string()));
            }
        }
        if words.is_empty() {
            continue;
        }
        let directive = words.directive(line_no);
        let error = |message: String| ParseError {
            line: line_no,
            column: directive.first().span.column(),
            message,
        };
        if directive.keyword().starts_with('.') {
            let first = directive.keyword().to_string();
            let rest = directive
                .words()
                .skip(1)
                .map(|w| w.text)
                .collect::<Vec<_>>()
                .join(" ");
            let outer = taking(&blocks);
            let decide = |config: &mut Config| -> Option<bool> {
                match conditions::evaluate(&rest, &env, version) {
                    Ok(Truth::Known(b)) => {
                        config.conditions.push(Condition {
                            line: line_no,
                            text: rest.clone(),
                            value: Some(b),
                            unknown: None,
                        });
                        Some(b)
                    }
                    Ok(Truth::Unknown(why)) => {
                        config.conditions.push(Condition {
                            line: line_no,
                            text: rest.clone(),
                            value: None,
                            unknown: Some(why),
                        });
                        Some(assume.unknown_conditions)
                    }
                    Err(message) => {
                        config.errors.push(error(format!(
                            "cannot evaluate `{first} {rest}`: {message} (HAProxy {} refuses it too)",
                            version.line()
                        )));
                        None
                    }
                }
            };
            match first.as_str() {
                ".if" => {
                    // A condition in a branch not taken is not evaluated by HAProxy.
                    let value = if outer {
                        decide(&mut config)
                    } else {
                        Some(false)
                    };
                    let value = value.unwrap_or(false);
                    blocks.push(Block {
                        line: line_no,
                        taking: value,
                        taken: value,
                        seen_else: false,
                        outer,
                    });
                }
                ".elif" | ".else" => {
                    let Some(block) = blocks.last() else {
                        config.errors.push(error(format!(
                            "`{first}` without `.if`; HAProxy refuses it too"
                        )));
                        continue;
                    };
                    if block.seen_else {
                        config.errors.push(error(format!(
                            "`{first}` after `.else` (block of line {}); HAProxy refuses it too",
                            block.line
                        )));
                        continue;
                    }
                    let (already, outer) = (block.taken, block.outer);
                    let value = if first == ".else" {
                        !already
                    } else if already || !outer {
                        false
                    } else {
                        decide(&mut config).unwrap_or(false)
                    };
                    let block = blocks.last_mut().expect("checked above");
                    block.taking = value;
                    block.taken |= value;
                    block.seen_else = first == ".else";
                }
                ".endif" => {
                    if blocks.pop().is_none() {
                        config.errors.push(error(
                            "`.endif` without `.if`; HAProxy refuses it too".into(),
                        ));
                    }
                }
                ".diag" | ".notice" | ".warning" | ".alert" => {
                    if taking(&blocks) {
                        let level = first.trim_start_matches('.').to_string();
                        if level == "alert" {
                            config.errors.push(error(format!(
                                "`.alert {rest}`: the file stops HAProxy here, as it says"
                            )));
                        }
                        config.messages.push(Message {
                            line: line_no,
                            level,
                            text: rest,
                        });
                    }
                }
                _ => {
                    if taking(&blocks) {
                        config.errors.push(error(format!(
                            "unknown directive `{first}`; HAProxy knows .if, .elif, .else, .endif, .diag, .notice, .warning and .alert"
                        )));
                    }
                }
            }
            continue;
        }
        if !taking(&blocks) {
            continue;
        }
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
                Some(section) => {
                    if section.kind == SectionKind::Global {
                        change_environment(&directive, &mut env);
                    }
                    section.directives.push(directive)
                }
                None => config.errors.push(ParseError {
                    line: line_no,
                    column: directive.first().span.column(),
                    message: format!(
                        "`{keyword}` outside any section; start with `global`, `defaults`, `frontend`, `backend` or `listen`"
                    ),
                }),
            },
        }
    }
    if let Some(open) = blocks.last() {
        config.errors.push(ParseError {
            line: open.line,
            column: 1,
            message: "this `.if` has no `.endif`; HAProxy refuses it too".into(),
        });
    }
    config.env = env;
    config
}

/// `setenv`, `presetenv`, `unsetenv` and `resetenv` of the global section.
fn change_environment(directive: &Directive, env: &mut Env) {
    let args: Vec<&str> = directive.words().skip(1).map(|w| w.text).collect();
    match (directive.keyword(), args.as_slice()) {
        ("setenv", [name, value, ..]) => {
            env.insert(name.to_string(), value.to_string());
        }
        ("presetenv", [name, value, ..]) => {
            env.entry(name.to_string())
                .or_insert_with(|| value.to_string());
        }
        ("unsetenv", names) => {
            for name in names {
                env.remove(*name);
            }
        }
        ("resetenv", keep) => env.retain(|k, _| keep.contains(&k.as_str())),
        _ => {}
    }
}

/// The words of one line while it is read. Its buffers are reused from line to line, so
/// reading a word allocates nothing; a [`Directive`] takes an exact-size copy.
#[derive(Debug, Default)]
struct LineWords {
    chars: Vec<char>,
    /// The texts of the words, one after another.
    text: String,
    slots: Vec<Slot>,
}

impl LineWords {
    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn directive(&self, line: usize) -> Directive {
        Directive {
            text: Box::from(self.text.as_str()),
            slots: Box::from(self.slots.as_slice()),
            line,
        }
    }
}

/// Splits one line into words as HAProxy does, into `out`; returns the comment after `#`.
fn tokenize<'l>(
    line: &'l str,
    line_no: usize,
    env: &Env,
    unset: &mut Vec<UnsetVariable>,
    out: &mut LineWords,
) -> Result<Option<&'l str>, ParseError> {
    out.chars.clear();
    out.chars.extend(line.chars());
    out.text.clear();
    out.slots.clear();
    let chars = &out.chars;
    let text = &mut out.text;
    let slots = &mut out.slots;
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
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
            return Ok(None);
        }
        if chars[i] == '#' {
            let at = line
                .char_indices()
                .nth(i + 1)
                .map_or(line.len(), |(b, _)| b);
            return Ok(Some(&line[at..]));
        }
        let start = i;
        // Where the words that a `"${VAR[*]}"` split off end.
        let mut split_ends: Vec<usize> = Vec::new();
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
                            let byte = u8::from_str_radix(&hex, 16).ok().filter(|_| {
                                hex.len() == 2 && hex.chars().all(|c| c.is_ascii_hexdigit())
                            });
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
                            Some('$') => {
                                let Some((name, default, list, used)) = variable(&chars[i..])
                                else {
                                    // A `$` that names nothing stays as it is.
                                    text.push('$');
                                    i += 1;
                                    continue;
                                };
                                let span = Span::new(line_no, i + 1, used);
                                let value = match (env.get(&name), default) {
                                    (Some(v), _) => Some(v.clone()),
                                    (None, Some(d)) => Some(d),
                                    (None, None) => {
                                        unset.push(UnsetVariable { name, span });
                                        None
                                    }
                                };
                                if let Some(value) = value {
                                    if list {
                                        // `${VAR[*]}`: each space-separated value is a word.
                                        let mut parts = value.split_whitespace();
                                        if let Some(first) = parts.next() {
                                            text.push_str(first);
                                        }
                                        for part in parts {
                                            split_ends.push(text.len());
                                            text.push_str(part);
                                        }
                                    } else {
                                        text.push_str(&value);
                                    }
                                }
                                i += used;
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
            split_ends.push(text.len());
            slots.extend(split_ends.into_iter().map(|end| Slot {
                end: narrow(end),
                column: narrow(start + 1),
                width: narrow(i - start),
            }));
        }
    }
}

/// The variable at the start of `chars` (which starts with `$`): `$NAME`, `${NAME}`,
/// `${NAME-default}` or `${NAME[*]}`. Returns the name, the default, whether it is a list, and
/// how many characters it used; `None` when no name follows the `$`.
fn variable(chars: &[char]) -> Option<(String, Option<String>, bool, usize)> {
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if chars.get(1) == Some(&'{') {
        let close = chars[2..].iter().position(|&c| c == '}')?;
        let inner: String = chars[2..2 + close].iter().collect();
        let (inner, list) = match inner.strip_suffix("[*]") {
            Some(name) => (name.to_string(), true),
            None => (inner, false),
        };
        let (name, default) = match inner.split_once('-') {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (inner, None),
        };
        let valid = name.chars().next().is_some_and(is_start) && name.chars().all(is_name);
        return valid.then_some((name, default, list, close + 3));
    }
    let name: String = chars[1..].iter().take_while(|c| is_name(**c)).collect();
    (name.chars().next().is_some_and(is_start)).then(|| {
        let used = name.chars().count() + 1;
        (name, None, false, used)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let env: Env = [("SOCK".to_string(), "/run/d.sock".to_string())].into();
        let mut unset = Vec::new();
        let mut out = LineWords::default();
        tokenize(line, 1, &env, &mut unset, &mut out).unwrap();
        out.directive(1)
            .words()
            .map(|w| w.text.to_string())
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
        let mut out = LineWords::default();
        assert!(tokenize("x \"open", 3, &Env::new(), &mut unset, &mut out).is_err());
        tokenize("x \"${NOPE}\"", 3, &Env::new(), &mut unset, &mut out).unwrap();
        assert_eq!(unset[0].name, "NOPE");
    }

    #[test]
    fn sections() {
        let text = "global\n  log stdout local0\nfrontend f\n  bind :1\nbackend b\n  server s /x\n";
        let c = parse(text, &Env::new(), Version::parse("3.2").unwrap());
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

    fn lines_kept(text: &str, env: &[(&str, &str)], version: &str) -> Vec<usize> {
        let env: Env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let c = parse(text, &env, Version::parse(version).unwrap());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        c.sections
            .iter()
            .flat_map(|s| std::iter::once(s.line).chain(s.directives.iter().map(|d| d.line)))
            .collect()
    }

    #[test]
    fn conditional_blocks_choose_lines() {
        let text = "global\n.if streq(\"$A\",1)\n  a 1\n.elif defined(B)\n  b 1\n.else\n  c 1\n.endif\n.if 0\n.if 1\n  d 1\n.endif\n.endif\n";
        assert_eq!(lines_kept(text, &[("A", "1")], "2.6"), [1, 3]);
        assert_eq!(lines_kept(text, &[("B", "")], "2.6"), [1, 5]);
        assert_eq!(lines_kept(text, &[], "2.6"), [1, 7]);
        // A condition the file cannot decide is recorded, and taken as the caller says.
        let unknown = "global\n.if feature(LUA)\n  a 1\n.endif\n";
        let c = parse(unknown, &Env::new(), Version::parse("3.2").unwrap());
        assert_eq!(c.conditions[0].value, None);
        assert_eq!(c.sections[0].directives.len(), 0);
        let c = parse_assuming(
            unknown,
            &Env::new(),
            Version::parse("3.2").unwrap(),
            Assume {
                unknown_conditions: true,
            },
        );
        assert_eq!(c.sections[0].directives.len(), 1);
    }

    #[test]
    fn conditional_errors_are_haproxys() {
        let v26 = Version::parse("2.6").unwrap();
        for (text, expected) in [
            ("global\n.if 1\n", "has no `.endif`"),
            ("global\n.endif\n", "without `.if`"),
            ("global\n.else\n", "without `.if`"),
            ("global\n.if 1\n.else\n.else\n.endif\n", "after `.else`"),
            (
                "global\n.if strstr(a,b)\n.endif\n",
                "not a predicate of HAProxy 2.6",
            ),
            ("global\n.alert \"no\"\n", "stops HAProxy"),
            (
                "global\n.if 0\n  x \"open\n.endif\n",
                "unterminated double quote",
            ),
        ] {
            let c = parse(text, &Env::new(), v26);
            assert!(
                c.errors.iter().any(|e| e.message.contains(expected)),
                "{text:?}: {:?}",
                c.errors
            );
        }
        // An alert in a branch not taken is silent.
        assert!(
            parse("global\n.if 0\n.alert \"x\"\n.endif\n", &Env::new(), v26)
                .errors
                .is_empty()
        );
    }

    #[test]
    fn environment_forms_and_setenv() {
        let env: Env = [("LIST".to_string(), "a b  c".to_string())].into();
        let text = "global\n  setenv S set\n  presetenv LIST ignored\n  x \"${S}\" \"$S-x\" \"${NOPE-dflt}\" \"p${LIST[*]}q\" \"$\" \"$1\"\n  unsetenv S\n  y \"${S}\"\n";
        let c = parse(text, &env, Version::parse("3.2").unwrap());
        let words = |i: usize| -> Vec<String> {
            c.sections[0].directives[i]
                .words()
                .map(|w| w.text.to_string())
                .collect()
        };
        assert_eq!(
            words(2),
            ["x", "set", "set-x", "dflt", "pa", "b", "cq", "$", "$1"]
        );
        assert_eq!(words(4), ["y", ""]);
        assert_eq!(c.unset.last().map(|u| u.name.as_str()), Some("S"));
        assert_eq!(c.env.get("LIST").map(String::as_str), Some("a b  c"));
        assert!(!c.env.contains_key("S"));
        assert_eq!(c.env.get("HAPROXY_BRANCH").map(String::as_str), Some("3.2"));
    }
}
