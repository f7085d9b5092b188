//! The Docker Engine API route table (API 1.56), as the daemon's router registers it.
//!
//! Order matters: the daemon (gorilla/mux) runs the handler of the *first* registered route that
//! matches the method and the decoded path, so the rows of `catalog/docker-api-routes.csv` stay in
//! registration order and rendering relies on it (see [`Catalog::shadowing`]).

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

const ROUTES_CSV: &str = include_str!("../catalog/docker-api-routes.csv");

/// HTTP methods the daemon registers routes for. Exact and upper-case, as the daemon matches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// Parses an exact, upper-case method name. Lower-case is not a method the daemon routes.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Reads only data (no state change on the daemon).
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of a path template between slashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment (`containers`); empty for the trailing slash of `/networks/`.
    Literal(String),
    /// `{id}`: exactly one non-empty segment, as mux's default `[^/]+`.
    One,
    /// `{name:.*}` / `{id:.+}`: one or more segments. The daemon's pattern also allows empty
    /// and slash-ended values, but those only arise from non-canonical paths, which the proxy
    /// refuses before matching, so one-or-more non-empty segments is the daemon's reachable set.
    Many,
}

/// Traits of a route that change how the proxy must treat it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traits {
    /// Long-lived response (events, logs follow, stats, pulls): needs a backend without a
    /// server timeout.
    pub stream: bool,
    /// Hijacks the connection (attach, exec start): needs `Connection: Upgrade` to pass.
    pub hijack: bool,
    /// Needs an `h2c` upgrade (BuildKit session/gRPC); the proxy never passes those.
    pub h2c: bool,
    /// Clients send the upgrade with a request body (exec start's JSON). HAProxy 2.6 drops the
    /// `Upgrade` header of such requests (haproxy/haproxy#2684), so they need HAProxy 3.x.
    pub upgrade_body: bool,
    /// Can take over the host or read its data (create, exec, archive, export, ...).
    pub dangerous: bool,
    /// Deletes state (prune, DELETE).
    pub destructive: bool,
    /// Discloses secrets or host details (inspect shows Env, /info, ...).
    pub sensitive: bool,
}

impl Traits {
    fn parse(s: &str) -> Result<Traits, String> {
        let mut t = Traits::default();
        for word in s.split_whitespace() {
            match word {
                "stream" => t.stream = true,
                "hijack" => t.hijack = true,
                "h2c" => t.h2c = true,
                "upgrade-body" => t.upgrade_body = true,
                "dangerous" => t.dangerous = true,
                "destructive" => t.destructive = true,
                "sensitive" => t.sensitive = true,
                other => return Err(format!("unknown trait `{other}`")),
            }
        }
        Ok(t)
    }

    /// Short words for tables and comments.
    pub fn words(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        for (on, word) in [
            (self.stream, "stream"),
            (self.hijack, "hijack"),
            (self.h2c, "h2c"),
            (self.upgrade_body, "upgrade-body"),
            (self.dangerous, "dangerous"),
            (self.destructive, "destructive"),
            (self.sensitive, "sensitive"),
        ] {
            if on {
                w.push(word);
            }
        }
        w
    }
}

/// Index of a route in the catalog (its registration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RouteId(pub usize);

#[derive(Debug, Clone)]
pub struct Route {
    pub id: RouteId,
    pub method: Method,
    /// The template as the daemon registers it, e.g. `/containers/{name:.*}/json`.
    pub template: String,
    pub group: String,
    /// The Tecnativa env flag that gates it (`CONTAINERS`), or `ANY`/`NONE`.
    pub section: String,
    pub traits: Traits,
    pub notes: String,
    pub segments: Vec<Segment>,
}

impl Route {
    /// The template with placeholder names dropped: `/containers/{}/json`. Users may write any
    /// placeholder name (`{id}`, `{name:.*}`), so routes are looked up by this form.
    pub fn shape(&self) -> String {
        shape_of(&self.template)
    }

    /// `GET /containers/{}/json`
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.shape())
    }

    /// A readable name for logs and rules: `GET /containers/{name}/json`.
    pub fn display(&self) -> String {
        format!("{} {}", self.method, self.display_path())
    }

    /// The template with placeholder patterns dropped: `/containers/{name}/json`.
    pub fn display_path(&self) -> String {
        display_template(&self.template)
    }

    /// A compact token without spaces, braces or commas, safe inside HAProxy sample
    /// expressions (`str(...)`) and log lines: `GET:/containers/*/json`, `**` for many segments.
    pub fn token(&self) -> String {
        let path: Vec<String> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.clone(),
                Segment::One => "*".into(),
                Segment::Many => "**".into(),
            })
            .collect();
        format!("{}:/{}", self.method, path.join("/"))
    }

    /// The anchored regex (PCRE and Rust `regex` compatible) that matches exactly the
    /// version-stripped, decoded, canonical paths this route handles.
    pub fn path_regex(&self) -> String {
        let mut re = String::from("^");
        for seg in &self.segments {
            re.push('/');
            match seg {
                Segment::Literal(l) => re.push_str(&escape_regex(l)),
                Segment::One => re.push_str("[^/]+"),
                Segment::Many => re.push_str("[^/]+(/[^/]+)*"),
            }
        }
        re.push('$');
        re
    }

    /// The literal path when the template has no placeholders (then an exact string match
    /// is enough, and cheaper than a regex).
    pub fn literal_path(&self) -> Option<String> {
        if self
            .segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
        {
            Some(self.example_path())
        } else {
            None
        }
    }

    /// A realistic request path for this route (no version prefix): the ids look like the ids
    /// clients send; image-like routes get a multi-segment reference.
    pub fn example_path(&self) -> String {
        let image_like = ["images", "distribution", "plugins"]
            .iter()
            .any(|p| self.template.starts_with(&format!("/{p}/")));
        let mut out = String::new();
        for seg in &self.segments {
            out.push('/');
            match seg {
                Segment::Literal(l) => out.push_str(l),
                Segment::One => out.push_str("3f2a9c1e7b4d"),
                Segment::Many if self.template.starts_with("/{anyroute") => {
                    out.push_str("containers/json")
                }
                Segment::Many if image_like => out.push_str("registry.example/team/app:1.0"),
                Segment::Many => out.push_str("3f2a9c1e7b4d"),
            }
        }
        out
    }
}

/// `/containers/{name:.*}/json` -> `/containers/{}/json`
pub fn shape_of(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// `/containers/{name:.*}/json` -> `/containers/{name}/json`
fn display_template(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let inner = &rest[open + 1..close];
        out.push('{');
        out.push_str(inner.split(':').next().unwrap_or(inner));
        out.push('}');
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn parse_segments(template: &str) -> Result<Vec<Segment>, String> {
    let rest = template
        .strip_prefix('/')
        .ok_or_else(|| format!("template `{template}` does not start with /"))?;
    rest.split('/')
        .map(|seg| {
            if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                match inner.split_once(':') {
                    None => Ok(Segment::One),
                    Some((_, ".*" | ".+")) => Ok(Segment::Many),
                    Some((_, other)) => Err(format!("unsupported placeholder pattern `{other}`")),
                }
            } else if seg.contains(['{', '}']) {
                Err(format!(
                    "placeholder must be a whole segment in `{template}`"
                ))
            } else {
                Ok(Segment::Literal(seg.to_string()))
            }
        })
        .collect()
}

/// Whether some path is matched by both segment patterns.
pub fn could_overlap(a: &[Segment], b: &[Segment]) -> bool {
    use Segment::*;
    match (a.first(), b.first()) {
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        // Many takes one segment of the other side's, then either stops or keeps going.
        (Some(Many), _) => could_overlap_after_one(a, b),
        (_, Some(Many)) => could_overlap_after_one(b, a),
        (Some(x), Some(y)) => {
            let heads = match (x, y) {
                (Literal(p), Literal(q)) => p == q,
                (Literal(p), One) | (One, Literal(p)) => !p.is_empty(),
                _ => true,
            };
            heads && could_overlap(&a[1..], &b[1..])
        }
    }
}

/// `many` starts with Many; consume one of `other`'s leading units against it.
fn could_overlap_after_one(many: &[Segment], other: &[Segment]) -> bool {
    use Segment::*;
    match other.first() {
        None => false,
        Some(Literal(l)) if l.is_empty() => false,
        Some(Many) => {
            // Both absorb: either ends here or continues.
            could_overlap(&many[1..], &other[1..])
                || could_overlap(many, &other[1..])
                || could_overlap(&many[1..], other)
        }
        Some(_) => could_overlap(&many[1..], &other[1..]) || could_overlap(many, &other[1..]),
    }
}

/// Whether the path segments `parts` are matched by `segments` (Many takes one or more
/// non-empty segments, with backtracking for templates like `/containers/{name:.*}/json`).
fn segments_match(segments: &[Segment], parts: &[&str]) -> bool {
    match (segments.first(), parts.first()) {
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(Segment::Literal(l)), Some(p)) => {
            l == p && segments_match(&segments[1..], &parts[1..])
        }
        (Some(Segment::One), Some(p)) => {
            !p.is_empty() && segments_match(&segments[1..], &parts[1..])
        }
        (Some(Segment::Many), Some(_)) => (1..=parts.len())
            .take_while(|&n| !parts[n - 1].is_empty())
            .any(|n| segments_match(&segments[1..], &parts[n..])),
    }
}

pub struct Catalog {
    routes: Vec<Route>,
}

impl Catalog {
    /// The embedded catalog. Parsed once; a malformed embedded table is a build defect, caught by
    /// the test suite, so this panics rather than returning an error to users.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_csv(ROUTES_CSV).expect("embedded catalog/docker-api-routes.csv is valid")
        })
    }

    pub fn from_csv(text: &str) -> Result<Catalog, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut routes = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| e.to_string())?;
            let field = |n: usize| record.get(n).unwrap_or("").to_string();
            let method = Method::parse(&field(0))
                .ok_or_else(|| format!("row {}: bad method {}", i + 2, field(0)))?;
            let template = field(1);
            let segments = parse_segments(&template).map_err(|e| format!("row {}: {e}", i + 2))?;
            routes.push(Route {
                id: RouteId(i),
                method,
                template,
                group: field(2),
                section: field(3),
                traits: Traits::parse(&field(4)).map_err(|e| format!("row {}: {e}", i + 2))?,
                notes: field(5),
                segments,
            });
        }
        Ok(Catalog { routes })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn get(&self, id: RouteId) -> &Route {
        &self.routes[id.0]
    }

    /// Looks a route up by `METHOD /path/{any}/...`; placeholder names do not matter.
    pub fn find(&self, method: Method, template: &str) -> Option<&Route> {
        let shape = shape_of(template);
        self.routes
            .iter()
            .find(|r| r.method == method && r.shape() == shape)
    }

    /// Earlier-registered routes of the same method that can match a path `route` matches.
    /// The daemon would run *their* handler for such a path, so an allow rule for `route` must
    /// be preceded by a deny for each of them that the policy does not grant.
    pub fn shadowing<'a>(&'a self, route: &'a Route) -> impl Iterator<Item = &'a Route> + 'a {
        self.routes[..route.id.0].iter().filter(move |r| {
            r.method == route.method && could_overlap(&r.segments, &route.segments)
        })
    }

    /// The route whose handler the daemon runs for `method` and a decoded, canonical,
    /// version-stripped `path`: the first registered one that matches, as mux picks it.
    pub fn dispatch(&self, method: Method, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        self.routes
            .iter()
            .find(|r| r.method == method && segments_match(&r.segments, &parts))
    }

    /// The Tecnativa sections that gate at least one route (env flag names).
    pub fn sections(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self
            .routes
            .iter()
            .map(|r| r.section.as_str())
            .filter(|s| *s != "ANY" && *s != "NONE")
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// The section called `name` (any case), or an error with the closest section.
    pub fn section(&self, name: &str) -> Result<&str, crate::Error> {
        let sections = self.sections();
        if let Some(s) = sections.iter().find(|s| s.eq_ignore_ascii_case(name)) {
            return Ok(s);
        }
        Err(crate::Error::UnknownSection {
            name: name.to_string(),
            suggestion: crate::suggest::closest(name, sections.iter().copied()),
            sections: sections.iter().map(|s| s.to_string()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_with_unique_keys() {
        let c = Catalog::builtin();
        assert_eq!(c.routes().len(), 122);
        let mut keys: Vec<String> = c.routes().iter().map(Route::key).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "two routes share a method and shape");
    }

    #[test]
    fn regexes_and_tokens() {
        let c = Catalog::builtin();
        let inspect = c.find(Method::Get, "/containers/{id}/json").unwrap();
        assert_eq!(inspect.path_regex(), "^/containers/[^/]+(/[^/]+)*/json$");
        assert_eq!(inspect.token(), "GET:/containers/**/json");
        assert_eq!(inspect.display(), "GET /containers/{name}/json");
        let list = c.find(Method::Get, "/networks/").unwrap();
        assert_eq!(list.path_regex(), "^/networks/$");
        assert_eq!(list.literal_path().as_deref(), Some("/networks/"));
    }

    #[test]
    fn checkpoint_delete_shadows_container_delete() {
        let c = Catalog::builtin();
        let delete = c.find(Method::Delete, "/containers/{name}").unwrap();
        let shadows: Vec<String> = c.shadowing(delete).map(Route::key).collect();
        assert_eq!(shadows, vec!["DELETE /containers/{}/checkpoints/{}"]);
        let list = c.find(Method::Get, "/containers/json").unwrap();
        assert_eq!(c.shadowing(list).count(), 0);
    }

    #[test]
    fn dispatch_picks_the_first_registered_match() {
        let c = Catalog::builtin();
        let key = |m, p| c.dispatch(m, p).map(Route::key);
        assert_eq!(
            key(Method::Delete, "/containers/a/checkpoints/b").as_deref(),
            Some("DELETE /containers/{}/checkpoints/{}")
        );
        assert_eq!(
            key(Method::Get, "/containers/a/b/json").as_deref(),
            Some("GET /containers/{}/json")
        );
        assert_eq!(
            key(Method::Get, "/containers/json").as_deref(),
            Some("GET /containers/json")
        );
        assert_eq!(
            key(Method::Get, "/networks/").as_deref(),
            Some("GET /networks/")
        );
        assert_eq!(key(Method::Get, "/containers//json"), None);
        assert_eq!(key(Method::Head, "/containers/json"), None);
        for r in c.routes() {
            assert_eq!(
                c.dispatch(r.method, &r.example_path()).map(|d| d.id),
                Some(r.id),
                "{}",
                r.key()
            );
        }
    }

    #[test]
    fn overlap_rules() {
        use Segment::*;
        let lit = |s: &str| Literal(s.into());
        assert!(could_overlap(
            &[lit("a"), Many, lit("json")],
            &[lit("a"), One, lit("x"), lit("json")]
        ));
        assert!(!could_overlap(
            &[lit("a"), Many, lit("json")],
            &[lit("a"), Many, lit("logs")]
        ));
        assert!(!could_overlap(
            &[lit("a"), lit("json")],
            &[lit("a"), Many, lit("json")]
        ));
        assert!(could_overlap(
            &[lit("a"), Many],
            &[lit("a"), One, lit("b"), One]
        ));
        assert!(!could_overlap(
            &[lit("networks"), lit("")],
            &[lit("networks"), Many]
        ));
    }
}
