//! The `.env` reader and writer (`sockproxy_gen::dotenv`): Docker Compose's syntax row by row,
//! errors with their lines, a property test that `set` changes nothing but the key's line, and
//! the commands that read env files (`render --env-file`, `lint --env-file`, lint of a .env).

use std::path::Path;

use predicates::prelude::*;
use proptest::prelude::*;
use sockproxy_gen::dotenv::{self, Quote, Separator};
use sockproxy_gen::Error;

use crate::common::cli;

const KEY: &str = "PGID_DOCKER_SOCKET";

/// The environment of the table tests.
fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/u".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn read(text: &str) -> dotenv::Dotenv {
    dotenv::parse(text, Path::new("t.env"), &env)
        .unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"))
}

/// A table row: what it shows, the text, and every variable it sets (the winning values).
type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// One row per rule.
#[test]
fn compose_semantics() {
    let rows: &[Row] = &[
        ("plain", "A=1", &[("A", "1")]),
        ("spaces around =", "A = 1 ", &[("A", "1")]),
        ("yaml style", "A: 1\nB:2", &[("A", "1"), ("B", "2")]),
        (
            "= after the first separator is value",
            "A=1:B=2",
            &[("A", "1:B=2")],
        ),
        ("export", "export A=2", &[("A", "2")]),
        (
            "export with a tab, indented",
            "  export\tA=2",
            &[("A", "2")],
        ),
        ("exportA is a key", "exportA=2", &[("exportA", "2")]),
        ("export alone is ignored", "export \nA=1", &[("A", "1")]),
        ("key characters", "a.b-c[0]_D=x", &[("a.b-c[0]_D", "x")]),
        ("unicode key", "clé=v", &[("clé", "v")]),
        ("double quotes", "A=\"x y\"", &[("A", "x y")]),
        ("single quotes", "A='x y'", &[("A", "x y")]),
        (
            "empty values",
            "A=\nB=''\nC=\"\"",
            &[("A", ""), ("B", ""), ("C", "")],
        ),
        ("quote after spaces", "A =  'q'", &[("A", "q")]),
        ("quote inside unquoted", "A=x\"y\"", &[("A", "x\"y\"")]),
        (
            "single quotes are literal",
            r"A='$HOME \n \\'",
            &[("A", r"$HOME \n \\")],
        ),
        ("\\' in single quotes", r"A='it\'s'", &[("A", "it's")]),
        (
            "\\\" in double quotes",
            r#"A="say \"hi\"""#,
            &[("A", "say \"hi\"")],
        ),
        ("double quotes keep '", r#"A="'d'""#, &[("A", "'d'")]),
        (
            "shell escapes",
            r#"A="t\tn\nr\rb\\d\$e""#,
            &[("A", "t\tn\nr\rb\\d$e")],
        ),
        (
            "bell backspace formfeed vtab",
            r#"A="\a\b\f\v""#,
            &[("A", "\x07\x08\x0c\x0b")],
        ),
        ("octal", r#"A="\0101\0132""#, &[("A", "AZ")]),
        (
            "other escapes stay",
            r#"A="\x41\u00e9\q\012""#,
            &[("A", r"\x41\u00e9\q\012")],
        ),
        ("no escapes unquoted", r"A=a\tb", &[("A", r"a\tb")]),
        ("inline comment", "A=x # c", &[("A", "x")]),
        ("inline comment, no space after #", "A=x #c", &[("A", "x")]),
        (
            "# without a space before is value",
            "A=x#c",
            &[("A", "x#c")],
        ),
        ("a tab before # is no comment", "A=x\t#c", &[("A", "x\t#c")]),
        // As in Compose: the spaces after = are skipped, so there is no " #" left to cut.
        ("= then a comment is the value", "A= # c", &[("A", "# c")]),
        ("# in quotes", "A=\"x # y\" # c", &[("A", "x # y")]),
        (
            "comment right after the quote",
            "A='x'#c\nB=\"y\"  # c",
            &[("A", "x"), ("B", "y")],
        ),
        (
            "trailing spaces trimmed",
            "A=x  \t\nB=y",
            &[("A", "x"), ("B", "y")],
        ),
        (
            "comments and blank lines",
            "# c\n\n  # indented\n\t\nA=1\n# B=2",
            &[("A", "1")],
        ),
        ("BOM", "\u{FEFF}A=1\nB=2", &[("A", "1"), ("B", "2")]),
        ("BOM then a comment", "\u{FEFF}# c\r\nA=1", &[("A", "1")]),
        (
            "CRLF",
            "A=1\r\nB='x'\r\nC=\"y\" # c\r\nD=z # c\r\n",
            &[("A", "1"), ("B", "x"), ("C", "y"), ("D", "z")],
        ),
        (
            "last duplicate wins",
            "A=1\nA=2\nB=3",
            &[("A", "2"), ("B", "3")],
        ),
        (
            "multi-line values",
            "A=\"l1\nB=2\nl3\"\nC='l1\r\nl2'",
            &[("A", "l1\nB=2\nl3"), ("C", "l1\r\nl2")],
        ),
        (
            "bare key from the environment",
            "HOME",
            &[("HOME", "/home/u")],
        ),
        (
            "bare key not in the environment",
            "NOPE\nA=1",
            &[("A", "1")],
        ),
        (
            "bare key with CRLF",
            "HOME\r\nA=1",
            &[("HOME", "/home/u"), ("A", "1")],
        ),
        ("$NAME", "A=$HOME/x", &[("A", "/home/u/x")]),
        ("${NAME}", "A=${HOME}x", &[("A", "/home/ux")]),
        ("unset is empty", "A=[$NOPE${NOPE}]", &[("A", "[]")]),
        ("$$", "A=$$HOME", &[("A", "$HOME")]),
        ("$$ in double quotes", "A=\"$$HOME\"", &[("A", "$HOME")]),
        (
            "\\$ in double quotes",
            r#"A="\$HOME \${HOME}""#,
            &[("A", "$HOME ${HOME}")],
        ),
        ("a lone $ stays", "A=1$ $1", &[("A", "1$ $1")]),
        (
            "double quotes interpolate",
            "A=\"~ $HOME\"",
            &[("A", "~ /home/u")],
        ),
        (
            "single quotes do not",
            "A='~ $HOME ${X:?no}'",
            &[("A", "~ $HOME ${X:?no}")],
        ),
        (":- unset", "A=${NOPE:-d}", &[("A", "d")]),
        (":- empty", "A=${EMPTY:-d}", &[("A", "d")]),
        (":- set", "A=${HOME:-d}", &[("A", "/home/u")]),
        ("- empty", "A=[${EMPTY-d}]", &[("A", "[]")]),
        ("- unset", "A=${NOPE-d}", &[("A", "d")]),
        (":+ set", "A=${HOME:+r}", &[("A", "r")]),
        (":+ empty", "A=[${EMPTY:+r}]", &[("A", "[]")]),
        ("+ empty", "A=${EMPTY+r}", &[("A", "r")]),
        ("+ unset", "A=[${NOPE+r}]", &[("A", "[]")]),
        (":? set", "A=${HOME:?m}", &[("A", "/home/u")]),
        ("? empty", "A=[${EMPTY?m}]", &[("A", "[]")]),
        (
            "nested defaults",
            "A=${NOPE:-${ALSO:-${HOME}/d}}!",
            &[("A", "/home/u/d!")],
        ),
        (
            "earlier keys",
            "X=1\nA=${X}2\nB=${X:+y}",
            &[("X", "1"), ("A", "12"), ("B", "y")],
        ),
        (
            "later keys are not seen",
            "A=[$Y]\nY=1",
            &[("A", "[]"), ("Y", "1")],
        ),
        // Compose's precedence: the environment before the file's own keys.
        (
            "the environment first",
            "HOME=/f\nA=$HOME",
            &[("HOME", "/f"), ("A", "/home/u")],
        ),
        (
            "required set earlier",
            "X=1\nA=${X:?set X}",
            &[("X", "1"), ("A", "1")],
        ),
    ];
    for (name, text, want) in rows {
        let got = read(text);
        let got: Vec<(&str, &str)> = got
            .effective()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want_sorted = want.to_vec();
        want_sorted.sort();
        assert_eq!(got_sorted, want_sorted, "{name}: {text:?}");
    }
}

#[test]
fn unset_variables_are_reported_with_their_line() {
    let env = read("A=1\nB=$NOPE ${NOPE}\nC=\"x\ny\" # $NOT_IN_A_COMMENT\nNOPE2\nD=${NOPE3:-d}");
    let unset: Vec<(&str, usize, bool)> = env
        .unset
        .iter()
        .map(|u| (u.name.as_str(), u.line, u.bare))
        .collect();
    assert_eq!(unset, [("NOPE", 2, false), ("NOPE2", 5, true)]);
}

#[test]
fn entries_have_lines_and_spans() {
    let text = "\u{FEFF}# c\r\nexport A = 'x\r\ny'  # c\r\nB: \"2\"\nHOME\nC=3 # c";
    let env = read(text);
    let rows: Vec<(&str, usize, &str, &str, Quote, Separator)> = env
        .entries
        .iter()
        .map(|e| {
            (
                e.key.as_str(),
                e.line,
                &text[e.span.clone()],
                &text[e.value_span.clone()],
                e.quote,
                e.separator,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "A",
                2,
                "export A = 'x\r\ny'",
                "'x\r\ny'",
                Quote::Single,
                Separator::Equals
            ),
            ("B", 4, "B: \"2\"", "\"2\"", Quote::Double, Separator::Colon),
            ("HOME", 5, "HOME", "", Quote::None, Separator::Bare),
            ("C", 6, "C=3", "3", Quote::None, Separator::Equals),
        ]
    );
}

/// Syntax and interpolation errors: Malformed, at the right line, saying what to fix.
#[test]
fn errors_name_the_line() {
    let rows: &[(&str, usize, Option<usize>, &str)] = &[
        ("A=1\nthis is not a flag\n", 2, None, "expected KEY=VAL, found `this is not a flag`: a variable name cannot contain spaces"),
        ("A=1\n\nlol$wut=1", 3, Some(4), "`$` cannot be part of a variable name"),
        ("A=1\nB=\"open\nC=2\n", 2, Some(3), "unterminated quoted value \"open"),
        ("A='x\\'\n", 1, Some(3), "unterminated quoted value"),
        ("A=\"x\" B=2", 1, Some(7), "unexpected `B=2` after the closing \""),
        ("A=1\n=2", 2, None, "the variable name is missing"),
        ("A=1\r\nB=${NOPE:?set NOPE first}", 2, Some(3), "B: required variable NOPE is missing a value: set NOPE first; set NOPE in the environment or earlier in this file"),
        ("A=${EMPTY:?}", 1, Some(3), "required variable EMPTY is missing a value"),
        ("\u{FEFF}A=1\nB=ab${}", 2, Some(5), "B: invalid variable reference `${}`"),
        ("A=${HOME", 1, Some(3), "invalid variable reference `${HOME`"),
        ("A=\"x\ny ${A B}\"", 1, Some(3), "invalid variable reference `${A B}`"),
        ("A=\"a\nb\nc\"\nD E=1", 4, None, "cannot contain spaces"),
        ("\u{FEFF}\u{FEFF}A=1", 1, Some(1), "cannot be part of a variable name"),
    ];
    for (text, line, column, message) in rows {
        match dotenv::parse(text, Path::new("t.env"), &env) {
            Err(Error::Malformed {
                location,
                message: got,
            }) => {
                assert_eq!(
                    (location.file.as_path(), location.line, location.column),
                    (Path::new("t.env"), *line, *column),
                    "{text:?}: {got}"
                );
                assert!(got.contains(message), "{text:?}: {got}");
                assert_eq!(
                    Error::Malformed {
                        location,
                        message: got
                    }
                    .exit_code() as i32,
                    65
                );
            }
            other => panic!("{text:?}: expected Malformed, got {other:?}"),
        }
    }
    // Lenient: interpolation errors are listed and the value kept as written; syntax still fails.
    let lenient = dotenv::parse_lenient("A=${NOPE:?x}\nB=2", Path::new("t.env"), &env).unwrap();
    assert_eq!(lenient.get("A"), Some("${NOPE:?x}"));
    assert_eq!(lenient.get("B"), Some("2"));
    assert_eq!(lenient.errors.len(), 1);
    assert!(dotenv::parse_lenient("A='x", Path::new("t.env"), &env).is_err());
}

#[test]
fn set_edits_in_place() {
    let set =
        |text: &str, value: &str| dotenv::set(text, Path::new(".env"), KEY, value, &env).unwrap();
    // The line keeps its export, spacing, quotes and comment.
    let u = set(
        "A=1\r\nexport  PGID_DOCKER_SOCKET = '998' # gid\r\nB=2\r\n",
        "4242",
    );
    assert_eq!(
        u.text,
        "A=1\r\nexport  PGID_DOCKER_SOCKET = '4242' # gid\r\nB=2\r\n"
    );
    assert_eq!(u.previous.as_deref(), Some("998"));
    // Quoted with the same value: nothing to do.
    let u = set("PGID_DOCKER_SOCKET=\"4242\" # gid\n", "4242");
    assert!(!u.changed);
    assert_eq!(u.previous.as_deref(), Some("4242"));
    // A BOM: the first line is recognised, no duplicate is appended.
    let u = set("\u{FEFF}PGID_DOCKER_SOCKET=1\r\nA=1\r\n", "4242");
    assert_eq!(u.text, "\u{FEFF}PGID_DOCKER_SOCKET=4242\r\nA=1\r\n");
    // Inside a multi-line value it is no assignment; the real one is after it.
    let text = "NOTE='\nPGID_DOCKER_SOCKET=1\n'\nPGID_DOCKER_SOCKET=2\n";
    assert_eq!(
        set(text, "3").text,
        "NOTE='\nPGID_DOCKER_SOCKET=1\n'\nPGID_DOCKER_SOCKET=3\n"
    );
    // Absent: appended with the dominant line ending.
    assert_eq!(
        set("A=1\r\nB=2\r\nC=3\n", "5").text,
        "A=1\r\nB=2\r\nC=3\nPGID_DOCKER_SOCKET=5\r\n"
    );
    // A bare key becomes an assignment.
    assert_eq!(
        set("export PGID_DOCKER_SOCKET\n", "5").text,
        "export PGID_DOCKER_SOCKET=5\n"
    );
    // Interpolated from the environment: compared as Compose reads it.
    assert!(!set("PGID_DOCKER_SOCKET=${NOPE:-5}\n", "5").changed);
}

// ---- the property test of `set` ----

/// One generated line (possibly several physical lines: multi-line values): its text with `{}`
/// standing for the line ending inside multi-line values.
fn other_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "TZ",
        "DOMAIN",
        "PGID",
        "XPGID_DOCKER_SOCKET",
        "PGID_DOCKER_SOCKET_OLD",
        "export OTHER",
        "  INDENTED",
        "a.b-c",
    ]);
    let value = prop::sample::select(vec![
        "",
        "Europe/Paris",
        "x # comment",
        "x#not-a-comment",
        "'single # \\' quoted'",
        "\"dq \\\" $$ ${NOPE:-d}\"",
        "\"multi{}PGID_DOCKER_SOCKET=5{}end\"",
        "'multi{}  export PGID_DOCKER_SOCKET=6{}'",
        "\"{}\"",
        "$$HOME",
    ]);
    prop_oneof![
        "#[ -~]{0,20}".prop_map(|c| c.replace('{', "(")),
        "[ \t]{0,3}".prop_map(|s| s),
        Just("# PGID_DOCKER_SOCKET=7".to_string()),
        (key, prop::sample::select(vec!["=", " = ", ": "]), value)
            .prop_map(|(k, sep, v)| format!("{k}{sep}{v}")),
    ]
}

/// The key's own line: (head before the value, value as written, tail after it).
fn key_line() -> impl Strategy<Value = (String, String, String)> {
    let head = prop::sample::select(vec!["", "export ", "  ", "\texport  "]);
    let sep = prop::sample::select(vec!["=", " = ", ": ", "="]);
    let value = prop::sample::select(vec![
        "998",
        "\"998\"",
        "'998'",
        "\"a{}PGID_DOCKER_SOCKET=1{}b\"",
        "'x{}y'",
        "${NOPE:-7}",
        "\"${NOPE}\"",
        "4242",
    ]);
    let tail = prop::sample::select(vec!["", "  # comment", " #c", "\t"]);
    prop_oneof![
        (head.clone(), sep, value, tail).prop_map(|(h, s, v, t)| (
            format!("{h}{KEY}{s}"),
            v.to_string(),
            t.to_string()
        )),
        // A bare key (from the environment, which has none here).
        head.prop_map(|h| (format!("{h}{KEY}"), String::new(), String::new())),
        // Empty value: no comment after it, which Compose would read as the value.
        Just((format!("{KEY}="), String::new(), String::new())),
    ]
}

fn new_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,6}",
        "[0-9a-zA-Z #$'\"\\\\\n\r\t=é{}:-]{0,12}",
        Just(String::new()),
    ]
}

#[derive(Debug, Clone)]
struct File {
    text: String,
    /// The byte range of the key's line(s), line ending included, and (head, tail).
    key: Option<(std::ops::Range<usize>, String, String)>,
}

fn file() -> impl Strategy<Value = File> {
    let endings = prop::sample::select(vec!["\n", "\r\n"]);
    (
        any::<bool>(),
        prop::collection::vec((other_line(), endings.clone()), 0..8),
        prop::option::of((key_line(), endings, any::<prop::sample::Index>())),
        any::<bool>(),
    )
        .prop_map(|(bom, others, key, last_ending)| {
            let mut lines: Vec<(String, &str, bool)> = others
                .into_iter()
                .map(|(l, e)| (l.replace("{}", e), e, false))
                .collect();
            let mut key_parts = None;
            if let Some(((head, value, tail), e, at)) = key {
                let value = value.replace("{}", e);
                let at = at.index(lines.len() + 1);
                lines.insert(at, (format!("{head}{value}{tail}"), e, true));
                key_parts = Some((head, tail));
            }
            let mut text = String::from(if bom { "\u{FEFF}" } else { "" });
            let mut key_range = None;
            let n = lines.len();
            for (i, (line, ending, is_key)) in lines.into_iter().enumerate() {
                let start = text.len();
                text.push_str(&line);
                if i + 1 < n || last_ending {
                    text.push_str(ending);
                }
                if is_key {
                    key_range = Some(start..text.len());
                }
            }
            File {
                text,
                key: key_range.map(|r| {
                    let (h, t) = key_parts.clone().unwrap();
                    (r, h, t)
                }),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn set_changes_nothing_but_the_keys_line(f in file(), value in new_value()) {
        let path = Path::new("p.env");
        let before = dotenv::parse(&f.text, path, &dotenv::no_environment)
            .map_err(|e| TestCaseError::fail(format!("generated file does not parse: {e}")))?;
        let u = dotenv::set(&f.text, path, KEY, &value, &dotenv::no_environment).unwrap();
        prop_assert_eq!(u.previous.as_deref(), before.get(KEY));
        let after = dotenv::parse(&u.text, path, &dotenv::no_environment).unwrap();
        prop_assert_eq!(after.get(KEY), Some(value.as_str()));
        // Every other variable reads the same.
        let others = |d: &dotenv::Dotenv| -> Vec<(String, String)> {
            d.effective().filter(|e| e.key != KEY).map(|e| (e.key.clone(), e.value.clone())).collect()
        };
        prop_assert_eq!(others(&after), others(&before));
        // Writing it again changes nothing.
        prop_assert!(!dotenv::set(&u.text, path, KEY, &value, &dotenv::no_environment).unwrap().changed);
        if before.get(KEY) == Some(value.as_str()) {
            prop_assert!(!u.changed);
            prop_assert_eq!(&u.text, &f.text);
            return Ok(());
        }
        prop_assert!(u.changed);
        match &f.key {
            Some((range, head, tail)) => {
                let (prefix, suffix) = (&f.text[..range.start], &f.text[range.end..]);
                prop_assert!(u.text.starts_with(prefix));
                prop_assert!(u.text.ends_with(suffix));
                prop_assert!(u.text.len() >= prefix.len() + suffix.len());
                let line = &u.text[prefix.len()..u.text.len() - suffix.len()];
                let old_line = &f.text[range.clone()];
                let ending = &old_line[old_line.trim_end_matches(['\r', '\n']).len()..];
                prop_assert!(line.starts_with(head.as_str()), "{:?} lost its head {:?}", line, head);
                prop_assert!(line.ends_with(&format!("{tail}{ending}")), "{:?} lost its tail {:?}", line, tail);
            }
            None => {
                prop_assert!(u.text.starts_with(&f.text));
                let added = &u.text[f.text.len()..];
                let crlf = f.text.matches("\r\n").count();
                let ending = if crlf > f.text.matches('\n').count() - crlf { "\r\n" } else { "\n" };
                let added = added.strip_prefix(ending).filter(|_| {
                    let body = f.text.trim_start_matches('\u{FEFF}');
                    !body.is_empty() && !body.ends_with('\n')
                }).unwrap_or(added);
                prop_assert!(added.starts_with(&format!("{KEY}=")), "{:?}", added);
                prop_assert!(added.ends_with(ending), "{:?}", added);
            }
        }
    }

    /// Whatever the bytes, the reader returns a value or an error: it never panics.
    #[test]
    fn the_reader_never_panics(text in "[ -~\t\r\n\u{FEFF}é]{0,64}") {
        let _ = dotenv::parse(&text, Path::new("x.env"), &env);
        let _ = dotenv::set(&text, Path::new("x.env"), KEY, "1", &env);
    }

    /// Interpolation syntax next to multibyte characters: every operator position and a
    /// character of two, three and four bytes after it (a `${B` before `é` once crashed).
    #[test]
    fn interpolation_never_panics_on_multibyte_text(
        text in "(\\$\\{?[A-Za-z_]{0,3}(:?[-?+])?[é€😀}{$'\"\\\\ =#\n]{0,3}|[A-Z=é€😀\"'#\n ]){0,24}"
    ) {
        let _ = dotenv::parse(&text, Path::new("x.env"), &env);
        let _ = dotenv::set(&text, Path::new("x.env"), KEY, "1", &env);
        let _ = sockproxy_gen::interpolate::interpolate(&text, &env);
    }
}

// ---- the commands ----

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// The compose project's .env, as `sockproxy-gen env` leaves it: the app's variables, flags
/// with comments, PGID_DOCKER_SOCKET, a BOM and CRLF line endings.
const PROJECT_ENV: &str = "\u{FEFF}# app\r\nTZ=Europe/Paris\r\nDOMAIN=example.org # main\r\nPOSTGRES_PASSWORD='s3cr3t # not a comment'\r\nPORT=8080\r\n\r\n# proxy flags\r\nexport CONTAINERS=1 # read-only\r\nIMAGES=\"1\"\r\nPOST=0\r\nPGID_DOCKER_SOCKET=4242\r\n";

#[test]
fn render_reads_a_project_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), ".env", PROJECT_ENV);
    let o = cli()
        .args(["render", "--env-file", &file])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&o.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.get_output().stderr).into_owned();
    assert!(
        stdout.contains("allow:GET:/containers/json"),
        "CONTAINERS=1"
    );
    assert!(stdout.contains("allow:GET:/images/json"), "IMAGES=\"1\"");
    assert!(!stdout.contains("allow:POST:"), "POST=0");
    assert!(
        stderr.contains(&format!(
            "{file}: not flags, so ignored: TZ, DOMAIN, POSTGRES_PASSWORD, PORT"
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t"),
        "values are never shown: {stderr}"
    );
    assert!(
        !stderr.contains("PGID_DOCKER_SOCKET"),
        "ours, ignored quietly: {stderr}"
    );
    // The same flags on the command line render the same config (but for the header's record).
    let flags = cli()
        .args([
            "render",
            "--flag",
            "CONTAINERS=1",
            "--flag",
            "IMAGES=1",
            "--flag",
            "POST=0",
        ])
        .assert()
        .success();
    let by_flags = String::from_utf8_lossy(&flags.get_output().stdout).into_owned();
    let body = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&stdout), body(&by_flags));
}

#[test]
fn a_near_miss_of_a_flag_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "flags.env",
        "CONTAINERS=1\nPOSTGRES_PASSWORD=x\nHOST=db\nCONTAINRES=1 # typo\n",
    );
    cli()
        .args(["render", "--env-file", &file])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{file}:4: unknown flag `CONTAINRES`; did you mean `CONTAINERS`?"
        )));
    let lower = write(dir.path(), "lower.env", "\u{FEFF}images=1\r\n");
    cli()
        .args(["render", "--env-file", &lower])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{lower}:1: unknown flag `images`; did you mean `IMAGES`?"
        )));
    let settings = write(
        dir.path(),
        "settings.env",
        "CONTAINERS=1\nSOCKET_PTH=/run/docker.sock\n",
    );
    cli()
        .args(["render", "--env-file", &settings])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("did you mean `SOCKET_PATH`?"));
    // POSTGRES_PASSWORD is no near miss of POST, HOST=db none of POST: both ignored.
    let fine = write(
        dir.path(),
        "fine.env",
        "CONTAINERS=1\nPOSTGRES_PASSWORD=x\nHOST=db\n",
    );
    cli()
        .args(["render", "--env-file", &fine])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "not flags, so ignored: POSTGRES_PASSWORD, HOST",
        ));
}

#[test]
fn env_file_syntax_errors_exit_65_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "open.env", "CONTAINERS=1\nIMAGES=\"1\nPOST=0\n");
    cli()
        .args(["render", "--env-file", &file])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(format!(
            "{file}:2:8: unterminated quoted value"
        )));
    // A required variable of a flag that is missing: the error carries its message.
    let required = write(
        dir.path(),
        "req.env",
        "CONTAINERS=${SPG_TEST_UNSET:?say if the app lists containers}\n",
    );
    cli()
        .env_remove("SPG_TEST_UNSET")
        .args(["render", "--env-file", &required])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("say if the app lists containers"));
    // ... which the process environment provides, as in Compose.
    cli()
        .env("SPG_TEST_UNSET", "1")
        .args(["render", "--env-file", &required])
        .assert()
        .success()
        .stdout(predicate::str::contains("allow:GET:/containers/json"));
    // Another variable's missing requirement is not the flags' business.
    let other = write(
        dir.path(),
        "other.env",
        "DB_URL=${SPG_TEST_UNSET:?}\nCONTAINERS=1\n",
    );
    cli()
        .env_remove("SPG_TEST_UNSET")
        .args(["render", "--env-file", &other])
        .assert()
        .success();
}

#[test]
fn lint_reads_env_files_like_compose() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = format!("{root}/tests/fixtures/handwritten-path-beg.cfg");
    // --env-file with other variables, quotes, a BOM and CRLF gives what --env gives.
    let file = write(
        dir.path(),
        "lint.env",
        "\u{FEFF}PORT=\"2375\" # api\r\nexport SOCKET_PATH='/var/run/docker.sock'\r\nAPP_SECRET=x\r\n",
    );
    let with = |args: &[&str]| {
        let o = cli()
            .current_dir(root)
            .arg("lint")
            .arg(&cfg)
            .args(["--preset", "traefik", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let by_file = with(&["--env-file", &file]);
    let by_flag = with(&[
        "--env",
        "PORT=2375",
        "--env",
        "SOCKET_PATH=/var/run/docker.sock",
    ]);
    assert_eq!(by_file, by_flag);
    // A .env file: findings at the reader's lines (a multi-line value before them), BOM and all.
    let env_file = write(
        dir.path(),
        ".env",
        "\u{FEFF}app_note=\"EVENTS=yes\nstill the note\"\r\nEVENTS=yes # trap\r\n",
    );
    let o = cli()
        .args(["lint", &env_file, "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = &report["files"][0]["findings"];
    assert_eq!(findings.as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(findings[0]["code"], "SPG503");
    assert_eq!(findings[0]["line"], 3);
}
