//! Placeholder: the Merkle tree lands here.
