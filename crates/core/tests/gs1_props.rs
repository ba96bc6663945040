//! Property tests: every output form parses back to the same value, and no
//! input makes a parser panic.

use proptest::prelude::*;
use veritrace_core::gs1::{EpcId, Gln, GlnExtension, Gtin, Serial, Sgln, Sgtin, Sscc, check_digit};

/// A set-82 string of 1 to 20 characters.
const SET82_1_20: &str = "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}";

fn arb_sgtin() -> impl Strategy<Value = Sgtin> {
    ("[0-9]{13}", SET82_1_20).prop_map(|(body, serial)| {
        Sgtin::new(Gtin::from_body(&body).expect("13 digits"), Serial::parse(&serial).expect("set 82"))
    })
}

fn arb_sscc() -> impl Strategy<Value = Sscc> {
    "[0-9]{17}".prop_map(|body| Sscc::from_body(&body).expect("17 digits"))
}

fn arb_sgln() -> impl Strategy<Value = Sgln> {
    ("[0-9]{12}", proptest::option::of(SET82_1_20)).prop_map(|(body, ext)| {
        Sgln::new(Gln::from_body(&body).expect("12 digits"), ext.map(|e| GlnExtension::parse(&e).expect("set 82")))
    })
}

/// Escapes every byte, the most verbose legal spelling.
fn escape_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02x}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sgtin_round_trips(x in arb_sgtin(), p in 6usize..=12) {
        let dl = x.to_digital_link();
        prop_assert_eq!(Sgtin::parse_any(&dl), Ok(x.clone()));
        prop_assert_eq!(Sgtin::parse_digital_link(&dl), Ok(x.clone()));
        let epc = x.to_epc_uri(p).expect("valid prefix length");
        prop_assert_eq!(Sgtin::parse_any(&epc), Ok(x.clone()));
        prop_assert_eq!(Sgtin::parse_any(&x.to_element_string()), Ok(x.clone()));
        prop_assert_eq!(EpcId::parse(&dl), Ok(EpcId::Sgtin(x.clone())));
        prop_assert_eq!(EpcId::parse(&epc), Ok(EpcId::Sgtin(x.clone())));
        prop_assert_eq!(x.to_string(), dl);
        // Over-escaped, lower-case hex, other host, path prefix, GTIN-13
        // spelling where possible, extra qualifier and query: same item.
        let gtin = x.gtin.as_str().strip_prefix('0').unwrap_or(x.gtin.as_str());
        let verbose = format!(
            "http://Brand.Example/a/b/01/{gtin}/21/{}/10/L?17=991231",
            escape_all(x.serial.as_str())
        );
        prop_assert_eq!(Sgtin::parse_any(&verbose).map(|y| y.key_bytes()), Ok(x.key_bytes()));
        let parts: Vec<&str> = epc.splitn(3, '.').collect();
        let verbose_epc = format!(
            "URN:epc:ID:SGTIN{}.{}.{}",
            parts[0].strip_prefix("urn:epc:id:sgtin").unwrap_or_default(),
            parts[1],
            escape_all(x.serial.as_str())
        );
        prop_assert_eq!(Sgtin::parse_any(&verbose_epc), Ok(x.clone()));
    }

    #[test]
    fn sscc_round_trips(x in arb_sscc(), p in 6usize..=12) {
        prop_assert_eq!(Sscc::parse_any(&x.to_digital_link()), Ok(x));
        let epc = x.to_epc_uri(p).expect("valid prefix length");
        prop_assert_eq!(Sscc::parse_any(&epc), Ok(x));
        prop_assert_eq!(Sscc::parse_any(&x.to_element_string()), Ok(x));
        prop_assert_eq!(Sscc::parse_any(x.as_str()), Ok(x));
        prop_assert_eq!(EpcId::parse(&epc), Ok(EpcId::Sscc(x)));
    }

    #[test]
    fn sgln_round_trips(x in arb_sgln(), p in 6usize..=12) {
        prop_assert_eq!(Sgln::parse_any(&x.to_digital_link()), Ok(x.clone()));
        let epc = x.to_epc_uri(p).expect("valid prefix length");
        prop_assert_eq!(Sgln::parse_any(&epc), Ok(x.clone()));
        prop_assert_eq!(Sgln::parse_any(&x.to_element_string()), Ok(x.clone()));
        prop_assert_eq!(EpcId::parse(&epc), Ok(EpcId::Sgln(x.clone())));
    }

    #[test]
    fn one_wrong_digit_is_always_caught(body in "[0-9]{13}", pos in 0usize..14, delta in 1u8..10) {
        let gtin = Gtin::from_body(&body).expect("13 digits");
        let mut digits = gtin.as_str().as_bytes().to_vec();
        digits[pos] = b'0' + (digits[pos] - b'0' + delta) % 10;
        let bad = String::from_utf8(digits).expect("ASCII");
        prop_assert!(Gtin::parse(&bad).is_err());
        prop_assert_eq!(check_digit(&body).map(|d| b'0' + d), Ok(gtin.as_str().as_bytes()[13]));
    }

    #[test]
    fn parsers_never_panic_on_anything(s in any::<String>()) {
        let _ = Sgtin::parse_any(&s);
        let _ = Sscc::parse_any(&s);
        let _ = Sgln::parse_any(&s);
        let _ = EpcId::parse(&s);
        let _ = Gtin::parse(&s);
        let _ = Serial::parse(&s);
        let _ = check_digit(&s);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        head in prop_oneof![
            Just("urn:epc:id:sgtin:"), Just("urn:epc:id:sscc:"), Just("urn:epc:id:sgln:"),
            Just("urn:epc:id:giai:"), Just("https://id.gs1.org/"), Just("http://h/x/"),
            Just("(01)"), Just("(00)"), Just("(414)"), Just(""),
        ],
        tail in "[0-9./%A-Fa-z()?#\"&<>é ]{0,48}",
    ) {
        let s = format!("{head}{tail}");
        for r in [
            Sgtin::parse_any(&s).map(|x| x.to_digital_link()),
            Sscc::parse_any(&s).map(|x| x.to_digital_link()),
            Sgln::parse_any(&s).map(|x| x.to_digital_link()),
            EpcId::parse(&s).map(|x| x.to_string()),
        ] {
            match r {
                // Whatever parses re-parses to the same canonical form.
                Ok(canonical) => prop_assert_eq!(
                    EpcId::parse(&canonical).map(|x| x.to_string()),
                    Ok(canonical.clone())
                ),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
