//! The one integration-test binary (ripgrep's layout): a module per area, the shared helpers
//! and the harness of each real component in `common/`.

mod common;

mod bypass_corpus;
mod cli;
mod compose;
mod e2e_podman;
mod env;
mod gid_mechanism;
mod lint;
mod lint_differential;
mod proxy_behaviour;
mod render;
mod verify;
