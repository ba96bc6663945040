//! A minimal etcd v3 KV client: `Put` and a `Txn` of puts, over the same
//! tonic stack as Veritrace's own client, so `veritrace-bench --target
//! etcd` compares the two systems with clients of the same kind (the
//! benchmark's only use).
//!
//! The messages are the few fields of etcd's `rpc.proto` that these calls
//! use, declared by hand with their etcd field numbers (prost skips the
//! response fields it does not declare); no protoc and no etcd proto files
//! are needed. A `oneof` member on the wire is an optional field, so
//! `RequestOp.request_put` is declared as one.

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

/// `etcdserverpb.PutRequest` (key, value).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The value.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `etcdserverpb.PutResponse` (nothing read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutResponse {}

/// `etcdserverpb.RequestOp` holding a put.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestOp {
    /// `request_put` of the `request` oneof.
    #[prost(message, optional, tag = "2")]
    pub request_put: Option<PutRequest>,
}

/// `etcdserverpb.TxnRequest` with no compares: every `success` op runs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnRequest {
    /// Ops run when the (empty) compare list holds.
    #[prost(message, repeated, tag = "2")]
    pub success: Vec<RequestOp>,
}

/// `etcdserverpb.TxnResponse` (nothing read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnResponse {}

/// Why an etcd call failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// The endpoint is not a usable URL or cannot be reached.
    #[error("etcd endpoint {endpoint}: {source}")]
    Connect {
        /// The endpoint as given.
        endpoint: String,
        /// What failed.
        source: tonic::transport::Error,
    },
    /// The call failed.
    #[error("etcd {method}: {status}")]
    Rpc {
        /// The method path.
        method: &'static str,
        /// The status etcd answered.
        status: Box<tonic::Status>,
    },
}

/// A connection to one etcd member's KV service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EtcdKv {
    channel: Channel,
}

impl EtcdKv {
    /// Connects to `endpoint` (e.g. `http://127.0.0.1:2379`).
    pub async fn connect(endpoint: &str) -> Result<Self, EtcdError> {
        let err = |source| EtcdError::Connect { endpoint: endpoint.to_owned(), source };
        let channel = Endpoint::from_shared(endpoint.to_owned()).map_err(err)?.connect().await.map_err(err)?;
        Ok(EtcdKv { channel })
    }

    async fn unary<Req, Resp>(&self, method: &'static str, request: Req) -> Result<Resp, EtcdError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let rpc = |status| EtcdError::Rpc { method, status: Box::new(status) };
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.map_err(|e| rpc(tonic::Status::unavailable(e.to_string())))?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let path = PathAndQuery::from_static(method);
        Ok(grpc.unary(tonic::Request::new(request), path, codec).await.map_err(rpc)?.into_inner())
    }

    /// One put (committed on a quorum, fsync'd, when it returns).
    pub async fn put(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), EtcdError> {
        self.unary::<_, PutResponse>("/etcdserverpb.KV/Put", PutRequest { key, value }).await.map(|_| ())
    }

    /// Many puts in one transaction (one Raft entry).
    pub async fn txn_puts(&self, puts: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), EtcdError> {
        let success =
            puts.into_iter().map(|(key, value)| RequestOp { request_put: Some(PutRequest { key, value }) }).collect();
        self.unary::<_, TxnResponse>("/etcdserverpb.KV/Txn", TxnRequest { success }).await.map(|_| ())
    }
}
