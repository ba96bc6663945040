//! `veritrace keygen`: secrets operators hand out.

use clap::Subcommand;

/// `veritrace keygen ...`.
#[derive(Debug, Subcommand)]
pub enum KeygenCommand {
    /// A key for a consumer app: prints the key (give it to the app, which
    /// sends it as the x-veritrace-app-key header of VerifyItem) and the
    /// `[[api.verification.apps]]` entry for the node's configuration,
    /// which holds only the key's blake3.
    AppKey {
        /// The app's name, as logs will show it.
        #[arg(long)]
        name: String,
        /// VerifyItem calls per minute allowed to the app.
        #[arg(long, default_value_t = 6000)]
        per_minute: u32,
    },
}

/// Runs `veritrace keygen ...`.
pub fn keygen(cmd: KeygenCommand) -> anyhow::Result<()> {
    let KeygenCommand::AppKey { name, per_minute } = cmd;
    if name.trim().is_empty() || name.contains(['"', '\\', '\n']) {
        anyhow::bail!("--name {name:?}: give a plain, non-empty name");
    }
    if per_minute == 0 {
        anyhow::bail!("--per-minute must be positive");
    }
    let mut bytes = [0u8; 24];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    let key = hex::encode(bytes);
    println!("app key (give it to the app; it is not stored anywhere):\n  {key}\n");
    println!("for each node's veritrace.toml:\n");
    println!("[[api.verification.apps]]");
    println!("name = \"{name}\"");
    println!("key_blake3 = \"{}\"", blake3::hash(key.as_bytes()).to_hex());
    println!("per_minute = {per_minute}");
    Ok(())
}
