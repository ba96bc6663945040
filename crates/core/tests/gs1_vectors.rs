//! Known GS1 / EPC TDS vectors, cross-form equivalence and every class of
//! malformed input.

use veritrace_core::gs1::{EpcId, Field, Form, Gln, GlnExtension, Gs1Error, Gtin, Kind, Serial, Sgln, Sgtin, Sscc};

fn sgtin(s: &str) -> Sgtin {
    Sgtin::parse_any(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> Gs1Error {
    match Sgtin::parse_any(s) {
        Ok(x) => panic!("{s} parsed as {x:?}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- SGTIN --

#[test]
fn tds_sgtin_vectors() {
    // TDS: indicator 8 moves to the front of the GTIN; check digit 8.
    let x = sgtin("urn:epc:id:sgtin:0614141.812345.6789");
    assert_eq!(x.gtin.as_str(), "80614141123458");
    assert_eq!(x.serial.as_str(), "6789");
    assert_eq!(x.to_digital_link(), "https://id.gs1.org/01/80614141123458/21/6789");
    assert_eq!(x.to_element_string(), "(01)80614141123458(21)6789");
    assert_eq!(x.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sgtin:0614141.812345.6789"));

    let y = sgtin("urn:epc:id:sgtin:0614141.112345.400");
    assert_eq!(y.to_digital_link(), "https://id.gs1.org/01/10614141123459/21/400");
    assert_eq!(sgtin("https://id.gs1.org/01/10614141123459/21/400"), y);
    assert_eq!(y.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sgtin:0614141.112345.400"));
    assert_eq!(y.to_string(), y.to_digital_link());

    let z = sgtin("urn:epc:id:sgtin:4012345.011111.987");
    assert_eq!(z.to_digital_link(), "https://id.gs1.org/01/04012345111118/21/987");

    // 12-digit company prefix: the item reference is the indicator alone.
    let w = sgtin("urn:epc:id:sgtin:415056789012.0.987654");
    assert_eq!(w.gtin.as_str(), "04150567890128");
    assert_eq!(w.to_epc_uri(12).as_deref(), Ok("urn:epc:id:sgtin:415056789012.0.987654"));
    // The same GTIN written with a 6-digit prefix is the same item.
    let six = w.to_epc_uri(6).expect("6 is a valid prefix length");
    assert_eq!(six, "urn:epc:id:sgtin:415056.0789012.987654");
    assert_eq!(sgtin(&six), w);
}

#[test]
fn tds_escaped_serials() {
    let x = sgtin("urn:epc:id:sgtin:0614141.712345.32a%2Fb");
    assert_eq!(x.gtin.as_str(), "70614141123451");
    assert_eq!(x.serial.as_str(), "32a/b");
    assert_eq!(x.to_digital_link(), "https://id.gs1.org/01/70614141123451/21/32a%2Fb");

    let y = sgtin("urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()");
    assert_eq!(y.serial.as_str(), "6789/&%\"!?()");
    assert_eq!(y.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()"));
    assert_eq!(y.to_digital_link(), "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29");
    assert_eq!(y.to_element_string(), "(01)80614141123458(21)6789/&%\"!?()");
    assert_eq!(sgtin(&y.to_element_string()), y);
    // Digital Link may carry sub-delims raw.
    assert_eq!(sgtin("https://id.gs1.org/01/80614141123458/21/6789%2F&%25%22!%3F()"), y);
    // Needless escapes and lower-case hex decode to the same serial.
    assert_eq!(sgtin("urn:epc:id:sgtin:0614141.812345.%36789%2f%26%25%22%21%3f%28%29"), y);
    // Dots in the serial are fine: only the first two dots split.
    assert_eq!(sgtin("urn:epc:id:sgtin:0614141.812345.a.b.c").serial.as_str(), "a.b.c");
}

#[test]
fn all_forms_give_one_item_and_one_key() {
    let canonical = sgtin("https://id.gs1.org/01/09506000134352/21/ABC-123");
    let spellings = [
        "urn:epc:id:sgtin:9506000.013435.ABC-123",
        "URN:EPC:ID:SGTIN:9506000.013435.ABC-123",
        "urn:epc:id:sgtin:950600.0013435.ABC%2D123",
        "https://id.gs1.org/01/9506000134352/21/ABC-123",
        "http://brand.example/dl/product/01/09506000134352/21/ABC%2d123",
        "HTTPS://brand.example:8443/01/09506000134352/22/V1/10/LOT%2F1x/21/ABC-123?17=251231&linkType=all#top",
        "https://brand.example/01/09506000134352/21/ABC-123/10/LOT7",
        "https://brand.example/01/09506000134352/21/ABC-123/",
        "(01)09506000134352(21)ABC-123",
    ];
    for s in spellings {
        let x = sgtin(s);
        assert_eq!(x, canonical, "{s}");
        assert_eq!(x.key_bytes(), canonical.key_bytes(), "{s}");
        // epcList entries are URIs: element strings are not accepted there.
        if !s.starts_with('(') {
            assert_eq!(EpcId::parse(s), Ok(EpcId::Sgtin(canonical.clone())), "{s}");
        }
    }
    // Dropped qualifiers are still validated: a space is outside set 82
    // even when escaped.
    assert_eq!(
        err("https://brand.example/01/09506000134352/10/LOT%201x/21/ABC-123"),
        Gs1Error::InvalidChar { field: Field::Lot, index: 3, ch: ' ' }
    );
    assert_eq!(canonical.key_bytes(), b"09506000134352ABC-123".to_vec());
    let g = Gtin::parse("9506000134352").expect("GTIN-13");
    let s = Serial::parse("ABC-123").expect("serial");
    assert_eq!(Sgtin::new(g, s), canonical);
    assert_eq!("urn:epc:id:sgtin:9506000.013435.ABC-123".parse::<Sgtin>(), Ok(canonical));
}

#[test]
fn digital_link_gtin_lengths() {
    let a = sgtin("https://h/01/96385074/21/1");
    assert_eq!(a.gtin.as_str(), "00000096385074");
    let b = sgtin("https://h/01/036000291452/21/1");
    assert_eq!(b.gtin.as_str(), "00036000291452");
    assert_eq!(a.to_epc_uri(6).map(|s| sgtin(&s)), Ok(a));
}

#[test]
fn malformed_sgtins_are_typed_errors() {
    use Gs1Error::*;
    let cases: Vec<(&str, Gs1Error)> = vec![
        // Check digit.
        ("https://id.gs1.org/01/10614141123458/21/400", BadCheckDigit { field: Field::Gtin, found: 8, expected: 9 }),
        ("(01)10614141123458(21)400", BadCheckDigit { field: Field::Gtin, found: 8, expected: 9 }),
        // Wrong length.
        (
            "https://id.gs1.org/01/106141411/21/400",
            BadLength { field: Field::Gtin, len: 9, expected: "8, 12, 13 or 14" },
        ),
        (
            "https://id.gs1.org/01/106141411234590/21/400",
            BadLength { field: Field::Gtin, len: 15, expected: "8, 12, 13 or 14" },
        ),
        ("(01)0614141123452(21)400", BadLength { field: Field::Gtin, len: 13, expected: "14" }),
        // Non-digits.
        ("https://id.gs1.org/01/1061414112345X/21/400", NonDigit { field: Field::Gtin, index: 13, ch: 'X' }),
        ("https://id.gs1.org/01/%3106141411234/21/400", NonDigit { field: Field::Gtin, index: 0, ch: '%' }),
        ("urn:epc:id:sgtin:061414a.112345.400", NonDigit { field: Field::CompanyPrefix, index: 6, ch: 'a' }),
        ("urn:epc:id:sgtin:0614141.11234x.400", NonDigit { field: Field::ItemReference, index: 5, ch: 'x' }),
        // Company prefix and partition.
        ("urn:epc:id:sgtin:06141.4112345.400", CompanyPrefixLength { len: 5 }),
        ("urn:epc:id:sgtin:0614141123456.1.400", CompanyPrefixLength { len: 13 }),
        ("urn:epc:id:sgtin:.1061414112345.400", CompanyPrefixLength { len: 0 }),
        (
            "urn:epc:id:sgtin:0614141.12345.400",
            PartitionMismatch { field: Field::ItemReference, len: 5, company_prefix_len: 7, expected: 6 },
        ),
        ("urn:epc:id:sgtin:0614141112345", EpcComponents { kind: Kind::Sgtin, found: 1, expected: 3 }),
        ("urn:epc:id:sgtin:0614141.112345", EpcComponents { kind: Kind::Sgtin, found: 2, expected: 3 }),
        // Empty serial.
        ("urn:epc:id:sgtin:0614141.112345.", Empty { field: Field::Serial }),
        ("https://id.gs1.org/01/10614141123459/21//", Empty { field: Field::Serial }),
        ("(01)10614141123459(21)", Empty { field: Field::Serial }),
        // 21-character serial.
        ("urn:epc:id:sgtin:0614141.112345.123456789012345678901", TooLong { field: Field::Serial, len: 21, max: 20 }),
        (
            "https://id.gs1.org/01/10614141123459/21/%2F23456789012345678901",
            TooLong { field: Field::Serial, len: 21, max: 20 },
        ),
        ("(01)10614141123459(21)123456789012345678901", TooLong { field: Field::Serial, len: 21, max: 20 }),
        // Serial characters.
        ("urn:epc:id:sgtin:0614141.112345.a%20b", InvalidChar { field: Field::Serial, index: 1, ch: ' ' }),
        ("urn:epc:id:sgtin:0614141.112345.a~b", InvalidChar { field: Field::Serial, index: 1, ch: '~' }),
        ("urn:epc:id:sgtin:0614141.112345.caf%C3%A9", InvalidChar { field: Field::Serial, index: 3, ch: 'é' }),
        ("https://id.gs1.org/01/10614141123459/21/caf%C3%A9", InvalidChar { field: Field::Serial, index: 3, ch: 'é' }),
        ("(01)10614141123459(21)a#b", InvalidChar { field: Field::Serial, index: 1, ch: '#' }),
        // Bad escapes.
        ("urn:epc:id:sgtin:0614141.112345.4%0", BadEscape { field: Field::Serial, index: 1 }),
        ("urn:epc:id:sgtin:0614141.112345.%ZZ1", BadEscape { field: Field::Serial, index: 0 }),
        ("https://h/01/10614141123459/21/40%G0", BadEscape { field: Field::Serial, index: 2 }),
        ("urn:epc:id:sgtin:0614141.112345.%FE", NotUtf8 { field: Field::Serial }),
        ("urn:epc:id:sgtin:0614141.112345.a/b", MustEscape { field: Field::Serial, index: 1, ch: '/' }),
        ("urn:epc:id:sgtin:0614141.112345.a?b", MustEscape { field: Field::Serial, index: 1, ch: '?' }),
        ("urn:epc:id:sgtin:0614141.112345.a\"b", MustEscape { field: Field::Serial, index: 1, ch: '"' }),
        ("https://h/01/10614141123459/21/a\"b", MustEscape { field: Field::Serial, index: 1, ch: '"' }),
        // Digital Link structure.
        ("https://id.gs1.org/01/10614141123459", MissingAi { form: Form::DigitalLink, ai: "21" }),
        ("https://id.gs1.org/01/10614141123459/10/LOT", MissingAi { form: Form::DigitalLink, ai: "21" }),
        ("https://id.gs1.org/00/106141412345678908", WrongKind { expected: Kind::Sgtin, found: Kind::Sscc }),
        ("https://id.gs1.org/gtin/10614141123459/ser/400", NoPrimaryKey { segment: "ser".into() }),
        ("https://id.gs1.org/", NoPrimaryKey { segment: String::new() }),
        ("https://id.gs1.org/01/10614141123459/21/1/21/2", DuplicateAi { ai: "21".into() }),
        ("https://id.gs1.org/01/10614141123459/254/1", UnexpectedAi { ai: "254".into(), primary: "01" }),
        ("https:///01/10614141123459/21/1", Malformed { form: Form::DigitalLink, reason: "empty host" }),
        ("https://id.gs1.org/01/10614141123459/21/4 00", InvalidChar { field: Field::Uri, index: 41, ch: ' ' }),
        // Element strings.
        ("(01)10614141123459", MissingAi { form: Form::ElementString, ai: "21" }),
        (
            "(01)10614141123459(10)LOT(21)400",
            Malformed { form: Form::ElementString, reason: "(21) must follow the 14-digit (01) directly" },
        ),
        ("(02)10614141123459(21)400", Malformed { form: Form::ElementString, reason: "must start with (01)" }),
        // Other kinds and schemes.
        ("urn:epc:id:sscc:0614141.1234567890", WrongKind { expected: Kind::Sgtin, found: Kind::Sscc }),
        ("urn:epc:id:grai:0614141.12345.400", UnknownScheme { start: "urn:epc:id:grai:0614141.12345.40".into() }),
        ("urn:epc:id:", Malformed { form: Form::EpcUri, reason: "missing scheme" }),
        ("urn:epc:id::x", Malformed { form: Form::EpcUri, reason: "missing scheme" }),
        ("urn:epc:class:lgtin:0614141.112345.L1", UnknownScheme { start: "urn:epc:class:lgtin:0614141.1123".into() }),
        (
            "ftp://id.gs1.org/01/10614141123459/21/400",
            UnknownScheme { start: "ftp://id.gs1.org/01/106141411234".into() },
        ),
        ("", UnknownScheme { start: String::new() }),
        (" urn:epc:id:sgtin:0614141.112345.400", UnknownScheme { start: " urn:epc:id:sgtin:0614141.112345".into() }),
        ("10614141123459400", UnknownScheme { start: "10614141123459400".into() }),
        ("¯\\_(ツ)_/¯", UnknownScheme { start: "¯\\_(ツ)_/¯".into() }),
    ];
    for (input, want) in cases {
        assert_eq!(err(input), want, "{input}");
        // Display never panics and names something.
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn to_epc_uri_needs_a_valid_prefix_length() {
    let x = sgtin("https://id.gs1.org/01/10614141123459/21/400");
    for p in [0, 5, 13, 14, usize::MAX] {
        assert_eq!(x.to_epc_uri(p), Err(Gs1Error::CompanyPrefixLength { len: p }));
    }
    for p in 6..=12 {
        let uri = x.to_epc_uri(p).expect("valid length");
        assert_eq!(sgtin(&uri), x, "{uri}");
    }
}

// ----------------------------------------------------------------- SSCC --

#[test]
fn sscc_vectors() {
    let s = Sscc::parse_any("urn:epc:id:sscc:0614141.1234567890").expect("TDS example");
    assert_eq!(s.as_str(), "106141412345678908");
    assert_eq!(s.to_digital_link(), "https://id.gs1.org/00/106141412345678908");
    assert_eq!(s.to_element_string(), "(00)106141412345678908");
    assert_eq!(s.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sscc:0614141.1234567890"));
    assert_eq!(s.key_bytes(), b"106141412345678908".to_vec());
    for form in [
        "106141412345678908",
        "(00)106141412345678908",
        "https://id.gs1.org/00/106141412345678908",
        "http://logistics.example/track/00/106141412345678908?x=1",
        "urn:epc:id:sscc:061414.11234567890",
    ] {
        assert_eq!(Sscc::parse_any(form), Ok(s), "{form}");
        assert_eq!(EpcId::parse(form).ok(), if form.starts_with(['h', 'u']) { Some(EpcId::Sscc(s)) } else { None });
    }
    assert_eq!(Sscc::from_body("10614141234567890"), Ok(s));
    assert_eq!(
        Sscc::parse_any("urn:epc:id:sscc:4012345.3111111111").map(|s| s.to_string()).as_deref(),
        Ok("https://id.gs1.org/00/340123451111111111")
    );
}

#[test]
fn malformed_ssccs() {
    use Gs1Error::*;
    let cases: Vec<(&str, Gs1Error)> = vec![
        ("106141412345678907", BadCheckDigit { field: Field::Sscc, found: 7, expected: 8 }),
        ("10614141234567890", BadLength { field: Field::Sscc, len: 17, expected: "18" }),
        ("(00)1061414123456789080", BadLength { field: Field::Sscc, len: 19, expected: "18" }),
        ("https://h/00/10614141234567890x", NonDigit { field: Field::Sscc, index: 17, ch: 'x' }),
        (
            "urn:epc:id:sscc:0614141.123456789",
            PartitionMismatch { field: Field::SerialReference, len: 9, company_prefix_len: 7, expected: 10 },
        ),
        ("urn:epc:id:sscc:0614141.12345.67890", EpcComponents { kind: Kind::Sscc, found: 3, expected: 2 }),
        ("urn:epc:id:sscc:06141411234567890", EpcComponents { kind: Kind::Sscc, found: 1, expected: 2 }),
        ("urn:epc:id:sscc:0614141.12345678x0", NonDigit { field: Field::SerialReference, index: 8, ch: 'x' }),
        ("https://h/00/106141412345678908/21/1", UnexpectedAi { ai: "21".into(), primary: "00" }),
        ("https://h/01/10614141123459/21/400", WrongKind { expected: Kind::Sscc, found: Kind::Sgtin }),
        ("urn:epc:id:sgln:0614141.12345.0", WrongKind { expected: Kind::Sscc, found: Kind::Sgln }),
        ("(00)", Empty { field: Field::Sscc }),
        ("SSCC", UnknownScheme { start: "SSCC".into() }),
    ];
    for (input, want) in cases {
        assert_eq!(Sscc::parse_any(input), Err(want), "{input}");
    }
    let s = Sscc::parse("106141412345678908").expect("valid");
    assert_eq!(s.to_epc_uri(13), Err(Gs1Error::CompanyPrefixLength { len: 13 }));
}

// ----------------------------------------------------------------- SGLN --

#[test]
fn sgln_vectors() {
    let l = Sgln::parse_any("urn:epc:id:sgln:0614141.12345.400").expect("TDS example");
    assert_eq!(l.gln().as_str(), "0614141123452");
    assert_eq!(l.extension().map(GlnExtension::as_str), Some("400"));
    assert_eq!(l.to_digital_link(), "https://id.gs1.org/414/0614141123452/254/400");
    assert_eq!(l.to_element_string(), "(414)0614141123452(254)400");
    assert_eq!(l.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sgln:0614141.12345.400"));
    assert_eq!(l.key_bytes(), b"0614141123452400".to_vec());
    for form in [
        "https://id.gs1.org/414/0614141123452/254/400",
        "(414)0614141123452(254)400",
        "urn:epc:id:sgln:061414112345..400",
        "urn:epc:id:sgln:0614141.12345.%34%300",
    ] {
        assert_eq!(Sgln::parse_any(form).as_ref(), Ok(&l), "{form}");
    }
    assert_eq!(l.to_epc_uri(12).as_deref(), Ok("urn:epc:id:sgln:061414112345..400"));

    // Extension 0 is "no extension" in every form.
    let bare = Sgln::parse_any("urn:epc:id:sgln:0614141.12345.0").expect("no extension");
    assert_eq!(bare.extension(), None);
    assert_eq!(bare.to_digital_link(), "https://id.gs1.org/414/0614141123452");
    assert_eq!(bare.to_element_string(), "(414)0614141123452");
    assert_eq!(bare.to_epc_uri(7).as_deref(), Ok("urn:epc:id:sgln:0614141.12345.0"));
    assert_eq!(bare.key_bytes(), b"0614141123452".to_vec());
    for form in [
        "https://id.gs1.org/414/0614141123452",
        "https://id.gs1.org/414/0614141123452/254/0",
        "(414)0614141123452",
        "(414)0614141123452(254)0",
    ] {
        assert_eq!(Sgln::parse_any(form).as_ref(), Ok(&bare), "{form}");
    }
    let gln = Gln::parse("0614141123452").expect("valid");
    let zero = GlnExtension::parse("0").expect("valid set-82 value");
    assert_eq!(Sgln::new(gln, Some(zero)), bare);
    assert_eq!(
        EpcId::parse("urn:epc:id:sgln:4012345.00005.122").map(|e| e.to_string()).as_deref(),
        Ok("https://id.gs1.org/414/4012345000054/254/122")
    );
}

#[test]
fn malformed_sglns() {
    use Gs1Error::*;
    let cases: Vec<(&str, Gs1Error)> = vec![
        ("urn:epc:id:sgln:0614141.12345.", Empty { field: Field::GlnExtension }),
        ("urn:epc:id:sgln:0614141.12345", EpcComponents { kind: Kind::Sgln, found: 2, expected: 3 }),
        (
            "urn:epc:id:sgln:0614141.1234.400",
            PartitionMismatch { field: Field::LocationReference, len: 4, company_prefix_len: 7, expected: 5 },
        ),
        ("urn:epc:id:sgln:0614141.12345.a/b", MustEscape { field: Field::GlnExtension, index: 1, ch: '/' }),
        ("https://h/414/0614141123453", BadCheckDigit { field: Field::Gln, found: 3, expected: 2 }),
        ("https://h/414/0614141123452/254/", NoPrimaryKey { segment: "0614141123452".into() }),
        (
            "https://h/414/0614141123452/254/123456789012345678901",
            TooLong { field: Field::GlnExtension, len: 21, max: 20 },
        ),
        ("https://h/414/0614141123452/21/1", UnexpectedAi { ai: "21".into(), primary: "414" }),
        ("(414)0614141123452(254)", Empty { field: Field::GlnExtension }),
        ("(414)0614141123452(10)x", Malformed { form: Form::ElementString, reason: "only (254) may follow (414)" }),
        ("(414)614141123452", BadLength { field: Field::Gln, len: 12, expected: "13" }),
    ];
    for (input, want) in cases {
        assert_eq!(Sgln::parse_any(input), Err(want), "{input}");
    }
}

// ---------------------------------------------------------------- EpcId --

#[test]
fn epc_id_known_and_other() {
    let x = sgtin("urn:epc:id:sgtin:0614141.112345.400");
    assert_eq!(EpcId::parse("urn:epc:id:sgtin:0614141.112345.400"), Ok(EpcId::Sgtin(x.clone())));
    assert_eq!(EpcId::parse("https://example.com/01/10614141123459/21/400?17=260101"), Ok(EpcId::Sgtin(x.clone())));
    assert_eq!(EpcId::from(x.clone()).to_string(), "https://id.gs1.org/01/10614141123459/21/400");

    for other in [
        "urn:epc:id:grai:0614141.12345.400",
        "urn:epc:id:giai:4012345.ABC345",
        "URN:EPC:ID:GDTI:4012345.00009.PO-4711",
        "https://example.com/8004/0614141ABC",
        "https://id.gs1.org/01/09506000134352",
        "https://id.gs1.org/01/09506000134352/10/LOT1",
        "https://example.com/",
        "http://example.com",
        "https://example.com/é",
    ] {
        let id = EpcId::parse(other).unwrap_or_else(|e| panic!("{other}: {e}"));
        assert_eq!(id, EpcId::Other(other.to_owned()));
        assert_eq!(id.to_string(), other);
        let mut want = vec![4u8];
        want.extend_from_slice(other.as_bytes());
        assert_eq!(id.key_bytes(), want);
    }

    // An SSCC and an SGTIN can have the same per-kind key bytes; the
    // EpcId key tells them apart.
    let g = Gtin::from_body("1061414123456").expect("13-digit body");
    let sscc = Sscc::from_body(&format!("{g}123")).expect("17-digit body");
    let serial = Serial::parse(sscc.as_str().get(14..).expect("18 digits")).expect("digits");
    let item = Sgtin::new(g, serial);
    assert_eq!(item.key_bytes(), sscc.key_bytes());
    let (a, b) = (EpcId::from(item).key_bytes(), EpcId::from(sscc).key_bytes());
    assert_ne!(a, b);
    assert_eq!((a[0], b[0]), (1, 2));
    assert_eq!(EpcId::parse(&sscc.to_digital_link()), Ok(EpcId::Sscc(sscc)));
    assert_eq!(EpcId::from(x).key_bytes()[0], 1);
}

#[test]
fn epc_id_errors() {
    use Gs1Error::*;
    let long = format!("urn:epc:id:giai:4012345.{}", "A".repeat(500));
    let cases: Vec<(&str, Gs1Error)> = vec![
        ("", Empty { field: Field::Uri }),
        (long.as_str(), TooLong { field: Field::Uri, len: long.len(), max: 512 }),
        ("urn:epc:id:giai:4012345 .A", InvalidChar { field: Field::Uri, index: 23, ch: ' ' }),
        ("urn:epc:id:giai:4012345\u{0}", InvalidChar { field: Field::Uri, index: 23, ch: '\u{0}' }),
        ("https://x/\u{7f}", InvalidChar { field: Field::Uri, index: 10, ch: '\u{7f}' }),
        ("urn:epc:id:giai:", Malformed { form: Form::EpcUri, reason: "empty identifier" }),
        ("urn:epc:id:giai", Malformed { form: Form::EpcUri, reason: "missing scheme" }),
        ("https://", Malformed { form: Form::DigitalLink, reason: "empty host" }),
        ("urn:epc:id:sgtin:0614141.112345.", Empty { field: Field::Serial }),
        ("https://id.gs1.org/01/09506000134353/21/1", BadCheckDigit { field: Field::Gtin, found: 3, expected: 2 }),
        ("https://id.gs1.org/01/09506000134352/21/1/21/2", DuplicateAi { ai: "21".into() }),
        ("mailto:someone@example.com", UnknownScheme { start: "mailto:someone@example.com".into() }),
        ("urn:epc:class:lgtin:0614141.112345.L1", UnknownScheme { start: "urn:epc:class:lgtin:0614141.1123".into() }),
        ("0614141123452", UnknownScheme { start: "0614141123452".into() }),
    ];
    for (input, want) in cases {
        assert_eq!(EpcId::parse(input), Err(want), "{input}");
    }
}
