//! Label tokens: the per-item public value printed in a label's QR code
//! that a verification must present, so that only someone who has seen the
//! label can spend the item's code guesses.
//!
//! A token is 16 random bytes, printed as 32 lower-case hex digits in the
//! label's GS1 Digital Link as the `t` query parameter
//! (`https://{host}/01/{gtin}/21/{serial}?t={token}`). It is not a secret
//! from whoever sees the label (the shop, the buyer, a photo of it); it is
//! unguessable for everyone else (2^128 values), which is all it has to
//! be: someone who knows only a GTIN and a sequential serial cannot lock
//! the buyer out by spending the item's guesses with wrong codes.
//!
//! The ledger stores [`label_token_digest`] of it, never the token.

use std::fmt;

use ed25519_dalek::rand_core::CryptoRng;

use crate::Hash;

/// blake3 `derive_key` context of [`label_token_digest`].
pub const LABEL_TOKEN_CONTEXT: &str = "veritrace.v1 label token";

/// The Digital Link query parameter that carries the token.
pub const LABEL_TOKEN_PARAM: &str = "t";

/// One item's label token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabelToken([u8; LabelToken::LEN]);

/// Why a presented token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a label token is {} hex digits (the `t` parameter of the label's link), got {got:?}", LabelToken::LEN * 2)]
pub struct LabelTokenError {
    /// What was presented (cut to 80 characters).
    pub got: String,
}

impl LabelToken {
    /// Bytes in a token.
    pub const LEN: usize = 16;

    /// A fresh random token.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; Self::LEN];
        rng.fill_bytes(&mut bytes);
        LabelToken(bytes)
    }

    /// A token of these bytes.
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        LabelToken(bytes)
    }

    /// Reads a token as printed: 32 hex digits, either case.
    pub fn parse(text: &str) -> Result<Self, LabelTokenError> {
        let bad = || LabelTokenError { got: text.chars().take(80).collect() };
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        Self::from_slice(&bytes).map_err(|_| bad())
    }

    /// Reads a token from exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LabelTokenError> {
        <[u8; Self::LEN]>::try_from(bytes)
            .map(LabelToken)
            .map_err(|_| LabelTokenError { got: format!("{} bytes", bytes.len()) })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// `link` (a Digital Link without a query) with this token as its `t`
    /// parameter: what the label's QR code holds.
    pub fn in_link(&self, link: &str) -> String {
        format!("{link}?{LABEL_TOKEN_PARAM}={self}")
    }

    /// The token text in a Digital Link's query (the first `t` parameter),
    /// if it has one; the text is not checked (see [`LabelToken::parse`]).
    pub fn text_in_link(link: &str) -> Option<&str> {
        let query = link.split_once('?')?.1;
        let query = query.split('#').next().unwrap_or_default();
        query
            .split('&')
            .find_map(|pair| pair.split_once('=').filter(|(key, _)| *key == LABEL_TOKEN_PARAM).map(|(_, v)| v))
    }

    /// What the ledger stores for this token.
    pub fn digest(&self) -> Hash {
        label_token_digest(&self.0)
    }
}

/// Printed form: 32 lower-case hex digits.
impl fmt::Display for LabelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LabelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LabelToken({self})")
    }
}

/// blake3 in `derive_key` mode (context [`LABEL_TOKEN_CONTEXT`]) of the
/// presented token bytes, whatever their length (a wrong length simply
/// matches nothing).
pub fn label_token_digest(token: &[u8]) -> Hash {
    Hash::from(blake3::Hasher::new_derive_key(LABEL_TOKEN_CONTEXT).update(token).finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn tokens_print_parse_and_digest() {
        let token = LabelToken::generate(&mut StdRng::seed_from_u64(1));
        let printed = token.to_string();
        assert_eq!(printed.len(), 32);
        assert_eq!(LabelToken::parse(&printed), Ok(token));
        assert_eq!(LabelToken::parse(&printed.to_uppercase()), Ok(token));
        assert_eq!(token.digest(), label_token_digest(token.as_bytes()));
        assert_ne!(token.digest(), label_token_digest(&token.as_bytes()[..15]));
        assert_ne!(token.digest(), Hash::digest(token.as_bytes()), "domain-separated");
        let link = token.in_link("https://id.gs1.org/01/09506000134352/21/A1");
        assert_eq!(link, format!("https://id.gs1.org/01/09506000134352/21/A1?t={printed}"));
        assert_eq!(LabelToken::text_in_link(&link), Some(printed.as_str()));
        assert_eq!(LabelToken::text_in_link(&format!("{link}&t=other#frag")), Some(printed.as_str()), "the first t");
        assert_eq!(LabelToken::text_in_link("https://id.gs1.org/01/09506000134352/21/A1?x=1#t=2"), None);
        for bad in ["", "abc", &printed[..30], &format!("{printed}00"), "zz".repeat(16).as_str()] {
            assert!(LabelToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}
