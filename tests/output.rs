//! The output writer through the real binary: `-o`, `--report` and `env`'s file never destroy
//! what they write to (devices, FIFOs, sockets, symlinks, owners, modes, inputs), and every
//! write error, stdout's included, is an exit code with a message. Runs as root (CI does): it
//! chowns, makes FIFOs and mounts a small tmpfs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use predicates::prelude::*;

use crate::common::{bin, cli, dir_entries, docker_socket, env_command, path_arg};

const NOBODY: u32 = 65534;

fn raw() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("DOCKER_HOST").env_remove("XDG_RUNTIME_DIR");
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn rendered() -> Vec<u8> {
    cli()
        .args(["render", "--preset", "traefik"])
        .output()
        .unwrap()
        .stdout
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn kind(path: &Path) -> std::fs::FileType {
    std::fs::symlink_metadata(path).unwrap().file_type()
}

#[test]
fn dev_null_stays_a_device() {
    assert_eq!(euid(), 0, "this test replaces nothing only as root");
    cli()
        .args(["render", "--preset", "traefik", "-o", "/dev/null"])
        .assert()
        .success()
        .stderr("");
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null is still a device"
    );
    assert_eq!(meta.rdev(), 0x103, "and still 1:3");
}

#[test]
fn fifo_is_written_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cfg.fifo");
    mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        File::open(reader).unwrap().read_to_end(&mut got).unwrap();
        let _ = tx.send(got);
    });
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&fifo)])
        .timeout(Duration::from_secs(20))
        .assert()
        .success()
        .stderr("");
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the reader got EOF");
    assert_eq!(got, rendered());
    assert!(kind(&fifo).is_fifo(), "still a FIFO");
    assert_eq!(dir_entries(dir.path()), vec!["cfg.fifo"]);
}

#[test]
fn socket_block_device_and_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("x.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&sock)])
        .assert()
        .code(73)
        .stderr(predicate::str::contains(format!(
            "cannot write {}: it is a unix socket",
            sock.display()
        )));
    assert!(kind(&sock).is_socket(), "still a socket");

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&sub)])
        .assert()
        .code(73)
        .stderr(predicate::str::contains(format!(
            "cannot write {}: it is a directory",
            sub.display()
        )));
    assert!(kind(&sub).is_dir());

    let block = dir.path().join("blk");
    let made = Command::new("mknod")
        .arg(&block)
        .args(["b", "7", "200"])
        .status()
        .unwrap();
    assert!(made.success(), "mknod (root)");
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&block)])
        .assert()
        .code(73)
        .stderr(predicate::str::contains("it is a block device"));
    assert!(kind(&block).is_block_device());
    assert_eq!(dir_entries(dir.path()), vec!["blk", "sub", "x.sock"]);
    assert!(dir_entries(&sub).is_empty());
}

#[test]
fn symlinks_are_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let target = b.join("haproxy.cfg");
    std::fs::write(&target, "old\n").unwrap();
    // a/link -> a/hop -> ../b/haproxy.cfg: a chain of relative links.
    std::os::unix::fs::symlink("../b/haproxy.cfg", a.join("hop")).unwrap();
    std::os::unix::fs::symlink("hop", a.join("link")).unwrap();
    cli()
        .args([
            "render",
            "--preset",
            "traefik",
            "-o",
            path_arg(&a.join("link")),
        ])
        .assert()
        .success();
    assert!(kind(&a.join("link")).is_symlink(), "the link stays a link");
    assert!(kind(&a.join("hop")).is_symlink());
    assert_eq!(
        std::fs::read_link(a.join("link")).unwrap(),
        Path::new("hop")
    );
    assert!(kind(&target).is_file());
    assert_eq!(std::fs::read(&target).unwrap(), rendered());
    assert_eq!(dir_entries(&a), vec!["hop", "link"]);
    assert_eq!(dir_entries(&b), vec!["haproxy.cfg"]);

    // A dangling link: its target is created.
    let dangling = a.join("dangling");
    std::os::unix::fs::symlink("../b/new.cfg", &dangling).unwrap();
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&dangling)])
        .assert()
        .success();
    assert!(kind(&dangling).is_symlink());
    assert_eq!(std::fs::read(b.join("new.cfg")).unwrap(), rendered());
    assert_eq!(dir_entries(&b), vec!["haproxy.cfg", "new.cfg"]);
}

#[test]
fn owner_group_and_mode_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "old\n").unwrap();
    std::os::unix::fs::chown(&cfg, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    cli()
        .args(["render", "--preset", "traefik", "-o", path_arg(&cfg)])
        .assert()
        .success();
    let meta = std::fs::metadata(&cfg).unwrap();
    assert_eq!(std::fs::read(&cfg).unwrap(), rendered());
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY), "owner kept");
    assert_eq!(meta.mode() & 0o7777, 0o600, "mode kept");

    // `sudo sockproxy-gen env` on a user's .env leaves it theirs.
    let (_l, sock) = docker_socket(dir.path(), 4321);
    let env = dir.path().join(".env");
    std::fs::write(&env, "TZ=UTC\nPGID_DOCKER_SOCKET=1\n").unwrap();
    std::os::unix::fs::chown(&env, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    env_command(&sock, &env)
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote PGID_DOCKER_SOCKET=4321"));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!(
            "TZ=UTC\nPGID_DOCKER_SOCKET=4321\nDOCKER_SOCKET_PATH={}\n",
            sock.display()
        )
    );
    let meta = std::fs::metadata(&env).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY), "owner kept");
    assert_eq!(meta.mode() & 0o7777, 0o600, "mode kept");
    assert_eq!(
        dir_entries(dir.path()),
        vec![".env", "docker.sock", "haproxy.cfg"]
    );
}

#[test]
fn an_owner_that_cannot_be_kept_is_refused() {
    // `nobody` may replace root's file in a world-writable directory, but the new file would be
    // nobody's: refused, the file left as it was.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "old\n").unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .args(["render", "--preset", "traefik", "-o", path_arg(&cfg)])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(73), "{err}");
    assert!(
        err.contains(&format!(
            "cannot replace {}: it belongs to 0:0",
            cfg.display()
        )) && err.contains("the file was left as it was"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "old\n");
    let meta = std::fs::metadata(&cfg).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o666)
    );
    assert_eq!(
        dir_entries(dir.path()),
        vec!["haproxy.cfg"],
        "no temp file left"
    );
}

/// Runs the binary as `nobody` (uid and gid 65534, no other groups).
fn as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_read_only_file_is_not_replaced_and_set_id_bits_survive() {
    // nobody's own directory and files: a 0444 file refuses to be written, as `>` would; a
    // 0400 .env too.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let ro = dir.path().join("ro.cfg");
    std::fs::write(&ro, "old\n").unwrap();
    std::os::unix::fs::chown(&ro, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = as_nobody(&["render", "--preset", "traefik", "-o", path_arg(&ro)]);
    assert_eq!(out.status.code(), Some(73), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&ro).unwrap(), "old\n");
    assert_eq!(dir_entries(dir.path()), vec!["ro.cfg"], "no temp file left");

    // Set-id bits of a file the user may write stay, although the kernel clears them on write.
    for mode in [0o4755, 0o2775] {
        let f = dir.path().join(format!("mode-{mode:o}.cfg"));
        std::fs::write(&f, "old\n").unwrap();
        std::os::unix::fs::chown(&f, Some(NOBODY), Some(NOBODY)).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = as_nobody(&["render", "--preset", "traefik", "-o", path_arg(&f)]);
        assert!(out.status.success(), "{}", stderr(&out));
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!(meta.mode() & 0o7777, mode, "{mode:o}");
        assert_ne!(std::fs::read_to_string(&f).unwrap(), "old\n");
    }
}

#[test]
fn a_new_file_follows_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    for (umask, mode) in [("027", 0o640), ("022", 0o644), ("077", 0o600)] {
        let cfg = dir.path().join(format!("umask-{umask}.cfg"));
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(bin())
            .args(["render", "--preset", "traefik", "-o", path_arg(&cfg)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            std::fs::metadata(&cfg).unwrap().mode() & 0o7777,
            mode,
            "umask {umask}"
        );
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("in.yaml");
    let yaml = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/presets/traefik.yaml")).unwrap();
    std::fs::write(&preset, &yaml).unwrap();
    cli()
        .args([
            "render",
            "--preset-file",
            path_arg(&preset),
            "-o",
            path_arg(&preset),
        ])
        .assert()
        .code(64)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "--output {} is the same file as --preset-file {}",
            preset.display(),
            preset.display()
        )));
    assert_eq!(
        std::fs::read(&preset).unwrap(),
        yaml,
        "the input is unchanged"
    );

    // Through a symlink: the same file.
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink("in.yaml", &link).unwrap();
    cli()
        .args([
            "render",
            "--preset-file",
            path_arg(&preset),
            "-o",
            path_arg(&link),
        ])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "is the same file as --preset-file",
        ));
    assert_eq!(std::fs::read(&preset).unwrap(), yaml);
    assert!(kind(&link).is_symlink());

    let env = dir.path().join("x.env");
    std::fs::write(&env, "CONTAINERS=1\n").unwrap();
    for command in ["render", "compose"] {
        cli()
            .args([command, "--env-file", path_arg(&env), "-o", path_arg(&env)])
            .assert()
            .code(64)
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "--output {} is the same file as --env-file {}",
                env.display(),
                env.display()
            )));
        assert_eq!(std::fs::read_to_string(&env).unwrap(), "CONTAINERS=1\n");
    }

    // verify: refused before any connection (port 1 refuses connections anyway).
    let report = dir.path().join("R");
    std::fs::write(&report, "global\n").unwrap();
    cli()
        .args(["verify", "tcp://127.0.0.1:1", "--report", path_arg(&report)])
        .args(["--config", path_arg(&report), "--timeout", "1"])
        .assert()
        .code(64)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "--report {} is the same file as --config {}",
            report.display(),
            report.display()
        )));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "global\n");
    assert_eq!(
        dir_entries(dir.path()),
        vec!["R", "in.yaml", "link.yaml", "x.env"]
    );
}

#[test]
fn dev_full_is_an_error() {
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = raw()
        .args(["render", "--preset", "traefik"])
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(73), "{err}");
    assert!(
        err.contains("cannot write to stdout: No space left on device"),
        "{err}"
    );

    cli()
        .args(["render", "--preset", "traefik", "-o", "/dev/full"])
        .assert()
        .code(73)
        .stderr(predicate::str::contains(
            "cannot write /dev/full: No space left on device",
        ));
    assert!(kind(Path::new("/dev/full")).is_char_device());
}

#[test]
fn dev_stdout_on_a_file_appends_to_it() {
    // `-o /dev/stdout >> log`: the file is already open, so it is written through that, not
    // replaced (which would drop what the file had).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    std::fs::write(&log, "keep\n").unwrap();
    let out = raw()
        .args(["render", "--preset", "traefik", "-o", "/dev/stdout"])
        .stdout(OpenOptions::new().append(true).open(&log).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut want = b"keep\n".to_vec();
    want.extend(rendered());
    assert_eq!(std::fs::read(&log).unwrap(), want);
    assert_eq!(dir_entries(dir.path()), vec!["log"]);
}

/// A tmpfs mounted on a fresh directory, unmounted (then removed) when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs (needs root)");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes into a filler file until the file system is full.
    fn fill(&self) {
        let mut f = File::create(self.path().join("filler")).unwrap();
        let chunk = [0u8; 512];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(self.dir.path()).status();
        assert!(
            status.is_ok_and(|s| s.success()) || std::thread::panicking(),
            "umount {}",
            self.dir.path().display()
        );
    }
}

#[test]
fn a_full_file_system_leaves_the_old_file_and_fails() {
    let fs = Tmpfs::mount("8k");
    let cfg = fs.path().join("haproxy.cfg");
    let old = b"# the old config\nglobal\n".repeat(20);
    std::fs::write(&cfg, &old).unwrap();
    fs.fill();
    let out = raw()
        .args(["render", "--preset", "traefik", "-o", path_arg(&cfg)])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(73), "{err}");
    assert!(
        err.contains(&format!("cannot write {}", cfg.display()))
            && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), old, "the old file is intact");
    assert_eq!(
        dir_entries(fs.path()),
        vec!["filler", "haproxy.cfg"],
        "no temp file"
    );

    // `render > haproxy.cfg` on the full file system: an error, not a truncated file and 0.
    let redirected = fs.path().join("redirected.cfg");
    let out = raw()
        .args(["render", "--preset", "traefik"])
        .stdout(File::create(&redirected).unwrap())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(73), "{err}");
    assert!(
        err.contains("cannot write to stdout: No space left on device"),
        "{err}"
    );
}

#[test]
fn a_reader_that_went_away_ends_output_quietly_and_keeps_the_exit_code() {
    // A pipe whose reading end is closed before the first write: a FIFO opened read-write (so
    // the write-only open does not block), then that read-write end closed.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let holder = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let writer = OpenOptions::new().write(true).open(&fifo).unwrap();
    drop(holder);
    let out = raw()
        .args(["render", "--preset", "traefik"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no message");

    // `lint ... | head -c 10`: the reader takes 10 bytes and goes away; the output (200 kB of
    // findings) is larger than the pipe's buffer, so the writer does hit the closed pipe.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tecnativa-style.cfg"
    );
    // The findings still decide the exit code: 1 with the default --fail-on, 0 with never.
    for (fail_on, code) in [("warning", 1), ("never", 0)] {
        let mut child = raw()
            .args(["lint", "--fail-on", fail_on])
            .args([fixture; 100])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        let mut reader = child.stdout.take().unwrap();
        reader.read_exact(&mut first).unwrap();
        drop(reader);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{fail_on}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "no message");
    }

    // verify behind a cut pipe still writes its --report and exits with its own code: the
    // target refuses connections, so the code is 69 and the report is not written; the check
    // is that the pipe does not turn it into 0.
    let (read_end, write_end) = std::io::pipe().unwrap();
    drop(read_end);
    let out = raw()
        .args([
            "verify",
            "tcp://127.0.0.1:1",
            "--preset",
            "traefik",
            "--timeout",
            "1",
        ])
        .stdout(write_end)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
}

/// The effective user id, from /proc (no libc in the tests).
fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}
