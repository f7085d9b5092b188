//! One fixture per lint finding code (ruff-style): each file in `tests/fixtures/codes/` is the
//! smallest input that makes `sockproxy-gen lint` report its code, and its text output is pinned
//! by a snapshot `code-SPGxxx`. Every code of `Code::ALL` has a fixture here or is listed as
//! retired, so a new code without a fixture fails this test. No HAProxy is needed.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sockproxy_gen::lint::Code;

/// (code, fixture in `tests/fixtures/codes/`, extra `lint` arguments).
const FIXTURES: &[(&str, &str, &[&str])] = &[
    ("SPG001", "SPG001.cfg", &[]),
    ("SPG002", "SPG002.cfg", &[]),
    ("SPG003", "SPG003.cfg", &[]),
    ("SPG004", "SPG004.cfg", &[]),
    ("SPG006", "SPG006.cfg", &[]),
    ("SPG007", "SPG007.cfg", &["--env", "CONTAINERS=1"]),
    (
        "SPG008",
        "SPG008.cfg",
        &[
            "--pattern-file",
            "/usr/local/etc/haproxy/allowed.lst=SPG008.lst",
        ],
    ),
    ("SPG101", "SPG101.cfg", &["--preset", "traefik"]),
    ("SPG102", "SPG102.cfg", &["--preset", "traefik"]),
    ("SPG103", "SPG103.cfg", &["--preset", "traefik"]),
    ("SPG104", "SPG104.cfg", &[]),
    ("SPG105", "SPG105.cfg", &[]),
    ("SPG106", "SPG106.cfg", &[]),
    ("SPG201", "SPG201.cfg", &[]),
    ("SPG203", "SPG203.cfg", &[]),
    ("SPG204", "SPG204.cfg", &[]),
    ("SPG301", "SPG301.cfg", &[]),
    ("SPG302", "SPG302.cfg", &[]),
    ("SPG303", "SPG303.cfg", &[]),
    ("SPG304", "SPG304.cfg", &[]),
    ("SPG305", "SPG305.cfg", &[]),
    ("SPG401", "SPG401.cfg", &[]),
    ("SPG402", "SPG402.cfg", &[]),
    ("SPG403", "SPG403.cfg", &[]),
    ("SPG404", "SPG404.cfg", &[]),
    ("SPG501", "SPG501.compose.yaml", &[]),
    ("SPG502", "SPG502.compose.yaml", &["--preset", "traefik"]),
    ("SPG503", "SPG503.env", &[]),
    ("SPG504", "SPG504.compose.yaml", &[]),
    ("SPG505", "SPG505.compose.yaml", &[]),
    ("SPG506", "SPG506.compose.yaml", &[]),
    ("SPG507", "SPG507.compose.yaml", &[]),
    ("SPG508", "SPG508.compose.yaml", &[]),
    ("SPG509", "SPG509.compose.yaml", &[]),
    ("SPG510", "SPG510.compose.yaml", &[]),
    ("SPG511", "SPG511.compose.yaml", &[]),
    ("SPG512", "SPG512.compose.yaml", &[]),
    ("SPG513", "SPG513.compose.yaml", &[]),
    ("SPG514", "SPG514.compose.yaml", &[]),
];

/// Files a fixture reads besides itself (the pattern file of SPG008).
const COMPANIONS: &[&str] = &["SPG008.lst"];

/// Codes that are documented (`sockproxy-gen explain`) but no longer reported: no fixture.
const RETIRED: &[(&str, &str)] = &[(
    "SPG202",
    "no longer reported: SPG204 (bypass) reports the concrete request",
)];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codes")
}

/// `sockproxy-gen lint FIXTURE ARGS... EXTRA...`, run in the fixture directory so that the
/// paths in the output are the bare file names.
fn lint(fixture: &str, args: &[&str], extra: &[&str]) -> (Option<i32>, String, String) {
    let o = common::cli()
        .current_dir(fixture_dir())
        .arg("lint")
        .arg(fixture)
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_code_is_covered_or_retired() {
    let all: BTreeSet<&str> = Code::ALL.iter().map(|c| c.id()).collect();
    let covered: BTreeSet<&str> = FIXTURES.iter().map(|(id, _, _)| *id).collect();
    let retired: BTreeSet<&str> = RETIRED.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        covered.len(),
        FIXTURES.len(),
        "a code has two rows in FIXTURES"
    );
    let both: Vec<_> = covered.intersection(&retired).collect();
    assert!(both.is_empty(), "codes both covered and retired: {both:?}");
    let listed: BTreeSet<&str> = covered.union(&retired).copied().collect();
    let missing: Vec<_> = all.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&all).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "codes without a fixture in tests/fixtures/codes/ (add one to FIXTURES in tests/codes.rs, or list the code in RETIRED if it is no longer reported): {missing:?}; rows for codes that do not exist: {unknown:?}"
    );
    // Every retired code says so in its summary, the way `explain` shows it.
    for (id, _) in RETIRED {
        let code = Code::parse(id).unwrap();
        assert!(
            code.summary().contains("no longer reported"),
            "{id} is listed as retired, but its summary does not say it is no longer reported: {}",
            code.summary()
        );
    }
    // Every file in the directory is one of the fixtures above: no orphans.
    let files: BTreeSet<String> = common::dir_entries(&fixture_dir()).into_iter().collect();
    let named: BTreeSet<String> = FIXTURES
        .iter()
        .map(|(_, f, _)| f.to_string())
        .chain(COMPANIONS.iter().map(|f| f.to_string()))
        .collect();
    assert_eq!(
        files, named,
        "tests/fixtures/codes/ and FIXTURES in tests/codes.rs list different files"
    );
}

#[test]
fn each_fixture_reports_its_code() {
    let mut failures = Vec::new();
    for (id, fixture, args) in FIXTURES {
        let text = std::fs::read_to_string(fixture_dir().join(fixture)).unwrap();
        if !text.starts_with(&format!("# {id} ")) {
            failures.push(format!(
                "{fixture}: the first line should be a comment `# {id} name: why`"
            ));
        }
        let (status, stdout, stderr) = lint(fixture, args, &["--format", "json"]);
        if !matches!(status, Some(0 | 1)) {
            failures.push(format!(
                "{fixture}: lint exited {status:?}, not 0 or 1:\n{stderr}"
            ));
            continue;
        }
        let report: serde_json::Value = match serde_json::from_str(&stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{fixture}: not JSON ({e}):\n{stdout}"));
                continue;
            }
        };
        let codes: Vec<&str> = report["files"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|f| f["findings"].as_array().into_iter().flatten())
            .filter(|f| f.get("suppressed").is_none())
            .filter_map(|f| f["code"].as_str())
            .collect();
        if !codes.contains(id) {
            failures.push(format!(
                "{fixture} (lint {}): no {id} finding; found {codes:?}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn each_fixture_text_snapshot() {
    for (id, fixture, args) in FIXTURES {
        let (status, stdout, stderr) = lint(fixture, args, &[]);
        assert!(
            matches!(status, Some(0 | 1)),
            "{fixture}: lint exited {status:?}:\n{stderr}"
        );
        assert!(
            stdout.contains(&format!("[{id}]")),
            "{fixture}: the text output has no {id} finding:\n{stdout}"
        );
        let command = format!("$ sockproxy-gen lint {fixture} {}", args.join(" "));
        common::snapshot(
            &format!("code-{id}"),
            &format!("{}\n{stdout}", command.trim_end()),
        );
    }
}
