//! `Ledger::apply` on arbitrary transactions, signed by a real party of the
//! fixture network (so the domain rules run, not only the signature
//! check), and on arbitrary envelope bytes. Every replica runs this on its
//! Raft loop: an input that panics it would stop the whole network.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use veritrace_ledger::testing::Network;
use veritrace_proto::v1 as pb;

const PARTIES: &[&str] = &["brand", "brand-2", "shop", "carrier", "customs", "admin-a", "admin-b", "admin-c"];

fuzz_target!(|data: &[u8]| {
    let Some((&who, rest)) = data.split_first() else { return };
    let mut net = Network::new();
    // Raw bytes as an envelope: refused, never a panic.
    net.apply(vec![rest.to_vec()]);
    if let Ok(mut tx) = pb::Transaction::decode(rest) {
        let party = PARTIES[usize::from(who) % PARTIES.len()];
        tx.party_id = party.into();
        tx.network_id = veritrace_ledger::testing::network_genesis().network_id;
        let key = net.key(party);
        let envelope = veritrace_core::Envelope::sign_transaction(&tx, &key);
        // Twice: a duplicate must be recognised as one.
        net.apply(vec![envelope.bytes().to_vec(), envelope.bytes().to_vec()]);
        let _ = net.ledger.audit(true);
    }
});
