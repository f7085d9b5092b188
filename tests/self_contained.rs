//! The repository stands alone: a clone (a user's, or CI's clean checkout) has nothing beside it,
//! so no file may point at the team's notes folder next to the checkout, and the part of the
//! suite that reads repository data must pass in a copy of the repository with nothing around it.
//! What the tests and docs need from those notes lives in `docs/` and `tests/data/`, with its
//! provenance.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Set (to the copy's path) in the copy's environment: the copy must not copy itself again.
const IN_COPY: &str = "SPG_SELF_CONTAINED_COPY";

/// The name of the team's notes folder. Built from parts so that this file does not match its
/// own check.
fn team_folder() -> String {
    ["sha", "red"].concat()
}

/// The repository's files, relative to its root: what git tracks plus new files not yet
/// committed (and not ignored), so a file about to be added is checked and copied too; files
/// deleted in the work tree are left out. Without git (a source tarball, an export), every file
/// under the root except `.git/` and `target/` directories.
fn repository_files() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let git = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    let mut files: Vec<PathBuf> = match git {
        Ok(out) if out.status.success() && root.join(".git").exists() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect(),
        _ => {
            let mut found = Vec::new();
            walk(root, Path::new(""), &mut found);
            found
        }
    };
    // Pending insta snapshots (`*.snap.new`) are a test run's leftovers, not repository content.
    files.retain(|f| root.join(f).is_file() && !f.to_string_lossy().ends_with(".snap.new"));
    files.sort();
    files.dedup();
    assert!(
        files.iter().any(|f| f == Path::new("Cargo.toml")),
        "no repository files found under {ROOT}"
    );
    files
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let dir = root.join(rel);
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("directory entry");
        let name = entry.file_name();
        let rel = rel.join(&name);
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if name != ".git" && name != "target" {
                walk(root, &rel, out);
            }
        } else {
            out.push(rel);
        }
    }
}

#[test]
fn no_file_refers_to_the_team_notes_beside_the_checkout() {
    let team = team_folder();
    let needles = [
        format!("../{team}"),
        format!("{team}/research"),
        format!("{team}/design.md"),
    ];
    let mut offences = Vec::new();
    for file in repository_files() {
        let Ok(bytes) = fs::read(Path::new(ROOT).join(&file)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|needle| line.contains(needle.as_str())) {
                offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "these lines point outside the repository, at the team's notes; a clone does not have \
         them (copy the facts into docs/ or tests/data/ with their provenance and cite that):\n{}",
        offences.join("\n")
    );
}

/// The inner runs: `cargo test --locked --offline` with these arguments, in the copy.
const LIB_RUN: &[&str] = &["--lib"];
/// The self-contained part of the integration tests: what reads the repository's own data
/// (the daemon oracle's route table, presets, catalog, templates, snapshots, lint fixtures) and
/// needs neither root nor a daemon nor HAProxy.
const TESTS_RUN: &[&str] = &[
    "--test",
    "tests",
    "--",
    // In the copy, this one only checks that the copy's test binary is what runs (see below).
    "self_contained::the_suite_passes_in_a_copy",
    "common::daemon::",
    "cli::",
    "render::snapshots_of_every_preset_and_flag_set",
    "render::structural_guarantees_hold_for_every_config",
    "render::header_inputs_round_trip",
    "lint::",
];

#[test]
fn the_suite_passes_in_a_copy_with_nothing_beside_it() {
    if let Some(copy) = std::env::var_os(IN_COPY) {
        // Inside the copy: no copy of the copy. The test binary must be the one built from the
        // copy, or the tests would read the checkout's files through CARGO_MANIFEST_DIR.
        assert_eq!(
            fs::canonicalize(ROOT).expect("the manifest directory"),
            fs::canonicalize(&copy).expect("the copy"),
            "the test binary running in the copy was built for another directory"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("temporary directory");
    // `alone/` holds nothing but the copy, so `../<team folder>` cannot exist beside it.
    let copy = tmp.path().join("alone").join("sockproxy-gen");
    let started = Instant::now();
    let files = repository_files();
    for file in &files {
        copy_file(&Path::new(ROOT).join(file), &copy.join(file), file);
    }
    assert!(!copy.join("..").join(team_folder()).exists());
    eprintln!(
        "copied {} files to {} in {:.1?}",
        files.len(),
        copy.display(),
        started.elapsed()
    );

    // Its own target directory: the outer `cargo test` holds the lock on this one, and a second
    // run reuses the compiled dependencies. Next to the outer one (it honours CARGO_TARGET_DIR).
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("self-contained");
    // Cargo's fingerprint of a workspace package does not include where it is, so a copy at a
    // new temporary path whose sources did not change would reuse the binaries built for the
    // previous copy, with the previous (deleted) path in env!("CARGO_MANIFEST_DIR"). Forget
    // this package's fingerprints; the dependencies stay compiled.
    for profile in ["debug", "release"] {
        if let Ok(entries) = fs::read_dir(target.join(profile).join(".fingerprint")) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with("sockproxy-gen-")
                {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }

    cargo_test(&copy, &target, LIB_RUN);
    let tests = cargo_test(&copy, &target, TESTS_RUN);
    for name in [
        "self_contained::the_suite_passes_in_a_copy_with_nothing_beside_it",
        // The oracle is the test that used to read its route table from beside the checkout.
        "common::daemon::tests::model_matches_the_documented_daemon_behaviour",
    ] {
        assert!(
            tests.contains(&format!("test {name} ... ok")),
            "{name} did not pass in the copy:\n{tests}"
        );
    }
}

/// A copy with the source's permissions and modification time, so cargo in the copy rebuilds
/// only what changed since its last run there. Except the integration tests' sources: they get
/// the copy's time, because the test binary embeds the repository's location
/// (`env!("CARGO_MANIFEST_DIR")`) and cargo does not rebuild it when only the location changed.
/// The library and the binary do not embed it.
fn copy_file(from: &Path, to: &Path, rel: &Path) {
    fs::create_dir_all(to.parent().expect("a parent")).expect("create directory");
    fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    let test_source = rel.starts_with("tests") && rel.extension().is_some_and(|e| e == "rs");
    if test_source {
        return;
    }
    if let Ok(modified) = fs::metadata(from).and_then(|m| m.modified()) {
        let file = fs::File::options()
            .write(true)
            .open(to)
            .expect("open the copy");
        file.set_modified(modified)
            .expect("set the modification time");
    }
}

/// Runs `cargo test --locked --offline ARGS` in `dir` and returns its output; fails with the
/// whole output unless it succeeded and ran at least one test.
fn cargo_test(dir: &Path, target: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["test", "--locked", "--offline"])
        .args(args)
        .current_dir(dir)
        .env(IN_COPY, dir)
        .env("CARGO_TARGET_DIR", target)
        // Snapshots are compared, never written or accepted, in the copy.
        .env("INSTA_UPDATE", "no");
    // What cargo set for this test process describes the checkout, not the copy.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let from_outer_run = [
            "CARGO_PKG_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_MANIFEST_",
        ]
        .iter()
        .any(|p| key.starts_with(p))
            || key == "CARGO_PRIMARY_PACKAGE"
            || key == "CARGO_TARGET_TMPDIR"
            || (key.starts_with("INSTA_") && key != "INSTA_UPDATE");
        if from_outer_run {
            cmd.env_remove(key.as_ref());
        }
    }
    let shown = format!("cargo test --locked --offline {}", args.join(" "));
    let started = Instant::now();
    let out: Output = cmd.output().unwrap_or_else(|e| panic!("run {cargo}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let passed = passed(&text);
    eprintln!(
        "{shown} in the copy: {:.1?}, {passed} passed",
        started.elapsed()
    );
    assert!(
        out.status.success(),
        "`{shown}` failed in the copy ({}):\n{text}",
        out.status
    );
    assert!(passed > 0, "`{shown}` ran no test in the copy:\n{text}");
    text
}

/// The sum of N over the "test result: ok. N passed; ..." lines.
fn passed(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("test result: ok. ")?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}
