//! The consumer page's HTML (maud: compiled templates, every value escaped).
//!
//! No JavaScript, no web fonts, no images from elsewhere (a brand's image
//! host would learn every shopper's address): one small stylesheet, served
//! by this listener, so the page is usable on a slow phone. Colours meet
//! WCAG AA contrast; every verdict has an icon and words, never colour
//! alone; every input has a label; the code field takes the keyboard first.

use maud::{DOCTYPE, Markup, html};
use veritrace_proto::v1 as pb;

use crate::lang::{Lang, Texts};
use crate::view::{self, Tone};

/// The stylesheet, served at [`STYLE_PATH`].
pub const STYLE: &str = include_str!("style.css");

/// Where the stylesheet is served.
pub const STYLE_PATH: &str = "/static/veritrace.css";

/// The page frame: language switch, title, body, footer.
pub fn layout(lang: Lang, title: &str, here: &str, body: Markup) -> Markup {
    let t = lang.texts();
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · " (t.site) }
                link rel="stylesheet" href=(STYLE_PATH);
            }
            body {
                header {
                    span.site { (t.site) }
                    nav aria-label="Language" {
                        @for other in Lang::ALL {
                            @if other == lang {
                                span.lang aria-current="true" lang=(other.tag()) { (other.own_name()) }
                            } @else {
                                a.lang href=(with_lang(here, other)) lang=(other.tag()) hreflang=(other.tag()) { (other.own_name()) }
                            }
                        }
                    }
                }
                main { (body) }
                footer { p { (t.footer) } }
            }
        }
    }
}

/// `here` with `lang=` set to `lang` (other query parameters kept).
pub fn with_lang(here: &str, lang: Lang) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("lang=")).collect();
    let pair = format!("lang={}", lang.tag());
    kept.push(&pair);
    format!("{path}?{}", kept.join("&"))
}

/// Which identifier a page is about, for the product header.
pub enum Shown<'a> {
    /// An item: its GTIN and serial.
    Item(&'a veritrace_core::gs1::Sgtin),
    /// A product class: its GTIN.
    Product(&'a str),
}

/// The product header shown above the form and the verdict.
pub fn product_card(t: &Texts, product: Option<&pb::ProductSummary>, shown: Shown<'_>) -> Markup {
    let (gtin, serial) = match shown {
        Shown::Item(i) => (i.gtin.as_str().to_owned(), Some(i.serial.as_str().to_owned())),
        Shown::Product(g) => (g.to_owned(), None),
    };
    html! {
        @if let Some(p) = product {
            section.product aria-label=(t.item) {
                h1 { (p.name) }
                dl {
                    @let brand = if p.brand_name.is_empty() { p.brand.as_ref().map_or("", |b| b.display_name.as_str()) } else { p.brand_name.as_str() };
                    @if !brand.is_empty() { dt { (t.brand) } dd { (brand) } }
                    @if !p.origin_country.is_empty() { dt { (t.origin) } dd { (p.origin_country) } }
                    dt { (t.gtin) } dd.mono { (gtin) }
                    @if let Some(s) = &serial { dt { (t.serial) } dd.mono { (s) } }
                }
                @if !p.description.is_empty() { p.description { (p.description) } }
            }
        } @else {
            section.product {
                dl {
                    dt { (t.gtin) } dd.mono { (gtin) }
                    @if let Some(s) = &serial { dt { (t.serial) } dd.mono { (s) } }
                }
            }
        }
    }
}

/// The code form (`action` is the item's own path; `token` and
/// `request_id` travel as hidden fields).
pub fn code_form(t: &Texts, lang: Lang, action: &str, token: &str, request_id: &str) -> Markup {
    html! {
        section.check {
            h2 { (t.check_title) }
            p { (t.check_intro) }
            form method="post" action=(action) {
                input type="hidden" name="t" value=(token);
                input type="hidden" name="request_id" value=(request_id);
                input type="hidden" name="lang" value=(lang.tag());
                label for="code" { (t.code_label) }
                input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                    required autofocus maxlength="32" aria-describedby="code-hint";
                p #code-hint .hint { (t.code_hint) }
                fieldset {
                    legend { (t.where_legend) }
                    p.hint { (t.where_hint) }
                    label for="city" { (t.city_label) }
                    input #city name="city" type="text" maxlength="100" autocomplete="address-level2";
                    label for="country" { (t.country_label) }
                    input #country name="country" type="text" maxlength="2" pattern="[A-Za-z]{2}" autocomplete="country";
                }
                button type="submit" { (t.check_button) }
            }
        }
    }
}

/// The verdict panel: icon, headline, explanation and details.
pub fn verdict_panel(v: &view::VerdictView) -> Markup {
    let (class, icon) = match v.tone {
        Tone::Good => ("verdict good", "✓"),
        Tone::Caution => ("verdict caution", "!"),
        Tone::Bad => ("verdict bad", "✗"),
        Tone::Neutral => ("verdict neutral", "?"),
    };
    html! {
        section class=(class) role="status" aria-live="polite" data-verdict=(v.code) {
            p.icon aria-hidden="true" { (icon) }
            h2 { (v.headline) }
            p { (v.explanation) }
            @for line in &v.details { p { (line) } }
            @if !v.reasons.is_empty() {
                p { (v.why) }
                ul.reasons { @for r in &v.reasons { li { (r) } } }
            }
        }
    }
}

/// Recall notices.
pub fn recalls(t: &Texts, notices: &[pb::RecallNotice]) -> Markup {
    html! {
        @for n in notices {
            @let r = n.recall.clone().unwrap_or_default();
            section.recall aria-label=(t.recall_notice) {
                h2 { (t.recall_notice) }
                @if let Some(by) = &n.issued_by { p.by { (by.display_name) } }
                p { (r.reason) }
                @if !r.consumer_instructions.is_empty() {
                    h3 { (t.instructions) }
                    p { (r.consumer_instructions) }
                }
                @if view::is_web_link(&r.notice_uri) {
                    p { a href=(r.notice_uri) rel="noopener noreferrer" { (t.notice_link) } }
                }
            }
        }
    }
}

/// The journey as a timeline.
pub fn journey(t: &Texts, lang: Lang, steps: &[pb::JourneyStep]) -> Markup {
    html! {
        section.journey {
            h2 { (t.journey) }
            @if steps.is_empty() {
                p { (t.journey_empty) }
            } @else {
                ol.timeline {
                    @for s in steps {
                        li class=(if s.retracted { "step retracted" } else { "step" }) {
                            p.when { (view::date_time(s.event_time.as_ref(), lang)) }
                            p.what { strong { (view::step_title(s, lang)) } }
                            p.who {
                                @if let Some(p) = &s.party { (t.by) " " (p.display_name) }
                                @let place = view::step_place(s);
                                @if !place.is_empty() { " · " (place) }
                            }
                            @for n in &s.tracking_numbers {
                                p.tracking {
                                    (t.tracking) " " (n.carrier) " "
                                    @if n.confirmed { span.ok { "✓ " (t.tracking_confirmed) } }
                                    @else { span.warn { (t.tracking_unconfirmed) } }
                                }
                            }
                            @for c in &s.certificates { (certificate(t, lang, c)) }
                            @if s.retracted { p.warn { (t.retracted) } }
                        }
                    }
                }
            }
        }
    }
}

/// One certificate line: scheme, number, issuer, validity.
pub fn certificate(t: &Texts, lang: Lang, c: &pb::CertificateRef) -> Markup {
    let (word, class) = match pb::AttestationValidity::try_from(c.validity) {
        Ok(pb::AttestationValidity::Valid) => (t.validity_valid, "ok"),
        Ok(pb::AttestationValidity::Expired) => (t.validity_expired, "warn"),
        Ok(pb::AttestationValidity::Revoked) => (t.validity_revoked, "bad"),
        Ok(pb::AttestationValidity::NotYetValid) => (t.validity_not_yet, "warn"),
        _ => ("?", "warn"),
    };
    html! {
        p.certificate {
            (t.certificate) " " (view::scheme_name(c)) " "
            @if !c.certificate_number.is_empty() { span.mono { (c.certificate_number) } " " }
            @let issuer = if c.issuer.is_empty() { c.attested_by.as_ref().map_or("", |p| p.display_name.as_str()) } else { c.issuer.as_str() };
            @if !issuer.is_empty() { "(" (issuer) ") " }
            span class=(class) { (word) }
            @if c.valid_until.is_some() { ", " (t.valid_until) " " (view::date(c.valid_until.as_ref(), lang)) }
        }
    }
}

/// The receipt section: a download link and who signed it.
pub fn receipt(t: &Texts, download: Option<&str>, signed: Option<&str>) -> Markup {
    html! {
        section.receipt {
            h2 { (t.receipt) }
            @match download {
                Some(href) => {
                    p { a.button href=(href) download="veritrace-receipt.json" { (t.receipt_download) } }
                    @if let Some(line) = signed { p.signers { (line) } }
                }
                None => p { (t.receipt_none) },
            }
        }
    }
}

/// The report form, tied to the scan the buyer just made (`item` is the
/// item's Digital Link path).
pub fn report_form(t: &Texts, lang: Lang, scan: &str, item: &str) -> Markup {
    html! {
        section.report {
            h2 { (t.report_title) }
            p { (t.report_intro) }
            form method="post" action="/report" {
                input type="hidden" name="item" value=(item);
                input type="hidden" name="scan" value=(scan);
                input type="hidden" name="lang" value=(lang.tag());
                fieldset {
                    legend { (t.report_category) }
                    label { input type="radio" name="category" value="counterfeit" checked; " " (t.report_counterfeit) }
                    label { input type="radio" name="category" value="tampered"; " " (t.report_tampered) }
                    label { input type="radio" name="category" value="mislabeled"; " " (t.report_mislabeled) }
                }
                label for="seller" { (t.report_seller) }
                input #seller name="seller" type="text" maxlength="200";
                label for="text" { (t.report_text) }
                textarea #text name="text" maxlength="1000" rows="3" aria-describedby="privacy" {}
                p #privacy .hint { (t.report_privacy) }
                button.secondary type="submit" { (t.report_button) }
            }
        }
    }
}

/// A message page (errors, report outcome) with a link back.
pub fn message(lang: Lang, title: &str, text: &str, here: &str, back: Option<&str>) -> Markup {
    let t = lang.texts();
    layout(
        lang,
        title,
        here,
        html! {
            section.message role="status" {
                h1 { (title) }
                p { (text) }
                @if let Some(href) = back { p { a href=(href) { (t.back) } } }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_keeps_the_token() {
        assert_eq!(with_lang("/01/1/21/2?t=ab&lang=en", Lang::Zh), "/01/1/21/2?t=ab&lang=zh");
        assert_eq!(with_lang("/01/1/21/2", Lang::En), "/01/1/21/2?lang=en");
    }

    #[test]
    fn ledger_text_is_escaped_and_only_https_links_are_links() {
        let product = pb::ProductSummary {
            name: "<script>alert(1)</script>".into(),
            brand_name: "\"Brand\" & co".into(),
            ..Default::default()
        };
        let html = product_card(Lang::En.texts(), Some(&product), Shown::Product("x")).into_string();
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&quot;Brand&quot; &amp; co"), "{html}");
        let notice = pb::RecallNotice {
            recall: Some(pb::Recall {
                notice_uri: "javascript:alert(1)".into(),
                reason: "r".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let html = recalls(Lang::En.texts(), &[notice]).into_string();
        assert!(!html.contains("javascript:"), "{html}");
    }
}
