//! Generated code for the `veritrace.v1` protobuf package.
//!
//! The `.proto` files at `proto/veritrace/v1/` in the repository are the
//! source of truth; this crate only compiles them (see `build.rs`). Domain
//! logic lives in `veritrace-core`; nothing here should be hand-written
//! beyond the module wiring.

#![allow(missing_docs, clippy::all, clippy::pedantic)] // generated code

/// The `veritrace.v1` package.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/veritrace.v1.rs"));
}
