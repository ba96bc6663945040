use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const INPUT: &[u8] = b"00614141123452SER1123456";

type Partial = (PublicShare, EvaluatedElement, DleqProof);

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Every `size`-subset of `0..n`, in increasing order.
fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == size)
        .map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect())
        .collect()
}

fn partials<'a>(
    shares: impl IntoIterator<Item = &'a KeyShare>,
    blinded: &BlindedElement,
    rng: &mut StdRng,
) -> Vec<Partial> {
    shares
        .into_iter()
        .map(|share| {
            let (z, proof) = share.evaluate(blinded, rng);
            (share.public(), z, proof)
        })
        .collect()
}

/// A `threshold`-of-`n` dealing of a fresh key.
fn deal(threshold: u8, n: u8, seed: u64) -> (OprfKey, Vec<KeyShare>) {
    let mut rng = rng(seed);
    let key = OprfKey::generate(&mut rng);
    let shares = key.split(threshold, n, &mut rng).expect("valid threshold");
    (key, shares)
}

#[test]
fn threshold_evaluation_equals_direct_evaluation_for_every_subset() {
    let mut rng = rng(1);
    for (t, n) in [(1u8, 1u8), (2, 3), (3, 5)] {
        let (key, shares) = deal(t, n, u64::from(n));
        assert_eq!(shares.iter().map(KeyShare::index).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
        let publics: Vec<PublicShare> = shares.iter().map(KeyShare::public).collect();
        assert_eq!(check_shares(&key.public(), &publics, t), Ok(()));
        let direct = key.evaluate(INPUT);
        for subset in subsets(usize::from(n), usize::from(t)) {
            for order in [subset.clone(), subset.iter().rev().copied().collect()] {
                let (blind, blinded) = blind(INPUT, &mut rng);
                let partials = partials(order.iter().map(|&i| &shares[i]), &blinded, &mut rng);
                let combined = combine(&partials, &blinded, t).expect("honest partials");
                assert_eq!(blind.finalize(&combined), direct, "{t}-of-{n}, shares {order:?}");
            }
        }
    }
}

#[test]
fn extra_partials_are_checked_but_only_the_first_threshold_are_used() {
    let mut rng = rng(2);
    let (key, shares) = deal(3, 5, 2);
    let (blind, blinded) = blind(INPUT, &mut rng);
    let all = partials(&shares, &blinded, &mut rng);
    let combined = combine(&all, &blinded, 3).expect("honest partials");
    // A fourth partial with a valid proof for a share off the polynomial
    // (from another dealing) is verified but not interpolated.
    let (_, foreign) = deal(3, 5, 99);
    let mut with_foreign = all[..3].to_vec();
    with_foreign.extend(partials(&foreign[3..4], &blinded, &mut rng));
    assert_eq!(combine(&with_foreign, &blinded, 3), Ok(combined));
    // A bad fourth proof is still an error.
    with_foreign[3].1 = all[4].1;
    assert_eq!(combine(&with_foreign, &blinded, 3), Err(OprfError::BadProof { index: 4 }));
    assert_eq!(blind.finalize(&combined), key.evaluate(INPUT));
}

#[test]
fn a_wrong_share_or_a_tampered_partial_is_rejected_naming_its_index() {
    let mut rng = rng(3);
    let (_, shares) = deal(3, 5, 3);
    let (_, other) = deal(3, 5, 4);
    let (_, blinded) = blind(INPUT, &mut rng);
    let honest = partials(&shares[..3], &blinded, &mut rng);
    let rejected = |bad: Partial, at: usize| {
        let index = bad.0.index();
        assert_eq!(bad.0.verify(&blinded, &bad.1, &bad.2), Err(OprfError::BadProof { index }));
        let mut set = honest.clone();
        set[at] = bad;
        assert_eq!(combine(&set, &blinded, 3), Err(OprfError::BadProof { index }));
    };
    // Node 2 evaluates with a share that is not the one it published.
    let (z, proof) = other[1].evaluate(&blinded, &mut rng);
    rejected((shares[1].public(), z, proof), 1);
    // A tampered Z.
    let (share, z, proof) = honest[2];
    rejected((share, EvaluatedElement { point: z.point + RISTRETTO_BASEPOINT_POINT }, proof), 2);
    rejected((share, honest[0].1, proof), 2);
    // A tampered proof: either half.
    for byte in [0, 32] {
        let mut bytes = proof.to_bytes();
        bytes[byte] ^= 1;
        rejected((share, z, DleqProof::from_bytes(&bytes).expect("still canonical")), 2);
    }
    // A proof for another blinded element.
    let (_, elsewhere) = blind(INPUT, &mut rng);
    let (z2, proof2) = shares[2].evaluate(&elsewhere, &mut rng);
    rejected((share, z2, proof2), 2);
    rejected((share, z, proof2), 2);
}

#[test]
fn too_few_partials_a_zero_threshold_and_duplicate_indices_are_refused() {
    let mut rng = rng(5);
    let (_, shares) = deal(3, 5, 5);
    let (_, blinded) = blind(INPUT, &mut rng);
    let p = partials(&shares, &blinded, &mut rng);
    assert_eq!(combine(&p[..2], &blinded, 3), Err(OprfError::TooFewPartials { got: 2, threshold: 3 }));
    assert_eq!(combine(&[], &blinded, 3), Err(OprfError::TooFewPartials { got: 0, threshold: 3 }));
    assert_eq!(combine(&p, &blinded, 0), Err(OprfError::InvalidThreshold { threshold: 0, shares: 5 }));
    let dup = [p[0], p[1], p[0], p[2]];
    assert_eq!(combine(&dup, &blinded, 3), Err(OprfError::DuplicateIndex { index: 1 }));
    assert!(combine(&dup[1..], &blinded, 3).is_ok());
}

#[test]
fn fewer_shares_than_the_threshold_give_a_wrong_output() {
    let mut rng = rng(6);
    let (key, shares) = deal(3, 5, 6);
    for take in [1, 2] {
        let (blind, blinded) = blind(INPUT, &mut rng);
        let p = partials(&shares[..take], &blinded, &mut rng);
        let combined = combine(&p, &blinded, take as u8).expect("proofs are valid");
        assert_ne!(blind.finalize(&combined), key.evaluate(INPUT), "{take} shares");
    }
}

#[test]
fn blinding_is_fresh_each_time_but_the_output_is_not() {
    let mut rng = rng(7);
    let key = OprfKey::generate(&mut rng);
    let shares = key.split(1, 1, &mut rng).expect("1-of-1");
    let run = |rng: &mut StdRng| {
        let (blind, blinded) = blind(INPUT, rng);
        let p = partials(&shares, &blinded, rng);
        (blinded, blind.finalize(&combine(&p, &blinded, 1).expect("honest")))
    };
    let (b1, out1) = run(&mut rng);
    let (b2, out2) = run(&mut rng);
    assert_ne!(b1, b2);
    assert_ne!(b1.point, hash_to_group(INPUT));
    assert_eq!(out1, out2);
    assert_eq!(out1, key.evaluate(INPUT));
}

#[test]
fn different_inputs_or_keys_give_different_outputs() {
    let key = OprfKey::generate(&mut rng(8));
    let inputs: [&[u8]; 5] = [INPUT, b"00614141123452SER1123457", b"00614141123452SER2123456", b"", b"\0"];
    let outputs: std::collections::BTreeSet<OprfOutput> = inputs.iter().map(|i| key.evaluate(i)).collect();
    assert_eq!(outputs.len(), inputs.len());
    assert_ne!(key.evaluate(INPUT), OprfKey::generate(&mut rng(9)).evaluate(INPUT));
}

#[test]
fn hashes_and_proofs_follow_the_documented_encoding() {
    let mut rng = rng(10);
    let key = OprfKey::generate(&mut rng);
    let mut wide = [0u8; 64];
    blake3::Hasher::new_derive_key("veritrace.v1 oprf hash to group").update(INPUT).finalize_xof().fill(&mut wide);
    let h1 = RistrettoPoint::from_uniform_bytes(&wide);
    let secret = Scalar::from_canonical_bytes(key.to_bytes()).expect("canonical");
    let mut enc = (INPUT.len() as u64).to_le_bytes().to_vec();
    enc.extend_from_slice(INPUT);
    enc.extend_from_slice((secret * h1).compress().as_bytes());
    assert_eq!(key.evaluate(INPUT), OprfOutput(blake3::derive_key("veritrace.v1 oprf output", &enc)));

    let share = &key.split(1, 1, &mut rng).expect("1-of-1")[0];
    let (_, blinded) = blind(INPUT, &mut rng);
    let (z, proof) = share.evaluate(&blinded, &mut rng);
    let bytes = proof.to_bytes();
    let c = Scalar::from_canonical_bytes(bytes[..32].try_into().expect("32")).expect("canonical");
    let s = Scalar::from_canonical_bytes(bytes[32..].try_into().expect("32")).expect("canonical");
    let k_point = decode_point(&share.public().to_bytes()[1..].try_into().expect("32"), "K").expect("valid");
    let mut h = blake3::Hasher::new_derive_key("veritrace.v1 oprf dleq");
    let (g, b) = (RISTRETTO_BASEPOINT_POINT, blinded.point);
    for p in [g, k_point, b, z.point, s * g + c * k_point, s * b + c * z.point] {
        h.update(p.compress().as_bytes());
    }
    h.finalize_xof().fill(&mut wide);
    assert_eq!(Scalar::from_bytes_mod_order_wide(&wide), c);
}

#[test]
fn encodings_round_trip() {
    let mut rng = rng(11);
    let (key, shares) = deal(2, 3, 11);
    let back = OprfKey::from_bytes(&key.to_bytes()).expect("valid");
    assert_eq!(back.evaluate(INPUT), key.evaluate(INPUT));
    assert_eq!(PublicKey::from_bytes(&key.public().to_bytes()), Ok(key.public()));
    let share = KeyShare::from_bytes(&shares[1].to_bytes()).expect("valid");
    assert_eq!((share.index(), share.to_bytes()), (2, shares[1].to_bytes()));
    let public = PublicShare::from_bytes(&shares[1].public().to_bytes()).expect("valid");
    assert_eq!(public, shares[1].public());
    let (_, blinded) = blind(INPUT, &mut rng);
    let blinded = BlindedElement::from_bytes(&blinded.to_bytes()).expect("valid");
    let (z, proof) = share.evaluate(&blinded, &mut rng);
    let z = EvaluatedElement::from_bytes(&z.to_bytes()).expect("valid");
    let proof = DleqProof::from_bytes(&proof.to_bytes()).expect("valid");
    assert_eq!(public.verify(&blinded, &z, &proof), Ok(()));
}

#[test]
fn garbage_bytes_are_errors_not_panics() {
    let scalar = |what| OprfError::NonCanonicalScalar { what };
    assert_eq!(OprfKey::from_bytes(&[0xff; 32]).map(|_| ()), Err(scalar("OPRF key")));
    assert_eq!(OprfKey::from_bytes(&[0; 32]).map(|_| ()), Err(OprfError::ZeroScalar { what: "OPRF key" }));
    assert_eq!(PublicKey::from_bytes(&[0xff; 32]), Err(OprfError::InvalidPoint { what: "OPRF public key" }));
    assert_eq!(PublicKey::from_bytes(&[0; 32]), Err(OprfError::IdentityPoint { what: "OPRF public key" }));
    assert_eq!(BlindedElement::from_bytes(&[0; 32]), Err(OprfError::IdentityPoint { what: "blinded element" }));
    assert!(matches!(EvaluatedElement::from_bytes(&[0xff; 32]), Err(OprfError::InvalidPoint { .. })));
    assert_eq!(KeyShare::from_bytes(&[0; 33]).map(|_| ()), Err(OprfError::ZeroIndex));
    assert_eq!(PublicShare::from_bytes(&[0; 33]), Err(OprfError::ZeroIndex));
    assert_eq!(DleqProof::from_bytes(&[0xff; 64]), Err(scalar("DLEQ proof challenge")));
    let mut rng = rng(12);
    let (mut wide, mut narrow) = ([0u8; 64], [0u8; 33]);
    for _ in 0..2000 {
        rand::Rng::fill_bytes(&mut rng, &mut wide);
        rand::Rng::fill_bytes(&mut rng, &mut narrow);
        let body: [u8; 32] = narrow[1..].try_into().expect("32");
        if let Ok(p) = DleqProof::from_bytes(&wide) {
            assert_eq!(p.to_bytes(), wide);
        }
        if let Ok(p) = PublicShare::from_bytes(&narrow) {
            assert_eq!(p.to_bytes(), narrow);
        }
        let _ = (KeyShare::from_bytes(&narrow), OprfKey::from_bytes(&body), PublicKey::from_bytes(&body));
        let _ = (BlindedElement::from_bytes(&body), EvaluatedElement::from_bytes(&body));
    }
}

#[test]
fn invalid_dealings_are_refused() {
    let key = OprfKey::generate(&mut rng(13));
    for (t, n) in [(0u8, 3u8), (4, 3), (1, 0), (0, 0)] {
        let err = key.split(t, n, &mut rng(13)).map(|_| ());
        assert_eq!(err, Err(OprfError::InvalidThreshold { threshold: t, shares: usize::from(n) }));
    }
    let shares = key.split(255, 255, &mut rng(13)).expect("255-of-255");
    let publics: Vec<PublicShare> = shares.iter().map(KeyShare::public).collect();
    assert_eq!(check_shares(&key.public(), &publics, 255), Ok(()));
}

#[test]
fn check_shares_accepts_an_honest_dealing_and_names_an_altered_share() {
    let (key, shares) = deal(3, 5, 14);
    let (other, foreign) = deal(3, 5, 15);
    let honest: Vec<PublicShare> = shares.iter().map(KeyShare::public).collect();
    let pk = key.public();
    assert_eq!(check_shares(&pk, &honest, 3), Ok(()));
    let shuffled: Vec<PublicShare> = [4, 2, 0, 1, 3].iter().map(|&i| honest[i]).collect();
    assert_eq!(check_shares(&pk, &shuffled, 3), Ok(()));
    let mut altered = honest.clone();
    altered[3] = foreign[3].public();
    assert_eq!(check_shares(&pk, &altered, 3), Err(OprfError::ShareOffPolynomial { index: 4, threshold: 3 }));
    altered = honest.clone();
    altered[0] = foreign[0].public();
    assert_eq!(check_shares(&pk, &altered, 3), Err(OprfError::PublicKeyMismatch { threshold: 3 }));
    assert_eq!(check_shares(&other.public(), &honest, 3), Err(OprfError::PublicKeyMismatch { threshold: 3 }));
    let dup = [honest[0], honest[1], honest[2], honest[0]];
    assert_eq!(check_shares(&pk, &dup, 3), Err(OprfError::DuplicateIndex { index: 1 }));
    for t in [0, 6] {
        assert_eq!(check_shares(&pk, &honest, t), Err(OprfError::InvalidThreshold { threshold: t, shares: 5 }));
    }
}

#[test]
fn debug_does_not_print_secrets() {
    let (key, shares) = deal(2, 3, 16);
    let r = random_nonzero_scalar(&mut rng(17));
    let (blind, blinded) = blind(INPUT, &mut rng(17));
    assert_eq!(blinded.point, r * hash_to_group(INPUT), "same seed, same r");
    let cases = [
        (format!("{key:?} {key:#?}"), hex::encode(key.to_bytes())),
        (format!("{:?} {:#?}", shares[0], shares[0]), hex::encode(&shares[0].to_bytes()[1..])),
        (format!("{blind:?} {blind:#?}"), hex::encode(r.to_bytes())),
        (format!("{blind:?}"), hex::encode(INPUT)),
    ];
    for (printed, secret) in cases {
        assert!(!printed.contains(&secret), "{printed}");
        assert!(!printed.contains(std::str::from_utf8(INPUT).expect("ascii")), "{printed}");
    }
    assert!(format!("{:?}", shares[0]).contains("index: 1"));
}

#[test]
fn unblinded_checks_finalize_without_a_blind_and_remembered_coefficients_agree() {
    let (key, shares) = deal(2, 4, 9);
    let direct = key.evaluate(INPUT);
    // Each subset twice (and reversed): the second combination of a subset
    // uses the coefficients remembered from the first.
    for subset in subsets(4, 2).into_iter().chain(subsets(4, 2)) {
        for order in [subset.clone(), subset.iter().rev().copied().collect()] {
            let (blind, element) = unblinded(INPUT);
            let pairs: Vec<_> =
                order.iter().map(|&i| (shares[i].public(), shares[i].evaluate_unproved(&element))).collect();
            let combined = combine_unchecked(&pairs, 2).expect("two partials");
            assert_eq!(finalize_unblinded(INPUT, &combined), direct, "shares {order:?}");
            assert_eq!(blind.finalize(&combined), direct, "shares {order:?}");
        }
    }
}
