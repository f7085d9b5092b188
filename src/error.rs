//! Errors of the library, each kind with its own exit code so scripts can tell them apart.

use std::path::PathBuf;

/// Exit codes of the binary. Usage errors from clap exit with 2 (clap's own convention).
/// The rest follow sysexits.h, so they mean the same as in other Unix tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// `env --check` found the file out of date; `verify` found mismatches; `lint` found
    /// findings at or above `--fail-on`.
    Findings = 1,
    /// `lint` could not run: a file is unreadable, binary, not UTF-8 or not parsable (lint's
    /// contract, shared with shellcheck and hadolint, keeps every failure to run on 2).
    LintFailed = 2,
    /// An unknown preset, flag or route name, or a flag value that is not a boolean.
    Usage = 64,
    /// A preset file or env file whose content is malformed.
    DataErr = 65,
    /// An input file that does not exist or cannot be read.
    NoInput = 66,
    /// The output file cannot be created or written.
    CantCreate = 73,
    /// The proxy to verify cannot be reached, or its daemon does not answer.
    Unavailable = 69,
    /// The target answers, but not as a Docker API.
    Protocol = 76,
    /// Not allowed to look at the socket.
    NoPerm = 77,
    /// The setup cannot work as it is (the socket belongs to group 0).
    Config = 78,
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

    #[error("cannot verify {target}: {reason}; check that the proxy runs and listens there")]
    Unreachable { target: String, reason: String },

    #[error("{target} is not a Docker API: {reason}; give the proxy's listener (tcp://HOST:PORT or unix:///PATH)")]
    NotDockerApi { target: String, reason: String },

    #[error("no Docker socket found; looked at: {}; pass --socket PATH (or set DOCKER_HOST=unix:///path/to/docker.sock)", .looked.join(", "))]
    NoSocket { looked: Vec<String> },

    #[error("{} is not a socket; pass the Docker daemon's socket with --socket PATH", .path.display())]
    NotASocket { path: PathBuf },

    #[error("permission denied looking at {}; run as a user that can see the socket (root, or a member of its group)", .path.display())]
    SocketPermission { path: PathBuf },

    #[error("{} belongs to group 0 (root): PGID_DOCKER_SOCKET=0 would put HAProxy in the root group, which opens every root-group file the container can see. Give the socket a group of its own (for Docker: the daemon's `group` setting, usually `docker`; by hand: `groupadd docker && chgrp docker SOCKET && chmod 660 SOCKET`) and run again", .path.display())]
    RootGroup { path: PathBuf },
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
            Error::Read { .. } | Error::NoSocket { .. } => ExitCode::NoInput,
            Error::NotASocket { .. } => ExitCode::DataErr,
            Error::SocketPermission { .. } => ExitCode::NoPerm,
            Error::RootGroup { .. } => ExitCode::Config,
            Error::Unreachable { .. } => ExitCode::Unavailable,
            Error::NotDockerApi { .. } => ExitCode::Protocol,
            Error::Write { .. } => ExitCode::CantCreate,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
