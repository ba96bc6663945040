//! Proof verification: RFC 9162 §2.1.3.2 and §2.1.4.2, storage-free.

use super::{MerkleError, node_hash};
use crate::Hash;

/// Number of hashes the RFC 9162 verification loop consumes from `(fn, sn)`
/// before `sn` reaches 0, which is the exact length a valid proof has.
fn path_len(mut fn_: u64, mut sn: u64) -> usize {
    let mut steps = 0;
    while sn != 0 {
        if fn_ & 1 == 0 && fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
        steps += 1;
    }
    steps
}

fn check_len(expected: usize, got: usize) -> Result<(), MerkleError> {
    if got < expected {
        Err(MerkleError::ProofTooShort { expected, got })
    } else if got > expected {
        Err(MerkleError::ProofTooLong { expected, got })
    } else {
        Ok(())
    }
}

/// Verifies that `leaf_hash` is leaf `leaf_index` of the tree of
/// `tree_size` leaves with root `root` (RFC 9162 §2.1.3.2).
///
/// Fails with [`MerkleError::LeafOutOfRange`], [`MerkleError::ProofTooShort`],
/// [`MerkleError::ProofTooLong`] or [`MerkleError::RootMismatch`]; never
/// panics. The tree size is not hashed into the root: it must come from the
/// same signed tree head as `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if leaf_index >= tree_size {
        return Err(MerkleError::LeafOutOfRange { leaf_index, tree_size });
    }
    let (mut fn_, mut sn) = (leaf_index, tree_size - 1);
    let expected = path_len(fn_, sn);
    check_len(expected, proof.len())?;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::ProofTooLong { expected, got: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `second_size` leaves with root `second_root`
/// extends the tree of `first_size` leaves with root `first_root`
/// (RFC 9162 §2.1.4.2).
///
/// `first_size == second_size` needs the empty proof and equal roots.
/// Fails with [`MerkleError::InvalidSizes`] unless
/// `1 <= first_size <= second_size`, and with [`MerkleError::ProofTooShort`],
/// [`MerkleError::ProofTooLong`] or [`MerkleError::RootMismatch`]; never
/// panics.
pub fn verify_consistency(
    first_size: u64,
    second_size: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if first_size == 0 || first_size > second_size {
        return Err(MerkleError::InvalidSizes { first: first_size, second: second_size });
    }
    if first_size == second_size {
        check_len(0, proof.len())?;
        return if first_root == second_root { Ok(()) } else { Err(MerkleError::RootMismatch) };
    }
    let (mut fn_, mut sn) = (first_size - 1, second_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // A power-of-two first tree is itself a node of the second: its root
    // starts the walk instead of a proof hash.
    let seeded = first_size.is_power_of_two();
    let expected = usize::from(!seeded) + path_len(fn_, sn);
    check_len(expected, proof.len())?;
    let (first, rest) = match (seeded, proof.split_first()) {
        (true, _) => (first_root, proof),
        (false, Some((first, rest))) => (first, rest),
        (false, None) => {
            return Err(MerkleError::ProofTooShort { expected: 1, got: 0 });
        }
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(MerkleError::ProofTooLong { expected, got: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || fr != *first_root || sr != *second_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn rejects_bad_sizes_without_panicking() {
        let h = leaf_hash(b"x");
        assert_eq!(
            verify_inclusion(&h, 5, 5, &[], &h),
            Err(MerkleError::LeafOutOfRange { leaf_index: 5, tree_size: 5 })
        );
        assert_eq!(
            verify_inclusion(&h, 0, 0, &[], &h),
            Err(MerkleError::LeafOutOfRange { leaf_index: 0, tree_size: 0 })
        );
        assert!(verify_inclusion(&h, u64::MAX, u64::MAX, &[h], &h).is_err());
        assert_eq!(
            verify_inclusion(&h, u64::MAX - 1, u64::MAX, &[], &h),
            Err(MerkleError::ProofTooShort { expected: 63, got: 0 })
        );
        assert_eq!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &[h; 63], &h), Err(MerkleError::RootMismatch));
        assert_eq!(verify_consistency(0, 1, &h, &h, &[]), Err(MerkleError::InvalidSizes { first: 0, second: 1 }));
        assert_eq!(verify_consistency(2, 1, &h, &h, &[h]), Err(MerkleError::InvalidSizes { first: 2, second: 1 }));
        assert_eq!(verify_consistency(3, 3, &h, &h, &[]), Ok(()));
        assert_eq!(verify_consistency(3, 3, &h, &h, &[h]), Err(MerkleError::ProofTooLong { expected: 0, got: 1 }));
        assert_eq!(verify_consistency(3, 3, &h, &empty(), &[]), Err(MerkleError::RootMismatch));
        assert!(matches!(verify_consistency(1, 2, &h, &h, &[]), Err(MerkleError::ProofTooShort { .. })));
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &[h; 3]).is_err());
        assert!(verify_consistency(1, u64::MAX, &h, &h, &[h; 64]).is_err());
        assert!(verify_consistency(u64::MAX, u64::MAX, &h, &h, &[]).is_ok());
    }

    fn empty() -> Hash {
        crate::merkle::empty_root()
    }

    #[test]
    fn single_leaf_tree() {
        let h = leaf_hash(b"only");
        assert_eq!(verify_inclusion(&h, 0, 1, &[], &h), Ok(()));
        assert_eq!(verify_inclusion(&h, 0, 1, &[h], &h), Err(MerkleError::ProofTooLong { expected: 0, got: 1 }));
    }
}
