//! An in-memory [`KvEngine`] for tests and simulations.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use crate::{BatchOp, KvEngine, KvIter, KvView, StorageError, WriteBatch, WriteOptions};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// A [`KvEngine`] held in memory: ordered, batch-atomic, never durable.
/// Clone the data out with [`MemEngine::deep_clone`] to simulate a restart.
#[derive(Debug, Default)]
pub struct MemEngine {
    tables: RwLock<BTreeMap<String, Table>>,
}

impl MemEngine {
    /// An empty engine with the given column families.
    pub fn new(cfs: &[&str]) -> Self {
        let tables = cfs.iter().map(|cf| (cf.to_string(), Table::new())).collect();
        Self { tables: RwLock::new(tables) }
    }

    /// A new engine holding a copy of this one's data.
    pub fn deep_clone(&self) -> Self {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner()).clone();
        Self { tables: RwLock::new(tables) }
    }

    fn unknown(cf: &str) -> StorageError {
        StorageError::UnknownColumnFamily { name: cf.to_string() }
    }
}

impl KvEngine for MemEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let table = tables.get(cf).ok_or_else(|| Self::unknown(cf))?;
        Ok(table.get(key).cloned())
    }

    fn write(&self, batch: WriteBatch, _opts: WriteOptions) -> Result<(), StorageError> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        // Validate every column family first so a bad batch changes nothing.
        for op in batch.ops() {
            let cf = match op {
                BatchOp::Put { cf, .. } | BatchOp::Delete { cf, .. } => cf,
            };
            if !tables.contains_key(*cf) {
                return Err(Self::unknown(cf));
            }
        }
        for op in batch.into_ops() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    tables.get_mut(cf).map(|t| t.insert(key, value));
                }
                BatchOp::Delete { cf, key } => {
                    tables.get_mut(cf).map(|t| t.remove(&key));
                }
            }
        }
        Ok(())
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        let table = tables.get(cf).ok_or_else(|| Self::unknown(cf))?;
        let upper = match end {
            Some(end) => Bound::Excluded(end.to_vec()),
            None => Bound::Unbounded,
        };
        if let Some(end) = end
            && end <= start
        {
            return Ok(Box::new(std::iter::empty()));
        }
        // Copy the range out: the lock must not outlive this call.
        let pairs: Vec<_> =
            table.range((Bound::Included(start.to_vec()), upper)).map(|(k, v)| Ok((k.clone(), v.clone()))).collect();
        Ok(Box::new(pairs.into_iter()))
    }

    fn column_families(&self) -> Vec<String> {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    fn read_view(&self, read: &mut dyn FnMut(&dyn KvView)) -> Result<(), StorageError> {
        // A copy is a point-in-time view; tests and simulations hold little.
        read(&self.deep_clone());
        Ok(())
    }
}

impl KvView for MemEngine {
    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        KvEngine::get(self, cf, key)
    }

    fn scan<'a>(&'a self, cf: &str, start: &[u8], end: Option<&[u8]>) -> Result<KvIter<'a>, StorageError> {
        KvEngine::scan(self, cf, start, end)
    }
}
