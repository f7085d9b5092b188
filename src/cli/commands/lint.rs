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
    // Files are independent: worker threads take the next file from a shared counter, and this
    // thread prints each report as soon as all files before it are done (command-line order).
    // Only findings are kept per file, so memory stays flat however many files there are. JSON
    // and SARIF are one document each, so they are printed at the end.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let streaming = matches!(args.format, LintFormat::Text | LintFormat::Github);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut kept: Vec<FileReport> = Vec::new();
    let mut failed = false;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<FileReport>)>(threads * 4);
        for _ in 0..threads {
            let (tx, next, options, files) = (tx.clone(), &next, &options, &args.files);
            s.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if tx.send((i, lint::lint_file(path, options))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut expected = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&expected) {
                expected += 1;
                let report = match result {
                    Ok(r) => r,
                    Err(e) => {
                        printing::error(&e);
                        failed = true;
                        continue;
                    }
                };
                let one = std::slice::from_ref(&report);
                match args.format {
                    LintFormat::Text => printing::stdout(&format::text_findings(one)),
                    LintFormat::Github => printing::stdout(&format::github(one)),
                    _ => {}
                }
                if args.diff {
                    match report.diff() {
                        Some(d) if streaming => printing::stdout(&d),
                        Some(_) => {}
                        None => printing::status(&format!(
                            "{}: no baseline to diff against (pass --preset)",
                            report.file.display()
                        )),
                    }
                }
                kept.push(match args.format {
                    LintFormat::Json => report,
                    _ if args.diff && !streaming => report,
                    _ => report.into_summary(),
                });
            }
        }
    });
    match args.format {
        LintFormat::Text => printing::stdout(&format::summary(&kept)),
        LintFormat::Github => {}
        LintFormat::Json => printing::stdout(&format::json(&kept)),
        LintFormat::Sarif => printing::stdout(&format::sarif(&kept)),
    }
    if args.diff && !streaming {
        for r in &kept {
            if let Some(d) = r.diff() {
                printing::stdout(&d);
            }
        }
    }
    let reports = kept;
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
