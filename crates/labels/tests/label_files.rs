//! End to end: generate a batch, write its CSV and SVG sheets, and read
//! them back the way a printer (CSV) and a phone (QR) would.

use rand::SeedableRng;
use rand::rngs::StdRng;
use veritrace_core::Hash;
use veritrace_core::code::{CodeSalt, verify_code};
use veritrace_core::gs1::Sgtin;
use veritrace_labels::{
    Batch, BatchSpec, CSV_HEADER, LabelError, SerialScheme, SheetLayout, generate, svg_pages, write_csv,
    write_svg_sheet,
};

fn batch(lot: &str, count: u32) -> Batch {
    let serials = SerialScheme::Sequential { prefix: "S,\"".into(), start: 1, width: 4 };
    let spec = BatchSpec {
        lot: Some(lot.into()),
        company_prefix_len: Some(7),
        ..BatchSpec::new("09506000134352", count, serials).expect("GTIN")
    };
    generate(&spec, &mut StdRng::seed_from_u64(11)).expect("batch")
}

/// A minimal RFC 4180 reader: quoted fields with doubled quotes, CRLF rows.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "CSV must end with CRLF");
    rows
}

#[test]
fn csv_parses_back_to_the_labels() {
    let batch = batch("L,7\"x", 30);
    let mut out = Vec::new();
    write_csv(&batch.labels, &mut out).expect("in-memory write");
    let text = String::from_utf8(out).expect("UTF-8");
    let rows = parse_csv(&text);
    assert_eq!(rows.first().map(|r| r.join(",")), Some(CSV_HEADER.to_owned()));
    assert_eq!(rows.len(), 31);
    for (row, label) in rows.iter().skip(1).zip(&batch.labels) {
        let sgtin_uri = label.sgtin_uri.clone().expect("company prefix given");
        let want = [label.gtin.as_str(), label.serial.as_str(), "L,7\"x", &label.code, &label.digital_link, &sgtin_uri];
        assert_eq!(row, &want);
        assert_eq!(Sgtin::parse_epc_uri(&sgtin_uri), Ok(label.sgtin()));
    }
    // The codes read back from the CSV verify against the ledger actions.
    let action = batch.actions.first().expect("one action");
    let salt = CodeSalt::from_slice(&action.batch_salt).expect("salt");
    for (row, item) in rows.iter().skip(1).zip(&action.items) {
        let sgtin = Sgtin::parse_digital_link(&row[4]).expect("Digital Link");
        let digest = Hash::from_slice(&item.code_digest).expect("digest");
        assert_eq!(verify_code(&salt, &sgtin.key_bytes(), &Default::default(), &row[3], &digest), Ok(true));
    }
}

/// The (module-unit) `d` attribute of every QR path in an SVG document.
fn qr_paths(svg: &str) -> Vec<&str> {
    svg.split("<path class=\"qr\"")
        .skip(1)
        .filter_map(|p| p.split_once(" d=\"").and_then(|(_, rest)| rest.split_once('"')).map(|(d, _)| d))
        .collect()
}

/// Rasterises a path of `M{x} {y}h{run}v1h-{run}z` rectangles at 4 pixels
/// per module with a 4-module quiet zone and decodes it as a phone would.
fn decode_qr(d: &str) -> String {
    let mut dark = Vec::new();
    for rect in d.split('z').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number"))
            .collect();
        let [x, y, run, ..] = nums[..] else { panic!("bad rect {rect}") };
        dark.extend((x..x + run).map(|x| (x, y)));
    }
    // Finder patterns put dark modules in the last row and column.
    let width = dark.iter().map(|(x, y)| x.max(y) + 1).max().expect("dark modules");
    let (px, quiet) = (4, 4);
    let size = (width + 2 * quiet) * px;
    let grid: std::collections::HashSet<(usize, usize)> = dark.into_iter().collect();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
        let (mx, my) = ((x / px).wrapping_sub(quiet), (y / px).wrapping_sub(quiet));
        if grid.contains(&(mx, my)) { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().expect("decodes").1
}

#[test]
fn svg_sheets_hold_one_readable_qr_per_label_and_escape_text() {
    let batch = batch("<&>'\"", 30);
    let layout = SheetLayout::default();
    let pages = svg_pages(&batch.labels, &layout).expect("sheets");
    assert_eq!(pages.len(), 2);
    let per_page: Vec<usize> = pages.iter().map(|p| qr_paths(p).len()).collect();
    assert_eq!(per_page, [24, 6]);
    for (page, labels) in pages.iter().zip(batch.labels.chunks(24)) {
        assert!(page.starts_with("<?xml") && page.trim_end().ends_with("</svg>"));
        assert_eq!(page.matches("<g class=\"label\"").count(), labels.len());
        assert_eq!(page.matches("class=\"scratch\"").count(), labels.len());
        // The raw lot never appears; its escaped form does, once per label.
        assert!(!page.contains("<&>"));
        assert_eq!(page.matches("LOT &lt;&amp;&gt;&apos;&quot;</text>").count(), labels.len());
        for (d, label) in qr_paths(page).into_iter().zip(labels) {
            assert_eq!(decode_qr(d), label.digital_link);
            assert!(page.contains(&format!(">{}</text>", label.code)), "code printed");
            assert!(page.contains(&format!(">SN S,&quot;{}</text>", &label.serial.as_str()[3..])));
        }
    }
    // The QR codes lead back to the item.
    let first = batch.labels.first().expect("labels");
    let d = qr_paths(&pages[0])[0];
    assert_eq!(Sgtin::parse_digital_link(&decode_qr(d)), Ok(first.sgtin()));
}

#[test]
fn one_sheet_at_a_time() {
    let batch = batch("L1", 25);
    let layout = SheetLayout::default();
    let mut out = Vec::new();
    write_svg_sheet(&batch.labels[..24], &mut out, &layout).expect("fits");
    let sheet = String::from_utf8(out).expect("UTF-8");
    assert_eq!(sheet, svg_pages(&batch.labels[..24], &layout).expect("sheets").concat());
    assert!(matches!(
        write_svg_sheet(&batch.labels, Vec::new(), &layout),
        Err(LabelError::SheetOverflow { count: 25, per_sheet: 24 })
    ));
    let tiny = SheetLayout { columns: 10, ..layout };
    assert!(matches!(svg_pages(&batch.labels, &tiny), Err(LabelError::InvalidLayout { .. })));
    assert_eq!(svg_pages(&[], &layout).expect("no labels").len(), 0);
}

#[test]
fn long_alphanumeric_codes_are_grouped_on_the_sheet() {
    let spec = BatchSpec {
        policy: veritrace_core::code::CodePolicy {
            length: 16,
            alphabet: veritrace_core::code::CodeAlphabet::ALPHANUMERIC,
        },
        ..BatchSpec::new("09506000134352", 3, SerialScheme::Random { length: 12 }).expect("GTIN")
    };
    let batch = generate(&spec, &mut StdRng::seed_from_u64(5)).expect("batch");
    let page = svg_pages(&batch.labels, &SheetLayout::default()).expect("sheets").concat();
    for label in &batch.labels {
        let c = &label.code;
        let shown = format!("{} {} {} {}", &c[0..4], &c[4..8], &c[8..12], &c[12..16]);
        assert!(page.contains(&format!(">{shown}</text>")), "{shown}");
        assert_eq!(
            decode_qr(qr_paths(&page)[batch.labels.iter().position(|l| l == label).unwrap_or(0)]),
            label.digital_link
        );
    }
}
