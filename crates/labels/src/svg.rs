//! Printable label sheets: one SVG document per sheet of paper, a grid of
//! labels each with a QR code of its Digital Link, the serial, the lot and
//! the code in a scratch-off box.

use std::io::Write;

use qrcode::{Color, EcLevel, QrCode};

use crate::{Label, LabelError};

/// Light modules around a QR symbol, per ISO/IEC 18004.
const QUIET_ZONE: usize = 4;

/// Smallest label cell: room for a ~13 mm QR code (scannable by phones at
/// arm's length) next to the text.
const MIN_CELL_WIDTH_MM: f64 = 30.0;
/// See [`MIN_CELL_WIDTH_MM`].
const MIN_CELL_HEIGHT_MM: f64 = 15.0;

/// Average advance of a monospace glyph, in ems: used to shrink text that
/// would overflow its space.
const MONO_ADVANCE_EM: f64 = 0.6;

const FONT: &str = "DejaVu Sans Mono, Consolas, monospace";

/// The page and the grid of labels on it. Lengths are in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetLayout {
    /// Page width (A4: 210).
    pub page_width_mm: f64,
    /// Page height (A4: 297).
    pub page_height_mm: f64,
    /// Blank border on every side of the page.
    pub margin_mm: f64,
    /// Space between neighbouring labels.
    pub gap_mm: f64,
    /// Labels across.
    pub columns: u32,
    /// Labels down.
    pub rows: u32,
}

/// A4 portrait, 10 mm margins, 3 × 8 labels of 62 × 32.9 mm, 2 mm apart.
impl Default for SheetLayout {
    fn default() -> Self {
        SheetLayout { page_width_mm: 210.0, page_height_mm: 297.0, margin_mm: 10.0, gap_mm: 2.0, columns: 3, rows: 8 }
    }
}

impl SheetLayout {
    /// Labels that fit on one sheet: `columns × rows`.
    pub fn labels_per_sheet(&self) -> usize {
        self.columns as usize * self.rows as usize
    }

    /// Width and height of one label cell.
    pub fn cell_mm(&self) -> (f64, f64) {
        let span = |page: f64, n: u32| {
            (page - 2.0 * self.margin_mm - f64::from(n.saturating_sub(1)) * self.gap_mm) / f64::from(n.max(1))
        };
        (span(self.page_width_mm, self.columns), span(self.page_height_mm, self.rows))
    }

    /// Checks the numbers are finite, non-negative and leave label cells of
    /// at least 30 × 15 mm.
    pub fn validate(&self) -> Result<(), LabelError> {
        let invalid = |reason| Err(LabelError::InvalidLayout { reason });
        let lengths = [self.page_width_mm, self.page_height_mm, self.margin_mm, self.gap_mm];
        if !lengths.iter().all(|v| v.is_finite() && *v >= 0.0) {
            return invalid("lengths must be finite and not negative");
        }
        if self.columns == 0 || self.rows == 0 {
            return invalid("columns and rows must be at least 1");
        }
        let (w, h) = self.cell_mm();
        if w < MIN_CELL_WIDTH_MM || h < MIN_CELL_HEIGHT_MM {
            return invalid("label cells must be at least 30 mm wide and 15 mm high");
        }
        Ok(())
    }
}

/// The SVG documents of `labels`, one per sheet of
/// [`SheetLayout::labels_per_sheet`] labels, filled row by row. No labels
/// give no sheets.
///
/// Holds every sheet in memory (a few kB per label): for large batches,
/// call [`write_svg_sheet`] on `labels.chunks(layout.labels_per_sheet())`
/// and write each sheet to its own file instead.
pub fn svg_pages(labels: &[Label], layout: &SheetLayout) -> Result<Vec<String>, LabelError> {
    layout.validate()?;
    labels.chunks(layout.labels_per_sheet()).map(|sheet| render_sheet(sheet, layout)).collect()
}

/// Writes one sheet holding `labels` (at most
/// [`SheetLayout::labels_per_sheet`], else [`LabelError::SheetOverflow`]).
///
/// The output holds the clear codes (see the crate docs).
pub fn write_svg_sheet<W: Write>(labels: &[Label], mut out: W, layout: &SheetLayout) -> Result<(), LabelError> {
    layout.validate()?;
    let per_sheet = layout.labels_per_sheet();
    if labels.len() > per_sheet {
        return Err(LabelError::SheetOverflow { count: labels.len(), per_sheet });
    }
    out.write_all(render_sheet(labels, layout)?.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One SVG document with at most one sheet's worth of labels.
fn render_sheet(labels: &[Label], layout: &SheetLayout) -> Result<String, LabelError> {
    let (pw, ph) = (num(layout.page_width_mm), num(layout.page_height_mm));
    let mut svg = String::with_capacity(4096 * labels.len().max(1));
    svg.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{pw}mm\" height=\"{ph}mm\" viewBox=\"0 0 {pw} {ph}\">\n"
    ));
    svg.push_str("<!-- Veritrace labels. CONFIDENTIAL: contains secret verification codes. Print, then destroy. -->\n");
    svg.push_str(&format!("<rect width=\"{pw}\" height=\"{ph}\" fill=\"#fff\"/>\n"));
    let (cw, ch) = layout.cell_mm();
    let columns = layout.columns.max(1) as usize;
    for (i, label) in labels.iter().enumerate() {
        let (col, row) = (i % columns, i / columns);
        let x = layout.margin_mm + col as f64 * (cw + layout.gap_mm);
        let y = layout.margin_mm + row as f64 * (ch + layout.gap_mm);
        render_label(&mut svg, label, x, y, cw, ch)?;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Appends one label's group, its cell's top-left corner at (`x`, `y`).
fn render_label(svg: &mut String, label: &Label, x: f64, y: f64, w: f64, h: f64) -> Result<(), LabelError> {
    let pad = 0.06 * h;
    let qr_side = (h - 2.0 * pad).min(0.45 * w);
    let tx = pad + qr_side + pad;
    let tw = w - tx - pad;

    svg.push_str(&format!("<g class=\"label\" transform=\"translate({} {})\">\n", num(x), num(y)));
    svg.push_str(&format!(
        "<rect width=\"{}\" height=\"{}\" rx=\"1.5\" fill=\"none\" stroke=\"#bbb\" stroke-width=\"0.2\"/>\n",
        num(w),
        num(h)
    ));
    qr_path(svg, &label.digital_link, pad, (h - qr_side) / 2.0, qr_side)?;

    let line = (0.11 * h).min(3.5);
    let serial_text = format!("SN {}", label.serial);
    let fs = fit(line, tw, serial_text.len());
    let mut baseline = pad + fs;
    text(svg, tx, baseline, fs, "start", "", &serial_text);
    if let Some(lot) = &label.lot {
        let lot_text = format!("LOT {lot}");
        let fs = fit(line, tw, lot_text.len());
        baseline += 1.3 * fs;
        text(svg, tx, baseline, fs, "start", "", &lot_text);
    }

    // The scratch-off box: the printer covers this area with scratch foil.
    let box_h = 0.42 * h;
    let box_y = h - pad - box_h;
    svg.push_str(&format!(
        "<rect class=\"scratch\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1\" fill=\"#eee\" stroke=\"#555\" stroke-width=\"0.2\" stroke-dasharray=\"0.8 0.5\"/>\n",
        num(tx),
        num(box_y),
        num(tw),
        num(box_h)
    ));
    let inset = 1.0;
    let caption = "CODE - scratch to reveal";
    let cap = fit((0.2 * box_h).min(2.0), tw - 2.0 * inset, caption.len());
    text(svg, tx + inset, box_y + cap + 0.4, cap, "start", "fill=\"#555\" ", caption);
    let shown = grouped(&label.code);
    let code_fs = fit((0.45 * box_h).min(5.0), tw - 2.0 * inset, shown.len());
    let code_y = box_y + cap + 0.4 + (box_h - cap - 0.4) / 2.0 + 0.35 * code_fs;
    text(svg, tx + tw / 2.0, code_y, code_fs, "middle", "class=\"code\" font-weight=\"bold\" ", &shown);
    svg.push_str("</g>\n");
    Ok(())
}

/// Appends a `<text>` element with `content` escaped.
fn text(svg: &mut String, x: f64, y: f64, size: f64, anchor: &str, extra: &str, content: &str) {
    svg.push_str(&format!(
        "<text {extra}x=\"{}\" y=\"{}\" font-family=\"{FONT}\" font-size=\"{}\" text-anchor=\"{anchor}\">{}</text>\n",
        num(x),
        num(y),
        num(size),
        xml_escape(content)
    ));
}

/// Appends the QR code of `url` as one path of unit squares, scaled to fill
/// a `side` mm square at (`x`, `y`) including the quiet zone. Error
/// correction level M, as GS1 recommends for Digital Link.
fn qr_path(svg: &mut String, url: &str, x: f64, y: f64, side: f64) -> Result<(), LabelError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|source| LabelError::QrEncoding { url: url.to_owned(), source })?;
    let width = code.width();
    let module = side / (width + 2 * QUIET_ZONE) as f64;
    let offset = QUIET_ZONE as f64 * module;
    let mut d = String::new();
    // `into_colors` is row-major; one rectangle per horizontal run of dark
    // modules keeps the path short.
    for (row, colors) in code.into_colors().chunks(width.max(1)).enumerate() {
        let mut col = 0;
        while col < colors.len() {
            let run = colors[col..].iter().take_while(|c| **c == Color::Dark).count();
            if run > 0 {
                d.push_str(&format!("M{col} {row}h{run}v1h-{run}z"));
                col += run;
            } else {
                col += 1;
            }
        }
    }
    svg.push_str(&format!(
        "<path class=\"qr\" transform=\"translate({} {}) scale({})\" shape-rendering=\"crispEdges\" fill=\"#000\" d=\"{d}\"/>\n",
        num(x + offset),
        num(y + offset),
        num(module)
    ));
    Ok(())
}

/// `size` shrunk so that `chars` monospace characters fit in `width`.
fn fit(size: f64, width: f64, chars: usize) -> f64 {
    let needed = MONO_ADVANCE_EM * chars.max(1) as f64;
    size.min(width.max(0.0) / needed)
}

/// The code as printed: in groups of four when longer than six characters,
/// for reading aloud and typing. Verification ignores the spaces.
fn grouped(code: &str) -> String {
    if code.len() <= 6 {
        return code.to_owned();
    }
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// A length for an SVG attribute: at most 4 decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

/// Escapes XML text and attribute content.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_is_a4_with_24_labels() {
        let l = SheetLayout::default();
        assert_eq!(l.validate().map_err(|e| e.to_string()), Ok(()));
        assert_eq!(l.labels_per_sheet(), 24);
        let (w, h) = l.cell_mm();
        assert!((w - 62.0).abs() < 1e-9 && (h - 32.875).abs() < 1e-9, "{w} x {h}");
    }

    #[test]
    fn unusable_layouts_are_refused() {
        let d = SheetLayout::default();
        for bad in [
            SheetLayout { columns: 0, ..d },
            SheetLayout { rows: 0, ..d },
            SheetLayout { columns: 7, ..d },
            SheetLayout { rows: 20, ..d },
            SheetLayout { margin_mm: -1.0, ..d },
            SheetLayout { page_width_mm: f64::NAN, ..d },
            SheetLayout { gap_mm: f64::INFINITY, ..d },
        ] {
            assert!(matches!(bad.validate(), Err(LabelError::InvalidLayout { .. })), "{bad:?}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(xml_escape("a<b&c>\"d'"), "a&lt;b&amp;c&gt;&quot;d&apos;");
        assert_eq!(grouped("123456"), "123456");
        assert_eq!(grouped("ABCDEFGHJK"), "ABCD EFGH JK");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(fit(4.0, 100.0, 10), 4.0);
        assert!((fit(4.0, 12.0, 10) - 2.0).abs() < 1e-9);
    }
}
