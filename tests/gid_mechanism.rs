//! The GID mechanism for real, on each HAProxy version: HAProxy runs as an unprivileged uid
//! with the group `sockproxy-gen env` wrote, and reaches a root:GID 0660 socket served by
//! podman; the docker CLI works through it. Without the group, requests get 503 and /healthz
//! reports the socket down.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::podman::{docker, start_podman};

/// An unprivileged uid that is not the socket's owner and in none of its groups.
const UID: u32 = 99;
const SOCKET_GID: u32 = 4250;

#[test]
fn haproxy_as_the_socket_group_reaches_the_daemon() {
    for haproxy in common::haproxies() {
        let v = haproxy.version.clone();
        let work = haproxy.workdir();
        // HAProxy's unprivileged user must be able to walk into the work dir and read the config.
        std::fs::set_permissions(work.host(""), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = work.host("podman.sock");
        let _podman = start_podman(&socket);
        std::os::unix::fs::chown(&socket, Some(0), Some(SOCKET_GID)).unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o660)).unwrap();

        // The build-env step, as a user runs it.
        let env_file = work.host(".env");
        let out = std::process::Command::new(common::bin())
            .args(["env", "--socket"])
            .arg(&socket)
            .arg("--env-file")
            .arg(&env_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(&env_file).unwrap();
        // The group, and (since env records it for compose) the socket's path.
        let gid: u32 = env
            .lines()
            .find_map(|l| l.strip_prefix("PGID_DOCKER_SOCKET="))
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("{env}"));
        assert!(
            env.contains(&format!("DOCKER_SOCKET_PATH={}\n", socket.display())),
            "{env}"
        );
        assert_eq!(gid, SOCKET_GID);

        let (port, health_port) = (common::free_port(), common::free_port());
        let (_, config) = common::render_config(
            common::presets(&["traefik"]),
            port,
            health_port,
            &work.inner("podman.sock"),
        );
        std::fs::write(work.host("haproxy.cfg"), config).unwrap();
        let cfg_dir = tempfile::tempdir().unwrap();

        // With the socket's group: the docker CLI works through the proxy, /healthz is up.
        let proxy = haproxy.spawn_as(&work.inner("haproxy.cfg"), port, Some((UID, gid)));
        let ps = docker(port, cfg_dir.path(), &["ps", "-a"]);
        assert!(
            ps.status.success(),
            "HAProxy {v} as {UID}:{gid}: docker ps: {}",
            String::from_utf8_lossy(&ps.stderr)
        );
        assert_eq!(
            common::healthz(health_port),
            200,
            "HAProxy {v}: /healthz with the group"
        );
        drop(proxy);

        // Without it (its own group only): 503, and /healthz reports the socket down.
        let proxy = haproxy.spawn_as(&work.inner("haproxy.cfg"), port, Some((UID, UID)));
        let (status, _) = common::HttpClient::new(port)
            .send(b"GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n");
        assert_eq!(status, 503, "HAProxy {v} without the socket's group");
        let ps = docker(port, cfg_dir.path(), &["ps"]);
        assert!(
            !ps.status.success(),
            "HAProxy {v}: docker ps must fail without the group"
        );
        common::wait_for_healthz(
            health_port,
            503,
            &format!("HAProxy {v} without the socket group"),
        );
        drop(proxy);
        println!("HAProxy {v}: as uid {UID} with gid {gid} (from `env`) docker ps works; without it 503 and /healthz 503");
    }
}
