//! `sockproxy-gen learn`: request logs in, one preset per client out (or a comparison).

use std::io::Read;
use std::path::{Path, PathBuf};

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::error::ExitCode;
use sockproxy_gen::learn::{self, ClientTraffic, Traffic};
use sockproxy_gen::{input, output, preset, Error, Result};

use crate::cli::args::LearnArgs;
use crate::cli::printing;

fn read_log(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: PathBuf::from("-"),
                source,
            })?;
        return input::text(Path::new("<stdin>"), bytes, "the log", "");
    }
    input::read_text(path, "the log", "")
}

/// Notes on stderr about what no preset can change (refused requests, unknown paths) and what
/// the proxy denied.
fn report_unroutable(catalog: &Catalog, name: &str, traffic: &ClientTraffic, denied_fate: &str) {
    for (why, (count, example)) in &traffic.refused {
        printing::status(&format!(
            "note: {name}: {count} request(s) refused by the proxy whatever the policy ({why}), e.g. {example}"
        ));
    }
    for (request, count) in &traffic.no_route {
        printing::status(&format!(
            "note: {name}: {count} request(s) match no Docker API route ({request}); the daemon answers them 404"
        ));
    }
    if !traffic.denied.is_empty() {
        let routes: Vec<String> = traffic
            .denied
            .iter()
            .map(|(id, seen)| format!("{} ({}x)", catalog.get(*id).display(), seen.count))
            .collect();
        printing::status(&format!(
            "note: {name}: {} request(s) allowed, {} denied by the proxy (403): {}; {}",
            traffic.allowed_requests(),
            traffic.denied_requests(),
            routes.join(", "),
            denied_fate
        ));
    }
}

/// Where the presets go.
enum Target {
    Stdout,
    File(PathBuf),
    Dir(PathBuf),
}

fn target(output: Option<&Path>) -> Target {
    match output {
        None => Target::Stdout,
        Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') => {
            Target::Dir(p.to_path_buf())
        }
        Some(p) => Target::File(p.to_path_buf()),
    }
}

pub fn run(args: LearnArgs) -> Result<ExitCode> {
    let logs: Vec<(&'static str, &Path)> = args.logs.iter().map(|p| ("LOG", p.as_path())).collect();
    let target = target(args.output.as_deref());
    if let Target::File(out) | Target::Dir(out) = &target {
        output::refuse_output_that_is_input(("--output", out), &logs)?;
    }
    let catalog = Catalog::builtin();
    let mut traffic = Traffic::default();
    let mut sources = Vec::new();
    let filter = learn::Filter {
        service: args.service.clone(),
    };
    for path in &args.logs {
        let text = read_log(path)?;
        let name = if path == Path::new("-") {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        traffic.add(catalog, &name, &text, &filter);
        sources.push(path.display().to_string());
    }
    for note in &traffic.notes {
        printing::status(&format!("note: {note}"));
    }
    if !args.clients.is_empty() {
        let known: Vec<String> = traffic.clients.keys().cloned().collect();
        for wanted in &args.clients {
            if !traffic.clients.contains_key(wanted) {
                return Err(Error::Invalid(format!(
                    "--client {wanted}: no request of that client in the log(s); the clients seen are: {}",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
        }
        traffic
            .clients
            .retain(|name, _| args.clients.contains(name));
    }
    if traffic.clients.is_empty() {
        return Err(Error::Unusable(format!(
            "no request line in {} ({} line(s) read{}): give the proxy's log (render --learn logs one line per request, text or JSON){}",
            sources.join(", "),
            traffic.lines,
            if traffic.notes.is_empty() { String::new() } else { format!(", {} request line(s) skipped for their frontend name", traffic.notes.len()) },
            if args.service.is_some() { "; --service keeps only the lines `docker compose logs` prints for that service (`NAME-1 | ...`)" } else { "" }
        )));
    }
    // --compare-preset compares every request seen, denied or not.
    let (take_denied, denied_fate) = if args.compare_preset.is_some() {
        (true, "compared with the preset like the others")
    } else if args.include_denied {
        (true, "granted, as --include-denied asks")
    } else {
        (
            false,
            "left out of the preset (give --include-denied to grant them)",
        )
    };
    for (name, t) in &mut traffic.clients {
        report_unroutable(catalog, name, t, denied_fate);
        if take_denied {
            t.include_denied();
        }
    }
    if let Some(wanted) = &args.compare_preset {
        return compare(catalog, &traffic, wanted);
    }
    let mut presets = Vec::new();
    for (name, t) in &traffic.clients {
        match learn::preset_for(catalog, name, t, &sources) {
            Some(p) => presets.push(p),
            None => printing::status(&format!(
                "warning: {name}: no request the proxy let through to a Docker API route; no preset written"
            )),
        }
    }
    if presets.is_empty() {
        return Err(Error::Unusable(format!(
            "no preset to write: none of the {} request(s) in {} reached a Docker API route through the proxy (the notes above say what they were){}",
            traffic.request_lines,
            sources.join(", "),
            if traffic.clients.values().any(|t| !t.denied.is_empty()) { "; give --include-denied to grant the routes the proxy denied" } else { "" }
        )));
    }
    for p in &presets {
        if !p.dangerous.is_empty() {
            printing::status(&format!(
                "warning: {}: the traffic used routes that can take over the host or read its files: {}; the preset grants them marked DANGEROUS: remove them unless the client really needs them",
                p.name,
                p.dangerous.join(", ")
            ));
        }
        if !p.destructive.is_empty() {
            printing::status(&format!(
                "warning: {}: the traffic used routes that delete state: {}; the preset grants them marked DESTRUCTIVE: remove them unless the client really needs them",
                p.name,
                p.destructive.join(", ")
            ));
        }
    }
    match target {
        Target::Dir(dir) => {
            let paths: Vec<PathBuf> = presets
                .iter()
                .map(|p| dir.join(format!("{}.yaml", p.name)))
                .collect();
            // Every path is checked before anything is written.
            for path in &paths {
                output::refuse_output_that_is_input(("--output", path), &logs)?;
            }
            std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
            for (p, path) in presets.iter().zip(&paths) {
                output::write_file(path, p.yaml.as_bytes())?;
                printing::status(&format!("wrote {}", path.display()));
            }
        }
        Target::File(file) => match presets.as_slice() {
            [one] => output::write_file(&file, one.yaml.as_bytes())?,
            _ => return Err(several(&presets, "-o FILE")),
        },
        Target::Stdout => match presets.as_slice() {
            [one] => printing::stdout(&one.yaml)?,
            _ => return Err(several(&presets, "stdout")),
        },
    }
    Ok(ExitCode::Ok)
}

fn several(presets: &[learn::LearnedPreset], target: &str) -> Error {
    let names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
    Error::Invalid(format!(
        "{} clients in the log ({}): one preset each does not fit {target}; give -o DIR/ (a directory, created if missing) or --client NAME",
        names.len(),
        names.join(", ")
    ))
}

fn compare(catalog: &Catalog, traffic: &Traffic, wanted: &str) -> Result<ExitCode> {
    // A built-in name, else a file: a value that looks like a path (a `/`, or `.yaml`/`.yml`)
    // or names an existing file is read as one, so a missing file is "cannot read" (66).
    let is_builtin = preset::builtin_names().any(|n| n == wanted);
    let looks_like_path = wanted.contains('/')
        || wanted.ends_with(".yaml")
        || wanted.ends_with(".yml")
        || Path::new(wanted).exists();
    let preset = if is_builtin || !looks_like_path {
        preset::load_builtin(catalog, wanted).map_err(|e| match e {
            Error::UnknownPreset { name, suggestion } => Error::Invalid(format!(
                "--compare-preset {name}: not a built-in preset{}; `sockproxy-gen presets` lists them, or give a preset file's path",
                suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
            )),
            other => other,
        })?
    } else {
        preset::load_file(catalog, Path::new(wanted))?
    };
    let mut out = String::new();
    let mut denied = 0;
    for (name, t) in &traffic.clients {
        let c = learn::compare(&preset, t);
        denied += c.would_deny.len();
        out.push_str(&format!(
            "client {name} ({} request(s)) against preset {}:\n",
            t.requests, preset.name
        ));
        if c.would_deny.is_empty() {
            out.push_str("  seen but not granted (would be denied): none\n");
        } else {
            out.push_str("  seen but not granted (would be denied):\n");
            for (id, seen) in &c.would_deny {
                let route = catalog.get(*id);
                let mark = if route.traits.dangerous {
                    " [dangerous]"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    {}{mark}  {}\n",
                    route.display(),
                    learn::reason(seen)
                ));
            }
        }
        if c.unused.is_empty() {
            out.push_str("  granted but unused: none\n");
        } else {
            out.push_str("  granted but unused:\n");
            for id in &c.unused {
                out.push_str(&format!("    {}\n", catalog.get(*id).display()));
            }
        }
    }
    printing::stdout(&out)?;
    Ok(if denied > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    })
}
