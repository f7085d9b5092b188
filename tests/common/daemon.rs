//! The Docker daemon's routing, modelled independently of the code under test: built from the
//! research route table (`tests/data/docker-api-routes.csv`, kept apart from the shipped
//! `catalog/`; see `tests/data/README.md`) with mux's own template syntax, and the daemon's
//! routing rules in `docs/research/peers.md`: Go decodes every `%XX` once (a bad escape is a
//! 400), mux answers a path that changes under cleaning with a 301 and runs no handler, every
//! route is registered with and without `/v{version:[0-9.]+}`, the first registered match wins,
//! methods and paths are case-sensitive.

use regex::Regex;

pub struct DaemonRoute {
    pub method: String,
    pub template: String,
    regex: Regex,
}

pub struct DaemonRouter {
    pub routes: Vec<DaemonRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Go's server rejects the request target (bad escape): no handler.
    BadRequest,
    /// mux cleans the path and redirects: no handler.
    Redirect,
    /// No route for this method and path: no handler.
    NotFound,
    /// The handler of route `index` runs.
    Handler(usize),
}

/// mux: `{name}` is `[^/]+`, `{name:re}` is `re`; the whole template is anchored.
fn template_regex(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&regex::escape(&rest[..open]));
        let close = open + rest[open..].find('}').expect("closed placeholder");
        let inner = &rest[open + 1..close];
        match inner.split_once(':') {
            Some((_, re)) => out.push_str(&format!("(?:{re})")),
            None => out.push_str("[^/]+"),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(&regex::escape(rest));
    out
}

/// Go's url.PathUnescape: every `%XX` decoded; a bad escape is an error.
pub fn go_unescape(path: &str) -> Option<Vec<u8>> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Go's path.Clean, then mux's cleanPath (which puts a trailing slash back).
pub fn mux_clean(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    let mut stack: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    let mut np = format!("/{}", stack.join("/"));
    if p.ends_with('/') && np != "/" {
        np.push('/');
    }
    np
}

impl DaemonRouter {
    pub fn load() -> DaemonRouter {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/docker-api-routes.csv"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let routes = reader
            .records()
            .map(|r| {
                let r = r.expect("csv row");
                let template = r[1].to_string();
                let body = template_regex(&template);
                DaemonRoute {
                    method: r[0].to_string(),
                    regex: Regex::new(&format!(r"^(?:/v[0-9.]+)?{body}$")).expect("route regex"),
                    template,
                }
            })
            .collect();
        DaemonRouter { routes }
    }

    /// What the daemon does with this request line.
    pub fn route(&self, method: &str, target: &str) -> Outcome {
        // Absolute-form: Go's server takes the path of the URL.
        let path_and_query = if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            }
        } else if target.starts_with('/') {
            target
        } else {
            return Outcome::NotFound;
        };
        let raw_path = path_and_query.split('?').next().unwrap_or("");
        let Some(decoded) = go_unescape(raw_path) else {
            return Outcome::BadRequest;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            // Go keeps invalid UTF-8 bytes; no route template matches them anyway.
            return Outcome::NotFound;
        };
        // Decoded control characters stay in URL.Path; like Go's `.`, the regex crate's `.`
        // does not match `\n`, so `{name:.*}` behaves the same here.
        if mux_clean(&decoded) != decoded {
            return Outcome::Redirect;
        }
        self.routes
            .iter()
            .position(|r| r.method == method && r.regex.is_match(&decoded))
            .map_or(Outcome::NotFound, Outcome::Handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_matches_the_documented_daemon_behaviour() {
        let d = DaemonRouter::load();
        let name = |o: Outcome| match o {
            Outcome::Handler(i) => format!("{} {}", d.routes[i].method, d.routes[i].template),
            other => format!("{other:?}"),
        };
        for (method, target, expected) in [
            ("GET", "/v1.41/containers/json", "GET /containers/json"),
            ("GET", "/v1.41../containers/json", "GET /containers/json"),
            ("GET", "/%63ontainers/json", "GET /containers/json"),
            ("GET", "/containers//json", "Redirect"),
            ("GET", "/CONTAINERS/json", "NotFound"),
            ("HEAD", "/containers/json", "NotFound"),
            ("GET", "/x%zz", "BadRequest"),
            (
                "DELETE",
                "/containers/a/checkpoints/b",
                "DELETE /containers/{name}/checkpoints/{checkpoint}",
            ),
            (
                "POST",
                "/containers/abc%2Fstart/exec",
                "POST /containers/{name:.*}/exec",
            ),
            ("GET", "http://docker/v1.41/info", "GET /info"),
        ] {
            assert_eq!(name(d.route(method, target)), expected, "{method} {target}");
        }
    }
}
