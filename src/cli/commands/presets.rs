//! `sockproxy-gen presets [show NAME]`.

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::preset;
use sockproxy_gen::Result;

use crate::cli::args::{PresetsAction, PresetsArgs};
use crate::cli::printing;

pub fn run(args: PresetsArgs) -> Result<()> {
    let catalog = Catalog::builtin();
    match args.action {
        None => {
            let mut rows = Vec::new();
            for name in preset::builtin_names() {
                let p = preset::load_builtin(catalog, name)?;
                rows.push(vec![
                    name.to_string(),
                    p.grants.len().to_string(),
                    p.description,
                ]);
            }
            printing::stdout(&printing::table(
                &["PRESET", "GRANTS", "DESCRIPTION"],
                &rows,
            ))?;
        }
        Some(PresetsAction::Show { name, yaml }) => {
            let p = preset::load_builtin(catalog, &name)?;
            if yaml {
                let (_, text) = preset::BUILTIN
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("load_builtin found it");
                printing::stdout(text)?;
                return Ok(());
            }
            let mut out = format!("{}: {}\n", p.name, p.description);
            if !p.clients.is_empty() {
                out.push_str(&format!("read from: {}\n", p.clients.join("; ")));
            }
            if let Some(source) = &p.source {
                out.push_str(&format!("source: {source}\n"));
            }
            out.push('\n');
            let rows: Vec<Vec<String>> = p
                .grants
                .iter()
                .map(|g| {
                    let r = catalog.get(g.route);
                    vec![
                        r.method.to_string(),
                        r.display_path(),
                        r.traits.words().join(","),
                        g.reason.clone(),
                    ]
                })
                .collect();
            out.push_str(&printing::table(
                &["METHOD", "PATH", "TRAITS", "REASON"],
                &rows,
            ));
            printing::stdout(&out)?;
        }
    }
    Ok(())
}
