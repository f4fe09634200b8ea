//! The manual pages, made from the same definitions as `--help`: hsmseed(1)
//! and hsmseed-COMMAND(1) for every command (the Debian package ships them).

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use super::Cli;

pub fn write_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let top = Cli::command().name("hsmseed");
    write_page(dir, "hsmseed", top.clone())?;
    for sub in top.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("hsmseed-{}", sub.get_name());
        let invoked = format!("hsmseed {}", sub.get_name());
        write_page(dir, &name, sub.clone().name(name.clone()).bin_name(invoked))?;
    }
    Ok(())
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> anyhow::Result<()> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut roff)
        .with_context(|| format!("rendering {name}(1)"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, roff).with_context(|| format!("writing {}", path.display()))
}
