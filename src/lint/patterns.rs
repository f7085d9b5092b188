//! The files ACLs load with `-f`: which ones lint reads, from where, and why it reads no other.
//!
//! HAProxy opens the name written after `-f` as a path: an absolute one on the machine it runs
//! on, a relative one from the directory `default-path` chooses (2.4+: `current`, the directory
//! HAProxy was started in, the default; `config`, the config file's directory; `parent`, its
//! parent; `origin PATH`). From 3.0 a name may start with `file@` (the same file), `opt@` (a file
//! that may be missing: then an empty list) or `virt@` (no file: a list filled at run time).
//! Lint reads exactly:
//!
//! - a file given with `--pattern-file NAME=LOCAL` (the config's name, as written or without
//!   its prefix, and the local copy) or `--pattern-file PATH` (read at PATH);
//! - otherwise, for a relative name under `default-path config` or `parent`, the file at that
//!   place next to the config lint reads, when it exists: what HAProxy reads when the config's
//!   directory is deployed as it is checked in;
//! - otherwise, with `--compose`, for an absolute name under a directory the proxy service
//!   bind-mounts from beside the compose file (`./sockproxy:/usr/local/etc/haproxy:ro`), the file
//!   in that directory, when it exists: what the container sees.
//!
//! Every other name (an absolute path not given, a relative one under `current` or `origin`, a
//! `virt@` list, a config read from stdin) is not read: its ACLs stay unknown, with the reason
//! in their SPG001 finding. Every file read is named in an SPG008 finding on each line that
//! loads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::haproxy::eval::{self, PatternFiles};
use crate::haproxy::syntax::{Config, SectionKind};
use crate::haproxy::version::Version;

/// A `--pattern-file`, read once for every config of the run.
#[derive(Debug, Clone)]
pub struct GivenPatternFile {
    /// The name the config uses (`/usr/local/etc/haproxy/allowed.lst`), or None: the local path
    /// is also that name.
    pub name: Option<String>,
    pub local: PathBuf,
    pub contents: Arc<[u8]>,
}

impl GivenPatternFile {
    /// Reads the argument of `--pattern-file`: `NAME=LOCAL` or `PATH`. A file that cannot be
    /// read is an error naming it (exit 66).
    pub fn read(name: Option<String>, local: PathBuf) -> Result<GivenPatternFile> {
        let given = match &name {
            Some(n) => format!("{n}={}", local.display()),
            None => local.display().to_string(),
        };
        let contents = std::fs::read(&local).map_err(|source| Error::PatternFile {
            given,
            path: local.clone(),
            source,
        })?;
        Ok(GivenPatternFile {
            name,
            local,
            contents: Arc::from(contents),
        })
    }

    fn names(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.local.display().to_string())
    }
}

/// A file lint read for one `-f` name, for the SPG008 finding.
#[derive(Debug, Clone)]
pub struct ReadPatternFile {
    /// The name as written after `-f`.
    pub name: String,
    /// Where lint read it.
    pub local: PathBuf,
    /// How that place was chosen.
    pub how: String,
    /// Lines HAProxy takes as patterns (not comments, not empty).
    pub patterns: usize,
    /// Where the config names it: (line, column, width) of each name.
    pub at: Vec<(usize, usize, usize)>,
}

/// Every name written after `-f` in an `acl` line or an anonymous ACL (`{ ... }`), with where
/// it is written: (line, column, width).
fn names(config: &Config) -> BTreeMap<String, Vec<(usize, usize, usize)>> {
    let mut out: BTreeMap<String, Vec<(usize, usize, usize)>> = BTreeMap::new();
    for s in &config.sections {
        for d in &s.directives {
            let words: Vec<_> = d.words().collect();
            let mut depth = 0usize;
            for (i, w) in words.iter().enumerate() {
                match w.text {
                    "{" => depth += 1,
                    "}" => depth = depth.saturating_sub(1),
                    "-f" if depth > 0 || d.keyword() == "acl" => {
                        if let Some(name) = words.get(i + 1) {
                            out.entry(name.text.to_string()).or_default().push((
                                name.span.line(),
                                name.span.column(),
                                name.span.width(),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The `default-path` in effect at `line`: the last one of a `global` section before it.
fn default_path(config: &Config, line: usize) -> Option<(String, Option<String>)> {
    config
        .sections_of(SectionKind::Global)
        .flat_map(|s| s.directives.iter())
        .filter(|d| d.keyword() == "default-path" && d.line < line)
        .last()
        .and_then(|d| Some((d.arg(0)?.to_string(), d.arg(1).map(str::to_string))))
}

/// The pattern files of `config` (read from `path`, `-` for stdin) that lint reads, and why it
/// reads no other.
pub fn resolve(
    path: &Path,
    config: &Config,
    version: Version,
    given: &[GivenPatternFile],
) -> Result<(PatternFiles, Vec<ReadPatternFile>)> {
    resolve_with_mounts(path, config, version, given, &[])
}

/// [`resolve`], and an absolute name under a directory the proxy service bind-mounts from
/// beside its compose file (`mounts`: the path here, the path in the container; from
/// `lint --compose`) is read from there.
pub fn resolve_with_mounts(
    path: &Path,
    config: &Config,
    version: Version,
    given: &[GivenPatternFile],
    mounts: &[(PathBuf, String)],
) -> Result<(PatternFiles, Vec<ReadPatternFile>)> {
    let mut files = PatternFiles::default();
    let mut read = Vec::new();
    let prefixes = version.at_least(3, 0);
    for (name, lines) in names(config) {
        let (file, optional) = match name.split_once('@') {
            Some(("file", rest)) if prefixes => (rest, false),
            Some(("opt", rest)) if prefixes => (rest, true),
            Some(("virt", _)) if prefixes => {
                files.unread(
                    &name,
                    "a virtual list: HAProxy starts it empty and fills it at run time through its runtime API, so no file holds it".into(),
                );
                continue;
            }
            _ => (name.as_str(), false),
        };
        let mut found = None;
        if let Some(g) = given
            .iter()
            .find(|g| g.names() == name || g.names() == file)
        {
            found = Some((
                Arc::clone(&g.contents),
                g.local.clone(),
                "--pattern-file".to_string(),
            ));
        }
        let missing_hint = if optional {
            " (`opt@`: where it is missing, HAProxy loads an empty list)"
        } else {
            ""
        };
        let line = lines.first().map_or(0, |l| l.0);
        let mode = default_path(config, line);
        let config_dir = (path != Path::new("-"))
            .then(|| path.parent().unwrap_or(Path::new("")).to_path_buf())
            .map(|d| {
                if d.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    d
                }
            });
        if found.is_none() && !file.starts_with('/') {
            let beside = match (mode.as_ref().map(|(m, _)| m.as_str()), &config_dir) {
                (Some("config"), Some(dir)) => Some((dir.join(file), "default-path config")),
                (Some("parent"), Some(dir)) => {
                    Some((dir.join("..").join(file), "default-path parent"))
                }
                _ => None,
            };
            match beside {
                Some((local, how)) if local.is_file() => {
                    let contents = std::fs::read(&local).map_err(|source| Error::Read {
                        path: local.clone(),
                        source,
                    })?;
                    found = Some((Arc::from(contents), local, how.to_string()));
                }
                Some((local, how)) => files.unread(
                    &name,
                    format!("with `{how}` HAProxy reads {}, which does not exist here{missing_hint}; pass `--pattern-file {file}=LOCAL_COPY`", local.display()),
                ),
                None => {
                    let from = match &mode {
                        Some((m, Some(origin))) if m == "origin" => {
                            format!("with `default-path origin {origin}` HAProxy reads it from {origin}")
                        }
                        _ if config_dir.is_none() => {
                            "the config is read from stdin, so lint does not know its directory"
                                .into()
                        }
                        _ => "without `default-path config`, HAProxy reads a relative name from the directory it is started in".into(),
                    };
                    // A file of that name beside the config is only a hint: never read unasked.
                    let hint = config_dir
                        .as_ref()
                        .map(|d| d.join(file))
                        .filter(|p| p.is_file())
                        .map(|p| format!(" (if that is {}, `--pattern-file {file}={}`)", p.display(), p.display()))
                        .unwrap_or_default();
                    files.unread(
                        &name,
                        format!("{from}{missing_hint}; pass `--pattern-file {file}=LOCAL_COPY`{hint}"),
                    );
                }
            }
        } else if found.is_none() {
            // The longest mount target that holds the file.
            let mounted = mounts
                .iter()
                .filter_map(|(here, target)| {
                    let rest = Path::new(file).strip_prefix(target).ok()?;
                    Some((target.len(), here.join(rest), here, target))
                })
                .max_by_key(|m| m.0);
            match mounted {
                Some((_, local, here, target)) if local.is_file() => {
                    let contents = std::fs::read(&local).map_err(|source| Error::Read {
                        path: local.clone(),
                        source,
                    })?;
                    let how = format!("the proxy service mounts {} at {target}", here.display());
                    found = Some((Arc::from(contents), local, how));
                }
                Some((_, local, here, target)) => files.unread(
                    &name,
                    format!("the proxy service mounts {} at {target}, and {} does not exist here{missing_hint}; pass `--pattern-file {file}=LOCAL_COPY`", here.display(), local.display()),
                ),
                None => files.unread(
                    &name,
                    format!("a path on the machine HAProxy runs on{missing_hint}: lint reads it only when given, `--pattern-file {file}=LOCAL_COPY` or `--pattern-file {file}` (or from a directory the proxy service mounts, with `--compose`)"),
                ),
            }
        }
        if let Some((contents, local, how)) = found {
            read.push(ReadPatternFile {
                name: name.clone(),
                local,
                how,
                patterns: eval::file_patterns(&contents, false, usize::MAX).map_or(0, |p| p.len()),
                at: lines.clone(),
            });
            files.insert(&name, contents);
        }
    }
    Ok((files, read))
}
