//! [`generate`]: serials, codes, salted digests and the `CommissionItems`
//! actions of one batch.

use rand::CryptoRng;
use veritrace_core::code::{CodeError, CodeSalt, code_digest, generate_code, oprf_code_digest};
use veritrace_core::gs1::Sgtin;
use veritrace_core::label_token::LabelToken;
use veritrace_proto::v1 as pb;

use crate::{BatchSpec, Label, LabelError, serials};

/// A generated batch: what goes to the ledger and what goes to the printer.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The actions to sign and submit, in order: each holds at most
    /// [`BatchSpec::chunk_size`] items and its own random `batch_salt`.
    /// They contain code digests, never codes.
    pub actions: Vec<pb::CommissionItems>,
    /// One label per item, in the same order as the items of the actions.
    /// They contain the clear codes: see the crate docs.
    pub labels: Vec<Label>,
}

/// How a chunk's code digests are made.
enum Digester<'a> {
    /// CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1 with the brand's whole key.
    Oprf(&'a veritrace_core::oprf::OprfKey),
    /// CODE_DIGEST_SCHEME_BLAKE3_V1 with the chunk's salt.
    Salted(CodeSalt),
}

/// Generates the batch `spec` describes, drawing serials (for
/// [`SerialScheme::Random`](crate::SerialScheme::Random)), codes and salts
/// from `rng`.
///
/// Pass a cryptographic generator such as `&mut rand::rng()`: the codes
/// are only as unpredictable as it is. For chunk *k* the action's
/// `batch_salt` is a fresh 16-byte [`CodeSalt`] and each item's
/// `code_digest` is `code_digest(salt, Sgtin::key_bytes(), code)`
/// (`CODE_DIGEST_SCHEME_BLAKE3_V1`); items carry no salt of their own.
/// Each item also gets a random label token, printed in its Digital Link;
/// the action carries the token's digest.
///
/// Fails on an invalid spec (see [`BatchSpec::validate`]) before drawing
/// anything, or with [`LabelError::RngStuck`] if the generator is broken.
pub fn generate<R: CryptoRng + ?Sized>(spec: &BatchSpec, rng: &mut R) -> Result<Batch, LabelError> {
    spec.validate()?;
    let serials = serials::generate(&spec.serials, spec.count, rng)?;
    let mut actions = Vec::with_capacity(serials.len().div_ceil(spec.chunk_size));
    let mut labels = Vec::with_capacity(serials.len());
    for chunk in serials.chunks(spec.chunk_size) {
        // Under the threshold OPRF the brand's key is the secret: no salt.
        let digester = match &spec.code_key {
            Some(key) => Digester::Oprf(&key.0),
            None => Digester::Salted(CodeSalt::generate(rng)),
        };
        let mut items = Vec::with_capacity(chunk.len());
        for serial in chunk {
            let code = generate_code(&spec.policy, rng).map_err(|e| match e {
                CodeError::RngStuck { .. } => LabelError::RngStuck { what: "verification code characters" },
                other => LabelError::InvalidPolicy(other),
            })?;
            let sgtin = Sgtin::new(spec.gtin, serial.clone());
            let digest = match &digester {
                Digester::Oprf(key) => oprf_code_digest(key, &sgtin.key_bytes(), &code),
                Digester::Salted(salt) => code_digest(salt, &sgtin.key_bytes(), &code),
            };
            let token = LabelToken::generate(rng);
            items.push(pb::CommissionedItem {
                serial: serial.to_string(),
                code_digest: digest.as_bytes().to_vec(),
                salt: Vec::new(),
                label_token_digest: token.digest().as_bytes().to_vec(),
            });
            labels.push(Label::new(
                sgtin,
                spec.lot.as_deref(),
                code,
                token,
                spec.company_prefix_len,
                &spec.label_host,
            )?);
        }
        actions.push(pb::CommissionItems {
            gtin: spec.gtin.to_string(),
            lot: spec.lot.clone().unwrap_or_default(),
            batch_salt: match &digester {
                Digester::Oprf(_) => Vec::new(),
                Digester::Salted(salt) => salt.as_bytes().to_vec(),
            },
            items,
            digest_scheme: if spec.code_key.is_some() {
                pb::CodeDigestScheme::ThresholdOprfV1.into()
            } else {
                pb::CodeDigestScheme::Blake3V1.into()
            },
            code_key: spec.code_key.as_ref().map(|k| k.0.public().to_bytes().to_vec()).unwrap_or_default(),
            production_time: spec.production_time,
            expiry_date: spec.expiry_date.clone().unwrap_or_default(),
            biz_location: spec.biz_location.clone().unwrap_or_default(),
        });
    }
    Ok(Batch { actions, labels })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use veritrace_core::Hash;
    use veritrace_core::code::{CodeAlphabet, CodePolicy, verify_code};
    use veritrace_core::gs1::Serial;

    use super::*;
    use crate::SerialScheme;

    fn spec(count: u32, chunk_size: usize) -> BatchSpec {
        let serials = SerialScheme::Sequential { prefix: "LOT7-".into(), start: 1, width: 6 };
        BatchSpec {
            chunk_size,
            lot: Some("LOT7".into()),
            ..BatchSpec::new("09506000134352", count, serials).expect("GTIN")
        }
    }

    /// Every item of every action, with its action's salt.
    fn items(batch: &Batch) -> Vec<(CodeSalt, &pb::CommissionedItem)> {
        batch
            .actions
            .iter()
            .flat_map(|a| {
                let salt = CodeSalt::from_slice(&a.batch_salt).expect("16-byte salt");
                a.items.iter().map(move |i| (salt, i))
            })
            .collect()
    }

    #[test]
    fn every_digest_verifies_its_label_code_and_no_other() {
        for policy in [CodePolicy::default(), CodePolicy { length: 12, alphabet: CodeAlphabet::ALPHANUMERIC }] {
            let batch =
                generate(&BatchSpec { policy, ..spec(300, 128) }, &mut StdRng::seed_from_u64(7)).expect("batch");
            let items = items(&batch);
            assert_eq!(items.len(), batch.labels.len());
            for ((salt, item), label) in items.iter().zip(&batch.labels) {
                assert_eq!(item.serial, label.serial.as_str());
                assert!(item.salt.is_empty());
                let key = label.sgtin().key_bytes();
                let digest = Hash::from_slice(&item.code_digest).expect("32 bytes");
                assert_eq!(verify_code(salt, &key, &policy, &label.code, &digest), Ok(true));
                // Spaces and lower case, as a consumer might type it.
                let typed = label.code.to_ascii_lowercase().chars().flat_map(|c| [c, ' ']).collect::<String>();
                assert_eq!(verify_code(salt, &key, &policy, &typed, &digest), Ok(true));
                // A different code of the same policy fails.
                let other = flip_first(&label.code, policy.alphabet);
                assert_eq!(verify_code(salt, &key, &policy, &other, &digest), Ok(false));
                // The right code on another item fails.
                let other_key = [&key[..], b"X"].concat();
                assert_eq!(verify_code(salt, &other_key, &policy, &label.code, &digest), Ok(false));
            }
        }
    }

    fn flip_first(code: &str, alphabet: CodeAlphabet) -> String {
        let symbols = alphabet.symbols();
        let first = code.as_bytes().first().copied().unwrap_or(b'0');
        let pos = symbols.iter().position(|s| *s == first).unwrap_or(0);
        let replacement = char::from(symbols[(pos + 1) % symbols.len()]);
        std::iter::once(replacement).chain(code.chars().skip(1)).collect()
    }

    #[test]
    fn actions_are_split_at_chunk_size_with_fresh_salts() {
        let batch = generate(&spec(1001, 250), &mut StdRng::seed_from_u64(1)).expect("batch");
        let sizes: Vec<usize> = batch.actions.iter().map(|a| a.items.len()).collect();
        assert_eq!(sizes, [250, 250, 250, 250, 1]);
        assert_eq!(batch.labels.len(), 1001);
        let salts: HashSet<&[u8]> = batch.actions.iter().map(|a| a.batch_salt.as_slice()).collect();
        assert_eq!(salts.len(), 5);
        for a in &batch.actions {
            assert_eq!(a.gtin, "09506000134352");
            assert_eq!(a.lot, "LOT7");
            assert_eq!(a.batch_salt.len(), CodeSalt::LEN);
            assert_eq!(a.digest_scheme, i32::from(pb::CodeDigestScheme::Blake3V1));
            assert!(a.items.iter().all(|i| i.code_digest.len() == 32));
        }
        // Exactly one chunk when everything fits.
        let one = generate(&spec(250, 250), &mut StdRng::seed_from_u64(1)).expect("batch");
        assert_eq!(one.actions.len(), 1);
    }

    #[test]
    fn serials_are_unique_valid_and_in_order() {
        let batch = generate(&spec(1200, 500), &mut StdRng::seed_from_u64(2)).expect("batch");
        let all: Vec<&str> = batch.actions.iter().flat_map(|a| a.items.iter().map(|i| i.serial.as_str())).collect();
        assert_eq!(all.first(), Some(&"LOT7-000001"));
        assert_eq!(all.last(), Some(&"LOT7-001200"));
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 1200);
        assert!(all.iter().all(|s| Serial::parse(s).is_ok()));

        let random = BatchSpec { serials: SerialScheme::Random { length: 10 }, ..spec(3000, 1000) };
        let batch = generate(&random, &mut StdRng::seed_from_u64(2)).expect("batch");
        let serials: HashSet<&str> = batch.labels.iter().map(|l| l.serial.as_str()).collect();
        assert_eq!(serials.len(), 3000);
        assert!(serials.iter().all(|s| s.len() == 10 && Serial::parse(s).is_ok()));
    }

    #[test]
    fn optional_fields_reach_every_action_and_codes_never_do() {
        let spec = BatchSpec {
            production_time: Some(veritrace_proto::timestamp_from_ms(1_767_225_600_000)),
            expiry_date: Some("2027-12-31".into()),
            biz_location: Some("urn:epc:id:sgln:9506000.16490.0".into()),
            ..spec(20, 8)
        };
        let batch = generate(&spec, &mut StdRng::seed_from_u64(3)).expect("batch");
        for a in &batch.actions {
            assert_eq!(a.production_time, spec.production_time);
            assert_eq!(a.expiry_date, "2027-12-31");
            assert_eq!(a.biz_location, "urn:epc:id:sgln:9506000.16490.0");
        }
        let encoded = format!("{:?}", batch.actions);
        for label in &batch.labels {
            assert!(!encoded.contains(&format!("\"{}\"", label.code)));
        }
        // Without a lot the action's lot is empty.
        let no_lot = generate(&BatchSpec { lot: None, ..spec }, &mut StdRng::seed_from_u64(3)).expect("batch");
        assert!(no_lot.actions.iter().all(|a| a.lot.is_empty()));
    }

    #[test]
    fn a_seeded_rng_gives_the_same_batch() {
        let random = BatchSpec { serials: SerialScheme::Random { length: 8 }, ..spec(500, 100) };
        let a = generate(&random, &mut StdRng::seed_from_u64(42)).expect("batch");
        let b = generate(&random, &mut StdRng::seed_from_u64(42)).expect("batch");
        assert_eq!(a, b);
        let c = generate(&random, &mut StdRng::seed_from_u64(43)).expect("batch");
        assert_ne!(a.labels, c.labels);
    }

    /// A generator whose every byte is rejected by code sampling.
    struct AllOnes;
    impl rand::TryRng for AllOnes {
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
    impl rand::TryCryptoRng for AllOnes {}

    #[test]
    fn a_stuck_rng_is_an_error_not_a_hang() {
        assert!(matches!(generate(&spec(3, 3), &mut AllOnes), Err(LabelError::RngStuck { .. })));
        let random = BatchSpec { serials: SerialScheme::Random { length: 8 }, ..spec(3, 3) };
        assert!(matches!(generate(&random, &mut AllOnes), Err(LabelError::RngStuck { .. })));
    }

    #[test]
    fn an_invalid_spec_draws_nothing() {
        struct Untouchable;
        impl rand::TryRng for Untouchable {
            type Error = std::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                unreachable!("no randomness for an invalid spec")
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                unreachable!("no randomness for an invalid spec")
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
                unreachable!("no randomness for an invalid spec")
            }
        }
        impl rand::TryCryptoRng for Untouchable {}
        let bad = BatchSpec {
            serials: SerialScheme::Sequential { prefix: "P".repeat(16), start: 1, width: 6 },
            ..spec(5, 5)
        };
        assert!(matches!(generate(&bad, &mut Untouchable), Err(LabelError::SerialTooLong { .. })));
    }

    #[test]
    fn a_code_key_makes_unsalted_oprf_digests_of_the_label_codes() {
        let mut rng = StdRng::seed_from_u64(9);
        let key = veritrace_core::oprf::OprfKey::generate(&mut rng);
        let spec = BatchSpec { code_key: Some(crate::BrandCodeKey(key.clone())), ..spec(40, 16) };
        let batch = generate(&spec, &mut rng).expect("batch");
        assert_eq!(batch.actions.len(), 3);
        let mut items = Vec::new();
        for a in &batch.actions {
            assert!(a.batch_salt.is_empty(), "a salt was drawn under the threshold OPRF");
            assert_eq!(a.digest_scheme, i32::from(pb::CodeDigestScheme::ThresholdOprfV1));
            assert_eq!(a.code_key, key.public().to_bytes().to_vec());
            items.extend(a.items.iter());
        }
        for (item, label) in items.iter().zip(&batch.labels) {
            let key_bytes = label.sgtin().key_bytes();
            assert!(item.salt.is_empty());
            assert_eq!(item.code_digest, oprf_code_digest(&key, &key_bytes, &label.code).as_bytes().to_vec());
            let other = if label.code == "000000" { "000001" } else { "000000" };
            assert_ne!(item.code_digest, oprf_code_digest(&key, &key_bytes, other).as_bytes().to_vec());
        }
    }
}
