//! Roots and proofs for any past tree size, from stored perfect nodes.
//!
//! Every function walks the RFC 9162 recursion top-down without recursing:
//! the left child of a range is always perfect (one read), and the only
//! non-perfect sibling a walk can meet is the right-edge node where it first
//! turns left, whose hash is the right fold of its perfect decomposition
//! (at most 64 reads). Hence `O(log n)` reads, all of nodes complete at the
//! requested size.

use super::frontier::{decompose, fold_right};
use super::{MerkleError, NodeId, NodeSource, empty_root};
use crate::Hash;

fn read<S: NodeSource>(src: &S, id: NodeId) -> Result<Hash, MerkleError<S::Error>> {
    src.node(id).map_err(MerkleError::Source)
}

/// `MTH(D[start : start + len])` for a range of the RFC 9162 shape
/// (`len >= 1`, `start` aligned to the largest power of two `<= len`).
fn subtree_root<S: NodeSource>(src: &S, start: u64, len: u64) -> Result<Hash, MerkleError<S::Error>> {
    if len.is_power_of_two() {
        return read(src, NodeId { level: len.trailing_zeros() as u8, index: start >> len.trailing_zeros() });
    }
    let peaks = decompose(start, len).map(|id| read(src, id)).collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right(&peaks))
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 9162's `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Root (RFC 9162 `MTH`) of the first `size` leaves, from stored perfect
/// nodes: `size.count_ones()` reads, none for size 0 ([`empty_root`]).
pub fn root_at<S: NodeSource>(src: &S, size: u64) -> Result<Hash, MerkleError<S::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_root(src, 0, size)
}

/// Inclusion proof of leaf `leaf_index` in the tree of the first
/// `tree_size` leaves: RFC 9162 §2.1.3.1 `PATH(m, D[n])`, sibling hashes
/// from the leaf up. Check it with [`verify_inclusion`](super::verify_inclusion).
///
/// Fails with [`MerkleError::LeafOutOfRange`] if `leaf_index >= tree_size`.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if leaf_index >= tree_size {
        return Err(MerkleError::LeafOutOfRange { leaf_index, tree_size });
    }
    // Siblings collected root-down, reversed at the end.
    let mut proof = Vec::with_capacity(64);
    let (mut start, mut len) = (0u64, tree_size);
    while len > 1 {
        let k = split_point(len);
        if leaf_index - start < k {
            proof.push(subtree_root(src, start + k, len - k)?);
            len = k;
        } else {
            proof.push(subtree_root(src, start, k)?);
            start += k;
            len -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Consistency proof between the trees of the first `first_size` and
/// `second_size` leaves: RFC 9162 §2.1.4.1 `PROOF(m, D[n])`. Check it with
/// [`verify_consistency`](super::verify_consistency).
///
/// `first_size == second_size` gives the empty proof; fails with
/// [`MerkleError::InvalidSizes`] unless `1 <= first_size <= second_size`.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    first_size: u64,
    second_size: u64,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if first_size == 0 || first_size > second_size {
        return Err(MerkleError::InvalidSizes { first: first_size, second: second_size });
    }
    // SUBPROOF(m, D[start : start + len], whole) unrolled; `m` is relative
    // to `start`. Hashes collected root-down, reversed at the end.
    let mut proof = Vec::with_capacity(64);
    let (mut start, mut len, mut m, mut whole) = (0u64, second_size, first_size, true);
    while m < len {
        let k = split_point(len);
        if m <= k {
            proof.push(subtree_root(src, start + k, len - k)?);
            len = k;
        } else {
            proof.push(subtree_root(src, start, k)?);
            start += k;
            len -= k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        // m == len: the node [start, first_size) is complete in both trees.
        proof.push(subtree_root(src, start, len)?);
    }
    proof.reverse();
    Ok(proof)
}
