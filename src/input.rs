//! Reading the user's files as UTF-8 text, with errors that name the file and the line.

use std::path::Path;

use crate::error::{Error, Location, Result};

/// The file's text. A read failure is [`Error::Read`]; invalid UTF-8 is [`Error::Malformed`] at
/// the line of the first bad byte, with "`what` is not valid UTF-8`suffix`" as the message.
pub fn read_text(path: &Path, what: &str, suffix: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text(path, bytes, what, suffix)
}

/// Bytes already read from `path` as text, with the errors of [`read_text`]: a file is read
/// once, so a pipe or `/dev/stdin` works.
pub fn text(path: &Path, bytes: Vec<u8>, what: &str, suffix: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
                column: None,
            },
            message: format!("{what} is not valid UTF-8{suffix}"),
        }
    })
}
