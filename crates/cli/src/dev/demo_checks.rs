//! What a client of the demo node checks offline, trusting nothing but the
//! node's tree-head key: a receipt's inclusion proof under a signed tree
//! head, and that the ledger only grew between two signed tree heads.

use anyhow::{Context as _, bail};
use veritrace_client::Client;
use veritrace_core::receipt::{VerifiedReceipt, tree_head_from_proto, verify_receipt};
use veritrace_core::{Envelope, Hash, PublicKey, SignedTreeHead, merkle};
use veritrace_proto::v1 as pb;

/// A tree head from the node: well formed, validly signed, by `signer`.
pub fn tree_head(sth: &pb::SignedTreeHead, signer: &PublicKey) -> anyhow::Result<SignedTreeHead> {
    let head = tree_head_from_proto(sth)?;
    head.verify().context("tree head signature")?;
    trusted(&head, signer)?;
    Ok(head)
}

/// `receipt` (asked with proofs) for `envelope`: the envelope's signature,
/// the leaf rebuilt from the receipt, its inclusion proof up to the root of
/// the receipt's tree head, and that `signer` signed that head.
pub fn receipt(receipt: &pb::Receipt, envelope: &Envelope, signer: &PublicKey) -> anyhow::Result<VerifiedReceipt> {
    let checked = verify_receipt(receipt, envelope.bytes())?;
    trusted(&checked.tree_head, signer)?;
    Ok(checked)
}

/// Asks the node for a consistency proof from `before` to its current tree
/// and checks it: the newer head is signed by `signer` and its tree extends
/// `before`'s. Returns the newer head.
pub async fn consistency(
    client: &Client,
    before: &SignedTreeHead,
    signer: &PublicKey,
) -> anyhow::Result<SignedTreeHead> {
    let (proof, after) = consistency_proof(client, before.head.tree_size).await?;
    let after = tree_head(&after, signer)?;
    let (old, new) = (&before.head, &after.head);
    merkle::verify_consistency(old.tree_size, new.tree_size, &old.root, &new.root, &proof)
        .context("consistency proof")?;
    Ok(after)
}

/// The one key a client of the demo network trusts: the node's.
fn trusted(head: &SignedTreeHead, signer: &PublicKey) -> anyhow::Result<()> {
    if head.signer != *signer {
        bail!("the tree head is signed by {}, not by the demo node ({signer})", head.signer);
    }
    Ok(())
}

/// LedgerService.GetConsistencyProof from `first_size` to the node's
/// current tree: the proof and the signed head of the larger tree.
async fn consistency_proof(client: &Client, first_size: u64) -> anyhow::Result<(Vec<Hash>, pb::SignedTreeHead)> {
    let answer = client.consistency_proof(first_size, 0).await.context("GetConsistencyProof")?;
    let (Some(proof), Some(head)) = (answer.proof, answer.second_tree_head) else {
        bail!("GetConsistencyProof answered without a proof or a tree head");
    };
    if proof.first_size != first_size || proof.second_size != head.tree_size {
        bail!("GetConsistencyProof answered for sizes {} -> {}", proof.first_size, proof.second_size);
    }
    let hashes = proof.hashes.iter().map(|h| Hash::from_slice(h)).collect::<Result<Vec<_>, _>>();
    Ok((hashes.map_err(|_| anyhow::anyhow!("a consistency proof hash is not 32 bytes"))?, head))
}
