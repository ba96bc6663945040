//! `veritrace completions SHELL` and `veritrace man --out DIR`: shell
//! completions (clap_complete) and man pages (clap_mangen), generated from
//! the same command definitions clap parses, so they never drift from the
//! binary.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};

/// `veritrace completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `veritrace man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing): `veritrace.1`
    /// and one `veritrace-COMMAND.1` per command and subcommand.
    #[arg(long)]
    pub out: PathBuf,
}

/// Prints the completion script for `args.shell` to standard output.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = crate::Cli::command();
    // Into memory first: clap_complete panics on a failed write, and a
    // reader that closes the pipe early (`| head`) is not an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "veritrace", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing the completion script"),
        _ => Ok(()),
    }
}

/// Writes every man page into `args.out` and names how many.
pub fn man(args: ManArgs) -> anyhow::Result<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // One page for the binary and one per visible (sub)command, named after
    // its path: veritrace-node-start.1.
    clap_mangen::generate_to(crate::Cli::command(), out)
        .with_context(|| format!("writing man pages to {}", out.display()))?;
    let written = std::fs::read_dir(out)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("veritrace"))
        .count();
    println!("wrote {written} man pages to {} (read one: man -l {}/veritrace.1)", out.display(), out.display());
    Ok(())
}
