//! Everything the binary prints on stderr, and stdout writing that tolerates a closed pipe.

use std::io::Write;

use sockproxy_gen::policy::{Notice, NoticeLevel};
use sockproxy_gen::Error;

pub fn error(e: &Error) {
    eprintln!("error: {e}");
}

/// A one-line status message on stderr (stdout stays for data).
pub fn status(message: &str) {
    eprintln!("{message}");
}

pub fn notices(notices: &[Notice]) {
    for n in notices {
        let level = match n.level {
            NoticeLevel::Warning => "warning",
            NoticeLevel::Info => "note",
        };
        eprintln!("{level}: {}", n.message);
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a message.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
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
        if let Some(last) = parts.last_mut() {
            *last = last.trim_end().to_string();
        }
        out.push_str(&parts.join("  "));
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}
