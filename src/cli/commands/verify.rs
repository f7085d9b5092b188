//! `sockproxy-gen verify`: probe a running proxy, compare with the policy, report.

use std::time::Duration;

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::haproxy::syntax::Env;
use sockproxy_gen::lint::patterns::GivenPatternFile;
use sockproxy_gen::policy::Policy;
use sockproxy_gen::verify::{self, Expectation, VerifyOptions};
use sockproxy_gen::{output, Result};

use super::render::{input_files, policy_inputs};
use crate::cli::args::{VerifyArgs, VerifyFormat};
use crate::cli::printing;

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    if let Some(path) = &args.report {
        let mut inputs = input_files(&args.expected);
        inputs.extend(args.config.as_deref().map(|c| ("--config", c)));
        output::refuse_output_that_is_input(("--report", path), &inputs)?;
    }
    let catalog = Catalog::builtin();
    let expected = match &args.config {
        Some(path) => {
            let env: Env = args
                .env
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect();
            let given = args
                .pattern_files
                .iter()
                .map(|p| GivenPatternFile::read(p.name.clone(), p.local.clone()))
                .collect::<Result<Vec<_>>>()?;
            verify::expectation_from_config(catalog, path, &env, args.frontend.as_deref(), &given)?
        }
        None => {
            // One listener is probed, so several sources mean the union of their grants.
            let inputs = policy_inputs(&args.expected, false);
            let policy = Policy::build(catalog, &inputs)?;
            Expectation::from_policy(&policy, inputs.describe())
        }
    };
    let options = VerifyOptions {
        target: args.target.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        api_version: args.api_version.clone(),
    };
    let report = verify::run(catalog, &expected, &options)?;
    match args.format {
        VerifyFormat::Table => printing::stdout(&printing::verify_table(&report))?,
        VerifyFormat::Json => printing::stdout(&printing::json(&report))?,
    }
    if let Some(path) = &args.report {
        output::write_file(path, verify::markdown(&report).as_bytes())?;
        printing::status(&format!("wrote {}", path.display()));
    }
    Ok(if report.summary.mismatches > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    })
}
