//! [`LabelError`]: everything that can stop a batch or its label files.

use std::io;

use veritrace_core::gs1::Gs1Error;

/// Why a batch could not be generated or its labels not written.
///
/// Every variant except [`LabelError::RngStuck`] and [`LabelError::Io`] is
/// a problem with the input (the [`BatchSpec`](crate::BatchSpec) or the
/// [`SheetLayout`](crate::SheetLayout)) and will fail again until that is
/// changed. No variant ever contains a verification code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The GTIN does not parse (length, digits or check digit).
    #[error("invalid GTIN {input:?}")]
    InvalidGtin {
        /// The GTIN as given.
        input: String,
        /// What is wrong with it.
        #[source]
        source: Gs1Error,
    },
    /// The number of items is outside `1..=max`.
    #[error("item count {count} is outside 1..={max}")]
    CountOutOfRange {
        /// The count asked for.
        count: u32,
        /// [`MAX_COUNT`](crate::MAX_COUNT).
        max: u32,
    },
    /// The number of items per action is outside `1..=max`.
    #[error("chunk size {chunk_size} is outside 1..={max}")]
    ChunkSizeOutOfRange {
        /// The chunk size asked for.
        chunk_size: usize,
        /// [`MAX_CHUNK_SIZE`](crate::MAX_CHUNK_SIZE).
        max: usize,
    },
    /// The code policy is invalid (its length is outside 4..=32).
    #[error("invalid code policy")]
    InvalidPolicy(#[source] veritrace_core::code::CodeError),
    /// The lot is empty, too long or has a character outside GS1 set 82.
    #[error("invalid lot {lot:?}")]
    InvalidLot {
        /// The lot as given.
        lot: String,
        /// What is wrong with it (field [`Lot`](veritrace_core::gs1::Field::Lot)).
        #[source]
        source: Gs1Error,
    },
    /// The serial scheme would produce serials longer than GS1 allows
    /// (prefix plus digits, or a random length).
    #[error("serial {serial:?} would be {len} characters, at most {max} allowed: shorten the prefix or the width")]
    SerialTooLong {
        /// The longest serial the scheme would produce.
        serial: String,
        /// Its length.
        len: usize,
        /// [`Serial::MAX_LEN`](veritrace_core::gs1::Serial::MAX_LEN).
        max: usize,
    },
    /// A serial the scheme would produce is not a valid GS1 serial (a
    /// prefix character outside set 82, or an empty serial).
    #[error("serial {serial:?} is not a valid GS1 serial")]
    InvalidSerial {
        /// The offending serial.
        serial: String,
        /// What is wrong with it.
        #[source]
        source: Gs1Error,
    },
    /// Sequential numbering from `start` runs past `u64::MAX`.
    #[error("sequential serials from {start} overflow after {count} items")]
    SerialOverflow {
        /// First number.
        start: u64,
        /// Items asked for.
        count: u32,
    },
    /// A random serial length outside `min..=max`.
    #[error("random serial length {length} is outside {min}..={max}")]
    RandomSerialLength {
        /// The length asked for.
        length: usize,
        /// Shortest allowed.
        min: usize,
        /// Longest allowed.
        max: usize,
    },
    /// Too few random serials of this length exist for `count` unique ones
    /// to be drawn without many collisions.
    #[error("{count} random serials need a length of at least {min_length}, got {length}")]
    SerialSpaceTooSmall {
        /// The length asked for.
        length: usize,
        /// Items asked for.
        count: u32,
        /// The shortest length that is enough.
        min_length: usize,
    },
    /// The expiry date is not a `YYYY-MM-DD` calendar date.
    #[error("expiry date {value:?} is not a YYYY-MM-DD calendar date")]
    InvalidExpiryDate {
        /// The date as given.
        value: String,
    },
    /// The business location is not an SGLN EPC URI or a GLN Digital Link.
    #[error("business location {value:?} is not an SGLN EPC URI or a GLN Digital Link")]
    InvalidBizLocation {
        /// The location as given.
        value: String,
        /// What is wrong with it.
        #[source]
        source: Gs1Error,
    },
    /// The GS1 company prefix length is outside 6..=12.
    #[error("GS1 company prefix length {len} is outside 6..=12")]
    InvalidCompanyPrefixLength {
        /// The length given.
        len: usize,
    },
    /// The random generator kept producing unusable bytes (or the same
    /// serials over and over): it is broken. Retrying with a working
    /// generator succeeds.
    #[error("random generator is stuck: {what}")]
    RngStuck {
        /// What it failed to produce.
        what: &'static str,
    },
    /// The sheet layout cannot hold a scannable label.
    #[error("unusable label sheet layout: {reason}")]
    InvalidLayout {
        /// What is wrong.
        reason: &'static str,
    },
    /// More labels were given for one sheet than it holds.
    #[error("{count} labels do not fit on one sheet of {per_sheet}")]
    SheetOverflow {
        /// Labels given.
        count: usize,
        /// [`SheetLayout::labels_per_sheet`](crate::SheetLayout::labels_per_sheet).
        per_sheet: usize,
    },
    /// A label's Digital Link URI could not be encoded as a QR code.
    #[error("cannot encode {url:?} as a QR code")]
    QrEncoding {
        /// The URI.
        url: String,
        /// The encoder's reason.
        #[source]
        source: qrcode::types::QrError,
    },
    /// Writing the CSV or SVG failed.
    #[error("writing label file")]
    Io(#[from] io::Error),
}
