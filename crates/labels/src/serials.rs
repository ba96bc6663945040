//! Serial numbers for a batch, from a [`SerialScheme`].

use std::collections::HashSet;

use rand::CryptoRng;
use veritrace_core::code::{CodeAlphabet, CodeError, CodePolicy, generate_code};
use veritrace_core::gs1::Serial;

use crate::{LabelError, SerialScheme};

/// Shortest random serial: the shortest string [`generate_code`] draws.
const MIN_RANDOM_LEN: usize = CodePolicy::MIN_LENGTH as usize;

/// A random scheme must have at least this many possible serials per item,
/// so that at most a quarter of draws collide and the retry bound in
/// [`random`] is only ever reached by a broken generator.
const SPACE_PER_ITEM: u128 = 4;

/// Checks that `scheme` can produce `count` valid, unique serials, without
/// producing them: the first and the longest serial of a sequential scheme
/// are built and parsed.
pub(crate) fn check_scheme(scheme: &SerialScheme, count: u32) -> Result<(), LabelError> {
    match scheme {
        SerialScheme::Sequential { prefix, start, width } => {
            let last = start
                .checked_add(u64::from(count.saturating_sub(1)))
                .ok_or(LabelError::SerialOverflow { start: *start, count })?;
            // Numbers only grow, so the last serial is the longest.
            let longest = sequential(prefix, last, *width);
            let len = longest.chars().count();
            if len > Serial::MAX_LEN {
                return Err(LabelError::SerialTooLong { serial: longest, len, max: Serial::MAX_LEN });
            }
            parse(sequential(prefix, *start, *width)).map(|_| ())
        }
        SerialScheme::Random { length } => {
            let length = *length;
            if !(MIN_RANDOM_LEN..=Serial::MAX_LEN).contains(&length) {
                return Err(LabelError::RandomSerialLength { length, min: MIN_RANDOM_LEN, max: Serial::MAX_LEN });
            }
            let needed = u128::from(count) * SPACE_PER_ITEM;
            if space(length) < needed {
                let min_length = (length..=Serial::MAX_LEN).find(|l| space(*l) >= needed).unwrap_or(Serial::MAX_LEN);
                return Err(LabelError::SerialSpaceTooSmall { length, count, min_length });
            }
            Ok(())
        }
    }
}

/// The `count` serials of `scheme`, in order. Call [`check_scheme`] first.
pub(crate) fn generate<R: CryptoRng + ?Sized>(
    scheme: &SerialScheme,
    count: u32,
    rng: &mut R,
) -> Result<Vec<Serial>, LabelError> {
    match scheme {
        SerialScheme::Sequential { prefix, start, width } => (0..u64::from(count))
            .map(|i| {
                let n = start.checked_add(i).ok_or(LabelError::SerialOverflow { start: *start, count })?;
                parse(sequential(prefix, n, *width))
            })
            .collect(),
        SerialScheme::Random { length } => random(*length, count, rng),
    }
}

/// `prefix` then `n` zero-padded to `width` digits.
fn sequential(prefix: &str, n: u64, width: usize) -> String {
    format!("{prefix}{n:0width$}")
}

fn parse(serial: String) -> Result<Serial, LabelError> {
    Serial::parse(&serial).map_err(|source| LabelError::InvalidSerial { serial, source })
}

/// Number of possible random serials of `length` characters.
fn space(length: usize) -> u128 {
    let symbols = CodeAlphabet::ALPHANUMERIC.symbols().len() as u128;
    u32::try_from(length).ok().and_then(|l| symbols.checked_pow(l)).unwrap_or(u128::MAX)
}

/// `count` distinct random serials of `length` characters, in draw order.
fn random<R: CryptoRng + ?Sized>(length: usize, count: u32, rng: &mut R) -> Result<Vec<Serial>, LabelError> {
    let bad_length = || LabelError::RandomSerialLength { length, min: MIN_RANDOM_LEN, max: Serial::MAX_LEN };
    // The code generator already draws uniform strings over a look-alike-free
    // alphabet; a serial is just a (public) string drawn the same way.
    let policy =
        CodePolicy { length: u8::try_from(length).map_err(|_| bad_length())?, alphabet: CodeAlphabet::ALPHANUMERIC };
    let wanted = count as usize;
    let max_draws = wanted.saturating_mul(2).saturating_add(64);
    let mut seen = HashSet::with_capacity(wanted);
    let mut out = Vec::with_capacity(wanted);
    for _ in 0..max_draws {
        if out.len() == wanted {
            break;
        }
        let s = generate_code(&policy, rng).map_err(|e| match e {
            CodeError::RngStuck { .. } => LabelError::RngStuck { what: "random serial characters" },
            _ => bad_length(),
        })?;
        if seen.insert(s.clone()) {
            out.push(parse(s)?);
        }
    }
    if out.len() < wanted {
        return Err(LabelError::RngStuck { what: "distinct random serials" });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn seq(prefix: &str, start: u64, width: usize) -> SerialScheme {
        SerialScheme::Sequential { prefix: prefix.to_owned(), start, width }
    }

    fn strings(scheme: &SerialScheme, count: u32) -> Vec<String> {
        check_scheme(scheme, count).expect("valid scheme");
        let serials = generate(scheme, count, &mut StdRng::seed_from_u64(1)).expect("generates");
        serials.iter().map(|s| s.as_str().to_owned()).collect()
    }

    #[test]
    fn sequential_serials_are_padded_and_outgrow_the_width() {
        assert_eq!(strings(&seq("LOT7-", 1, 6), 3), ["LOT7-000001", "LOT7-000002", "LOT7-000003"]);
        assert_eq!(strings(&seq("", 98, 2), 3), ["98", "99", "100"]);
        assert_eq!(strings(&seq("A", 0, 0), 2), ["A0", "A1"]);
        // The largest number that still fits in 20 characters.
        assert_eq!(strings(&seq("", u64::MAX, 20), 1), ["18446744073709551615"]);
    }

    #[test]
    fn a_prefix_that_makes_serials_too_long_is_refused_up_front() {
        let err = check_scheme(&seq("BRAND-FACTORY-7-", 1, 6), 10);
        assert!(
            matches!(err, Err(LabelError::SerialTooLong { ref serial, len: 22, max: 20 }) if serial == "BRAND-FACTORY-7-000010"),
            "{err:?}"
        );
        // Only the last serial is too long: still refused before generation.
        assert!(matches!(
            check_scheme(&seq("ABCDEFGHIJKLMNO", 99_990, 5), 11),
            Err(LabelError::SerialTooLong { len: 21, .. })
        ));
        assert!(check_scheme(&seq("ABCDEFGHIJKLMNO", 99_990, 5), 10).is_ok());
        assert!(matches!(check_scheme(&seq("", u64::MAX, 0), 2), Err(LabelError::SerialOverflow { .. })));
    }

    #[test]
    fn a_prefix_outside_set_82_is_refused() {
        for prefix in ["LOT 7-", "LÖT-", "A#"] {
            assert!(matches!(check_scheme(&seq(prefix, 1, 3), 5), Err(LabelError::InvalidSerial { .. })), "{prefix}");
        }
        // Set 82 punctuation is fine (and escaped later in URIs).
        assert_eq!(strings(&seq("a/b&<", 7, 1), 1), ["a/b&<7"]);
    }

    #[test]
    fn random_serials_are_unique_and_from_the_alphabet() {
        let serials = strings(&SerialScheme::Random { length: 5 }, 50_000);
        assert_eq!(serials.len(), 50_000);
        assert_eq!(serials.iter().collect::<HashSet<_>>().len(), 50_000);
        for s in &serials {
            assert_eq!(s.len(), 5);
            assert!(s.chars().all(|c| CodeAlphabet::ALPHANUMERIC.contains(c)), "{s}");
        }
    }

    #[test]
    fn random_length_and_space_are_checked() {
        for length in [3, 21] {
            assert!(matches!(
                check_scheme(&SerialScheme::Random { length }, 1),
                Err(LabelError::RandomSerialLength { min: 4, max: 20, .. })
            ));
        }
        // 31^4 = 923,521 serials: enough for 230,000 items, not for 300,000.
        assert!(check_scheme(&SerialScheme::Random { length: 4 }, 230_000).is_ok());
        assert!(matches!(
            check_scheme(&SerialScheme::Random { length: 4 }, 300_000),
            Err(LabelError::SerialSpaceTooSmall { length: 4, count: 300_000, min_length: 5 })
        ));
    }
}
