//! The one integration-test binary (ripgrep's layout): a module per area, the shared helpers
//! and the harness of each real component in `common/`.

mod common;

mod bypass_corpus;
mod cli;
mod codes;
mod compose;
mod dotenv;
mod e2e_clients;
mod e2e_compose;
mod e2e_traefik;
mod env;
mod exit_codes;
mod gid_mechanism;
mod learn;
mod lint;
mod lint_compose;
mod lint_differential;
mod migrate;
mod output;
mod proxy_behaviour;
mod render;
mod self_contained;
mod verify;
