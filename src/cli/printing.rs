//! Everything the binary prints on stderr, and checked stdout writing.

use sockproxy_gen::output;
use sockproxy_gen::policy::{Notice, NoticeLevel};
use sockproxy_gen::verify::{Report, RouteReport};
use sockproxy_gen::{Error, Result};

pub fn error(e: &Error) {
    status(&format!("error: {e}"));
}

/// A one-line status message on stderr (stdout stays for data). A stderr that cannot be
/// written (closed, a full disk, a reader gone) is ignored: messages never stop the work
/// (`eprintln!` would panic).
pub fn status(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

pub fn notices(notices: &[Notice]) {
    for n in notices {
        let level = match n.level {
            NoticeLevel::Warning => "warning",
            NoticeLevel::Info => "note",
        };
        status(&format!("{level}: {}", n.message));
    }
}

/// Writes to stdout and checks it: a failed write (`/dev/full`, a full disk) is an error (exit
/// 73). A reader that went away (`| head`) is not worth a message: the rest of the output is
/// dropped, and the command still finishes its work (a report file, the findings) and exits
/// with its own code, so `lint ... | head` still fails on findings.
pub fn stdout(text: &str) -> Result<()> {
    unless_gone(|| output::write_stdout(text.as_bytes()))
}

/// Like `stdout`, for one part of a stream that ends with `stdout` (which syncs it all).
pub fn stdout_part(text: &str) -> Result<()> {
    unless_gone(|| output::write_stdout_part(text.as_bytes()))
}

/// [`stdout_part`] written as it is produced, for output too large to build first.
pub fn stdout_part_with(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    unless_gone(|| output::write_stdout_part_with(write))
}

/// Set once stdout's reader has gone: nothing more is written there.
static READER_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn unless_gone(write: impl FnOnce() -> Result<output::Stdout>) -> Result<()> {
    use std::sync::atomic::Ordering;
    if READER_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    if write()? == output::Stdout::ReaderGone {
        READER_GONE.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// A plain table: columns padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        // Empty trailing cells leave no trailing spaces.
        while parts.last().is_some_and(|p| p.trim().is_empty()) {
            parts.pop();
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// Pretty JSON with a final newline.
pub fn json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("report types serialise");
    text.push('\n');
    text
}

/// Every route with what was expected and seen, then the mismatches and a summary.
pub fn verify_table(report: &Report) -> String {
    let answers = |r: &RouteReport| {
        r.probes
            .iter()
            .map(|p| match (p.status, &p.error) {
                (Some(s), _) => s.to_string(),
                (None, Some(e)) => e.clone(),
                (None, None) => "-".into(),
            })
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let rows: Vec<Vec<String>> = report
        .routes
        .iter()
        .map(|r| {
            vec![
                r.route.clone(),
                r.expected.as_str().into(),
                match (r.observed, r.not_probed) {
                    (_, Some(_)) => "not probed".into(),
                    (Some(v), None) => v.as_str().into(),
                    (None, None) => "no answer".into(),
                },
                if r.not_probed.is_some() {
                    String::new()
                } else {
                    answers(r)
                },
                r.mismatch
                    .map(|m| format!("MISMATCH: {}", m.describe()))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = format!(
        "verify {} against policy: {}\n\n",
        report.target, report.policy
    );
    out.push_str(&table(
        &["ROUTE", "EXPECTED", "OBSERVED", "ANSWERS", ""],
        &rows,
    ));
    out.push('\n');
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for r in report.not_probed() {
        out.push_str(&format!(
            "not probed: {}: {}\n",
            r.route,
            r.not_probed.unwrap_or_default()
        ));
    }
    let s = &report.summary;
    out.push_str(&format!(
        "{} mismatch(es): {} over-grant(s), {} under-grant(s), {} unguarded body route(s), {} without answer. {} routes probed with {} requests ({} reached the daemon, {} denied), {} not probed.\n",
        s.mismatches, s.over_grants, s.under_grants, s.unguarded_bodies, s.no_answer, s.probed, s.requests, s.allowed, s.denied, s.not_probed
    ));
    out
}

/// A clap error: `--help` and `--version` print on stdout and exit 0; every other is a usage
/// error, printed by clap on stderr with its hint, and exits 64 like any other usage mistake.
pub fn usage(e: &clap::Error) -> sockproxy_gen::error::ExitCode {
    use sockproxy_gen::error::ExitCode;
    let printed = e.print();
    match (e.use_stderr(), printed) {
        (true, _) => ExitCode::Usage,
        (false, Ok(())) => ExitCode::Ok,
        (false, Err(source)) => {
            eprintln!("error: cannot write to stdout: {source}");
            ExitCode::CantCreate
        }
    }
}
