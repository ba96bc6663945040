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
    /// An admin token for the operators of a network: writes it to --out
    /// (mode 0600; the admin commands' --admin-token-file) and prints the
    /// `[api.admin]` entry for each node's configuration, which holds only
    /// the token's blake3.
    AdminToken {
        /// The file to create (must not exist).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// Runs `veritrace keygen ...`.
pub fn keygen(cmd: KeygenCommand) -> anyhow::Result<()> {
    match cmd {
        KeygenCommand::AppKey { name, per_minute } => app_key(&name, per_minute),
        KeygenCommand::AdminToken { out } => admin_token(&out),
    }
}

fn admin_token(out: &std::path::Path) -> anyhow::Result<()> {
    let (token, hash) = veritrace_node::new_admin_token();
    veritrace_node::write_secret_file(out, &format!("{token}\n"))?;
    println!("admin token written to {} (keep it with the operators; nodes never hold it)\n", out.display());
    println!("for each node's veritrace.toml:\n");
    println!("[api.admin]");
    println!("token_blake3 = \"{hash}\"");
    Ok(())
}

fn app_key(name: &str, per_minute: u32) -> anyhow::Result<()> {
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
