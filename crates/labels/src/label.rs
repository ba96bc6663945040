//! [`Label`]: what gets printed on one item.

use std::fmt;

use veritrace_core::gs1::{DlHost, Gtin, Serial, Sgtin};
use veritrace_core::label_token::LabelToken;

use crate::LabelError;

/// Everything printed on one item's label, including its secret code.
///
/// `Debug` shows `code` as `"<redacted>"` so that a label logged by mistake
/// does not leak it; read the field itself to print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Label {
    /// The product's GTIN, 14 digits.
    pub gtin: Gtin,
    /// The item's serial (GS1 AI 21), unescaped.
    pub serial: Serial,
    /// The lot (GS1 AI 10), if the batch has one.
    pub lot: Option<String>,
    /// The clear verification code, normalised (what
    /// [`normalize_code`](veritrace_core::code::normalize_code) returns).
    /// Secret: see the crate docs.
    pub code: String,
    /// The item's label token: public to whoever sees the label, required
    /// to verify it (see `veritrace_core::label_token`).
    pub label_token: LabelToken,
    /// GS1 Digital Link URI for the QR code:
    /// `{host}/01/{gtin}/10/{lot}/21/{serial}?t={label_token}`, where the
    /// host is the batch's [`label_host`](crate::BatchSpec::label_host)
    /// (no `/10/` part without a lot), lot and serial percent-encoded as
    /// core's canonical Digital Link output does.
    /// [`Sgtin::parse_digital_link`] reads it back (ignoring the query).
    pub digital_link: String,
    /// SGTIN EPC pure identity URI (`urn:epc:id:sgtin:...`), if the batch
    /// gave the company prefix length
    /// ([`BatchSpec::company_prefix_len`](crate::BatchSpec::company_prefix_len)).
    pub sgtin_uri: Option<String>,
}

impl Label {
    /// The label of item `sgtin` with `code`, building both URIs. `lot`
    /// must already satisfy the AI 10 rules (checked by
    /// [`BatchSpec::validate`](crate::BatchSpec::validate)).
    pub(crate) fn new(
        sgtin: Sgtin,
        lot: Option<&str>,
        code: String,
        label_token: LabelToken,
        company_prefix_len: Option<usize>,
        host: &DlHost,
    ) -> Result<Self, LabelError> {
        let digital_link = label_token.in_link(&digital_link(&sgtin, lot, host)?);
        let sgtin_uri = company_prefix_len
            .map(|len| sgtin.to_epc_uri(len).map_err(|_| LabelError::InvalidCompanyPrefixLength { len }))
            .transpose()?;
        Ok(Label {
            gtin: sgtin.gtin,
            serial: sgtin.serial,
            lot: lot.map(str::to_owned),
            code,
            label_token,
            digital_link,
            sgtin_uri,
        })
    }

    /// The item's identity, GTIN + serial.
    pub fn sgtin(&self) -> Sgtin {
        Sgtin::new(self.gtin, self.serial.clone())
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Label")
            .field("gtin", &self.gtin)
            .field("serial", &self.serial)
            .field("lot", &self.lot)
            .field("code", &"<redacted>")
            .field("label_token", &self.label_token)
            .field("digital_link", &self.digital_link)
            .field("sgtin_uri", &self.sgtin_uri)
            .finish()
    }
}

/// The canonical Digital Link of `sgtin`, with the lot inserted before the
/// serial: GS1 Digital Link orders the qualifiers of `/01/` as
/// `/22/`, `/10/`, `/21/`.
fn digital_link(sgtin: &Sgtin, lot: Option<&str>, host: &DlHost) -> Result<String, LabelError> {
    let Some(lot) = lot else {
        return Ok(sgtin.to_digital_link_on(host));
    };
    // AI 10 and AI 21 share their character set and length, so a `Serial`
    // holding the lot gives core's canonical escaping for it.
    let escaped_lot =
        Serial::parse(lot).map_err(|source| LabelError::InvalidLot { lot: lot.to_owned(), source })?.to_dl_escaped();
    Ok(format!("{host}/01/{}/10/{escaped_lot}/21/{}", sgtin.gtin, sgtin.serial.to_dl_escaped()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: LabelToken = LabelToken::from_bytes([0xab; 16]);
    const T: &str = "?t=abababababababababababababababab";

    fn sgtin(serial: &str) -> Sgtin {
        Sgtin::new(Gtin::parse("09506000134352").expect("valid"), Serial::parse(serial).expect("valid"))
    }

    #[test]
    fn digital_link_with_and_without_lot_parses_back() {
        let plain = Label::new(sgtin("A1"), None, "123456".into(), TOKEN, None, &DlHost::gs1()).expect("label");
        assert_eq!(plain.digital_link, format!("https://id.gs1.org/01/09506000134352/21/A1{T}"));
        assert_eq!(plain.sgtin_uri, None);

        let odd = sgtin("x/y?<&>\"%");
        let label = Label::new(odd.clone(), Some("L"), "123456".into(), TOKEN, Some(7), &DlHost::gs1()).expect("label");
        assert_eq!(
            label.digital_link,
            format!("https://id.gs1.org/01/09506000134352/10/L/21/x%2Fy%3F%3C%26%3E%22%25{T}")
        );
        assert_eq!(Sgtin::parse_digital_link(&label.digital_link), Ok(odd.clone()));
        assert_eq!(label.sgtin_uri.as_deref(), Some("urn:epc:id:sgtin:9506000.013435.x%2Fy%3F%3C%26%3E%22%25"));
        assert_eq!(label.sgtin_uri.as_deref().map(Sgtin::parse_epc_uri), Some(Ok(odd)));

        let lot = Label::new(sgtin("7"), Some("a/b<&>."), "123456".into(), TOKEN, None, &DlHost::gs1()).expect("label");
        assert_eq!(lot.digital_link, format!("https://id.gs1.org/01/09506000134352/10/a%2Fb%3C%26%3E./21/7{T}"));
        assert_eq!(Sgtin::parse_digital_link(&lot.digital_link), Ok(sgtin("7")));

        let host = DlHost::parse("https://verify.brand.example").expect("valid host");
        let own = Label::new(sgtin("A1"), Some("L"), "123456".into(), TOKEN, None, &host).expect("label");
        assert_eq!(own.digital_link, format!("https://verify.brand.example/01/09506000134352/10/L/21/A1{T}"));
        assert_eq!(Sgtin::parse_digital_link(&own.digital_link), Ok(sgtin("A1")));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let label = Label::new(sgtin("A1"), None, "918273".into(), TOKEN, None, &DlHost::gs1()).expect("label");
        let shown = format!("{label:?}");
        assert!(!shown.contains("918273"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("A1"), "{shown}");
    }
}
