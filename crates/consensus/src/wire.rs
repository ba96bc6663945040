//! Byte formats the driver writes into Raft entries and forwards to the
//! leader. All are versioned, big-endian, length-prefixed, and decoded
//! without panicking: a malformed value is an error naming what is wrong.
//!
//! ```text
//! ProposalBatch (normal entry data):
//!   version 1 u8 | proposer u64 | proposed_at_ms i64 | count u32 | count x (request u64 | len u32 | bytes)
//! ConfChange context:
//!   version 1 u8 | proposer u64 | request u64 | Metadata
//! Metadata (per-member bytes defined by the node layer):
//!   count u32 | count x (node u64 | len u32 | bytes)
//! ForwardRequest:
//!   tag u8 (1 propose | 2 change membership | 3 transfer leader | 4 clock) | body
//!   (a clock request has no body; its answer is the node's clock, unix
//!   ms, i64)
//!   (tags 0x80 and above belong to the application: the replica routes
//!   them to its own handlers before the driver reads its channel, and
//!   their answers are the application's bytes, not a ForwardAnswer)
//! ForwardAnswer:
//!   tag u8 (0 ok | 1 error) | body (answer bytes | DriverError)
//! ```

use std::collections::BTreeMap;

use crate::driver::{DriverError, MembershipChange};
use crate::transport::NodeId;

const VERSION: u8 = 1;
/// Bytes of a [`ProposalBatch`] before its items.
pub(crate) const BATCH_HEADER_BYTES: usize = 1 + 8 + 8 + 4;
/// Most items a decoded count may announce before the bytes run out.
const MAX_COUNT: u32 = 1 << 20;

/// A value that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {reason}")]
pub struct WireError {
    /// Which format.
    pub what: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Reads a byte slice front to back.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Reader { what, bytes }
    }

    fn err(&self, reason: impl Into<String>) -> WireError {
        WireError { what: self.what, reason: reason.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(self.err(format!("truncated: wanted {n} bytes, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    pub(crate) fn count(&mut self) -> Result<u32, WireError> {
        let n = self.u32()?;
        if n > MAX_COUNT {
            return Err(self.err(format!("count {n} exceeds {MAX_COUNT}")));
        }
        Ok(n)
    }

    pub(crate) fn rest(self) -> &'a [u8] {
        self.bytes
    }

    pub(crate) fn finish(self) -> Result<(), WireError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(self.err(format!("{} trailing bytes", self.bytes.len()))) }
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

/// The data of a normal entry: client proposals the leader grouped into
/// one entry (group commit), each tagged with its proposer's request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalBatch {
    /// Node whose driver holds the callers' futures.
    pub proposer: NodeId,
    /// The leader's clock when it built the entry (milliseconds since the
    /// Unix epoch). The only time the state machine may use.
    pub proposed_at_ms: i64,
    /// `(request id, proposal bytes)` in proposal order.
    pub items: Vec<(u64, Vec<u8>)>,
}

impl ProposalBatch {
    /// Encodes the batch.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.items.iter().map(|(_, d)| d.len() + 12).sum();
        let mut out = Vec::with_capacity(21 + size);
        out.push(VERSION);
        out.extend_from_slice(&self.proposer.to_be_bytes());
        out.extend_from_slice(&self.proposed_at_ms.to_be_bytes());
        out.extend_from_slice(&(self.items.len() as u32).to_be_bytes());
        for (request, data) in &self.items {
            out.extend_from_slice(&request.to_be_bytes());
            put_bytes(&mut out, data);
        }
        out
    }

    /// Decodes a batch.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("proposal batch", bytes);
        let v = r.u8()?;
        if v != VERSION {
            return Err(r.err(format!("unknown version {v}")));
        }
        let proposer = r.u64()?;
        let proposed_at_ms = r.u64()? as i64;
        let n = r.count()?;
        let mut items = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            let request = r.u64()?;
            items.push((request, r.bytes()?.to_vec()));
        }
        r.finish()?;
        Ok(ProposalBatch { proposer, proposed_at_ms, items })
    }
}

/// Encodes per-member metadata.
pub fn encode_metadata(meta: &BTreeMap<NodeId, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
    for (node, bytes) in meta {
        out.extend_from_slice(&node.to_be_bytes());
        put_bytes(&mut out, bytes);
    }
    out
}

pub(crate) fn read_metadata(r: &mut Reader<'_>) -> Result<BTreeMap<NodeId, Vec<u8>>, WireError> {
    let n = r.count()?;
    let mut meta = BTreeMap::new();
    for _ in 0..n {
        let node = r.u64()?;
        meta.insert(node, r.bytes()?.to_vec());
    }
    Ok(meta)
}

/// Decodes per-member metadata.
pub fn decode_metadata(bytes: &[u8]) -> Result<BTreeMap<NodeId, Vec<u8>>, WireError> {
    let mut r = Reader::new("member metadata", bytes);
    let meta = read_metadata(&mut r)?;
    r.finish()?;
    Ok(meta)
}

/// The context of a configuration-change entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeContext {
    pub proposer: NodeId,
    pub request: u64,
    /// Metadata of the nodes the change adds.
    pub metadata: BTreeMap<NodeId, Vec<u8>>,
}

impl ChangeContext {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.proposer.to_be_bytes());
        out.extend_from_slice(&self.request.to_be_bytes());
        out.extend_from_slice(&encode_metadata(&self.metadata));
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("conf change context", bytes);
        let v = r.u8()?;
        if v != VERSION {
            return Err(r.err(format!("unknown version {v}")));
        }
        let proposer = r.u64()?;
        let request = r.u64()?;
        let metadata = read_metadata(&mut r)?;
        r.finish()?;
        Ok(ChangeContext { proposer, request, metadata })
    }
}

/// What a follower asks the leader to do on its behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForwardRequest {
    Propose(Vec<u8>),
    ChangeMembership(Vec<MembershipChange>),
    TransferLeader(NodeId),
    /// What time the answering node's clock says (`driver::clock`).
    Clock,
}

impl ForwardRequest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            ForwardRequest::Propose(data) => {
                out.push(1);
                out.extend_from_slice(data);
            }
            ForwardRequest::ChangeMembership(changes) => {
                out.push(2);
                out.extend_from_slice(&(changes.len() as u32).to_be_bytes());
                for c in changes {
                    match c {
                        MembershipChange::AddLearner { node, metadata } => {
                            out.push(1);
                            out.extend_from_slice(&node.to_be_bytes());
                            put_bytes(&mut out, metadata);
                        }
                        MembershipChange::Promote { node } => {
                            out.push(2);
                            out.extend_from_slice(&node.to_be_bytes());
                        }
                        MembershipChange::Remove { node } => {
                            out.push(3);
                            out.extend_from_slice(&node.to_be_bytes());
                        }
                    }
                }
            }
            ForwardRequest::TransferLeader(node) => {
                out.push(3);
                out.extend_from_slice(&node.to_be_bytes());
            }
            ForwardRequest::Clock => out.push(4),
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new("forwarded request", bytes);
        match r.u8()? {
            1 => Ok(ForwardRequest::Propose(r.rest().to_vec())),
            2 => {
                let n = r.count()?;
                let mut changes = Vec::new();
                for _ in 0..n {
                    changes.push(match r.u8()? {
                        1 => {
                            let node = r.u64()?;
                            MembershipChange::AddLearner { node, metadata: r.bytes()?.to_vec() }
                        }
                        2 => MembershipChange::Promote { node: r.u64()? },
                        3 => MembershipChange::Remove { node: r.u64()? },
                        t => return Err(r.err(format!("unknown change tag {t}"))),
                    });
                }
                r.finish()?;
                Ok(ForwardRequest::ChangeMembership(changes))
            }
            3 => {
                let node = r.u64()?;
                r.finish()?;
                Ok(ForwardRequest::TransferLeader(node))
            }
            4 => {
                r.finish()?;
                Ok(ForwardRequest::Clock)
            }
            t => Err(r.err(format!("unknown tag {t}"))),
        }
    }
}

/// Encodes the leader's answer to a forwarded request.
pub(crate) fn encode_answer(answer: &Result<Vec<u8>, DriverError>) -> Vec<u8> {
    match answer {
        Ok(bytes) => {
            let mut out = vec![0];
            out.extend_from_slice(bytes);
            out
        }
        Err(e) => {
            let mut out = vec![1];
            e.encode_into(&mut out);
            out
        }
    }
}

/// Decodes the leader's answer to a forwarded request.
pub(crate) fn decode_answer(bytes: &[u8]) -> Result<Result<Vec<u8>, DriverError>, WireError> {
    let mut r = Reader::new("forward answer", bytes);
    match r.u8()? {
        0 => Ok(Ok(r.rest().to_vec())),
        1 => Ok(Err(DriverError::decode_from(&mut r)?)),
        t => Err(r.err(format!("unknown tag {t}"))),
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

pub(crate) fn read_str(r: &mut Reader<'_>) -> Result<String, WireError> {
    let b = r.bytes()?;
    String::from_utf8(b.to_vec()).map_err(|_| r.err("string is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips_and_refuses_every_truncation() {
        let b = ProposalBatch {
            proposer: 3,
            proposed_at_ms: 1_700_000_000_000,
            items: vec![(1, b"a".to_vec()), (9, vec![])],
        };
        let bytes = b.encode();
        assert_eq!(ProposalBatch::decode(&bytes), Ok(b));
        for cut in 0..bytes.len() {
            assert!(ProposalBatch::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ProposalBatch::decode(&longer).is_err());
    }

    #[test]
    fn forward_requests_round_trip() {
        for req in [
            ForwardRequest::Propose(b"xyz".to_vec()),
            ForwardRequest::TransferLeader(4),
            ForwardRequest::ChangeMembership(vec![
                MembershipChange::AddLearner { node: 4, metadata: b"peer".to_vec() },
                MembershipChange::Promote { node: 5 },
                MembershipChange::Remove { node: 1 },
            ]),
        ] {
            assert_eq!(ForwardRequest::decode(&req.encode()), Ok(req));
        }
        assert!(ForwardRequest::decode(&[9]).is_err());
        assert!(ForwardRequest::decode(&[]).is_err());
    }

    #[test]
    fn answers_round_trip_with_errors() {
        for a in [
            Ok(b"ok".to_vec()),
            Err(DriverError::NotLeader { leader: Some(2) }),
            Err(DriverError::NotLeader { leader: None }),
            Err(DriverError::Refused { reason: "QUORUM_AT_RISK".into(), message: "m".into() }),
            Err(DriverError::Stopped),
        ] {
            assert_eq!(decode_answer(&encode_answer(&a)), Ok(a));
        }
    }
}
