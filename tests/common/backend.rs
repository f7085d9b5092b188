//! A recording backend on a unix socket: answers every request `200 []` (keep-alive, as the
//! daemon does) and records what reached it, so a test can judge what the proxy let through.

use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Start line.
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.x message. `no_body` for responses to HEAD.
pub fn read_message(stream: &mut impl Read, no_body: bool) -> Option<Message> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        raw.push(byte[0]);
        if raw.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let mut lines = text.split("\r\n");
    let head = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut message = Message {
        head,
        headers,
        body: Vec::new(),
    };
    if !no_body {
        if let Some(len) = message
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body).ok()?;
            message.body = body;
        } else if message
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            message.body = read_chunked(stream)?;
        }
    }
    Some(message)
}

/// A chunked body, de-chunked (trailers skipped).
fn read_chunked(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let line = |stream: &mut dyn Read| -> Option<String> {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n") {
            if stream.read(&mut byte).ok()? == 0 {
                return None;
            }
            raw.push(byte[0]);
        }
        Some(String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned())
    };
    loop {
        let size = line(stream)?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            while !line(stream)?.is_empty() {}
            return Some(body);
        }
        let mut chunk = vec![0u8; size];
        stream.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk);
        line(stream)?;
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub message: Message,
}

pub struct RecordingBackend {
    pub path: PathBuf,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl RecordingBackend {
    pub fn start(path: &Path) -> RecordingBackend {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).expect("bind recording backend");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut writer = conn.try_clone().expect("clone unix stream");
                    let mut reader = BufReader::new(conn);
                    while let Some(message) = read_message(&mut reader, false) {
                        let mut words = message.head.split(' ');
                        let method = words.next().unwrap_or("").to_string();
                        let target = words.next().unwrap_or("").to_string();
                        let close = message
                            .header("connection")
                            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                        let body: &[u8] = if method == "HEAD" { b"" } else { b"[]" };
                        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\n";
                        shared.lock().unwrap().push(Recorded {
                            method,
                            target,
                            message,
                        });
                        if writer
                            .write_all(response.as_bytes())
                            .and_then(|()| writer.write_all(body))
                            .is_err()
                            || close
                        {
                            break;
                        }
                    }
                });
            }
        });
        RecordingBackend {
            path: path.to_path_buf(),
            log,
        }
    }

    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.log.lock().unwrap())
    }
}

impl Drop for RecordingBackend {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
