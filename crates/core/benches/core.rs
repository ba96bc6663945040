//! Benchmarks of veritrace-core, one function per criterion group.
//!
//! Run with `cargo bench -p veritrace-core --bench core`; add
//! `-- --test` to run each benchmark once as a smoke test. To add a group,
//! write one `fn(&mut Criterion)` and list it in `criterion_group!` below.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use veritrace_core::keys::verify_batch;
use veritrace_core::merkle::{Frontier, MemTree, consistency_proof, inclusion_proof, leaf_hash, verify_inclusion};
use veritrace_core::{Envelope, Hash, SecretKey, SigningContext};

/// Leaves in the tree the proof benchmarks run against.
const TREE_SIZE: u64 = 1_000_000;

/// Deterministic xorshift positions, so runs are comparable.
struct Positions(u64);

impl Positions {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn build_tree(size: u64) -> MemTree {
    let mut tree = MemTree::new();
    for i in 0..size {
        tree.push(&i.to_le_bytes());
    }
    tree
}

/// Group "merkle": appends, proof generation and verification at 1M leaves.
fn merkle(c: &mut Criterion) {
    let tree = build_tree(TREE_SIZE);
    let root = tree.root();
    let mut group = c.benchmark_group("merkle");
    group.throughput(Throughput::Elements(1));

    group.bench_function("frontier_append", |b| {
        let mut frontier: Frontier = tree.frontier().clone();
        let leaf = leaf_hash(b"bench leaf");
        b.iter(|| black_box(frontier.append(black_box(leaf))));
    });

    group.bench_function("inclusion_proof_1m", |b| {
        let mut pos = Positions(0x9e37_79b9_7f4a_7c15);
        b.iter(|| {
            let i = pos.next_below(TREE_SIZE);
            black_box(inclusion_proof(&tree, black_box(i), TREE_SIZE))
        });
    });

    group.bench_function("consistency_proof_1m", |b| {
        let mut pos = Positions(0x2545_f491_4f6c_dd1d);
        b.iter(|| {
            let m = 1 + pos.next_below(TREE_SIZE);
            black_box(consistency_proof(&tree, black_box(m), TREE_SIZE))
        });
    });

    // A fixed set of proofs cycled through, so generation is not timed.
    let mut pos = Positions(0x1234_5678_9abc_def1);
    let cases: Vec<(u64, Hash, Vec<Hash>)> = (0..256)
        .map(|_| {
            let i = pos.next_below(TREE_SIZE);
            let leaf = leaf_hash(&i.to_le_bytes());
            let proof = tree.inclusion_proof(i, TREE_SIZE).expect("index below size");
            (i, leaf, proof)
        })
        .collect();
    for (i, leaf, proof) in &cases {
        assert!(verify_inclusion(leaf, *i, TREE_SIZE, proof, &root).is_ok(), "proof of leaf {i}");
    }
    group.bench_function("verify_inclusion_1m", |b| {
        let mut next = cases.iter().cycle();
        b.iter(|| {
            let (i, leaf, proof) = next.next().expect("cycle of a non-empty list");
            black_box(verify_inclusion(leaf, *i, TREE_SIZE, proof, &root))
        });
    });

    group.finish();
}

/// Group "signatures": one transaction signature made, checked alone (the
/// cofactored rule), and checked in batches of 64 (per signature) from 64
/// signers and from one, over 256-byte payloads; plus ed25519-dalek's
/// `verify_strict`, the rule before 0.5.0, for comparison.
fn signatures(c: &mut Criterion) {
    let keys: Vec<SecretKey> = (0..64).map(|i| SecretKey::from_seed_label(&format!("bench/{i}"))).collect();
    let payloads: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 256]).collect();
    let sigs: Vec<[u8; 64]> = keys.iter().zip(&payloads).map(|(k, p)| k.sign(SigningContext::Transaction, p)).collect();
    let pubs: Vec<_> = keys.iter().map(SecretKey::public).collect();
    let mut group = c.benchmark_group("signatures");
    group.throughput(Throughput::Elements(1));
    group
        .bench_function("sign_256b", |b| b.iter(|| black_box(keys[0].sign(SigningContext::Transaction, &payloads[0]))));
    group.bench_function("verify_256b", |b| {
        b.iter(|| black_box(pubs[0].verify(SigningContext::Transaction, &payloads[0], &sigs[0])))
    });
    group.bench_function("dalek_verify_strict_256b", |b| {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&pubs[0].to_bytes()).expect("point");
        let sig = ed25519_dalek::Signature::from_bytes(&sigs[0]);
        let mut msg = SigningContext::Transaction.prefix().to_vec();
        msg.extend_from_slice(&payloads[0]);
        b.iter(|| black_box(key.verify_strict(black_box(&msg), &sig)))
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("verify_batch_64x256b", |b| {
        let items: Vec<_> = (0..64).map(|i| (&pubs[i], payloads[i].as_slice(), sigs[i].as_slice())).collect();
        b.iter(|| {
            let results = verify_batch(SigningContext::Transaction, black_box(&items));
            assert!(results.iter().all(Result::is_ok));
        })
    });
    group.bench_function("verify_batch_64x256b_one_signer", |b| {
        let one: Vec<[u8; 64]> = payloads.iter().map(|p| keys[0].sign(SigningContext::Transaction, p)).collect();
        let items: Vec<_> = (0..64).map(|i| (&pubs[0], payloads[i].as_slice(), one[i].as_slice())).collect();
        b.iter(|| {
            let results = verify_batch(SigningContext::Transaction, black_box(&items));
            assert!(results.iter().all(Result::is_ok));
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("envelope_decode_verify_256b", |b| {
        let env = Envelope::sign(payloads[0].clone(), &keys[0]);
        let bytes = env.bytes().to_vec();
        b.iter(|| {
            let env = Envelope::decode(black_box(&bytes)).expect("decodes");
            black_box(env.verify().expect("verifies"))
        })
    });
    group.finish();
}

criterion_group!(benches, merkle, signatures);
criterion_main!(benches);
