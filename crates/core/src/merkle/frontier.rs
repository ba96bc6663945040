//! The right edge of the growing tree: appends and the current root.

use super::{MerkleError, NodeId, NodeSource, empty_root, node_hash};
use crate::Hash;

/// Right edge (compact range) of an append-only tree: the peaks of its
/// perfect subtrees, largest (leftmost) first.
///
/// A tree of `size` leaves decomposes into one perfect subtree per set bit
/// of `size` (see [`peak_ids`]); their hashes are all that is needed to
/// append and to compute the root, so a node can restart from the peaks
/// alone ([`Frontier::from_peaks`], [`Frontier::load`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its size and peak hashes (largest first).
    ///
    /// Fails with [`MerkleError::InvalidFrontier`] unless there is exactly
    /// one peak per set bit of `size`.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if peaks.len() != expected {
            return Err(MerkleError::InvalidFrontier { size, expected, got: peaks.len() });
        }
        Ok(Frontier { size, peaks })
    }

    /// Reads the peaks of the first `size` leaves from `src`
    /// (`size.count_ones()` reads).
    pub fn load<S: NodeSource>(src: &S, size: u64) -> Result<Self, MerkleError<S::Error>> {
        let peaks = peak_ids(size)
            .into_iter()
            .map(|id| src.node(id).map_err(MerkleError::Source))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Frontier { size, peaks })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Hashes of the perfect subtrees decomposing the tree, largest
    /// (leftmost) first; their ids are [`peak_ids`]`(self.size())`.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash; returns every node this append completes, the
    /// leaf itself (level 0) first, each with its [`NodeId`], for the caller
    /// to persist.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves (see
    /// [`Frontier::try_append`]).
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        self.try_append(leaf).expect("a Merkle tree holds at most u64::MAX leaves")
    }

    /// [`Frontier::append`], failing with [`MerkleError::TreeFull`] instead
    /// of panicking when the tree already holds `u64::MAX` leaves.
    pub fn try_append(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
        let old = self.size;
        let new_size = old.checked_add(1).ok_or(MerkleError::TreeFull)?;
        // One node per trailing one bit of `old` gets completed, plus the leaf.
        let mut done = Vec::with_capacity(old.trailing_ones() as usize + 1);
        let mut id = NodeId::leaf(old);
        let mut hash = leaf;
        done.push((id, hash));
        while (old >> id.level) & 1 == 1 {
            // The peak at this level is the left sibling of `hash`: merge.
            let left = self.peaks.pop().expect("one peak per set bit of the size");
            hash = node_hash(&left, &hash);
            id = NodeId { level: id.level + 1, index: id.index >> 1 };
            done.push((id, hash));
        }
        self.peaks.push(hash);
        self.size = new_size;
        Ok(done)
    }

    /// RFC 9162 `MTH` of the whole tree; [`empty_root`] for size 0.
    pub fn root(&self) -> Hash {
        fold_right(&self.peaks)
    }
}

/// Right fold of a perfect decomposition: `node_hash(p0, node_hash(p1, ...))`.
pub(super) fn fold_right(peaks: &[Hash]) -> Hash {
    let mut iter = peaks.iter().rev();
    match iter.next() {
        None => empty_root(),
        Some(last) => iter.fold(*last, |acc, peak| node_hash(peak, &acc)),
    }
}

/// The perfect subtrees decomposing leaves `[start, start + len)`, leftmost
/// (largest) first. `start` must be a multiple of the largest one, which
/// holds for every node of the RFC 9162 shape.
pub(super) fn decompose(start: u64, len: u64) -> impl Iterator<Item = NodeId> {
    let mut offset = start;
    (0..64u8).rev().filter(move |&level| (len >> level) & 1 == 1).map(move |level| {
        let id = NodeId { level, index: offset >> level };
        offset = offset.wrapping_add(1 << level);
        id
    })
}

/// NodeIds of the perfect decomposition of `size`, leftmost first: one per
/// set bit, the peaks a [`Frontier`] of that size holds.
pub fn peak_ids(size: u64) -> Vec<NodeId> {
    decompose(0, size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn peak_ids_decompose_size() {
        assert!(peak_ids(0).is_empty());
        assert_eq!(
            peak_ids(13),
            vec![NodeId { level: 3, index: 0 }, NodeId { level: 2, index: 2 }, NodeId { level: 0, index: 12 }]
        );
        let max = peak_ids(u64::MAX);
        assert_eq!(max.len(), 64);
        assert_eq!(max.first(), Some(&NodeId { level: 63, index: 0 }));
        assert_eq!(max.last(), Some(&NodeId::leaf(u64::MAX - 1)));
        assert!(max.iter().all(|id| id.is_complete_in(u64::MAX)));
    }

    #[test]
    fn append_reports_completed_nodes() {
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        let l: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(f.append(l[0]), vec![(NodeId::leaf(0), l[0])]);
        assert_eq!(f.root(), l[0]);
        let n01 = node_hash(&l[0], &l[1]);
        assert_eq!(f.append(l[1]), vec![(NodeId::leaf(1), l[1]), (NodeId { level: 1, index: 0 }, n01)]);
        assert_eq!(f.append(l[2]), vec![(NodeId::leaf(2), l[2])]);
        assert_eq!(f.root(), node_hash(&n01, &l[2]));
        let n23 = node_hash(&l[2], &l[3]);
        let n03 = node_hash(&n01, &n23);
        assert_eq!(
            f.append(l[3]),
            vec![(NodeId::leaf(3), l[3]), (NodeId { level: 1, index: 1 }, n23), (NodeId { level: 2, index: 0 }, n03)]
        );
        assert_eq!(f.peaks(), &[n03]);
        assert_eq!(f.root(), n03);
    }

    #[test]
    fn from_peaks_checks_count_and_full_tree() {
        let h = leaf_hash(b"x");
        assert_eq!(
            Frontier::from_peaks(3, vec![h]),
            Err(MerkleError::InvalidFrontier { size: 3, expected: 2, got: 1 })
        );
        assert_eq!(Frontier::from_peaks(0, vec![]), Ok(Frontier::new()));
        let mut full = Frontier::from_peaks(u64::MAX, vec![h; 64]).expect("64 peaks");
        assert_eq!(full.try_append(h), Err(MerkleError::TreeFull));
        assert_eq!(full.size(), u64::MAX);
    }
}
