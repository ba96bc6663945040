//! Generated code for the `veritrace.v1` protobuf package.
//!
//! The `.proto` files at `proto/veritrace/v1/` in the repository are the
//! source of truth; this crate only compiles them (see `build.rs`). Domain
//! logic lives in `veritrace-core`; nothing here is hand-written beyond the
//! module wiring and [`timestamp_from_ms`] / [`ms_from_timestamp`], the one
//! conversion every layer needs.

#![allow(missing_docs, clippy::all, clippy::pedantic)] // generated code

/// The `veritrace.v1` package.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/veritrace.v1.rs"));
}

/// The encoded `google.protobuf.FileDescriptorSet` of every `veritrace.v1`
/// file (with imports), for reflection: reading and writing messages as
/// proto3 JSON, or serving gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/veritrace_descriptor.bin"));

/// Milliseconds since the Unix epoch of a `google.protobuf.Timestamp`
/// (the inverse of [`timestamp_from_ms`]; sub-millisecond nanos are
/// dropped, out-of-range seconds saturate).
pub fn ms_from_timestamp(t: &prost_types::Timestamp) -> i64 {
    t.seconds.saturating_mul(1000).saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// A `google.protobuf.Timestamp` for `ms` milliseconds since the Unix
/// epoch (negative values are before it; nanos stay in 0..1e9).
pub fn timestamp_from_ms(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}
