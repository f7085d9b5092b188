//! Behaviour of the rendered config on each HAProxy version that the bypass corpus does not
//! cover: hijacked connections (exec start answers 101, then bytes flow both ways, the
//! HAProxy 3.0 trap of T#132), /healthz following the socket's state, JSON log lines.

use crate::common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use common::backend::read_message;
use sockproxy_gen::policy::PolicyInputs;
use sockproxy_gen::render::{LogFormat, RenderOptions};

/// A daemon stand-in that hijacks like dockerd: an Upgrade request gets `101 UPGRADED`, then
/// the connection echoes raw bytes; anything else gets `200 []`.
fn start_hijacking_backend(path: &Path) {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            std::thread::spawn(move || {
                let mut writer = conn.try_clone().unwrap();
                let mut reader = BufReader::new(conn);
                while let Some(m) = read_message(&mut reader, false) {
                    if m.header("upgrade").is_some() {
                        let _ = writer.write_all(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
                        let mut buf = [0u8; 64];
                        while let Ok(n) = reader.read(&mut buf) {
                            if n == 0 || writer.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    let body: &[u8] = if m.head.starts_with("HEAD ") {
                        b""
                    } else {
                        b"[]"
                    };
                    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
                    if writer
                        .write_all(head)
                        .and_then(|()| writer.write_all(body))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
}

fn render_flags(
    flags: &[&str],
    port: u16,
    health: u16,
    socket: &Path,
    log_format: LogFormat,
) -> String {
    let inputs = PolicyInputs {
        flags: flags.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let options = RenderOptions {
        log_format,
        ..common::loopback_options(port, health, socket)
    };
    common::render_text(inputs, options).1
}

/// Sends a hijacking request; Ok("tunnel") when it got 101 and bytes echo back through it,
/// Err(the status line) otherwise.
fn hijack(port: u16, request: &[u8]) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let response = read_message(&mut reader, true).ok_or("no response")?;
    if !response.head.contains(" 101 ") {
        return Err(response.head);
    }
    s.write_all(b"ping through the tunnel").unwrap();
    let mut echoed = [0u8; 23];
    reader
        .read_exact(&mut echoed)
        .map_err(|e| format!("tunnel: {e}"))?;
    if &echoed != b"ping through the tunnel" {
        return Err("tunnel garbled the bytes".into());
    }
    Ok("tunnel".into())
}

#[test]
fn hijack_health_and_json_logs_on_every_version() {
    for haproxy in common::haproxies() {
        let v = haproxy.version.clone();
        let work = haproxy.workdir();
        start_hijacking_backend(&work.host("docker.sock"));
        let (port, health) = (common::free_port(), common::free_port());
        let config = render_flags(
            &["EXEC=1", "POST=1", "CONTAINERS=1"],
            port,
            health,
            &work.inner("docker.sock"),
            LogFormat::Json,
        );
        std::fs::write(work.host("haproxy.cfg"), config).unwrap();
        let proxy = haproxy.spawn(&work.inner("haproxy.cfg"), port);

        // attach (no body): 101, then bytes both ways through the tunnel, on every version.
        let attach = b"POST /v1.41/containers/3f2a9c1e7b4d/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n";
        assert_eq!(
            hijack(port, attach).as_deref(),
            Ok("tunnel"),
            "HAProxy {v}: attach"
        );
        // exec start carries a JSON body with its upgrade, as the docker CLI sends it. HAProxy
        // 2.6 drops such upgrades (haproxy/haproxy#2684); render warns about it. If this starts
        // passing on 2.6, drop the warning (policy.rs upgrade_body_notice).
        let exec = b"POST /v1.41/exec/3f2a9c1e7b4d/start HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        let exec_result = hijack(port, exec);
        if haproxy.line() == "2.6" {
            assert!(
                exec_result.is_err(),
                "HAProxy {v}: exec start upgrades now; drop the 2.6 warning"
            );
        } else {
            assert_eq!(
                exec_result.as_deref(),
                Ok("tunnel"),
                "HAProxy {v}: exec start"
            );
        }

        // The same upgrade on a non-hijacking route is denied.
        let (status, denied) = common::HttpClient::new(port).send(b"GET /containers/json HTTP/1.1\r\nHost: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n");
        assert_eq!(status, 403, "HAProxy {v}");
        assert!(
            String::from_utf8_lossy(&denied.body).contains("deny:upgrade"),
            "HAProxy {v}"
        );

        // /healthz follows the socket: up now, down within seconds once the socket is gone.
        assert_eq!(
            common::healthz(health),
            200,
            "HAProxy {v}: /healthz with the socket up"
        );
        std::fs::remove_file(work.host("docker.sock")).unwrap();
        common::wait_for_healthz(
            health,
            503,
            &format!("HAProxy {v} after the socket went away"),
        );
        // Policy-independent: the health frontend answers nothing else.
        assert_eq!(
            common::HttpClient::new(health)
                .send(b"GET /containers/json HTTP/1.1\r\nHost: x\r\n\r\n")
                .0,
            404
        );

        // One JSON log line per request, with the deciding rule; denials included.
        let log = proxy.stop();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("HAProxy {v}: log line is not JSON ({e}): {l}"))
            })
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l["rule"] == "allow:POST:/containers/**/attach" && l["status"] == 101),
            "HAProxy {v}: {log}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l["rule"] == "deny:upgrade" && l["status"] == 403),
            "HAProxy {v}: {log}"
        );
        println!("HAProxy {v}: attach 101 + tunnel, exec start {exec_result:?}, upgrade denial, /healthz up/down, JSON logs: ok");
    }
}
