//! The keywords HAProxy 2.6, 3.0 and 3.2 accept in each section, and what each can do to the
//! requests that reach a server: the tables in `data/haproxy-keywords/` (taken from each
//! version's configuration manual and checked against its binary; see the README there).
//!
//! A keyword is matched on up to three words, longest first (`no option httplog`,
//! `timeout client`, `tcp-request content`, then `acl`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::version::Version;

/// What a keyword can do to which requests reach a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It can decide or change where a request goes (`http-request`, `use_backend`, `server`).
    Routing,
    /// Lua or a service whose effect cannot be modelled (`lua-load`, `filter`, ...).
    Lua,
    /// It cannot change which requests reach a server (logging, timeouts, tuning).
    Inert,
}

const TABLES: [(&str, &str); 3] = [
    ("2.6", include_str!("../../data/haproxy-keywords/2.6.txt")),
    ("3.0", include_str!("../../data/haproxy-keywords/3.0.txt")),
    ("3.2", include_str!("../../data/haproxy-keywords/3.2.txt")),
];

/// (section, keyword) → effect, for one version.
type Table = HashMap<(&'static str, &'static str), Effect>;

fn parse_table(text: &'static str) -> Table {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let (section, keyword, effect) = (cols.next()?, cols.next()?, cols.next()?);
            let effect = match effect.trim() {
                "routing" => Effect::Routing,
                "lua" => Effect::Lua,
                _ => Effect::Inert,
            };
            Some(((section, keyword), effect))
        })
        .collect()
}

/// The table of the line `version` belongs to (3.1 and later lines use the newest table).
fn table(version: Version) -> &'static Table {
    static PARSED: OnceLock<Vec<Table>> = OnceLock::new();
    let tables = PARSED.get_or_init(|| TABLES.iter().map(|(_, t)| parse_table(t)).collect());
    let index = match (version.major, version.minor) {
        (2, _) => 0,
        (3, 0 | 1) => 1,
        _ => 2,
    };
    &tables[index]
}

/// The table's version line for `version`, for messages.
pub fn table_line(version: Version) -> &'static str {
    match (version.major, version.minor) {
        (2, _) => TABLES[0].0,
        (3, 0 | 1) => TABLES[1].0,
        _ => TABLES[2].0,
    }
}

/// The keyword `words` start with in a `section` section (`frontend`, `global`, ...) for
/// `version`, with its effect and how many words it spans; `None` when HAProxy does not know it.
pub fn lookup(version: Version, section: &str, words: &[&str]) -> Option<(Effect, usize)> {
    let table = table(version);
    (1..=words.len().min(3)).rev().find_map(|n| {
        let keyword = words[..n].join(" ");
        table
            .get(&(section, keyword.as_str()))
            .map(|effect| (*effect, n))
    })
}

/// Every (section, keyword) of the table for `version`, for tests and documentation.
pub fn all(version: Version) -> Vec<(&'static str, &'static str, Effect)> {
    let mut out: Vec<_> = table(version)
        .iter()
        .map(|((s, k), e)| (*s, *k, *e))
        .collect();
    out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_and_match_longest_first() {
        for line in ["2.6", "3.0", "3.2"] {
            let v = Version::parse(line).unwrap();
            assert!(all(v).len() > 900, "{line}: {}", all(v).len());
            assert_eq!(
                lookup(v, "global", &["server-state-file", "/x"]),
                Some((Effect::Inert, 1))
            );
            assert_eq!(
                lookup(v, "frontend", &["http-request", "deny"]),
                Some((Effect::Routing, 1))
            );
            assert_eq!(
                lookup(v, "frontend", &["timeout", "client", "5s"]),
                Some((Effect::Inert, 2))
            );
            assert_eq!(lookup(v, "frontend", &["bnd", ":2375"]), None);
        }
    }
}
