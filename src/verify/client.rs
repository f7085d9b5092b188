//! A deliberately small HTTP/1.1 client: one request per connection (`Connection: close`), and
//! only the status line and headers are read. A probe never waits for a body, so a route that
//! would stream (logs, events, exports) cannot hold the run up.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Where the proxy listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Target {
    Tcp { host: String, port: u16 },
    Unix { path: PathBuf },
}

impl Target {
    /// `tcp://HOST:PORT`, `http://HOST:PORT`, `HOST:PORT`, `unix:///PATH` or `/PATH`.
    pub fn parse(s: &str) -> Result<Target, String> {
        if let Some(path) = s.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "`{s}`: a unix target needs an absolute path, e.g. unix:///run/sockproxy.sock"
                ));
            }
            return Ok(Target::Unix { path: path.into() });
        }
        if s.starts_with('/') {
            return Ok(Target::Unix { path: s.into() });
        }
        if s.starts_with("https://") || s.starts_with("ssh://") {
            return Err(format!(
                "`{s}`: only plain HTTP over tcp:// or unix:// is supported; probe the proxy's listener itself"
            ));
        }
        let rest = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s)
            .trim_end_matches('/');
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| {
            format!("`{s}`: give the port, e.g. tcp://127.0.0.1:2375 or unix:///path/to/socket")
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{s}`: `{port}` is not a port number"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("`{s}`: the host is missing"));
        }
        Ok(Target::Tcp {
            host: host.to_string(),
            port,
        })
    }

    /// The value of the `Host` header.
    fn host_header(&self) -> String {
        match self {
            Target::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Tcp { host, port } => format!("{host}:{port}"),
            // What the docker CLI sends over a unix socket.
            Target::Unix { .. } => "api.moby.localhost".into(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Target::Unix { path } => write!(f, "unix://{}", path.display()),
        }
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection failed: {0}")]
    Io(std::io::Error),
    #[error("the answer is not HTTP")]
    NotHttp,
}

/// The status and the headers a probe cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `Api-Version`, which every Docker-API daemon sends.
    pub api_version: Option<String>,
    pub server: Option<String>,
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn connect(target: &Target, timeout: Duration) -> Result<Box<dyn Stream>, Failure> {
    match target {
        Target::Tcp { host, port } => {
            let addrs = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(Failure::Connect)?;
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(s) => {
                        s.set_read_timeout(Some(timeout)).map_err(Failure::Io)?;
                        s.set_write_timeout(Some(timeout)).map_err(Failure::Io)?;
                        let _ = s.set_nodelay(true);
                        return Ok(Box::new(s));
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(Failure::Connect(last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address")
            })))
        }
        Target::Unix { path } => {
            let s = UnixStream::connect(path).map_err(Failure::Connect)?;
            s.set_read_timeout(Some(timeout)).map_err(Failure::Io)?;
            s.set_write_timeout(Some(timeout)).map_err(Failure::Io)?;
            Ok(Box::new(s))
        }
    }
}

fn io_failure(e: std::io::Error, timeout: Duration) -> Failure {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::Timeout(timeout),
        _ => Failure::Io(e),
    }
}

/// Sends one request and reads the answer's head.
pub fn send(
    target: &Target,
    method: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<Answer, Failure> {
    let mut stream = connect(target, timeout)?;
    let mut request = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: sockproxy-gen-verify/{}\r\nConnection: close\r\n",
        target.host_header(),
        crate::VERSION
    );
    if let Some(ct) = content_type {
        request.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if method != "GET" && method != "HEAD" && method != "OPTIONS" || !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream
        .write_all(&bytes)
        .map_err(|e| io_failure(e, timeout))?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| io_failure(e, timeout))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                Failure::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed without an answer",
                ))
            } else {
                Failure::NotHttp
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                return Ok(Answer {
                    status: response.code.ok_or(Failure::NotHttp)?,
                    api_version: header("api-version"),
                    server: header("server"),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => continue,
            _ => return Err(Failure::NotHttp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let tcp = |h: &str, p| Target::Tcp {
            host: h.into(),
            port: p,
        };
        assert_eq!(
            Target::parse("tcp://127.0.0.1:2375"),
            Ok(tcp("127.0.0.1", 2375))
        );
        assert_eq!(Target::parse("http://proxy:2375/"), Ok(tcp("proxy", 2375)));
        assert_eq!(Target::parse("[::1]:2375"), Ok(tcp("::1", 2375)));
        assert_eq!(
            Target::parse("unix:///run/p.sock"),
            Ok(Target::Unix {
                path: "/run/p.sock".into()
            })
        );
        assert!(Target::parse("tcp://host").is_err());
        assert!(Target::parse("https://host:2376").is_err());
        assert!(Target::parse("unix://relative.sock").is_err());
        assert!(Target::parse("tcp://h:99999").is_err());
        assert_eq!(tcp("::1", 1).to_string(), "tcp://[::1]:1");
    }
}
