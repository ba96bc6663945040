//! [`write_csv`]: the label printer's data file (RFC 4180).

use std::io::Write;

use crate::{Label, LabelError};

/// The CSV header line (without its line break).
pub const CSV_HEADER: &str = "gtin,serial,lot,code,digital_link,sgtin_uri";

/// Writes one CSV row per label under [`CSV_HEADER`], per RFC 4180: CRLF
/// line ends, fields containing `,` `"` CR or LF in double quotes with `"`
/// doubled. A missing lot or SGTIN URI is an empty field.
///
/// The file holds the clear codes (see the crate docs). Values are written
/// exactly: serials and lots may legally start with `=`, `+` or `-`, which
/// spreadsheet programs treat as formulas, so open the file in a text
/// editor or the printer's software, not a spreadsheet.
///
/// `out` receives many small writes: pass a `BufWriter` for a file.
pub fn write_csv<W: Write>(labels: &[Label], mut out: W) -> Result<(), LabelError> {
    out.write_all(CSV_HEADER.as_bytes())?;
    out.write_all(b"\r\n")?;
    let mut row = String::new();
    for label in labels {
        row.clear();
        let fields = [
            label.gtin.as_str(),
            label.serial.as_str(),
            label.lot.as_deref().unwrap_or(""),
            &label.code,
            &label.digital_link,
            label.sgtin_uri.as_deref().unwrap_or(""),
        ];
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            push_field(&mut row, field);
        }
        row.push_str("\r\n");
        out.write_all(row.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Appends `field`, quoted if RFC 4180 requires it.
fn push_field(row: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        row.push('"');
        row.push_str(&field.replace('"', "\"\""));
        row.push('"');
    } else {
        row.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let quoted = |s: &str| {
            let mut row = String::new();
            push_field(&mut row, s);
            row
        };
        assert_eq!(quoted("LOT7-000001"), "LOT7-000001");
        assert_eq!(quoted(""), "");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("x\r\ny"), "\"x\r\ny\"");
        assert_eq!(quoted("'=<&>"), "'=<&>");
    }
}
