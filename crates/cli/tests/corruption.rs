//! Damaged files under a real node: node 3's RocksDB table files get bytes
//! flipped while it is stopped (a disk that lies). Restarted, it serves
//! nothing wrong: every read either returns the true envelope or fails
//! with DATA_LOSS / DATA_CORRUPT (RocksDB's block checksums, the leaf's
//! hash against the Merkle tree), and once a read found damage `/readyz`
//! says so. Nodes 1 and 2 serve every envelope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use prost::Message as _;
use support::{Party, TestCluster, http_get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_in_table_files_are_never_served_and_show_in_readiness() {
    let mut cluster = TestCluster::running(3, 0).await;
    let party = Party::of_node(&cluster, 1);
    let client = cluster.client(1).await;
    let mut sent = Vec::new();
    for nonce in 1..=300 {
        let (envelope, id) = party.event(nonce);
        client.submit(vec![envelope.clone()]).await.expect("submit");
        sent.push((id, envelope.encode_to_vec()));
    }
    cluster.converge(&[1, 2, 3], 300).await;

    // SIGTERM flushes node 3's memtables into table files. Flip bytes in
    // the data blocks at the front of the largest one (its index and
    // properties sit at the end; damage there refuses the open instead,
    // which is safe too but not what this test is about).
    assert!(cluster.terminate(3), "node 3 stops cleanly");
    let db = cluster.node_dir(3).join("data").join("db");
    let largest = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("node 3 has table files");
    let mut bytes = std::fs::read(&largest).unwrap();
    assert!(bytes.len() > 16 * 1024, "{} is only {} bytes", largest.display(), bytes.len());
    for at in [bytes.len() / 16, bytes.len() / 8, bytes.len() / 4] {
        bytes[at] ^= 0x55;
    }
    std::fs::write(&largest, bytes).unwrap();
    cluster.start(3);
    let node3 = cluster.client(3).await;

    let (mut served, mut refused) = (0, 0);
    for (id, bytes) in &sent {
        match node3.get_envelope(*id).await {
            Ok(Some(entry)) => {
                let got = entry.envelope.expect("the envelope").encode_to_vec();
                assert_eq!(&got, bytes, "node 3 served a changed envelope");
                served += 1;
            }
            Ok(None) => panic!("node 3 says an acknowledged envelope does not exist"),
            Err(e) => {
                assert_eq!(e.reason(), Some("DATA_CORRUPT"), "{e:?}");
                assert_eq!(e.code(), Some(tonic::Code::DataLoss), "{e:?}");
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "no read found the damage ({served} served)");
    let (code, body) = http_get(cluster.ops(3), "/readyz").expect("node 3's ops listener");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("corruption"), "{body}");
    // The healthy nodes serve everything.
    let node1 = cluster.client(1).await;
    for (id, _) in &sent {
        assert!(node1.get_envelope(*id).await.expect("read").is_some());
    }
    eprintln!("node 3: {served} envelopes served intact, {refused} refused as corrupt");
}
