//! `sockproxy-gen completions SHELL` and `sockproxy-gen man`: generated from the same clap
//! definitions as `--help`, so they cannot disagree with the options the binary takes.

use clap::CommandFactory;
use sockproxy_gen::{output, Result};

use crate::cli::args::{Cli, CompletionsArgs, ManArgs};
use crate::cli::printing;

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sockproxy-gen", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if matches!(args.shell, clap_complete::Shell::Bash) {
        // clap_complete's bash script spells the state of a subcommand of a hyphenated binary
        // two ways (`sockproxy__gen__subcmd__render` where it is set, and
        // `sockproxy__subcmd__gen__subcmd__render` where it is matched), so nothing after the
        // subcommand completes (clap-rs/clap#6421, open in clap_complete 4.6.12). One spelling
        // for both; tests/cli.rs completes `render --pre` in a real bash.
        script = script.replace("sockproxy__subcmd__gen", "sockproxy__gen");
    }
    printing::stdout(&script)?;
    Ok(())
}

/// The main page, and one page per subcommand (`sockproxy-gen-render(1)`, ...), as git does.
fn pages() -> Vec<(String, Vec<u8>)> {
    fn collect(command: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            collect(sub.clone(), out);
        }
        let man = clap_mangen::Man::new(command);
        let mut page = Vec::new();
        man.render(&mut page)
            .expect("rendering into memory cannot fail");
        out.push((man.get_filename(), page));
    }
    let mut command = Cli::command().disable_help_subcommand(true);
    // Building names each subcommand `sockproxy-gen-NAME`, the title of its page.
    command.build();
    let mut out = Vec::new();
    collect(command, &mut out);
    out.reverse();
    out
}

pub fn man(args: ManArgs) -> Result<()> {
    let pages = pages();
    match &args.dir {
        None => printing::stdout(&String::from_utf8_lossy(&pages[0].1))?,
        Some(dir) => {
            for (name, page) in &pages {
                output::write_file(&dir.join(name), page)?;
            }
            printing::status(&format!(
                "wrote {} man pages to {}",
                pages.len(),
                dir.display()
            ));
        }
    }
    Ok(())
}
