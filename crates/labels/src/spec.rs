//! [`BatchSpec`]: what a commissioning batch should contain, and the
//! checks that run before anything random is drawn.

use veritrace_core::code::CodePolicy;
use veritrace_core::gs1::{
    DlHost, Field, Gs1Error, Gtin, MAX_COMPANY_PREFIX_LEN, MIN_COMPANY_PREFIX_LEN, Serial, Sgln,
};

use crate::LabelError;
use crate::serials;

/// Most items one batch may hold.
pub const MAX_COUNT: u32 = 1_000_000;

/// Items per `CommissionItems` action unless the spec says otherwise: about
/// 600 kB of protobuf, well under gRPC's customary 4 MB message limit.
pub const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// Most items one `CommissionItems` action may hold (the ledger's limit).
pub const MAX_CHUNK_SIZE: usize = 100_000;

/// How item serials (GS1 AI 21) are formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialScheme {
    /// `prefix` followed by `start`, `start + 1`, ... left-padded with
    /// zeros to `width` digits: prefix `"LOT7-"`, start 1, width 6 gives
    /// `LOT7-000001`, `LOT7-000002`, ... Numbers that outgrow `width`
    /// simply get longer. The prefix must be GS1 character set 82 and the
    /// longest serial at most 20 characters.
    ///
    /// Sequential serials are guessable; that is fine, because the code,
    /// not the serial, is the secret.
    Sequential {
        /// Text before the number (may be empty).
        prefix: String,
        /// Number of the first item.
        start: u64,
        /// Minimum digits of the number.
        width: usize,
    },
    /// `length` random characters from the alphabet of
    /// [`CodeAlphabet::ALPHANUMERIC`](veritrace_core::code::CodeAlphabet::ALPHANUMERIC)
    /// (digits 2-9 and upper-case letters without `I`, `L`, `O`, so a
    /// printed serial cannot be misread), unique within the batch. Length
    /// 4 to 20, and long enough that the batch fills at most a quarter of
    /// the possible serials.
    Random {
        /// Characters per serial.
        length: usize,
    },
}

/// What to commission: one GTIN, optionally one lot, `count` items.
///
/// Build one with [`BatchSpec::new`] and adjust the public fields;
/// [`generate`](crate::generate) checks everything with
/// [`BatchSpec::validate`] before drawing any randomness.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSpec {
    /// The product's GTIN (normalised to 14 digits).
    pub gtin: Gtin,
    /// Lot / batch number (GS1 AI 10), 1 to 20 characters of set 82; `None`
    /// if the product is not lot-managed.
    pub lot: Option<String>,
    /// Number of items, 1 to [`MAX_COUNT`].
    pub count: u32,
    /// How serials are formed.
    pub serials: SerialScheme,
    /// The brand's code policy for this GTIN. Must match the product's
    /// registered policy or the codes will not verify.
    pub policy: CodePolicy,
    /// Items per `CommissionItems` action, 1 to [`MAX_CHUNK_SIZE`];
    /// [`DEFAULT_CHUNK_SIZE`] by default.
    pub chunk_size: usize,
    /// Production time of the batch, copied into every action.
    pub production_time: Option<prost_types::Timestamp>,
    /// Expiry date (GS1 AI 17) as `YYYY-MM-DD`, copied into every action.
    pub expiry_date: Option<String>,
    /// Where the items were made or labelled: an SGLN EPC URI or a GLN
    /// Digital Link, copied as given into every action.
    pub biz_location: Option<String>,
    /// Length of the brand's GS1 Company Prefix (6 to 12). The EPC URI
    /// ([`Label::sgtin_uri`](crate::Label::sgtin_uri)) cannot be written
    /// without it; `None` leaves that field empty.
    pub company_prefix_len: Option<usize>,
    /// The brand's whole code key, for products whose policy is
    /// CODE_DIGEST_SCHEME_THRESHOLD_OPRF_V1: digests are `F_k(item key ‖
    /// code)` and the actions carry no salt. `None`: salted BLAKE3_V1.
    pub code_key: Option<BrandCodeKey>,
    /// The host the labels' Digital Links start with: the network's
    /// resolver or the brand's own domain ([`DlHost::gs1`] by default).
    pub label_host: DlHost,
}

/// A brand's whole threshold code key (`veritrace codes deal-key`), held
/// while it commissions. `Debug` shows the public key only; two keys are
/// equal when their public keys are.
#[derive(Clone)]
pub struct BrandCodeKey(pub veritrace_core::oprf::OprfKey);

impl std::fmt::Debug for BrandCodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BrandCodeKey(public {:02x?})", self.0.public().to_bytes())
    }
}

impl PartialEq for BrandCodeKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.public() == other.0.public()
    }
}

impl BatchSpec {
    /// A spec for `count` items of `gtin` (8, 12, 13 or 14 digits) with
    /// the default code policy and chunk size, no lot and no optional
    /// fields. Only the GTIN is checked here.
    pub fn new(gtin: &str, count: u32, serials: SerialScheme) -> Result<Self, LabelError> {
        let gtin = Gtin::parse(gtin).map_err(|source| LabelError::InvalidGtin { input: gtin.to_owned(), source })?;
        Ok(BatchSpec {
            gtin,
            lot: None,
            count,
            serials,
            policy: CodePolicy::default(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            production_time: None,
            expiry_date: None,
            biz_location: None,
            company_prefix_len: None,
            code_key: None,
            label_host: DlHost::gs1(),
        })
    }

    /// Checks every field; [`generate`](crate::generate) calls this first.
    pub fn validate(&self) -> Result<(), LabelError> {
        if !(1..=MAX_COUNT).contains(&self.count) {
            return Err(LabelError::CountOutOfRange { count: self.count, max: MAX_COUNT });
        }
        if !(1..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(LabelError::ChunkSizeOutOfRange { chunk_size: self.chunk_size, max: MAX_CHUNK_SIZE });
        }
        self.policy.validate().map_err(LabelError::InvalidPolicy)?;
        if let Some(lot) = &self.lot {
            check_lot(lot)?;
        }
        serials::check_scheme(&self.serials, self.count)?;
        if let Some(date) = &self.expiry_date
            && !is_calendar_date(date)
        {
            return Err(LabelError::InvalidExpiryDate { value: date.clone() });
        }
        if let Some(location) = &self.biz_location {
            parse_location(location)
                .map_err(|source| LabelError::InvalidBizLocation { value: location.clone(), source })?;
        }
        if let Some(len) = self.company_prefix_len
            && !(MIN_COMPANY_PREFIX_LEN..=MAX_COMPANY_PREFIX_LEN).contains(&len)
        {
            return Err(LabelError::InvalidCompanyPrefixLength { len });
        }
        Ok(())
    }
}

/// Checks a lot against the rules of GS1 AI 10: 1 to 20 characters of set
/// 82. (The same rules as a serial, but errors name the lot field.)
pub(crate) fn check_lot(lot: &str) -> Result<(), LabelError> {
    let invalid = |source| LabelError::InvalidLot { lot: lot.to_owned(), source };
    if lot.is_empty() {
        return Err(invalid(Gs1Error::Empty { field: Field::Lot }));
    }
    if let Some((index, ch)) = lot.chars().enumerate().find(|(_, c)| !veritrace_core::gs1::is_cset82(*c)) {
        return Err(invalid(Gs1Error::InvalidChar { field: Field::Lot, index, ch }));
    }
    // Set 82 is ASCII, so bytes are characters from here on.
    if lot.len() > Serial::MAX_LEN {
        return Err(invalid(Gs1Error::TooLong { field: Field::Lot, len: lot.len(), max: Serial::MAX_LEN }));
    }
    Ok(())
}

/// Parses a business location in one of the two forms the protocol allows
/// (an element string is a valid SGLN but not a valid `biz_location`).
fn parse_location(s: &str) -> Result<Sgln, Gs1Error> {
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        Sgln::parse_epc_uri(s)
    } else {
        Sgln::parse_digital_link(s)
    }
}

/// Whether `s` is `YYYY-MM-DD` naming a real day of the Gregorian calendar.
fn is_calendar_date(s: &str) -> bool {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape_ok {
        return false;
    }
    let num = |range: std::ops::Range<usize>| s.get(range).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BatchSpec {
        BatchSpec::new("09506000134352", 10, SerialScheme::Sequential { prefix: String::new(), start: 1, width: 0 })
            .expect("valid GTIN")
    }

    #[test]
    fn new_parses_and_pads_the_gtin() {
        let s = BatchSpec::new("4006381333931", 1, SerialScheme::Random { length: 8 }).expect("GTIN-13");
        assert_eq!(s.gtin.as_str(), "04006381333931");
        assert_eq!(s.chunk_size, DEFAULT_CHUNK_SIZE);
        assert_eq!(s.validate().map_err(|e| e.to_string()), Ok(()));
        let err = BatchSpec::new("4006381333932", 1, SerialScheme::Random { length: 8 });
        assert!(matches!(err, Err(LabelError::InvalidGtin { ref input, source: Gs1Error::BadCheckDigit { .. } })
            if input == "4006381333932"));
    }

    #[test]
    fn ranges_are_checked() {
        for count in [0, MAX_COUNT + 1] {
            let s = BatchSpec { count, ..spec() };
            assert!(
                matches!(s.validate(), Err(LabelError::CountOutOfRange { count: c, max: MAX_COUNT }) if c == count)
            );
        }
        for chunk_size in [0, MAX_CHUNK_SIZE + 1] {
            let s = BatchSpec { chunk_size, ..spec() };
            assert!(matches!(s.validate(), Err(LabelError::ChunkSizeOutOfRange { .. })));
        }
        let s = BatchSpec { policy: CodePolicy { length: 3, ..CodePolicy::default() }, ..spec() };
        assert!(matches!(s.validate(), Err(LabelError::InvalidPolicy(_))));
        for len in [5, 13] {
            let s = BatchSpec { company_prefix_len: Some(len), ..spec() };
            assert!(matches!(s.validate(), Err(LabelError::InvalidCompanyPrefixLength { len: l }) if l == len));
        }
    }

    #[test]
    fn lots_follow_ai_10() {
        assert!(check_lot("L<&>\"'!%20").is_ok());
        assert!(check_lot(&"A".repeat(20)).is_ok());
        let err = |lot: &str| match check_lot(lot) {
            Err(LabelError::InvalidLot { source, .. }) => Some(source),
            _ => None,
        };
        assert_eq!(err(""), Some(Gs1Error::Empty { field: Field::Lot }));
        assert_eq!(err("AB C"), Some(Gs1Error::InvalidChar { field: Field::Lot, index: 2, ch: ' ' }));
        assert_eq!(err(&"A".repeat(21)), Some(Gs1Error::TooLong { field: Field::Lot, len: 21, max: 20 }));
    }

    #[test]
    fn expiry_dates_are_real_days() {
        for ok in ["2026-12-31", "2024-02-29", "2000-02-29", "2027-04-30"] {
            assert!(is_calendar_date(ok), "{ok}");
        }
        for bad in ["2026-13-01", "2026-00-10", "2026-04-31", "2025-02-29", "1900-02-29", "2026-1-01", "2026/01/01"] {
            assert!(!is_calendar_date(bad), "{bad}");
        }
        let s = BatchSpec { expiry_date: Some("2026-02-30".into()), ..spec() };
        assert!(matches!(s.validate(), Err(LabelError::InvalidExpiryDate { .. })));
    }

    #[test]
    fn business_location_is_an_sgln_uri_or_gln_digital_link() {
        for ok in ["urn:epc:id:sgln:9506000.16490.0", "https://id.gs1.org/414/9506000164908"] {
            let s = BatchSpec { biz_location: Some(ok.into()), ..spec() };
            assert_eq!(s.validate().map_err(|e| e.to_string()), Ok(()), "{ok}");
        }
        for bad in ["(414)9506000164908", "urn:epc:id:sgtin:9506000.134352.1", "factory 7"] {
            let s = BatchSpec { biz_location: Some(bad.into()), ..spec() };
            assert!(matches!(s.validate(), Err(LabelError::InvalidBizLocation { .. })), "{bad}");
        }
    }
}
