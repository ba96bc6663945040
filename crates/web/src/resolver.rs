//! The GS1 Digital Link resolver part: which GS1 key a request path names,
//! what the client asked for (the page, the linkset, one link type), and
//! the linkset itself (RFC 9264, with GS1's link types), per the GS1
//! Digital Link / resolver standard (GS1-Conformant resolver standard 1.1).
//!
//! Served: uncompressed Digital Link paths of AI 01 (GTIN), with or
//! without the key qualifiers 22, 10, 21 and 235, under any path prefix
//! (the key is read from the end of the path, as `veritrace_core::gs1`
//! does). An item (01 + 21) gets the consumer page; a product (01 alone,
//! or with 22 / 10) gets its product page. SSCCs (00) and GLNs (414) are
//! keys of logistics, not of shoppers: this resolver publishes nothing
//! for them and says so (404 with a reason).

use serde_json::{Value, json};
use veritrace_core::gs1::{DlHost, Gtin, Sgtin};

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One serialised item.
    Item(Sgtin),
    /// A product class.
    Product(Gtin),
}

/// Why a path names nothing this resolver serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotServed {
    /// A GS1 key of another kind (SSCC, GLN).
    OtherKey(&'static str),
    /// Not a Digital Link path this resolver can read.
    Unreadable(String),
}

/// Reads a request path (still percent-encoded) as a Digital Link path.
pub fn target(path: &str) -> Result<Target, NotServed> {
    // Any origin will do: the parser reads the key from the path.
    let link = format!("http://resolver{path}");
    match Sgtin::parse_digital_link(&link) {
        Ok(item) => Ok(Target::Item(item)),
        Err(item_error) => {
            let trimmed = path.strip_suffix('/').unwrap_or(path);
            let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
            // The product forms: .../01/{gtin} with only /22/ and /10/ after it.
            for (i, pair) in segments.windows(2).enumerate() {
                if pair[0] != "01" || !(segments.len() - i).is_multiple_of(2) {
                    continue;
                }
                let rest = &segments[i + 2..];
                if rest.chunks(2).all(|q| q.len() == 2 && matches!(q[0], "22" | "10") && !q[1].is_empty()) {
                    return Gtin::parse(pair[1]).map(Target::Product).map_err(|e| NotServed::Unreadable(e.to_string()));
                }
            }
            // Keys sit at even distances from the end: .../{ai}/{value}.
            for (ai, what) in [("00", "SSCC (AI 00)"), ("414", "GLN (AI 414)")] {
                if segments.iter().rev().skip(1).step_by(2).any(|s| *s == ai) {
                    return Err(NotServed::OtherKey(what));
                }
            }
            Err(NotServed::Unreadable(item_error.to_string()))
        }
    }
}

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The HTML page (a browser; the default link).
    Page,
    /// Every link, as a linkset (`?linkType=all` or `Accept:
    /// application/linkset+json`).
    Linkset,
    /// One link type (`?linkType=gs1:pip`): a redirect to it.
    LinkType(String),
}

/// The link types this resolver has for a target.
pub const ITEM_LINK_TYPES: [&str; 3] = ["gs1:defaultLink", "gs1:verificationService", "gs1:pip"];

/// Reads `linkType` and `Accept` as the resolver standard says: `linkType`
/// wins; `all` or the linkset media type give the linkset.
pub fn wanted(link_type: Option<&str>, accept: Option<&str>) -> Wanted {
    match link_type {
        Some("all" | "linkset") => Wanted::Linkset,
        Some(t) if !t.is_empty() => Wanted::LinkType(t.to_owned()),
        _ => {
            let linkset = accept.is_some_and(|a| {
                a.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim() == "application/linkset+json"))
            });
            if linkset { Wanted::Linkset } else { Wanted::Page }
        }
    }
}

/// The linkset of `target` served at `origin`+`path` (`query` holds the
/// label token, kept in the verification link so that it still works).
pub fn linkset(origin: &DlHost, path: &str, target: &Target, title: &str, query: &str) -> Value {
    let anchor = format!("{origin}{path}");
    let page = if query.is_empty() { anchor.clone() } else { format!("{anchor}?{query}") };
    let link = |href: &str| {
        json!([{
            "href": href,
            "title": title,
            "type": "text/html",
            "hreflang": ["en", "zh"],
        }])
    };
    let mut set = serde_json::Map::new();
    set.insert("anchor".into(), Value::String(anchor.clone()));
    set.insert("https://gs1.org/voc/defaultLink".into(), link(&page));
    set.insert("https://gs1.org/voc/pip".into(), link(&page));
    if matches!(target, Target::Item(_)) {
        set.insert("https://gs1.org/voc/verificationService".into(), link(&page));
    }
    json!({ "linkset": [Value::Object(set)] })
}

/// The resolver description file (`/.well-known/gs1resolver`).
pub fn description(origin: &DlHost, network: &str) -> Value {
    json!({
        "name": format!("Veritrace resolver of network {network}"),
        "resolverRoot": origin.as_str(),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkTypes": ITEM_LINK_TYPES.iter().map(|t| json!({ "namespace": "https://gs1.org/voc/", "prefix": "gs1:", "linkType": t })).collect::<Vec<_>>(),
        "linkTypeDefaultCanBeLinkset": true,
        "supportedContextValuesEnumerated": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str) -> Sgtin {
        match target(path) {
            Ok(Target::Item(s)) => s,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn item_paths_in_every_form() {
        let plain = item("/01/09506000134352/21/A1");
        assert_eq!((plain.gtin.as_str(), plain.serial.as_str()), ("09506000134352", "A1"));
        // A GTIN-13, a lot and a variant before the serial, a prefix, a trailing slash.
        assert_eq!(item("/01/9506000134352/21/A1"), plain);
        assert_eq!(item("/shop/x/01/09506000134352/22/V/10/LOT1/21/A1/"), plain);
        assert_eq!(item("/01/09506000134352/21/%41%31"), plain);
        assert_eq!(item("/01/09506000134352/21/x%2Fy").serial.as_str(), "x/y");
    }

    #[test]
    fn product_paths_and_other_keys() {
        let gtin = Gtin::parse("09506000134352").expect("valid");
        assert_eq!(target("/01/09506000134352"), Ok(Target::Product(gtin)));
        assert_eq!(target("/01/09506000134352/10/LOT1"), Ok(Target::Product(gtin)));
        assert_eq!(target("/p/01/9506000134352/22/V/10/L/"), Ok(Target::Product(gtin)));
        assert_eq!(target("/00/095060001343528527"), Err(NotServed::OtherKey("SSCC (AI 00)")));
        assert_eq!(target("/414/9506000164908/254/1"), Err(NotServed::OtherKey("GLN (AI 414)")));
        for bad in [
            "/",
            "/favicon.ico",
            "/01/09506000134353/21/A1",
            "/01/123",
            "/01/09506000134352/21/",
            "/01/09506000134352/99/x",
        ] {
            assert!(matches!(target(bad), Err(NotServed::Unreadable(_))), "{bad}: {:?}", target(bad));
        }
    }

    #[test]
    fn link_type_wins_over_accept() {
        assert_eq!(wanted(None, Some("text/html,application/xhtml+xml")), Wanted::Page);
        assert_eq!(wanted(None, None), Wanted::Page);
        assert_eq!(wanted(None, Some("application/linkset+json")), Wanted::Linkset);
        assert_eq!(wanted(Some("all"), Some("text/html")), Wanted::Linkset);
        assert_eq!(wanted(Some("gs1:pip"), Some("application/linkset+json")), Wanted::LinkType("gs1:pip".into()));
    }

    #[test]
    fn linkset_links_back_with_the_token() {
        let origin = DlHost::parse("https://verify.example").expect("valid");
        let target = Target::Item(item("/01/09506000134352/21/A1"));
        let set = linkset(&origin, "/01/09506000134352/21/A1", &target, "Lipstick", "t=ab");
        let entry = &set["linkset"][0];
        assert_eq!(entry["anchor"], "https://verify.example/01/09506000134352/21/A1");
        assert_eq!(
            entry["https://gs1.org/voc/verificationService"][0]["href"],
            "https://verify.example/01/09506000134352/21/A1?t=ab"
        );
        let product = linkset(
            &origin,
            "/01/09506000134352",
            &Target::Product(Gtin::parse("09506000134352").expect("valid")),
            "x",
            "",
        );
        assert!(product["linkset"][0].get("https://gs1.org/voc/verificationService").is_none());
    }
}
