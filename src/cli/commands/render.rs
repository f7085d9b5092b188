//! `sockproxy-gen render`: policy in, haproxy.cfg out.

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::policy::{Policy, PolicyInputs};
use sockproxy_gen::render::{self, Listen, LogFormat, RenderInputs, RenderOptions};
use sockproxy_gen::{output, Result};

use crate::cli::args::{LogFormatArg, PolicyArgs, RenderArgs};
use crate::cli::printing;

/// The policy inputs of the command line (render, compose and verify take the same ones).
pub fn policy_inputs(args: &PolicyArgs, merge: bool) -> PolicyInputs {
    PolicyInputs {
        presets: args.presets.clone(),
        preset_files: args.preset_files.clone(),
        env_files: args.env_files.clone(),
        flags: args.flags.iter().map(ToString::to_string).collect(),
        merge,
        ..PolicyInputs::default()
    }
}

/// The files the policy options read, each with its option (an output must not be one of them).
pub fn input_files(args: &PolicyArgs) -> Vec<(&'static str, &std::path::Path)> {
    let presets = args
        .preset_files
        .iter()
        .map(|p| ("--preset-file", p.as_path()));
    let envs = args.env_files.iter().map(|p| ("--env-file", p.as_path()));
    presets.chain(envs).collect()
}

pub fn run(args: RenderArgs) -> Result<()> {
    if let Some(path) = &args.output {
        output::refuse_output_that_is_input(("--output", path), &input_files(&args.policy))?;
    }
    let catalog = Catalog::builtin();
    let policy_inputs = PolicyInputs {
        learn: args.learn.clone(),
        audit: args.audit.clone(),
        ..policy_inputs(&args.policy, args.merge)
    };
    let policy = Policy::build(catalog, &policy_inputs)?;
    let settings = &policy.flag_settings;
    let listen = match (&args.unix, &args.listen) {
        (Some(path), _) => Listen::Unix { path: path.clone() },
        (None, Some(address)) => Listen::Address {
            address: address.clone(),
        },
        (None, None) if args.ipv4_only || settings.disable_ipv6 => Listen::Ipv4,
        (None, None) => Listen::All,
    };
    let options = RenderOptions {
        listen,
        port: args.port,
        socket: args
            .socket
            .clone()
            .or_else(|| settings.socket_path.clone())
            .unwrap_or_else(|| render::DEFAULT_SOCKET.into()),
        log_format: match args.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        },
        health: args.health.clone(),
    };
    let inputs = RenderInputs {
        policy: policy_inputs,
        options,
    };
    let text = render::render(catalog, &policy, &inputs)?;
    printing::notices(&policy.notices);
    match &args.output {
        Some(path) => output::write_file(path, text.as_bytes())?,
        None => printing::stdout(&text)?,
    }
    Ok(())
}
