//! Prepares a commissioning batch for a brand: item serials, secret
//! verification codes, the `CommissionItems` actions that put the items on
//! the ledger, and the label sheet and CSV that carry the codes to print.
//!
//! ```text
//! BatchSpec ──generate──► Batch { actions: Vec<CommissionItems>,  → sign and submit
//!                                 labels:  Vec<Label> }            → write_csv / svg_pages
//! ```
//!
//! * [`BatchSpec`] says what to make: GTIN, lot, how many items, how their
//!   serials are formed ([`SerialScheme`]) and the brand's
//!   [`CodePolicy`](veritrace_core::code::CodePolicy).
//! * [`generate`] draws the serials and codes from a cryptographic RNG,
//!   and splits the items into actions of at most
//!   [`BatchSpec::chunk_size`] items, each with its own random
//!   `batch_salt`. Digests are
//!   [`code_digest`](veritrace_core::code::code_digest) over the item's
//!   [`Sgtin::key_bytes`](veritrace_core::gs1::Sgtin::key_bytes)
//!   (`CODE_DIGEST_SCHEME_BLAKE3_V1`).
//! * [`write_csv`] and [`svg_pages`] / [`write_svg_sheet`] turn the
//!   [`Label`]s into a printer's data file and printable A4 sheets with a
//!   GS1 Digital Link QR code per item.
//!
//! ```
//! use veritrace_labels::{BatchSpec, SerialScheme, SheetLayout, generate, svg_pages, write_csv};
//!
//! let serials = SerialScheme::Sequential { prefix: "LOT7-".into(), start: 1, width: 6 };
//! let spec = BatchSpec { lot: Some("LOT7".into()), ..BatchSpec::new("09506000134352", 30, serials)? };
//! let batch = generate(&spec, &mut rand::rng())?;
//! assert_eq!(batch.actions.len(), 1); // 30 items fit one action
//! assert_eq!(batch.labels[0].serial.as_str(), "LOT7-000001");
//! let link = &batch.labels[0].digital_link; // with the label token as `t`
//! assert!(link.starts_with("https://id.gs1.org/01/09506000134352/10/LOT7/21/LOT7-000001?t="), "{link}");
//!
//! let mut csv = Vec::new();
//! write_csv(&batch.labels, &mut csv)?;
//! let sheets = svg_pages(&batch.labels, &SheetLayout::default())?; // 24 labels per A4 sheet
//! assert_eq!(sheets.len(), 2);
//! # Ok::<(), veritrace_labels::LabelError>(())
//! ```
//!
//! # Security: the sheet and the CSV hold the secrets
//!
//! The actions carry only salted digests; the clear codes exist only in
//! [`Label::code`], and therefore in every CSV and SVG written from the
//! labels. Whoever holds those files can make clones that verify as
//! genuine. Treat them like key material: send them to the label printer
//! over an encrypted channel, do not keep copies, never log them (the
//! `Debug` output of [`Label`] redacts the code for that reason). If a file
//! leaks, decommission the items with `DECOMMISSION_REASON_CODE_COMPROMISED`.
//!
//! This crate is pure: no I/O beyond the `Write` it is handed, no clock,
//! no global RNG. With a seeded RNG the output is reproducible, which is
//! for tests only; production batches need a CSPRNG such as `rand::rng()`.

mod batch;
mod csv;
mod error;
mod label;
mod serials;
mod spec;
mod svg;

pub use batch::{Batch, generate};
pub use csv::{CSV_HEADER, write_csv};
pub use error::LabelError;
pub use label::Label;
pub use spec::{BatchSpec, BrandCodeKey, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_COUNT, SerialScheme};
pub use svg::{SheetLayout, svg_pages, write_svg_sheet};
