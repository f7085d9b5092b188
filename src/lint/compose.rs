//! Lint of compose files and `.env` files: socket mounts, the proxy service's user, ports and
//! socket mount, and the proxy's env flags (boolean traps, misspellings, POST, ALLOW_*).
//!
//! A compose file is read as Compose reads it: YAML anchors, aliases and `<<:` merge keys
//! resolved, every string value interpolated (`${VAR:-default}`, ...) from lint's `--env` and
//! `--env-file` values, then the `.env` file beside the compose file, and each service's
//! `env_file:` files read with the one `.env` reader ([`crate::dotenv`]). Only a socket proxy
//! service's environment is judged as flags (other services' variables are the app's, often
//! secrets), with the semantics of the proxy's image family: the known flags of every image are
//! data (`data/flags/known-flags.tsv`, from `docs/research/socket-proxy-flags.md`), and images
//! are mapped to families by `data/flags/proxy-images.tsv`.
//!
//! YAML values carry no positions once parsed, so a block-structure outline of the text
//! ([`outline`]) gives each finding the line of the key or list item it is about: the key inside
//! that service's `environment:` block (or in the anchor it was merged from), the list item of
//! the volume or port, the `env_file:` item a flag came from. Findings name variables and
//! lines; they never print the value of a variable that is not a flag.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

use serde_norway::Value;

use super::{Code, FileKind, FileReport, Finding, LintOptions};
use crate::catalog::Catalog;
use crate::error::{Error, Location, Result};
use crate::flags::{self, FlagValue};
use crate::haproxy::syntax::Env;
use crate::interpolate::{self, InterpolationError};

// ---------------------------------------------------------------------------------------------
// The flag and image tables (data/flags/*.tsv).

const KNOWN_FLAGS_TSV: &str = include_str!("../../data/flags/known-flags.tsv");
const PROXY_IMAGES_TSV: &str = include_str!("../../data/flags/proxy-images.tsv");

/// An image family: the images that read the same flags with the same semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Family {
    Tecnativa,
    Linuxserver,
    Zoeyvid,
    Tprasadtp,
    Padhi,
    Openafc,
    Nextcloud,
    Wollomatic,
    Elevennotes,
    Cetusguard,
    /// The official `haproxy` image (and HAProxy Technologies'): a proxy with a hand-written
    /// config, whose environment means whatever that config reads.
    Haproxy,
    /// sockproxy-gen's own flag names (`render --flag`), known so they are never "misspelt".
    Sockproxy,
    /// A proxy recognised by its name or by its clients, whose image is not in the table.
    Unknown,
}

impl Family {
    fn parse(s: &str) -> Option<Family> {
        Some(match s {
            "tecnativa" => Family::Tecnativa,
            "linuxserver" => Family::Linuxserver,
            "zoeyvid" => Family::Zoeyvid,
            "tprasadtp" => Family::Tprasadtp,
            "padhi" => Family::Padhi,
            "openafc" => Family::Openafc,
            "nextcloud" => Family::Nextcloud,
            "wollomatic" => Family::Wollomatic,
            "11notes" => Family::Elevennotes,
            "cetusguard" => Family::Cetusguard,
            "haproxy" => Family::Haproxy,
            _ => return None,
        })
    }

    /// The image's name in messages: "the Tecnativa image".
    pub(super) fn label(self) -> &'static str {
        match self {
            // An unknown image and a lone .env are read the way most images read them.
            Family::Tecnativa | Family::Unknown => "Tecnativa",
            Family::Linuxserver => "linuxserver",
            Family::Zoeyvid => "ZoeyVid",
            Family::Tprasadtp => "tprasadtp",
            Family::Padhi => "padhi-homelab",
            Family::Openafc => "openafc",
            Family::Nextcloud => "Nextcloud",
            Family::Wollomatic => "wollomatic",
            Family::Elevennotes => "11notes",
            Family::Cetusguard => "CetusGuard",
            Family::Haproxy => "haproxy",
            Family::Sockproxy => "sockproxy-gen",
        }
    }

    /// The image reads Tecnativa-style section flags from its environment.
    fn reads_flags(self) -> bool {
        matches!(
            self,
            Family::Tecnativa
                | Family::Linuxserver
                | Family::Zoeyvid
                | Family::Tprasadtp
                | Family::Padhi
                | Family::Unknown
        )
    }

    /// HAProxy runs inside (the user and group advice is HAProxy's).
    pub(super) fn haproxy(self) -> bool {
        !matches!(
            self,
            Family::Wollomatic | Family::Elevennotes | Family::Cetusguard
        )
    }

    /// `POST=1` opens the method gate for every method (`deny unless METH_GET || env(POST)`).
    fn post_opens_all_methods(self) -> bool {
        matches!(
            self,
            Family::Tecnativa | Family::Linuxserver | Family::Zoeyvid
        )
    }

    /// Container-action flags whose rules sit after the method gate, so they need `POST=1`.
    /// (linuxserver puts them before the gate: they work with POST=0.)
    fn actions_behind_gate(self) -> &'static [&'static str] {
        match self {
            Family::Tecnativa => &["ALLOW_START", "ALLOW_STOP", "ALLOW_RESTARTS"],
            Family::Zoeyvid => &[
                "ALLOW_POWER",
                "ALLOW_RESTART",
                "ALLOW_START",
                "ALLOW_STOP",
                "ALLOW_KILL",
            ],
            Family::Tprasadtp => &["ALLOW_RESTARTS"],
            _ => &[],
        }
    }

    /// The image runs HAProxy as root unless `user:` says otherwise (Tecnativa's and ZoeyVid's
    /// `USER root`, linuxserver's `user root` in global, tprasadtp's pre-2.4 HAProxy base).
    fn root_by_default(self) -> bool {
        matches!(
            self,
            Family::Tecnativa | Family::Linuxserver | Family::Zoeyvid | Family::Tprasadtp
        )
    }

    /// The port the API is served on inside the container.
    fn api_port(self) -> u16 {
        match self {
            Family::Padhi => 1279,
            _ => 2375,
        }
    }

    /// The image binds every interface (`bind :2375`), so `network_mode: host` publishes it:
    /// the known images of the Tecnativa family do; of an unknown one nothing is known.
    fn binds_all_interfaces(self) -> bool {
        self.reads_flags() && self != Family::Unknown
    }

    /// The image this family's image is built `FROM`, whose `ENV` it inherits: the rows of
    /// known-flags.tsv that apply where the family has none of its own. openafc builds its
    /// template on `tecnativa/docker-socket-proxy:v0.4.2`
    /// (open-afc-project/openafc:socket-proxy/Dockerfile@7bf993c); the other images set their
    /// own `ENV` (each row of theirs is in the table).
    pub(super) fn built_from(self) -> Option<Family> {
        match self {
            Family::Openafc => Some(Family::Tecnativa),
            _ => None,
        }
    }
}

/// How an image reads a flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// HAProxy's `env(X) -m bool`: on only for a non-zero integer.
    Bool,
    /// `1`, `true` or `yes`, any case (a shell `case`).
    Words,
    /// Only the exact string `1`.
    One,
    /// A setting with a free value.
    Text,
    /// Read by the image, but not a permission or setting a typo could aim at.
    Other,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "bool" => Kind::Bool,
            "words" => Kind::Words,
            "one" => Kind::One,
            "text" => Kind::Text,
            "other" => Kind::Other,
            _ => return None,
        })
    }

    fn switch(self) -> bool {
        matches!(self, Kind::Bool | Kind::Words | Kind::One)
    }

    /// Whether `value` turns the flag on.
    fn on(self, value: &str) -> bool {
        let v = value.trim();
        match self {
            Kind::Bool => v.parse::<i64>().is_ok_and(|n| n != 0),
            Kind::Words => {
                v.parse::<i64>().is_ok_and(|n| n != 0)
                    || v.eq_ignore_ascii_case("true")
                    || v.eq_ignore_ascii_case("yes")
            }
            Kind::One => v == "1",
            Kind::Text | Kind::Other => false,
        }
    }

    /// A value meant as "on" that the image reads as off (`POST=true` for `-m bool`).
    fn trap(self, value: &str) -> bool {
        let v = value.trim().trim_matches('"').to_ascii_lowercase();
        let meant_on = matches!(v.as_str(), "true" | "yes" | "on");
        meant_on && self.switch() && !self.on(&v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Exact,
    /// `NAME[_N]`: NAME, NAME_2, NAME_3 ...
    Numbered,
    /// `NAME*`: any name starting with NAME.
    Prefix,
}

#[derive(Debug)]
pub(super) struct FlagRow {
    pub(super) family: Family,
    pub(super) name: &'static str,
    /// The image's value when the variable is not set (`unset`: none).
    pub(super) default: &'static str,
    matching: Match,
    pub(super) kind: Kind,
}

impl FlagRow {
    pub(super) fn matches(&self, key: &str) -> bool {
        match self.matching {
            Match::Exact => key == self.name,
            Match::Numbered => {
                key == self.name
                    || key
                        .strip_prefix(self.name)
                        .and_then(|r| r.strip_prefix('_'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }
            Match::Prefix => key.starts_with(self.name),
        }
    }
}

pub(super) struct Tables {
    pub(super) flags: Vec<FlagRow>,
    images: Vec<(&'static str, Family)>,
}

/// The data rows of a TSV file: no comments, no header.
fn tsv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').collect())
}

pub(super) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut flags: Vec<FlagRow> = tsv_rows(KNOWN_FLAGS_TSV)
            .map(|cols| {
                assert_eq!(cols.len(), 6, "known-flags.tsv: 6 columns in {cols:?}");
                let (name, matching) = if let Some(n) = cols[1].strip_suffix("[_N]") {
                    (n, Match::Numbered)
                } else if let Some(n) = cols[1].strip_suffix('*') {
                    (n, Match::Prefix)
                } else {
                    (cols[1], Match::Exact)
                };
                FlagRow {
                    family: Family::parse(cols[0]).expect("known-flags.tsv: a known family"),
                    name,
                    default: cols[2],
                    matching,
                    kind: Kind::parse(cols[3]).expect("known-flags.tsv: a known kind"),
                }
            })
            .collect();
        // sockproxy-gen's own names (`render --flag PUT=1`) are flags too.
        for name in flags::known_names(Catalog::builtin()) {
            if !flags.iter().any(|r| r.name == name) {
                let name: &'static str = Box::leak(name.into_boxed_str());
                flags.push(FlagRow {
                    family: Family::Sockproxy,
                    name,
                    default: "unset",
                    matching: Match::Exact,
                    kind: Kind::Bool,
                });
            }
        }
        let images = tsv_rows(PROXY_IMAGES_TSV)
            .map(|cols| {
                assert_eq!(cols.len(), 3, "proxy-images.tsv: 3 columns in {cols:?}");
                (
                    cols[0],
                    Family::parse(cols[1]).expect("proxy-images.tsv: a known family"),
                )
            })
            .collect();
        Tables { flags, images }
    })
}

impl Tables {
    fn known(&self, key: &str) -> bool {
        self.flags.iter().any(|r| r.matches(key))
    }

    /// An exact flag name that is a switch (what makes a lone `.env` or an unknown image's
    /// environment a flag file).
    fn switch_flag(&self, key: &str) -> bool {
        self.flags
            .iter()
            .any(|r| r.matching == Match::Exact && r.name == key && r.kind.switch())
    }

    fn in_family(&self, family: Family, key: &str) -> bool {
        self.flags
            .iter()
            .any(|r| r.family == family && r.matches(key))
    }

    /// How `family` reads `key`: its own row, else Tecnativa's, else any image's.
    fn kind(&self, family: Family, key: &str) -> Option<Kind> {
        let rows = || self.flags.iter().filter(|r| r.matches(key));
        rows()
            .find(|r| r.family == family)
            .or_else(|| rows().find(|r| r.family == Family::Tecnativa))
            .or_else(|| rows().next())
            .map(|r| r.kind)
    }

    /// The flag `name` is a near miss of, with the rule of [`crate::flags`] (`near_miss`):
    /// Damerau-Levenshtein distance (case aside) up to 1 for flags of up to 6 characters, up to
    /// 2 for longer ones; permission flags only count when the value is a switch
    /// (0/1/true/...), settings with free values whatever the value. A name any image knows is
    /// never a near miss.
    fn near_miss(&self, name: &str, value: &str) -> Option<&FlagRow> {
        if self.known(name) {
            return None;
        }
        let switch_value = crate::flags::switch_like(value);
        self.flags
            .iter()
            .filter(|r| r.matching == Match::Exact)
            .filter(|r| (r.kind.switch() && switch_value) || r.kind == Kind::Text)
            .filter_map(|r| Some((crate::flags::typo_distance(name, r.name)?, r)))
            .min_by_key(|(d, _)| *d)
            .map(|(_, r)| r)
    }

    /// The image a family is published as (its first row in proxy-images.tsv), for messages.
    pub(super) fn image_of(&self, family: Family) -> Option<&'static str> {
        self.images
            .iter()
            .find(|(_, f)| *f == family)
            .map(|(i, _)| *i)
    }

    pub(super) fn image_family(&self, image: &str) -> Option<Family> {
        let repo = image_repository(image);
        self.images
            .iter()
            .find(|(i, _)| *i == repo)
            .map(|(_, f)| *f)
    }
}

/// `docker.io/library/haproxy:3.2@sha256:...` -> `haproxy`: lower case, without the Docker Hub
/// registry, `library/`, the tag and the digest.
fn image_repository(image: &str) -> String {
    let mut s = image.trim().to_ascii_lowercase();
    if let Some(i) = s.find('@') {
        s.truncate(i);
    }
    let name_start = s.rfind('/').map_or(0, |i| i + 1);
    if let Some(i) = s[name_start..].rfind(':') {
        s.truncate(name_start + i);
    }
    for prefix in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    s.strip_prefix("library/").map(str::to_string).unwrap_or(s)
}

/// Words in a service's name, container name or image that say "socket proxy".
const PROXY_WORDS: &[&str] = &[
    "socket-proxy",
    "socket_proxy",
    "socketproxy",
    "sockproxy",
    "dockerproxy",
    "docker-proxy",
    "docker_proxy",
];

// ---------------------------------------------------------------------------------------------
// Where things are written: a block-structure outline of the YAML text.

/// Lines of YAML nodes. serde_norway parses the values; this reads the same text for the line
/// of each key and list item (block mappings and sequences, quoted keys, anchors, aliases and
/// `<<:` merge keys; block scalars, flow collections and multi-line quoted scalars are skipped
/// over as one node). It only has to be right on text that serde_norway accepted.
mod outline {
    use std::collections::HashMap;
    use std::rc::Rc;

    #[derive(Debug, Default)]
    pub enum Node {
        Map(Vec<Entry>),
        Seq(Vec<Item>),
        /// A scalar or a flow collection: no finer positions.
        #[default]
        Leaf,
    }

    #[derive(Debug)]
    pub struct Entry {
        pub key: String,
        pub line: usize,
        pub value: Rc<Node>,
    }

    #[derive(Debug)]
    pub struct Item {
        pub line: usize,
        pub value: Rc<Node>,
    }

    /// One step of a path into the document.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Step {
        Key(String),
        Index(usize),
    }

    /// Deeper nesting is read as one node (the YAML parser refuses far less deep documents).
    const MAX_DEPTH: usize = 200;

    struct Line {
        no: usize,
        indent: usize,
        text: String,
    }

    fn leaf() -> Rc<Node> {
        Rc::new(Node::Leaf)
    }

    pub fn parse(text: &str) -> Rc<Node> {
        let mut p = Parser {
            lines: clean(text),
            pos: 0,
            anchors: HashMap::new(),
            depth: 0,
        };
        p.node(-1)
    }

    /// The line of the node at `path` (the key's line for a key, the dash's for an item),
    /// following merge keys; when the path cannot be followed to its end, the line of the
    /// deepest step found.
    pub fn locate(root: &Node, path: &[Step]) -> Option<usize> {
        let mut node = root;
        let mut line = None;
        for step in path {
            match (step, node) {
                (Step::Key(k), Node::Map(_)) => match find_key(node, k, 0) {
                    Some(e) => {
                        line = Some(e.line);
                        node = &e.value;
                    }
                    None => return line,
                },
                (Step::Index(i), Node::Seq(items)) => match items.get(*i) {
                    Some(it) => {
                        line = Some(it.line);
                        node = &it.value;
                    }
                    None => return line,
                },
                _ => return line,
            }
        }
        line
    }

    /// A key of a mapping, its own first, then the merged mappings' in order (as YAML merges).
    fn find_key<'a>(node: &'a Node, key: &str, depth: usize) -> Option<&'a Entry> {
        let Node::Map(entries) = node else {
            return None;
        };
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(e) = entries.iter().rev().find(|e| e.key == key && e.key != "<<") {
            return Some(e);
        }
        for e in entries.iter().filter(|e| e.key == "<<") {
            let found = match &*e.value {
                Node::Seq(items) => items
                    .iter()
                    .find_map(|it| find_key(&it.value, key, depth + 1)),
                other => find_key(other, key, depth + 1),
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ") || text.starts_with("-\t")
    }

    /// The index of the quote closing the one at the start of `text`.
    fn closing_quote(text: &str) -> Option<usize> {
        let b = text.as_bytes();
        let q = *b.first()?;
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' if q == b'"' => i += 1,
                b'\'' if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
                c if c == q => return Some(i),
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// `key: rest` -> (key, rest); None when the line is not a mapping entry.
    pub(super) fn split_key(text: &str) -> Option<(String, &str)> {
        let (key, after) = if text.starts_with(['"', '\'']) {
            let end = closing_quote(text)?;
            let inner = &text[1..end];
            let key = if text.starts_with('\'') {
                inner.replace("''", "'")
            } else {
                inner.replace("\\\"", "\"").replace("\\\\", "\\")
            };
            (key, text[end + 1..].trim_start())
        } else {
            if text.starts_with(['[', '{', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?'])
                || is_item(text)
            {
                return None;
            }
            let b = text.as_bytes();
            let i = (0..b.len()).find(|&i| {
                b[i] == b':' && matches!(b.get(i + 1), None | Some(b' ') | Some(b'\t'))
            })?;
            (text[..i].trim_end().to_string(), &text[i..])
        };
        let rest = after.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return None;
        }
        Some((key, rest.trim_start()))
    }

    /// `&name rest` / `*name rest` -> (name, rest).
    fn split_token(s: &str) -> (&str, &str) {
        let end = s
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
            .unwrap_or(s.len());
        (&s[..end], &s[end..])
    }

    /// The text without its comment, and the state at the end of the line: inside a quoted
    /// scalar, and how many flow brackets are open.
    fn scan(s: &str, mut quote: Option<u8>, mut flow: usize) -> (&str, Option<u8>, usize) {
        let b = s.as_bytes();
        let mut i = 0;
        // Where a scalar may start: a quote there opens a quoted scalar.
        let mut token_start = quote.is_none();
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(b'\'') => {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        quote = None;
                        token_start = false;
                    }
                }
                Some(_) => {
                    if c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == b'"' {
                        quote = None;
                        token_start = false;
                    }
                }
                None => match c {
                    b'#' if i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t' => {
                        return (&s[..i], None, flow)
                    }
                    b'\'' | b'"' if token_start => quote = Some(c),
                    b'[' | b'{' if token_start || flow > 0 => {
                        flow += 1;
                        token_start = true;
                    }
                    b']' | b'}' if flow > 0 => {
                        flow -= 1;
                        token_start = false;
                    }
                    b',' if flow > 0 => token_start = true,
                    b' ' | b'\t' => {}
                    b':' => {
                        token_start =
                            flow > 0 || matches!(b.get(i + 1), None | Some(b' ') | Some(b'\t'));
                    }
                    b'-' | b'?' if token_start && matches!(b.get(i + 1), None | Some(b' ')) => {}
                    b'&' | b'!' | b'*' if token_start => {
                        let (name, _) = split_token(&s[i..]);
                        i += name.len().max(1);
                        continue;
                    }
                    _ => token_start = false,
                },
            }
            i += 1;
        }
        (s, quote, flow)
    }

    /// For a line whose value is a block scalar (`key: |`, `- >-`): the column its content lines
    /// are more indented than.
    fn block_scalar_owner(content: &str, indent: usize) -> Option<usize> {
        let last = content.rsplit([' ', '\t']).next()?;
        let header = last.starts_with(['|', '>'])
            && last[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '+' || c == '-');
        if !header {
            return None;
        }
        let before = content[..content.len() - last.len()].trim_end();
        let prev = before.rsplit([' ', '\t']).next().unwrap_or("");
        let ok = before.is_empty()
            || before.ends_with(':')
            || prev == "-"
            || prev.starts_with('&')
            || prev.starts_with('!');
        if !ok {
            return None;
        }
        // Past the dashes of the items that start on this line.
        let mut col = indent;
        let mut rest = content;
        let mut last_dash = None;
        while is_item(rest) {
            last_dash = Some(col);
            let r = rest[1..].trim_start();
            col += rest.len() - r.len();
            rest = r;
        }
        if split_key(rest).is_some() {
            Some(col)
        } else {
            Some(last_dash.unwrap_or(indent))
        }
    }

    /// The lines that hold structure: no blank or comment lines, no comments, no document
    /// markers, no content of block scalars, multi-line quoted scalars or flow collections.
    fn clean(text: &str) -> Vec<Line> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut out = Vec::new();
        let mut block: Option<usize> = None;
        let mut quote = None;
        let mut flow = 0;
        for (i, raw) in text.lines().enumerate() {
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let body = &raw[indent..];
            if let Some(limit) = block {
                if body.trim().is_empty() || indent > limit {
                    continue;
                }
                block = None;
            }
            if quote.is_some() || flow > 0 {
                let (_, q, f) = scan(body, quote, flow);
                (quote, flow) = (q, f);
                continue;
            }
            let (content, q, f) = scan(body, None, 0);
            (quote, flow) = (q, f);
            let content = content.trim_end();
            if content.is_empty() {
                continue;
            }
            if indent == 0 && (content == "---" || content.starts_with("--- ") || content == "...")
            {
                continue;
            }
            if quote.is_none() && flow == 0 {
                block = block_scalar_owner(content, indent);
            }
            out.push(Line {
                no: i + 1,
                indent,
                text: content.to_string(),
            });
        }
        out
    }

    struct Parser {
        lines: Vec<Line>,
        pos: usize,
        anchors: HashMap<String, Rc<Node>>,
        depth: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<&Line> {
            self.lines.get(self.pos)
        }

        fn skip_deeper(&mut self, indent: isize) {
            while self.peek().is_some_and(|l| l.indent as isize > indent) {
                self.pos += 1;
            }
        }

        /// The node that starts at the current line, more indented than `parent`.
        fn node(&mut self, parent: isize) -> Rc<Node> {
            let Some(line) = self.peek() else {
                return leaf();
            };
            if line.indent as isize <= parent {
                return leaf();
            }
            let indent = line.indent;
            if self.depth > MAX_DEPTH {
                self.skip_deeper(parent);
                return leaf();
            }
            let (item, key) = (is_item(&line.text), split_key(&line.text).is_some());
            self.depth += 1;
            let node = if item {
                self.seq(indent)
            } else if key {
                self.map(indent)
            } else {
                // A scalar, maybe over several lines.
                self.pos += 1;
                self.skip_deeper(parent);
                leaf()
            };
            self.depth -= 1;
            node
        }

        fn map(&mut self, indent: usize) -> Rc<Node> {
            let mut entries = Vec::new();
            while let Some(line) = self.peek() {
                if line.indent != indent || is_item(&line.text) {
                    break;
                }
                let no = line.no;
                let text = line.text.clone();
                self.pos += 1;
                match split_key(&text) {
                    Some((key, rest)) => {
                        let value = self.value(rest, indent, true, no);
                        entries.push(Entry {
                            key,
                            line: no,
                            value,
                        });
                    }
                    None => self.skip_deeper(indent as isize),
                }
            }
            Rc::new(Node::Map(entries))
        }

        fn seq(&mut self, indent: usize) -> Rc<Node> {
            let mut items = Vec::new();
            while let Some(line) = self.peek() {
                if line.indent != indent || !is_item(&line.text) {
                    break;
                }
                let no = line.no;
                let text = line.text.clone();
                let rest = text[1..].trim_start();
                let col = indent + (text.len() - rest.len());
                let inline_node = !rest.is_empty()
                    && !rest.starts_with(['&', '*', '!'])
                    && (is_item(rest) || split_key(rest).is_some());
                let value = if inline_node {
                    // A mapping or sequence that starts on the dash's line: read it as if it
                    // began on a line of its own, at its column.
                    self.lines[self.pos] = Line {
                        no,
                        indent: col,
                        text: rest.to_string(),
                    };
                    self.node(indent as isize)
                } else {
                    self.pos += 1;
                    self.value(rest, indent, false, no)
                };
                items.push(Item { line: no, value });
            }
            Rc::new(Node::Seq(items))
        }

        /// The value after `key:` or `-` on line `no` (at `indent`).
        fn value(&mut self, rest: &str, indent: usize, in_map: bool, no: usize) -> Rc<Node> {
            let mut rest = rest.trim();
            let mut anchor = None;
            loop {
                if let Some(r) = rest.strip_prefix('&') {
                    let (name, r) = split_token(r);
                    anchor = Some(name.to_string());
                    rest = r.trim_start();
                } else if rest.starts_with('!') {
                    rest = split_token(rest).1.trim_start();
                } else {
                    break;
                }
            }
            let node = if rest.is_empty() {
                match self.peek() {
                    Some(l) if l.indent > indent => self.node(indent as isize),
                    // An indentless sequence: `key:` then `- item` at the key's column.
                    Some(l) if in_map && l.indent == indent && is_item(&l.text) => self.seq(indent),
                    _ => leaf(),
                }
            } else if let Some(name) = rest.strip_prefix('*') {
                self.skip_deeper(indent as isize);
                self.anchors
                    .get(split_token(name).0)
                    .cloned()
                    .unwrap_or_else(leaf)
            } else if let Some(inner) = rest.strip_prefix('[') {
                self.skip_deeper(indent as isize);
                // Only a list of aliases (`<<: [*a, *b]`) has lines worth keeping.
                let names: Vec<&str> = inner
                    .trim_end_matches(']')
                    .split(',')
                    .map(str::trim)
                    .collect();
                if names.iter().all(|n| n.starts_with('*')) {
                    Rc::new(Node::Seq(
                        names
                            .iter()
                            .map(|n| Item {
                                line: no,
                                value: self.anchors.get(&n[1..]).cloned().unwrap_or_else(leaf),
                            })
                            .collect(),
                    ))
                } else {
                    leaf()
                }
            } else {
                self.skip_deeper(indent as isize);
                leaf()
            };
            if let Some(a) = anchor {
                self.anchors.insert(a, node.clone());
            }
            node
        }
    }
}

use outline::Step;

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

// ---------------------------------------------------------------------------------------------
// Where a value comes from.

/// Where a variable used in interpolation is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableOrigin {
    /// Given to lint (`--env`, `--env-file`).
    Lint,
    /// A `.env` file, at its line.
    File { file: PathBuf, line: usize },
    /// Not set: Compose reads it as empty, or uses the reference's default.
    Unset,
}

/// A variable a value was interpolated from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub origin: VariableOrigin,
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            VariableOrigin::Lint => write!(f, "{} from lint's --env/--env-file", self.name),
            VariableOrigin::File { file, line } => {
                write!(f, "{} from {}:{line}", self.name, file.display())
            }
            VariableOrigin::Unset => write!(f, "{} not set", self.name),
        }
    }
}

/// Where a value of a service's environment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSource {
    /// The file and line of the assignment: the compose file (its `environment:` entry) or an
    /// `env_file:`.
    pub file: PathBuf,
    pub line: usize,
    pub env_file: bool,
    /// The variables the value was interpolated from (for a pass-through `- KEY` item, the
    /// variable it takes), each with where it is set.
    pub variables: Vec<Variable>,
}

impl fmt::Display for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if self.env_file {
            write!(f, " (env_file)")?;
        }
        if !self.variables.is_empty() {
            let vars: Vec<String> = self.variables.iter().map(|v| v.to_string()).collect();
            write!(f, ", with {}", vars.join(", "))?;
        }
        Ok(())
    }
}

/// The variables interpolation reads: lint's values first (as Compose reads the shell's
/// environment first), then the `.env` beside the compose file.
struct Vars<'a> {
    lint: &'a Env,
    /// The `.env` file, and its values with their lines.
    dotenv: Option<(PathBuf, DotenvValues)>,
}

type DotenvValues = HashMap<String, (String, usize)>;

/// An interpolated string, and the variables it read.
struct Interp {
    value: String,
    variables: Vec<Variable>,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.lint.get(name).cloned().or_else(|| {
            let (_, values) = self.dotenv.as_ref()?;
            values.get(name).map(|(v, _)| v.clone())
        })
    }

    fn origin(&self, name: &str) -> VariableOrigin {
        if self.lint.contains_key(name) {
            return VariableOrigin::Lint;
        }
        match &self.dotenv {
            Some((file, values)) if values.contains_key(name) => VariableOrigin::File {
                file: file.clone(),
                line: values[name].1,
            },
            _ => VariableOrigin::Unset,
        }
    }

    fn interpolate(&self, raw: &str) -> std::result::Result<Interp, InterpolationError> {
        if !raw.contains('$') {
            return Ok(Interp {
                value: raw.to_string(),
                variables: Vec::new(),
            });
        }
        let used: RefCell<Vec<String>> = RefCell::new(Vec::new());
        let lookup = |k: &str| {
            let mut u = used.borrow_mut();
            if !u.iter().any(|n| n == k) {
                u.push(k.to_string());
            }
            self.get(k)
        };
        let out = interpolate::interpolate(raw, &lookup)?;
        let variables = used
            .into_inner()
            .into_iter()
            .map(|name| Variable {
                origin: self.origin(&name),
                name,
            })
            .collect();
        Ok(Interp {
            value: out.value,
            variables,
        })
    }

    /// Interpolated, or as written when it cannot be (that is reported once, on its own).
    fn lenient(&self, raw: &str) -> Interp {
        self.interpolate(raw).unwrap_or_else(|_| Interp {
            value: raw.to_string(),
            variables: Vec::new(),
        })
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

/// `dir` joined with a relative path as written (`./x.env`), without `.` components.
fn join_relative(dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut out = dir.to_path_buf();
    for c in p.components() {
        if c != Component::CurDir {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A compose file as Compose reads it.

/// The YAML of a compose file; a syntax error names the file, line and column.
fn parse_yaml(path: &Path, text: &str) -> Result<Value> {
    let malformed = |line: usize, column: Option<usize>, message: String| Error::Malformed {
        location: Location {
            file: path.to_path_buf(),
            line,
            column,
        },
        message,
    };
    let mut doc: Value = serde_norway::from_str(text).map_err(|e| {
        malformed(
            e.location().map_or(1, |l| l.line()),
            e.location().map(|l| l.column()),
            format!("not valid YAML: {e}"),
        )
    })?;
    doc.apply_merge().map_err(|e| {
        malformed(
            1,
            None,
            format!("a `<<:` merge key Compose cannot apply: {e}"),
        )
    })?;
    Ok(doc)
}

struct Compose<'a> {
    path: &'a Path,
    dir: PathBuf,
    doc: Value,
    outline: Rc<outline::Node>,
    vars: Vars<'a>,
    /// What makes `docker compose` refuse the file (SPG511).
    problems: Vec<Finding>,
}

/// One service, with what lint needs of it.
struct Service<'v> {
    name: String,
    value: &'v Value,
    line: usize,
    image: String,
    /// Some: a socket proxy of this family.
    family: Option<Family>,
    mounts: Vec<Mount>,
}

struct Mount {
    /// The item's index in the service's `volumes:` list.
    index: usize,
    display: String,
    source: String,
    /// The path in the container.
    target: String,
    /// The source comes from a variable that is set (in .env or lint's environment), not
    /// written in the file or a default.
    from_set_variable: bool,
    read_only: bool,
    line: usize,
    note: Option<String>,
    bind: bool,
}

impl Mount {
    /// A bind mount of the Docker (or Podman) API socket.
    fn socket(&self) -> bool {
        self.bind
            && Path::new(&self.source)
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "docker.sock" || n == "podman.sock")
    }
}

struct Port {
    display: String,
    host_ip: Option<String>,
    /// The container ports (a range, or one).
    targets: (u32, u32),
    line: usize,
    note: Option<String>,
}

/// One variable of a service's effective environment.
struct EnvEntry {
    key: String,
    /// None: a pass-through (`- KEY`, `KEY:`) whose variable is not set, so not in the container.
    value: Option<String>,
    /// The line in the compose file the finding goes on: the `environment:` entry, or the
    /// `env_file:` item the value was read from.
    line: usize,
    source: EnvSource,
    /// The entry as written, when the value was interpolated (`POST=${POST:-0}`).
    written: Option<String>,
}

impl EnvEntry {
    /// Where the value came from, for a message; None when it is written as is on the line.
    fn describe(&self) -> Option<String> {
        if self.source.env_file {
            return Some(format!(
                "from {}:{}",
                self.source.file.display(),
                self.source.line
            ));
        }
        if self.source.variables.is_empty() {
            return None;
        }
        let vars: Vec<String> = self
            .source
            .variables
            .iter()
            .map(|v| v.to_string())
            .collect();
        Some(match &self.written {
            Some(w) => format!("from `{w}`, with {}", vars.join(", ")),
            None => format!("passed through: {}", vars.join(", ")),
        })
    }
}

fn set_variable(variables: &[Variable]) -> bool {
    variables.iter().any(|v| v.origin != VariableOrigin::Unset)
}

fn suffix(note: Option<String>) -> String {
    note.map(|n| format!(" ({n})")).unwrap_or_default()
}

/// "HOST_IP from .env:19", for a value built from variables.
fn vars_note(variables: &[Variable]) -> Option<String> {
    (!variables.is_empty()).then(|| {
        variables
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

impl<'a> Compose<'a> {
    fn load(path: &'a Path, text: &str, lint_env: &'a Env) -> Result<Compose<'a>> {
        let doc = parse_yaml(path, text)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut problems = Vec::new();
        // The .env beside the compose file, read as Compose reads it.
        let dotenv_path = dir.join(".env");
        let mut dotenv = None;
        if dotenv_path.is_file() && dotenv_path != path {
            let read = crate::input::read_text(&dotenv_path, "the .env file", "").and_then(|t| {
                crate::dotenv::parse_lenient(&t, &dotenv_path, &|k| lint_env.get(k).cloned())
            });
            match read {
                Ok(env) => {
                    for e in &env.errors {
                        problems.push(Finding::new(
                            Code::UnresolvableCompose,
                            path,
                            1,
                            format!("the .env beside this file: {e}; `docker compose` refuses the project"),
                        ));
                    }
                    let values = env
                        .effective()
                        .map(|e| (e.key.clone(), (e.value.clone(), e.line)))
                        .collect();
                    dotenv = Some((dotenv_path, values));
                }
                Err(e) => problems.push(Finding::new(
                    Code::UnresolvableCompose,
                    path,
                    1,
                    format!("the .env beside this file cannot be read: {e}; `docker compose` refuses the project"),
                )),
            }
        }
        let mut compose = Compose {
            path,
            dir,
            doc,
            outline: outline::parse(text),
            vars: Vars {
                lint: lint_env,
                dotenv,
            },
            problems,
        };
        let mut found = Vec::new();
        let mut at = Vec::new();
        compose.interpolation_problems(&compose.doc, &mut at, &mut found);
        compose.problems.extend(found);
        Ok(compose)
    }

    fn line(&self, path: &[Step]) -> Option<usize> {
        outline::locate(&self.outline, path)
    }

    /// The line of `services.<s>.<below...>`, or the service's own line.
    fn service_line(&self, s: &Service, below: &[Step]) -> usize {
        let path = [&[key("services"), key(&s.name)][..], below].concat();
        self.line(&path).unwrap_or(s.line)
    }

    /// Every string value of the document that Compose cannot interpolate.
    fn interpolation_problems(&self, v: &Value, at: &mut Vec<Step>, out: &mut Vec<Finding>) {
        match v {
            Value::String(s) => {
                if let Err(e) = self.vars.interpolate(s) {
                    let message = match &e {
                        InterpolationError::MissingRequired { name, .. } => format!(
                            "{e}; `docker compose` refuses the file until {name} is set (in the .env beside it or the environment; give it to lint with --env {name}=VALUE)"
                        ),
                        InterpolationError::Invalid { .. } => {
                            format!("{e}; `docker compose` refuses the file")
                        }
                    };
                    let line = self.line(at).unwrap_or(1);
                    out.push(Finding::new(
                        Code::UnresolvableCompose,
                        self.path,
                        line,
                        message,
                    ));
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    self.interpolation_problems(item, at, out);
                    at.pop();
                }
            }
            Value::Mapping(m) => {
                for (k, item) in m {
                    at.push(Step::Key(scalar(k).unwrap_or_default()));
                    self.interpolation_problems(item, at, out);
                    at.pop();
                }
            }
            Value::Tagged(t) => self.interpolation_problems(&t.value, at, out),
            _ => {}
        }
    }

    /// The string at `path` of `service`, interpolated, with its line.
    fn string(&self, service: &Service, path: &[&str]) -> Option<(Interp, usize)> {
        let mut v = service.value;
        for k in path {
            v = v.get(*k)?;
        }
        let raw = scalar(v)?;
        let interp = if matches!(v, Value::String(_)) {
            self.vars.lenient(&raw)
        } else {
            Interp {
                value: raw,
                variables: Vec::new(),
            }
        };
        let steps: Vec<Step> = path.iter().map(|k| key(k)).collect();
        let line = self.service_line(service, &steps);
        Some((interp, line))
    }

    fn services(&self) -> Vec<Service<'_>> {
        let Some(map) = self.doc.get("services").and_then(Value::as_mapping) else {
            return Vec::new();
        };
        let mut services: Vec<Service> = map
            .iter()
            .filter_map(|(name, value)| {
                let name = scalar(name)?;
                let line = self.line(&[key("services"), key(&name)]).unwrap_or(1);
                Some(Service {
                    name,
                    value,
                    line,
                    image: String::new(),
                    family: None,
                    mounts: Vec::new(),
                })
            })
            .collect();
        for s in &mut services {
            s.image = self
                .string(s, &["image"])
                .map(|(v, _)| v.value)
                .unwrap_or_default();
            s.mounts = self.mounts(s);
        }
        // Who the other services reach at tcp://NAME:PORT (DOCKER_HOST, --host, endpoint=...).
        let mut reached: HashMap<String, u16> = HashMap::new();
        for s in &services {
            for text in self.client_strings(s) {
                for (host, port) in tcp_targets(&text) {
                    if host != s.name {
                        reached.entry(host).or_insert(port);
                    }
                }
            }
        }
        let tables = tables();
        for s in &mut services {
            let container_name = s
                .value
                .get("container_name")
                .and_then(scalar)
                .map(|c| self.vars.lenient(&c).value)
                .unwrap_or_default();
            let mounts_socket = s.mounts.iter().any(Mount::socket);
            let named = |n: &str| {
                let n = n.to_ascii_lowercase();
                PROXY_WORDS.iter().any(|w| n.contains(w))
            };
            s.family = match tables.image_family(&s.image) {
                Some(Family::Haproxy) => mounts_socket.then_some(Family::Haproxy),
                Some(f) => Some(f),
                None if named(&s.name)
                    || named(&container_name)
                    || named(&image_repository(&s.image)) =>
                {
                    Some(Family::Unknown)
                }
                None if mounts_socket
                    && (reached.contains_key(&s.name) || reached.contains_key(&container_name)) =>
                {
                    Some(Family::Unknown)
                }
                None => None,
            };
        }
        services
    }

    /// The strings a client names its Docker host in: environment values, command, entrypoint.
    fn client_strings(&self, s: &Service) -> Vec<String> {
        self.client_strings_raw(s)
            .into_iter()
            .map(|(_, value)| value)
            .collect()
    }

    /// [`Self::client_strings`], each as written and interpolated.
    fn client_strings_raw(&self, s: &Service) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |v: &Value| match v {
            Value::Sequence(items) => out.extend(items.iter().filter_map(scalar)),
            Value::Mapping(m) => out.extend(m.values().filter_map(scalar)),
            other => out.extend(scalar(other)),
        };
        for k in ["environment", "command", "entrypoint"] {
            if let Some(v) = s.value.get(k) {
                push(v);
            }
        }
        out.into_iter()
            .map(|t| {
                let value = self.vars.lenient(&t).value;
                (t, value)
            })
            .collect()
    }

    fn mounts(&self, s: &Service) -> Vec<Mount> {
        let Some(Value::Sequence(items)) = s.value.get("volumes") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let line = self.service_line(s, &[key("volumes"), Step::Index(i)]);
            match item {
                Value::String(raw) => {
                    let v = self.vars.lenient(raw);
                    let parts: Vec<&str> = v.value.split(':').collect();
                    let (source, options) = match parts.len() {
                        0 | 1 => (String::new(), String::new()),
                        2 => (parts[0].to_string(), String::new()),
                        _ => (parts[0].to_string(), parts[2..].join(":")),
                    };
                    let target = match parts.len() {
                        0 => String::new(),
                        1 => parts[0].to_string(),
                        _ => parts[1].to_string(),
                    };
                    out.push(Mount {
                        from_set_variable: set_variable(&v.variables),
                        target,
                        index: i,
                        bind: source.starts_with(['/', '.', '~']),
                        read_only: options.split(',').any(|o| o == "ro" || o == "readonly"),
                        display: v.value.clone(),
                        source,
                        line,
                        note: vars_note(&v.variables),
                    });
                }
                Value::Mapping(m) => {
                    let get = |k: &str| m.get(k).and_then(scalar);
                    let source = get("source").map(|s| self.vars.lenient(&s));
                    let target = get("target").map(|t| self.vars.lenient(&t).value);
                    let kind = get("type").unwrap_or_default();
                    let read_only = get("read_only").is_some_and(|r| r == "true");
                    let Some(source) = source else { continue };
                    out.push(Mount {
                        from_set_variable: set_variable(&source.variables),
                        target: target.clone().unwrap_or_default(),
                        index: i,
                        bind: kind == "bind"
                            || (kind.is_empty() && source.value.starts_with(['/', '.', '~'])),
                        read_only,
                        display: format!(
                            "{}:{}{}",
                            source.value,
                            target.unwrap_or_default(),
                            if read_only { ":ro" } else { "" }
                        ),
                        source: source.value,
                        line,
                        note: vars_note(&source.variables),
                    });
                }
                _ => {}
            }
        }
        out
    }

    fn ports(&self, s: &Service) -> Vec<Port> {
        let Some(Value::Sequence(items)) = s.value.get("ports") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let line = self.service_line(s, &[key("ports"), Step::Index(i)]);
            let port = match item {
                Value::Mapping(m) => {
                    let get = |k: &str| m.get(k).and_then(scalar).map(|v| self.vars.lenient(&v));
                    let (Some(target), published, host_ip) =
                        (get("target"), get("published"), get("host_ip"))
                    else {
                        continue;
                    };
                    let Some(targets) = port_range(&target.value) else {
                        continue;
                    };
                    let mut variables = target.variables.clone();
                    let mut display = String::new();
                    if let Some(ip) = &host_ip {
                        display.push_str(&ip.value);
                        display.push(':');
                        variables.extend(ip.variables.iter().cloned());
                    }
                    if let Some(p) = &published {
                        display.push_str(&p.value);
                        variables.extend(p.variables.iter().cloned());
                    }
                    display.push(':');
                    display.push_str(&target.value);
                    Port {
                        display,
                        host_ip: host_ip.map(|h| h.value).filter(|h| !h.is_empty()),
                        targets,
                        line,
                        note: vars_note(&variables),
                    }
                }
                other => {
                    let Some(raw) = scalar(other) else { continue };
                    let v = if matches!(other, Value::String(_)) {
                        self.vars.lenient(&raw)
                    } else {
                        Interp {
                            value: raw,
                            variables: Vec::new(),
                        }
                    };
                    let Some((host_ip, targets)) = short_port(&v.value) else {
                        continue;
                    };
                    Port {
                        display: v.value.clone(),
                        host_ip,
                        targets,
                        line,
                        note: vars_note(&v.variables),
                    }
                }
            };
            out.push(port);
        }
        out
    }

    /// The service's `env_file:` files (a string, a list of strings, or a list of
    /// `{path, required}`), resolved against the compose file's directory: (file, required,
    /// the line of the item).
    fn env_files(&self, s: &Service) -> Vec<(PathBuf, bool, usize)> {
        let mut files: Vec<(String, bool, Vec<Step>)> = Vec::new();
        let at = |extra: &[Step]| {
            [&[key("services"), key(&s.name), key("env_file")][..], extra].concat()
        };
        match s.value.get("env_file") {
            Some(Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Mapping(m) => {
                            if let Some(p) = m.get("path").and_then(scalar) {
                                let required = m
                                    .get("required")
                                    .and_then(scalar)
                                    .is_none_or(|r| r != "false");
                                files.push((p, required, at(&[Step::Index(i)])));
                            }
                        }
                        other => {
                            if let Some(p) = scalar(other) {
                                files.push((p, true, at(&[Step::Index(i)])));
                            }
                        }
                    }
                }
            }
            Some(other) => {
                if let Some(p) = scalar(other) {
                    files.push((p, true, at(&[])));
                }
            }
            None => {}
        }
        files
            .into_iter()
            .map(|(raw, required, steps)| {
                let line = self.line(&steps).unwrap_or(s.line);
                let file = join_relative(&self.dir, &self.vars.lenient(&raw).value);
                (file, required, line)
            })
            .collect()
    }

    /// The service's effective environment, as the container gets it: the `env_file:` files in
    /// order, then `environment:` (which wins), each value interpolated. Files that cannot be
    /// read are `problems`.
    fn environment(&self, s: &Service, problems: &mut Vec<Finding>) -> Vec<EnvEntry> {
        let mut out: Vec<EnvEntry> = Vec::new();
        let upsert = |out: &mut Vec<EnvEntry>, e: EnvEntry| {
            out.retain(|o| o.key != e.key);
            out.push(e);
        };
        let base = [key("services"), key(&s.name)];
        for (file, required, line) in self.env_files(s) {
            let text = match crate::input::read_text(&file, "the env_file", "") {
                Ok(t) => t,
                Err(_) if !required => continue,
                Err(e) => {
                    problems.push(Finding::new(
                        Code::UnresolvableCompose,
                        self.path,
                        line,
                        format!(
                            "service `{}`: env_file: {e}; `docker compose` refuses the file",
                            s.name
                        ),
                    ));
                    continue;
                }
            };
            let env = match crate::dotenv::parse_lenient(&text, &file, &|k| self.vars.get(k)) {
                Ok(env) => env,
                Err(e) => {
                    problems.push(Finding::new(
                        Code::UnresolvableCompose,
                        self.path,
                        line,
                        format!(
                            "service `{}`: env_file {e}; `docker compose` refuses the file",
                            s.name
                        ),
                    ));
                    continue;
                }
            };
            for e in &env.errors {
                problems.push(Finding::new(
                    Code::UnresolvableCompose,
                    self.path,
                    line,
                    format!(
                        "service `{}`: env_file {e}; `docker compose` refuses the file",
                        s.name
                    ),
                ));
            }
            for e in env.effective() {
                upsert(
                    &mut out,
                    EnvEntry {
                        key: e.key.clone(),
                        value: Some(e.value.clone()),
                        line,
                        source: EnvSource {
                            file: file.clone(),
                            line: e.line,
                            env_file: true,
                            variables: Vec::new(),
                        },
                        written: None,
                    },
                );
            }
        }
        // environment: a list of KEY=VAL (or a bare KEY), or a mapping.
        let env_at = |extra: Step| [&base[..], &[key("environment"), extra]].concat();
        let source = |line: usize, variables: Vec<Variable>| EnvSource {
            file: self.path.to_path_buf(),
            line,
            env_file: false,
            variables,
        };
        let pass_through = |k: &str, line: usize| {
            let value = self.vars.get(k);
            EnvEntry {
                key: k.to_string(),
                value,
                line,
                source: source(
                    line,
                    vec![Variable {
                        name: k.to_string(),
                        origin: self.vars.origin(k),
                    }],
                ),
                written: None,
            }
        };
        match s.value.get("environment") {
            Some(Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let line = self.line(&env_at(Step::Index(i))).unwrap_or(s.line);
                    let Some(raw) = scalar(item) else { continue };
                    let v = self.vars.lenient(&raw);
                    let entry = match v.value.split_once('=') {
                        Some((k, val)) => EnvEntry {
                            key: k.to_string(),
                            value: Some(val.to_string()),
                            line,
                            written: (!v.variables.is_empty()).then(|| raw.clone()),
                            source: source(line, v.variables),
                        },
                        None => pass_through(&v.value, line),
                    };
                    upsert(&mut out, entry);
                }
            }
            Some(Value::Mapping(m)) => {
                for (k, val) in m {
                    let Some(k) = scalar(k) else { continue };
                    let line = self.line(&env_at(key(&k))).unwrap_or(s.line);
                    let entry = match val {
                        Value::Null => pass_through(&k, line),
                        Value::String(raw) => {
                            let v = self.vars.lenient(raw);
                            EnvEntry {
                                key: k.clone(),
                                value: Some(v.value),
                                line,
                                written: (!v.variables.is_empty()).then(|| format!("{k}: {raw}")),
                                source: source(line, v.variables),
                            }
                        }
                        other => EnvEntry {
                            key: k.clone(),
                            value: Some(scalar(other).unwrap_or_default()),
                            line,
                            written: None,
                            source: source(line, Vec::new()),
                        },
                    };
                    upsert(&mut out, entry);
                }
            }
            _ => {}
        }
        out
    }
}

/// `tcp://HOST:PORT` references in `text`.
fn tcp_targets(text: &str) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("tcp://") {
        rest = &rest[i + "tcp://".len()..];
        let host: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let after = &rest[host.len()..];
        let port = after
            .strip_prefix(':')
            .map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|p| p.parse().ok())
            .unwrap_or(2375);
        if !host.is_empty() {
            out.push((host, port));
        }
    }
    out
}

/// `2375`, `2375-2380` -> the range.
fn port_range(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let s = s.split('/').next().unwrap_or(s);
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let p = s.parse().ok()?;
            Some((p, p))
        }
    }
}

/// Short port syntax `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` -> (host ip, container
/// ports).
fn short_port(s: &str) -> Option<(Option<String>, (u32, u32))> {
    let s = s.trim();
    let s = s.split('/').next().unwrap_or(s);
    let (ip, rest) = if let Some(r) = s.strip_prefix('[') {
        let (ip, rest) = r.split_once(']')?;
        (Some(ip.to_string()), rest.strip_prefix(':').unwrap_or(rest))
    } else {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() >= 3 {
            let ip = parts[..parts.len() - 2].join(":");
            (Some(ip), "")
        } else {
            (None, s)
        }
    };
    let parts: Vec<&str> = if rest.is_empty() {
        s.rsplitn(3, ':')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        rest.split(':').collect()
    };
    let container = parts.last()?;
    Some((ip.filter(|i| !i.is_empty()), port_range(container)?))
}

fn loopback(ip: &str) -> bool {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    ip == "localhost"
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

fn all_interfaces(ip: Option<&str>) -> bool {
    match ip {
        None => true,
        Some(ip) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            ip.is_empty()
                || ip == "*"
                || ip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_unspecified())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// A flag to judge: its name and value, the line its finding goes on in the report's file, and
/// where the value came from.
struct FlagEntry {
    key: String,
    value: String,
    line: usize,
    note: Option<String>,
}

/// What the flags of one environment are judged as.
struct Judge<'a> {
    family: Family,
    path: &'a Path,
    options: &'a LintOptions,
    /// Also the checks on the whole set (POST with ALLOW_*, the preset): off for a `.env` that
    /// only feeds a service reported in its compose file.
    whole_set: bool,
}

impl Judge<'_> {
    fn run(&self, entries: &[FlagEntry], findings: &mut Vec<Finding>) {
        let tables = tables();
        let label = self.family.label();
        let kind_of = |k: &str| tables.kind(self.family, k);
        for e in entries {
            match kind_of(&e.key) {
                Some(kind) if kind.trap(&e.value) => {
                    let message = if kind == Kind::One {
                        format!(
                            "{}={}: the {label} image reads only the exact value 1 as on; write {}=1",
                            e.key, e.value, e.key
                        )
                    } else {
                        format!(
                            "{}={}: the {label} image reads `{}` as 0 (off); write {}=1",
                            e.key, e.value, e.value, e.key
                        )
                    };
                    findings.push(Finding::new(
                        Code::BooleanTrap,
                        self.path,
                        e.line,
                        message + &suffix(e.note.clone()),
                    ));
                }
                Some(_) => {}
                None => {
                    if let Some(row) = tables.near_miss(&e.key, &e.value) {
                        let other = row.family != self.family
                            && !tables.in_family(self.family, row.name)
                            && !(self.family == Family::Unknown
                                && tables.in_family(Family::Tecnativa, row.name));
                        let whose = if other {
                            format!(" (a {} flag)", row.family.label())
                        } else {
                            String::new()
                        };
                        findings.push(Finding::new(
                            Code::MisspeltFlag,
                            self.path,
                            e.line,
                            format!(
                                "`{}` is no flag the proxy reads, so it is ignored; did you mean `{}`{whose}?{}",
                                e.key,
                                row.name,
                                suffix(e.note.clone())
                            ),
                        ));
                    }
                }
            }
        }
        if !self.whole_set {
            return;
        }
        let find = |k: &str| entries.iter().find(|e| e.key == k);
        let on =
            |k: &str| find(k).is_some_and(|e| kind_of(k).is_some_and(|kind| kind.on(&e.value)));
        if self.family.post_opens_all_methods() && on("POST") {
            let e = find("POST").expect("POST is on");
            findings.push(Finding::new(
                Code::PostOpensAllMethods,
                self.path,
                e.line,
                format!(
                    "POST=1 lifts the method gate: DELETE and PUT pass too, on every section that is on{}",
                    suffix(e.note.clone())
                ),
            ));
        }
        if !on("POST") {
            for a in self.family.actions_behind_gate() {
                if on(a) {
                    let e = find(a).expect("the flag is on");
                    findings.push(Finding::new(
                        Code::AllowWithoutPost,
                        self.path,
                        e.line,
                        format!("{a}=1 does nothing while POST=0: the image's method gate denies every POST first{}", suffix(e.note.clone())),
                    ));
                }
            }
        }
        self.broader_than_preset(entries, findings);
    }

    /// SPG502: the flags, read the way sockproxy-gen reads them, against `--preset`.
    fn broader_than_preset(&self, entries: &[FlagEntry], findings: &mut Vec<Finding>) {
        let Some((preset, _)) = &self.options.preset_baseline else {
            return;
        };
        let catalog = Catalog::builtin();
        let ours = flags::known_names(catalog);
        let mut values = Vec::new();
        let mut first_line = None;
        for e in entries {
            if !ours.contains(&e.key) || ["LOG_LEVEL", "SOCKET_PATH"].contains(&e.key.as_str()) {
                continue;
            }
            let v = e.value.trim().to_ascii_lowercase();
            let value = match v.as_str() {
                // Traps are reported on their own; the image reads them as off.
                "true" | "yes" | "on" => continue,
                "" | "false" | "no" | "off" => "0".to_string(),
                n => match n.parse::<i64>() {
                    Ok(0) => "0".to_string(),
                    Ok(_) => "1".to_string(),
                    Err(_) => continue,
                },
            };
            first_line.get_or_insert(e.line);
            values.push(FlagValue {
                name: e.key.clone(),
                value,
                location: None,
            });
        }
        let Some(line) = first_line else { return };
        let Ok(fp) = flags::policy_from_flags(catalog, &values) else {
            return;
        };
        let granted = preset.granted();
        let extra: Vec<String> = fp
            .client
            .grants
            .iter()
            .filter(|g| !granted.contains(&g.route))
            .map(|g| catalog.get(g.route).display())
            .collect();
        if extra.is_empty() {
            return;
        }
        findings.push(Finding::new(
            Code::FlagsBroaderThanPreset,
            self.path,
            line,
            format!(
                "these flags open {} route(s) that preset {} does not grant (even read the way sockproxy-gen reads them): {}",
                extra.len(),
                self.options.presets.join(", "),
                extra.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
                    + &if extra.len() > 8 { format!(" (+{} more)", extra.len() - 8) } else { String::new() }
            ),
        ));
    }
}

/// Whether a proxy's environment is judged as flags: the image reads flags, and an image lint
/// does not know must show at least one exact flag name first.
fn judges_flags(family: Family, entries: &[EnvEntry]) -> bool {
    match family {
        Family::Unknown => entries.iter().any(|e| tables().switch_flag(&e.key)),
        f => f.reads_flags(),
    }
}

fn flag_entries(entries: &[EnvEntry]) -> Vec<FlagEntry> {
    entries
        .iter()
        .filter_map(|e| {
            Some(FlagEntry {
                key: e.key.clone(),
                value: e.value.clone()?,
                line: e.line,
                note: e.describe(),
            })
        })
        .collect()
}

fn is_root(user: &str) -> bool {
    user == "root" || user == "0" || user.starts_with("root:") || user.starts_with("0:")
}

fn check_proxy(
    compose: &Compose,
    s: &Service,
    family: Family,
    options: &LintOptions,
    findings: &mut Vec<Finding>,
) {
    let path = compose.path;
    let name = &s.name;
    let port = family.api_port() as u32;
    // Published API port.
    for p in compose.ports(s) {
        if p.targets.0 > port || p.targets.1 < port {
            continue;
        }
        let ip = p.host_ip.as_deref();
        if ip.is_some_and(loopback) {
            continue;
        }
        let message = if all_interfaces(ip) {
            format!("service `{name}` publishes the API port ({}) on every host interface; use 127.0.0.1:{port}:{port}, or no ports and an internal network{}", p.display, suffix(p.note))
        } else {
            format!("service `{name}` publishes the API port ({}) on host address {}, which other machines can reach; use 127.0.0.1:{port}:{port}, or no ports and an internal network{}", p.display, ip.unwrap_or_default(), suffix(p.note))
        };
        findings.push(Finding::new(Code::PublishedPort, path, p.line, message));
    }
    if let Some((mode, line)) = compose.string(s, &["network_mode"]) {
        if mode.value == "host" && family.binds_all_interfaces() {
            findings.push(Finding::new(
                Code::PublishedPort,
                path,
                line,
                format!("service `{name}` uses network_mode: host, so the API port {port} listens on every host interface; use a network and publish on 127.0.0.1 only, if at all"),
            ));
        }
    }
    // Privileges.
    let privileged = compose
        .string(s, &["privileged"])
        .filter(|(v, _)| v.value == "true");
    if let Some((_, line)) = privileged {
        findings.push(Finding::new(
            Code::RootProxy,
            path,
            line,
            format!("service `{name}` runs privileged: the proxy needs only the socket's group"),
        ));
    }
    let group_add = matches!(s.value.get("group_add"), Some(Value::Sequence(g)) if !g.is_empty());
    let advice = if family.haproxy() {
        "haproxy:${PGID_DOCKER_SOCKET}"
    } else {
        "65534:${PGID_DOCKER_SOCKET}"
    };
    match compose.string(s, &["user"]) {
        Some((u, line)) if is_root(&u.value) => findings.push(Finding::new(
            Code::RootProxy,
            path,
            line,
            format!(
                "service `{name}` runs as `{}`; use `{advice}`{}",
                u.value,
                suffix(vars_note(&u.variables))
            ),
        )),
        Some((u, line)) if !u.value.contains(':') && !group_add => findings.push(Finding::new(
            Code::NoGroupOverride,
            path,
            line,
            format!(
                "service `{name}` runs as `{}` without the socket's group; use `{}:${{PGID_DOCKER_SOCKET}}`{}",
                u.value,
                u.value,
                suffix(vars_note(&u.variables))
            ),
        )),
        Some(_) => {}
        None if family.root_by_default() => findings.push(Finding::new(
            Code::RootProxy,
            path,
            s.line,
            format!("service `{name}` ({}) runs as root, as the image does by default; run HAProxy as `haproxy:${{PGID_DOCKER_SOCKET}}` (sockproxy-gen compose)", s.image),
        )),
        None if family.haproxy() && !group_add => findings.push(Finding::new(
            Code::NoGroupOverride,
            path,
            s.line,
            format!("service `{name}` sets no `user:`; HAProxy's own user cannot open a root:docker 0660 socket without `user: \"haproxy:${{PGID_DOCKER_SOCKET}}\"`"),
        )),
        None => {}
    }
    // Flags.
    let entries = compose.environment(s, findings);
    if judges_flags(family, &entries) {
        Judge {
            family,
            path,
            options,
            whole_set: true,
        }
        .run(&flag_entries(&entries), findings);
    }
}

/// SPG513: a bind mount of the proxy whose source is not on this machine. Docker creates an
/// empty directory there, and a socket path that is a directory keeps the proxy unhealthy.
/// Checked where the answer does not depend on which machine lint runs on by accident: paths
/// relative to the project, and paths from variables that are set (what `env` recorded).
fn check_mount_sources(compose: &Compose, s: &Service, findings: &mut Vec<Finding>) {
    for m in s.mounts.iter().filter(|m| m.bind) {
        // `~` is the deploying user's home, which lint cannot know.
        if m.source.starts_with('~') {
            continue;
        }
        let host = join_relative(&compose.dir, &m.source);
        if host.exists() {
            continue;
        }
        // Only what does not depend on the machine lint happens to run on: a path beside the
        // compose file, or one from a variable that is set (what `env` recorded in .env). A
        // literal path, or an unset variable's default, may well exist on the Docker host.
        let relative = m.source.starts_with('.');
        if !relative && !m.from_set_variable {
            continue;
        }
        let fix = if m.socket() {
            format!(
                "run `sockproxy-gen env` on the Docker host: it records the socket it finds as {} in .env, which the generated compose file mounts",
                crate::socket::SOCKET_PATH_KEY
            )
        } else {
            "create it before `docker compose up` (`render -o` writes the config; its directory must exist)".to_string()
        };
        findings.push(Finding::new(
            Code::MissingMountSource,
            compose.path,
            m.line,
            format!(
                "service `{}` mounts {}, which does not exist on this machine{}: Docker would create an empty directory in its place; {fix}",
                s.name,
                if relative {
                    format!("{} (beside the compose file)", m.source)
                } else {
                    host.display().to_string()
                },
                suffix(m.note.clone()),
            ),
        ));
    }
}

/// The haproxy.cfg a proxy service runs, on the host: the file its mounts put at the path the
/// image reads (`/usr/local/etc/haproxy/haproxy.cfg`, or the `-f` of its command).
fn mounted_config(compose: &Compose, s: &Service) -> Option<PathBuf> {
    let mut inside = crate::compose::IMAGE_CONFIG_DIR.to_string() + "/haproxy.cfg";
    if let Some(Value::Sequence(cmd)) = s.value.get("command") {
        let words: Vec<String> = cmd.iter().filter_map(scalar).collect();
        if let Some(i) = words.iter().position(|w| w == "-f") {
            inside = words.get(i + 1)?.clone();
        }
    }
    // The deepest mount that holds the file.
    let (m, rest) = s
        .mounts
        .iter()
        .filter(|m| m.bind && !m.target.is_empty())
        .filter_map(|m| {
            let target = m.target.trim_end_matches('/');
            let rest = inside.strip_prefix(target)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((m, rest))
        })
        .max_by_key(|(m, _)| m.target.len())?;
    let host = join_relative(&compose.dir, &m.source);
    let host = if rest.is_empty() {
        host
    } else {
        host.join(rest.trim_start_matches('/'))
    };
    host.is_file().then_some(host)
}

/// SPG512: the config reaches the Docker socket at a path where the service mounts none
/// (`render --socket` is the path in the container, `compose --socket` the one on the host).
fn check_socket_path(compose: &Compose, s: &Service, findings: &mut Vec<Finding>) {
    let Some(config) = mounted_config(compose, s) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(&config) else {
        return;
    };
    let targets: Vec<&Mount> = s.mounts.iter().filter(|m| !m.target.is_empty()).collect();
    let covered = |path: &str| {
        targets.iter().any(|m| {
            let t = m.target.trim_end_matches('/');
            path == t || (!m.socket() && path.starts_with(&format!("{t}/")))
        })
    };
    let socket_mount = s.mounts.iter().find(|m| m.socket());
    let mut reported: Vec<&str> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"server") {
            continue;
        }
        let Some(path) = words.iter().find_map(|w| w.strip_prefix("unix@")) else {
            continue;
        };
        // "${SOCKET_PATH}" and the like: the value is the environment's, not the file's.
        if path.contains('$') || covered(path) || reported.contains(&path) {
            continue;
        }
        reported.push(path);
        let mounted = match socket_mount {
            Some(m) => format!("the socket is mounted at {} ({})", m.target, m.display),
            None => "no mount puts a socket there".to_string(),
        };
        let fix = socket_mount.map_or_else(
            || format!("mount the Docker socket at {path}"),
            |m| format!("re-render with `--socket {}` (the path in the container; `compose --socket` is the path on the host)", m.target),
        );
        findings.push(Finding::new(
            Code::SocketPathMismatch,
            compose.path,
            socket_mount.map_or(s.line, |m| m.line),
            format!(
                "{}:{}: HAProxy reaches the Docker socket at {path} inside service `{}`, but {mounted}: it finds nothing there and the proxy stays unhealthy; {fix}",
                config.display(),
                index + 1,
                s.name
            ),
        ));
    }
}

/// The networks a service is on: its `networks:` (list or map), `default` without one; none
/// with a `network_mode:`.
fn service_networks(s: &Service) -> Vec<String> {
    if s.value.get("network_mode").is_some() {
        return Vec::new();
    }
    match s.value.get("networks") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(Value::Mapping(m)) => m.keys().filter_map(scalar).collect(),
        _ => vec!["default".to_string()],
    }
}

/// SPG514: clients of different TCP frontends of the proxy on one network with it: each can
/// connect to the others' ports and use their policies.
fn check_shared_tcp_network(
    compose: &Compose,
    s: &Service,
    services: &[Service],
    findings: &mut Vec<Finding>,
) {
    let proxy_networks = service_networks(s);
    let container_name = s.value.get("container_name").and_then(scalar);
    for network in &proxy_networks {
        let mut clients: Vec<(String, u16)> = Vec::new();
        for other in services.iter().filter(|o| o.name != s.name) {
            if !service_networks(other).contains(network) {
                continue;
            }
            for text in compose.client_strings(other) {
                for (host, port) in tcp_targets(&text) {
                    let reaches = host == s.name || container_name.as_deref() == Some(&host);
                    if reaches && !clients.contains(&(other.name.clone(), port)) {
                        clients.push((other.name.clone(), port));
                    }
                }
            }
        }
        let mut ports: Vec<u16> = clients.iter().map(|(_, p)| *p).collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() < 2 {
            continue;
        }
        let list: Vec<String> = clients
            .iter()
            .map(|(name, port)| format!("`{name}` (port {port})"))
            .collect();
        let line = compose
            .line(&[key("services"), key(&s.name), key("networks")])
            .unwrap_or(s.line);
        findings.push(Finding::new(
            Code::SharedTcpNetwork,
            compose.path,
            line,
            format!(
                "{} reach different frontends of `{}` on the one network `{network}`: each can connect to the others' ports and use their policies; give each client its own socket (`sockproxy-gen compose`, the default with several clients) or its own network",
                list.join(", "),
                s.name
            ),
        ));
    }
}

pub fn lint_compose(path: &Path, text: &str, options: &LintOptions) -> Result<FileReport> {
    let compose = Compose::load(path, text, &options.env)?;
    let mut findings = compose.problems.clone();
    let services = compose.services();
    for s in &services {
        for m in s.mounts.iter().filter(|m| m.socket()) {
            if s.family.is_none() {
                findings.push(Finding::new(
                    Code::SocketMount,
                    path,
                    m.line,
                    format!("service `{}` mounts the Docker socket ({}): that is root on the host; point it at the socket proxy (DOCKER_HOST=tcp://sockproxy:2375) instead{}", s.name, m.display, suffix(m.note.clone())),
                ));
            } else if !m.read_only {
                findings.push(Finding::new(
                    Code::SocketWritable,
                    path,
                    m.line,
                    format!(
                        "service `{}` mounts the socket without `:ro` ({}){}",
                        s.name,
                        m.display,
                        suffix(m.note.clone())
                    ),
                ));
            }
        }
        let Some(family) = s.family else { continue };
        check_proxy(&compose, s, family, options, &mut findings);
        check_mount_sources(&compose, s, &mut findings);
        if family.haproxy() {
            check_socket_path(&compose, s, &mut findings);
        }
        check_shared_tcp_network(&compose, s, &services, &mut findings);
        // A proxy in another service's network namespace is published by that service's ports.
        if let Some((mode, _)) = compose.string(s, &["network_mode"]) {
            let Some(host) = mode.value.strip_prefix("service:") else {
                continue;
            };
            let Some(sidecar) = services.iter().find(|o| o.name == host) else {
                continue;
            };
            let port = family.api_port() as u32;
            for p in compose.ports(sidecar) {
                let ip = p.host_ip.as_deref();
                if p.targets.0 > port || p.targets.1 < port || ip.is_some_and(loopback) {
                    continue;
                }
                let where_ = if all_interfaces(ip) {
                    "on every host interface".to_string()
                } else {
                    format!("on host address {}", ip.unwrap_or_default())
                };
                findings.push(Finding::new(
                    Code::PublishedPort,
                    path,
                    p.line,
                    format!("service `{}` publishes the API port of `{}` ({}) {where_}: the proxy shares its network (network_mode: service:{host}); use 127.0.0.1:{port}:{port}, or no ports{}", sidecar.name, s.name, p.display, suffix(p.note)),
                ));
            }
        }
    }
    dedup(&mut findings);
    Ok(FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Compose,
        baseline: (!options.presets.is_empty())
            .then(|| format!("preset {}", options.presets.join(", "))),
        findings,
        matrices: Vec::new(),
        baseline_text: None,
        // The caller moves the text in (`lint_text`).
        source: String::new(),
    })
}

/// Drops repeated findings (a value in an anchor, read by several services or paths).
fn dedup(findings: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    findings.retain(|f| seen.insert((f.code, f.line, f.message.clone())));
}

// ---------------------------------------------------------------------------------------------
// .env files.

/// A value of a `.env` file that a proxy service of a compose file beside it reads: as its
/// `env_file:`, or through interpolation into one of its flags.
struct Fed {
    /// The line in the `.env` file.
    line: usize,
    /// The variable as the `.env` file names it.
    variable: String,
    /// The flag of the service it gives.
    flag: String,
    value: String,
    family: Family,
    service: String,
    compose: PathBuf,
    compose_line: usize,
    env_file: bool,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Compose files that may read `env_path`: those in its directory and the one above.
fn compose_files_near(env_path: &Path) -> Vec<PathBuf> {
    let dir = env_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for d in [Some(dir.to_path_buf()), dir.parent().map(Path::to_path_buf)]
        .into_iter()
        .flatten()
    {
        let d = if d.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            d
        };
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut found: Vec<PathBuf> = read
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        let n = n.to_ascii_lowercase();
                        n.contains("compose") && (n.ends_with(".yaml") || n.ends_with(".yml"))
                    })
            })
            .collect();
        found.sort();
        out.extend(found);
    }
    out.truncate(64);
    out
}

/// What the proxies of the compose files near `env_path` read from it, and whether a compose
/// file reads it at all (as a service's `env_file:`, or as the `.env` of its directory).
fn fed_by(env_path: &Path, options: &LintOptions) -> (Vec<Fed>, bool) {
    let mut out = Vec::new();
    let mut claimed = false;
    let dotenv = env_path.file_name().is_some_and(|n| n == ".env");
    for compose_path in compose_files_near(env_path) {
        let Ok(text) = crate::input::read_text(&compose_path, "the compose file", "") else {
            continue;
        };
        let Ok(compose) = Compose::load(&compose_path, &text, &options.env) else {
            continue;
        };
        if dotenv
            && compose
                .vars
                .dotenv
                .as_ref()
                .is_some_and(|(f, _)| same_file(f, env_path))
        {
            claimed = true;
        }
        for s in compose.services() {
            if compose
                .env_files(&s)
                .iter()
                .any(|(f, _, _)| same_file(f, env_path))
            {
                claimed = true;
            }
            let Some(family) = s.family else { continue };
            let mut ignored = Vec::new();
            let entries = compose.environment(&s, &mut ignored);
            if !judges_flags(family, &entries) {
                continue;
            }
            for e in &entries {
                let Some(value) = &e.value else { continue };
                let fed = |line: usize, variable: &str, env_file: bool| Fed {
                    line,
                    variable: variable.to_string(),
                    flag: e.key.clone(),
                    value: value.clone(),
                    family,
                    service: s.name.clone(),
                    compose: compose_path.clone(),
                    compose_line: e.line,
                    env_file,
                };
                if e.source.env_file {
                    if same_file(&e.source.file, env_path) {
                        out.push(fed(e.source.line, &e.key, true));
                    }
                } else if tables().known(&e.key) {
                    for v in &e.source.variables {
                        if let VariableOrigin::File { file, line } = &v.origin {
                            if same_file(file, env_path) {
                                out.push(fed(*line, &v.name, false));
                            }
                        }
                    }
                }
            }
        }
    }
    (out, claimed)
}

pub fn lint_env(path: &Path, text: &str, options: &LintOptions) -> Result<FileReport> {
    // Read as Compose reads it (the winning assignment of each key, at its line), interpolated
    // from lint's environment (--env, --env-file, the compose service's).
    let env = crate::dotenv::parse_lenient(text, path, &|k| options.env.get(k).cloned())?;
    let mut findings = Vec::new();
    let (fed, claimed) = fed_by(path, options);
    if claimed {
        // Read by proxy services beside it: each value as the flag it gives. What the whole set
        // of a service's flags does is reported in the compose file.
        for f in &fed {
            let where_ = format!(
                "service `{}` in {}:{}",
                f.service,
                f.compose.display(),
                f.compose_line
            );
            let note = if f.env_file {
                format!("env_file of {where_}")
            } else {
                format!("{} of {where_}", f.flag)
            };
            let mut one = Vec::new();
            Judge {
                family: f.family,
                path,
                options,
                whole_set: false,
            }
            .run(
                &[FlagEntry {
                    key: f.flag.clone(),
                    value: f.value.clone(),
                    line: f.line,
                    note: Some(note),
                }],
                &mut one,
            );
            for mut finding in one {
                if f.variable != f.flag {
                    // `DS_POST=true` gives POST=true: name what is written on the line.
                    finding.message = format!(
                        "{}={} gives {}",
                        f.variable,
                        f.value,
                        finding.message.replacen(
                            &format!("write {}=1", f.flag),
                            &format!("write {}=1", f.variable),
                            1
                        )
                    );
                }
                findings.push(finding);
            }
        }
        // Anything else in it is the app's (an app's env_file, interpolation of other values).
    } else {
        // A lone .env: judged only when it names at least one exact flag, and then only its
        // flag-like names, the way Tecnativa's image reads them.
        let tables = tables();
        let flag_like = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        };
        if env.effective().any(|e| tables.switch_flag(&e.key)) {
            let entries: Vec<FlagEntry> = env
                .effective()
                .filter(|e| flag_like(&e.key))
                .map(|e| FlagEntry {
                    key: e.key.clone(),
                    value: e.value.clone(),
                    line: e.line,
                    note: None,
                })
                .collect();
            Judge {
                family: Family::Tecnativa,
                path,
                options,
                whole_set: true,
            }
            .run(&entries, &mut findings);
        }
    }
    dedup(&mut findings);
    Ok(FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Env,
        baseline: None,
        findings,
        matrices: Vec::new(),
        baseline_text: None,
        // The caller moves the text in (`lint_text`).
        source: String::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// The proxy's environment, for `lint haproxy.cfg --compose compose.yaml`.

/// The environment of the socket proxy service in a compose file, for linting its haproxy.cfg:
/// [`proxy_environment_with_sources`] without the sources, interpolated from the `.env` beside
/// the compose file only.
pub fn proxy_environment(path: &Path, text: &str) -> Result<Vec<(String, String)>> {
    Ok(proxy_environment_with_sources(path, text, &Env::new())?
        .into_iter()
        .map(|(k, v, _)| (k, v))
        .collect())
}

/// The effective environment of the (first) socket proxy service in a compose file: its
/// `env_file:` files, then `environment:` (list or mapping; `KEY: 1`, `KEY: "1"`, `KEY: true`),
/// interpolated from `env` (lint's values) and the `.env` beside the compose file, each with
/// where it came from. A pass-through `- KEY` whose variable is not set is left out, as the
/// container does not get it. An `env_file:` that cannot be read is an error.
pub fn proxy_environment_with_sources(
    path: &Path,
    text: &str,
    env: &Env,
) -> Result<Vec<(String, String, EnvSource)>> {
    let compose = Compose::load(path, text, env)?;
    let services = compose.services();
    let Some(service) = services.iter().find(|s| s.family.is_some()) else {
        return Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: 1,
                column: None,
            },
            message: "no socket proxy service found: no service runs a known socket-proxy image, has socket-proxy, sockproxy or dockerproxy in its name, or runs haproxy with the Docker socket mounted".into(),
        });
    };
    let mut problems = Vec::new();
    let entries = compose.environment(service, &mut problems);
    if let Some(p) = problems.into_iter().next() {
        return Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: p.line,
                column: None,
            },
            message: p.message,
        });
    }
    Ok(entries
        .into_iter()
        .filter_map(|e| Some((e.key, e.value?, e.source)))
        .collect())
}

/// The image of the (first) socket proxy service of a compose file, interpolated as
/// [`proxy_environment_with_sources`] reads it: the image whose defaults apply to the flags the
/// environment does not set.
pub fn proxy_image(path: &Path, text: &str, env: &Env) -> Result<Option<String>> {
    let compose = Compose::load(path, text, env)?;
    let services = compose.services();
    Ok(services
        .iter()
        .find(|s| s.family.is_some())
        .map(|s| s.image.clone())
        .filter(|i| !i.is_empty()))
}

/// The directories and files the socket proxy service bind-mounts from beside the compose file
/// (`./sockproxy:/usr/local/etc/haproxy:ro`): (the path here, the path in the container), for
/// reading the ACL files its haproxy.cfg names by their path in the container. Mounts of other
/// host paths are left out: they may differ on the Docker host.
pub fn proxy_local_mounts(path: &Path, text: &str, env: &Env) -> Result<Vec<(PathBuf, String)>> {
    let compose = Compose::load(path, text, env)?;
    let services = compose.services();
    let Some(service) = services.iter().find(|s| s.family.is_some()) else {
        return Ok(Vec::new());
    };
    Ok(service
        .mounts
        .iter()
        .filter(|m| m.bind && !m.socket() && m.source.starts_with('.') && m.target.starts_with('/'))
        .map(|m| (join_relative(&compose.dir, &m.source), m.target.clone()))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The socket proxies of a compose file and their clients, for `migrate`.

/// A socket proxy service that reads Tecnativa-style flags, as `migrate` needs it.
#[derive(Debug, Clone)]
pub struct FoundProxy {
    pub service: String,
    pub container_name: Option<String>,
    pub image: String,
    /// "Tecnativa", "linuxserver", ...
    pub family: &'static str,
    /// The host path of the Docker socket it mounts.
    pub socket: Option<String>,
    /// The port clients reach it on.
    pub port: u16,
    /// Each flag it reads that is set, with its value and where it came from.
    pub flags: Vec<(String, String, EnvSource)>,
    /// The routes the image lets through with these flags, each with the flags that open it,
    /// read the way the image reads them (its defaults, its booleans, its method gate).
    pub opened: std::collections::BTreeMap<crate::catalog::RouteId, String>,
    /// The flags as sockproxy-gen reads them (`render --flag`), with the image's traps fixed:
    /// each flag the image had on is 1, off is 0.
    pub fixed_flags: Vec<String>,
    /// Notes on flags: traps (a value the image reads as off), names it ignores.
    pub notes: Vec<String>,
    /// Found by its image (a table of socket-proxy images), not only by its name or clients.
    pub known_image: bool,
}

/// A service that reaches a socket proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundClient {
    pub service: String,
    pub image: String,
    /// The proxy's service name.
    pub proxy: String,
    /// How it reaches the proxy: `tcp://HOST:PORT` in its environment or command, or
    /// `depends_on`.
    pub how: String,
    /// The command and environment values, interpolated (`--providers.swarm...`, `DOZZLE_...`),
    /// and the values of its `env_file:` files.
    pub strings: Vec<String>,
    /// The command, entrypoint and environment strings as written, each with its interpolated
    /// value (`tcp://${SP_HOST}:2375` -> `tcp://socket-proxy:2375`).
    pub written: Vec<(String, String)>,
    /// Variables set only by an `env_file:` (`environment:` does not set them): (name, value).
    pub env_file_values: Vec<(String, String)>,
    /// The Docker socket mounts among its `volumes:` (interpolated): (index in the list, the
    /// mount as Compose reads it).
    pub socket_mounts: Vec<(usize, String)>,
    /// `network_mode:` (interpolated), when it has one.
    pub network_mode: Option<String>,
}

/// The socket proxies of a compose file (interpolated from the `.env` beside it, as Compose
/// does) and the services that reach them.
pub fn socket_proxies(path: &Path, text: &str) -> Result<(Vec<FoundProxy>, Vec<FoundClient>)> {
    let env = Env::new();
    let compose = Compose::load(path, text, &env)?;
    if let Some(p) = compose.problems.first() {
        return Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: p.line,
                column: None,
            },
            message: p.message.clone(),
        });
    }
    let catalog = Catalog::builtin();
    let mut services = compose.services();
    // An image no table knows, mounting the socket, with Tecnativa flag names: a fork.
    for s in services.iter_mut().filter(|s| s.family.is_none()) {
        if s.mounts.iter().any(Mount::socket) {
            let mut ignored = Vec::new();
            let env = compose.environment(s, &mut ignored);
            if env.iter().any(|e| tables().switch_flag(&e.key)) {
                s.family = Some(Family::Unknown);
            }
        }
    }
    let mut proxies = Vec::new();
    for s in services
        .iter()
        .filter(|s| s.family.is_some_and(Family::reads_flags))
    {
        let family = s.family.expect("filtered");
        let mut problems = Vec::new();
        let entries = compose.environment(s, &mut problems);
        if let Some(p) = problems.into_iter().next() {
            return Err(Error::Malformed {
                location: Location {
                    file: path.to_path_buf(),
                    line: p.line,
                    column: None,
                },
                message: p.message,
            });
        }
        let container_name = s
            .value
            .get("container_name")
            .and_then(scalar)
            .map(|c| compose.vars.lenient(&c).value);
        let set: Vec<(String, String, EnvSource)> = entries
            .into_iter()
            .filter(|e| tables().known(&e.key))
            .filter_map(|e| Some((e.key, e.value?, e.source)))
            .collect();
        let (opened, fixed_flags, notes) = image_reading(catalog, family, &set);
        proxies.push(FoundProxy {
            service: s.name.clone(),
            container_name,
            image: s.image.clone(),
            family: family.label(),
            socket: s
                .mounts
                .iter()
                .find(|m| m.socket())
                .map(|m| m.source.clone()),
            port: family.api_port(),
            flags: set,
            opened,
            fixed_flags,
            notes,
            known_image: tables().image_family(&s.image).is_some(),
        });
    }
    let mut clients = Vec::new();
    for s in &services {
        if proxies.iter().any(|p| p.service == s.name) {
            continue;
        }
        let written = compose.client_strings_raw(s);
        let mut ignored = Vec::new();
        let env_file_values: Vec<(String, String)> = compose
            .environment(s, &mut ignored)
            .into_iter()
            .filter(|e| e.source.env_file)
            .filter_map(|e| Some((e.key, e.value?)))
            .collect();
        let strings: Vec<String> = written
            .iter()
            .map(|(_, v)| v.clone())
            .chain(env_file_values.iter().map(|(_, v)| v.clone()))
            .collect();
        let mut found = None;
        for t in &strings {
            for (host, port) in tcp_targets(t) {
                if let Some(p) = proxies
                    .iter()
                    .find(|p| p.service == host || p.container_name.as_deref() == Some(&host))
                {
                    found.get_or_insert((p.service.clone(), format!("tcp://{host}:{port}")));
                }
            }
        }
        if found.is_none() {
            let depends: Vec<String> = match s.value.get("depends_on") {
                Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
                Some(Value::Mapping(m)) => m.keys().filter_map(scalar).collect(),
                _ => Vec::new(),
            };
            found = proxies
                .iter()
                .find(|p| depends.contains(&p.service))
                .map(|p| (p.service.clone(), "depends_on".to_string()));
        }
        if let Some((proxy, how)) = found {
            clients.push(FoundClient {
                service: s.name.clone(),
                image: s.image.clone(),
                proxy,
                how,
                strings,
                written,
                env_file_values,
                socket_mounts: s
                    .mounts
                    .iter()
                    .filter(|m| m.socket())
                    .map(|m| (m.index, m.display.clone()))
                    .collect(),
                network_mode: compose.string(s, &["network_mode"]).map(|(v, _)| v.value),
            });
        }
    }
    Ok((proxies, clients))
}

/// What an image lets through with `set` flags: (route -> opening flags, the flags as
/// sockproxy-gen reads them with traps fixed, notes).
fn image_reading(
    catalog: &Catalog,
    family: Family,
    set: &[(String, String, EnvSource)],
) -> (
    std::collections::BTreeMap<crate::catalog::RouteId, String>,
    Vec<String>,
    Vec<String>,
) {
    let t = tables();
    let mut notes = Vec::new();
    let value_of = |name: &str| -> Option<String> {
        set.iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, _)| v.clone())
            .or_else(|| {
                t.flags
                    .iter()
                    .find(|r| {
                        r.matches(name)
                            && (r.family == family
                                || family == Family::Unknown && r.family == Family::Tecnativa)
                    })
                    .map(|r| r.default)
                    .filter(|d| *d != "unset")
                    .map(str::to_string)
            })
    };
    let on = |name: &str| {
        value_of(name).is_some_and(|v| t.kind(family, name).unwrap_or(Kind::Bool).on(&v))
    };
    for (k, v, source) in set {
        if let Some(kind) = t.kind(family, k) {
            if kind.trap(v) {
                notes.push(format!(
                    "{k}={v} ({source}): the {} image reads it as off",
                    family.label()
                ));
            }
        }
    }
    let mut opened = std::collections::BTreeMap::new();
    let post = on("POST");
    for route in catalog.routes() {
        if !on(&route.section) {
            continue;
        }
        let why = if route.method.is_read() {
            format!("{}=1", route.section)
        } else if post
            && (family.post_opens_all_methods() || route.method == crate::catalog::Method::Post)
        {
            format!("{}=1 and POST=1", route.section)
        } else {
            continue;
        };
        opened.insert(route.id, why);
    }
    for (flag, shapes) in flags::ACTION_FLAGS {
        let gated = family.actions_behind_gate().contains(flag);
        if !on(flag) || (gated && !post) {
            continue;
        }
        for shape in *shapes {
            if let Some(r) = catalog.find(crate::catalog::Method::Post, shape) {
                opened.entry(r.id).or_insert_with(|| format!("{flag}=1"));
            }
        }
    }
    let ours = flags::known_names(catalog);
    let mut fixed = Vec::new();
    for name in &ours {
        if ["LOG_LEVEL", "SOCKET_PATH", "DISABLE_IPV6"].contains(&name.as_str()) {
            continue;
        }
        let gated_off = family.actions_behind_gate().contains(&name.as_str()) && !post;
        if value_of(name).is_some() {
            let value = on(name) && !gated_off;
            fixed.push(format!("{name}={}", u8::from(value)));
        }
    }
    // POST=1 of an image whose gate opens every method: DELETE and PUT were open too.
    if post && family.post_opens_all_methods() {
        for m in ["DELETE", "PUT"] {
            if value_of(m).is_none() {
                notes.push(format!(
                    "POST=1 also opened {m} routes in the {} image; sockproxy-gen's POST=1 opens POST only",
                    family.label()
                ));
            }
        }
    }
    for (k, _, source) in set {
        if !ours.contains(k) {
            notes.push(format!(
                "{k} ({source}) is a {} flag sockproxy-gen has no equivalent for; it is left out",
                family.label()
            ));
        }
    }
    (opened, fixed, notes)
}

#[cfg(test)]
mod tests {
    use super::outline::{self, Step};
    use super::*;

    /// An outline path written `services/a/volumes/[1]`: keys, and `[n]` for the nth item.
    fn path(p: &str) -> Vec<Step> {
        p.split('/')
            .map(
                |s| match s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    Some(n) => Step::Index(n.parse().unwrap()),
                    None => Step::Key(s.into()),
                },
            )
            .collect()
    }

    #[test]
    fn the_tables_parse_and_know_every_fork() {
        let t = tables();
        for name in [
            "POST",
            "ALLOW_PAUSE",
            "ALLOW_UNPAUSE",
            "ALLOW_ARCHIVE",
            "LIBPOD_CONTAINERS",
            "LIBPOD_ALLOW_POD_UNPAUSE",
            "ALLOW_POWER",
            "CONTAINERS_CREATE",
            "METH_POST",
            "LOGS",
            "SP_ALLOW_GET",
            "SP_ALLOW_GET_2",
            "CETUSGUARD_FRONTEND_TLS_CERT",
            "PUT",
        ] {
            assert!(t.known(name), "{name}");
        }
        assert!(!t.known("SP_ALLOW_GET_X"));
        assert_eq!(t.kind(Family::Tecnativa, "DISABLE_IPV6"), Some(Kind::Words));
        assert_eq!(t.kind(Family::Linuxserver, "DISABLE_IPV6"), Some(Kind::One));
        assert_eq!(
            t.image_family("docker.io/tecnativa/docker-socket-proxy:v0.4.1@sha256:00"),
            Some(Family::Tecnativa)
        );
        assert_eq!(
            t.image_family("lscr.io/linuxserver/socket-proxy:3.2.19"),
            Some(Family::Linuxserver)
        );
        assert_eq!(t.image_family("haproxy:2.8-alpine"), Some(Family::Haproxy));
        assert_eq!(t.image_family("traefik:v3.1"), None);
    }

    #[test]
    fn near_misses_follow_the_flags_rule() {
        let t = tables();
        for (name, value, expected) in [
            ("IAMGES", "1", Some("IMAGES")),
            ("INF0", "1", Some("INFO")),
            ("LOG_LEVL", "debug", Some("LOG_LEVEL")),
            // A known flag of any fork is never a near miss.
            ("ALLOW_PAUSE", "1", None),
            ("ALLOW_RESTART", "1", None),
            // The app's variables: values that are no switch, or names far from every flag.
            ("PORT", "8080", None),
            ("POSTGRES_PASSWORD", "1", None),
            ("ALLOW_CHANGE", "1", Some("ALLOW_CHANGES")),
        ] {
            let miss = t.near_miss(name, value).map(|r| r.name);
            assert_eq!(miss, expected, "{name}={value}");
        }
    }

    #[test]
    fn kinds_read_values_as_the_images_do() {
        for (kind, value, on) in [
            (Kind::Bool, "2", true),
            (Kind::Bool, "true", false),
            (Kind::Words, "YES", true),
        ] {
            assert_eq!(kind.on(value), on, "{kind:?} on {value}");
        }
        // A trap: meant as on, read as off.
        for (kind, value, trap) in [
            (Kind::Bool, "true", true),
            (Kind::Words, "true", false),
            (Kind::One, "true", true),
            (Kind::Bool, "0", false),
        ] {
            assert_eq!(kind.trap(value), trap, "{kind:?} trap {value}");
        }
    }

    #[test]
    fn ports_and_images_parse() {
        for (spec, host, range) in [
            ("2375:2375", None, (2375, 2375)),
            ("127.0.0.1:2375:2375/tcp", Some("127.0.0.1"), (2375, 2375)),
            ("[::1]:2375:2375", Some("::1"), (2375, 2375)),
            ("127.0.0.1::2375", Some("127.0.0.1"), (2375, 2375)),
            ("2375", None, (2375, 2375)),
            ("2370-2380:2370-2380", None, (2370, 2380)),
        ] {
            let expected = Some((host.map(String::from), range));
            assert_eq!(short_port(spec), expected, "{spec}");
        }
        assert!(loopback("127.0.0.1") && loopback("[::1]") && !loopback("0.0.0.0"));
        for (image, repository) in [
            ("docker.io/library/haproxy:3.2", "haproxy"),
            (
                "localhost:5000/x/socket-proxy:1",
                "localhost:5000/x/socket-proxy",
            ),
        ] {
            assert_eq!(image_repository(image), repository, "{image}");
        }
        assert_eq!(
            tcp_targets("DOCKER_HOST=tcp://filter:2376/x"),
            vec![("filter".into(), 2376)]
        );
    }

    /// In every compose fixture, each `environment:` entry, volume and port of each service is
    /// placed on a line that holds it.
    #[test]
    fn every_entry_of_the_fixtures_is_on_its_own_line() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut dirs = vec![root.join("real-world"), root.join("lint")];
        for d in std::fs::read_dir(root.join("lint-compose"))
            .unwrap()
            .flatten()
        {
            dirs.push(d.path());
        }
        let env = Env::new();
        let mut checked = 0;
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            for f in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = f.path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if !(name.ends_with(".yaml") && name.contains("compose")) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let compose = Compose::load(&path, &text, &env).unwrap();
                for s in compose.services() {
                    let mut problems = Vec::new();
                    for e in compose.environment(&s, &mut problems) {
                        if e.source.env_file {
                            continue;
                        }
                        let line = lines[e.line - 1];
                        assert!(
                            line.contains(&e.key) || line.contains("<<") || line.contains('*'),
                            "{name}: {} of {} on line {}: {line}",
                            e.key,
                            s.name,
                            e.line
                        );
                        checked += 1;
                    }
                    for m in &s.mounts {
                        let line = lines[m.line - 1];
                        assert!(line.trim_start().starts_with('-'), "{name}: {line}");
                        checked += 1;
                    }
                    for p in compose.ports(&s) {
                        let line = lines[p.line - 1];
                        assert!(line.trim_start().starts_with('-'), "{name}: {line}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn the_outline_finds_keys_items_and_merged_keys() {
        let text = "\
x-flags: &flags
  PING: \"1\"   # a comment
  EVENTS: '1'
x-block: |
  not: a key
  - nor an item
services:
  a:
    <<: *flags
    command: [\"a\", \"b\"]
    environment:
      <<: *flags
      POST: 1
    volumes:
    - /var/run/docker.sock:/var/run/docker.sock:ro
    - type: bind
      source: /x
  \"b\":
    environment:
      - POST=1
      - 'IAMGES=1'
    healthcheck:
      test: >-
        wget -q
        http://x
    ports:
      - target: 2375
        published: 2375
";
        let root = outline::parse(text);
        for (at, line) in [
            ("services/a", Some(8)),
            ("services/a/environment/POST", Some(13)),
            // Merged keys are where they are written: in the anchor.
            ("services/a/environment/EVENTS", Some(3)),
            ("services/a/volumes/[1]", Some(16)),
            ("services/b/environment/[1]", Some(21)),
            ("services/b/ports/[0]", Some(27)),
            // A block scalar's lines are not keys.
            ("not", None),
        ] {
            assert_eq!(outline::locate(&root, &path(at)), line, "{at}");
        }
    }
}
