//! `sockproxy-gen verify`: probe a running proxy, compare with the policy, report.

use std::time::Duration;

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::lint::config::Env;
use sockproxy_gen::policy::{Policy, PolicyInputs};
use sockproxy_gen::verify::{self, Expectation, Target, VerifyOptions};
use sockproxy_gen::{output, Error, Result};

use crate::cli::args::{VerifyArgs, VerifyFormat};
use crate::cli::printing;

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let catalog = Catalog::builtin();
    let target = Target::parse(&args.target).map_err(Error::Invalid)?;
    let expected = match &args.expected.config {
        Some(path) => {
            let mut env = Env::new();
            for raw in &args.expected.env {
                let (k, v) = raw
                    .split_once('=')
                    .ok_or_else(|| Error::Invalid(format!("--env {raw}: expected KEY=VAL")))?;
                env.insert(k.to_string(), v.to_string());
            }
            verify::expectation_from_config(catalog, path, &env, args.expected.frontend.as_deref())?
        }
        None => expectation_from_policy(catalog, &args)?,
    };
    let options = VerifyOptions {
        target,
        timeout: Duration::from_secs(args.timeout.max(1)),
        api_version: args.api_version.clone(),
    };
    let report = verify::run(catalog, &expected, &options)?;
    match args.format {
        VerifyFormat::Table => printing::stdout(&printing::verify_table(&report)),
        VerifyFormat::Json => printing::stdout(&printing::json(&report)),
    }
    if let Some(path) = &args.report {
        output::write_atomic(path, verify::markdown(&report).as_bytes())?;
        printing::status(&format!("wrote {}", path.display()));
    }
    Ok(if report.summary.mismatches > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    })
}

fn expectation_from_policy(catalog: &Catalog, args: &VerifyArgs) -> Result<Expectation> {
    let inputs = PolicyInputs {
        presets: args.expected.presets.clone(),
        preset_files: args.expected.preset_files.clone(),
        env_files: args.expected.env_files.clone(),
        flags: args.expected.flags.clone(),
        merge: false,
    };
    // One listener is probed, so several presets mean the union of their grants.
    let policy = Policy::build(catalog, &inputs)?;
    Ok(Expectation::from_policy(&policy, inputs.describe()))
}
