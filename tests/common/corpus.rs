//! Generated requests: the legitimate calls of a policy, and attacks on every catalog route
//! (version-prefix variants, encodings, dot segments, traversal, methods, upgrades, gRPC).

use sockproxy_gen::catalog::{Catalog, Method};
use sockproxy_gen::policy::ClientPolicy;

#[derive(Debug, Clone)]
pub struct Probe {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// What the probe tries, for counts and failure messages.
    pub kind: &'static str,
    /// Design.md section 3 says the proxy refuses this whatever the policy (lower-case methods,
    /// non-canonical paths, double encoding, h2c, gRPC, HEAD on GET-only routes).
    pub must_refuse: bool,
}

impl Probe {
    pub fn to_bytes(&self, id: usize) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: docker\r\nX-Spg-Probe: {id}\r\n",
            self.method, self.target
        );
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out.into_bytes()
    }
}

const VERSIONS: &[&str] = &["", "/v1.41", "/v1.24", "/v1.56"];

/// Requests the client really makes: every grant, bare and with version prefixes.
pub fn legitimate(catalog: &Catalog, client: &ClientPolicy) -> Vec<Probe> {
    let mut out = Vec::new();
    for g in &client.grants {
        let r = catalog.get(g.route);
        for v in VERSIONS {
            let mut headers = Vec::new();
            if r.traits.hijack {
                headers.push(("Upgrade".to_string(), "tcp".to_string()));
                headers.push(("Connection".to_string(), "Upgrade".to_string()));
            }
            out.push(Probe {
                method: r.method.to_string(),
                target: format!("{v}{}", r.example_path()),
                headers,
                kind: "legitimate",
                must_refuse: false,
            });
        }
    }
    out
}

fn hex(b: u8) -> String {
    format!("%{b:02X}")
}

/// Encodes the first letter of each literal segment (`/%63ontainers/json`).
fn encode_letters(path: &str, lower: bool) -> String {
    path.split('/')
        .map(|seg| match seg.bytes().next() {
            Some(b) if b.is_ascii_alphabetic() => {
                let e = hex(b);
                format!("{}{}", if lower { e.to_lowercase() } else { e }, &seg[1..])
            }
            _ => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Positions of the slashes after the first character.
fn inner_slashes(path: &str) -> Vec<usize> {
    path.char_indices()
        .filter(|(i, c)| *c == '/' && *i > 0)
        .map(|(i, _)| i)
        .collect()
}

/// Attacks derived from every catalog route.
pub fn attacks(catalog: &Catalog) -> Vec<Probe> {
    let mut out = Vec::new();
    let allowed_looking = ["/containers/json", "/_ping", "/version", "/events"];
    for r in catalog.routes() {
        let p = r.example_path();
        let m = r.method.as_str();
        let mut push = |method: &str,
                        target: String,
                        kind: &'static str,
                        must_refuse: bool,
                        headers: Vec<(&str, &str)>| {
            out.push(Probe {
                method: method.to_string(),
                target,
                headers: headers
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                kind,
                must_refuse,
            });
        };
        // Methods: every one on every path, swapped, lower and mixed case, unknown.
        for v in ["", "/v1.41"] {
            for method in [
                "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "get",
                "post", "Get", "delete", "head",
            ] {
                let exact = Method::parse(method);
                let lowercase = exact.is_none() && method != "PATCH" && method != "CONNECT";
                // HEAD exists only for /_ping and archive: HEAD elsewhere must never pass.
                let head_on_get =
                    method == "HEAD" && catalog.find(Method::Head, &r.template).is_none();
                push(
                    method,
                    format!("{v}{p}"),
                    "method",
                    lowercase || head_on_get,
                    vec![],
                );
            }
        }
        // Version prefixes the daemon accepts, and ones it does not.
        for v in [
            "/v1.41..",
            "/v01.041",
            "/v1",
            "/v1.",
            "/v.",
            "/V1.41",
            "/v",
            "/vx1",
            "/v1.41/v1.41",
            "/v1.41%2F",
            "/%761.41",
            "/v1%2E41",
            "/v-1.41",
            "/v1.41a",
        ] {
            push(m, format!("{v}{p}"), "version-prefix", false, vec![]);
        }
        // Percent-encoded letters (the daemon decodes them: a naive prefix rule misses them).
        push(
            m,
            encode_letters(&p, false),
            "encoded-letter",
            false,
            vec![],
        );
        push(
            m,
            format!("/v1.41{}", encode_letters(&p, true)),
            "encoded-letter",
            false,
            vec![],
        );
        // A sign where a hex digit belongs (`%+f`): not an escape for HAProxy's url_dec or Go.
        push(m, format!("{p}%+f"), "bad-escape", false, vec![]);
        push(m, p.replacen('/', "/%+6", 1), "bad-escape", false, vec![]);
        for i in inner_slashes(&p) {
            // %2F: decoded to `/` by the daemon.
            push(
                m,
                format!("{}%2F{}", &p[..i], &p[i + 1..]),
                "encoded-slash",
                false,
                vec![],
            );
            push(
                m,
                format!("/v1.41{}%2f{}", &p[..i], &p[i + 1..]),
                "encoded-slash",
                false,
                vec![],
            );
            // Double encoding: decoded once is `%2F`, never a slash.
            push(
                m,
                format!("{}%252F{}", &p[..i], &p[i + 1..]),
                "double-encoding",
                true,
                vec![],
            );
            // Empty and dot segments, plain and encoded.
            push(
                m,
                format!("{}/{}", &p[..i], &p[i..]),
                "double-slash",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/.{}", &p[..i], &p[i..]),
                "dot-segment",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/%2E{}", &p[..i], &p[i..]),
                "dot-segment-encoded",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/x/..{}", &p[..i], &p[i..]),
                "dot-dot",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/x/%2e%2e{}", &p[..i], &p[i..]),
                "dot-dot-encoded",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/x/.%2E{}", &p[..i], &p[i..]),
                "dot-dot-encoded",
                true,
                vec![],
            );
            push(
                m,
                format!("{}/x%2F..%2F{}", &p[..i], &p[i + 1..]),
                "dot-dot-encoded-slash",
                true,
                vec![],
            );
        }
        if let Some(first) = p[1..].find('/') {
            push(
                m,
                format!("/%25{:02X}{}", p.as_bytes()[1], &p[2..]),
                "double-encoding",
                true,
                vec![],
            );
            push(
                m,
                format!("/{}{}", &p[1..=first].to_uppercase(), &p[first + 1..]),
                "case",
                false,
                vec![],
            );
        }
        // Traversal from a path a proxy would allow to this route.
        for a in allowed_looking {
            let up = "/..".repeat(a.matches('/').count());
            push(m, format!("{a}{up}{p}"), "traversal", true, vec![]);
            push(
                m,
                format!("/v1.41{a}{}{p}", "/%2e%2e".repeat(a.matches('/').count())),
                "traversal-encoded",
                true,
                vec![],
            );
            push(
                m,
                format!("{a}/..%2F..%2F{}", &p[1..]),
                "traversal-encoded-slash",
                true,
                vec![],
            );
        }
        // Suffixes: trailing slash, dot, matrix parameters, encoded query and fragment.
        push(m, format!("{p}/"), "trailing-slash", false, vec![]);
        push(m, format!("{p}/."), "trailing-dot", true, vec![]);
        push(m, format!("{p};"), "semicolon", false, vec![]);
        push(m, format!("{p};x=1"), "semicolon", false, vec![]);
        push(m, format!("{p};/json"), "semicolon", false, vec![]);
        push(m, format!("{p}%3Fall=1"), "encoded-query", false, vec![]);
        push(m, format!("{p}%23x"), "encoded-fragment", false, vec![]);
        push(m, p.to_uppercase(), "case", false, vec![]);
        // Bytes that must never pass.
        push(m, format!("{p}%00"), "nul", true, vec![]);
        push(m, format!("{p}%00/json"), "nul", true, vec![]);
        push(m, format!("{p}%0a"), "control", true, vec![]);
        push(m, format!("{p}%zz"), "bad-escape", true, vec![]);
        push(m, format!("{p}%"), "bad-escape", true, vec![]);
        push(m, format!("{p}%2"), "bad-escape", true, vec![]);
        // Absolute-form targets: the daemon takes the path.
        push(
            m,
            format!("http://docker{p}"),
            "absolute-form",
            false,
            vec![],
        );
        push(
            m,
            format!("http://docker/v1.41{p}"),
            "absolute-form",
            false,
            vec![],
        );
        push(
            m,
            format!("http://docker//{}", &p[1..]),
            "absolute-form",
            true,
            vec![],
        );
        // Upgrades and gRPC. Judged by what reaches the backend (bypass_corpus.rs `violation`):
        // HAProxy 3.0+ strips `h2c` and orphan `Upgrade` tokens itself before any rule runs.
        push(
            m,
            p.clone(),
            "grpc",
            true,
            vec![("Content-Type", "application/grpc")],
        );
        push(
            m,
            format!("/v1.41{p}"),
            "grpc",
            true,
            vec![("Content-Type", "application/grpc+proto")],
        );
        push(
            m,
            p.clone(),
            "upgrade-tcp",
            false,
            vec![("Upgrade", "tcp"), ("Connection", "Upgrade")],
        );
        push(
            m,
            p.clone(),
            "upgrade-websocket",
            false,
            vec![
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
        );
        push(
            m,
            p.clone(),
            "upgrade-connection-only",
            false,
            vec![("Connection", "keep-alive, Upgrade")],
        );
        push(
            m,
            p.clone(),
            "h2c",
            false,
            vec![
                ("Upgrade", "h2c"),
                ("Connection", "Upgrade, HTTP2-Settings"),
                ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
            ],
        );
        push(
            m,
            p.clone(),
            "h2c",
            false,
            vec![("Upgrade", "tcp, h2c"), ("Connection", "Upgrade")],
        );
    }
    out
}
