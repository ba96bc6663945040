//! Merkle proofs against a naive RFC 9162 reference, property tests and
//! mutation tests.

use std::sync::OnceLock;

use proptest::prelude::*;
use veritrace_core::Hash;
use veritrace_core::merkle::{
    Frontier, MemTree, MerkleError, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root_at,
    verify_consistency, verify_inclusion,
};

/// Largest tree the property tests use.
const MAX: u64 = 2000;

// ---- RFC 9162 §2.1 pseudo-code, verbatim, over a slice of leaf hashes ----

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
    ref_subproof(m, d, true)
}

// ---- shared fixture: one tree of MAX leaves, every size is a prefix ----

struct Fixture {
    leaves: Vec<Hash>,
    tree: MemTree,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut tree = MemTree::new();
        let leaves: Vec<Hash> = (0..MAX).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
        for leaf in &leaves {
            tree.push_hash(*leaf);
        }
        Fixture { leaves, tree }
    })
}

fn root(n: u64) -> Hash {
    root_at(&fixture().tree, n).expect("in range")
}

fn leaf(i: u64) -> Hash {
    fixture().leaves[i as usize]
}

// ---- known answers ----

#[test]
fn known_answers_against_reference_for_small_trees() {
    let f = fixture();
    for n in 0..=70u64 {
        let d = &f.leaves[..n as usize];
        let r = ref_mth(d);
        assert_eq!(root(n), r, "root {n}");
        let mut frontier = Frontier::new();
        for l in d {
            frontier.append(*l);
        }
        assert_eq!(frontier.root(), r, "frontier root {n}");
        for m in 0..n {
            let p = inclusion_proof(&f.tree, m, n).expect("in range");
            assert_eq!(p, ref_path(m as usize, d), "PATH({m}, {n})");
            assert_eq!(verify_inclusion(&leaf(m), m, n, &p, &r), Ok(()), "verify PATH({m}, {n})");
        }
        for m in 1..=n {
            let p = consistency_proof(&f.tree, m, n).expect("in range");
            assert_eq!(p, ref_proof(m as usize, d), "PROOF({m}, {n})");
            assert_eq!(verify_consistency(m, n, &root(m), &r, &p), Ok(()), "verify PROOF({m}, {n})");
        }
    }
}

#[test]
fn fixed_vectors() {
    // Pinned so an accidental change of hashing or shape is caught.
    let mut t = MemTree::new();
    assert_eq!(t.root().to_hex(), blake3::hash(b"").to_hex().as_str());
    for i in 0..7u8 {
        t.push(&[i]);
    }
    let l: Vec<Hash> = (0..7u8).map(|i| leaf_hash(&[i])).collect();
    let n01 = node_hash(&l[0], &l[1]);
    let n23 = node_hash(&l[2], &l[3]);
    let n45 = node_hash(&l[4], &l[5]);
    let n03 = node_hash(&n01, &n23);
    let n46 = node_hash(&n45, &l[6]);
    assert_eq!(t.root(), node_hash(&n03, &n46));
    // RFC 9162 §2.1.5 example shapes: PATH(3, 7) = [c, g, l], PROOF(3, 7) = [c, d, g, l].
    assert_eq!(t.inclusion_proof(3, 7), Ok(vec![l[2], n01, n46]));
    assert_eq!(t.consistency_proof(3, 7), Ok(vec![l[2], l[3], n01, n46]));
    assert_eq!(t.consistency_proof(4, 7), Ok(vec![n46]));
    assert_eq!(t.consistency_proof(6, 7), Ok(vec![n45, l[6], n03]));
    assert_eq!(t.inclusion_proof(6, 7), Ok(vec![n45, n03]));
}

// ---- property tests ----

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|n| (Just(n), 0..n))
}

fn size_pair() -> impl Strategy<Value = (u64, u64)> {
    (1..=MAX).prop_flat_map(|n| (1..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn roots_agree((n, _) in size_and_index()) {
        let f = fixture();
        let mut frontier = Frontier::new();
        for l in &f.leaves[..n as usize] {
            frontier.append(*l);
        }
        let reference = ref_mth(&f.leaves[..n as usize]);
        prop_assert_eq!(frontier.root(), reference);
        prop_assert_eq!(root(n), reference);
    }

    #[test]
    fn inclusion_proofs_verify((n, i) in size_and_index()) {
        let f = fixture();
        let p = inclusion_proof(&f.tree, i, n).expect("in range");
        prop_assert_eq!(&p, &ref_path(i as usize, &f.leaves[..n as usize]));
        prop_assert_eq!(verify_inclusion(&leaf(i), i, n, &p, &root(n)), Ok(()));
    }

    #[test]
    fn consistency_proofs_verify((m, n) in size_pair()) {
        let f = fixture();
        let p = consistency_proof(&f.tree, m, n).expect("in range");
        prop_assert_eq!(&p, &ref_proof(m as usize, &f.leaves[..n as usize]));
        prop_assert_eq!(verify_consistency(m, n, &root(m), &root(n), &p), Ok(()));
    }
}

// ---- mutation tests ----

/// Every single-bit flip, truncation and extension of `proof` is rejected by `verify`.
fn assert_mutations_fail(proof: &[Hash], verify: impl Fn(&[Hash]) -> Result<(), MerkleError>) {
    assert_eq!(verify(proof), Ok(()));
    let mut mutated = proof.to_vec();
    for h in 0..proof.len() {
        for bit in 0..256 {
            mutated[h].0[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(verify(&mutated), Err(MerkleError::RootMismatch), "hash {h} bit {bit}");
            mutated[h].0[bit / 8] ^= 1 << (bit % 8);
        }
    }
    for len in 0..proof.len() {
        assert!(verify(&proof[..len]).is_err(), "truncated to {len}");
    }
    for extra in [Hash::default(), leaf_hash(b"extra"), proof.last().copied().unwrap_or_default()] {
        let mut longer = proof.to_vec();
        longer.push(extra);
        assert!(verify(&longer).is_err(), "extended at end");
        longer.pop();
        longer.insert(0, extra);
        assert!(verify(&longer).is_err(), "extended at start");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn inclusion_mutations_fail((n, i) in size_and_index(), other in 1..=MAX) {
        let f = fixture();
        let p = inclusion_proof(&f.tree, i, n).expect("in range");
        let r = root(n);
        assert_mutations_fail(&p, |p| verify_inclusion(&leaf(i), i, n, p, &r));
        // Wrong leaf, wrong index, wrong root.
        let wrong_leaf = leaf_hash(b"not a leaf");
        prop_assert!(verify_inclusion(&wrong_leaf, i, n, &p, &r).is_err());
        for j in [i.wrapping_sub(1), i + 1, i ^ 1, i ^ 2, u64::MAX] {
            if j != i {
                prop_assert!(verify_inclusion(&leaf(i), j, n, &p, &r).is_err(), "index {}", j);
            }
        }
        prop_assert!(verify_inclusion(&leaf(i), i, n, &p, &empty_root()).is_err());
        // A tree head of another size (size and root together) rejects the proof.
        for n2 in [n - 1, n + 1, other] {
            if n2 != n && i < n2 && n2 <= MAX {
                prop_assert!(verify_inclusion(&leaf(i), i, n2, &p, &root(n2)).is_err(), "size {}", n2);
            }
        }
        prop_assert!(verify_inclusion(&leaf(i), i, u64::MAX, &p, &r).is_err());
    }

    #[test]
    fn consistency_mutations_fail((m, n) in size_pair(), other in 1..=MAX) {
        prop_assume!(m < n);
        let f = fixture();
        let p = consistency_proof(&f.tree, m, n).expect("in range");
        let (rm, rn) = (root(m), root(n));
        assert_mutations_fail(&p, |p| verify_consistency(m, n, &rm, &rn, p));
        prop_assert!(verify_consistency(m, n, &rn, &rm, &p).is_err());
        prop_assert!(verify_consistency(m, n, &rm, &rm, &p).is_err());
        prop_assert!(verify_consistency(m, n, &rn, &rn, &p).is_err());
        prop_assert_eq!(
            verify_consistency(n, m, &rn, &rm, &p),
            Err(MerkleError::InvalidSizes { first: n, second: m })
        );
        prop_assert_eq!(
            verify_consistency(0, n, &rm, &rn, &p),
            Err(MerkleError::InvalidSizes { first: 0, second: n })
        );
        // Tree heads of other sizes (size and root together) reject the proof.
        for m2 in [m - 1, m + 1, other] {
            if m2 != m && m2 >= 1 && m2 <= n {
                let r2 = root(m2);
                prop_assert!(verify_consistency(m2, n, &r2, &rn, &p).is_err(), "first size {}", m2);
            }
        }
        for n2 in [n - 1, n + 1, other] {
            if n2 != n && n2 >= m && n2 <= MAX {
                let r2 = root(n2);
                prop_assert!(verify_consistency(m, n2, &rm, &r2, &p).is_err(), "second size {}", n2);
            }
        }
        prop_assert!(verify_consistency(m, u64::MAX, &rm, &rn, &p).is_err());
    }
}

#[test]
fn equal_sizes_need_empty_proof_and_equal_roots() {
    let f = fixture();
    for n in [1, 2, 3, 1024, MAX] {
        assert_eq!(consistency_proof(&f.tree, n, n), Ok(vec![]));
        assert_eq!(verify_consistency(n, n, &root(n), &root(n), &[]), Ok(()));
        assert_eq!(verify_consistency(n, n, &root(n), &root(n - 1), &[]), Err(MerkleError::RootMismatch));
        assert!(verify_consistency(n, n, &root(n), &root(n), &[root(n)]).is_err());
    }
}

#[test]
fn generation_rejects_bad_arguments() {
    let f = fixture();
    assert_eq!(inclusion_proof(&f.tree, 5, 5), Err(MerkleError::LeafOutOfRange { leaf_index: 5, tree_size: 5 }));
    assert_eq!(inclusion_proof(&f.tree, 0, 0), Err(MerkleError::LeafOutOfRange { leaf_index: 0, tree_size: 0 }));
    assert_eq!(consistency_proof(&f.tree, 0, 5), Err(MerkleError::InvalidSizes { first: 0, second: 5 }));
    assert_eq!(consistency_proof(&f.tree, 6, 5), Err(MerkleError::InvalidSizes { first: 6, second: 5 }));
    assert_eq!(root_at(&f.tree, 0), Ok(empty_root()));
}
