//! The real daemon behind a proxy under test: the Docker Engine (moby) or podman's
//! Docker-compatible service, so one test body can run in front of each.

use std::path::Path;
use std::process::Output;

use super::podman::{podman, start_podman};
use super::{engine, Running};

/// The daemon behind the proxy.
#[derive(Debug, Clone, Copy)]
pub enum Daemon {
    Engine,
    Podman,
}

impl Daemon {
    /// Makes the daemon's socket appear at `at` (inside HAProxy's work directory); what keeps
    /// it there.
    pub fn socket_at(self, at: &Path) -> Option<Running> {
        match self {
            // A hard link reaches the same socket from inside a chroot (same file system).
            Daemon::Engine => {
                std::fs::hard_link(engine::socket(), at).expect("link the engine's socket");
                None
            }
            Daemon::Podman => Some(start_podman(at)),
        }
    }

    /// The image of static busybox that the daemon has locally.
    pub fn image(self) -> &'static str {
        match self {
            Daemon::Engine => engine::BUSYBOX,
            Daemon::Podman => super::podman::IMAGE,
        }
    }

    /// The daemon's own CLI, for set-up and clean-up behind the proxy's back.
    pub fn admin(self, args: &[&str]) -> Output {
        match self {
            Daemon::Engine => engine::docker(args),
            Daemon::Podman => podman(args),
        }
    }

    /// [`Daemon::admin`], which must succeed.
    pub fn admin_ok(self, args: &[&str]) {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "{self:?}: {}: {}",
            args.join(" "),
            super::output_text(&out)
        );
    }

    /// Sorted lines describing the daemon's objects that a harmless command must leave as they
    /// were: on the engine, [`engine::state`] of the objects labelled `label` (and every image
    /// and service); on podman, [`super::podman::state`] of every object.
    pub fn state(self, label: &str) -> Vec<String> {
        match self {
            Daemon::Engine => engine::state(label),
            Daemon::Podman => super::podman::state(),
        }
    }

    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Engine => "the Docker Engine",
            Daemon::Podman => "podman",
        }
    }
}
