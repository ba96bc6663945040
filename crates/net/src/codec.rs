//! Length-prefixed framing for the request-response protocols, and the
//! byte layouts of each protocol's messages.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes. A
//! frame longer than the codec's maximum is refused before any of it is
//! buffered, so a peer cannot make this node allocate more than the limit.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use veritrace_consensus::SnapshotChunk;
use veritrace_consensus::transport::MAX_SNAPSHOT_CHUNK;

/// Protocol carrying snapshot chunk requests and chunks.
pub(crate) const SNAPSHOT_PROTOCOL: StreamProtocol = StreamProtocol::new("/veritrace/snapshot/1");

/// Size of an encoded snapshot request: index and offset, both u64.
pub(crate) const SNAPSHOT_REQUEST_LEN: usize = 16;
/// Largest encoded snapshot response: tag, offset, last flag, data.
pub(crate) const SNAPSHOT_RESPONSE_MAX: usize = 1 + 8 + 1 + MAX_SNAPSHOT_CHUNK;

const TAG_OK: u8 = 0;
const TAG_ERR: u8 = 1;

/// Request-response codec for one protocol: opaque byte frames with a
/// maximum size in each direction.
#[derive(Debug, Clone)]
pub(crate) struct FrameCodec {
    /// Largest request accepted or sent, in bytes.
    pub(crate) max_request: usize,
    /// Largest response accepted or sent, in bytes.
    pub(crate) max_response: usize,
}

pub(crate) async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = usize::try_from(u32::from_be_bytes(len))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame length overflows usize"))?;
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds limit {max}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, data: &[u8], max: usize) -> io::Result<()> {
    if data.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds limit {max}", data.len()),
        ));
    }
    let len = u32::try_from(data.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame length exceeds u32"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(data).await?;
    io.flush().await
}

impl request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.max_request).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, res: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_response).await
    }
}

/// Encodes an answer to a forwarded request: ok bytes or a refusal reason.
pub(crate) fn encode_forward_response(answer: Result<Vec<u8>, String>) -> Vec<u8> {
    match answer {
        Ok(mut bytes) => {
            bytes.insert(0, TAG_OK);
            bytes
        }
        Err(reason) => {
            let mut out = Vec::with_capacity(1 + reason.len());
            out.push(TAG_ERR);
            out.extend_from_slice(reason.as_bytes());
            out
        }
    }
}

/// Decodes a forward response: `Ok(Ok(answer))`, `Ok(Err(refusal))`, or
/// `Err` when the bytes are malformed.
pub(crate) fn decode_forward_response(bytes: &[u8]) -> Result<Result<Vec<u8>, String>, String> {
    match bytes.split_first() {
        Some((&TAG_OK, rest)) => Ok(Ok(rest.to_vec())),
        Some((&TAG_ERR, rest)) => Ok(Err(String::from_utf8_lossy(rest).into_owned())),
        Some((tag, _)) => Err(format!("unknown forward response tag {tag}")),
        None => Err("empty forward response".to_owned()),
    }
}

/// Encodes a snapshot chunk request.
pub(crate) fn encode_snapshot_request(snapshot_index: u64, offset: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_REQUEST_LEN);
    out.extend_from_slice(&snapshot_index.to_be_bytes());
    out.extend_from_slice(&offset.to_be_bytes());
    out
}

fn read_u64(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// Decodes a snapshot chunk request into `(snapshot_index, offset)`.
pub(crate) fn decode_snapshot_request(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.len() != SNAPSHOT_REQUEST_LEN {
        return None;
    }
    Some((read_u64(bytes)?, read_u64(bytes.get(8..)?)?))
}

/// Encodes a snapshot chunk or a refusal.
pub(crate) fn encode_snapshot_response(answer: Result<SnapshotChunk, String>) -> Vec<u8> {
    match answer {
        Ok(chunk) => {
            let mut out = Vec::with_capacity(10 + chunk.data.len());
            out.push(TAG_OK);
            out.extend_from_slice(&chunk.offset.to_be_bytes());
            out.push(u8::from(chunk.last));
            out.extend_from_slice(&chunk.data);
            out
        }
        Err(reason) => {
            let mut out = Vec::with_capacity(1 + reason.len());
            out.push(TAG_ERR);
            out.extend_from_slice(reason.as_bytes());
            out
        }
    }
}

/// Decodes a snapshot response: `Ok(Ok(chunk))`, `Ok(Err(refusal))`, or
/// `Err` when the bytes are malformed.
pub(crate) fn decode_snapshot_response(bytes: &[u8]) -> Result<Result<SnapshotChunk, String>, String> {
    match bytes.split_first() {
        Some((&TAG_OK, rest)) => {
            let offset = read_u64(rest).ok_or("truncated snapshot chunk header")?;
            let last = match rest.get(8) {
                Some(0) => false,
                Some(1) => true,
                _ => return Err("bad snapshot chunk flag".to_owned()),
            };
            let data = rest.get(9..).unwrap_or_default().to_vec();
            if data.len() > MAX_SNAPSHOT_CHUNK {
                return Err(format!("snapshot chunk of {} bytes exceeds {MAX_SNAPSHOT_CHUNK}", data.len()));
            }
            Ok(Ok(SnapshotChunk { offset, data, last }))
        }
        Some((&TAG_ERR, rest)) => Ok(Err(String::from_utf8_lossy(rest).into_owned())),
        Some((tag, _)) => Err(format!("unknown snapshot response tag {tag}")),
        None => Err("empty snapshot response".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_roundtrip() {
        let ok = encode_forward_response(Ok(vec![1, 2, 3]));
        assert_eq!(decode_forward_response(&ok), Ok(Ok(vec![1, 2, 3])));
        let err = encode_forward_response(Err("no leader".into()));
        assert_eq!(decode_forward_response(&err), Ok(Err("no leader".into())));
        assert!(decode_forward_response(&[]).is_err());
        assert!(decode_forward_response(&[7]).is_err());
    }

    #[test]
    fn snapshot_roundtrip() {
        let req = encode_snapshot_request(42, 1 << 40);
        assert_eq!(decode_snapshot_request(&req), Some((42, 1 << 40)));
        assert_eq!(decode_snapshot_request(&req[..15]), None);
        let chunk = SnapshotChunk { offset: 9, data: vec![5; 100], last: true };
        let enc = encode_snapshot_response(Ok(chunk.clone()));
        assert_eq!(decode_snapshot_response(&enc), Ok(Ok(chunk)));
        let enc = encode_snapshot_response(Err("gone".into()));
        assert_eq!(decode_snapshot_response(&enc), Ok(Err("gone".into())));
        assert!(decode_snapshot_response(&[0, 1, 2]).is_err());
        assert!(decode_snapshot_response(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 2]).is_err());
    }
}
