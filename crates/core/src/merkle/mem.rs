//! A complete in-memory tree, for tests, benches and clients.

use std::convert::Infallible;

use super::{Frontier, MerkleError, NodeId, NodeSource, leaf_hash};
use crate::Hash;

/// A complete in-memory tree storing every perfect node (for tests, benches
/// and clients); implements [`NodeSource`] with `Error = Infallible`.
///
/// The free functions ([`root_at`](super::root_at),
/// [`inclusion_proof`](super::inclusion_proof), ...) work on it directly for
/// sizes up to [`MemTree::size`]; the inherent methods of the same names
/// also check that bound and return an error instead.
#[derive(Clone, Debug, Default)]
pub struct MemTree {
    /// `levels[l][i]` is the hash of `NodeId { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf by its bytes (hashed with [`leaf_hash`]); returns its index.
    pub fn push(&mut self, leaf_bytes: &[u8]) -> u64 {
        self.push_hash(leaf_hash(leaf_bytes))
    }

    /// Appends an already hashed leaf; returns its index.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves (memory runs out long before).
    pub fn push_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.frontier.size();
        for (id, hash) in self.frontier.append(leaf) {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(hash);
        }
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Root of the whole tree ([`empty_root`](super::empty_root) when empty).
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The right edge of the whole tree.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The stored hash of a perfect node, if it is complete.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }

    fn check_size(&self, requested: u64) -> Result<(), MerkleError> {
        if requested > self.size() {
            return Err(MerkleError::SizeBeyondTree { requested, available: self.size() });
        }
        Ok(())
    }

    /// [`root_at`](super::root_at) of the first `size` leaves, failing with
    /// [`MerkleError::SizeBeyondTree`] if `size > self.size()`.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        super::root_at(self, size)
    }

    /// [`inclusion_proof`](super::inclusion_proof), failing with
    /// [`MerkleError::SizeBeyondTree`] if `tree_size > self.size()`.
    pub fn inclusion_proof(&self, leaf_index: u64, tree_size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(tree_size)?;
        super::inclusion_proof(self, leaf_index, tree_size)
    }

    /// [`consistency_proof`](super::consistency_proof), failing with
    /// [`MerkleError::SizeBeyondTree`] if `second_size > self.size()`.
    pub fn consistency_proof(&self, first_size: u64, second_size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(second_size)?;
        super::consistency_proof(self, first_size, second_size)
    }
}

impl NodeSource for MemTree {
    type Error = Infallible;

    /// # Panics
    ///
    /// If the node is not complete in this tree: only happens when a size
    /// beyond [`MemTree::size`] is passed to the free functions (the
    /// inherent methods check it).
    fn node(&self, id: NodeId) -> Result<Hash, Infallible> {
        match self.get(id) {
            Some(hash) => Ok(hash),
            None => panic!("MemTree of {} leaves has no node {id:?}", self.size()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_methods_refuse_sizes_beyond_the_tree() {
        let mut t = MemTree::new();
        assert_eq!(t.push(b"a"), 0);
        assert_eq!(t.push(b"b"), 1);
        assert_eq!(t.root_at(2), Ok(t.root()));
        assert_eq!(t.root_at(3), Err(MerkleError::SizeBeyondTree { requested: 3, available: 2 }));
        assert_eq!(t.inclusion_proof(0, 3), Err(MerkleError::SizeBeyondTree { requested: 3, available: 2 }));
        assert_eq!(t.consistency_proof(1, 3), Err(MerkleError::SizeBeyondTree { requested: 3, available: 2 }));
        assert_eq!(t.inclusion_proof(0, 2), Ok(vec![leaf_hash(b"b")]));
        assert_eq!(t.get(NodeId { level: 1, index: 0 }), Some(t.root()));
        assert_eq!(t.get(NodeId { level: 1, index: 1 }), None);
    }
}
