//! The HAProxy model that lint and verify share: the configuration syntax ([`syntax`]), the
//! keywords of each section ([`keywords`]), the request evaluator ([`eval`]) and the permission
//! matrix it yields for the catalog ([`matrix`]). Nothing here knows about findings or output
//! formats: lint turns what this module computes into findings.

pub mod conditions;
pub mod eval;
pub mod keywords;
pub mod matrix;
pub mod syntax;
pub mod version;

use std::path::Path;

use crate::error::{Error, Location, Result};
use syntax::{Config, Env};
use version::Version;

/// Parses `text` for HAProxy `version`; the first line HAProxy's syntax does not allow is an
/// error with file:line:col.
pub fn parse(path: &Path, text: &str, env: &Env, version: Version) -> Result<Config> {
    let parsed = syntax::parse(text, env, version);
    match parsed.errors.first() {
        Some(e) => Err(Error::Malformed {
            location: Location {
                file: path.to_path_buf(),
                line: e.line,
                column: Some(e.column),
            },
            message: e.message.clone(),
        }),
        None => Ok(parsed),
    }
}
