//! `sockproxy-gen lint`: findings for each file, in the chosen format; exit 0 clean, 1 findings
//! at or above --fail-on, 2 when a file cannot be linted.

use sockproxy_gen::error::ExitCode;
use sockproxy_gen::flags;
use sockproxy_gen::lint::config::Env;
use sockproxy_gen::lint::{self, compose, format, FileReport, LintOptions, Severity};
use sockproxy_gen::{Error, Result};

use crate::cli::args::{FailOn, LintArgs, LintFormat};
use crate::cli::printing;

/// The values for "${VAR}" and env(VAR): compose service, then env files, then --env.
fn environment(args: &LintArgs) -> Result<Env> {
    let mut env = Env::new();
    if let Some(path) = &args.compose {
        let text = lint::read(path)?;
        env.extend(compose::proxy_environment(path, &text)?);
    }
    for path in &args.env_files {
        for v in flags::read_env_file(path)? {
            env.insert(v.name, v.value);
        }
    }
    for raw in &args.env {
        let (k, v) = raw
            .split_once('=')
            .ok_or_else(|| Error::Invalid(format!("--env {raw}: expected KEY=VAL")))?;
        env.insert(k.to_string(), v.to_string());
    }
    Ok(env)
}

pub fn run(args: LintArgs) -> ExitCode {
    let options = match environment(&args)
        .and_then(|env| LintOptions::new(args.presets.clone(), env, &args.haproxy_version))
    {
        Ok(o) => o,
        Err(e) => {
            printing::error(&e);
            return ExitCode::LintFailed;
        }
    };
    let mut reports: Vec<FileReport> = Vec::new();
    let mut failed = false;
    for path in &args.files {
        match lint::lint_file(path, &options) {
            Ok(r) => reports.push(r),
            Err(e) => {
                printing::error(&e);
                failed = true;
            }
        }
    }
    let out = match args.format {
        LintFormat::Text => format::text(&reports),
        LintFormat::Json => format::json(&reports),
        LintFormat::Sarif => format::sarif(&reports),
        LintFormat::Github => format::github(&reports),
    };
    printing::stdout(&out);
    if args.diff {
        for r in &reports {
            match r.diff() {
                Some(d) => printing::stdout(&d),
                None => printing::status(&format!(
                    "{}: no baseline to diff against (pass --preset)",
                    r.file.display()
                )),
            }
        }
    }
    if failed {
        return ExitCode::LintFailed;
    }
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    match (lint::worst(&reports), threshold) {
        (Some(worst), Some(t)) if worst >= t => ExitCode::Findings,
        _ => ExitCode::Ok,
    }
}
