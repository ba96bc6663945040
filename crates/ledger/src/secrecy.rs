//! Code secrecy in reads: which transactions carry code material, and what
//! of them a reader may see.
//!
//! An item's code salt and code digest together let anyone test guesses of
//! its scratch code offline (10^6 six-digit codes take well under a
//! second). They are stored for verification and never leave a node through
//! a read: an entry that carries them is served as its transaction with the
//! material cleared, plus the leaf hash its inclusion proof starts from.

use veritrace_proto::v1 as pb;
use veritrace_proto::v1::transaction::Action;

/// Why an envelope is withheld from a reader (`WithheldEnvelope.reason`).
pub const WITHHELD_CODE_MATERIAL: &str = "CODE_MATERIAL";

/// `tx` with its code material cleared, or `None` when it carries none
/// (the envelope may then be served as it is).
pub fn without_code_material(tx: &pb::Transaction) -> Option<pb::Transaction> {
    match &tx.action {
        Some(Action::CommissionItems(c)) => {
            let mut c = c.clone();
            c.batch_salt.clear();
            for item in &mut c.items {
                item.salt.clear();
                item.code_digest.clear();
            }
            Some(pb::Transaction { action: Some(Action::CommissionItems(c)), ..tx.clone() })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commissioning_loses_its_salts_and_digests_and_nothing_else() {
        let tx = pb::Transaction {
            party_id: "brand".into(),
            nonce: 7,
            action: Some(Action::CommissionItems(pb::CommissionItems {
                gtin: "00614141123452".into(),
                lot: "L1".into(),
                batch_salt: vec![1; 16],
                items: vec![pb::CommissionedItem {
                    serial: "S1".into(),
                    salt: vec![2; 16],
                    code_digest: vec![3; 32],
                    ..Default::default()
                }],
                ..Default::default()
            })),
            ..Default::default()
        };
        let public = without_code_material(&tx).expect("a commissioning carries code material");
        let Some(Action::CommissionItems(c)) = &public.action else { panic!("action changed") };
        assert!(c.batch_salt.is_empty() && c.items[0].salt.is_empty() && c.items[0].code_digest.is_empty());
        assert_eq!((c.gtin.as_str(), c.lot.as_str(), c.items[0].serial.as_str()), ("00614141123452", "L1", "S1"));
        assert_eq!((public.party_id.as_str(), public.nonce), ("brand", 7));
        let scan = pb::Transaction { action: Some(Action::ConsumerScan(Default::default())), ..Default::default() };
        assert_eq!(without_code_material(&scan), None);
    }
}
