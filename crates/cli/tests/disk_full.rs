//! A full disk on a real (small) filesystem: node 1's data directory is a
//! 512 MiB tmpfs. Filled below `node.min_free_disk_bytes`, the node
//! refuses new writes with RESOURCE_EXHAUSTED / DISK_FULL while reads go
//! on; once the filler is deleted the same process takes writes again.
//! Needs root (mount); as anyone else it says so and does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Party, TestCluster};
use veritrace_proto::v1 as pb;

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_filesystem_refuses_writes_and_recovers_in_process() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a small filesystem needs root");
        return;
    }
    let mib = 1024 * 1024;
    let mut cluster = TestCluster::init(3, 0, |c| {
        c.node.min_free_disk_bytes = 128 * mib;
    });
    let data = cluster.node_dir(1).join("data");
    std::fs::create_dir_all(&data).unwrap();
    let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=512m", "tmpfs"]).arg(&data).status().unwrap();
    if !status.success() {
        // Root without CAP_SYS_ADMIN (an unprivileged container).
        eprintln!("SKIPPED: cannot mount a tmpfs at {} here", data.display());
        return;
    }
    let mounted = Mounted(data.clone());
    for id in 1..=3 {
        cluster.start(id);
    }
    cluster.leader(&[1, 2, 3]).await;
    let party = Party::of_node(&cluster, 1);
    let client = cluster.client(1).await;
    let submit = |nonce: u64| {
        let client = client.clone();
        let (envelope, _) = party.event(nonce);
        async move { client.submit(vec![envelope]).await }
    };
    let receipts = submit(1).await.expect("writes before the disk fills");
    assert_eq!(receipts[0].outcome, pb::Outcome::Applied as i32);

    // Fill the filesystem until less than the reserve is free.
    let free = veritrace_node::disk::free_bytes(&data).unwrap();
    let filler = data.join("filler");
    let size = free.saturating_sub(64 * mib);
    // tmpfs allocates on write: write the bytes.
    let status = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "status=none"])
        .arg(format!("of={}", filler.display()))
        .arg(format!("count={}", size / mib))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(veritrace_node::disk::free_bytes(&data).unwrap() < 128 * mib);

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut nonce = 2;
    let refused = loop {
        match submit(nonce).await {
            Err(e) if e.reason() == Some("DISK_FULL") => break e,
            _ => {}
        }
        nonce += 1;
        assert!(Instant::now() < deadline, "node 1 never refused a write on a full disk");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(refused.code(), Some(tonic::Code::ResourceExhausted), "{refused:?}");
    assert!(client.status().await.is_ok(), "reads go on");

    // Space returns: the same process takes writes again.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        nonce += 1;
        if let Ok(r) = submit(nonce).await {
            assert_eq!(r[0].outcome, pb::Outcome::Applied as i32);
            break;
        }
        assert!(Instant::now() < deadline, "node 1 did not take writes again after space returned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.converge(&[1, 2, 3], 2).await;
    // The nodes stop before the filesystem goes.
    drop(cluster);
    drop(mounted);
}
