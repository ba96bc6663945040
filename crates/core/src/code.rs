//! The secret verification code under a product's scratch label, and the
//! salted digest the ledger stores instead of it.
//!
//! A buyer scratches the label, reads the code and submits it with the
//! item's identifier; the verification service normalises the input
//! ([`normalize_code`]), recomputes [`code_digest`] with the item's salt and
//! key, and compares it with the digest on the ledger ([`verify_code`]).
//! The ledger never holds the clear code.
//!
//! # What the digest does and does not protect
//!
//! Be honest about the numbers. The default policy (6 decimal digits, as on
//! the labels of the systems Veritrace replaces) has 10^6 codes, about 19.9
//! bits of entropy. Anyone who can read the ledger has an item's salt, key
//! and digest and can try every code offline: a million blake3 calls take
//! milliseconds. The digest is therefore **not** a secret-keeping device
//! against ledger readers for short codes. What it does give:
//!
//! * codes are not written in the clear on a replicated, append-only log,
//!   so they do not leak wholesale through backups, logs or casual reads;
//! * the salt and the item key bind each digest to one item: a precomputed
//!   table is useless, equal codes on two items give unrelated digests, and
//!   cracking one item says nothing about another (each costs a separate
//!   search).
//!
//! Against the public, who can only ask the verification service, guessing
//! is online and must be limited by rate limits and lock-outs there (not in
//! this crate). Products worth counterfeiting at scale should use longer or
//! [`CodeAlphabet::ALPHANUMERIC`] codes: 10 alphanumeric characters give
//! about 49.5 bits, 16 give about 79 bits ([`CodePolicy::keyspace_bits`]).
//!
//! # Digest encoding
//!
//! `code_digest` is blake3 in `derive_key` mode with the context string
//! [`CODE_DIGEST_CONTEXT`] over
//! `le64(16) ‖ salt ‖ le64(len(item_key)) ‖ item_key ‖ le64(len(code)) ‖ code`,
//! where `le64` is a little-endian `u64` byte count and `code` is the
//! normalised code's UTF-8 (ASCII) bytes. Every field is length-prefixed, so
//! no two different (salt, item key, code) triples share an encoding.

use std::fmt;

use ed25519_dalek::rand_core::CryptoRng;

use crate::Hash;

/// blake3 `derive_key` context of [`code_digest`].
pub const CODE_DIGEST_CONTEXT: &str = "veritrace.v1 code digest";

/// The characters a code is drawn from: 2 to 94 distinct printable ASCII
/// characters (`!` to `~`, no space), kept in ASCII order, so two
/// alphabets with the same characters are equal whatever order a brand
/// wrote them in. `Copy`, without allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeAlphabet {
    symbols: [u8; MAX_SYMBOLS],
    len: u8,
}

/// Most characters an alphabet may have: every printable ASCII character
/// but space.
const MAX_SYMBOLS: usize = 94;

impl CodeAlphabet {
    /// `0123456789` (10 symbols, ~3.32 bits each), the default.
    pub const DIGITS: CodeAlphabet = CodeAlphabet::from_sorted(b"0123456789");
    /// `23456789ABCDEFGHJKMNPQRSTUVWXYZ` (31 symbols, ~4.95 bits each): the
    /// digits 2-9 and the upper-case letters without `I`, `L` and `O`, so
    /// no two symbols are easily confused (`0`/`O`, `1`/`I`/`L` are all
    /// out). Input is upper-cased before checking; `0`, `1`, `I`, `L`, `O`
    /// are rejected, not guessed at.
    pub const ALPHANUMERIC: CodeAlphabet = CodeAlphabet::from_sorted(b"23456789ABCDEFGHJKMNPQRSTUVWXYZ");

    /// An alphabet from symbols already sorted and distinct (checked by
    /// the tests for the constants above).
    const fn from_sorted(sorted: &[u8]) -> CodeAlphabet {
        let mut symbols = [0u8; MAX_SYMBOLS];
        let mut i = 0;
        while i < sorted.len() {
            symbols[i] = sorted[i];
            i += 1;
        }
        CodeAlphabet { symbols, len: sorted.len() as u8 }
    }

    /// The alphabet of the characters of `text`, in any order.
    ///
    /// Fails unless `text` has 2 to 94 characters, all printable ASCII
    /// other than space, none twice.
    pub fn new(text: &str) -> Result<CodeAlphabet, CodeError> {
        let bad = |why: &str| CodeError::BadAlphabet { alphabet: text.to_owned(), why: why.to_owned() };
        let mut sorted: Vec<u8> = text.bytes().collect();
        if let Some(c) = sorted.iter().find(|c| !(b'!'..=b'~').contains(*c)) {
            return Err(bad(&format!("byte 0x{c:02x} is not printable ASCII other than space")));
        }
        if !(2..=MAX_SYMBOLS).contains(&sorted.len()) {
            return Err(bad(&format!("{} characters; 2 to {MAX_SYMBOLS} allowed", sorted.len())));
        }
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(&format!("{:?} appears twice", char::from(w[0]))));
        }
        Ok(CodeAlphabet::from_sorted(&sorted))
    }

    /// The symbols, in ASCII order.
    pub fn symbols(&self) -> &[u8] {
        &self.symbols[..usize::from(self.len)]
    }

    /// Whether `c` is one of the symbols (case-sensitive).
    pub fn contains(&self, c: char) -> bool {
        u8::try_from(c).is_ok_and(|b| self.symbols().contains(&b))
    }

    /// Whether input is upper-cased before checking: when the alphabet has
    /// no lower-case letter, so consumers may type either case.
    pub fn folds_case(&self) -> bool {
        !self.symbols().iter().any(u8::is_ascii_lowercase)
    }
}

impl Default for CodeAlphabet {
    fn default() -> Self {
        CodeAlphabet::DIGITS
    }
}

impl fmt::Display for CodeAlphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == CodeAlphabet::DIGITS {
            f.write_str("digits")
        } else if *self == CodeAlphabet::ALPHANUMERIC {
            f.write_str("alphanumeric")
        } else {
            write!(f, "{:?}", String::from_utf8_lossy(self.symbols()))
        }
    }
}

impl fmt::Debug for CodeAlphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeAlphabet({:?})", String::from_utf8_lossy(self.symbols()))
    }
}

/// How codes for a batch of labels are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodePolicy {
    /// Characters per code, [`CodePolicy::MIN_LENGTH`] to
    /// [`CodePolicy::MAX_LENGTH`].
    pub length: u8,
    /// The alphabet codes are drawn from.
    pub alphabet: CodeAlphabet,
}

/// Six decimal digits, as printed on the seed systems' labels (~19.9 bits).
impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy { length: 6, alphabet: CodeAlphabet::DIGITS }
    }
}

impl CodePolicy {
    /// Shortest allowed code.
    pub const MIN_LENGTH: u8 = 4;
    /// Longest allowed code.
    pub const MAX_LENGTH: u8 = 32;

    /// Checks the length is within 4..=32.
    pub fn validate(&self) -> Result<(), CodeError> {
        if (Self::MIN_LENGTH..=Self::MAX_LENGTH).contains(&self.length) {
            Ok(())
        } else {
            Err(CodeError::PolicyLength { length: self.length, min: Self::MIN_LENGTH, max: Self::MAX_LENGTH })
        }
    }

    /// log2 of the number of possible codes: `length × log2(alphabet size)`.
    pub fn keyspace_bits(&self) -> f64 {
        f64::from(self.length) * (self.alphabet.symbols().len() as f64).log2()
    }
}

/// Why a code (or a policy) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The policy's length is outside the allowed range.
    #[error("code length {length} is outside {min}..={max}")]
    PolicyLength {
        /// The policy's length.
        length: u8,
        /// Smallest allowed.
        min: u8,
        /// Largest allowed.
        max: u8,
    },
    /// After normalisation the code has the wrong number of characters.
    #[error("code has {found} characters, expected {expected}")]
    WrongLength {
        /// The policy's length.
        expected: usize,
        /// Characters found (spaces and hyphens not counted).
        found: usize,
    },
    /// A character outside the policy's alphabet (after upper-casing).
    #[error("character {ch:?} at position {index} is not in the {alphabet} code alphabet")]
    InvalidChar {
        /// The character, upper-cased.
        ch: char,
        /// Its position in the input, in characters.
        index: usize,
        /// The policy's alphabet.
        alphabet: CodeAlphabet,
    },
    /// An alphabet that is not 2 to 94 distinct printable characters.
    #[error("code alphabet {alphabet:?}: {why}")]
    BadAlphabet {
        /// The alphabet as given.
        alphabet: String,
        /// What is wrong with it.
        why: String,
    },
    /// A salt of the wrong length.
    #[error("a code salt is 16 bytes, got {len}")]
    BadSaltLength {
        /// Bytes given.
        len: usize,
    },
    /// The random generator kept returning bytes that rejection sampling
    /// discards; it is broken.
    #[error("random generator produced no usable bytes in {rounds} rounds")]
    RngStuck {
        /// Rounds of 64 bytes tried.
        rounds: usize,
    },
}

/// Blocks of random bytes [`generate_code`] draws before giving up on a
/// generator that only produces rejected bytes.
const MAX_RNG_ROUNDS: usize = 64;

/// Maps a uniform random byte to a uniform index below `n`, or `None` if the
/// byte must be rejected: only bytes below the largest multiple of `n` that
/// fits in 256 are used, so every index has exactly the same number of
/// preimages (no modulo bias).
fn sample_index(byte: u8, n: usize) -> Option<usize> {
    let b = usize::from(byte);
    if n == 0 || n > 256 {
        return None;
    }
    let limit = 256 - 256 % n;
    (b < limit).then_some(b % n)
}

/// Draws a uniformly random code for `policy`.
///
/// Each character is chosen by rejection sampling over random bytes, so all
/// `alphabet^length` codes are equally likely. Pass any cryptographic RNG,
/// e.g. `&mut rand::rng()` (rand 0.10): the bound is rand_core 0.10's
/// [`CryptoRng`], re-exported by `ed25519_dalek::rand_core`. A fallible
/// generator (`getrandom::SysRng`) can be wrapped in `rand_core::UnwrapErr`.
///
/// Fails if the policy is invalid, or if the generator is so broken that
/// 64 blocks of 64 bytes contain too few usable bytes.
pub fn generate_code<R: CryptoRng + ?Sized>(policy: &CodePolicy, rng: &mut R) -> Result<String, CodeError> {
    policy.validate()?;
    let symbols = policy.alphabet.symbols();
    let len = usize::from(policy.length);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    for _ in 0..MAX_RNG_ROUNDS {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if let Some(&sym) = sample_index(b, symbols.len()).and_then(|i| symbols.get(i)) {
                out.push(char::from(sym));
                if out.len() == len {
                    return Ok(out);
                }
            }
        }
    }
    Err(CodeError::RngStuck { rounds: MAX_RNG_ROUNDS })
}

/// Normalises what a person typed: trims surrounding whitespace, drops
/// spaces and hyphens anywhere (`"123 456"`, `"ABCD-EFGH"`; a hyphen is
/// kept when the alphabet has one), upper-cases ASCII letters when the
/// alphabet has no lower-case letter ([`CodeAlphabet::folds_case`]), then
/// checks every character is in the policy's alphabet and the count is
/// exactly `policy.length`.
///
/// Only ASCII space and `-` are dropped inside the code; tabs, other dashes
/// and anything non-ASCII are rejected as [`CodeError::InvalidChar`].
pub fn normalize_code(policy: &CodePolicy, input: &str) -> Result<String, CodeError> {
    policy.validate()?;
    let start = input.len() - input.trim_start().len();
    let end = start + input.trim().len();
    let mut out = String::with_capacity(usize::from(policy.length));
    for (index, (at, c)) in input.char_indices().enumerate() {
        if at < start || at >= end || c == ' ' || (c == '-' && !policy.alphabet.contains('-')) {
            continue;
        }
        let c = if policy.alphabet.folds_case() { c.to_ascii_uppercase() } else { c };
        if !policy.alphabet.contains(c) {
            return Err(CodeError::InvalidChar { ch: c, index, alphabet: policy.alphabet });
        }
        out.push(c);
    }
    let expected = usize::from(policy.length);
    if out.len() != expected {
        return Err(CodeError::WrongLength { expected, found: out.len() });
    }
    Ok(out)
}

/// The per-batch or per-item random salt stored on the ledger next to a
/// code digest. Not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeSalt(pub [u8; 16]);

impl CodeSalt {
    /// Bytes in a salt.
    pub const LEN: usize = 16;

    /// A fresh random salt.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        CodeSalt(salt)
    }

    /// Reads a salt from exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CodeError> {
        <[u8; 16]>::try_from(bytes).map(CodeSalt).map_err(|_| CodeError::BadSaltLength { len: bytes.len() })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// The digest the ledger stores for an item's code (see the module docs for
/// the exact encoding).
///
/// `item_key` is the item's identifier key, normally
/// [`Sgtin::key_bytes`](crate::gs1::Sgtin::key_bytes); `normalized_code` must
/// be the output of [`normalize_code`] (or [`generate_code`]), or equal
/// codes typed differently will not match.
pub fn code_digest(salt: &CodeSalt, item_key: &[u8], normalized_code: &str) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(CODE_DIGEST_CONTEXT);
    for field in [&salt.0[..], item_key, normalized_code.as_bytes()] {
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field);
    }
    Hash::from(h.finalize())
}

/// The input `x` of the threshold OPRF (CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1)
/// for an item's code: the item key as a u64 little-endian length then its
/// bytes, then the normalised code. The length prefix keeps two (key, code)
/// pairs from meeting in one input.
pub fn oprf_input(item_key: &[u8], normalized_code: &str) -> Vec<u8> {
    let mut x = Vec::with_capacity(8 + item_key.len() + normalized_code.len());
    x.extend_from_slice(&(item_key.len() as u64).to_le_bytes());
    x.extend_from_slice(item_key);
    x.extend_from_slice(normalized_code.as_bytes());
    x
}

/// The digest a brand commissions under CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1:
/// `F_k(oprf_input(item_key, code))` with its whole code key.
pub fn oprf_code_digest(key: &crate::oprf::OprfKey, item_key: &[u8], normalized_code: &str) -> Hash {
    Hash(key.evaluate(&oprf_input(item_key, normalized_code)).0)
}

/// The context a brand's proof of possession of its code key is made for
/// (`ThresholdCodeKey.possession_proof`): the network id, a zero byte, the
/// brand's party id.
pub fn code_key_possession_context(network_id: &str, brand_party_id: &str) -> Vec<u8> {
    [network_id.as_bytes(), &[0], brand_party_id.as_bytes()].concat()
}

/// Deals a brand's code key: splits `key` `threshold`-of-`nodes.len()`
/// among the validator `nodes` (in order) and returns each node's share
/// file and the public parts a product's policy names
/// (`ThresholdCodeKey`), with the brand's proof of possession for
/// `network_id`. Fails for a threshold outside `1..=nodes.len()` or more
/// than 255 nodes (the ledger further wants `2 <= threshold`, at most 16
/// nodes, distinct nonzero ids).
pub fn deal_code_key<R: CryptoRng + ?Sized>(
    key: &crate::oprf::OprfKey,
    threshold: u8,
    nodes: &[u64],
    network_id: &str,
    brand_party_id: &str,
    rng: &mut R,
) -> Result<(Vec<(u64, crate::oprf::files::ShareFile)>, veritrace_proto::v1::ThresholdCodeKey), crate::oprf::OprfError>
{
    let n = u8::try_from(nodes.len())
        .map_err(|_| crate::oprf::OprfError::InvalidThreshold { threshold, shares: nodes.len() })?;
    let shares = key.split(threshold, n, rng)?;
    let context = code_key_possession_context(network_id, brand_party_id);
    let public = veritrace_proto::v1::ThresholdCodeKey {
        public_key: key.public().to_bytes().to_vec(),
        threshold: u32::from(threshold),
        shares: nodes
            .iter()
            .zip(&shares)
            .map(|(node, s)| veritrace_proto::v1::CodeKeyShare {
                node_id: *node,
                public_share: s.public().to_bytes().to_vec(),
            })
            .collect(),
        possession_proof: key.prove_possession(&context, rng).to_bytes().to_vec(),
    };
    let files = nodes
        .iter()
        .zip(shares)
        .map(|(node, share)| (*node, crate::oprf::files::ShareFile { public_key: key.public(), share }))
        .collect();
    Ok((files, public))
}

/// Compares two digests in constant time (see [`verify_code`]).
pub fn digests_equal(a: &Hash, b: &Hash) -> bool {
    ct_eq(a.as_bytes(), b.as_bytes())
}

/// Checks typed `input` against the ledger's `expected` digest.
///
/// Normalises `input` under `policy` (a malformed input is an error, not
/// `false`), recomputes the digest and compares all 32 bytes in constant
/// time. Rate limiting is the caller's job: see the module docs.
pub fn verify_code(
    salt: &CodeSalt,
    item_key: &[u8],
    policy: &CodePolicy,
    input: &str,
    expected: &Hash,
) -> Result<bool, CodeError> {
    let code = normalize_code(policy, input)?;
    let got = code_digest(salt, item_key, &code);
    Ok(ct_eq(got.as_bytes(), expected.as_bytes()))
}

/// Compares two digests without data-dependent branches or early exit.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const SALT: CodeSalt = CodeSalt([7; 16]);

    #[test]
    fn default_policy_is_six_digits() {
        let p = CodePolicy::default();
        assert_eq!(p, CodePolicy { length: 6, alphabet: CodeAlphabet::DIGITS });
        assert_eq!(p.validate(), Ok(()));
        assert!((p.keyspace_bits() - 19.93).abs() < 0.01);
        let a = CodePolicy { length: 10, alphabet: CodeAlphabet::ALPHANUMERIC };
        assert!((a.keyspace_bits() - 49.54).abs() < 0.01);
    }

    #[test]
    fn policy_length_bounds() {
        for length in [0u8, 3, 33, 255] {
            let p = CodePolicy { length, alphabet: CodeAlphabet::DIGITS };
            assert_eq!(p.validate(), Err(CodeError::PolicyLength { length, min: 4, max: 32 }));
            assert!(generate_code(&p, &mut rand::rng()).is_err());
            assert!(normalize_code(&p, "123456").is_err());
        }
        for length in [4u8, 32] {
            assert_eq!(CodePolicy { length, alphabet: CodeAlphabet::ALPHANUMERIC }.validate(), Ok(()));
        }
    }

    #[test]
    fn alphabets_are_as_documented() {
        assert_eq!(CodeAlphabet::DIGITS.symbols().len(), 10);
        let alnum = CodeAlphabet::ALPHANUMERIC.symbols();
        assert_eq!(alnum.len(), 31);
        for c in b"01ILO" {
            assert!(!alnum.contains(c), "{}", char::from(*c));
        }
        for constant in [CodeAlphabet::DIGITS, CodeAlphabet::ALPHANUMERIC] {
            let text = String::from_utf8_lossy(constant.symbols()).into_owned();
            assert_eq!(CodeAlphabet::new(&text), Ok(constant), "constants are sorted and distinct");
        }
    }

    #[test]
    fn any_printable_alphabet_works_and_bad_ones_are_named() {
        // The example of product.proto: no 0, 1, I, O, but with L (32 symbols).
        let example = CodeAlphabet::new("23456789ABCDEFGHJKLMNPQRSTUVWXYZ").expect("the proto's example");
        assert_eq!(example.symbols().len(), 32);
        assert_eq!(CodeAlphabet::new("ZYXWVUTSRQPNMLKJHGFEDCBA98765432"), Ok(example), "order does not matter");
        let p = CodePolicy { length: 6, alphabet: example };
        assert_eq!(normalize_code(&p, "ab-cd l2"), Ok("ABCDL2".into()));
        // An alphabet with lower case letters is case-sensitive.
        let mixed = CodePolicy { length: 4, alphabet: CodeAlphabet::new("abAB").expect("valid") };
        assert_eq!(normalize_code(&mixed, "aAbB"), Ok("aAbB".into()));
        let code = generate_code(&p, &mut StdRng::seed_from_u64(3)).expect("a code");
        assert!(code.chars().all(|c| example.contains(c)), "{code}");
        for (text, why) in [("0", "1 characters"), ("0123 5", "0x20"), ("0120", "'0' appears twice"), ("é1", "0xc3")] {
            let err = CodeAlphabet::new(text).expect_err("invalid").to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn rejection_sampling_is_exactly_uniform_over_bytes() {
        for n in [10usize, 31] {
            let mut counts = vec![0usize; n];
            for b in 0..=255u8 {
                if let Some(i) = sample_index(b, n) {
                    counts[i] += 1;
                }
            }
            assert!(counts.iter().all(|&c| c == 256 / n), "n={n}: {counts:?}");
        }
        assert_eq!(sample_index(249, 10), Some(9));
        assert_eq!(sample_index(250, 10), None);
        assert_eq!(sample_index(247, 31), Some(30));
        assert_eq!(sample_index(248, 31), None);
        assert_eq!(sample_index(0, 0), None);
    }

    #[test]
    fn generated_codes_follow_policy_and_cover_alphabet() {
        let mut rng = StdRng::seed_from_u64(1);
        for alphabet in [CodeAlphabet::DIGITS, CodeAlphabet::ALPHANUMERIC] {
            let p = CodePolicy { length: 8, alphabet };
            let mut seen = std::collections::BTreeMap::new();
            for _ in 0..2000 {
                let code = generate_code(&p, &mut rng).expect("valid policy");
                assert_eq!(normalize_code(&p, &code).as_deref(), Ok(code.as_str()));
                for c in code.chars() {
                    *seen.entry(c).or_insert(0usize) += 1;
                }
            }
            assert_eq!(seen.len(), alphabet.symbols().len(), "{alphabet}");
            // 16000 draws: expected 1600 (digits) / ~516 (alnum) each; a
            // biased or broken sampler would be far outside +-35%.
            let expect = 16000.0 / alphabet.symbols().len() as f64;
            for (c, n) in seen {
                assert!((n as f64 - expect).abs() < 0.35 * expect, "{c}: {n}");
            }
        }
        // The thread RNG from rand 0.10 satisfies the bound.
        let code = generate_code(&CodePolicy::default(), &mut rand::rng()).expect("valid policy");
        assert_eq!(code.len(), 6);
    }

    #[test]
    fn generation_is_deterministic_for_a_seeded_rng() {
        let p = CodePolicy::default();
        let a = generate_code(&p, &mut StdRng::seed_from_u64(9)).expect("valid");
        let b = generate_code(&p, &mut StdRng::seed_from_u64(9)).expect("valid");
        assert_eq!(a, b);
    }

    struct AllOnes;
    impl ed25519_dalek::rand_core::TryRng for AllOnes {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::MAX)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::MAX)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0xff);
            Ok(())
        }
    }
    impl ed25519_dalek::rand_core::TryCryptoRng for AllOnes {}

    #[test]
    fn a_stuck_rng_is_an_error_not_a_hang() {
        assert_eq!(
            generate_code(&CodePolicy::default(), &mut AllOnes),
            Err(CodeError::RngStuck { rounds: MAX_RNG_ROUNDS })
        );
    }

    #[test]
    fn normalisation_cases() {
        let d = CodePolicy::default();
        assert_eq!(normalize_code(&d, "123456").as_deref(), Ok("123456"));
        assert_eq!(normalize_code(&d, "  123 456\n").as_deref(), Ok("123456"));
        assert_eq!(normalize_code(&d, "12-34-56").as_deref(), Ok("123456"));
        assert_eq!(normalize_code(&d, "\t1 2 3 - 4 5 6 ").as_deref(), Ok("123456"));
        assert_eq!(normalize_code(&d, "12345"), Err(CodeError::WrongLength { expected: 6, found: 5 }));
        assert_eq!(normalize_code(&d, "1234567"), Err(CodeError::WrongLength { expected: 6, found: 7 }));
        assert_eq!(normalize_code(&d, ""), Err(CodeError::WrongLength { expected: 6, found: 0 }));
        assert_eq!(normalize_code(&d, " - "), Err(CodeError::WrongLength { expected: 6, found: 0 }));
        assert_eq!(
            normalize_code(&d, "12a456"),
            Err(CodeError::InvalidChar { ch: 'A', index: 2, alphabet: CodeAlphabet::DIGITS })
        );
        assert_eq!(
            normalize_code(&d, "123\t456"),
            Err(CodeError::InvalidChar { ch: '\t', index: 3, alphabet: CodeAlphabet::DIGITS })
        );
        assert_eq!(
            normalize_code(&d, "123–456"),
            Err(CodeError::InvalidChar { ch: '–', index: 3, alphabet: CodeAlphabet::DIGITS })
        );
        assert_eq!(
            normalize_code(&d, "١٢٣٤٥٦"),
            Err(CodeError::InvalidChar { ch: '١', index: 0, alphabet: CodeAlphabet::DIGITS })
        );

        let a = CodePolicy { length: 8, alphabet: CodeAlphabet::ALPHANUMERIC };
        assert_eq!(normalize_code(&a, "abcd-efgh").as_deref(), Ok("ABCDEFGH"));
        assert_eq!(normalize_code(&a, " 2345 6789 ").as_deref(), Ok("23456789"));
        for (bad, index) in [("ABCDEFG0", 7), ("oBCDEFGH", 0), ("ABCIEFGH", 3), ("AB1DEFGH", 2), ("ABlDEFGH", 2)] {
            let ch = bad.chars().nth(index).expect("index in range").to_ascii_uppercase();
            assert_eq!(
                normalize_code(&a, bad),
                Err(CodeError::InvalidChar { ch, index, alphabet: CodeAlphabet::ALPHANUMERIC }),
                "{bad}"
            );
        }
    }

    #[test]
    fn digest_is_deterministic_and_binds_every_input() {
        let key = b"00614141123452SER1";
        let d = code_digest(&SALT, key, "123456");
        assert_eq!(d, code_digest(&SALT, key, "123456"));
        assert_ne!(d, code_digest(&CodeSalt([8; 16]), key, "123456"));
        assert_ne!(d, code_digest(&SALT, b"00614141123452SER2", "123456"));
        assert_ne!(d, code_digest(&SALT, key, "123457"));
        // Moving bytes between item key and code changes the digest.
        assert_ne!(code_digest(&SALT, b"ab", "c"), code_digest(&SALT, b"a", "bc"));
        assert_ne!(code_digest(&SALT, b"", "abc"), code_digest(&SALT, b"abc", ""));
        // Not a plain hash of the concatenation.
        assert_ne!(d, Hash::digest(b"123456"));
    }

    #[test]
    fn digest_matches_the_documented_encoding() {
        let key = b"item";
        let mut enc = Vec::new();
        enc.extend_from_slice(&16u64.to_le_bytes());
        enc.extend_from_slice(&SALT.0);
        enc.extend_from_slice(&4u64.to_le_bytes());
        enc.extend_from_slice(key);
        enc.extend_from_slice(&6u64.to_le_bytes());
        enc.extend_from_slice(b"123456");
        let want = blake3::derive_key("veritrace.v1 code digest", &enc);
        assert_eq!(code_digest(&SALT, key, "123456"), Hash(want));
    }

    #[test]
    fn verify_accepts_equivalent_input_and_rejects_others() {
        let key = b"00614141123452SER1";
        let p = CodePolicy::default();
        let d = code_digest(&SALT, key, "123456");
        assert_eq!(verify_code(&SALT, key, &p, " 123-456 ", &d), Ok(true));
        assert_eq!(verify_code(&SALT, key, &p, "123457", &d), Ok(false));
        assert_eq!(verify_code(&SALT, b"other", &p, "123456", &d), Ok(false));
        assert_eq!(verify_code(&CodeSalt([0; 16]), key, &p, "123456", &d), Ok(false));
        assert!(matches!(verify_code(&SALT, key, &p, "12345", &d), Err(CodeError::WrongLength { .. })));
        assert!(matches!(verify_code(&SALT, key, &p, "12345x", &d), Err(CodeError::InvalidChar { .. })));
    }

    #[test]
    fn constant_time_eq_compares_every_byte() {
        let a = [3u8; 32];
        assert!(ct_eq(&a, &a));
        for i in 0..32 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!ct_eq(&a, &b), "byte {i}");
        }
    }

    #[test]
    fn salt_from_slice_and_generate() {
        assert_eq!(CodeSalt::from_slice(&[1; 16]), Ok(CodeSalt([1; 16])));
        assert_eq!(CodeSalt::from_slice(&[1; 15]), Err(CodeError::BadSaltLength { len: 15 }));
        let mut rng = StdRng::seed_from_u64(3);
        let a = CodeSalt::generate(&mut rng);
        let b = CodeSalt::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.as_bytes().len(), CodeSalt::LEN);
    }
}
