//! `sockproxy-gen lint`: findings for each file, in the chosen format; exit 0 clean, 1 findings
//! at or above --fail-on, and the shared error codes (65 malformed, 66 unreadable, ...) when a
//! file cannot be linted.

use std::collections::BTreeMap;

use sockproxy_gen::dotenv;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::haproxy::syntax::Env;
use sockproxy_gen::lint::patterns::GivenPatternFile;
use sockproxy_gen::lint::{self, compose, format, FailedFile, FileReport, LintOptions, Severity};
use sockproxy_gen::policy::Notice;
use sockproxy_gen::Result;

use crate::cli::args::{FailOn, LintArgs, LintFormat};
use crate::cli::printing;

/// The values for "${VAR}" and env(VAR), with where each came from: compose service, then env
/// files, then --env (each wins over the one before).
fn environment(args: &LintArgs) -> Result<(Env, BTreeMap<String, String>, Option<String>)> {
    let mut env = Env::new();
    let mut image = None;
    let mut sources = BTreeMap::new();
    let given: Env = args
        .env
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    if let Some(path) = &args.compose {
        let text = lint::read(path)?;
        for (key, value, source) in compose::proxy_environment_with_sources(path, &text, &given)? {
            sources.insert(key.clone(), source.to_string());
            env.insert(key, value);
        }
        image = compose::proxy_image(path, &text, &given)?;
    }
    for path in &args.env_files {
        // Every variable, read as Compose reads the file (the process environment first).
        let text = lint::read(path)?;
        let file = dotenv::parse(&text, path, &|k| std::env::var(k).ok())?;
        for unset in file.unset.iter().filter(|u| !u.bare) {
            printing::notices(&[Notice::warning(format!(
                "{}:{}: ${} is not set, so it reads as an empty string",
                path.display(),
                unset.line,
                unset.name
            ))]);
        }
        for entry in file.entries {
            sources.insert(
                entry.key.clone(),
                format!("{}:{}", path.display(), entry.line),
            );
            env.insert(entry.key, entry.value);
        }
    }
    for (key, value) in given {
        sources.insert(key.clone(), "--env".into());
        env.insert(key, value);
    }
    Ok((env, sources, image))
}

pub fn run(args: LintArgs) -> ExitCode {
    let options = match environment(&args).and_then(|(env, sources, image)| {
        let mut options = LintOptions::new(args.presets.clone(), env, &args.haproxy_version)?;
        options.env_sources = sources;
        options.keep_matrices = matches!(args.format, LintFormat::Json);
        options.proxy_image = image;
        if let Some(path) = &args.compose {
            let text = lint::read(path)?;
            options.proxy_mounts = compose::proxy_local_mounts(path, &text, &options.env)?;
        }
        for p in &args.pattern_files {
            options
                .pattern_files
                .push(GivenPatternFile::read(p.name.clone(), p.local.clone())?);
        }
        Ok(options)
    }) {
        Ok(o) => o,
        Err(e) => {
            printing::error(&e);
            return e.exit_code();
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
    // The code of the first file that could not be linted (command-line order): a file that
    // cannot be read exits 66 and a malformed one 65, as in every other subcommand.
    let mut failed: Option<ExitCode> = None;
    let mut failures: Vec<FailedFile> = Vec::new();
    // Stdout cannot be written (a full disk): linting stops there.
    let mut unwritable: Option<sockproxy_gen::Error> = None;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<FileReport>)>(threads * 4);
        // One file is linted on this thread: glibc gives other threads their own malloc arena,
        // which held about a fifth more memory for one large config (10 MB config: 55 MB peak
        // RSS on a worker thread, 44 MB with every allocation in the main arena).
        if let [path] = args.files.as_slice() {
            // The channel has room for it: this send does not wait.
            let _ = tx.send((0, lint::lint_file(path, &options)));
        }
        let workers = if args.files.len() > 1 { threads } else { 0 };
        for _ in 0..workers {
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
                        failed.get_or_insert(e.exit_code());
                        let failure = FailedFile::new(&args.files[expected - 1], &e);
                        if matches!(args.format, LintFormat::Github) {
                            let printed = printing::stdout_part(&format::github(
                                &[],
                                std::slice::from_ref(&failure),
                            ));
                            if let Err(e) = printed {
                                unwritable = Some(e);
                                return;
                            }
                        }
                        failures.push(failure);
                        continue;
                    }
                };
                let one = std::slice::from_ref(&report);
                let printed = match args.format {
                    LintFormat::Text => printing::stdout_part(&format::text_findings(one)),
                    LintFormat::Github => printing::stdout_part(&format::github(one, &[])),
                    _ => Ok(()),
                };
                if let Err(e) = printed {
                    unwritable = Some(e);
                    return;
                }
                if args.diff {
                    match report.diff() {
                        Some(d) if streaming => {
                            if let Err(e) = printing::stdout_part(&d) {
                                unwritable = Some(e);
                                return;
                            }
                        }
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
    let finish = || -> Result<()> {
        if let Some(e) = unwritable {
            return Err(e);
        }
        match args.format {
            LintFormat::Text => printing::stdout_part(&format::summary(&kept, &failures))?,
            LintFormat::Github => {}
            LintFormat::Json => {
                printing::stdout_part_with(|out| format::write_json(out, &kept, &failures))?
            }
            LintFormat::Sarif => printing::stdout_part(&format::sarif(&kept, &failures))?,
        }
        if args.diff && !streaming {
            for r in &kept {
                if let Some(d) = r.diff() {
                    printing::stdout_part(&d)?;
                }
            }
        }
        // The end of the stream: syncs every part when stdout is a file.
        printing::stdout("")
    };
    if let Err(e) = finish() {
        printing::error(&e);
        return e.exit_code();
    }
    let reports = kept;
    if let Some(code) = failed {
        return code;
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
