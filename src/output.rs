//! The one writer of everything the tool writes (`-o`, `--report`, `env`'s `.env`) and of
//! stdout. It never destroys what it writes to: a regular file is replaced atomically, keeping
//! its owner, group and mode; a device or a pipe is written to, never replaced; anything else
//! is refused. Every write error is reported, stdout's included.

use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `contents` to `path`, according to what `path` is (symlinks followed):
///
/// - **A regular file** is replaced atomically, if we may write to it (a read-only file refuses,
///   as with `>`): a temp file in the same directory gets the old file's owner and group, the
///   contents, then the old mode (in that order: a chown, and a write by a non-root user, clear
///   set-id bits), an fsync, then is renamed over the old name, and the directory is fsynced.
///   A reader sees the old file or the new one, never half of one. If the owner cannot be kept (a
///   non-root user replacing another user's file in a writable directory), the write is
///   refused and the file stays as it was. ACLs, extended attributes and hard links to the old
///   file are not carried over (a hard link keeps the old contents).
/// - **A new path** gets a new file with mode 0666 minus the umask, as with any Unix tool: the
///   umask decides. A config that HAProxy reads in a container as its own user needs to be
///   readable by it, so keep the usual 022 (0644) or grant that user access another way.
/// - **A symlink** (a chain too, relative or absolute, even a dangling one) is written through
///   to its final target, which the rules above apply to; the link itself stays a link.
/// - **A character device or a FIFO** (`/dev/null`, `/dev/stdout` on a terminal or a pipe,
///   `>(cmd)`) is opened and written directly, never replaced; a write error (`/dev/full`) is
///   an error, a broken pipe included (an output named on the command line that was not
///   written in full is a failure, unlike stdout cut short by `| head`). A FIFO with no reader
///   blocks until one opens it, as with `echo > fifo`.
/// - **A regular file reached through `/proc/PID/fd/N`** (`/dev/stdout`, `/dev/fd/3` when they
///   lead to a file) is already open: it is appended to and synced, like stdout, not replaced
///   (`-o /dev/stdout >> log` keeps what the log had).
/// - **A unix socket, a block device or a directory** is refused with an error that says so.
///
/// On any failure, a replaced file is left as it was and no temp file remains (only a crash
/// between creating and renaming the temp file can leave a `.sockproxy-gen-*.tmp` behind).
pub fn write_file(path: &Path, contents: &[u8]) -> Result<()> {
    let write_err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let existing = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(write_err(e)),
    };
    let resolved = resolve(path).map_err(write_err)?;
    let Some(meta) = existing else {
        return replace(&resolved.target, None, contents);
    };
    let kind = meta.file_type();
    if kind.is_char_device() || kind.is_fifo() {
        return write_open(path, contents, false);
    }
    if kind.is_file() {
        if resolved.via_proc {
            return write_open(path, contents, true);
        }
        // The name we would rename over must be the file the path leads to now.
        let same = std::fs::metadata(&resolved.target)
            .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
        if !same {
            return Err(Error::OutputNotAFile {
                path: path.to_path_buf(),
                what: "a link whose target changed while it was followed",
            });
        }
        return replace(&resolved.target, Some(&meta), contents);
    }
    Err(Error::OutputNotAFile {
        path: path.to_path_buf(),
        what: if kind.is_socket() {
            if resolved.via_proc {
                "a socket"
            } else {
                "a unix socket"
            }
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        },
    })
}

/// What `write_stdout` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// Everything was written (and synced, if stdout is a regular file).
    Written,
    /// The reader went away (`| head`): a broken pipe. Not an error worth a message; the binary
    /// writes nothing more to stdout and finishes with its own exit code (0 for render, 1 for
    /// lint findings), so cutting the output short never hides a result.
    ReaderGone,
}

/// Writes `contents` to stdout and flushes it, checking every error: a full disk or
/// `/dev/full` is an error, not a silent exit 0. When stdout is a regular file, the data is
/// also synced (all of it, earlier parts too), so a file system that only reports a full disk
/// at writeback still reports it; with empty `contents` that sync is all it does. A broken pipe
/// is [`Stdout::ReaderGone`], not an error.
pub fn write_stdout(contents: &[u8]) -> Result<Stdout> {
    stdout(contents, true)
}

/// [`write_stdout`] without the sync, for output streamed in many parts (lint, file by file):
/// one sync per part would make `lint ... > file` several times slower. The stream must end
/// with a [`write_stdout`] (an empty one will do), which syncs every part before it.
pub fn write_stdout_part(contents: &[u8]) -> Result<Stdout> {
    stdout(contents, false)
}

/// [`write_stdout_part`] for output too large to build in memory first (lint's JSON of a
/// large config holds every frontend's matrix): `write` writes it through a buffer.
pub fn write_stdout_part_with(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Stdout> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(Stdout::Written),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(Stdout::ReaderGone),
        Err(source) => Err(Error::Stdout { source }),
    }
}

fn stdout(contents: &[u8], sync: bool) -> Result<Stdout> {
    if contents.is_empty() && !sync {
        return Ok(Stdout::Written);
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(contents)
        .and_then(|()| out.flush())
        .and_then(|()| {
            if sync {
                sync_if_regular(&File::from(out.as_fd().try_clone_to_owned()?))
            } else {
                Ok(())
            }
        });
    match written {
        Ok(()) => Ok(Stdout::Written),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(Stdout::ReaderGone),
        Err(source) => Err(Error::Stdout { source }),
    }
}

/// Refuses to run when the output is one of the run's input files (same device and inode,
/// symlinks followed), before anything is read or written. `output` and each input are the
/// option that names it and its path, for the message. Only an output that is an existing
/// regular file can clash: a new path clashes with nothing, and a device or a pipe is not
/// destroyed by writing to it (`--env-file /dev/stdin -o /dev/stdout` on one terminal is fine).
/// A path that cannot be looked at is left to the reader or the writer to report.
pub fn refuse_output_that_is_input(
    output: (&'static str, &Path),
    inputs: &[(&'static str, &Path)],
) -> Result<()> {
    let (output_option, output_path) = output;
    let Ok(out) = std::fs::metadata(output_path) else {
        return Ok(());
    };
    if !out.is_file() {
        return Ok(());
    }
    for &(input_option, input) in inputs {
        let Ok(meta) = std::fs::metadata(input) else {
            continue;
        };
        if (meta.dev(), meta.ino()) == (out.dev(), out.ino()) {
            return Err(Error::OutputIsInput {
                output_option,
                output: output_path.to_path_buf(),
                input_option,
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The end of a symlink chain, and whether a hop was a `/proc` "magic" link (`/dev/stdout`,
/// `/dev/fd/N`): its text is not a path that can be trusted to name the open file.
struct Resolved {
    target: PathBuf,
    via_proc: bool,
}

/// Follows `path`'s symlinks one hop at a time (a relative target is relative to the link's
/// directory) to the first name that is not a symlink or does not exist.
fn resolve(path: &Path) -> std::io::Result<Resolved> {
    // The kernel gives up after 40 hops; so do we (a loop already failed the stat in write_file).
    const MAX_HOPS: usize = 40;
    let proc_dev = std::fs::symlink_metadata("/proc/self")
        .ok()
        .map(|m| m.dev());
    let mut target = path.to_path_buf();
    let mut via_proc = false;
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                via_proc |= Some(meta.dev()) == proc_dev;
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(Resolved { target, via_proc }),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Resolved { target, via_proc }),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Replaces (or creates) the regular file `target` atomically; `existing` is its metadata.
fn replace(target: &Path, existing: Option<&Metadata>, contents: &[u8]) -> Result<()> {
    let write_err = |source| Error::Write {
        path: target.to_path_buf(),
        source,
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if existing.is_some() {
        // Replacing needs only the directory's write permission; a read-only file (0444, or
        // another user's 0644) must refuse us as `>` would: opening it for writing, without
        // truncating, asks the kernel (root may, as with `>`).
        OpenOptions::new()
            .write(true)
            .open(target)
            .map_err(write_err)?;
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".sockproxy-gen-").suffix(".tmp");
    if existing.is_none() {
        // Created with 0666: the kernel applies the umask.
        builder.permissions(Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(write_err)?;
    if let Some(old) = existing {
        let file = tmp.as_file();
        let now = file.metadata().map_err(write_err)?;
        if (now.uid(), now.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).map_err(
                |source| Error::OutputOwner {
                    path: target.to_path_buf(),
                    uid: old.uid(),
                    gid: old.gid(),
                    source,
                },
            )?;
        }
    }
    let mut file = tmp.as_file();
    file.write_all(contents).map_err(write_err)?;
    if let Some(old) = existing {
        // The mode last: a write by a non-root user clears set-id bits set before it.
        file.set_permissions(Permissions::from_mode(old.mode() & 0o7777))
            .map_err(write_err)?;
    }
    file.sync_all().map_err(write_err)?;
    tmp.persist(target).map_err(|e| write_err(e.error))?;
    // The rename is durable only once the directory is on disk. Past this point the new file is
    // in place, so an error says that, not "nothing was written".
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() != ErrorKind::InvalidInput => Err(Error::OutputSync {
            path: target.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes to a device, a FIFO or an already open file: opened for appending, never created,
/// truncated or replaced. A regular file (reached through /proc) is synced as well.
fn write_open(path: &Path, contents: &[u8], regular: bool) -> Result<()> {
    let err = |source| Error::OutputIncomplete {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
    file.write_all(contents).map_err(err)?;
    file.flush().map_err(err)?;
    if regular {
        file.sync_data().map_err(err)?;
    }
    Ok(())
}

/// `sync_data` when `file` is a regular file (a full disk may only show at writeback); a
/// terminal, a pipe or a device has nothing to sync.
fn sync_if_regular(file: &File) -> std::io::Result<()> {
    if file.metadata()?.is_file() {
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_chains_and_dangling_links() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink("../b", sub.join("a")).unwrap();
        std::os::unix::fs::symlink("sub/c", dir.path().join("b")).unwrap();
        let r = resolve(&sub.join("a")).unwrap();
        assert_eq!(r.target, dir.path().join("sub/../sub/c"));
        assert!(!r.via_proc);
        write_file(&sub.join("a"), b"x").unwrap();
        assert_eq!(std::fs::read(sub.join("c")).unwrap(), b"x");
        assert!(std::fs::symlink_metadata(sub.join("a"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn proc_links_are_recognised() {
        let r = resolve(Path::new("/dev/stdin")).unwrap();
        assert!(r.via_proc);
    }

    #[test]
    fn a_clash_needs_an_existing_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("a", &link).unwrap();
        let new = dir.path().join("new");
        assert!(matches!(
            refuse_output_that_is_input(("--output", &link), &[("--env-file", &a)]),
            Err(Error::OutputIsInput { .. })
        ));
        refuse_output_that_is_input(("--output", &new), &[("--env-file", &new)]).unwrap();
        let null = Path::new("/dev/null");
        refuse_output_that_is_input(("--output", null), &[("--env-file", null)]).unwrap();
    }
}
