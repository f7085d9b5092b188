//! An evaluator for the `http-request` subset socket proxies use (docs/design.md section 5):
//! given a parsed config and a request, which rule decides, and does the request reach a server?
//!
//! Supported: `http-request allow|deny|tarpit|return|redirect|auth|set-var|unset-var` (and
//! rules that only add, remove or log headers), named and anonymous ACLs, `if`/`unless`, `||`,
//! `or`, `!`, the fetches `path`, `url`, `method`, `hdr`/`req.hdr`, `var`, `str`, `env` and their
//! `_beg/_end/_sub/_reg/_dir` forms, the converters `url_dec`, `regsub`, `lower`, `upper`, the
//! match methods `found, str, beg, end, sub, reg, dir, bool`, `-i`, the predefined `METH_*`,
//! `TRUE`, `FALSE` ACLs, `use_backend`, `default_backend` and `server`. Anything else is
//! reported as unevaluable with its line; the answer is then marked uncertain, never guessed.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::bytes::{Regex, RegexBuilder};

use super::syntax::{Config, Directive, Env, Section, SectionKind, Word};

/// Something the evaluator cannot model, with the line where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unevaluable {
    pub line: usize,
    pub column: usize,
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchMethod {
    Found,
    Str,
    Beg,
    End,
    Sub,
    Reg,
    Dir,
    Bool,
}

#[derive(Debug, Clone)]
enum Fetch {
    Path,
    Url,
    Method,
    /// Header values split at commas (as ACLs see them).
    Hdr(String),
    Var(String),
    Str(String),
    Env(String),
}

#[derive(Debug, Clone)]
enum Conv {
    UrlDec,
    Lower,
    Upper,
    Regsub {
        re: Regex,
        replacement: String,
        global: bool,
    },
}

#[derive(Debug, Clone)]
struct Expr {
    fetch: Fetch,
    convs: Vec<Conv>,
}

#[derive(Debug, Clone)]
struct Acl {
    expr: Expr,
    method: MatchMethod,
    icase: bool,
    patterns: Vec<Vec<u8>>,
    regexes: Vec<Regex>,
}

#[derive(Debug, Clone)]
enum Term {
    Named { name: String, negated: bool },
    Anonymous { acl: Box<Acl>, negated: bool },
}

#[derive(Debug, Clone)]
struct Condition {
    unless: bool,
    /// OR of ANDs.
    groups: Vec<Vec<Term>>,
}

#[derive(Debug, Clone)]
enum Action {
    Allow,
    /// deny, tarpit, return, redirect, auth: answered by HAProxy, never forwarded.
    Answer(u16),
    SetVar(String, Expr),
    UnsetVar(String),
    /// Adds, removes or logs headers only: no effect on where a request goes.
    Neutral,
}

#[derive(Debug, Clone)]
struct Rule {
    action: Action,
    cond: Option<Condition>,
    line: usize,
}

#[derive(Debug, Clone)]
struct UseBackend {
    backend: String,
    cond: Option<Condition>,
}

/// One frontend, listen or backend section, compiled.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub name: String,
    pub kind: SectionKind,
    pub line: usize,
    rules: Vec<Rule>,
    acls: HashMap<String, Vec<Acl>>,
    use_backends: Vec<UseBackend>,
    default_backend: Option<(String, usize)>,
    /// `server` lines: (address, line).
    pub servers: Vec<(String, usize)>,
}

/// A compiled config: its proxies and what could not be compiled.
#[derive(Debug, Clone)]
pub struct Model {
    pub proxies: Vec<Proxy>,
    pub unevaluable: Vec<Unevaluable>,
    pub env: Env,
    pub dialect: Dialect,
}

/// Behaviours that differ between HAProxy lines, each observed by the differential test
/// (tests/lint_differential.rs) on 2.6.12, 3.0.11 and 3.2.26.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// 3.2 drops `h2c` from `Upgrade` (and the header when nothing is left), then the `upgrade`
    /// token of `Connection` when no `Upgrade` header remains, before any rule runs.
    pub strips_h2c_upgrade: bool,
    /// 3.2: `url_dec` gives no sample when the result would contain a NUL byte.
    pub url_dec_rejects_nul: bool,
}

impl Dialect {
    /// HAProxy 2.6 to 3.0.
    pub const HAPROXY_2_6: Dialect = Dialect {
        strips_h2c_upgrade: false,
        url_dec_rejects_nul: false,
    };
    /// HAProxy 3.2 and later.
    pub const HAPROXY_3_2: Dialect = Dialect {
        strips_h2c_upgrade: true,
        url_dec_rejects_nul: true,
    };

    /// The lines measured: 2.6, 3.0 (as 2.6) and 3.2 or later; 3.1 was not measured.
    pub fn for_version(version: &str) -> Option<Dialect> {
        super::version::Version::parse(version)?.dialect()
    }
}

/// A request as the client sends it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target as sent: `/v1.41/containers/json?all=1` or absolute-form.
    pub target: &'a str,
    pub headers: &'a [(String, String)],
}

/// What happens to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded to a server of `backend`; `line` is the rule that allowed it, or None when no
    /// rule stopped it.
    Forwarded {
        backend: String,
        line: Option<usize>,
    },
    /// Answered by HAProxy itself with `status`, at `line` (None: HAProxy's own checks or no
    /// backend).
    Answered { status: u16, line: Option<usize> },
}

impl Outcome {
    pub fn forwarded(&self) -> bool {
        matches!(self, Outcome::Forwarded { .. })
    }

    pub fn line(&self) -> Option<usize> {
        match self {
            Outcome::Forwarded { line, .. } | Outcome::Answered { line, .. } => *line,
        }
    }
}

struct Compiler {
    unevaluable: Vec<Unevaluable>,
}

fn split_args(inner: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                out.last_mut().unwrap().push(',');
                chars.next();
            }
            ',' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// `name(args),conv(args),...` split at top-level commas, honouring `\,` inside arguments.
fn split_chain(s: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut prev_backslash = false;
    for c in s.chars() {
        match c {
            '(' if !prev_backslash => {
                depth += 1;
                cur.push(c)
            }
            ')' if !prev_backslash => {
                depth = depth.saturating_sub(1);
                cur.push(c)
            }
            ',' if depth == 0 && !prev_backslash => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| match p.find('(') {
            Some(open) if p.ends_with(')') => (
                p[..open].to_string(),
                Some(p[open + 1..p.len() - 1].to_string()),
            ),
            _ => (p, None),
        })
        .collect()
}

fn build_regex(pattern: &str, icase: bool) -> Result<Regex, String> {
    // Configs of one run share most patterns (every rendered file has the same route regexes),
    // and compiling a regex costs far more than matching it: compile each pattern once.
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<(String, bool), Regex>> =
            std::cell::RefCell::new(HashMap::new());
    }
    let key = (pattern.to_string(), icase);
    if let Some(re) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(re);
    }
    let re = RegexBuilder::new(pattern)
        .unicode(false)
        .case_insensitive(icase)
        .build()
        .map_err(|e| {
            format!("regex `{pattern}` uses syntax the evaluator does not support: {e}")
        })?;
    CACHE.with(|c| c.borrow_mut().insert(key, re.clone()));
    Ok(re)
}

impl Compiler {
    fn note(&mut self, word: &Word, what: String) {
        self.unevaluable.push(Unevaluable {
            line: word.span.line,
            column: word.span.column,
            what,
        });
    }

    /// A sample expression; the implied match method for `path_beg`-style fetches.
    fn expr(&mut self, word: &Word) -> Option<(Expr, Option<MatchMethod>)> {
        let chain = split_chain(&word.text);
        let (name, arg) = &chain[0];
        let arg_text = arg.clone().unwrap_or_default();
        let (base, implied) = match name.rsplit_once('_') {
            Some((b, suffix)) if matches!(b, "path" | "url" | "hdr" | "req.hdr") => {
                let m = match suffix {
                    "beg" => MatchMethod::Beg,
                    "end" => MatchMethod::End,
                    "sub" => MatchMethod::Sub,
                    "reg" => MatchMethod::Reg,
                    "dir" => MatchMethod::Dir,
                    _ => {
                        self.note(word, format!("the fetch `{name}`"));
                        return None;
                    }
                };
                (b, Some(m))
            }
            _ => (name.as_str(), None),
        };
        let fetch = match base {
            "path" if arg.is_none() => Fetch::Path,
            "url" if arg.is_none() => Fetch::Url,
            "method" if arg.is_none() => Fetch::Method,
            "hdr" | "req.hdr" if arg.is_some() => {
                Fetch::Hdr(split_args(&arg_text)[0].to_ascii_lowercase())
            }
            "var" if arg.is_some() => Fetch::Var(split_args(&arg_text)[0].clone()),
            "str" if arg.is_some() => Fetch::Str(arg_text.clone()),
            "env" if arg.is_some() => Fetch::Env(arg_text.clone()),
            _ => {
                self.note(word, format!("the fetch `{name}`"));
                return None;
            }
        };
        let mut convs = Vec::new();
        for (cname, carg) in &chain[1..] {
            let conv = match (cname.as_str(), carg) {
                ("url_dec", None) => Conv::UrlDec,
                ("url_dec", Some(a)) if a == "0" => Conv::UrlDec,
                ("lower", None) => Conv::Lower,
                ("upper", None) => Conv::Upper,
                ("regsub", Some(a)) => {
                    let args = split_args(a);
                    let flags = args.get(2).cloned().unwrap_or_default();
                    let re = match build_regex(&args[0], flags.contains('i')) {
                        Ok(re) => re,
                        Err(e) => {
                            self.note(word, e);
                            return None;
                        }
                    };
                    // HAProxy writes back-references as \1; the regex crate as ${1}.
                    let mut replacement = String::new();
                    let subst = args.get(1).cloned().unwrap_or_default();
                    let mut chars = subst.chars().peekable();
                    while let Some(c) = chars.next() {
                        match (c, chars.peek()) {
                            ('\\', Some(d)) if d.is_ascii_digit() => {
                                replacement.push_str(&format!("${{{d}}}"));
                                chars.next();
                            }
                            ('$', _) => replacement.push_str("$$"),
                            (c, _) => replacement.push(c),
                        }
                    }
                    Conv::Regsub {
                        re,
                        replacement,
                        global: flags.contains('g'),
                    }
                }
                _ => {
                    self.note(word, format!("the converter `{cname}`"));
                    return None;
                }
            };
            convs.push(conv);
        }
        Some((Expr { fetch, convs }, implied))
    }

    /// `fetch [-i] [-m method] [--] patterns...`
    fn acl(&mut self, words: &[Word]) -> Option<Acl> {
        let first = words.first()?;
        let (expr, implied) = self.expr(first)?;
        let mut icase = false;
        let mut method = implied;
        let mut i = 1;
        while let Some(w) = words.get(i) {
            match w.text.as_str() {
                "-i" => icase = true,
                "-m" => {
                    i += 1;
                    let m = words.get(i).map(|w| w.text.as_str()).unwrap_or("");
                    method = Some(match m {
                        "found" => MatchMethod::Found,
                        "str" => MatchMethod::Str,
                        "beg" => MatchMethod::Beg,
                        "end" => MatchMethod::End,
                        "sub" => MatchMethod::Sub,
                        "reg" => MatchMethod::Reg,
                        "dir" => MatchMethod::Dir,
                        "bool" => MatchMethod::Bool,
                        other => {
                            self.note(w, format!("the match method `-m {other}`"));
                            return None;
                        }
                    });
                }
                "--" => {
                    i += 1;
                    break;
                }
                "-n" => {}
                flag if flag.starts_with('-') && flag.len() > 1 => {
                    self.note(w, format!("the ACL flag `{flag}`"));
                    return None;
                }
                _ => break,
            }
            i += 1;
        }
        let method = method.unwrap_or(MatchMethod::Str);
        let raw: Vec<String> = words[i..].iter().map(|w| w.text.clone()).collect();
        let mut regexes = Vec::new();
        if method == MatchMethod::Reg {
            for (w, p) in words[i..].iter().zip(&raw) {
                match build_regex(p, icase) {
                    Ok(re) => regexes.push(re),
                    Err(e) => {
                        self.note(w, e);
                        return None;
                    }
                }
            }
        }
        if raw.is_empty() && !matches!(method, MatchMethod::Found | MatchMethod::Bool) {
            self.note(first, "an ACL without patterns".into());
            return None;
        }
        Some(Acl {
            expr,
            method,
            icase,
            patterns: raw.iter().map(|p| p.as_bytes().to_vec()).collect(),
            regexes,
        })
    }

    /// The words after `if`/`unless`.
    fn condition(&mut self, words: &[Word], unless: bool) -> Option<Condition> {
        let mut groups = vec![Vec::new()];
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let (negated, text) = match w.text.strip_prefix('!') {
                Some(rest) => (true, rest.to_string()),
                None => (false, w.text.clone()),
            };
            if text == "||" || text == "or" {
                groups.push(Vec::new());
                i += 1;
                continue;
            }
            if text == "{" || (text.is_empty() && words.get(i + 1).is_some_and(|n| n.text == "{")) {
                let open = if text.is_empty() { i + 1 } else { i };
                let close = words[open..].iter().position(|w| w.text == "}")? + open;
                let acl = self.acl(&words[open + 1..close])?;
                groups.last_mut().unwrap().push(Term::Anonymous {
                    acl: Box::new(acl),
                    negated,
                });
                i = close + 1;
                continue;
            }
            groups.last_mut().unwrap().push(Term::Named {
                name: text,
                negated,
            });
            i += 1;
        }
        Some(Condition { unless, groups })
    }

    /// Splits `words` at `if`/`unless`; compiles the condition.
    fn split_condition<'w>(
        &mut self,
        words: &'w [Word],
    ) -> Option<(&'w [Word], Option<Condition>)> {
        match words
            .iter()
            .position(|w| w.text == "if" || w.text == "unless")
        {
            Some(p) => {
                let cond = self.condition(&words[p + 1..], words[p].text == "unless")?;
                Some((&words[..p], Some(cond)))
            }
            None => Some((words, None)),
        }
    }

    fn http_request(&mut self, d: &Directive) -> Option<Rule> {
        let args = d.args();
        let first = args.first()?;
        let (before, cond) = self.split_condition(args)?;
        let status_after = |key: &str, default: u16| {
            before
                .iter()
                .position(|w| w.text == key)
                .and_then(|p| before.get(p + 1))
                .and_then(|w| w.text.parse().ok())
                .unwrap_or(default)
        };
        let action = match first.text.as_str() {
            "allow" => Action::Allow,
            "deny" => Action::Answer(status_after("deny_status", 403)),
            "tarpit" => Action::Answer(status_after("deny_status", 500)),
            "return" => Action::Answer(status_after("status", 200)),
            "redirect" => Action::Answer(302),
            "auth" => Action::Answer(401),
            a if a.starts_with("set-var(") || a.starts_with("set-var-fmt(") => {
                if a.starts_with("set-var-fmt(") {
                    self.note(first, "`set-var-fmt`".into());
                    return None;
                }
                let name = a["set-var(".len()..].trim_end_matches(')').to_string();
                let expr_word = before.get(1)?;
                let (expr, _) = self.expr(expr_word)?;
                Action::SetVar(name, expr)
            }
            a if a.starts_with("unset-var(") => {
                Action::UnsetVar(a["unset-var(".len()..].trim_end_matches(')').to_string())
            }
            "add-header" | "set-header" | "del-header" | "capture" | "set-log-level"
            | "set-nice" | "set-mark" | "set-tos" | "silent-drop" => {
                if first.text == "silent-drop" {
                    Action::Answer(0)
                } else {
                    let header = before.get(1).map(|w| w.text.to_ascii_lowercase());
                    // Headers the rules of a socket proxy look at change what later rules see.
                    if matches!(
                        header.as_deref(),
                        Some("upgrade" | "connection" | "content-type" | "host")
                    ) {
                        self.note(
                            first,
                            format!("`http-request {}` on a header rules read", first.text),
                        );
                        return None;
                    }
                    Action::Neutral
                }
            }
            other => {
                self.note(first, format!("`http-request {other}`"));
                return None;
            }
        };
        Some(Rule {
            action,
            cond,
            line: d.line,
        })
    }

    fn proxy(&mut self, section: &Section) -> Proxy {
        let mut proxy = Proxy {
            name: section.name.clone().unwrap_or_default(),
            kind: section.kind,
            line: section.line,
            rules: Vec::new(),
            acls: HashMap::new(),
            use_backends: Vec::new(),
            default_backend: None,
            servers: Vec::new(),
        };
        for d in &section.directives {
            match d.keyword() {
                "acl" => {
                    let Some(name) = d.args().first() else {
                        continue;
                    };
                    if let Some(acl) = self.acl(&d.args()[1..]) {
                        proxy.acls.entry(name.text.clone()).or_default().push(acl);
                    }
                }
                "http-request" => {
                    if let Some(rule) = self.http_request(d) {
                        proxy.rules.push(rule);
                    } else if d.args().is_empty() {
                        self.note(&d.words[0], "`http-request` without an action".into());
                    }
                }
                "use_backend" => {
                    let args = d.args();
                    if let (Some(b), Some((_, cond))) = (
                        args.first(),
                        self.split_condition(args.get(1..).unwrap_or(&[])),
                    ) {
                        if b.text.contains("%[") {
                            self.note(b, "a dynamic `use_backend` name".into());
                        } else {
                            proxy.use_backends.push(UseBackend {
                                backend: b.text.clone(),
                                cond,
                            });
                        }
                    }
                }
                "default_backend" => {
                    if let Some(b) = d.arg(0) {
                        proxy.default_backend = Some((b.to_string(), d.line));
                    }
                }
                "server" => {
                    if let Some(addr) = d.arg(1) {
                        proxy.servers.push((addr.to_string(), d.line));
                    }
                }
                "tcp-request" | "http-request-rules" | "use-server" | "redirect" | "block"
                | "reqdeny" | "reqrep" => {
                    self.note(&d.words[0], format!("`{}`", d.keyword()));
                }
                _ => {}
            }
        }
        proxy
    }
}

/// Compiles every frontend, listen and backend of `config`; `env(VAR)` reads the environment
/// the parse left (`Config::env`).
pub fn compile(config: &Config, dialect: Dialect) -> Model {
    let mut compiler = Compiler {
        unevaluable: Vec::new(),
    };
    let proxies = config
        .sections
        .iter()
        .filter(|s| s.kind.is_proxy())
        .map(|s| compiler.proxy(s))
        .collect();
    for s in config.sections_of(SectionKind::Defaults) {
        for d in &s.directives {
            if matches!(d.keyword(), "http-request" | "tcp-request" | "use_backend") {
                compiler.note(
                    &d.words[0],
                    format!("`{}` in a defaults section", d.keyword()),
                );
            }
        }
    }
    Model {
        proxies,
        unevaluable: compiler.unevaluable,
        env: config.env.clone(),
        dialect,
    }
}

/// Per-request state: variables set by rules.
struct State<'r> {
    request: &'r Request<'r>,
    /// The headers as rules see them (after the dialect's normalisation).
    headers: Vec<(String, String)>,
    dialect: Dialect,
    vars: HashMap<String, Vec<u8>>,
    /// The line of the `allow` rule that ended a rule set, if one did.
    allowed_by: Option<usize>,
}

fn path_of(target: &str) -> Option<&str> {
    let rest = if target.starts_with('/') {
        target
    } else {
        let after_scheme = target.split_once("://")?.1;
        &after_scheme[after_scheme.find('/')?..]
    };
    Some(rest.split('?').next().unwrap_or(rest))
}

fn url_dec(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

impl State<'_> {
    /// The samples of an expression: several for multi-valued headers, none when it fails.
    /// Fetched values are borrowed; only converters allocate (this runs ~500 times per file).
    fn samples<'a>(&'a self, expr: &'a Expr, env: &'a Env) -> Vec<Cow<'a, [u8]>> {
        let base: Vec<Cow<'a, [u8]>> = match &expr.fetch {
            Fetch::Path => path_of(self.request.target)
                .map(|p| vec![Cow::Borrowed(p.as_bytes())])
                .unwrap_or_default(),
            Fetch::Url => vec![Cow::Borrowed(self.request.target.as_bytes())],
            Fetch::Method => vec![Cow::Borrowed(self.request.method.as_bytes())],
            Fetch::Hdr(name) => self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .flat_map(|(_, v)| v.split(','))
                .map(|v| Cow::Borrowed(v.trim().as_bytes()))
                .collect(),
            Fetch::Var(name) => self
                .vars
                .get(name)
                .map(|v| Cow::Borrowed(v.as_slice()))
                .into_iter()
                .collect(),
            Fetch::Str(s) => vec![Cow::Borrowed(s.as_bytes())],
            Fetch::Env(name) => env
                .get(name)
                .map(|v| vec![Cow::Borrowed(v.as_bytes())])
                .unwrap_or_default(),
        };
        if expr.convs.is_empty() {
            return base;
        }
        base.into_iter()
            .filter_map(|s| {
                let mut s: Cow<'a, [u8]> = s;
                for conv in &expr.convs {
                    s = Cow::Owned(match conv {
                        Conv::UrlDec => {
                            let d = url_dec(&s)?;
                            if self.dialect.url_dec_rejects_nul && d.contains(&0) {
                                return None;
                            }
                            d
                        }
                        Conv::Lower => s.to_ascii_lowercase(),
                        Conv::Upper => s.to_ascii_uppercase(),
                        Conv::Regsub {
                            re,
                            replacement,
                            global,
                        } => {
                            let rep = replacement.as_bytes();
                            if *global {
                                re.replace_all(&s, rep).into_owned()
                            } else {
                                re.replace(&s, rep).into_owned()
                            }
                        }
                    });
                }
                Some(s)
            })
            .collect()
    }

    fn acl_matches(&self, acl: &Acl, env: &Env) -> bool {
        let eq = |a: &[u8], b: &[u8]| {
            if acl.icase {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        self.samples(&acl.expr, env).iter().any(|s| {
            let s: &[u8] = s;
            match acl.method {
                MatchMethod::Found => true,
                MatchMethod::Bool => as_int(s).is_some_and(|n| n != 0),
                MatchMethod::Reg => acl.regexes.iter().any(|re| re.is_match(s)),
                m => acl.patterns.iter().any(|p| {
                    let p: &[u8] = p;
                    match m {
                        MatchMethod::Str => eq(s, p),
                        MatchMethod::Beg => s.len() >= p.len() && eq(&s[..p.len()], p),
                        MatchMethod::End => s.len() >= p.len() && eq(&s[s.len() - p.len()..], p),
                        MatchMethod::Sub => p.is_empty() || s.windows(p.len()).any(|w| eq(w, p)),
                        MatchMethod::Dir => s.split(|&b| b == b'/').any(|part| eq(part, p)),
                        _ => false,
                    }
                }),
            }
        })
    }

    fn term(&self, proxy: &Proxy, term: &Term, env: &Env) -> Result<bool, String> {
        match term {
            Term::Anonymous { acl, negated } => Ok(self.acl_matches(acl, env) != *negated),
            Term::Named { name, negated } => {
                let value = match proxy.acls.get(name) {
                    Some(defs) => defs.iter().any(|a| self.acl_matches(a, env)),
                    None => predefined(name, self.request)
                        .ok_or_else(|| format!("the ACL `{name}` is not defined here"))?,
                };
                Ok(value != *negated)
            }
        }
    }

    fn condition(
        &self,
        proxy: &Proxy,
        cond: &Option<Condition>,
        env: &Env,
    ) -> Result<bool, String> {
        let Some(cond) = cond else {
            return Ok(true);
        };
        let mut any = false;
        for group in &cond.groups {
            let mut all = true;
            for t in group {
                if !self.term(proxy, t, env)? {
                    all = false;
                    break;
                }
            }
            if all {
                any = true;
                break;
            }
        }
        Ok(any != cond.unless)
    }
}

/// The headers as HAProxy's rules see them.
fn normalize_headers(headers: &[(String, String)], dialect: Dialect) -> Vec<(String, String)> {
    if !dialect.strips_h2c_upgrade {
        return headers.to_vec();
    }
    let tokens_without = |value: &str, drop: &str| {
        value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case(drop))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| {
            if n.eq_ignore_ascii_case("upgrade") {
                let kept = tokens_without(v, "h2c");
                (!kept.is_empty()).then(|| (n.clone(), kept))
            } else {
                Some((n.clone(), v.clone()))
            }
        })
        .collect();
    if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case("upgrade")) {
        out = out
            .into_iter()
            .filter_map(|(n, v)| {
                if n.eq_ignore_ascii_case("connection") {
                    let kept = tokens_without(&v, "upgrade");
                    (!kept.is_empty()).then_some((n, kept))
                } else {
                    Some((n, v))
                }
            })
            .collect();
    }
    out
}

/// HAProxy's integer cast of a sample: an optional sign and digits, nothing else.
fn as_int(sample: &[u8]) -> Option<i64> {
    std::str::from_utf8(sample).ok()?.trim().parse().ok()
}

fn predefined(name: &str, request: &Request) -> Option<bool> {
    let m = request.method;
    Some(match name {
        "TRUE" => true,
        "FALSE" => false,
        "METH_GET" => m == "GET" || m == "HEAD",
        "METH_HEAD" => m == "HEAD",
        "METH_POST" => m == "POST",
        "METH_PUT" => m == "PUT",
        "METH_DELETE" => m == "DELETE",
        "METH_OPTIONS" => m == "OPTIONS",
        "METH_CONNECT" => m == "CONNECT",
        "METH_TRACE" => m == "TRACE",
        "HTTP" => true,
        "HTTP_1.1" => true,
        "HTTP_URL_ABS" => request.target.contains("://"),
        "HTTP_URL_SLASH" => request.target.starts_with('/'),
        _ => return None,
    })
}

/// An error while evaluating one request (an undefined ACL, a missing backend): the config
/// itself is broken, and HAProxy would refuse to start.
pub type EvalError = String;

impl Model {
    /// Evaluates `request` arriving on the frontend (or listen) `entry`.
    pub fn evaluate(&self, entry: &Proxy, request: &Request) -> Result<Outcome, EvalError> {
        // HAProxy's own parser answers 400 before any rule: CONNECT needs an authority target.
        if request.method == "CONNECT" && request.target.starts_with('/') {
            return Ok(Outcome::Answered {
                status: 400,
                line: None,
            });
        }
        let mut state = State {
            request,
            headers: normalize_headers(request.headers, self.dialect),
            dialect: self.dialect,
            vars: HashMap::new(),
            allowed_by: None,
        };
        if let Some(o) = self.run_rules(entry, &mut state)? {
            return Ok(o);
        }
        let backend_name = if entry.kind == SectionKind::Listen && !entry.servers.is_empty() {
            Some(entry.name.clone())
        } else {
            let mut chosen = None;
            for ub in &entry.use_backends {
                if state.condition(entry, &ub.cond, &self.env)? {
                    chosen = Some(ub.backend.clone());
                    break;
                }
            }
            chosen.or_else(|| entry.default_backend.as_ref().map(|(b, _)| b.clone()))
        };
        let Some(backend_name) = backend_name else {
            return Ok(Outcome::Answered {
                status: 503,
                line: None,
            });
        };
        let backend = self
            .proxies
            .iter()
            .find(|p| {
                p.name == backend_name
                    && matches!(p.kind, SectionKind::Backend | SectionKind::Listen)
            })
            .ok_or_else(|| format!("the backend `{backend_name}` does not exist"))?;
        if backend.name != entry.name {
            if let Some(o) = self.run_rules(backend, &mut state)? {
                return Ok(o);
            }
        }
        if backend.servers.is_empty() {
            return Ok(Outcome::Answered {
                status: 503,
                line: None,
            });
        }
        Ok(Outcome::Forwarded {
            backend: backend.name.clone(),
            line: state.allowed_by,
        })
    }

    /// Runs a proxy's http-request rules; Some when a rule answered the request.
    fn run_rules(&self, proxy: &Proxy, state: &mut State) -> Result<Option<Outcome>, EvalError> {
        for rule in &proxy.rules {
            if !state.condition(proxy, &rule.cond, &self.env)? {
                continue;
            }
            match &rule.action {
                Action::Allow => {
                    state.allowed_by = Some(rule.line);
                    return Ok(None);
                }
                Action::Answer(status) => {
                    return Ok(Some(Outcome::Answered {
                        status: *status,
                        line: Some(rule.line),
                    }))
                }
                Action::SetVar(name, expr) => {
                    // A failed expression leaves the variable as it was.
                    if let Some(v) = state.samples(expr, &self.env).pop().map(Cow::into_owned) {
                        state.vars.insert(name.clone(), v);
                    }
                }
                Action::UnsetVar(name) => {
                    state.vars.remove(name);
                }
                Action::Neutral => {}
            }
        }
        Ok(None)
    }

    /// The frontends and listens that can forward to a server.
    pub fn entries(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| {
            matches!(p.kind, SectionKind::Frontend | SectionKind::Listen)
                && (!p.servers.is_empty()
                    || p.default_backend.is_some()
                    || !p.use_backends.is_empty())
        })
    }
}
