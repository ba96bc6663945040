//! The demo brand's threshold code key: dealt when `dev` creates a
//! network, one share per node, so the demo's codes are checked by the
//! validators together and none can test them alone (docs/integrator-guide.md, "Codes no
//! single validator can check").

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use prost::Message as _;
use veritrace_core::oprf::OprfKey;
use veritrace_core::oprf::files::{encode_key_file, encode_share_file, parse_key_file};
use veritrace_node::{ClusterFile, NodeConfig};
use veritrace_proto::v1 as pb;

use crate::tx_cmd::{private_dir, private_file};

/// Where the brand's key lives in the dev data directory.
fn key_dir(dir: &Path) -> PathBuf {
    dir.join("brand-code-key")
}

/// Deals a key among every node of `file` (a majority threshold), writes
/// the brand's files and each node's share, and lists the share in each
/// node's configuration.
pub fn deal(dir: &Path, file: &ClusterFile) -> anyhow::Result<()> {
    use std::io::Write as _;
    let n = u8::try_from(file.nodes.len()).context("too many nodes")?;
    let threshold = n / 2 + 1;
    let rng = &mut rand::rng();
    let key = OprfKey::generate(rng);
    // The demo brand is the first node's party (`veritrace dev`'s roles).
    let brand_party = file.nodes.first().and_then(|n| n.party_id.clone()).context("the first node has no party")?;
    let ids: Vec<u64> = file.nodes.iter().map(|n| n.id).collect();
    let (share_files, public) =
        veritrace_core::code::deal_code_key(&key, threshold, &ids, &file.network_id, &brand_party, rng)?;
    let brand = key_dir(dir);
    private_dir(&brand)?;
    private_file(&brand.join("code-key.secret"))?.write_all(encode_key_file(&key).as_bytes())?;
    private_file(&brand.join("code-key.public.pb"))?.write_all(&public.encode_to_vec())?;
    for (node, (_, share_file)) in file.nodes.iter().zip(share_files) {
        let config_path = dir.join(&node.config);
        let node_dir = config_path.parent().context("a node configuration without a directory")?;
        let share_path = node_dir.join("code-key.codeshare");
        let text = encode_share_file(&share_file);
        private_file(&share_path)?.write_all(text.as_bytes())?;
        let mut config = NodeConfig::load(&config_path)?;
        config.node.code_key_share_files = vec!["code-key.codeshare".into()];
        // `load` resolved paths against the file's directory: write them back relative.
        config.node.data_dir = "data".into();
        config.node.key_file = veritrace_node::init::NODE_KEY_FILE.into();
        config.node.genesis_file = veritrace_node::init::GENESIS_FILE.into();
        if config.node.party_key_file.is_some() {
            config.node.party_key_file = Some(veritrace_node::init::PARTY_KEY_FILE.into());
        }
        std::fs::write(&config_path, config.to_toml()?)
            .with_context(|| format!("writing {}", config_path.display()))?;
    }
    Ok(())
}

/// The brand's key and its public parts, if `dev` dealt one in `dir`.
pub fn load(dir: &Path) -> anyhow::Result<Option<(OprfKey, pb::ThresholdCodeKey)>> {
    let brand = key_dir(dir);
    if !brand.exists() {
        return Ok(None);
    }
    let secret = std::fs::read_to_string(brand.join("code-key.secret")).context("reading the brand's code key")?;
    let key = parse_key_file(&secret).map_err(|e| anyhow::anyhow!("the brand's code key: {e}"))?;
    let public = pb::ThresholdCodeKey::decode(std::fs::read(brand.join("code-key.public.pb"))?.as_slice())
        .context("reading the brand's code key's public parts")?;
    Ok(Some((key, public)))
}
