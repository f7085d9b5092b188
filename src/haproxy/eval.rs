//! An evaluator for the rules socket proxies use (docs/design.md section 5): given a parsed
//! config and a request, which rule decides, and does the request reach a server?
//!
//! Supported: `tcp-request connection|session|content accept|reject|set-var|unset-var` (and
//! actions that only track, capture or mark), `tcp-request inspect-delay`, `http-request
//! allow|deny|tarpit|return|redirect|auth|reject|set-var|unset-var` (and rules that only add,
//! remove or log headers, or track), `mode tcp|http` (a tcp-mode section runs no `http-request`
//! rule and sees request contents only after an inspect delay), named and anonymous ACLs,
//! `if`/`unless`, `||`, `or`, `!`, the fetches `path`, `url`, `method`, `hdr`/`req.hdr`, `var`,
//! `str`, `env` and their `_beg/_end/_sub/_reg/_dir/_dom` forms, the converters `url_dec`,
//! `regsub`, `lower`, `upper`, the match methods `found, str, beg, end, sub, reg, dir, dom, bool`,
//! `-i`, pattern files (`-f`, several per ACL, `-M`; their contents come from lint through
//! [`compile_with`], read as docs/research/acl-files.md says), the
//! predefined `METH_*`, `HTTP*`, `TRUE`, `FALSE` ACLs, `use_backend`, `default_backend`,
//! `server`, and servers that are a bind of another frontend of the file (`127.0.0.1:PORT`,
//! `unix@PATH`, `abns@NAME`): the request is then judged through that frontend.
//!
//! What it cannot model (an unknown fetch, converter or action, an ACL file it was not given,
//! the client's address, Lua) is reported with its line and evaluated both ways: a request whose verdict
//! depends on it is [`Outcome::Uncertain`] with that line, every other request keeps its verdict.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

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
    Dom,
    Bool,
}

#[derive(Debug, Clone)]
enum Fetch {
    Path,
    Url,
    Method,
    /// Header values split at commas (as ACLs see them).
    Hdr(String),
    /// A variable, by its index in [`Model::var_names`].
    Var(VarId),
    Str(String),
    Env(String),
    /// `req.body`, `req.body_len`, `req.body_size` (with any converters): the permission matrix
    /// asks requests without a body, so these give no sample; the body checks themselves are
    /// judged by lint's body-guard pass (docs/create-guard.md).
    Body,
    /// What the evaluator cannot model (an unknown fetch or converter, an ACL file, the
    /// client's address), by the line of its note in [`Model::unevaluable`].
    Unknown(usize),
}

impl Fetch {
    /// Reads the request's contents (unknown in a tcp-mode section that does not wait for it).
    fn reads_request(&self) -> bool {
        matches!(
            self,
            Fetch::Path | Fetch::Url | Fetch::Method | Fetch::Hdr(_)
        )
    }
}

/// A three-valued truth: what an ACL or condition is for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    /// Depends on what the evaluator cannot model, noted at this line.
    Unknown(usize),
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }
}

impl Tri {
    fn negate(self, negated: bool) -> Tri {
        match (self, negated) {
            (Tri::Yes, true) => Tri::No,
            (Tri::No, true) => Tri::Yes,
            (t, _) => t,
        }
    }
}

/// How a proxy reads its traffic: `mode http` parses requests and runs `http-request` rules;
/// `mode tcp` (HAProxy's default) forwards bytes and runs only `tcp-request` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Http,
    Tcp,
}

/// When a rule runs: `tcp-request connection`, `session`, `content`, then `http-request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Phase {
    Connection,
    Session,
    Content,
    Http,
}

#[derive(Debug, Clone)]
enum Conv {
    UrlDec,
    Lower,
    Upper,
    Regsub {
        re: Arc<Regex>,
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
    /// The patterns in HAProxy's order: each `-f` file, then the inline ones, each list with
    /// the `-i` in effect where it was given (`-i` applies to what follows it only).
    lists: Vec<Patterns>,
}

/// One list of an ACL's patterns: a `-f` file's lines or the inline words.
#[derive(Debug, Clone, Default)]
struct Patterns {
    icase: bool,
    patterns: Vec<Vec<u8>>,
    /// Shared by every ACL with the same pattern: one compiled program and one match cache.
    regexes: Vec<Arc<Regex>>,
}

impl Acl {
    /// An ACL whose truth the evaluator cannot know, noted at `line`.
    fn unknown(line: usize) -> Acl {
        Acl {
            expr: Expr {
                fetch: Fetch::Unknown(line),
                convs: Vec::new(),
            },
            method: MatchMethod::Found,
            lists: Vec::new(),
        }
    }
}

/// A variable's index in [`Model::var_names`]: state is a vector, not a map of names.
type VarId = usize;

#[derive(Debug, Clone)]
enum Term {
    Named {
        name: String,
        negated: bool,
        /// The index of its definitions in [`Proxy::acls`], resolved once the whole section is
        /// read (an ACL may be defined after the rule that uses it); None: predefined or
        /// undefined.
        defined: Option<usize>,
    },
    /// Identical anonymous ACLs (every frontend of a generated file repeats them) share one.
    Anonymous { acl: Arc<Acl>, negated: bool },
}

#[derive(Debug, Clone)]
struct Condition {
    unless: bool,
    /// OR of ANDs.
    groups: Vec<Vec<Term>>,
}

#[derive(Debug, Clone)]
enum Action {
    /// `http-request allow`: ends the section's http-request rules.
    Allow,
    /// `tcp-request ... accept`: ends the rules of its phase.
    Accept,
    /// deny, tarpit, return, redirect, auth: answered by HAProxy, never forwarded.
    Answer(u16),
    /// The expression is shared by every `set-var` of the same words.
    SetVar(VarId, Arc<Expr>),
    UnsetVar(VarId),
    /// Adds, removes or logs headers only: no effect on where a request goes.
    Neutral,
    /// An action the evaluator cannot model (Lua, a service, a rewrite of what rules read):
    /// a request that runs it has an uncertain verdict.
    Opaque,
}

#[derive(Debug, Clone)]
struct Rule {
    phase: Phase,
    action: Action,
    /// Shared by every condition of the same words without named ACLs.
    cond: Option<Arc<Condition>>,
    line: usize,
}

#[derive(Debug, Clone)]
struct UseBackend {
    backend: String,
    /// The backend's index in [`Model::proxies`], resolved by [`compile`].
    target: Option<usize>,
    /// Shared by every condition of the same words without named ACLs.
    cond: Option<Arc<Condition>>,
    line: usize,
}

/// One frontend, listen or backend section, compiled.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub name: String,
    pub kind: SectionKind,
    pub line: usize,
    pub mode: Mode,
    /// A tcp-mode section waits for the request (`tcp-request inspect-delay` and content
    /// rules) before its content rules and `use_backend` read it.
    inspects: bool,
    /// Every rule, in the order of its phase, then of the file.
    rules: Vec<Rule>,
    /// The named ACLs' definitions (every line of a name), by [`Term::Named::defined`].
    acls: Vec<Vec<Arc<Acl>>>,
    use_backends: Vec<UseBackend>,
    default_backend: Option<(String, usize)>,
    /// The indices in [`Model::proxies`] of the default backend and of this section as a
    /// backend (a listen with servers), resolved by [`compile`].
    default_target: Option<usize>,
    self_target: Option<usize>,
    /// `server` lines: (address, line).
    pub servers: Vec<(String, usize)>,
    /// Per server: the index in [`Model::proxies`] of the frontend of this file that binds
    /// its address, resolved by [`compile`] (None: it leaves the file, to the daemon).
    hops: Vec<Option<usize>>,
    /// The addresses its `bind` lines listen on.
    binds: Vec<String>,
    /// Its index in [`Model::proxies`], and its program class: proxies of one class decide
    /// every request alike (see [`Model::decide_all`]).
    index: usize,
    class: usize,
}

/// A compiled config: its proxies and what could not be compiled.
#[derive(Debug, Clone)]
pub struct Model {
    pub proxies: Vec<Proxy>,
    pub unevaluable: Vec<Unevaluable>,
    pub env: Env,
    pub dialect: Dialect,
    /// Every variable name the rules use, once; [`VarId`] indexes it.
    var_names: Vec<String>,
    /// How many proxies each program class has.
    class_sizes: Vec<usize>,
    memo: Memo,
    /// See [`Model::uncertain_with`].
    also: Also,
}

/// By the line an uncertain verdict is blamed on, the other unknowns it met.
#[derive(Default)]
struct Also(std::sync::Mutex<std::collections::BTreeMap<usize, std::collections::BTreeSet<usize>>>);

impl std::ops::Deref for Also {
    type Target =
        std::sync::Mutex<std::collections::BTreeMap<usize, std::collections::BTreeSet<usize>>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Clone for Also {
    fn clone(&self) -> Also {
        Also(std::sync::Mutex::new(
            self.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        ))
    }
}

impl std::fmt::Debug for Also {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Also")
    }
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
    /// backend). Status 0: the connection is closed without an answer.
    Answered { status: u16, line: Option<usize> },
    /// The verdict depends on what the evaluator cannot model, noted at `line`.
    Uncertain { line: usize },
}

impl Outcome {
    /// Forwarded for certain.
    pub fn forwarded(&self) -> bool {
        matches!(self, Outcome::Forwarded { .. })
    }

    pub fn uncertain(&self) -> bool {
        matches!(self, Outcome::Uncertain { .. })
    }

    pub fn line(&self) -> Option<usize> {
        match self {
            Outcome::Forwarded { line, .. } | Outcome::Answered { line, .. } => *line,
            Outcome::Uncertain { line } => Some(*line),
        }
    }
}

/// Actions of `http-request` and `tcp-request` rules that neither answer nor change what a
/// later rule or the daemon sees of the request (as far as a socket proxy's rules look):
/// marks, logging, counters, priorities, the connection's addresses (conditions on the
/// client's address are uncertain anyway).
const NEUTRAL_ACTIONS: &[&str] = &[
    "capture",
    "set-log-level",
    "set-nice",
    "set-mark",
    "set-tos",
    "set-src",
    "set-src-port",
    "set-dst",
    "set-dst-port",
    "sc-inc-gpc",
    "sc-inc-gpc0",
    "sc-inc-gpc1",
    "sc-add-gpc",
    "sc-set-gpt",
    "sc-set-gpt0",
    "track-sc0",
    "track-sc1",
    "track-sc2",
    "set-priority-class",
    "set-priority-offset",
    "set-bandwidth-limit",
    "set-fc-mark",
    "set-fc-tos",
    // Sends messages to the SPOE agent: its effect, variables, is modelled by the filter
    // (`agent_variables`).
    "send-spoe-group",
];

/// Neutral in `http-request` only; header actions are neutral unless they touch a header the
/// rules read (checked where they are compiled).
const NEUTRAL_HTTP_ACTIONS: &[&str] = &[
    "add-header",
    "set-header",
    "del-header",
    "replace-header",
    "replace-value",
    "set-timeout",
    "strict-mode",
    "wait-for-body",
    "wait-for-handshake",
    "early-hint",
];

/// Neutral in `tcp-request` only.
const NEUTRAL_TCP_ACTIONS: &[&str] = &["expect-proxy", "expect-netscaler-cip"];
/// The contents of the files ACLs name with `-f`, by the name as written after `-f`: lint
/// reads them (`--pattern-file`, `default-path`), the evaluator does no I/O. A name that is not
/// here makes its ACL unknown, with the reason given by [`PatternFiles::unread`] if any.
#[derive(Debug, Clone, Default)]
pub struct PatternFiles {
    read: HashMap<String, Arc<[u8]>>,
    unread: HashMap<String, String>,
}

impl PatternFiles {
    /// The file the config names `name` holds `contents`.
    pub fn insert(&mut self, name: &str, contents: Arc<[u8]>) {
        self.unread.remove(name);
        self.read.insert(name.to_string(), contents);
    }

    /// `name` was not read, because `why` (shown in the finding).
    pub fn unread(&mut self, name: &str, why: String) {
        if !self.read.contains_key(name) {
            self.unread.insert(name.to_string(), why);
        }
    }

    pub fn contents(&self, name: &str) -> Option<Arc<[u8]>> {
        self.read.get(name).cloned()
    }

    fn why_unread(&self, name: &str) -> Option<&str> {
        self.unread.get(name).map(String::as_str)
    }
}

/// HAProxy's default `tune.bufsize`: a pattern file is read line by line into a buffer that size.
const DEFAULT_BUFSIZE: usize = 16384;

/// The patterns of a `-f` file, as HAProxy reads it (`pat_ref_read_from_file`): a line whose
/// first byte is `#` is a comment (a `#` after leading blanks is a pattern); leading spaces and
/// tabs are dropped; the pattern ends at the first CR, LF or NUL, so trailing spaces stay part
/// of it; an empty line is skipped. With `-M` (a map) the pattern is the first column: up to
/// the first space or tab. A line longer than `limit` bytes is split by HAProxy's reader into
/// several patterns: not modelled, an error.
pub fn file_patterns(contents: &[u8], as_map: bool, limit: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let body = contents.strip_suffix(b"\n").unwrap_or(contents);
    if contents.is_empty() {
        return Ok(out);
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.len() > limit {
            return Err(format!(
                "line {} is longer than HAProxy reads at once ({limit} bytes, tune.bufsize - 1), so HAProxy splits it",
                i + 1
            ));
        }
        if line.first() == Some(&b'#') {
            continue;
        }
        let start = line
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(line.len());
        let rest = &line[start..];
        let stops: &[u8] = if as_map { b"\r\0 \t" } else { b"\r\0" };
        let end = rest
            .iter()
            .position(|b| stops.contains(b))
            .unwrap_or(rest.len());
        if end > 0 {
            out.push(rest[..end].to_vec());
        }
    }
    Ok(out)
}

/// The delimiters of `-m dir` and `-m dom` (HAProxy's `pat_match_dir`, `pat_match_dom`).
fn delimiters(method: MatchMethod) -> &'static [u8] {
    match method {
        MatchMethod::Dom => b"/?.:",
        _ => b"/?",
    }
}

/// HAProxy's `match_word`: `pattern`, without its leading and trailing delimiters, occurs in
/// `sample` starting at the start or after a delimiter and ending at the end or before one.
fn match_word(sample: &[u8], pattern: &[u8], delimiters: &[u8], icase: bool) -> bool {
    let is_delim = |b: &u8| delimiters.contains(b);
    let start = pattern
        .iter()
        .position(|b| !is_delim(b))
        .unwrap_or(pattern.len());
    let end = pattern
        .iter()
        .rposition(|b| !is_delim(b))
        .map_or(start, |e| e + 1);
    let p = &pattern[start..end.max(start)];
    if p.is_empty() || p.len() > sample.len() {
        return false;
    }
    let eq = |a: &[u8], b: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    (0..=sample.len() - p.len()).any(|i| {
        (i == 0 || is_delim(&sample[i - 1]))
            && eq(&sample[i..i + p.len()], p)
            && (i + p.len() == sample.len() || is_delim(&sample[i + p.len()]))
    })
}

struct Compiler {
    unevaluable: Vec<Unevaluable>,
    /// Variable names to their [`VarId`], and the names by id.
    var_ids: HashMap<String, VarId>,
    var_names: Vec<String>,
    /// What compiled without a note, by its words: a repeated ACL, condition or `set-var`
    /// expression (every frontend of a generated file repeats them) is compiled once and shared.
    acls: Shared<Acl>,
    conditions: Shared<Condition>,
    exprs: Shared<Expr>,
    /// The `-f` files' contents lint read.
    files: PatternFiles,
    /// The longest pattern-file line HAProxy reads whole (`tune.bufsize` - 1).
    line_limit: usize,
}

/// Compiled parts by the words they were compiled from (and a tag: `if` or `unless`), found by
/// a hash of the texts and checked word by word: a lookup allocates nothing.
struct Shared<T> {
    by_hash: HashMap<u64, Vec<SharedEntry<T>>>,
}

struct SharedEntry<T> {
    tag: bool,
    texts: Vec<String>,
    value: Arc<T>,
}

impl<T> Default for Shared<T> {
    fn default() -> Shared<T> {
        Shared {
            by_hash: HashMap::new(),
        }
    }
}

impl<T> Shared<T> {
    fn hash(tag: bool, words: &[Word]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        tag.hash(&mut h);
        words.len().hash(&mut h);
        for w in words {
            w.text.hash(&mut h);
        }
        h.finish()
    }

    fn get(&self, tag: bool, words: &[Word]) -> Option<Arc<T>> {
        self.by_hash
            .get(&Self::hash(tag, words))?
            .iter()
            .find(|e| {
                e.tag == tag
                    && e.texts.len() == words.len()
                    && e.texts.iter().zip(words).all(|(a, w)| *a == w.text)
            })
            .map(|e| Arc::clone(&e.value))
    }

    fn insert(&mut self, tag: bool, words: &[Word], value: &Arc<T>) {
        let texts = words.iter().map(|w| w.text.to_string()).collect();
        self.by_hash
            .entry(Self::hash(tag, words))
            .or_default()
            .push(SharedEntry {
                tag,
                texts,
                value: Arc::clone(value),
            });
    }
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

/// `pattern` with each `$` outside a character class written as PCRE reads it without
/// `DOLLAR_ENDONLY`: the end of the subject or before a newline that ends it (HAProxy's
/// `^/containers/json$` matches `/containers/json\n`, seen on 2.6.12, 3.0.11 and 3.2.26 with a
/// `%0a` decoded by `url_dec`). The newline is consumed: right for matching, not for `regsub`.
fn pcre_dollar(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains('$') {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // `[]...]` and `[^]...]`: a leading `]` is a member.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str("(?:\n?\\z)"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An ACL's regex, as HAProxy's PCRE matches it (see [`pcre_dollar`]).
fn build_acl_regex(pattern: &str, icase: bool) -> Result<Arc<Regex>, String> {
    build_regex(&pcre_dollar(pattern), icase)
        .map_err(|e| e.replace(&*pcre_dollar(pattern), pattern))
}

fn build_regex(pattern: &str, icase: bool) -> Result<Arc<Regex>, String> {
    // Configs of one run share most patterns (every rendered file has the same route regexes,
    // a large file repeats its frontends), and compiling a regex costs far more than matching
    // it: compile each pattern once per thread. Shared, not cloned: a clone of a `Regex` gets
    // its own match cache (kilobytes once used), one per ACL of every frontend.
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<(String, bool), Arc<Regex>>> =
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
    let re = Arc::new(re);
    CACHE.with(|c| c.borrow_mut().insert(key, Arc::clone(&re)));
    Ok(re)
}

impl Compiler {
    /// The id of the variable `name`.
    fn var(&mut self, name: &str) -> VarId {
        if let Some(&id) = self.var_ids.get(name) {
            return id;
        }
        let id = self.var_names.len();
        self.var_names.push(name.to_string());
        self.var_ids.insert(name.to_string(), id);
        id
    }

    /// [`Compiler::acl`], shared with every earlier ACL of the same words that compiled without
    /// a note (compiling depends on the words' text only; one that noted something is compiled
    /// again, so each occurrence is reported at its own line).
    fn shared_acl(&mut self, words: &[Word]) -> Option<Arc<Acl>> {
        if let Some(acl) = self.acls.get(false, words) {
            return Some(acl);
        }
        let notes = self.unevaluable.len();
        let acl = match self.acl(words) {
            Some(acl) => Arc::new(acl),
            // Noted: an ACL whose truth is unknown, at the note's line.
            None if self.unevaluable.len() > notes => {
                return Some(Arc::new(Acl::unknown(self.unevaluable[notes].line)))
            }
            None => return None,
        };
        if self.unevaluable.len() == notes {
            self.acls.insert(false, words, &acl);
        }
        Some(acl)
    }

    fn note(&mut self, word: &Word, what: String) {
        self.unevaluable.push(Unevaluable {
            line: word.span.line(),
            column: word.span.column(),
            what,
        });
    }

    /// A sample expression; the implied match method for `path_beg`-style fetches.
    fn expr(&mut self, word: &Word) -> Option<(Expr, Option<MatchMethod>)> {
        let chain = split_chain(word.text);
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
                    "dom" => MatchMethod::Dom,
                    _ => {
                        self.note(word, format!("the fetch `{name}`"));
                        return None;
                    }
                };
                (b, Some(m))
            }
            _ => (name.as_str(), None),
        };
        if matches!(base, "req.body" | "req.body_len" | "req.body_size") {
            return Some((
                Expr {
                    fetch: Fetch::Body,
                    convs: Vec::new(),
                },
                implied,
            ));
        }
        let fetch = match base {
            "path" if arg.is_none() => Fetch::Path,
            "url" if arg.is_none() => Fetch::Url,
            "method" if arg.is_none() => Fetch::Method,
            "hdr" | "req.hdr" if arg.is_some() => {
                Fetch::Hdr(split_args(&arg_text)[0].to_ascii_lowercase())
            }
            "var" if arg.is_some() => Fetch::Var(self.var(&split_args(&arg_text)[0])),
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

    /// `fetch [flags] [--] patterns...` as HAProxy's ACL parser reads it: `-i` (for what
    /// follows it), `-m METHOD` (before any `-f`), `-f FILE` (repeatable; its lines are
    /// patterns, see [`file_patterns`]), `-M` (the files that follow are maps: their first
    /// column), `-n`, `-u ID`, `--`.
    fn acl(&mut self, words: &[Word]) -> Option<Acl> {
        let first = words.first()?;
        let (expr, implied) = self.expr(first)?;
        if matches!(expr.fetch, Fetch::Body) {
            // Never matches (no sample): its patterns (PCRE, integer operators) are not compiled.
            return Some(Acl {
                expr,
                method: MatchMethod::Found,
                lists: Vec::new(),
            });
        }
        let mut icase = false;
        let mut method = implied;
        let mut as_map = false;
        // Each `-f`: its flag word, its name word, and the `-i` and `-M` in effect there.
        let mut files: Vec<(&Word, &Word, bool, bool)> = Vec::new();
        let mut i = 1;
        while let Some(w) = words.get(i) {
            match w.text {
                "-i" => icase = true,
                "-m" => {
                    if !files.is_empty() {
                        // HAProxy refuses it: the patterns were parsed for the earlier method.
                        self.note(w, "`-m` after `-f` (HAProxy wants the match method before patterns and files)".into());
                        return None;
                    }
                    i += 1;
                    let m = words.get(i).map(|w| w.text).unwrap_or("");
                    method = Some(match m {
                        "found" => MatchMethod::Found,
                        "str" => MatchMethod::Str,
                        "beg" => MatchMethod::Beg,
                        "end" => MatchMethod::End,
                        "sub" => MatchMethod::Sub,
                        "reg" => MatchMethod::Reg,
                        "dir" => MatchMethod::Dir,
                        "dom" => MatchMethod::Dom,
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
                "-M" => as_map = true,
                // `-u ID`: the list's id for the runtime API.
                "-u" => i += 1,
                "-f" => {
                    let Some(name) = words.get(i + 1) else {
                        self.note(w, "`-f` without a file name".into());
                        return None;
                    };
                    files.push((w, name, icase, as_map));
                    i += 1;
                }
                flag if flag.starts_with('-') && flag.len() > 1 => {
                    self.note(w, format!("the ACL flag `{flag}`"));
                    return None;
                }
                _ => break,
            }
            i += 1;
        }
        let method = method.unwrap_or(MatchMethod::Str);
        let mut lists = Vec::with_capacity(files.len() + 1);
        for (flag, name, file_icase, map) in &files {
            let Some(content) = self.files.contents(name.text) else {
                let why = self.files.why_unread(name.text).unwrap_or(
                    "the ACL's patterns are in a file lint was not given; pass it with --pattern-file",
                );
                self.note(flag, format!("`-f {}` ({why})", name.text));
                return None;
            };
            let patterns = match file_patterns(&content, *map, self.line_limit) {
                Ok(p) => p,
                Err(e) => {
                    self.note(flag, format!("`-f {}`: {e}", name.text));
                    return None;
                }
            };
            lists.push(self.patterns(name, method, *file_icase, patterns)?);
        }
        let inline: Vec<Vec<u8>> = words[i..]
            .iter()
            .map(|w| w.text.as_bytes().to_vec())
            .collect();
        if inline.is_empty()
            && files.is_empty()
            && !matches!(method, MatchMethod::Found | MatchMethod::Bool)
        {
            self.note(first, "an ACL without patterns".into());
            return None;
        }
        if !inline.is_empty() {
            let at = words.get(i).unwrap_or(first);
            lists.push(self.patterns(at, method, icase, inline)?);
        }
        lists.shrink_to_fit();
        Some(Acl {
            expr,
            method,
            lists,
        })
    }

    /// One list of patterns for `method`: regexes compiled, `dir`/`dom` patterns checked.
    fn patterns(
        &mut self,
        at: &Word,
        method: MatchMethod,
        icase: bool,
        patterns: Vec<Vec<u8>>,
    ) -> Option<Patterns> {
        let mut regexes = Vec::new();
        match method {
            MatchMethod::Reg => {
                for p in &patterns {
                    let Ok(text) = std::str::from_utf8(p) else {
                        self.note(at, "a regex that is not UTF-8".into());
                        return None;
                    };
                    match build_acl_regex(text, icase) {
                        Ok(re) => regexes.push(re),
                        Err(e) => {
                            self.note(at, e);
                            return None;
                        }
                    }
                }
            }
            MatchMethod::Dir | MatchMethod::Dom => {
                let delimiters = delimiters(method);
                if let Some(p) = patterns
                    .iter()
                    .find(|p| p.iter().all(|b| delimiters.contains(b)))
                {
                    // HAProxy then compares bytes past the sample's end: not modelled.
                    self.note(
                        at,
                        format!(
                            "the `{}` pattern `{}` has only delimiters",
                            if method == MatchMethod::Dir {
                                "dir"
                            } else {
                                "dom"
                            },
                            String::from_utf8_lossy(p)
                        ),
                    );
                    return None;
                }
            }
            _ => {}
        }
        Some(Patterns {
            icase,
            patterns,
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
                None => (false, w.text.to_string()),
            };
            if text == "||" || text == "or" {
                groups.push(Vec::new());
                i += 1;
                continue;
            }
            if text == "{" || (text.is_empty() && words.get(i + 1).is_some_and(|n| n.text == "{")) {
                let open = if text.is_empty() { i + 1 } else { i };
                let close = words[open..].iter().position(|w| w.text == "}")? + open;
                let acl = self.shared_acl(&words[open + 1..close])?;
                groups
                    .last_mut()
                    .unwrap()
                    .push(Term::Anonymous { acl, negated });
                i = close + 1;
                continue;
            }
            groups.last_mut().unwrap().push(Term::Named {
                name: text,
                negated,
                defined: None,
            });
            i += 1;
        }
        groups.iter_mut().for_each(Vec::shrink_to_fit);
        Some(Condition { unless, groups })
    }

    /// Splits `words` at `if`/`unless`; compiles the condition.
    fn split_condition<'w, 'd>(
        &mut self,
        words: &'w [Word<'d>],
    ) -> Option<(&'w [Word<'d>], Option<Arc<Condition>>)> {
        match words
            .iter()
            .position(|w| w.text == "if" || w.text == "unless")
        {
            Some(p) => {
                let unless = words[p].text == "unless";
                let cond_words = &words[p + 1..];
                if let Some(c) = self.conditions.get(unless, cond_words) {
                    return Some((&words[..p], Some(c)));
                }
                let notes = self.unevaluable.len();
                let cond = Arc::new(self.condition(cond_words, unless)?);
                // Named ACLs are resolved per section (see `proxy`): not shared.
                let named = cond
                    .groups
                    .iter()
                    .flatten()
                    .any(|t| matches!(t, Term::Named { .. }));
                if self.unevaluable.len() == notes && !named {
                    self.conditions.insert(unless, cond_words, &cond);
                }
                Some((&words[..p], Some(cond)))
            }
            None => Some((words, None)),
        }
    }

    /// A `set-var` expression, shared like [`Compiler::shared_acl`].
    fn shared_expr(&mut self, word: &Word) -> Option<Arc<Expr>> {
        let words = std::slice::from_ref(word);
        if let Some(e) = self.exprs.get(false, words) {
            return Some(e);
        }
        let notes = self.unevaluable.len();
        let Some((expr, _)) = self.expr(word) else {
            // Noted by `expr`: a value the evaluator cannot know.
            return Some(Arc::new(Expr {
                fetch: Fetch::Unknown(word.span.line()),
                convs: Vec::new(),
            }));
        };
        let expr = Arc::new(expr);
        if self.unevaluable.len() == notes {
            self.exprs.insert(false, words, &expr);
        }
        Some(expr)
    }

    /// `set-var(NAME)`, `set-var-fmt(NAME)` and `unset-var(NAME)` of `http-request` and
    /// `tcp-request`; None for another action.
    fn var_action(&mut self, action: &Word, expr: Option<&Word>) -> Option<Action> {
        let a = action.text;
        let inner = |prefix: &str| a[prefix.len()..].trim_end_matches(')').to_string();
        if a.starts_with("set-var-fmt(") {
            // A log-format string: its value is not modelled, the variable becomes unknown.
            self.note(action, "`set-var-fmt`".into());
            let id = self.var(&inner("set-var-fmt("));
            let expr = Arc::new(Expr {
                fetch: Fetch::Unknown(action.span.line()),
                convs: Vec::new(),
            });
            return Some(Action::SetVar(id, expr));
        }
        if a.starts_with("set-var(") {
            let id = self.var(&inner("set-var("));
            let expr = match expr {
                Some(w) => self.shared_expr(w)?,
                None => {
                    self.note(action, "`set-var` without an expression".into());
                    Arc::new(Expr {
                        fetch: Fetch::Unknown(action.span.line()),
                        convs: Vec::new(),
                    })
                }
            };
            return Some(Action::SetVar(id, expr));
        }
        if a.starts_with("unset-var(") {
            return Some(Action::UnsetVar(self.var(&inner("unset-var("))));
        }
        None
    }

    fn http_request(&mut self, d: &Directive) -> Option<Rule> {
        let args = d.args();
        let first = args.first()?;
        let (before, cond) = self.split_condition(&args)?;
        let status_after = |key: &str, default: u16| {
            before
                .iter()
                .position(|w| w.text == key)
                .and_then(|p| before.get(p + 1))
                .and_then(|w| w.text.parse().ok())
                .unwrap_or(default)
        };
        // `sc-inc-gpc0(0)`, `track-sc0`: the action's name without its arguments.
        let name = first.text.split('(').next().unwrap_or_default();
        let action = match name {
            "allow" => Action::Allow,
            "deny" => Action::Answer(status_after("deny_status", 403)),
            "tarpit" => Action::Answer(status_after("deny_status", 500)),
            "return" => Action::Answer(status_after("status", 200)),
            "redirect" => Action::Answer(302),
            "auth" => Action::Answer(401),
            // The connection is closed without an answer.
            "reject" | "silent-drop" => Action::Answer(0),
            "set-var" | "set-var-fmt" | "unset-var" => self.var_action(first, before.get(1))?,
            n if NEUTRAL_ACTIONS.contains(&n) || NEUTRAL_HTTP_ACTIONS.contains(&n) => {
                let header = before.get(1).map(|w| w.text.to_ascii_lowercase());
                // Headers the rules of a socket proxy look at change what later rules see.
                let header_action = matches!(
                    first.text,
                    "add-header" | "set-header" | "del-header" | "replace-header" | "replace-value"
                );
                if header_action
                    && matches!(
                        header.as_deref(),
                        Some("upgrade" | "connection" | "content-type" | "host")
                    )
                {
                    self.note(
                        first,
                        format!("`http-request {}` on a header rules read", first.text),
                    );
                    Action::Opaque
                } else {
                    Action::Neutral
                }
            }
            other => {
                self.note(first, format!("`http-request {other}`"));
                Action::Opaque
            }
        };
        Some(Rule {
            phase: Phase::Http,
            action,
            cond,
            line: d.line,
        })
    }

    /// `tcp-request connection|session|content ACTION [if|unless COND]`; `inspect-delay` sets
    /// `delay`.
    fn tcp_request(&mut self, d: &Directive, delay: &mut bool) -> Option<Rule> {
        let args = d.args();
        let phase = match args.first()?.text {
            "connection" => Phase::Connection,
            "session" => Phase::Session,
            "content" => Phase::Content,
            "inspect-delay" => {
                *delay = args.get(1).is_some_and(|w| {
                    w.text
                        .trim_start_matches('0')
                        .chars()
                        .any(|c| c.is_ascii_digit())
                });
                return None;
            }
            _ => {
                self.note(&d.first(), format!("`tcp-request {}`", args[0].text));
                return None;
            }
        };
        let rest = &args[1..];
        let first = rest.first()?;
        let (before, cond) = self.split_condition(rest)?;
        let name = first.text.split('(').next().unwrap_or_default();
        let action = match name {
            "accept" => Action::Accept,
            "reject" | "silent-drop" => Action::Answer(0),
            "set-var" | "set-var-fmt" | "unset-var" => self.var_action(first, before.get(1))?,
            n if NEUTRAL_ACTIONS.contains(&n) || NEUTRAL_TCP_ACTIONS.contains(&n) => {
                Action::Neutral
            }
            other => {
                self.note(first, format!("`tcp-request {} {other}`", args[0].text));
                Action::Opaque
            }
        };
        Some(Rule {
            phase,
            action,
            cond,
            line: d.line,
        })
    }

    /// A frontend, listen or backend; `defaults` is the defaults section in effect for it.
    fn proxy(&mut self, section: &Section, defaults: Option<&Section>) -> Proxy {
        let mode_of = |s: &Section| {
            s.directives
                .iter()
                .rev()
                .find(|d| d.keyword() == "mode")
                .and_then(|d| match d.arg(0) {
                    Some("http") => Some(Mode::Http),
                    Some("tcp") => Some(Mode::Tcp),
                    _ => None,
                })
        };
        let mut proxy = Proxy {
            name: section.name.clone().unwrap_or_default(),
            kind: section.kind,
            line: section.line,
            // HAProxy's default mode is tcp.
            mode: mode_of(section)
                .or_else(|| defaults.and_then(mode_of))
                .unwrap_or(Mode::Tcp),
            inspects: false,
            rules: Vec::new(),
            acls: Vec::new(),
            use_backends: Vec::new(),
            default_backend: None,
            default_target: None,
            self_target: None,
            servers: Vec::new(),
            hops: Vec::new(),
            binds: Vec::new(),
            index: 0,
            class: 0,
        };
        let mut delay = false;
        if let Some(defaults) = defaults {
            for d in &defaults.directives {
                match (d.keyword(), d.arg(0)) {
                    ("tcp-request", Some("inspect-delay")) => {
                        self.tcp_request(d, &mut delay);
                    }
                    // Rules of a defaults section run before the proxy's own; not modelled
                    // (noted once by `compile`): every request that reaches them is uncertain.
                    ("tcp-request" | "http-request", _) => proxy.rules.push(Rule {
                        phase: match (d.keyword(), d.arg(0)) {
                            ("http-request", _) => Phase::Http,
                            (_, Some("connection")) => Phase::Connection,
                            (_, Some("session")) => Phase::Session,
                            _ => Phase::Content,
                        },
                        action: Action::Opaque,
                        cond: None,
                        line: d.line,
                    }),
                    _ => {}
                }
            }
        }
        let mut acl_names: HashMap<&str, usize> = HashMap::new();
        for d in &section.directives {
            match d.keyword() {
                "acl" => {
                    let Some(name) = d.word(1) else {
                        continue;
                    };
                    if let Some(acl) = self.shared_acl(&d.args()[1..]) {
                        let next = proxy.acls.len();
                        let i = *acl_names.entry(name.text).or_insert(next);
                        if i == next {
                            proxy.acls.push(Vec::new());
                        }
                        proxy.acls[i].push(acl);
                    }
                }
                "http-request" => {
                    if let Some(rule) = self.http_request(d) {
                        proxy.rules.push(rule);
                    } else if d.len() == 1 {
                        self.note(&d.first(), "`http-request` without an action".into());
                    }
                }
                "tcp-request" => {
                    if let Some(rule) = self.tcp_request(d, &mut delay) {
                        proxy.rules.push(rule);
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
                                backend: b.text.to_string(),
                                target: None,
                                cond,
                                line: d.line,
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
                "bind" => {
                    if let Some(addrs) = d.arg(0) {
                        proxy.binds.extend(addrs.split(',').map(str::to_string));
                    }
                }
                "http-request-rules" | "use-server" | "redirect" | "block" | "reqdeny"
                | "reqrep" => {
                    self.note(&d.first(), format!("`{}`", d.keyword()));
                }
                _ => {}
            }
        }
        // Content rules wait for the request only with a delay to wait for it.
        proxy.inspects = delay && proxy.rules.iter().any(|r| r.phase == Phase::Content);
        // Named ACLs are looked up in the whole section, as they were when a request came.
        // Conditions with named ACLs are never shared, so make_mut does not copy.
        let mut unknowable = Vec::new();
        let mut resolve = |cond: &mut Option<Arc<Condition>>, line: usize| {
            let Some(cond) = cond else { return };
            if !cond
                .groups
                .iter()
                .flatten()
                .any(|t| matches!(t, Term::Named { .. }))
            {
                return;
            }
            for term in Arc::make_mut(cond).groups.iter_mut().flatten() {
                if let Term::Named {
                    name,
                    defined,
                    negated,
                } = term
                {
                    *defined = acl_names.get(name.as_str()).copied();
                    // Predefined ACLs on what a request does not show: unknown.
                    if defined.is_none() && matches!(name.as_str(), "LOCALHOST" | "WAIT_END") {
                        unknowable.push((line, name.clone()));
                        *term = Term::Anonymous {
                            acl: Arc::new(Acl::unknown(line)),
                            negated: *negated,
                        };
                    }
                }
            }
        };
        for r in proxy.rules.iter_mut() {
            resolve(&mut r.cond, r.line);
        }
        for u in proxy.use_backends.iter_mut() {
            resolve(&mut u.cond, u.line);
        }
        for (line, name) in unknowable {
            self.unevaluable.push(Unevaluable {
                line,
                column: 0,
                what: format!(
                    "the predefined ACL `{name}` (the client's address or the inspect delay)"
                ),
            });
        }
        if proxy.mode == Mode::Tcp && !proxy.inspects && proxy.reads_request() {
            self.unevaluable.push(Unevaluable {
                line: proxy.line,
                column: 0,
                what: format!(
                    "`{}` is in mode tcp without `tcp-request inspect-delay` and a content rule, so its rules read the request before it may have arrived; their result",
                    proxy.name
                ),
            });
        }
        // Stable: the file's order within each phase.
        proxy.rules.sort_by_key(|r| r.phase);
        proxy.rules.shrink_to_fit();
        proxy.acls.iter_mut().for_each(Vec::shrink_to_fit);
        proxy.acls.shrink_to_fit();
        proxy.use_backends.shrink_to_fit();
        proxy.servers.shrink_to_fit();
        proxy
    }
}

/// A listening or server address, as far as telling whether a server is a bind of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Address {
    Tcp { host: String, port: String },
    Unix(String),
    Abns(String),
    Other,
}

fn address_of(text: &str) -> Address {
    let text = text.trim();
    if let Some(name) = text
        .strip_prefix("abns@")
        .or_else(|| text.strip_prefix("abnsz@"))
    {
        return Address::Abns(name.to_string());
    }
    if let Some(path) = text.strip_prefix("unix@") {
        return Address::Unix(path.to_string());
    }
    if text.starts_with('/') {
        return Address::Unix(text.to_string());
    }
    let rest = ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    if rest.contains('@') {
        return Address::Other;
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Address::Tcp {
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port: port.trim_start_matches('0').to_string(),
            }
        }
        _ => Address::Other,
    }
}

/// Whether a server at `server` connects to a bind at `bind` of the same HAProxy.
fn connects_to(server: &Address, bind: &Address) -> bool {
    let loopback = |h: &str| h == "localhost" || h.starts_with("127.") || h == "::1";
    let wildcard = |h: &str| matches!(h, "" | "*" | "0.0.0.0" | "::" | "0:0:0:0:0:0:0:0");
    match (server, bind) {
        (Address::Unix(a), Address::Unix(b)) | (Address::Abns(a), Address::Abns(b)) => a == b,
        (Address::Tcp { host: sh, port: sp }, Address::Tcp { host: bh, port: bp }) => {
            sp == bp
                && (sh == bh
                    || (wildcard(bh) && (loopback(sh) || wildcard(sh)))
                    || (sh == "localhost" && loopback(bh)))
        }
        _ => false,
    }
}

/// Compiles every frontend, listen and backend of `config`; `env(VAR)` reads the environment
/// the parse left (`Config::env`). Every ACL that loads a `-f` file is unknown: see
/// [`compile_with`].
pub fn compile(config: &Config, dialect: Dialect) -> Model {
    compile_with(config, dialect, &PatternFiles::default())
}

/// [`compile`], with the contents of the `-f` files lint read.
pub fn compile_with(config: &Config, dialect: Dialect, files: &PatternFiles) -> Model {
    // The buffer HAProxy reads pattern-file lines into: the last `tune.bufsize` of `global`.
    let bufsize = config
        .sections_of(SectionKind::Global)
        .flat_map(|s| s.directives.iter())
        .filter(|d| d.keyword() == "tune.bufsize")
        .filter_map(|d| d.arg(0)?.parse::<usize>().ok())
        .last()
        .unwrap_or(DEFAULT_BUFSIZE);
    let mut compiler = Compiler {
        unevaluable: Vec::new(),
        var_ids: HashMap::new(),
        var_names: Vec::new(),
        acls: Shared::default(),
        conditions: Shared::default(),
        exprs: Shared::default(),
        files: files.clone(),
        line_limit: bufsize.saturating_sub(1),
    };
    let mut proxies: Vec<Proxy> = Vec::new();
    // Per proxy: where its `filter spoe` is, if it has one.
    let mut spoe: Vec<Option<(usize, usize)>> = Vec::new();
    let mut defaults: Option<&Section> = None;
    for s in &config.sections {
        match s.kind {
            SectionKind::Defaults => defaults = Some(s),
            k if k.is_proxy() => {
                spoe.push(
                    s.directives
                        .iter()
                        .find(|d| d.keyword() == "filter" && d.arg(0) == Some("spoe"))
                        .map(|d| (d.first().span.line(), d.first().span.column())),
                );
                proxies.push(compiler.proxy(s, defaults))
            }
            _ => {}
        }
    }
    // Backends by name, the first of a name as a request finds it: resolved once, not by a scan
    // of every proxy per request (quadratic in a file of many frontends and backends).
    let mut backends: HashMap<&str, usize> = HashMap::new();
    for (i, p) in proxies.iter().enumerate() {
        if matches!(p.kind, SectionKind::Backend | SectionKind::Listen) {
            backends.entry(p.name.as_str()).or_insert(i);
        }
    }
    let targets: Vec<_> = proxies
        .iter()
        .map(|p| {
            (
                p.use_backends
                    .iter()
                    .map(|u| backends.get(u.backend.as_str()).copied())
                    .collect::<Vec<_>>(),
                p.default_backend
                    .as_ref()
                    .and_then(|(b, _)| backends.get(b.as_str()).copied()),
                backends.get(p.name.as_str()).copied(),
            )
        })
        .collect();
    for (p, (uses, default, own)) in proxies.iter_mut().zip(targets) {
        for (u, t) in p.use_backends.iter_mut().zip(uses) {
            u.target = t;
        }
        p.default_target = default;
        p.self_target = own;
    }
    // Servers that are a bind of a frontend of this file: the request goes on through it.
    let listening: Vec<(usize, Address)> = proxies
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.kind, SectionKind::Frontend | SectionKind::Listen))
        .flat_map(|(i, p)| p.binds.iter().map(move |b| (i, address_of(b))))
        .filter(|(_, a)| *a != Address::Other)
        .collect();
    if !listening.is_empty() {
        for p in proxies.iter_mut() {
            p.hops = p
                .servers
                .iter()
                .map(|(s, _)| {
                    let server = address_of(s);
                    listening
                        .iter()
                        .find(|(_, b)| connects_to(&server, b))
                        .map(|(i, _)| *i)
                })
                .collect();
        }
    }
    for p in proxies.iter_mut() {
        p.hops.resize(p.servers.len(), None);
        let mut targets = p.hops.clone();
        targets.dedup();
        if targets.len() > 1 && targets.iter().any(Option::is_some) {
            compiler.unevaluable.push(Unevaluable {
                line: p.line,
                column: 0,
                what: format!(
                    "`{}` balances requests between servers that are frontends of this file and others; which one takes a request",
                    p.name
                ),
            });
        }
    }
    agent_variables(&mut proxies, &spoe, &mut compiler);
    let class_sizes = classify(&mut proxies);
    for s in config.sections_of(SectionKind::Defaults) {
        for d in &s.directives {
            let delay = d.keyword() == "tcp-request" && d.arg(0) == Some("inspect-delay");
            if matches!(d.keyword(), "http-request" | "tcp-request" | "use_backend") && !delay {
                compiler.note(
                    &d.first(),
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
        var_names: compiler.var_names,
        class_sizes,
        memo: Memo::default(),
        also: Also::default(),
    }
}

/// An SPOE filter's agent sets variables (`set-var` actions of the SPOE protocol) that the
/// file does not show: in a proxy with `filter spoe`, every read of a variable that no rule of
/// the file sets is unknown, noted on the filter's line. (Variables a rule sets are taken as
/// the rules set them.)
fn agent_variables(
    proxies: &mut [Proxy],
    spoe: &[Option<(usize, usize)>],
    compiler: &mut Compiler,
) {
    if spoe.iter().all(Option::is_none) {
        return;
    }
    let set: std::collections::HashSet<VarId> = proxies
        .iter()
        .flat_map(|p| p.rules.iter())
        .filter_map(|r| match &r.action {
            Action::SetVar(id, _) => Some(*id),
            _ => None,
        })
        .collect();
    let agent = |fetch: &Fetch| match fetch {
        Fetch::Var(id) if !set.contains(id) => Some(*id),
        _ => None,
    };
    for (p, at) in proxies.iter_mut().zip(spoe) {
        let Some((line, column)) = *at else { continue };
        let mut read = std::collections::BTreeSet::new();
        let mut unknown = |acl: &mut Arc<Acl>| {
            if let Some(id) = agent(&acl.expr.fetch) {
                read.insert(id);
                *acl = Arc::new(Acl::unknown(line));
            }
        };
        for acl in p.acls.iter_mut().flatten() {
            unknown(acl);
        }
        let conds = p
            .rules
            .iter_mut()
            .map(|r| &mut r.cond)
            .chain(p.use_backends.iter_mut().map(|u| &mut u.cond));
        for cond in conds.flatten() {
            let reads = cond.groups.iter().flatten().any(
                |t| matches!(t, Term::Anonymous { acl, .. } if agent(&acl.expr.fetch).is_some()),
            );
            if reads {
                for t in Arc::make_mut(cond).groups.iter_mut().flatten() {
                    if let Term::Anonymous { acl, .. } = t {
                        unknown(acl);
                    }
                }
            }
        }
        for r in p.rules.iter_mut() {
            if let Action::SetVar(_, expr) = &mut r.action {
                if let Some(id) = agent(&expr.fetch) {
                    read.insert(id);
                    *expr = Arc::new(Expr {
                        fetch: Fetch::Unknown(line),
                        convs: Vec::new(),
                    });
                }
            }
        }
        if !read.is_empty() {
            let names: Vec<String> = read
                .iter()
                .map(|id| format!("`{}`", compiler.var_names[*id]))
                .collect();
            compiler.unevaluable.push(Unevaluable {
                line,
                column,
                what: format!(
                    "the variable(s) {} that the SPOE agent of `filter spoe` in `{}` may set (no rule of this file sets them)",
                    names.join(", "),
                    p.name
                ),
            });
        }
    }
}

/// What decides a request on a proxy, its shared parts by address: proxies with equal
/// signatures decide every request alike but for the lines of their own rules, which
/// [`Model::decide_all`] keeps as rule indices.
#[derive(PartialEq, Eq, Hash)]
struct Signature {
    mode: Mode,
    inspects: bool,
    rules: Vec<(Phase, ActionSig, CondSig)>,
    /// A listen with servers is its own backend: its name and index.
    own: Option<(String, Option<usize>)>,
    /// `use_backend` and `default_backend`: the name (an error names it), the index, whether
    /// it has the proxy's own name (its rules are then not run again) and the condition.
    uses: Vec<(String, Option<usize>, bool, CondSig)>,
    default: Option<(String, Option<usize>, bool)>,
}

#[derive(PartialEq, Eq, Hash)]
enum ActionSig {
    Allow,
    Accept,
    /// The line: where the uncertainty is reported.
    Opaque(usize),
    Answer(u16),
    SetVar(VarId, usize),
    UnsetVar(VarId),
    Neutral,
}

#[derive(PartialEq, Eq, Hash)]
enum CondSig {
    Always,
    /// Without named ACLs: shared conditions are equal by address.
    Shared(usize),
    /// With named ACLs, resolved per proxy: the terms, named ones with their definitions.
    Named {
        unless: bool,
        groups: Vec<Vec<TermSig>>,
    },
}

#[derive(PartialEq, Eq, Hash)]
enum TermSig {
    Anonymous(usize, bool),
    Named(String, bool, Option<Vec<usize>>),
}

fn address<T>(a: &Arc<T>) -> usize {
    Arc::as_ptr(a) as *const () as usize
}

fn signature(p: &Proxy, proxies: &[Proxy]) -> Signature {
    let cond = |c: &Option<Arc<Condition>>| match c {
        None => CondSig::Always,
        Some(c)
            if !c
                .groups
                .iter()
                .flatten()
                .any(|t| matches!(t, Term::Named { .. })) =>
        {
            CondSig::Shared(address(c))
        }
        Some(c) => CondSig::Named {
            unless: c.unless,
            groups: c
                .groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|t| match t {
                            Term::Anonymous { acl, negated } => {
                                TermSig::Anonymous(address(acl), *negated)
                            }
                            Term::Named {
                                name,
                                negated,
                                defined,
                            } => TermSig::Named(
                                name.clone(),
                                *negated,
                                defined.map(|i| p.acls[i].iter().map(address).collect()),
                            ),
                        })
                        .collect()
                })
                .collect(),
        },
    };
    let own_name = |t: Option<usize>| t.is_some_and(|t| proxies[t].name == p.name);
    Signature {
        mode: p.mode,
        inspects: p.inspects,
        rules: p
            .rules
            .iter()
            .map(|r| {
                let action = match &r.action {
                    Action::Allow => ActionSig::Allow,
                    Action::Accept => ActionSig::Accept,
                    Action::Opaque => ActionSig::Opaque(r.line),
                    Action::Answer(s) => ActionSig::Answer(*s),
                    Action::SetVar(id, e) => ActionSig::SetVar(*id, address(e)),
                    Action::UnsetVar(id) => ActionSig::UnsetVar(*id),
                    Action::Neutral => ActionSig::Neutral,
                };
                (r.phase, action, cond(&r.cond))
            })
            .collect(),
        own: (p.kind == SectionKind::Listen && !p.servers.is_empty())
            .then(|| (p.name.clone(), p.self_target)),
        uses: p
            .use_backends
            .iter()
            .map(|u| {
                (
                    u.backend.clone(),
                    u.target,
                    own_name(u.target),
                    cond(&u.cond),
                )
            })
            .collect(),
        default: p
            .default_backend
            .as_ref()
            .map(|(b, _)| (b.clone(), p.default_target, own_name(p.default_target))),
    }
}

/// Numbers the proxies and puts each in its program class; the size of each class.
fn classify(proxies: &mut [Proxy]) -> Vec<usize> {
    let mut classes: HashMap<Signature, usize> = HashMap::new();
    let mut sizes = Vec::new();
    let assigned: Vec<usize> = proxies
        .iter()
        .map(|p| {
            let next = classes.len();
            let class = *classes.entry(signature(p, proxies)).or_insert(next);
            if class == next {
                sizes.push(0);
            }
            // Only entries are asked: a class's memo is dropped when all of them have been.
            if p.is_entry() {
                sizes[class] += 1;
            }
            class
        })
        .collect();
    for (i, (p, class)) in proxies.iter_mut().zip(assigned).enumerate() {
        p.index = i;
        p.class = class;
    }
    sizes
}

/// A variable's value for one request.
#[derive(Debug, Clone)]
enum Var<'r> {
    Unset,
    Set(Cow<'r, [u8]>),
    /// Set from what the evaluator cannot model, noted at this line.
    Unknown(usize),
}

/// Per-request state: variables set by rules.
struct State<'r> {
    request: &'r Request<'r>,
    /// The headers as rules see them (after the dialect's normalisation; borrowed when it
    /// changes nothing, as for every request of the permission matrix).
    headers: Cow<'r, [(String, String)]>,
    dialect: Dialect,
    /// By [`VarId`]. Constants and fetched values are borrowed; only converters allocate.
    vars: Vec<Var<'r>>,
    /// The line of the `allow` rule that ended a rule set, if one did.
    allowed_by: Option<LineRef>,
    /// The line of a tcp-mode section that reads the request without waiting for it: what it
    /// reads is unknown.
    blind: Option<usize>,
    /// A tcp-mode section reads a request HAProxy's HTTP parser refuses (CONNECT with a path):
    /// what it reads of the request gives no sample.
    unparsable: bool,
}

/// The answers given for the unknowns met while deciding one request: [`Model::trace`]
/// decides it again with other answers until the verdict is known not to depend on them.
#[derive(Default)]
struct Choices {
    /// The answers to give, in the order the unknowns are met; false past the end.
    oracle: Vec<bool>,
    /// The unknowns met: their identity, line and the answer given.
    taken: Vec<(usize, usize, bool)>,
}

impl Choices {
    /// The truth of the unknown `key` (noted at `line`): the answer it got earlier in this
    /// request, or the next one of the oracle.
    fn answer(&mut self, key: usize, line: usize) -> bool {
        if let Some(t) = self.taken.iter().find(|t| t.0 == key) {
            return t.2;
        }
        let answer = self.oracle.get(self.taken.len()).copied().unwrap_or(false);
        self.taken.push((key, line, answer));
        answer
    }
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

/// `regsub`: `replace` (the first match) or `replace_all` of `re` in `s` with `rep` (in the
/// regex crate's syntax).
fn regsub(re: &Regex, s: Cow<'_, [u8]>, rep: &[u8], global: bool) -> Vec<u8> {
    if !global && !rep.contains(&b'$') {
        // One literal replacement (the version strip of every rendered file): in place, as
        // `replace` would make it in a new buffer.
        let found = re.find(&s).map(|m| m.range());
        let mut v = s.into_owned();
        if let Some(range) = found {
            v.splice(range, rep.iter().copied());
        }
        return v;
    }
    let replaced = if global {
        re.replace_all(&s, rep)
    } else {
        re.replace(&s, rep)
    };
    match replaced {
        Cow::Owned(v) => v,
        // No match: the sample as it is.
        Cow::Borrowed(_) => s.into_owned(),
    }
}

/// `%XX` as HAProxy's `url_dec` reads it: two hex digits, nothing else (`%+f` fails the
/// conversion, seen on 2.6.12; `u8::from_str_radix` would take the `+` as a sign).
fn hex_pair(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    match hex {
        [h, l] => Some(digit(*h)? * 16 + digit(*l)?),
        _ => None,
    }
}

fn url_dec(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            out.push(hex_pair(input.get(i + 1..i + 3)?)?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

impl<'r> State<'r> {
    /// Calls `f` with each sample of `expr` (several for multi-valued headers, none when it
    /// fails) until it returns true; whether one did. Fetched values are borrowed, converted
    /// ones owned: nothing is collected (this runs for every rule of every request).
    fn any_sample(&self, expr: &Expr, env: &Env, mut f: impl FnMut(Cow<'_, [u8]>) -> bool) -> Tri {
        if let Some(line) = self.blind.filter(|_| expr.fetch.reads_request()) {
            return Tri::Unknown(line);
        }
        if self.unparsable && expr.fetch.reads_request() {
            return Tri::No;
        }
        let mut each = |s: &[u8]| {
            if expr.convs.is_empty() {
                f(Cow::Borrowed(s))
            } else {
                self.convert(s, &expr.convs)
                    .is_some_and(|c| f(Cow::Owned(c)))
            }
        };
        match &expr.fetch {
            Fetch::Path => path_of(self.request.target).is_some_and(|p| each(p.as_bytes())),
            Fetch::Url => each(self.request.target.as_bytes()),
            Fetch::Method => each(self.request.method.as_bytes()),
            Fetch::Hdr(name) => self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .flat_map(|(_, v)| v.split(','))
                .any(|v| each(v.trim().as_bytes())),
            Fetch::Var(id) => match &self.vars[*id] {
                Var::Unset => false,
                Var::Set(v) => each(v),
                Var::Unknown(line) => return Tri::Unknown(*line),
            },
            Fetch::Str(s) => each(s.as_bytes()),
            Fetch::Env(name) => env.get(name).is_some_and(|v| each(v.as_bytes())),
            Fetch::Body => false,
            Fetch::Unknown(line) => return Tri::Unknown(*line),
        }
        .into()
    }

    /// A sample through the converters; None when one fails.
    fn convert(&self, sample: &[u8], convs: &[Conv]) -> Option<Vec<u8>> {
        let mut s: Cow<'_, [u8]> = Cow::Borrowed(sample);
        for conv in convs {
            let converted = match conv {
                Conv::UrlDec => {
                    let d = url_dec(&s)?;
                    if self.dialect.url_dec_rejects_nul && d.contains(&0) {
                        return None;
                    }
                    d
                }
                Conv::Lower => {
                    let mut v = s.into_owned();
                    v.make_ascii_lowercase();
                    v
                }
                Conv::Upper => {
                    let mut v = s.into_owned();
                    v.make_ascii_uppercase();
                    v
                }
                Conv::Regsub {
                    re,
                    replacement,
                    global,
                } => regsub(re, s, replacement.as_bytes(), *global),
            };
            s = Cow::Owned(converted);
        }
        Some(s.into_owned())
    }

    /// The value `set-var` stores: the last sample of `expr` (None: no sample, the variable
    /// stays as it was). Constants and fetched values stay borrowed from the model and the
    /// request.
    fn var_value(&self, expr: &'r Expr, env: &'r Env) -> Option<Var<'r>> {
        if let Some(line) = self.blind.filter(|_| expr.fetch.reads_request()) {
            return Some(Var::Unknown(line));
        }
        if self.unparsable && expr.fetch.reads_request() {
            return None;
        }
        match &expr.fetch {
            Fetch::Unknown(line) => return Some(Var::Unknown(*line)),
            Fetch::Var(id) => match &self.vars[*id] {
                Var::Unset => return None,
                Var::Unknown(line) => return Some(Var::Unknown(*line)),
                Var::Set(_) => {}
            },
            _ => {}
        }
        if expr.convs.is_empty() {
            let borrowed = |s: &'r str| Some(Var::Set(Cow::Borrowed(s.as_bytes())));
            match &expr.fetch {
                Fetch::Path => return path_of(self.request.target).and_then(borrowed),
                Fetch::Url => return borrowed(self.request.target),
                Fetch::Method => return borrowed(self.request.method),
                Fetch::Str(s) => return borrowed(s),
                Fetch::Env(name) => return env.get(name).and_then(|v| borrowed(v)),
                Fetch::Var(id) => return Some(self.vars[*id].clone()),
                Fetch::Body => return None,
                Fetch::Hdr(_) | Fetch::Unknown(_) => {}
            }
        }
        let mut last = None;
        self.any_sample(expr, env, |s| {
            last = Some(Cow::Owned(s.into_owned()));
            false
        });
        last.map(Var::Set)
    }

    fn acl_matches(&self, acl: &Acl, env: &Env) -> Tri {
        self.any_sample(&acl.expr, env, |s| {
            let s: &[u8] = &s;
            match acl.method {
                MatchMethod::Found => true,
                MatchMethod::Bool => as_int(s).is_some_and(|n| n != 0),
                MatchMethod::Reg => acl
                    .lists
                    .iter()
                    .any(|l| l.regexes.iter().any(|re| re.is_match(s))),
                m => acl.lists.iter().any(|l| {
                    let eq = |a: &[u8], b: &[u8]| {
                        if l.icase {
                            a.eq_ignore_ascii_case(b)
                        } else {
                            a == b
                        }
                    };
                    l.patterns.iter().any(|p| {
                        let p: &[u8] = p;
                        match m {
                            // Case-sensitive exact patterns are in HAProxy's string tree,
                            // looked up as a C string: the sample ends at its first NUL (seen
                            // on 2.6.12 and 3.0.11 with `/_ping%00` through `url_dec`).
                            MatchMethod::Str if !l.icase => {
                                s.split(|&b| b == 0).next().unwrap_or_default() == p
                            }
                            MatchMethod::Str => eq(s, p),
                            MatchMethod::Beg => s.len() >= p.len() && eq(&s[..p.len()], p),
                            MatchMethod::End => {
                                s.len() >= p.len() && eq(&s[s.len() - p.len()..], p)
                            }
                            MatchMethod::Sub => {
                                p.is_empty() || s.windows(p.len()).any(|w| eq(w, p))
                            }
                            MatchMethod::Dir | MatchMethod::Dom => {
                                match_word(s, p, delimiters(m), l.icase)
                            }
                            _ => false,
                        }
                    })
                }),
            }
        })
    }

    /// A term; an unknown ACL goes to `resolve` with its identity (its address: the same
    /// ACL is the same predicate within a request) and line.
    fn term(
        &self,
        proxy: &Proxy,
        term: &Term,
        env: &Env,
        resolve: &mut dyn FnMut(usize, usize) -> Tri,
    ) -> Result<Tri, String> {
        let mut acl_truth = |acl: &Acl| match self.acl_matches(acl, env) {
            Tri::Unknown(line) => resolve(acl as *const Acl as usize, line),
            t => t,
        };
        match term {
            Term::Anonymous { acl, negated } => Ok(acl_truth(acl).negate(*negated)),
            Term::Named {
                name,
                negated,
                defined,
            } => {
                let value = match defined {
                    // Any line of the name: true if one is, else unknown if one is.
                    Some(i) => {
                        let mut value = Tri::No;
                        for a in &proxy.acls[*i] {
                            match acl_truth(a) {
                                Tri::Yes => {
                                    value = Tri::Yes;
                                    break;
                                }
                                Tri::Unknown(l) if value == Tri::No => value = Tri::Unknown(l),
                                _ => {}
                            }
                        }
                        value
                    }
                    None if self.unparsable && !matches!(name.as_str(), "TRUE" | "FALSE") => {
                        predefined(name, self.request, None)
                            .ok_or_else(|| format!("the ACL `{name}` is not defined here"))?;
                        Tri::No
                    }
                    None => match predefined(name, self.request, self.blind)
                        .ok_or_else(|| format!("the ACL `{name}` is not defined here"))?
                    {
                        Tri::Unknown(line) => resolve(name.as_ptr() as usize, line),
                        t => t,
                    },
                };
                Ok(value.negate(*negated))
            }
        }
    }

    /// A condition as HAProxy reads it (OR of ANDs, `unless` negates), three-valued: false
    /// wins an AND and true an OR whatever the unknowns are.
    fn condition(
        &self,
        proxy: &Proxy,
        cond: &Option<Arc<Condition>>,
        env: &Env,
        resolve: &mut dyn FnMut(usize, usize) -> Tri,
    ) -> Result<Tri, String> {
        let Some(cond) = cond else {
            return Ok(Tri::Yes);
        };
        let mut any = Tri::No;
        for group in &cond.groups {
            let mut all = Tri::Yes;
            for t in group {
                match self.term(proxy, t, env, resolve)? {
                    Tri::No => {
                        all = Tri::No;
                        break;
                    }
                    Tri::Unknown(l) if all == Tri::Yes => all = Tri::Unknown(l),
                    _ => {}
                }
            }
            match all {
                Tri::Yes => {
                    any = Tri::Yes;
                    break;
                }
                Tri::Unknown(l) if any == Tri::No => any = Tri::Unknown(l),
                _ => {}
            }
        }
        Ok(any.negate(cond.unless))
    }

    /// Whether `cond` holds: when it depends on unknowns, each unknown ACL it reads gets the
    /// answer `choices` gives it (the same for the same ACL all through the request).
    fn holds(
        &self,
        proxy: &Proxy,
        cond: &Option<Arc<Condition>>,
        env: &Env,
        choices: &mut Choices,
    ) -> Result<bool, String> {
        match self.condition(proxy, cond, env, &mut |_, line| Tri::Unknown(line))? {
            Tri::Yes => Ok(true),
            Tri::No => Ok(false),
            Tri::Unknown(_) => {
                let mut resolve = |key, line| Tri::from(choices.answer(key, line));
                Ok(self.condition(proxy, cond, env, &mut resolve)? == Tri::Yes)
            }
        }
    }
}

/// Whether `value` already is its comma-separated tokens without `drop` and empty ones, joined
/// with `, ` and not empty: what [`normalize_headers`] would write in its place.
fn normalized_already(value: &str, drop: &str) -> bool {
    let mut rest = value;
    let mut kept = 0;
    for t in value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case(drop))
    {
        if kept > 0 {
            match rest.strip_prefix(", ") {
                Some(r) => rest = r,
                None => return false,
            }
        }
        match rest.strip_prefix(t) {
            Some(r) => rest = r,
            None => return false,
        }
        kept += 1;
    }
    kept > 0 && rest.is_empty()
}

/// The headers as HAProxy's rules see them; borrowed when that changes nothing.
fn normalize_headers(
    headers: &[(String, String)],
    dialect: Dialect,
) -> Cow<'_, [(String, String)]> {
    if !dialect.strips_h2c_upgrade {
        return Cow::Borrowed(headers);
    }
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
    };
    // Nothing to drop from Upgrade, and Connection kept as it is (an Upgrade header remains)
    // or nothing to drop from it either.
    if named("upgrade").all(|(_, v)| normalized_already(v, "h2c"))
        && (named("upgrade").next().is_some()
            || named("connection").all(|(_, v)| normalized_already(v, "upgrade")))
    {
        return Cow::Borrowed(headers);
    }
    Cow::Owned(h2c_stripped(headers))
}

/// What 3.2 leaves of the headers: `h2c` dropped from Upgrade (and the header when nothing is
/// left), then the `upgrade` token of Connection when no Upgrade header remains.
fn h2c_stripped(headers: &[(String, String)]) -> Vec<(String, String)> {
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

/// A predefined ACL; those on the request are unknown in a `blind` section (see [`State`]).
fn predefined(name: &str, request: &Request, blind: Option<usize>) -> Option<Tri> {
    let m = request.method;
    match (name, blind) {
        ("TRUE", _) => return Some(Tri::Yes),
        ("FALSE", _) => return Some(Tri::No),
        (_, Some(line)) => return predefined(name, request, None).map(|_| Tri::Unknown(line)),
        _ => {}
    }
    Some(Tri::from(match name {
        "METH_GET" => m == "GET" || m == "HEAD",
        "METH_HEAD" => m == "HEAD",
        "METH_POST" => m == "POST",
        "METH_PUT" => m == "PUT",
        "METH_DELETE" => m == "DELETE",
        "METH_OPTIONS" => m == "OPTIONS",
        "METH_CONNECT" => m == "CONNECT",
        "METH_TRACE" => m == "TRACE",
        "HTTP" => true,
        "HTTP_1.0" => false,
        "HTTP_1.1" => true,
        "HTTP_2.0" => false,
        "REQ_CONTENT" => true,
        "HTTP_URL_ABS" => request.target.contains("://"),
        "HTTP_URL_SLASH" => request.target.starts_with('/'),
        _ => return None,
    }))
}

/// An error while evaluating one request (an undefined ACL, a missing backend): the config
/// itself is broken, and HAProxy would refuse to start.
pub type EvalError = String;

/// What happens to a request, as [`Outcome`] with the backend by reference.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Decision<'m> {
    Forwarded {
        backend: &'m Proxy,
        line: Option<usize>,
        /// The frontend of this file the request went through on its way (a server that is
        /// one of its binds).
        via: Option<&'m Proxy>,
    },
    Answered {
        status: u16,
        line: Option<usize>,
    },
    Uncertain {
        line: usize,
    },
}

/// The line a decision names: a rule of the entry, by its index (so entries with the same
/// program share decisions), or any other line.
#[derive(Debug, Clone, Copy)]
enum LineRef {
    Entry(usize),
    Line(usize),
}

/// A decision independent of which entry of its program class was asked.
#[derive(Debug, Clone, Copy)]
struct Traced {
    /// The backend's index in [`Model::proxies`] when forwarded.
    forwarded: Option<usize>,
    status: u16,
    line: Option<LineRef>,
    /// The first frontend of the file the request was forwarded to (see [`Decision`]).
    via: Option<usize>,
    /// The verdict depends on what was noted at this line.
    uncertain: Option<usize>,
}

impl Traced {
    fn answered(status: u16, line: Option<LineRef>) -> Traced {
        Traced {
            forwarded: None,
            status,
            line,
            via: None,
            uncertain: None,
        }
    }

    fn uncertain(line: usize) -> Traced {
        Traced {
            uncertain: Some(line),
            ..Traced::answered(0, None)
        }
    }

    /// The same verdict: forwarded to the same backend, or not forwarded (whatever the
    /// answer: a certain denial keeps the status and line of the first decision, the one with
    /// every unknown false).
    fn same_verdict(&self, other: &Traced) -> bool {
        self.forwarded == other.forwarded
    }
}

/// How many times one request is decided with other answers for its unknowns before its
/// verdict is called uncertain, and how many frontends of the file it may pass through.
const MAX_DECISIONS: usize = 64;
const MAX_HOPS: usize = 8;

/// The decisions of one request list (see [`Model::decide_all`]) for one program class, kept
/// until every entry of the class has asked.
#[derive(Default)]
struct Memo(std::sync::Mutex<HashMap<MemoKey, MemoEntry>>);

/// A program class and a request list.
type MemoKey = (usize, usize);

struct MemoEntry {
    /// The entries of the class that have not asked yet.
    left: usize,
    traced: Arc<[Traced]>,
}

impl Clone for Memo {
    fn clone(&self) -> Memo {
        Memo::default()
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Model {
    /// Evaluates `request` arriving on the frontend (or listen) `entry`.
    pub fn evaluate(&self, entry: &Proxy, request: &Request) -> Result<Outcome, EvalError> {
        Ok(match self.decide(entry, request)? {
            Decision::Forwarded { backend, line, .. } => Outcome::Forwarded {
                backend: backend.name.clone(),
                line,
            },
            Decision::Answered { status, line } => Outcome::Answered { status, line },
            Decision::Uncertain { line } => Outcome::Uncertain { line },
        })
    }

    /// [`Model::evaluate`] without copying the backend's name.
    pub(crate) fn decide<'m>(
        &'m self,
        entry: &Proxy,
        request: &Request,
    ) -> Result<Decision<'m>, EvalError> {
        let traced = self.trace(entry, request, &mut Vec::new())?;
        Ok(self.resolve(entry, traced))
    }

    /// [`Model::decide`] for each of `requests`. Entries compiled to the same program (every
    /// copy of a frontend, whatever its name, bind and lines) get the same decisions but for
    /// the lines, which name the entry's own rules: with `list` (an id of a request list the
    /// caller always passes the same, such as the catalog's routes) they are evaluated once
    /// per program and shared.
    pub(crate) fn decide_all<'m>(
        &'m self,
        entry: &Proxy,
        requests: &[Request],
        list: Option<usize>,
    ) -> Result<Vec<Decision<'m>>, EvalError> {
        // The class of an entry of this model (not a copy, not another model's).
        let class = self
            .proxies
            .get(entry.index)
            .filter(|p| std::ptr::eq(*p, entry))
            .map(|p| p.class)
            .filter(|c| self.class_sizes[*c] > 1);
        let key = match (class, list) {
            (Some(class), Some(list)) => (class, list),
            _ => {
                let mut vars = Vec::new();
                return requests
                    .iter()
                    .map(|r| Ok(self.resolve(entry, self.trace(entry, r, &mut vars)?)))
                    .collect();
            }
        };
        let shared = {
            let mut memo = self.memo.0.lock().unwrap_or_else(|e| e.into_inner());
            match memo.get_mut(&key) {
                Some(e) if e.traced.len() == requests.len() => {
                    let traced = Arc::clone(&e.traced);
                    e.left -= 1;
                    if e.left == 0 {
                        memo.remove(&key);
                    }
                    Some(traced)
                }
                _ => None,
            }
        };
        let traced = match shared {
            Some(t) => t,
            None => {
                let mut vars = Vec::new();
                let traced: Arc<[Traced]> = requests
                    .iter()
                    .map(|r| self.trace(entry, r, &mut vars))
                    .collect::<Result<_, _>>()?;
                let mut memo = self.memo.0.lock().unwrap_or_else(|e| e.into_inner());
                memo.insert(
                    key,
                    MemoEntry {
                        left: self.class_sizes[key.0] - 1,
                        traced: Arc::clone(&traced),
                    },
                );
                traced
            }
        };
        Ok(traced.iter().map(|t| self.resolve(entry, *t)).collect())
    }

    /// A traced decision with the entry's lines and the backend.
    fn resolve<'m>(&'m self, entry: &Proxy, t: Traced) -> Decision<'m> {
        if let Some(line) = t.uncertain {
            return Decision::Uncertain { line };
        }
        let line = t.line.map(|l| match l {
            LineRef::Entry(i) => entry.rules[i].line,
            LineRef::Line(line) => line,
        });
        match t.forwarded {
            Some(b) => Decision::Forwarded {
                backend: &self.proxies[b],
                line,
                via: t.via.map(|v| &self.proxies[v]),
            },
            None => Decision::Answered {
                status: t.status,
                line,
            },
        }
    }

    /// Decides `request`; `vars` is scratch space for the variables, kept between requests.
    /// A request that meets unknowns is decided again with every other answer to them (until
    /// [`MAX_DECISIONS`]): the verdict is certain when all agree.
    fn trace<'r>(
        &'r self,
        entry: &'r Proxy,
        request: &'r Request<'r>,
        vars: &mut Vec<Var<'r>>,
    ) -> Result<Traced, EvalError> {
        let headers = normalize_headers(request.headers, self.dialect);
        let mut choices = Choices::default();
        // Answers still to try, with the line of the unknown whose answer they change.
        // Earliest first: a verdict that differs is blamed on the first unknown that changes it.
        let mut pending: std::collections::VecDeque<(Vec<bool>, usize)> =
            std::collections::VecDeque::new();
        let mut first: Option<Traced> = None;
        let mut flipped: Option<usize> = None;
        // The lines of every unknown met.
        let mut met: Vec<usize> = Vec::new();
        for _ in 0..MAX_DECISIONS {
            vars.clear();
            vars.resize(self.var_names.len(), Var::Unset);
            let mut state = State {
                request,
                headers: headers.clone(),
                dialect: self.dialect,
                vars: std::mem::take(vars),
                allowed_by: None,
                blind: None,
                unparsable: false,
            };
            choices.taken.clear();
            let traced = self.run(entry, &mut state, &mut choices, 0);
            *vars = state.vars;
            let traced = traced?;
            if traced.uncertain.is_some() {
                return Ok(traced);
            }
            for j in choices.oracle.len()..choices.taken.len() {
                let mut answers: Vec<bool> = choices.taken[..j].iter().map(|t| t.2).collect();
                answers.push(true);
                pending.push_back((answers, choices.taken[j].1));
            }
            met.extend(choices.taken.iter().map(|t| t.1));
            match (&first, flipped) {
                (None, _) => first = Some(traced),
                (Some(f), Some(line)) if !f.same_verdict(&traced) => {
                    self.also_uncertain(line, &met);
                    return Ok(Traced::uncertain(line));
                }
                _ => {}
            }
            let Some((answers, line)) = pending.pop_front() else {
                return Ok(first.expect("decided once"));
            };
            choices.oracle = answers;
            flipped = Some(line);
        }
        let line = flipped.unwrap_or(entry.line);
        self.also_uncertain(line, &met);
        Ok(Traced::uncertain(line))
    }

    /// Records that verdicts blamed on the unknown at `line` also met those at `met`.
    fn also_uncertain(&self, line: usize, met: &[usize]) {
        let mut also = self.also.lock().unwrap_or_else(|e| e.into_inner());
        also.entry(line)
            .or_default()
            .extend(met.iter().filter(|l| **l != line));
    }

    /// The lines of the other unknowns met while deciding the requests whose verdict was blamed
    /// on the unknown at `line` (see [`Outcome::Uncertain`]).
    pub fn uncertain_with(&self, line: usize) -> Vec<usize> {
        let also = self.also.lock().unwrap_or_else(|e| e.into_inner());
        also.get(&line)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The rules of `entry`, then of the backend it picks, then of the frontends of the file
    /// its servers are (`depth`: how many were passed).
    fn run<'r>(
        &'r self,
        entry: &'r Proxy,
        state: &mut State<'r>,
        choices: &mut Choices,
        depth: usize,
    ) -> Result<Traced, EvalError> {
        let http = entry.mode == Mode::Http;
        // HAProxy's HTTP parser answers 400 before any rule: CONNECT needs an authority target.
        // A tcp-mode section forwards the bytes as they are.
        let bad_connect =
            state.request.method == "CONNECT" && state.request.target.starts_with('/');
        if http && bad_connect {
            return Ok(Traced::answered(400, None));
        }
        state.blind = (!http && !entry.inspects).then_some(entry.line);
        state.unparsable = !http && bad_connect;
        let own = depth == 0;
        for phase in [
            Phase::Connection,
            Phase::Session,
            Phase::Content,
            Phase::Http,
        ] {
            if phase == Phase::Http && !http {
                // HAProxy ignores http-request rules in a tcp-mode section.
                break;
            }
            if let Some(o) = self.run_rules(entry, phase, state, choices, own)? {
                return Ok(o);
            }
        }
        let chosen = if entry.kind == SectionKind::Listen && !entry.servers.is_empty() {
            Some((entry.name.as_str(), entry.self_target))
        } else {
            let mut chosen = None;
            for ub in &entry.use_backends {
                if state.holds(entry, &ub.cond, &self.env, choices)? {
                    chosen = Some((ub.backend.as_str(), ub.target));
                    break;
                }
            }
            chosen.or_else(|| {
                entry
                    .default_backend
                    .as_ref()
                    .map(|(b, _)| (b.as_str(), entry.default_target))
            })
        };
        let Some((backend_name, target)) = chosen else {
            return Ok(Traced::answered(503, None));
        };
        let is_backend = |p: &(usize, &Proxy)| {
            p.1.name == backend_name
                && matches!(p.1.kind, SectionKind::Backend | SectionKind::Listen)
        };
        // The index resolved at compile time; a search only for an entry of another model.
        let (index, backend) = target
            .and_then(|i| Some((i, self.proxies.get(i)?)))
            .filter(is_backend)
            .or_else(|| self.proxies.iter().enumerate().find(is_backend))
            .ok_or_else(|| format!("the backend `{backend_name}` does not exist"))?;
        if backend.name != entry.name {
            // The backend's content rules wait for the request if it waits; in HTTP mode (also
            // behind a tcp frontend: an implicit upgrade) the request is parsed.
            if backend.mode == Mode::Http || backend.inspects {
                state.blind = None;
            }
            if backend.mode == Mode::Http && !http && bad_connect {
                return Ok(Traced::answered(400, None));
            }
            state.unparsable = !http && backend.mode == Mode::Tcp && bad_connect;
            if let Some(o) = self.run_rules(backend, Phase::Content, state, choices, false)? {
                return Ok(o);
            }
            if backend.mode == Mode::Http {
                if let Some(o) = self.run_rules(backend, Phase::Http, state, choices, false)? {
                    return Ok(o);
                }
            }
        }
        if backend.servers.is_empty() {
            return Ok(Traced::answered(503, None));
        }
        // Each kind of server the backend may pick: the daemon, or a frontend of this file.
        let mut verdict: Option<Traced> = None;
        for (i, hop) in backend.hops.iter().enumerate() {
            if backend.hops[..i].contains(hop) {
                continue;
            }
            let traced = match hop {
                None => Traced {
                    forwarded: Some(index),
                    status: 0,
                    line: state.allowed_by,
                    via: None,
                    uncertain: None,
                },
                Some(_) if depth >= MAX_HOPS => {
                    return Ok(Traced::uncertain(backend.servers[i].1));
                }
                Some(next) => {
                    // A new stream on the next frontend: no variables, no rule has allowed.
                    let mut hop_state = State {
                        request: state.request,
                        headers: state.headers.clone(),
                        dialect: state.dialect,
                        vars: vec![Var::Unset; self.var_names.len()],
                        allowed_by: None,
                        blind: None,
                        unparsable: false,
                    };
                    let mut t =
                        self.run(&self.proxies[*next], &mut hop_state, choices, depth + 1)?;
                    if t.forwarded.is_some() {
                        t.via = Some(*next);
                    }
                    t
                }
            };
            if traced.uncertain.is_some() {
                return Ok(traced);
            }
            match &verdict {
                None => verdict = Some(traced),
                Some(v) if !v.same_verdict(&traced) => return Ok(Traced::uncertain(backend.line)),
                Some(_) => {}
            }
        }
        Ok(verdict.expect("a backend with servers"))
    }

    /// Runs a proxy's rules of `phase`; Some when a rule answered the request (or ran what
    /// the evaluator cannot model). Lines of the entry's rules (`entry`) are kept as the
    /// rule's index.
    fn run_rules<'r>(
        &'r self,
        proxy: &'r Proxy,
        phase: Phase,
        state: &mut State<'r>,
        choices: &mut Choices,
        entry: bool,
    ) -> Result<Option<Traced>, EvalError> {
        for (i, rule) in proxy.rules.iter().enumerate() {
            if rule.phase != phase {
                continue;
            }
            if !state.holds(proxy, &rule.cond, &self.env, choices)? {
                continue;
            }
            let line = if entry {
                LineRef::Entry(i)
            } else {
                LineRef::Line(rule.line)
            };
            match &rule.action {
                Action::Allow => {
                    state.allowed_by = Some(line);
                    return Ok(None);
                }
                Action::Accept => return Ok(None),
                Action::Answer(status) => return Ok(Some(Traced::answered(*status, Some(line)))),
                Action::SetVar(id, expr) => {
                    // A failed expression leaves the variable as it was.
                    if let Some(v) = state.var_value(expr, &self.env) {
                        state.vars[*id] = v;
                    }
                }
                Action::UnsetVar(id) => {
                    state.vars[*id] = Var::Unset;
                }
                Action::Neutral => {}
                Action::Opaque => return Ok(Some(Traced::uncertain(rule.line))),
            }
        }
        Ok(None)
    }

    /// Whether every server `entry` can send a request to is a frontend of this file: its
    /// verdicts are those frontends'.
    pub fn forwards_only_within(&self, entry: &Proxy) -> bool {
        let targets = entry
            .use_backends
            .iter()
            .map(|u| u.target)
            .chain([entry.default_target])
            .chain((entry.kind == SectionKind::Listen).then_some(entry.self_target));
        let mut any = false;
        for t in targets.flatten() {
            let b = &self.proxies[t];
            if b.hops.iter().any(Option::is_none) {
                return false;
            }
            any |= !b.hops.is_empty();
        }
        any
    }

    /// The frontends and listens that can forward to a server.
    pub fn entries(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| p.is_entry())
    }
}

#[cfg(test)]
impl Model {
    /// Whether `a` and `b` share a program class, so their decisions are shared.
    pub(crate) fn same_program(&self, a: &Proxy, b: &Proxy) -> bool {
        a.class == b.class
    }
}

impl Proxy {
    /// Whether the conditions a tcp-mode section evaluates (its tcp-request rules and
    /// `use_backend`) read the request's contents.
    fn reads_request(&self) -> bool {
        let acl_reads = |a: &Acl| a.expr.fetch.reads_request();
        let term_reads = |t: &Term| match t {
            Term::Anonymous { acl, .. } => acl_reads(acl),
            Term::Named {
                defined: Some(i), ..
            } => self.acls[*i].iter().any(|a| acl_reads(a)),
            Term::Named {
                name,
                defined: None,
                ..
            } => !matches!(name.as_str(), "TRUE" | "FALSE"),
        };
        let cond_reads = |c: &Option<Arc<Condition>>| {
            c.as_ref()
                .is_some_and(|c| c.groups.iter().flatten().any(term_reads))
        };
        self.rules
            .iter()
            .filter(|r| r.phase != Phase::Http)
            .any(|r| cond_reads(&r.cond))
            || self.use_backends.iter().any(|u| cond_reads(&u.cond))
    }

    /// A frontend or listen that can forward to a server.
    fn is_entry(&self) -> bool {
        matches!(self.kind, SectionKind::Frontend | SectionKind::Listen)
            && (!self.servers.is_empty()
                || self.default_backend.is_some()
                || !self.use_backends.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::syntax::parse;
    use crate::haproxy::version::Version;

    fn model(text: &str) -> Model {
        let parsed = parse(text, &Env::new(), Version::parse("3.2").unwrap());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        compile(&parsed, Dialect::HAPROXY_3_2)
    }

    fn ask(model: &Model, entry: &str, method: &str, target: &str) -> Outcome {
        let headers = vec![("Host".to_string(), "docker".to_string())];
        let entry = model.proxies.iter().find(|p| p.name == entry).unwrap();
        model
            .evaluate(
                entry,
                &Request {
                    method,
                    target,
                    headers: &headers,
                },
            )
            .unwrap()
    }

    const HEAD: &str = "defaults\n    mode http\n    timeout client 1m\n    timeout server 1m\n    timeout connect 1s\n";

    #[test]
    fn unknowns_make_only_the_verdicts_they_change_uncertain() {
        // Line 8: an ACL file; line 9: the client's address.
        let m = model(&format!(
            "{HEAD}frontend f\n    bind :2375\n    acl listed path -f /etc/haproxy/allowed.lst\n    acl office src 10.0.0.0/8\n    http-request deny unless METH_GET\n    http-request allow if {{ path /_ping }}\n    http-request allow if listed office\n    http-request deny\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        ));
        assert_eq!(m.unevaluable.len(), 2, "{:?}", m.unevaluable);
        // Denied whatever the file and the address: certain.
        assert_eq!(
            ask(&m, "f", "POST", "/containers/create"),
            Outcome::Answered {
                status: 403,
                line: Some(10)
            }
        );
        // Allowed before the unknowns are read: certain.
        assert!(ask(&m, "f", "GET", "/_ping").forwarded());
        // Depends on the file and the address: blamed on the address, whose answer completes
        // the request that passes; the file is among the unknowns it met.
        assert_eq!(
            ask(&m, "f", "GET", "/containers/json"),
            Outcome::Uncertain { line: 9 }
        );
        assert_eq!(m.uncertain_with(9), vec![8]);
    }

    #[test]
    fn an_unknown_acl_is_one_truth_within_a_request() {
        // `x` true denies at the first rule, false at the third: denied either way.
        let m = model(&format!(
            "{HEAD}frontend f\n    bind :2375\n    acl x hdr(x-token),lua.check -m found\n    http-request deny if x\n    http-request allow if !x\n    http-request deny if !x\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        ));
        assert!(matches!(
            ask(&m, "f", "GET", "/_ping"),
            Outcome::Uncertain { .. }
        ));
        let m = model(&format!(
            "{HEAD}frontend f\n    bind :2375\n    acl x hdr(x-token),lua.check -m found\n    http-request deny if x\n    http-request deny if !x\n    http-request allow\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        ));
        assert!(matches!(
            ask(&m, "f", "GET", "/_ping"),
            Outcome::Answered { status: 403, .. }
        ));
    }

    #[test]
    fn opaque_actions_make_what_runs_them_uncertain() {
        let m = model(&format!(
            "{HEAD}frontend f\n    bind :2375\n    http-request deny if {{ method DELETE }}\n    http-request lua.check if {{ path_beg /containers }}\n    http-request allow\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        ));
        assert!(matches!(
            ask(&m, "f", "DELETE", "/containers/x"),
            Outcome::Answered { status: 403, .. }
        ));
        assert_eq!(
            ask(&m, "f", "GET", "/containers/json"),
            Outcome::Uncertain { line: 9 }
        );
        assert!(ask(&m, "f", "GET", "/images/json").forwarded());
    }

    #[test]
    fn tcp_request_phases_run_in_order() {
        let m = model(&format!(
            "{HEAD}frontend f\n    bind :2375\n    http-request allow\n    tcp-request content reject if {{ path_beg /exec }}\n    tcp-request content accept if {{ method GET }}\n    tcp-request content reject if {{ path_end /json }}\n    tcp-request connection accept\n    tcp-request connection reject\n    default_backend d\nbackend d\n    tcp-request content reject if {{ method DELETE }}\n    server s /run/docker.sock\n"
        ));
        assert!(m.unevaluable.is_empty(), "{:?}", m.unevaluable);
        let closed = |o: Outcome| matches!(o, Outcome::Answered { status: 0, .. });
        assert!(closed(ask(&m, "f", "GET", "/exec/x/json")));
        // `accept` ends the content rules: the /json rule is not reached for GET.
        assert!(ask(&m, "f", "GET", "/containers/json").forwarded());
        assert!(closed(ask(&m, "f", "POST", "/containers/json")));
        assert!(ask(&m, "f", "POST", "/containers/create").forwarded());
        // The backend's content rules.
        assert!(closed(ask(&m, "f", "DELETE", "/containers/x")));
    }

    #[test]
    fn a_tcp_frontend_is_judged_through_the_frontends_it_forwards_to() {
        let m = model(
            "defaults\n    timeout client 1m\n    timeout server 1m\n    timeout connect 1s\n\
frontend edge\n    bind :2375\n    tcp-request inspect-delay 5s\n    tcp-request content accept if HTTP\n    http-request deny\n    use_backend to_abns if METH_GET\n    use_backend to_port if { path_beg /v1.41/ }\n    default_backend to_unix\n\
backend to_abns\n    server h abns@rules send-proxy-v2\n\
backend to_port\n    server h localhost:12375\n\
backend to_unix\n    server h unix@/run/rules.sock\n\
frontend rules\n    mode http\n    bind abns@rules accept-proxy\n    bind 0.0.0.0:12375\n    http-request allow if { path /_ping }\n    http-request deny\n    default_backend d\n\
frontend rules_unix\n    mode http\n    bind /run/rules.sock\n    http-request allow if { method POST }\n    http-request deny\n    default_backend d\n\
backend d\n    mode http\n    server s /run/docker.sock\n",
        );
        assert!(m.unevaluable.is_empty(), "{:?}", m.unevaluable);
        let edge = m.proxies.iter().find(|p| p.name == "edge").unwrap();
        assert_eq!(edge.mode, Mode::Tcp);
        assert!(m.forwards_only_within(edge));
        // The http-request rule of the tcp frontend is ignored, as HAProxy ignores it.
        assert_eq!(
            ask(&m, "edge", "GET", "/_ping"),
            Outcome::Forwarded {
                backend: "d".into(),
                line: Some(23)
            }
        );
        assert!(!ask(&m, "edge", "GET", "/containers/json").forwarded());
        assert!(!ask(&m, "edge", "DELETE", "/v1.41/containers/x").forwarded());
        assert!(ask(&m, "edge", "POST", "/containers/create").forwarded());
        // HAProxy's HTTP parser refuses CONNECT with a path; a tcp frontend passes it on, and
        // the HTTP frontend behind refuses it.
        assert!(matches!(
            ask(&m, "edge", "CONNECT", "/x"),
            Outcome::Answered { status: 400, .. }
        ));
    }

    #[test]
    fn a_server_loop_and_a_mixed_backend_are_uncertain() {
        let m = model(&format!(
            "{HEAD}frontend a\n    bind 127.0.0.1:2001\n    default_backend to_b\nbackend to_b\n    server b 127.0.0.1:2002\nfrontend b\n    bind 127.0.0.1:2002\n    default_backend to_a\nbackend to_a\n    server a 127.0.0.1:2001\n\
frontend mixed\n    bind :2375\n    default_backend both\nbackend both\n    server rules 127.0.0.1:2003\n    server daemon /run/docker.sock\n\
frontend deny_all\n    bind 127.0.0.1:2003\n    http-request deny\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        ));
        assert!(ask(&m, "a", "GET", "/_ping").uncertain());
        assert_eq!(
            ask(&m, "mixed", "GET", "/_ping"),
            Outcome::Uncertain { line: 19 }
        );
        assert!(
            m.unevaluable.iter().any(|u| u.line == 19),
            "{:?}",
            m.unevaluable
        );
    }

    #[test]
    fn regsub_replaces_as_the_regex_crate_does() {
        let patterns = ["^/v[0-9.]+/", "[0-9]", "x*", "$", "^", "(a)(b)?"];
        let samples = [
            "",
            "/v1.41/containers/json",
            "/containers/json",
            "ab1a2",
            "xx/xx",
            "/v/",
        ];
        let replacements = ["/", "", "-", "[$1]", "$$", "${1}z"];
        for p in patterns {
            let re = Regex::new(p).unwrap();
            for s in samples {
                for r in replacements {
                    let (s, r) = (s.as_bytes(), r.as_bytes());
                    let expected = re.replace(s, r).into_owned();
                    assert_eq!(regsub(&re, Cow::Borrowed(s), r, false), expected);
                    assert_eq!(regsub(&re, Cow::Owned(s.to_vec()), r, false), expected);
                    let all = re.replace_all(s, r).into_owned();
                    assert_eq!(regsub(&re, Cow::Borrowed(s), r, true), all);
                }
            }
        }
    }

    #[test]
    fn dollar_matches_before_a_final_newline_as_in_pcre() {
        for (pattern, subject, matches) in [
            ("^/_ping$", "/_ping", true),
            ("^/_ping$", "/_ping\n", true),
            ("^/_ping$", "/_ping\n\n", false),
            ("^/_ping$", "/_ping\nx", false),
            ("^/a[$]$", "/a$", true),
            ("^/a\\$", "/a$", true),
            ("^/a\\$", "/a\n", false),
            ("^/a[]$]b$", "/a$b\n", true),
            ("^(x|y$)", "y\n", true),
        ] {
            let re = build_acl_regex(pattern, false).unwrap();
            assert_eq!(
                re.is_match(subject.as_bytes()),
                matches,
                "{pattern} {subject:?}"
            );
        }
    }

    #[test]
    fn hex_pairs_are_two_hex_digits() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let pair = [a, b];
                let expected = (a.is_ascii_hexdigit() && b.is_ascii_hexdigit())
                    .then(|| u8::from_str_radix(std::str::from_utf8(&pair).unwrap(), 16).unwrap());
                assert_eq!(hex_pair(&pair), expected, "{pair:?}");
            }
        }
    }

    #[test]
    fn headers_are_borrowed_only_when_stripping_changes_nothing() {
        let values = [
            "",
            " ",
            ",",
            "tcp",
            "h2c",
            "H2C",
            "tcp, h2c",
            "h2c,tcp",
            "tcp,websocket",
            "tcp, websocket",
            "tcp,  websocket",
            " tcp",
            "tcp ",
            "tcp,",
            "upgrade",
            "Upgrade",
            "keep-alive, Upgrade",
            "keep-alive,upgrade",
            "close",
        ];
        let names = ["Upgrade", "Connection", "Host"];
        let mut cases: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for n1 in names {
            for v1 in values {
                cases.push(vec![(n1.into(), v1.into())]);
                for n2 in names {
                    for v2 in values {
                        cases.push(vec![(n1.into(), v1.into()), (n2.into(), v2.into())]);
                    }
                }
            }
        }
        for headers in &cases {
            let got = normalize_headers(headers, Dialect::HAPROXY_3_2);
            assert_eq!(*got, h2c_stripped(headers), "{headers:?}");
            assert!(matches!(
                normalize_headers(headers, Dialect::HAPROXY_2_6),
                Cow::Borrowed(_)
            ));
        }
        let plain = vec![("Host".to_string(), "docker".to_string())];
        assert!(matches!(
            normalize_headers(&plain, Dialect::HAPROXY_3_2),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn pattern_files_are_read_as_haproxy_reads_them() {
        let text =
            b"# comment\n  /_ping\n\t/version  \n #not a comment\n\n   \n/events\r\n/a\0b\n/last";
        let got = file_patterns(text, false, DEFAULT_BUFSIZE - 1).unwrap();
        let want: Vec<&[u8]> = vec![
            b"/_ping",
            b"/version  ",
            b"#not a comment",
            b"/events",
            b"/a",
            b"/last",
        ];
        assert_eq!(got, want);
        // A map's first column.
        let got = file_patterns(b"  /_ping  ping\n/info\tinfo\n", true, 100).unwrap();
        assert_eq!(got, vec![b"/_ping".to_vec(), b"/info".to_vec()]);
        assert!(file_patterns(b"", false, 10).unwrap().is_empty());
        // Longer than HAProxy's buffer: split there, not modelled.
        let err = file_patterns(b"/short\n/0123456789\n", false, 10).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(file_patterns(b"/012345678\n", false, 10).is_ok());
    }

    #[test]
    fn dir_and_dom_match_whole_words_between_delimiters() {
        let dir = delimiters(MatchMethod::Dir);
        let s = b"/images/png/logo/32x32.png";
        for p in [
            "/images",
            "/images/png",
            "images/png",
            "/png/logo",
            "logo/32x32.png",
            "32x32.png",
            // The manual says `png` does not match; HAProxy 2.6.12 matches it (a whole
            // segment), as its code does.
            "png",
        ] {
            assert!(match_word(s, p.as_bytes(), dir, false), "{p}");
        }
        for p in ["pn", "32x32", "mages"] {
            assert!(!match_word(s, p.as_bytes(), dir, false), "{p}");
        }
        assert!(match_word(b"/a?b", b"b", dir, false));
        let dom = delimiters(MatchMethod::Dom);
        let s = b"http://www1.dc-eu.example.com:80/blah";
        for p in [
            "http",
            "www1",
            ".www1",
            "dc-eu",
            "example",
            "com",
            "80",
            "dc-eu.example",
            "blah",
            ":www1:",
        ] {
            assert!(match_word(s, p.as_bytes(), dom, false), "{p}");
        }
        // The manual lists `dc-eu.example:80` as a match; it is not in the string, and
        // HAProxy 2.6.12 does not match it (checked with `hdr(x-t) -m dom`).
        for p in ["eu", "dc", "WWW1", "dc-eu.example:80"] {
            assert!(!match_word(s, p.as_bytes(), dom, false), "{p}");
        }
        assert!(match_word(s, b"WWW1", dom, true));
    }

    #[test]
    fn acl_files_give_patterns_with_the_flags_in_effect_where_they_are_named() {
        let text = format!(
            "{HEAD}frontend f\n    bind :2375\n    acl ok path -f exact.lst -i -f folded.lst /EXTRA\n    acl bad path_beg -f deny.lst\n    acl api path_reg -f api.lst\n    http-request deny if bad\n    http-request allow if ok || api\n    http-request deny\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        );
        let parsed = parse(&text, &Env::new(), Version::parse("3.2").unwrap());
        let without = compile(&parsed, Dialect::HAPROXY_3_2);
        assert_eq!(without.unevaluable.len(), 3, "{:?}", without.unevaluable);
        assert!(ask(&without, "f", "GET", "/_ping").uncertain());
        let mut files = PatternFiles::default();
        files.insert("exact.lst", Arc::from(&b"/_ping\n"[..]));
        files.insert("folded.lst", Arc::from(&b"/Version\n"[..]));
        files.insert("deny.lst", Arc::from(&b"# refused\n/secrets\n"[..]));
        files.insert("api.lst", Arc::from(&b"^/v[0-9.]+/info$\n"[..]));
        let m = compile_with(&parsed, Dialect::HAPROXY_3_2, &files);
        assert!(m.unevaluable.is_empty(), "{:?}", m.unevaluable);
        assert!(ask(&m, "f", "GET", "/_ping").forwarded());
        // The first file is exact and case-sensitive; -i applies to what follows it.
        assert!(!ask(&m, "f", "GET", "/_PING").forwarded());
        assert!(ask(&m, "f", "GET", "/VERSION").forwarded());
        assert!(ask(&m, "f", "GET", "/extra").forwarded());
        assert!(ask(&m, "f", "GET", "/v1.41/info").forwarded());
        assert!(!ask(&m, "f", "GET", "/info").forwarded());
        assert!(!ask(&m, "f", "GET", "/secrets/x").forwarded());
        // A name lint did not read keeps its reason.
        let mut some = PatternFiles::default();
        some.unread("deny.lst", "not here".into());
        let m = compile_with(&parsed, Dialect::HAPROXY_3_2, &some);
        assert!(m
            .unevaluable
            .iter()
            .any(|u| u.what == "`-f deny.lst` (not here)"));
        // `-m` after `-f` is refused by HAProxy: noted, never guessed.
        let text = format!(
            "{HEAD}frontend f\n    bind :2375\n    acl ok path -f exact.lst -m beg /x\n    http-request allow if ok\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        );
        let parsed = parse(&text, &Env::new(), Version::parse("3.2").unwrap());
        let m = compile_with(&parsed, Dialect::HAPROXY_3_2, &files);
        assert_eq!(m.unevaluable.len(), 1, "{:?}", m.unevaluable);
    }

    #[test]
    fn an_spoe_agent_makes_the_variables_no_rule_sets_unknown() {
        // Line 8: the filter; `txn.iprep.score` comes from the agent, `txn.route` from a rule.
        let text = format!(
            "{HEAD}frontend f\n    bind :2375\n    filter spoe engine iprep config /etc/haproxy/spoe.conf\n    http-request send-spoe-group iprep check\n    http-request set-var(txn.route) str(ok)\n    http-request deny if {{ var(txn.iprep.score) -m str bad }}\n    http-request deny unless {{ var(txn.route) -m str ok }}\n    http-request allow if {{ path /_ping }}\n    http-request deny\n    default_backend d\nbackend d\n    server s /run/docker.sock\n"
        );
        let m = model(&text);
        assert_eq!(m.unevaluable.len(), 1, "{:?}", m.unevaluable);
        let note = &m.unevaluable[0];
        assert_eq!((note.line, note.column), (8, 5));
        assert!(note.what.contains("`txn.iprep.score`"), "{}", note.what);
        assert!(!note.what.contains("txn.route"), "{}", note.what);
        // The agent's answer decides /_ping; nothing passes the final deny anyway.
        assert_eq!(
            ask(&m, "f", "GET", "/_ping"),
            Outcome::Uncertain { line: 8 }
        );
        assert!(!ask(&m, "f", "GET", "/info").forwarded());
        assert!(!ask(&m, "f", "GET", "/info").uncertain());
        // Without the filter the variable is unset: certain.
        let m = model(&text.replace(
            "    filter spoe engine iprep config /etc/haproxy/spoe.conf\n    http-request send-spoe-group iprep check\n",
            "",
        ));
        assert!(m.unevaluable.is_empty(), "{:?}", m.unevaluable);
        assert!(ask(&m, "f", "GET", "/_ping").forwarded());
    }
}
