//! `sockproxy-gen lint`: our own output is clean, fixtures give their findings in every format,
//! bad input exits 65 (malformed) or 66 (unreadable) with file:line, suppressions work, and the set of codes is pinned.
//! (The evaluator's correctness against real HAProxy is tests/lint_differential.rs.)

use crate::common;

use std::path::Path;
use std::process::Output;

use sockproxy_gen::lint::{format, Code};

fn lint(args: &[&str]) -> Output {
    common::cli().arg("lint").args(args).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TECNATIVA_ENV: &[&str] = &[
    "--env",
    "PORT=2375",
    "--env",
    "SOCKET_PATH=/var/run/docker.sock",
    "--env",
    "LOG_LEVEL=info",
    "--env",
    "EVENTS=1",
    "--env",
    "PING=1",
    "--env",
    "VERSION=1",
    "--env",
    "CONTAINERS=1",
    "--env",
    "POST=1",
];

#[test]
fn rendered_presets_lint_clean_against_their_header_and_their_preset() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = sockproxy_gen::preset::BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for name in &names {
        let file = dir.path().join(format!("{name}.cfg"));
        let (_, text) = common::render_text(common::presets(&[name]), Default::default());
        std::fs::write(&file, text).unwrap();
        for extra in [vec![], vec!["--preset", name]] {
            let mut args = vec![file.to_str().unwrap(), "--fail-on", "info"];
            args.extend(extra);
            let o = lint(&args);
            assert_eq!(o.status.code(), Some(0), "{name}: {}{}", out(&o), err(&o));
            assert!(
                out(&o).starts_with("0 error(s), 0 warning(s), 0 info(s)"),
                "{}",
                out(&o)
            );
        }
    }
    // Several presets in one file: each frontend against its own recorded policy.
    let file = dir.path().join("multi.cfg");
    let (_, text) = common::render_text(common::presets(&names), Default::default());
    std::fs::write(&file, text).unwrap();
    let o = lint(&[file.to_str().unwrap(), "--fail-on", "info"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn a_hand_edit_of_a_generated_file_is_drift_and_an_over_grant() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haproxy.cfg");
    let (_, text) = common::render_text(common::presets(&["traefik"]), Default::default());
    let edited = text.replace(
        "{ var(txn.spg_route) -m str /version }",
        "{ var(txn.spg_route) -m beg /v }",
    );
    assert_ne!(edited, text);
    std::fs::write(&file, &edited).unwrap();
    let o = lint(&[file.to_str().unwrap(), "--diff", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = out(&o);
    let json_end = stdout.find("\n}\n").unwrap() + 3;
    let report: serde_json::Value = serde_json::from_str(&stdout[..json_end]).unwrap();
    let codes: Vec<&str> = report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"SPG105"), "{codes:?}");
    assert!(codes.contains(&"SPG101"), "{codes:?}");
    // The over-grant names the routes under /v... the edit opened: volumes, version and the rest.
    let over = report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "SPG101")
        .unwrap();
    assert!(
        over["message"].as_str().unwrap().contains("GET /volumes"),
        "{over}"
    );
    let diff = &stdout[json_end..];
    assert!(diff.contains("-    http-request set-var(txn.spg_rule) str(allow:GET:/version) if !{ var(txn.spg_rule) -m found } { method GET } { var(txn.spg_route) -m beg /v }"), "{diff}");
    assert!(diff.contains("+    http-request set-var(txn.spg_rule) str(allow:GET:/version) if !{ var(txn.spg_rule) -m found } { method GET } { var(txn.spg_route) -m str /version }"), "{diff}");
}

/// Each fixture in every format; paths are relative so snapshots are stable.
#[test]
fn fixtures_in_every_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "tecnativa-style",
            [
                &[
                    "tests/fixtures/tecnativa-style.cfg",
                    "--preset",
                    "portainer-readonly",
                ][..],
                TECNATIVA_ENV,
            ]
            .concat(),
        ),
        (
            "handwritten",
            vec![
                "tests/fixtures/handwritten-path-beg.cfg",
                "tests/fixtures/handwritten-pinned.cfg",
                "tests/fixtures/handwritten-regex.cfg",
                "--env",
                "PORT=2375",
                "--env",
                "SOCKET_PATH=/var/run/docker.sock",
                "--preset",
                "traefik",
            ],
        ),
        (
            "compose-and-env",
            vec![
                "tests/fixtures/lint/compose-tecnativa.yaml",
                "tests/fixtures/lint/flags.env",
                "tests/fixtures/lint/suppressed.cfg",
                "--preset",
                "traefik",
            ],
        ),
    ];
    for (name, args) in cases {
        for fmt in ["text", "json", "sarif", "github"] {
            let mut a = args.clone();
            a.extend(["--format", fmt]);
            let o = common::cli()
                .current_dir(root)
                .arg("lint")
                .args(&a)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "{name} {fmt}: {}", err(&o));
            let text = out(&o);
            if fmt == "sarif" {
                check_sarif(&text);
                validate_sarif_schema(&text);
            }
            if fmt == "json" || fmt == "sarif" {
                serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
            }
            common::snapshot(&format!("lint-{name}-{fmt}"), &text);
        }
    }
}

/// Validates against the SARIF 2.1.0 JSON schema (`.ci/setup` fetches it) with Debian's
/// python3-jsonschema.
fn validate_sarif_schema(text: &str) {
    let schema = std::env::var("SPG_SARIF_SCHEMA")
        .unwrap_or_else(|_| "/var/lib/sockproxy-gen/sarif-2.1.0.json".into());
    assert!(
        Path::new(&schema).is_file(),
        "{schema} is missing: run `bash .ci/setup`, which fetches the SARIF 2.1.0 schema"
    );
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("lint.sarif");
    std::fs::write(&doc, text).unwrap();
    let o = std::process::Command::new(common::SYSTEM_PYTHON)
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[2]))\n\
             jsonschema.validators.validator_for(schema)(schema).validate(json.load(open(sys.argv[1])))\n\
             print('valid')",
        ])
        .arg(&doc)
        .arg(&schema)
        .output()
        .expect("python3 (Debian python3-jsonschema)");
    assert!(
        o.status.success() && out(&o).trim() == "valid",
        "SARIF does not validate against {schema}:\n{}",
        err(&o)
    );
}

/// What GitHub code scanning requires of SARIF 2.1.0 (docs: sarif-support-for-code-scanning).
fn check_sarif(text: &str) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "sockproxy-gen");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Code::ALL.len());
    for r in rules {
        for key in ["id", "name"] {
            assert!(r[key].is_string(), "{r}");
        }
        for key in ["shortDescription", "fullDescription", "help"] {
            assert!(r[key]["text"].is_string(), "{r}");
        }
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["note", "warning", "error"].contains(&level));
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&sev));
    }
    for res in run["results"].as_array().unwrap() {
        let index = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], res["ruleId"]);
        assert!(res["message"]["text"].is_string());
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/'), "repo-relative uri: {uri}");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn bad_input_exits_65_or_66_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    // (file, message, exit code): 65 for content that cannot be read as a config, 66 for a file
    // that cannot be read at all, as in every subcommand.
    let cases: Vec<(String, &str, i32)> = vec![
        (
            write(
                "quote.cfg",
                b"global\n  log stdout local0\nfrontend f\n  bind \"127.0.0.1:1\n",
            ),
            "quote.cfg:4:8: unterminated double quote",
            65,
        ),
        (
            write("keyword.cfg", b"global\nfrontend f\n  bnd :2375\n"),
            "keyword.cfg:3:3: unknown keyword `bnd`",
            65,
        ),
        (
            write("outside.cfg", b"  mode http\nfrontend f\n"),
            "outside.cfg:1:3: `mode` outside any section",
            65,
        ),
        (
            write("binary.cfg", b"global\n\x00\x01\x02"),
            "binary.cfg:2: a NUL byte",
            65,
        ),
        (
            write("latin1.cfg", b"global\n  description caf\xe9\n"),
            "latin1.cfg:2: the file is not valid UTF-8",
            65,
        ),
        (
            write("yaml.yaml", b"services:\n  a: [\n"),
            "yaml.yaml:3",
            65,
        ),
        (
            write("prose.txt", b"hello world\nthis is not a config\n"),
            "prose.txt:1: not an HAProxy config",
            65,
        ),
        (
            write("header.cfg", b"# sockproxy-gen-inputs: {not json\nglobal\n"),
            "header.cfg:1: the sockproxy-gen-inputs header is not valid JSON",
            65,
        ),
        (
            dir.path().join("missing.cfg").to_str().unwrap().to_string(),
            "cannot read",
            66,
        ),
        (dir.path().to_str().unwrap().to_string(), "cannot read", 66),
    ];
    for (file, expected, code) in cases {
        let o = lint(&[&file]);
        assert_eq!(o.status.code(), Some(code), "{file}: {}", err(&o));
        assert!(err(&o).contains(expected), "{file}: {}", err(&o));
        assert!(!err(&o).contains("panicked"), "{}", err(&o));
    }
    // One bad file among good ones: the good ones are still reported, the exit is the bad one's.
    let (_, text) = common::render_text(common::presets(&["traefik"]), Default::default());
    let good = write("good.cfg", text.as_bytes());
    let bad = write("bad.cfg", b"global\n  bogus-keyword 1\n");
    let o = lint(&[&good, &bad]);
    assert_eq!(o.status.code(), Some(65));
    assert!(out(&o).contains("in 1 file(s)"), "{}", out(&o));
    // Bad options are usage errors of lint too, with the code of every other subcommand.
    let o = lint(&[&good, "--haproxy-version", "1.8"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("the evaluator knows HAProxy 2.6, 3.0 and 3.2"));
    let o = lint(&[&good, "--preset", "traefk"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(err(&o).contains("did you mean `traefik`"), "{}", err(&o));
}

#[test]
fn fail_on_threshold_and_exit_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = root.join("tests/fixtures/handwritten-regex.cfg");
    let base = [
        cfg.to_str().unwrap(),
        "--env",
        "PORT=1",
        "--env",
        "SOCKET_PATH=/s",
    ];
    let run = |extra: &[&str]| lint(&[&base[..], extra].concat()).status.code();
    // No baseline: only general risks, which here are errors (raw path) and warnings.
    assert_eq!(run(&[]), Some(1));
    assert_eq!(run(&["--fail-on", "never"]), Some(0));
    let suppressed = root.join("tests/fixtures/lint/suppressed.cfg");
    // Only the unmatched suppression (a warning) remains without a baseline.
    let o = lint(&[suppressed.to_str().unwrap(), "--fail-on", "error"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = lint(&[suppressed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("SPG003"), "{}", out(&o));
    assert!(out(&o).contains("(1 suppressed)"), "{}", out(&o));
}

#[test]
fn codes_are_pinned_and_documented() {
    let listing: String = Code::ALL
        .iter()
        .map(|c| {
            format!(
                "{} {} {}: {}\n",
                c.id(),
                c.name(),
                c.severity().as_str(),
                c.summary()
            )
        })
        .collect();
    common::snapshot("lint-codes", &listing);
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md"))
        .expect("docs/rules.md");
    assert_eq!(
        page,
        format::rules_page(),
        "docs/rules.md is stale: run `cargo run -- explain --all > docs/rules.md`"
    );
    let o = common::cli()
        .args(["explain", "over-grant"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("**over-grant** (SPG101"));
    let o = common::cli().args(["explain", "SPG999"]).output().unwrap();
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn a_file_that_cannot_be_linted_is_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = common::render_text(common::presets(&["traefik"]), Default::default());
    let good = dir.path().join("good.cfg");
    std::fs::write(&good, text).unwrap();
    let bad = dir.path().join("bad.cfg");
    std::fs::write(&bad, "global\n  log \"open\n").unwrap();
    let missing = dir.path().join("missing.cfg");
    let files = [&good, &bad, &missing].map(|p| p.to_str().unwrap().to_string());
    let run = |format: &str| {
        let o = lint(&[&files[0], &files[1], &files[2], "--format", format]);
        // The first file that failed decides: bad.cfg is malformed (65).
        assert_eq!(o.status.code(), Some(65), "{format}: {}", err(&o));
        out(&o)
    };
    let text = run("text");
    assert!(
        text.contains("in 1 file(s); 2 file(s) could not be linted:")
            && text.contains("bad.cfg")
            && text.contains("missing.cfg"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 1);
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{json}");
    assert_eq!(errors[0]["line"], 2);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("unterminated"));
    assert!(errors[1]["message"]
        .as_str()
        .unwrap()
        .contains("cannot read"));
    let sarif = run("sarif");
    validate_sarif_schema(&sarif);
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let invocation = &v["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    let github = run("github");
    let annotations: Vec<&str> = github
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(annotations.len(), 2, "{github}");
    assert!(annotations[0].contains("bad.cfg,line=2"), "{github}");
}

#[test]
fn stdin_and_pipes_are_read_once_and_header_paths_are_the_configs() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = common::cli()
        .args(["presets", "show", "homepage", "--yaml"])
        .output()
        .unwrap()
        .stdout;
    std::fs::write(dir.path().join("mine.yaml"), yaml).unwrap();
    std::fs::write(dir.path().join("flags.env"), "CONTAINERS=1\n").unwrap();
    // Rendered from inside its directory: the header records `mine.yaml`, not a full path.
    let rendered = common::cli()
        .current_dir(dir.path())
        .args([
            "render",
            "--preset-file",
            "mine.yaml",
            "--env-file",
            "flags.env",
        ])
        .output()
        .unwrap();
    assert!(rendered.status.success());
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, &rendered.stdout).unwrap();
    // Linted from elsewhere: the recorded files resolve beside the config, so no drift.
    let o = lint(&[cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // `-` is stdin, read once.
    let o = common::cli()
        .args(["lint", "-", "--preset", "traefik"])
        .write_stdin(common::render_text(common::presets(&["traefik"]), Default::default()).1)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("in 1 file(s)"), "{}", out(&o));
    // A pipe (`<(...)`): /dev/fd/N is readable once; a second read would find it empty.
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg("\"$0\" lint <(\"$0\" render --preset traefik) --preset traefik")
        .arg(common::bin())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
}

/// A flag-driven config is never clean because its flags are unset: without an environment it
/// is judged with the image's defaults and every flag's openings are reported; with the compose
/// file that runs it, that environment is judged instead.
#[test]
fn flag_sensitivity_with_and_without_the_compose_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |extra: &[&str]| {
        let o = common::cli()
            .current_dir(root)
            .args(["lint", "tests/fixtures/tecnativa-style.cfg"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        out(&o)
    };
    let alone = run(&[]);
    for expected in [
        "info[SPG006]",
        "info[SPG403]",
        "with CONTAINERS=1, frontend `dockerfrontend` lets through 3 route(s)",
        "GET /containers/{name}/archive",
        "with CONTAINERS=1 POST=1, frontend `dockerfrontend`",
        "POST /containers/create",
    ] {
        assert!(alone.contains(expected), "{expected} missing:\n{alone}");
    }
    common::snapshot("lint-flag-sensitivity-alone", &alone);
    let with_compose = run(&["--compose", "tests/fixtures/lint/compose-tecnativa.yaml"]);
    assert!(!with_compose.contains("SPG403") && !with_compose.contains("SPG006"));
    common::snapshot("lint-flag-sensitivity-with-compose", &with_compose);
}

/// The real-world fixtures (docs/research/real-world.md): every config and compose file gets a
/// verdict (exit 0 or 1) on each HAProxy line it runs on; a template gets 65 and names its
/// placeholder.
#[test]
fn every_real_world_fixture_gets_a_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-world");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.ends_with(".cfg") || n.ends_with(".compose.yaml")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} fixtures", files.len());
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let min_30 = text
            .lines()
            .next()
            .is_some_and(|l| l.contains("min HAProxy 3.0"));
        for version in ["2.6", "3.0", "3.2"] {
            if min_30 && version == "2.6" {
                continue;
            }
            let o = common::cli()
                .current_dir(&dir)
                .args(["lint", name, "--haproxy-version", version])
                .output()
                .unwrap();
            let code = o.status.code();
            let ok = if name.ends_with(".template.cfg") {
                code == Some(65) && err(&o).contains("placeholder")
            } else {
                matches!(code, Some(0 | 1))
            };
            if !ok {
                wrong.push(format!("{name} on {version}: exit {code:?}\n{}", err(&o)));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every keyword of each version's manual (data/haproxy-keywords) parses in its section: the
/// section is recognised, the words are split as HAProxy splits them, and the keyword table
/// knows them, for 2.6, 3.0 and 3.2 alike.
#[test]
fn every_keyword_of_the_manual_parses_in_its_section() {
    use sockproxy_gen::haproxy::{keywords, syntax, version::Version};
    for line in ["2.6", "3.0", "3.2"] {
        let version = Version::parse(line).unwrap();
        let all = keywords::all(version);
        let mut by_section: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (section, keyword, _) in &all {
            by_section.entry(section).or_default().push(keyword);
        }
        let mut text = String::new();
        for (section, words) in &by_section {
            let named = !matches!(*section, "global" | "defaults");
            text.push_str(&format!("{section}{}\n", if named { " s" } else { "" }));
            for k in words {
                text.push_str(&format!("    {k} x\n"));
            }
        }
        let parsed = syntax::parse(&text, &Default::default(), version);
        assert!(parsed.errors.is_empty(), "{line}: {:?}", parsed.errors);
        let mut checked = 0;
        for s in &parsed.sections {
            assert!(
                by_section.contains_key(s.keyword.as_str()),
                "{line}: section {}",
                s.keyword
            );
            for d in &s.directives {
                let words: Vec<&str> = d.words().take(3).map(|w| w.text).collect();
                assert!(
                    keywords::lookup(version, &s.keyword, &words).is_some(),
                    "{line}: `{}` in {} is not recognised",
                    words.join(" "),
                    s.keyword
                );
                checked += 1;
            }
        }
        assert_eq!(checked, all.len(), "{line}");
        println!(
            "HAProxy {line}: {checked} keywords in {} section types",
            by_section.len()
        );
    }
}

/// Where lint refuses a file (65), HAProxy of that version refuses it too.
#[test]
fn lint_refuses_only_what_haproxy_refuses() {
    let defaults =
        "defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown keyword",
            format!("global\n  bogus-keyword 1\n{defaults}"),
        ),
        (
            "unterminated quote",
            format!("global\n  log \"stdout\n{defaults}"),
        ),
        ("unclosed .if", format!("global\n.if 1\n{defaults}")),
        (".endif without .if", format!("global\n.endif\n{defaults}")),
        (".alert", format!("global\n.alert \"stop\"\n{defaults}")),
        (
            "a predicate of a later version",
            format!("global\n.if strstr(abc,b)\n.endif\n{defaults}"),
        ),
        (
            "placeholder",
            format!("global\n{defaults}frontend f\n  bind @@BIND@@\n"),
        ),
        (
            "keyword outside a section",
            format!("  mode http\n{defaults}"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for haproxy in common::haproxies() {
        // `strstr()` exists from 3.0 on: only 2.6 refuses it.
        for (what, text) in &cases {
            if *what == "a predicate of a later version" && haproxy.line() != "2.6" {
                continue;
            }
            let file = dir.path().join("refused.cfg");
            std::fs::write(&file, text).unwrap();
            let o = lint(&[file.to_str().unwrap(), "--haproxy-version", &haproxy.line()]);
            assert_eq!(
                o.status.code(),
                Some(65),
                "{what} on {}: {}",
                haproxy.version,
                err(&o)
            );
            let work = haproxy.workdir();
            std::fs::write(work.host("refused.cfg"), text).unwrap();
            let checked = haproxy.check(&work.inner("refused.cfg"));
            assert!(
                !checked.status.success(),
                "{what}: HAProxy {} accepts what lint refuses",
                haproxy.version
            );
        }
    }
}

/// The JSON report of one file.
fn json_report(args: &[&str]) -> serde_json::Value {
    let o = lint(&[args, &["--format", "json"]].concat());
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", err(&o));
    serde_json::from_str(&out(&o)).unwrap()
}

/// Each route of `frontend`'s matrix: (name, allowed, uncertain, the frontends passed through).
fn verdicts(report: &serde_json::Value, frontend: &str) -> Vec<(String, bool, bool, Vec<String>)> {
    let m = report["files"][0]["matrices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["frontend"] == frontend)
        .unwrap_or_else(|| panic!("no matrix for {frontend}"));
    m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let via = r["cells"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["via"].as_str().map(str::to_string))
                .collect::<std::collections::BTreeSet<_>>();
            (
                r["name"].as_str().unwrap().to_string(),
                r["allowed"] == true,
                r["uncertain"] == true,
                via.into_iter().collect(),
            )
        })
        .collect()
}

/// A tcp-mode listener that only forwards to an HTTP frontend of the same file is judged
/// through it: its matrix is that frontend's, each passing cell names the frontend, and it gets
/// no finding for the logging and Upgrade control the HTTP frontend does. What it cannot model
/// (`src`) makes only the cells it decides uncertain, with the routes named on its line.
#[test]
fn a_tcp_listener_is_judged_through_the_frontend_it_forwards_to() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-world/tcp-to-http-loopback-chain.cfg");
    let report = json_report(&[file.to_str().unwrap()]);
    let rules = verdicts(&report, "rules_http");
    let alt = verdicts(&report, "edge_l4_alt");
    let allowed = |v: &[(String, bool, bool, Vec<String>)]| -> Vec<String> {
        v.iter().filter(|r| r.1).map(|r| r.0.clone()).collect()
    };
    assert!(!allowed(&rules).is_empty());
    assert_eq!(allowed(&alt), allowed(&rules));
    assert!(alt.iter().all(|r| !r.2));
    for r in alt.iter().filter(|r| r.1) {
        assert_eq!(r.3, ["rules_http"], "{}", r.0);
    }
    // The listener with `tcp-request connection reject unless { src ... }`: the routes the HTTP
    // rules let through are uncertain, the ones they deny stay denied.
    let edge = verdicts(&report, "edge_l4");
    for (e, r) in edge.iter().zip(&rules) {
        assert_eq!(e.0, r.0);
        assert!(!e.1, "{}", e.0);
        assert_eq!(e.2, r.1, "{}", e.0);
    }
    let findings = report["files"][0]["findings"].as_array().unwrap();
    let src = findings
        .iter()
        .find(|f| f["code"] == "SPG001" && f["message"].as_str().unwrap().contains("`src`"))
        .expect("an SPG001 on the src rule");
    assert_eq!(src["line"], 17);
    let message = src["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{} route(s) of frontend `edge_l4`",
            allowed(&rules).len()
        )),
        "{message}"
    );
    // The direct tcp path to the daemon passes everything, and says so.
    let raw = verdicts(&report, "debug_raw");
    assert!(raw.iter().all(|r| r.1 && r.3.is_empty()));
    let on = |code: &str, frontend: &str| {
        findings.iter().any(|f| {
            f["code"] == code
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("`{frontend}`"))
        })
    };
    assert!(on("SPG401", "debug_raw"));
    for code in ["SPG303", "SPG305", "SPG401"] {
        assert!(!on(code, "edge_l4_alt"), "{code}");
        assert!(!on(code, "edge_l4"), "{code}");
    }
}

/// A flag-driven template given no environment is judged with the defaults of the image whose
/// template it is (data/flags/known-flags.tsv): linuxserver's (LIBPOD_PING=1, LIBPOD_VERSION=1,
/// ALLOW_* 0, GRPC not set) for a linuxserver-style file, Tecnativa's for a Tecnativa-style one;
/// the findings name the image and list the defaults, and the flag-sensitivity report starts
/// from them.
#[test]
fn a_template_is_judged_with_the_defaults_of_its_image() {
    use sockproxy_gen::haproxy::eval::{self, Request};
    use sockproxy_gen::haproxy::syntax;
    use sockproxy_gen::haproxy::version::Version;
    use sockproxy_gen::lint::families;
    use std::collections::BTreeSet;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let linuxserver = root.join("tests/fixtures/linuxserver-style.cfg");
    let tecnativa = root.join("tests/fixtures/tecnativa-style.cfg");
    let o = common::cli()
        .current_dir(root)
        .args(["lint", "tests/fixtures/linuxserver-style.cfg"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = out(&o);
    for expected in [
        "judged with the defaults of the linuxserver image (lscr.io/linuxserver/socket-proxy): EVENTS=1, LIBPOD_PING=1, LIBPOD_VERSION=1, LOG_LEVEL=info, PING=1, SOCKET_PATH=/var/run/docker.sock, VERSION=1, 0 for the other 25 flag(s), GRPC not set (recognised by the name(s) only its template reads: ALLOW_ARCHIVE,",
        "frontend `socket_proxy`, from the defaults of the linuxserver image (lscr.io/linuxserver/socket-proxy): ALLOW_PAUSE=1 opens 1",
        // Before the method gate: restarts with POST=0.
        "ALLOW_RESTARTS=1 opens 3 (0 dangerous)",
        // Archive and export stay denied with CONTAINERS=1 (ALLOW_ARCHIVE=0, ALLOW_EXPORT=0).
        "with CONTAINERS=1, frontend `socket_proxy` lets through 1 route(s) that can take over the host or read its data: GET /containers/{name}/attach/ws",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    common::snapshot("lint-linuxserver-style-alone", &text);

    // The matrix: exactly the Docker routes linuxserver's defaults open (PING, VERSION, EVENTS
    // are 1 in its Dockerfile, every other section 0), and the same for Tecnativa's template.
    let allowed = |file: &Path, frontend: &str, env: &[&str]| -> BTreeSet<String> {
        let report = json_report(&[&[file.to_str().unwrap()][..], env].concat());
        verdicts(&report, frontend)
            .into_iter()
            .filter(|(_, allowed, _, _)| *allowed)
            .map(|(name, ..)| name)
            .collect()
    };
    let defaults_open: BTreeSet<String> =
        ["GET /_ping", "HEAD /_ping", "GET /version", "GET /events"]
            .map(String::from)
            .into();
    assert_eq!(allowed(&linuxserver, "socket_proxy", &[]), defaults_open);
    assert_eq!(allowed(&tecnativa, "dockerfrontend", &[]), defaults_open);
    // An environment given on top of the defaults: CONTAINERS=1 still leaves archive, export
    // and logs denied (linuxserver's ALLOW_* are 0), and ALLOW_START=1 starts with POST=0.
    let with_containers = allowed(&linuxserver, "socket_proxy", &["--env", "CONTAINERS=1"]);
    assert!(with_containers.contains("GET /containers/json"));
    for denied in [
        "GET /containers/{name}/archive",
        "GET /containers/{name}/export",
        "GET /containers/{name}/logs",
        "POST /containers/{name}/start",
    ] {
        assert!(
            !with_containers.contains(denied),
            "{denied}: {with_containers:?}"
        );
    }
    let with_start = allowed(&linuxserver, "socket_proxy", &["--env", "ALLOW_START=1"]);
    assert!(
        with_start.contains("POST /containers/{name}/start"),
        "{with_start:?}"
    );
    let o = lint(&[linuxserver.to_str().unwrap(), "--env", "CONTAINERS=1"]);
    assert!(
        out(&o).contains(
            "judged with CONTAINERS=1 (--env); the defaults of the linuxserver image (lscr.io/linuxserver/socket-proxy) for the rest: EVENTS=1, LIBPOD_PING=1, LIBPOD_VERSION=1, LOG_LEVEL=info, PING=1, SOCKET_PATH=/var/run/docker.sock, VERSION=1, 0 for the other 24 flag(s); set neither by the linuxserver image (lscr.io/linuxserver/socket-proxy) nor by the environment: GRPC"
        ),
        "{}",
        out(&o)
    );

    // Podman's `/libpod` API is not in the catalog (the Docker Engine API): what the assumed
    // defaults open there is checked with the evaluator lint uses, given lint's environment.
    let text = std::fs::read_to_string(&linuxserver).unwrap();
    let assumed = families::assumed_for(&text);
    assert_eq!(assumed.label, "linuxserver");
    let mut env = assumed.defaults.clone();
    env.insert("PORT".into(), "2375".into());
    let version = Version::parse("3.2").unwrap();
    let model = eval::compile(
        &syntax::parse(&text, &env, version),
        version.dialect().unwrap(),
    );
    let entry = model.entries().next().expect("the frontend");
    let headers = vec![("Host".to_string(), "docker".to_string())];
    let forwarded = |method: &str, target: &str| {
        model
            .evaluate(
                entry,
                &Request {
                    method,
                    target,
                    headers: &headers,
                },
            )
            .unwrap()
            .forwarded()
    };
    for (method, target, expected) in [
        ("GET", "/libpod/_ping", true),
        ("GET", "/v5.2/libpod/_ping", true),
        ("GET", "/libpod/version", true),
        ("GET", "/v4.0.0/libpod/version", true),
        ("GET", "/libpod/info", false),
        ("GET", "/libpod/containers/json", false),
        ("POST", "/libpod/containers/abc/start", false),
        ("POST", "/libpod/_ping", false),
    ] {
        assert_eq!(forwarded(method, target), expected, "{method} {target}");
    }
    // Tecnativa's template gets Tecnativa's defaults, and nothing of linuxserver's.
    let assumed = families::assumed_for(&std::fs::read_to_string(&tecnativa).unwrap());
    assert_eq!(
        assumed.image.as_deref(),
        Some("tecnativa/docker-socket-proxy")
    );
    assert!(assumed.defaults.keys().all(|k| !k.starts_with("LIBPOD_")));
    let report = json_report(&[tecnativa.to_str().unwrap()]);
    let spg006 = report["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "SPG006")
        .expect("SPG006");
    assert!(
        spg006["message"].as_str().unwrap().contains(
            "judged with the defaults of the Tecnativa image (tecnativa/docker-socket-proxy): EVENTS=1, LOG_LEVEL=info, PING=1, SOCKET_PATH=/var/run/docker.sock, VERSION=1, 0 for the other 24 flag(s) (no name the rules read is only a fork's)"
        ),
        "{spg006}"
    );
}

/// With `--compose`, the image the proxy service runs decides which defaults apply to the flags
/// its environment does not set: the official `haproxy` image sets none (so `/events` and
/// `/_ping` are closed unless given), a known proxy image sets its own.
#[test]
fn the_compose_services_image_decides_the_defaults() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::copy(root.join("tests/fixtures/tecnativa-style.cfg"), &cfg).unwrap();
    let compose = |image: &str| {
        let file = dir
            .path()
            .join(format!("{}.yaml", image.replace(['/', ':'], "-")));
        std::fs::write(
            &file,
            format!(
                "services:\n  sockproxy:\n    image: {image}\n    environment:\n      CONTAINERS: \"1\"\n      PORT: \"2375\"\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n      - ./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro\n"
            ),
        )
        .unwrap();
        file
    };
    let run = |image: &str| {
        let file = compose(image);
        let args = [cfg.to_str().unwrap(), "--compose", file.to_str().unwrap()];
        let o = lint(&args);
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        let report = json_report(&args);
        let allowed: std::collections::BTreeSet<String> = verdicts(&report, "dockerfrontend")
            .into_iter()
            .filter(|(_, allowed, _, _)| *allowed)
            .map(|(name, ..)| name)
            .collect();
        (out(&o), allowed)
    };
    let (text, allowed) = run("haproxy:3.2-alpine");
    assert!(
        text.contains("info[SPG007]: judged with CONTAINERS=1 (")
            && text.contains("; set neither by the haproxy image (haproxy:3.2-alpine) nor by the environment: ALLOW_RESTARTS, ALLOW_START, ALLOW_STOP, AUTH, BUILD, COMMIT, CONFIGS, DISTRIBUTION (+")
            && !text.contains("defaults of"),
        "{text}"
    );
    assert!(allowed.contains("GET /containers/json"), "{allowed:?}");
    for closed in ["GET /events", "GET /_ping", "GET /version"] {
        assert!(!allowed.contains(closed), "{closed}: {allowed:?}");
    }
    let (text, allowed) = run("tecnativa/docker-socket-proxy:0.4.1");
    assert!(
        text.contains("; the defaults of the Tecnativa image (tecnativa/docker-socket-proxy:0.4.1) for the rest: EVENTS=1, LOG_LEVEL=info, PING=1, SOCKET_PATH=/var/run/docker.sock, VERSION=1, 0 for the other 23 flag(s)"),
        "{text}"
    );
    for open in [
        "GET /containers/json",
        "GET /events",
        "GET /_ping",
        "GET /version",
    ] {
        assert!(allowed.contains(open), "{open}: {allowed:?}");
    }
}

/// ACL pattern files on the command line: without `--pattern-file` the verdicts that depend on
/// the list are uncertain and SPG001 says which option to pass; with it every verdict is
/// certain, the file is named (SPG008), and what the list holds decides; `default-path config`
/// reads a relative name beside the config; a given file that cannot be read exits 66 naming
/// it, and a malformed `--pattern-file` is a usage error (64).
#[test]
fn pattern_files_make_their_verdicts_certain() {
    let dir = tempfile::tempdir().unwrap();
    let config = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 1m\n    timeout server 1m\n\nfrontend docker\n    bind 127.0.0.1:2375\n    acl allowed path -f /usr/local/etc/haproxy/allowed.lst\n    http-request allow if allowed METH_GET\n    http-request deny\n    default_backend docker\n\nbackend docker\n    server docker /var/run/docker.sock\n";
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, config).unwrap();
    let list = dir.path().join("allowed.lst");
    std::fs::write(
        &list,
        "# read-only dashboard\n/_ping\n  /version\n/containers/json\r\n",
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let given = format!("/usr/local/etc/haproxy/allowed.lst={}", list.display());
    let without = json_report(&[cfg_arg]);
    let v = verdicts(&without, "docker");
    assert!(v.iter().filter(|r| r.2).count() >= 3, "{v:?}");
    assert!(
        v.iter().all(|r| !r.1),
        "nothing is allowed for certain without the list"
    );
    let findings = without["files"][0]["findings"].as_array().unwrap();
    let note = findings
        .iter()
        .find(|f| f["code"] == "SPG001")
        .expect("SPG001 on the -f");
    assert_eq!(note["line"], 9);
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("--pattern-file /usr/local/etc/haproxy/allowed.lst=LOCAL_COPY"),
        "{note}"
    );
    let with = json_report(&[cfg_arg, "--pattern-file", &given]);
    let v = verdicts(&with, "docker");
    assert!(v.iter().all(|r| !r.2), "{v:?}");
    let allowed: Vec<&str> = v.iter().filter(|r| r.1).map(|r| r.0.as_str()).collect();
    assert_eq!(
        allowed,
        [
            "GET /containers/json",
            "GET /_ping",
            "HEAD /_ping",
            "GET /version"
        ],
        "{v:?}"
    );
    let findings = with["files"][0]["findings"].as_array().unwrap();
    assert!(
        !findings.iter().any(|f| f["code"] == "SPG001"),
        "{findings:?}"
    );
    let read = findings
        .iter()
        .find(|f| f["code"] == "SPG008")
        .expect("SPG008 names the file");
    assert_eq!(read["line"], 9);
    let message = read["message"].as_str().unwrap();
    assert!(
        message.contains(&list.display().to_string()) && message.contains("3 pattern(s)"),
        "{message}"
    );
    // A relative name under `default-path config`: read beside the config, unasked.
    let relative = config
        .replace("/usr/local/etc/haproxy/allowed.lst", "allowed.lst")
        .replacen(
            "defaults\n",
            "global\n    default-path config\n\ndefaults\n",
            1,
        );
    std::fs::write(&cfg, &relative).unwrap();
    let beside = json_report(&[cfg_arg]);
    assert_eq!(verdicts(&beside, "docker"), verdicts(&with, "docker"));
    let findings = beside["files"][0]["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["code"] == "SPG008"
        && f["message"]
            .as_str()
            .unwrap()
            .contains("default-path config")));
    // Without `default-path config` the same file is a hint, never read unasked.
    std::fs::write(&cfg, relative.replace("    default-path config\n", "")).unwrap();
    let current = json_report(&[cfg_arg]);
    assert!(verdicts(&current, "docker").iter().any(|r| r.2));
    let findings = current["files"][0]["findings"].as_array().unwrap();
    assert!(!findings.iter().any(|f| f["code"] == "SPG008"));
    // With --compose: the config names the file by its path in the container, and the proxy
    // service mounts the checked-in directory there.
    let sub = dir.path().join("sockproxy");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("haproxy.cfg"), config).unwrap();
    std::fs::copy(&list, sub.join("allowed.lst")).unwrap();
    let compose = dir.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "services:\n  sockproxy:\n    image: haproxy:3.2-alpine\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n      - ./sockproxy:/usr/local/etc/haproxy:ro\n",
    )
    .unwrap();
    let mounted = json_report(&[
        sub.join("haproxy.cfg").to_str().unwrap(),
        "--compose",
        compose.to_str().unwrap(),
    ]);
    assert_eq!(verdicts(&mounted, "docker"), verdicts(&with, "docker"));
    let findings = mounted["files"][0]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "SPG008"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("the proxy service mounts")),
        "{findings:?}"
    );
    // A given file that cannot be read: 66, with the path and the option.
    let missing = dir.path().join("missing.lst");
    let o = lint(&[
        cfg_arg,
        "--pattern-file",
        &format!("/etc/x.lst={}", missing.display()),
    ]);
    assert_eq!(o.status.code(), Some(66), "{}", err(&o));
    assert!(
        err(&o).contains(&missing.display().to_string()) && err(&o).contains("--pattern-file"),
        "{}",
        err(&o)
    );
    assert!(out(&o).is_empty());
    let o = lint(&[cfg_arg, "--pattern-file", "/etc/x.lst="]);
    assert_eq!(o.status.code(), Some(64), "{}", err(&o));
}

/// An SPOE filter's agent sets variables the file does not show: the rules that read one no
/// rule sets are uncertain, reported on the filter line with the variable named; a variable a
/// rule sets is judged as usual, and the filter gets no generic "runs code" finding.
#[test]
fn an_spoe_agent_makes_its_variables_uncertain() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/spoe-agent.cfg");
    let report = json_report(&[file.to_str().unwrap()]);
    let v = verdicts(&report, "docker");
    let row = |name: &str| v.iter().find(|r| r.0 == name).unwrap().clone();
    // Decided by the agent's answer.
    assert!(row("GET /containers/json").2, "{v:?}");
    // Decided by the rules alone.
    let ping = row("GET /_ping");
    assert!(ping.1 && !ping.2, "{ping:?}");
    let info = row("GET /info");
    assert!(!info.1 && !info.2, "{info:?}");
    let findings = report["files"][0]["findings"].as_array().unwrap();
    let on_filter: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["code"] == "SPG001" && f["line"] == 17)
        .collect();
    assert_eq!(on_filter.len(), 1, "{findings:?}");
    let message = on_filter[0]["message"].as_str().unwrap();
    assert!(message.contains("`txn.iprep.verdict`"), "{message}");
    assert!(
        message.contains("1 route(s) of frontend `docker`"),
        "{message}"
    );
    assert!(!message.contains("txn.route"), "{message}");
    assert!(
        !findings
            .iter()
            .any(|f| f["code"] == "SPG001" && f["line"] != 17),
        "{findings:?}"
    );
}
