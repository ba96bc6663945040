//! The ledger's domain state: versioned records in the `state` column
//! family, read and written through per-envelope overlays.

pub(crate) mod derived;
pub mod keys;
pub mod market;
mod overlay;
pub mod records;
pub(crate) mod seal;

pub(crate) use overlay::{Overlay, StateView, decode_record, encode_record};

use veritrace_proto::v1 as pb;
use veritrace_storage::KvEngine;

impl<E: KvEngine> StateView<'_, E> {
    /// A party's record, if the party exists.
    pub(crate) fn party(&self, id: &str) -> Result<Option<pb::Party>, crate::LedgerError> {
        self.record(crate::schema::CF_STATE, &keys::party(id), "party")
    }
}
