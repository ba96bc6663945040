//! The text files a brand's code key and a node's share of it live in.
//!
//! Both are three lines, `label value` with hex values, so an operator can
//! read which key a file belongs to without a tool:
//!
//! ```text
//! veritrace code key v1                 veritrace code key share v1
//! public_key <64 hex>                   public_key <64 hex>
//! secret <64 hex>                       share <66 hex: index then scalar>
//! ```
//!
//! Both are secrets (write them 0600). The public key names the key a
//! share belongs to, so a node can hold shares of several brands' keys.

use super::{KeyShare, OprfKey, PublicKey};

/// First line of a code key file.
pub const KEY_FILE_HEADER: &str = "veritrace code key v1";
/// First line of a code key share file.
pub const SHARE_FILE_HEADER: &str = "veritrace code key share v1";

/// Why a key or share file did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyFileError(String);

/// A node's share of a brand's code key, with the key's public part.
#[derive(Clone, Debug)]
pub struct ShareFile {
    /// `K`, which names the key.
    pub public_key: PublicKey,
    /// The node's secret share.
    pub share: KeyShare,
}

/// The text of a code key file.
pub fn encode_key_file(key: &OprfKey) -> String {
    format!(
        "{KEY_FILE_HEADER}\npublic_key {}\nsecret {}\n",
        hex::encode(key.public().to_bytes()),
        hex::encode(key.to_bytes())
    )
}

/// The text of a share file.
pub fn encode_share_file(file: &ShareFile) -> String {
    format!(
        "{SHARE_FILE_HEADER}\npublic_key {}\nshare {}\n",
        hex::encode(file.public_key.to_bytes()),
        hex::encode(file.share.to_bytes())
    )
}

/// Reads a code key file; checks that its secret and public key agree.
pub fn parse_key_file(text: &str) -> Result<OprfKey, KeyFileError> {
    let [public, secret] = fields(text, KEY_FILE_HEADER, ["public_key", "secret"])?;
    let key = OprfKey::from_bytes(&fixed(&secret, "secret")?).map_err(|e| KeyFileError(e.to_string()))?;
    if key.public().to_bytes().as_slice() != public.as_slice() {
        return Err(KeyFileError("public_key is not the secret's".into()));
    }
    Ok(key)
}

/// Reads a share file.
pub fn parse_share_file(text: &str) -> Result<ShareFile, KeyFileError> {
    let [public, share] = fields(text, SHARE_FILE_HEADER, ["public_key", "share"])?;
    let public_key = PublicKey::from_bytes(&fixed(&public, "public_key")?).map_err(|e| KeyFileError(e.to_string()))?;
    let share = KeyShare::from_bytes(&fixed(&share, "share")?).map_err(|e| KeyFileError(e.to_string()))?;
    Ok(ShareFile { public_key, share })
}

fn fields<const N: usize>(text: &str, header: &str, labels: [&str; N]) -> Result<[Vec<u8>; N], KeyFileError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some(header) {
        return Err(KeyFileError(format!("not a file of this kind: the first line must be {header:?}")));
    }
    let mut out: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
    for (slot, label) in out.iter_mut().zip(labels) {
        let line = lines.next().ok_or_else(|| KeyFileError(format!("the {label} line is missing")))?;
        let value = line
            .strip_prefix(label)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or_else(|| KeyFileError(format!("expected a {label} line, found {:?}", short(line))))?;
        *slot = hex::decode(value.trim()).map_err(|e| KeyFileError(format!("{label}: {e}")))?;
    }
    if let Some(extra) = lines.next() {
        return Err(KeyFileError(format!("unexpected line {:?}", short(extra))));
    }
    Ok(out)
}

fn fixed<const N: usize>(bytes: &[u8], label: &str) -> Result<[u8; N], KeyFileError> {
    bytes.try_into().map_err(|_| KeyFileError(format!("{label}: {} bytes, want {N}", bytes.len())))
}

/// A line cut short for an error message (it may hold a secret).
fn short(line: &str) -> String {
    line.chars().take(12).collect::<String>() + "…"
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn key_and_share_files_round_trip_and_refuse_what_is_not_theirs() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let key = OprfKey::generate(&mut rng);
        let text = encode_key_file(&key);
        assert_eq!(parse_key_file(&text).map(|k| k.to_bytes()), Ok(key.to_bytes()));
        let shares = key.split(2, 3, &mut rng).expect("split");
        let file = ShareFile { public_key: key.public(), share: shares[1].clone() };
        let share_text = encode_share_file(&file);
        let back = parse_share_file(&share_text).expect("share file");
        assert_eq!((back.public_key, back.share.to_bytes()), (key.public(), shares[1].to_bytes()));
        // A share file is not a key file, and a key whose halves disagree is refused.
        assert!(parse_key_file(&share_text).is_err());
        let other = OprfKey::generate(&mut rng);
        let mixed = text.replace(&hex::encode(key.to_bytes()), &hex::encode(other.to_bytes()));
        assert_eq!(parse_key_file(&mixed).err(), Some(KeyFileError("public_key is not the secret's".into())));
        assert!(parse_share_file("veritrace code key share v1\npublic_key zz\nshare 00\n").is_err());
        assert!(parse_share_file(&(share_text + "more\n")).is_err());
    }
}
