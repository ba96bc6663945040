//! How proofs read storage: O(log n) reads of complete nodes only, source
//! errors surfaced, no overflow at u64::MAX sizes.

use std::cell::Cell;
use std::collections::HashMap;

use veritrace_core::Hash;
use veritrace_core::merkle::{
    Frontier, MerkleError, MissingNode, NodeId, NodeSource, consistency_proof, inclusion_proof, leaf_hash, node_hash,
    peak_ids, root_at, verify_consistency, verify_inclusion,
};

/// Wraps a source, counting reads and checking each is complete at `size`.
struct Counting<S> {
    inner: S,
    size: Cell<u64>,
    reads: Cell<usize>,
    max_reads: Cell<usize>,
}

impl<S> Counting<S> {
    fn new(inner: S) -> Self {
        Counting { inner, size: Cell::new(0), reads: Cell::new(0), max_reads: Cell::new(0) }
    }

    /// Resets the counter for a call at tree size `size`.
    fn at(&self, size: u64) -> &Self {
        self.size.set(size);
        self.reads.set(0);
        self
    }

    fn reads(&self) -> usize {
        let r = self.reads.get();
        self.max_reads.set(self.max_reads.get().max(r));
        r
    }
}

impl<S: NodeSource> NodeSource for Counting<S> {
    type Error = S::Error;

    fn node(&self, id: NodeId) -> Result<Hash, S::Error> {
        assert!(id.is_complete_in(self.size.get()), "read {id:?}, not complete at size {}", self.size.get());
        self.reads.set(self.reads.get() + 1);
        self.inner.node(id)
    }
}

/// Builds a tree of `n` leaves with a [`Frontier`] into a HashMap.
fn build(n: u64) -> (HashMap<NodeId, Hash>, Frontier) {
    let mut map = HashMap::with_capacity(2 * n as usize);
    let mut f = Frontier::new();
    for i in 0..n {
        map.extend(f.append(leaf_hash(&i.to_le_bytes())));
    }
    (map, f)
}

#[test]
fn reads_are_logarithmic_at_a_million_leaves() {
    let n: u64 = (1 << 20) + 12345;
    let (map, frontier) = build(n);
    let src = Counting::new(map);
    let root = root_at(src.at(n), n).expect("stored");
    assert_eq!(root, frontier.root());
    assert_eq!(src.reads(), n.count_ones() as usize);
    assert_eq!(Frontier::load(src.at(n), n).expect("stored"), frontier);

    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |bound: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % bound
    };
    for _ in 0..200 {
        let i = next(n);
        let p = inclusion_proof(src.at(n), i, n).expect("stored");
        assert!(src.reads() <= 2 * 21, "inclusion {i}: {} reads", src.reads());
        let leaf = src.inner.node(NodeId::leaf(i)).expect("stored");
        assert_eq!(verify_inclusion(&leaf, i, n, &p, &root), Ok(()));

        let m = 1 + next(n);
        let p = consistency_proof(src.at(n), m, n).expect("stored");
        assert!(src.reads() <= 2 * 21 + 1, "consistency {m}: {} reads", src.reads());
        let first_root = root_at(src.at(m), m).expect("stored");
        assert_eq!(verify_consistency(m, n, &first_root, &root, &p), Ok(()));

        // Past sizes read only nodes complete at that size.
        let p = inclusion_proof(src.at(m), m - 1, m).expect("stored");
        assert_eq!(verify_inclusion(&leaf_hash(&(m - 1).to_le_bytes()), m - 1, m, &p, &first_root), Ok(()));
    }
    assert!(src.max_reads.get() <= 3 * 64);
}

/// A virtual tree of any size whose leaves all hash to the same value, so
/// the perfect node of each level is known without storing anything.
struct Uniform {
    by_level: Vec<Hash>,
}

impl Uniform {
    fn new() -> Self {
        let mut by_level = vec![leaf_hash(b"same")];
        for l in 0..63 {
            let h = by_level[l];
            by_level.push(node_hash(&h, &h));
        }
        Uniform { by_level }
    }
}

impl NodeSource for Uniform {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.by_level.get(usize::from(id.level)).copied().ok_or(MissingNode(id))
    }
}

#[test]
fn huge_sizes_do_not_overflow() {
    let src = Counting::new(Uniform::new());
    let leaf = leaf_hash(b"same");
    for n in [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) + 1, (1 << 63) - 1] {
        let root = root_at(src.at(n), n).expect("virtual");
        assert_eq!(src.reads(), n.count_ones() as usize);
        let peaks = peak_ids(n).iter().map(|id| src.inner.by_level[usize::from(id.level)]).collect();
        assert_eq!(Frontier::from_peaks(n, peaks).expect("count").root(), root);
        for i in [0, 1, n / 2, n - 2, n - 1] {
            let p = inclusion_proof(src.at(n), i, n).expect("virtual");
            assert!(src.reads() <= 3 * 64);
            assert_eq!(verify_inclusion(&leaf, i, n, &p, &root), Ok(()), "inclusion {i} in {n}");
        }
        for m in [1, 2, 3, n / 2, n - 2, n - 1, n] {
            let p = consistency_proof(src.at(n), m, n).expect("virtual");
            assert!(src.reads() <= 3 * 64);
            let first_root = root_at(src.at(m), m).expect("virtual");
            assert_eq!(verify_consistency(m, n, &first_root, &root, &p), Ok(()), "consistency {m} -> {n}");
        }
    }
}

/// Fails every read.
struct Broken;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Disk(&'static str);

impl NodeSource for Broken {
    type Error = Disk;

    fn node(&self, _: NodeId) -> Result<Hash, Disk> {
        Err(Disk("io error"))
    }
}

#[test]
fn source_errors_are_reported() {
    let err = MerkleError::Source(Disk("io error"));
    assert_eq!(root_at(&Broken, 5), Err(err.clone()));
    assert_eq!(inclusion_proof(&Broken, 1, 5), Err(err.clone()));
    assert_eq!(consistency_proof(&Broken, 2, 5), Err(err.clone()));
    assert_eq!(Frontier::load(&Broken, 5), Err(err));
    // Argument errors come before any read; trivial answers need none.
    assert_eq!(inclusion_proof(&Broken, 5, 5), Err(MerkleError::LeafOutOfRange { leaf_index: 5, tree_size: 5 }));
    assert_eq!(consistency_proof(&Broken, 5, 5), Ok(vec![]));
    assert_eq!(inclusion_proof(&Broken, 0, 1), Ok(vec![]));
    assert_eq!(root_at(&Broken, 0), Ok(veritrace_core::merkle::empty_root()));

    // A map missing a node names it.
    let (mut map, _) = build(6);
    map.remove(&NodeId { level: 1, index: 2 });
    assert_eq!(root_at(&map, 6), Err(MerkleError::Source(MissingNode(NodeId { level: 1, index: 2 }))));
    assert!(root_at(&map, 4).is_ok());
    let e: MerkleError<String> = MerkleError::RootMismatch.widen();
    assert_eq!(e, MerkleError::RootMismatch);
}
