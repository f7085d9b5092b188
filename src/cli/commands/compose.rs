//! `sockproxy-gen compose`: the proxy as a compose (or Swarm) service, and its clients' side.

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::compose::{self, ComposeOptions};
use sockproxy_gen::policy::Policy;
use sockproxy_gen::{output, Result};

use super::render::{input_files, isolation, policy_inputs};
use crate::cli::args::ComposeArgs;
use crate::cli::printing;

pub fn run(args: ComposeArgs) -> Result<()> {
    if let Some(path) = &args.output {
        output::refuse_output_that_is_input(("--output", path), &input_files(&args.policy))?;
    }
    let catalog = Catalog::builtin();
    let inputs = policy_inputs(&args.policy, args.merge);
    let policy = Policy::build(catalog, &inputs)?;
    let options = ComposeOptions {
        service: args.service,
        image: args.image,
        config: args.config,
        socket: args.socket,
        port: args.port,
        publish: args.publish,
        swarm: args.swarm,
        network: args.network,
        isolation: isolation(&args.isolation, false, false),
        client_maxconn: args.isolation.client_maxconn,
    };
    let text = compose::compose(catalog, &policy, &inputs, &options)?;
    match &args.output {
        Some(path) => output::write_file(path, text.as_bytes())?,
        None => printing::stdout(&text)?,
    }
    Ok(())
}
