//! `sockproxy-gen routes`: the catalog, so users can name routes in their own presets.

use sockproxy_gen::catalog::Catalog;
use sockproxy_gen::Result;

use crate::cli::args::RoutesArgs;
use crate::cli::printing;

pub fn run(args: RoutesArgs) -> Result<()> {
    let catalog = Catalog::builtin();
    let rows: Vec<Vec<String>> = catalog
        .routes()
        .iter()
        .filter(|r| {
            args.section
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&r.section))
        })
        .map(|r| {
            vec![
                r.method.to_string(),
                r.display_path(),
                r.section.clone(),
                r.traits.words().join(","),
            ]
        })
        .collect();
    printing::stdout(&printing::table(
        &["METHOD", "PATH", "FLAG", "TRAITS"],
        &rows,
    ))?;
    Ok(())
}
