//! Uncommitted writes layered over the engine.
//!
//! Apply checks each envelope against the state left by every envelope
//! before it, including those earlier in the same batch, and an envelope
//! that is refused halfway must leave nothing behind. So domain rules read
//! and write through a [`StateView`]: reads see the envelope's own writes,
//! then the batch's accepted writes, then the engine; writes stay in the
//! envelope's layer until the envelope is accepted
//! ([`Overlay::absorb`]), and the batch's layer reaches the engine as part
//! of the batch's one atomic write ([`Overlay::drain_into`]).

use std::collections::BTreeMap;

use prost::Message;
use veritrace_storage::{KvEngine, WriteBatch, prefix_end};

use crate::LedgerError;
use crate::schema::CF_STATE;
use crate::state::seal;

type Key = (&'static str, Vec<u8>);

/// Pending puts (`Some`) and deletes (`None`), by column family and key.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overlay {
    writes: BTreeMap<Key, Option<Vec<u8>>>,
}

impl Overlay {
    fn get(&self, cf: &'static str, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.writes.get(&(cf, key.to_vec()))
    }

    /// Takes over every write of `other` (an accepted envelope's layer).
    pub(crate) fn absorb(&mut self, other: Overlay) {
        self.writes.extend(other.writes);
    }

    /// Moves the writes into the batch's engine write, sealing state
    /// values ([`seal`]).
    pub(crate) fn drain_into(self, batch: &mut WriteBatch) {
        for ((cf, key), value) in self.writes {
            match value {
                Some(v) if cf == CF_STATE => {
                    let sealed = seal::seal(&key, v);
                    batch.put(cf, key, sealed);
                }
                Some(v) => batch.put(cf, key, v),
                None => batch.delete(cf, key),
            }
        }
    }

    fn range<'a>(
        &'a self,
        cf: &'static str,
        start: &'a [u8],
        end: Option<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a [u8], &'a Option<Vec<u8>>)> + 'a {
        self.writes
            .range((cf, start.to_vec())..)
            .take_while(move |((c, k), _)| *c == cf && end.is_none_or(|e| k.as_slice() < e))
            .map(|((_, k), v)| (k.as_slice(), v))
    }
}

/// Current version byte of every record written through a view.
const RECORD_VERSION: u8 = 1;

/// Encodes a versioned record.
pub(crate) fn encode_record<M: Message>(m: &M) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + m.encoded_len());
    v.push(RECORD_VERSION);
    m.encode(&mut v).unwrap_or_default();
    v
}

/// Decodes a versioned record; `what` names it in the corruption error.
pub(crate) fn decode_record<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, LedgerError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, rest)) => {
            M::decode(rest).map_err(|e| LedgerError::Corrupt { what: format!("{what} record: {e}") })
        }
        _ => Err(LedgerError::Corrupt { what: format!("{what} record has an unknown version") }),
    }
}

/// One envelope's view of the state: its own writes over the batch's over
/// the engine.
pub(crate) struct StateView<'a, E: KvEngine> {
    engine: &'a E,
    batch: &'a Overlay,
    local: Overlay,
}

impl<'a, E: KvEngine> StateView<'a, E> {
    pub(crate) fn new(engine: &'a E, batch: &'a Overlay) -> Self {
        StateView { engine, batch, local: Overlay::default() }
    }

    /// The envelope's writes, to absorb into the batch once it is accepted.
    pub(crate) fn into_writes(self) -> Overlay {
        self.local
    }

    /// A copy of the envelope's writes so far, to roll back to.
    pub(crate) fn savepoint(&self) -> Overlay {
        self.local.clone()
    }

    /// Drops every write made since `savepoint`.
    pub(crate) fn roll_back(&mut self, savepoint: Overlay) {
        self.local = savepoint;
    }

    /// Reads a raw value (a state value's tag checked and removed).
    pub(crate) fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        if let Some(v) = self.local.get(cf, key).or_else(|| self.batch.get(cf, key)) {
            return Ok(v.clone());
        }
        match self.engine.get(cf, key)? {
            Some(v) if cf == CF_STATE => Ok(Some(seal::open(key, &v)?.to_vec())),
            other => Ok(other),
        }
    }

    /// Whether a key holds a value.
    pub(crate) fn exists(&self, cf: &'static str, key: &[u8]) -> Result<bool, LedgerError> {
        Ok(self.get(cf, key)?.is_some())
    }

    /// Writes a raw value.
    pub(crate) fn put(&mut self, cf: &'static str, key: Vec<u8>, value: Vec<u8>) {
        self.local.writes.insert((cf, key), Some(value));
    }

    /// Deletes a key.
    pub(crate) fn delete(&mut self, cf: &'static str, key: Vec<u8>) {
        self.local.writes.insert((cf, key), None);
    }

    /// Reads a versioned record.
    pub(crate) fn record<M: Message + Default>(
        &self,
        cf: &'static str,
        key: &[u8],
        what: &str,
    ) -> Result<Option<M>, LedgerError> {
        self.get(cf, key)?.map(|b| decode_record(&b, what)).transpose()
    }

    /// Writes a versioned record.
    pub(crate) fn put_record<M: Message>(&mut self, cf: &'static str, key: Vec<u8>, m: &M) {
        self.put(cf, key, encode_record(m));
    }

    /// Keys and values under `prefix`, merged across the layers, in key
    /// order. Meant for small ranges (a party's keys, a list of records).
    #[allow(clippy::type_complexity)]
    pub(crate) fn scan_prefix(&self, cf: &'static str, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, LedgerError> {
        self.scan_range(cf, prefix, prefix_end(prefix).as_deref())
    }

    /// The first `limit` keys and values from `start` (inclusive) to `end`
    /// (exclusive), merged across the layers, in key order. Reads the
    /// engine lazily: a range of any size costs at most `limit` live
    /// entries (plus the pending writes in it).
    #[allow(clippy::type_complexity)]
    pub(crate) fn scan_range_first(
        &self,
        cf: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, LedgerError> {
        let mut pending: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for layer in [self.batch, &self.local] {
            for (k, v) in layer.range(cf, start, end) {
                pending.insert(k.to_vec(), v.clone());
            }
        }
        let mut pending = pending.into_iter().peekable();
        let mut out = Vec::new();
        let push = |out: &mut Vec<(Vec<u8>, Vec<u8>)>, k: Vec<u8>, v: Option<Vec<u8>>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        for kv in self.engine.scan(cf, start, end)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            while let Some((pk, _)) = pending.peek() {
                if pk.as_slice() >= &k[..] || out.len() >= limit {
                    break;
                }
                let (pk, pv) = pending.next().unwrap_or_default();
                push(&mut out, pk, pv);
            }
            if out.len() >= limit {
                break;
            }
            if pending.peek().is_some_and(|(pk, _)| pk.as_slice() == &k[..]) {
                let (pk, pv) = pending.next().unwrap_or_default();
                push(&mut out, pk, pv);
                continue;
            }
            let v = if cf == CF_STATE { seal::open(&k, &v)? } else { &v[..] };
            out.push((k.to_vec(), v.to_vec()));
        }
        for (pk, pv) in pending {
            if out.len() >= limit {
                break;
            }
            push(&mut out, pk, pv);
        }
        Ok(out)
    }

    /// Keys and values from `start` (inclusive) to `end` (exclusive; `None`:
    /// to the end of the column family), merged across the layers, in key
    /// order. Meant for small ranges.
    #[allow(clippy::type_complexity)]
    pub(crate) fn scan_range(
        &self,
        cf: &'static str,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, LedgerError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for kv in self.engine.scan(cf, start, end)? {
            let (k, v) = kv?;
            let v = if cf == CF_STATE { seal::open(&k, &v)? } else { &v[..] };
            merged.insert(k.to_vec(), Some(v.to_vec()));
        }
        for layer in [self.batch, &self.local] {
            for (k, v) in layer.range(cf, start, end) {
                merged.insert(k.to_vec(), v.clone());
            }
        }
        Ok(merged.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use veritrace_storage::{KvEngine as _, MemEngine, WriteBatch, WriteOptions};

    use super::*;
    use crate::schema::CF_META;

    #[test]
    fn the_first_entries_of_a_range_merge_pending_writes_over_the_engine() {
        let engine = MemEngine::new(&[CF_META]);
        let mut batch = WriteBatch::new();
        for k in ["a", "c", "e", "g"] {
            batch.put(CF_META, k.as_bytes().to_vec(), k.as_bytes().to_vec());
        }
        engine.write(batch, WriteOptions::SYNC).expect("write");
        let mut layer = Overlay::default();
        layer.writes.insert((CF_META, b"b".to_vec()), Some(b"B".to_vec()));
        layer.writes.insert((CF_META, b"c".to_vec()), None);
        let mut view = StateView::new(&engine, &layer);
        view.put(CF_META, b"e".to_vec(), b"E".to_vec());
        view.put(CF_META, b"h".to_vec(), b"H".to_vec());
        let all = view.scan_range(CF_META, b"", None).expect("scan");
        for limit in 0..=all.len() + 1 {
            let first = view.scan_range_first(CF_META, b"", None, limit).expect("scan");
            assert_eq!(first, all[..limit.min(all.len())].to_vec(), "limit {limit}");
        }
        let keys: Vec<&[u8]> = all.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(keys, [&b"a"[..], b"b", b"e", b"g", b"h"]);
        assert_eq!(all[2].1, b"E");
        let bounded = view.scan_range_first(CF_META, b"b", Some(b"g"), 10).expect("scan");
        assert_eq!(bounded.len(), 2, "b and e: c is deleted, g is the end");
    }
}
