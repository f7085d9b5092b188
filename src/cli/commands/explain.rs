//! `sockproxy-gen explain`: the documentation entry of each lint code.

use sockproxy_gen::lint::{format, Code};
use sockproxy_gen::{Error, Result};

use crate::cli::args::ExplainArgs;
use crate::cli::printing;

pub fn run(args: ExplainArgs) -> Result<()> {
    if args.all {
        printing::stdout(&format::rules_page())?;
        return Ok(());
    }
    match args.code {
        Some(code) => {
            let c = Code::parse(&code).ok_or_else(|| {
                Error::Invalid(format!(
                    "`{code}` is not a lint code; `sockproxy-gen explain` lists them"
                ))
            })?;
            printing::stdout(&format::explain(c))?;
        }
        None => {
            let rows: Vec<Vec<String>> = Code::ALL
                .iter()
                .map(|c| {
                    vec![
                        c.id().to_string(),
                        c.name().to_string(),
                        c.severity().as_str().to_string(),
                        c.summary().to_string(),
                    ]
                })
                .collect();
            printing::stdout(&printing::table(
                &["CODE", "NAME", "SEVERITY", "SUMMARY"],
                &rows,
            ))?;
        }
    }
    Ok(())
}
