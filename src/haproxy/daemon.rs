//! Which handler the Docker daemon runs for a request that got through the proxy, following
//! the daemon's routing rules (docs/research/peers.md, "The daemon's routing"): Go decodes every
//! `%XX` of the path once (a bad escape is answered 400), gorilla/mux answers a path that
//! changes under cleaning with a 301 and runs no handler, every route is registered with and
//! without `/v{version:[0-9.]+}`, the first registered match wins, methods and paths are
//! case-sensitive. Lint uses it to turn "this rule looks bypassable" into a concrete request
//! that reaches a route the config does not allow.

use crate::catalog::{Catalog, Method, Route};

/// What the daemon does with a request.
#[derive(Debug, Clone, Copy)]
pub enum Daemon<'c> {
    /// Go rejects the target (a bad `%` escape): no handler runs.
    BadRequest,
    /// mux redirects to the cleaned path: no handler runs.
    Redirect,
    /// No route for this method and path.
    NotFound,
    /// The handler of this route runs.
    Handler(&'c Route),
}

/// The daemon's verdict for `method` and a request target as sent (origin or absolute form).
pub fn route<'c>(catalog: &'c Catalog, method: &str, target: &str) -> Daemon<'c> {
    let path = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let Some(decoded) = decode(path) else {
        return Daemon::BadRequest;
    };
    if !decoded.starts_with('/') || clean(&decoded) != decoded {
        return Daemon::Redirect;
    }
    let Some(method) = Method::parse(method) else {
        return Daemon::NotFound;
    };
    let stripped = strip_version(&decoded).unwrap_or(&decoded);
    match catalog.dispatch(method, stripped) {
        Some(r) => Daemon::Handler(r),
        None => Daemon::NotFound,
    }
}

/// `%XX` decoded once, as Go's URL parser does; `None` for a bad escape.
fn decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits, as Go's unescape wants (`from_str_radix` alone takes a `+`).
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `path.Clean`, keeping a trailing slash as mux does.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if path.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// `/v1.41/rest` → `/rest` (mux's `/v{version:[0-9.]+}`).
fn strip_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v")?;
    let digits = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    (digits > 0 && rest[digits..].starts_with('/')).then(|| &rest[digits..])
}

/// Requests a naive rule may let through for a route the frontend denies in plain form: the
/// variants the daemon still routes (each segment's first letter encoded, slashes encoded, every
/// character encoded, a query) on the bare path, and the version prefixes the daemon accepts but
/// the plain forms do not cover (`/v1.41..`, `/v01.041`). The canonical prefixes (`/v1.24`,
/// `/v1.41`, `/v1.44`) are the permission matrix's own. Built once per route and process.
pub fn variants(route: &Route) -> &'static [(String, String)] {
    type Built = std::collections::HashMap<String, &'static [(String, String)]>;
    static BUILT: std::sync::OnceLock<std::sync::Mutex<Built>> = std::sync::OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Leaked once per route of the catalog: a fixed, small set for the process's lifetime.
    built
        .entry(route.display())
        .or_insert_with(|| Vec::leak(build_variants(route)))
}

fn build_variants(route: &Route) -> Vec<(String, String)> {
    let p = route.example_path();
    let m = route.method.as_str().to_string();
    let mut paths = Vec::new();
    let segments: Vec<&str> = p.split('/').collect();
    for (i, s) in segments.iter().enumerate() {
        if let Some(c) = s.chars().next().filter(char::is_ascii_alphabetic) {
            let mut copy: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
            copy[i] = format!("%{:02x}{}", c as u32, &s[1..]);
            paths.push(copy.join("/"));
        }
    }
    if let Some(rest) = p.strip_prefix('/') {
        paths.push(format!("/{}", rest.replace('/', "%2F")));
    }
    paths.push(
        p.bytes()
            .map(|b| {
                if b == b'/' {
                    "/".to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    );
    paths.push(format!("{p}?x=1"));
    for v in ["/v1.41..", "/v01.041"] {
        paths.push(format!("{v}{p}"));
    }
    paths.into_iter().map(|path| (m.clone(), path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_rules() {
        let catalog = Catalog::builtin();
        let handler = |method: &str, target: &str| match route(catalog, method, target) {
            Daemon::Handler(r) => r.display(),
            other => format!("{other:?}"),
        };
        assert_eq!(handler("GET", "/containers/json"), "GET /containers/json");
        assert_eq!(
            handler("GET", "/v1.41/containers/json"),
            "GET /containers/json"
        );
        assert_eq!(
            handler("GET", "/v1.41../containers/json"),
            "GET /containers/json"
        );
        assert_eq!(
            handler("GET", "/%63ontainers/json?all=1"),
            "GET /containers/json"
        );
        assert_eq!(
            handler("POST", "/containers/abc%2Fstart"),
            handler("POST", "/containers/abc/start")
        );
        assert_eq!(handler("GET", "/containers//json"), "Redirect");
        assert_eq!(handler("GET", "/containers/%2e%2e/json"), "Redirect");
        assert_eq!(handler("GET", "/containers/%zz"), "BadRequest");
        assert_eq!(handler("get", "/containers/json"), "NotFound");
        assert_eq!(handler("GET", "/Containers/json"), "NotFound");
        assert_eq!(handler("GET", "http://docker/v1.44/info"), "GET /info");
    }
}
