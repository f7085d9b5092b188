//! Errors of the library, each kind with its own exit code so scripts can tell them apart.

use std::path::PathBuf;

/// Exit codes of the binary: one contract for every subcommand. 1 means the command ran and
/// found something; every code from 64 up means it could not do its job, and the code says why
/// (sysexits.h numbers, so they mean the same as in other Unix tools). The same mistake gets the
/// same code in every subcommand: an unknown preset is 64 for `render`, `lint` and `verify`
/// alike, and a file that cannot be read is 66 whichever option named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success: done, or nothing found.
    Ok = 0,
    /// The command ran and found something: `lint` findings at or above `--fail-on`, `verify`
    /// mismatches, `env --check` a stale file.
    Findings = 1,
    /// A command-line mistake: unknown option, subcommand, preset, flag, route or section name,
    /// a bad value, a missing policy, an output that is also an input.
    Usage = 64,
    /// An input file's content is malformed (the message gives file:line), or is not what the
    /// command needs (a path that is not a socket).
    DataErr = 65,
    /// An input file or the Docker socket does not exist or cannot be read.
    NoInput = 66,
    /// The proxy to verify cannot be reached, or its daemon does not answer.
    Unavailable = 69,
    /// An output (a file, a report or stdout) cannot be written; an existing file is left as it
    /// was.
    CantCreate = 73,
    /// The target answers, but not as a Docker API.
    Protocol = 76,
    /// Not allowed to look at the socket.
    NoPerm = 77,
    /// The setup cannot work as it is (the socket belongs to group 0).
    Config = 78,
}

impl ExitCode {
    /// Every code, in order, for the documentation.
    pub const ALL: [ExitCode; 10] = [
        ExitCode::Ok,
        ExitCode::Findings,
        ExitCode::Usage,
        ExitCode::DataErr,
        ExitCode::NoInput,
        ExitCode::Unavailable,
        ExitCode::CantCreate,
        ExitCode::Protocol,
        ExitCode::NoPerm,
        ExitCode::Config,
    ];

    /// One line for `--help` and README: when a run ends with this code.
    pub fn meaning(self) -> &'static str {
        // Short enough for one line of --help at 100 columns.
        match self {
            ExitCode::Ok => "done; nothing found (lint, verify), the file is current (env --check)",
            ExitCode::Findings => "found something: lint findings at --fail-on, verify mismatches, a stale env --check",
            ExitCode::Usage => "command-line mistake: unknown option or name, bad value, no policy, output = input",
            ExitCode::DataErr => "malformed input: a file that cannot be read as what it should be (file:line), not a socket",
            ExitCode::NoInput => "an input file or the Docker socket does not exist or cannot be read",
            ExitCode::Unavailable => "verify: the target cannot be reached or does not answer, or its socket is down",
            ExitCode::CantCreate => "an output file, report or stdout cannot be written (an existing file stays as it was)",
            ExitCode::Protocol => "verify: the target answers, but not as a Docker API",
            ExitCode::NoPerm => "env: permission denied looking at the socket",
            ExitCode::Config => "env: the socket belongs to group 0, which must not be given to HAProxy",
        }
    }

    /// The table of every code, as plain text for `--help`.
    pub fn help_table() -> String {
        let mut out = String::from("Exit codes (the same in every subcommand):\n");
        for code in ExitCode::ALL {
            out.push_str(&format!("  {:>2}  {}\n", code as u8, code.meaning()));
        }
        out
    }

    /// The table of every code, as Markdown for README.md (a test keeps them equal).
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | meaning |\n|---|---|\n");
        for code in ExitCode::ALL {
            out.push_str(&format!("| {} | {} |\n", code as u8, code.meaning()));
        }
        out
    }
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

    #[error("unknown section `{name}`{}; the sections are {}", .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), .sections.join(", "))]
    UnknownSection {
        name: String,
        suggestion: Option<String>,
        sections: Vec<String>,
    },

    #[error("{location}: {message}")]
    Malformed { location: Location, message: String },

    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A `--pattern-file` that cannot be read: the ACLs that name it would be judged on nothing.
    #[error("cannot read the pattern file {} (--pattern-file {given}): {source}; give the path of a local copy of the file the config names", .path.display())]
    PatternFile {
        given: String,
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

    /// The inputs were read but hold nothing the command can use (a log without a request
    /// line): a data error, not a command-line one.
    #[error("{0}")]
    Unusable(String),

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

    #[error("cannot write {}: it is {what}; give a regular file or a path that does not exist yet", .path.display())]
    OutputNotAFile { path: PathBuf, what: &'static str },

    #[error("cannot replace {}: it belongs to {uid}:{gid} and the new file cannot be given that owner ({source}); the file was left as it was: run as root or as its owner, or write to a new path", .path.display())]
    OutputOwner {
        path: PathBuf,
        uid: u32,
        gid: u32,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}; the output is incomplete", .path.display())]
    OutputIncomplete {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("wrote {} but cannot sync its directory: {source}; the new file may not survive a crash, run `sync` and check the disk", .path.display())]
    OutputSync {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write to stdout: {source}; the output is incomplete, check where stdout goes (a full disk?)")]
    Stdout { source: std::io::Error },

    #[error("{output_option} {} is the same file as {input_option} {}: writing it would destroy the input; nothing was read or written, give {output_option} another path", .output.display(), .input.display())]
    OutputIsInput {
        output_option: &'static str,
        output: PathBuf,
        input_option: &'static str,
        input: PathBuf,
    },
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::UnknownPreset { .. } | Error::UnknownSection { .. } | Error::Invalid(_) => {
                ExitCode::Usage
            }
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
            Error::Malformed { .. } | Error::Unusable(_) => ExitCode::DataErr,
            Error::Read { .. } | Error::PatternFile { .. } | Error::NoSocket { .. } => {
                ExitCode::NoInput
            }
            Error::NotASocket { .. } => ExitCode::DataErr,
            Error::SocketPermission { .. } => ExitCode::NoPerm,
            Error::RootGroup { .. } => ExitCode::Config,
            Error::Unreachable { .. } => ExitCode::Unavailable,
            Error::NotDockerApi { .. } => ExitCode::Protocol,
            Error::Write { .. } => ExitCode::CantCreate,
            Error::OutputNotAFile { .. }
            | Error::OutputOwner { .. }
            | Error::OutputIncomplete { .. }
            | Error::OutputSync { .. }
            | Error::Stdout { .. } => ExitCode::CantCreate,
            Error::OutputIsInput { .. } => ExitCode::Usage,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
