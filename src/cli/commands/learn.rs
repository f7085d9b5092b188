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

/// Notes on stderr about what no preset can change: refused requests and unknown paths.
fn report_unroutable(name: &str, traffic: &ClientTraffic) {
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
}

pub fn run(args: LearnArgs) -> Result<ExitCode> {
    if let Some(out) = &args.output {
        let logs: Vec<(&'static str, &Path)> =
            args.logs.iter().map(|p| ("LOG", p.as_path())).collect();
        output::refuse_output_that_is_input(("--output", out), &logs)?;
    }
    let catalog = Catalog::builtin();
    let mut traffic = Traffic::default();
    let mut sources = Vec::new();
    for path in &args.logs {
        let text = read_log(path)?;
        traffic.add(catalog, &text);
        sources.push(path.display().to_string());
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
        return Err(Error::Invalid(format!(
            "no request line in {} ({} line(s) read): give the proxy's log (render --learn logs one line per request, text or JSON)",
            sources.join(", "),
            traffic.lines
        )));
    }
    for (name, t) in &traffic.clients {
        report_unroutable(name, t);
    }
    if let Some(wanted) = &args.compare_preset {
        return compare(catalog, &traffic, wanted);
    }
    let mut presets = Vec::new();
    for (name, t) in &traffic.clients {
        match learn::preset_for(catalog, name, t, &sources) {
            Some(p) => presets.push(p),
            None => printing::status(&format!(
                "warning: {name}: no request the daemon routes; no preset written"
            )),
        }
    }
    for p in &presets {
        if !p.dangerous.is_empty() {
            printing::status(&format!(
                "warning: {}: the traffic used routes that can take over the host or read its files: {}; the preset grants them marked DANGEROUS: remove them unless the client really needs them",
                p.name,
                p.dangerous.join(", ")
            ));
        }
    }
    match &args.output {
        Some(dir) if dir.is_dir() => {
            for p in &presets {
                let path = dir.join(format!("{}.yaml", p.name));
                output::write_file(&path, p.yaml.as_bytes())?;
                printing::status(&format!("wrote {}", path.display()));
            }
        }
        Some(file) => match presets.as_slice() {
            [one] => output::write_file(file, one.yaml.as_bytes())?,
            _ => return Err(several(&presets, "-o FILE")),
        },
        None => match presets.as_slice() {
            [one] => printing::stdout(&one.yaml)?,
            _ => return Err(several(&presets, "stdout")),
        },
    }
    Ok(ExitCode::Ok)
}

fn several(presets: &[learn::LearnedPreset], target: &str) -> Error {
    let names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
    Error::Invalid(format!(
        "{} clients in the log ({}): one preset each does not fit {target}; give -o DIR (an existing directory) or --client NAME",
        names.len(),
        names.join(", ")
    ))
}

fn compare(catalog: &Catalog, traffic: &Traffic, wanted: &str) -> Result<ExitCode> {
    let is_builtin = preset::builtin_names().any(|n| n == wanted);
    let preset = if is_builtin || !Path::new(wanted).exists() {
        preset::load_builtin(catalog, wanted)?
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
