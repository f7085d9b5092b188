//! Errors of the library, each kind with its own exit code so scripts can tell them apart.

use std::path::PathBuf;

/// Exit codes of the binary. Usage errors from clap exit with 2 (clap's own convention).
/// The rest follow sysexits.h, so they mean the same as in other Unix tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// An unknown preset, flag or route name, or a flag value that is not a boolean.
    Usage = 64,
    /// A preset file or env file whose content is malformed.
    DataErr = 65,
    /// An input file that does not exist or cannot be read.
    NoInput = 66,
    /// The output file cannot be created or written.
    CantCreate = 73,
}

/// Where in a file something went wrong (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: Option<usize>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        Ok(())
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

fn at(location: &Option<Location>) -> String {
    match location {
        Some(l) => format!("{l}: "),
        None => String::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown preset `{name}`{}; `sockproxy-gen presets` lists them, or pass your own with --preset-file", did_you_mean(.suggestion))]
    UnknownPreset {
        name: String,
        suggestion: Option<String>,
    },

    #[error("{}unknown flag `{name}`{}; the flags are Tecnativa's names (CONTAINERS, IMAGES, POST, ALLOW_START, ...), see `sockproxy-gen render --help`", at(.location), did_you_mean(.suggestion))]
    UnknownFlag {
        name: String,
        suggestion: Option<String>,
        location: Option<Location>,
    },

    #[error("{}flag {name}={value}: the value must be 0 or 1 (true/false/yes/no are accepted with a warning)", at(.location))]
    BadFlagValue {
        name: String,
        value: String,
        location: Option<Location>,
    },

    #[error("{}`{spec}` is not a route of the Docker Engine API catalog{}; `sockproxy-gen routes` lists them", at(.location), did_you_mean(.suggestion))]
    UnknownRoute {
        spec: String,
        suggestion: Option<String>,
        location: Option<Location>,
    },

    #[error("{location}: {message}")]
    Malformed { location: Location, message: String },

    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}; nothing was written, check that the directory exists and is writable", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::UnknownPreset { .. } | Error::Invalid(_) => ExitCode::Usage,
            Error::UnknownFlag { location, .. }
            | Error::BadFlagValue { location, .. }
            | Error::UnknownRoute { location, .. } => {
                // The same mistake in a file is a data error, on the command line a usage error.
                if location.is_some() {
                    ExitCode::DataErr
                } else {
                    ExitCode::Usage
                }
            }
            Error::Malformed { .. } => ExitCode::DataErr,
            Error::Read { .. } => ExitCode::NoInput,
            Error::Write { .. } => ExitCode::CantCreate,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
