//! The command line: bad input gets a clear message, a distinct exit code and no partial
//! file; `--help` and listings are snapshotted.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{cli, dir_entries, snapshot};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

#[test]
fn unknown_preset_suggests_the_closest() {
    cli()
        .args(["render", "--preset", "treafik"])
        .assert()
        .code(64)
        .stdout("")
        .stderr(
            predicate::str::contains("unknown preset `treafik`; did you mean `traefik`?")
                .and(predicate::str::contains("sockproxy-gen presets")),
        );
}

#[test]
fn unknown_flag_suggests_the_closest() {
    cli()
        .args(["render", "--flag", "IAMGES=1"])
        .assert()
        .code(64)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown flag `IAMGES`; did you mean `IMAGES`?",
        ));
    cli()
        .args(["render", "--flag", "INF0=1"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("did you mean `INFO`?"));
}

#[test]
fn bad_flag_values_are_errors_and_true_is_a_warning() {
    cli()
        .args(["render", "--flag", "CONTAINERS=maybe"])
        .assert()
        .code(64)
        .stdout("")
        .stderr(predicate::str::contains(
            "flag CONTAINERS=maybe: the value must be 0 or 1",
        ));
    cli()
        .args(["render", "--flag", "CONTAINERS"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("expected KEY=VAL"));
    cli()
        .args(["render", "--flag", "CONTAINERS=true"])
        .assert()
        .success()
        .stdout(predicate::str::contains("allow:GET:/containers/json"))
        .stderr(predicate::str::contains(
            "the Tecnativa image reads anything but a non-zero integer as 0",
        ));
}

#[test]
fn flag_semantics_are_said_out_loud() {
    // POST=1 opens POST only, and says which routes; ALLOW_RESTARTS works without POST.
    let out = cli()
        .args(["render", "--flag", "CONTAINERS=1", "--flag", "POST=1"])
        .assert()
        .success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stderr.contains("POST=1 opens") && stderr.contains("POST /containers/create"),
        "{stderr}"
    );
    assert!(stderr.contains("does not open DELETE or PUT"), "{stderr}");
    assert!(stderr.contains("can take over the host"), "{stderr}");
    assert!(
        !stdout.contains("allow:DELETE:") && !stdout.contains("allow:PUT:"),
        "{stdout}"
    );
    let restarts = cli()
        .args(["render", "--flag", "ALLOW_RESTARTS=1"])
        .assert()
        .success();
    let stdout = String::from_utf8(restarts.get_output().stdout.clone()).unwrap();
    for token in [
        "allow:POST:/containers/**/restart",
        "allow:POST:/containers/**/stop",
        "allow:POST:/containers/**/kill",
    ] {
        assert!(
            stdout.contains(token),
            "ALLOW_RESTARTS without POST must grant {token}"
        );
    }
    assert!(!stdout.contains("allow:POST:/containers/create"));
}

#[test]
fn env_file_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = write(
        dir.path(),
        "unknown.env",
        "# proxy flags\nCONTAINERS=1\nIAMGES=1\n",
    );
    cli()
        .args(["render", "--env-file", &unknown])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{unknown}:3: unknown flag `IAMGES`; did you mean `IMAGES`?"
        )));
    let garbage = write(
        dir.path(),
        "garbage.env",
        "CONTAINERS=1\nthis is not a flag\n",
    );
    cli()
        .args(["render", "--env-file", &garbage])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{garbage}:2: expected KEY=VAL"
        )));
    let bad_value = write(dir.path(), "bad.env", "export CONTAINERS=\"2\"\n");
    cli()
        .args(["render", "--env-file", &bad_value])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{bad_value}:1: flag CONTAINERS=2"
        )));
    cli()
        .args(["render", "--env-file", "/nonexistent/x.env"])
        .assert()
        .code(66)
        .stderr(predicate::str::contains("cannot read /nonexistent/x.env"));
}

#[test]
fn preset_file_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let malformed = write(
        dir.path(),
        "malformed.yaml",
        "name: mine\ndescription: x\ngrants:\n  - route: GET /_ping\n   reason: bad indent\n",
    );
    cli()
        .args(["render", "--preset-file", &malformed])
        .assert()
        .code(65)
        .stdout("")
        .stderr(format!(
            "error: {malformed}:4:5: not a valid preset: grants[0]: missing field `reason`\n"
        ));
    let syntax = write(
        dir.path(),
        "syntax.yaml",
        "name: mine\ndescription: x\ngrants: [\n  - route: GET /_ping\n",
    );
    cli()
        .args(["render", "--preset-file", &syntax])
        .assert()
        .code(65)
        .stderr(
            predicate::str::contains(format!(
                "{syntax}:4:3: not a valid preset: did not find expected node content"
            ))
            .and(predicate::str::contains("not a valid preset")),
        );
    let unknown_field = write(
        dir.path(),
        "field.yaml",
        "name: mine\ndescription: x\ngrant:\n  - route: GET /_ping\n    reason: r\n",
    );
    cli()
        .args(["render", "--preset-file", &unknown_field])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("unknown field `grant`"));
    let route = write(dir.path(), "route.yaml", "name: mine\ndescription: x\ngrants:\n  - route: GET /_ping\n    reason: ok\n  - route: GET /container/{id}/json\n    reason: typo\n");
    cli()
        .args(["render", "--preset-file", &route])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!("{route}:6: `GET /container/{{id}}/json` is not a route of the Docker Engine API catalog; did you mean `GET /containers/{{name}}/json`?")));
    let bad_name = write(
        dir.path(),
        "name.yaml",
        "name: My Preset\ndescription: x\ngrants:\n  - route: GET /_ping\n    reason: r\n",
    );
    cli()
        .args(["render", "--preset-file", &bad_name])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{bad_name}:1: preset name `My Preset`"
        )));
    cli()
        .args(["render", "--preset-file", "/nonexistent/p.yaml"])
        .assert()
        .code(66);
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, b"name: x\n\xff\xfe").unwrap();
    cli()
        .args(["render", "--preset-file", binary.to_str().unwrap()])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{}:2: the preset file is not valid UTF-8",
            binary.display()
        )));
}

#[test]
fn a_preset_file_renders() {
    let dir = tempfile::tempdir().unwrap();
    let mine = write(dir.path(), "mine.yaml", "name: mine\ndescription: my tool\ngrants:\n  - route: GET /containers/{id}/logs\n    reason: tails logs\n");
    cli()
        .args(["render", "--preset-file", &mine])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("frontend mine")
                .and(predicate::str::contains("allow:GET:/containers/**/logs"))
                .and(predicate::str::contains("use_backend spg_stream")),
        );
}

#[test]
fn output_is_atomic_and_errors_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("haproxy.cfg");
    cli()
        .args(["render", "--preset", "traefik", "-o", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout("");
    let first = std::fs::read_to_string(&out).unwrap();
    assert!(first.contains("frontend traefik"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644,
        "HAProxy's user must be able to read it"
    );
    // A failing render leaves the existing file as it was, and no temp file behind.
    cli()
        .args(["render", "--preset", "nope", "-o", out.to_str().unwrap()])
        .assert()
        .code(64);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first);
    assert_eq!(dir_entries(dir.path()), vec!["haproxy.cfg"]);
    // An output path that cannot be written: a distinct code, nothing written.
    let blocked = format!("{}/sub/haproxy.cfg", out.display());
    cli()
        .args(["render", "--preset", "traefik", "-o", &blocked])
        .assert()
        .code(73)
        .stderr(predicate::str::contains(format!("cannot write {blocked}")));
    cli()
        .args([
            "render",
            "--preset",
            "traefik",
            "-o",
            "/nonexistent-dir/haproxy.cfg",
        ])
        .assert()
        .code(73);
    assert_eq!(dir_entries(dir.path()), vec!["haproxy.cfg"]);
}

#[test]
fn usage_errors() {
    cli()
        .args(["render"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("no policy given"));
    cli()
        .args(["render", "--preset", "traefik", "--preset", "traefik"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("given twice"));
    cli()
        .args([
            "render",
            "--preset",
            "traefik",
            "--preset",
            "dozzle",
            "--unix",
            "/run/p.sock",
        ])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("{client}"));
    cli()
        .args([
            "render",
            "--preset",
            "traefik",
            "--socket",
            "/run/my docker.sock",
        ])
        .assert()
        .code(64);
    cli().args(["render", "--bogus"]).assert().code(64);
}

#[test]
fn presets_listing_and_show() {
    let list = cli().args(["presets"]).assert().success();
    let list = String::from_utf8(list.get_output().stdout.clone()).unwrap();
    snapshot("cli-presets", &list);
    assert_eq!(list.lines().count(), 1 + 18);
    let show = cli()
        .args(["presets", "show", "traefik"])
        .assert()
        .success();
    snapshot(
        "cli-presets-show-traefik",
        &String::from_utf8(show.get_output().stdout.clone()).unwrap(),
    );
    // The YAML a user copies renders the same grants as the built-in preset.
    let yaml = cli()
        .args(["presets", "show", "watchtower", "--yaml"])
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "w.yaml",
        &String::from_utf8(yaml.get_output().stdout.clone()).unwrap(),
    );
    let from_file = cli()
        .args(["render", "--preset-file", &file])
        .assert()
        .success();
    let builtin = cli()
        .args(["render", "--preset", "watchtower"])
        .assert()
        .success();
    let rules = |o: &assert_cmd::assert::Assert| -> Vec<String> {
        String::from_utf8(o.get_output().stdout.clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains("str(allow:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(rules(&from_file), rules(&builtin));
    cli()
        .args(["presets", "show", "portainer"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "did you mean `portainer-readonly`?",
        ));
}

#[test]
fn help_is_snapshotted() {
    for args in [
        vec!["--help"],
        vec!["render", "--help"],
        vec!["presets", "--help"],
        vec!["routes", "--help"],
        vec!["env", "--help"],
        vec!["compose", "--help"],
        vec!["verify", "--help"],
        vec!["lint", "--help"],
        vec!["explain", "--help"],
        vec!["learn", "--help"],
        vec!["migrate", "--help"],
    ] {
        let out = cli().args(&args).assert().success();
        snapshot(
            &format!(
                "cli-help-{}",
                args.join("-").trim_start_matches('-').replace("--", "")
            ),
            &String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        );
    }
}

#[test]
fn routes_lists_the_catalog() {
    let out = cli().args(["routes"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1 + 122);
    cli()
        .args(["routes", "--section", "exec"])
        .assert()
        .success()
        .stdout(predicate::str::contains("/exec/{name}/start"));
}

#[test]
fn bash_completion_completes_subcommands_and_options() {
    let script = cli().args(["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sockproxy-gen.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    // Load the script into a real bash and ask it to complete, as a shell does on TAB, with the
    // function the script registers for the command.
    let text = String::from_utf8_lossy(&script.stdout);
    let function = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("complete -F "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the script registers a completion function");
    // bash calls the function with the command, the word being completed and the one before.
    let complete = |words: &str, cword: usize| -> String {
        let list: Vec<&str> = words.split(' ').collect();
        let (cur, prev) = (list[cword], list[cword - 1]);
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; {function} sockproxy-gen {cur} {prev}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                file.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let subcommands = complete("sockproxy-gen ren", 1);
    assert_eq!(subcommands.trim(), "render", "{subcommands}");
    let options = complete("sockproxy-gen render --pre", 2);
    assert!(
        options.lines().any(|l| l == "--preset") && options.lines().any(|l| l == "--preset-file"),
        "{options}"
    );
    // zsh and fish parse their scripts without running them (Debian's zsh and fish).
    for (shell, check) in [("zsh", vec!["-n"]), ("fish", vec!["--no-execute"])] {
        let out = cli().args(["completions", shell]).output().unwrap();
        let file = dir.path().join(format!("completion.{shell}"));
        std::fs::write(&file, &out.stdout).unwrap();
        let parsed = std::process::Command::new(shell)
            .args(&check)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{shell} (installed by .ci/setup): {e}"));
        assert!(
            parsed.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&parsed.stderr)
        );
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = cli().args(["completions", shell]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("render") && text.contains("preset-file"),
            "{shell}"
        );
    }
}

#[test]
fn man_pages_render_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    cli()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for sub in [
        "render", "compose", "env", "lint", "verify", "presets", "routes", "explain",
    ] {
        assert!(
            pages.contains(&format!("sockproxy-gen-{sub}.1")),
            "{pages:?}"
        );
    }
    assert!(pages.contains(&"sockproxy-gen.1".to_string()));
    for page in &pages {
        // groff with every warning on, output discarded: the roff must be clean.
        let out = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join(page))
            .output()
            .expect("groff (Debian groff-base, installed by .ci/setup)");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The page `man` prints is the main page, rendered as man shows it.
    let printed = cli().arg("man").output().unwrap();
    assert_eq!(
        printed.stdout,
        std::fs::read(dir.path().join("sockproxy-gen.1")).unwrap()
    );
    let shown = std::process::Command::new("groff")
        .args(["-man", "-Tutf8"])
        .arg(dir.path().join("sockproxy-gen.1"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    for word in ["render", "lint", "verify", "Exit codes", "64"] {
        assert!(
            shown.contains(word),
            "{word} missing from the man page:\n{shown}"
        );
    }
}
