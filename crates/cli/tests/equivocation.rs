//! `veritrace audit` names a node that showed two histories. The nodes are
//! in-process replicas of the test kit (real gRPC over TCP) because the
//! hook that makes one sign a forked history is the test kit's
//! (`ForkingHeadSigner`); the command is the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use veritrace_proto::v1 as pb;
use veritrace_testkit::{TestCluster, product};

const BIN: &str = env!("CARGO_BIN_EXE_veritrace");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_the_node_that_signed_two_roots() {
    let cluster = TestCluster::builder(3).forking_head_signer(2).start().await;
    let leader = cluster.leader(&[]).await;
    cluster.submit_applied(leader, vec![product(1)]).await;
    cluster.converge().await;
    // Replica 2 shows its forked head and asks the others to co-sign it.
    let request = pb::GetTreeHeadRequest { cosigned: true, ..Default::default() };
    cluster.client(2).await.tree_head_with(request).await.unwrap();
    cluster
        .eventually("a peer holds evidence", || async {
            let audit = cluster.client(1).await.audit(true, 0).await.ok()?;
            let audit3 = cluster.client(3).await.audit(true, 0).await.ok()?;
            (!audit.equivocations.is_empty() || !audit3.equivocations.is_empty()).then_some(())
        })
        .await;

    let (api, token) = (cluster.api(1), cluster.admin_token_file());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["audit", "--endpoint", &api, "--admin-token-file", token.to_str().unwrap(), "--no-signatures"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("EQUIVOCATION: node 2"), "{stdout}\n{stderr}");
    assert!(stderr.contains("EQUIVOCATION by node 2"), "{stderr}");
}
