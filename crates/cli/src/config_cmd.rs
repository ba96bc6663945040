//! `veritrace config show` and `veritrace config keys`.

use clap::{Args, Subcommand};
use veritrace_node::ConfigSource;
use veritrace_node::config::{env_var_of, settable_keys};

use crate::node_cmd::ConfigArgs;

/// `veritrace config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Prints the effective configuration (file, environment and flags
    /// merged and validated), with where each set key came from.
    Show(ShowArgs),
    /// Lists the keys that environment variables and `--set` can set.
    Keys,
}

/// `veritrace config show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format: toml or json.
    #[arg(short = 'o', long, default_value = "toml")]
    pub output: String,
}

/// Runs a `config` subcommand.
pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Keys => {
            for key in settable_keys() {
                println!("{key:<40} {}", env_var_of(key));
            }
            Ok(())
        }
        ConfigCommand::Show(args) => {
            let layered = args.config.load()?;
            match args.output.as_str() {
                "toml" => {
                    print!("{}", layered.config.to_toml()?);
                    if !layered.sources.is_empty() {
                        println!("\n# Where each key set explicitly came from (others are defaults):");
                        for (key, source) in &layered.sources {
                            println!("#   {key} <- {source}");
                        }
                    }
                }
                "json" => {
                    let sources: serde_json::Map<String, serde_json::Value> = layered
                        .sources
                        .iter()
                        .map(|(k, s)| {
                            let v = match s {
                                ConfigSource::File(p) => format!("file:{}", p.display()),
                                ConfigSource::Env(v) => format!("env:{v}"),
                                ConfigSource::Flag(f) => format!("flag:{f}"),
                            };
                            (k.clone(), serde_json::Value::String(v))
                        })
                        .collect();
                    let config = serde_json::to_value(&layered.config)?;
                    // The configuration file's own keys (snake_case, as in TOML); see render::render_json.
                    let document = serde_json::json!({ "config": config, "sources": sources });
                    print!("{}", veritrace_client::render::render_json(&document));
                }
                other => anyhow::bail!("unknown output format {other:?} (expected toml or json)"),
            }
            Ok(())
        }
    }
}
