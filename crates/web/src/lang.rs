//! The page's languages: chosen from `?lang=` (the switch on every page),
//! else from `Accept-Language`, else English. Every text the page shows is
//! a field of [`Texts`], so a missing translation is a compile error, not
//! a blank on a shopper's phone.

/// A language the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Every language, in the order the switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag (`lang` attribute, `?lang=` value).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
        }
    }

    /// A `?lang=` value, if it names a language of the page.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the first
    /// supported one by quality (ties keep header order), else English.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else { return Lang::En };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(20) {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// Everything the page says, in one language.
#[derive(Debug)]
pub struct Texts {
    pub site: &'static str,
    pub check_title: &'static str,
    pub check_intro: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub where_legend: &'static str,
    pub where_hint: &'static str,
    pub city_label: &'static str,
    pub country_label: &'static str,
    pub check_button: &'static str,
    pub no_token: &'static str,
    pub brand: &'static str,
    pub origin: &'static str,
    pub item: &'static str,
    pub gtin: &'static str,
    pub serial: &'static str,
    pub genuine_first: (&'static str, &'static str),
    pub genuine_seen: (&'static str, &'static str),
    /// `{n}`, `{date}`, `{place}`.
    pub seen_detail: &'static str,
    pub suspected_clone: (&'static str, &'static str),
    pub invalid_code: (&'static str, &'static str),
    /// `{n}`.
    pub tries_left: &'static str,
    pub unknown_item: (&'static str, &'static str),
    pub recalled: (&'static str, &'static str),
    pub withdrawn: (&'static str, &'static str),
    /// The reason line of an item withdrawn by an upheld IP complaint.
    pub withdrawn_ip: &'static str,
    pub locked_out: (&'static str, &'static str),
    pub unavailable: (&'static str, &'static str),
    pub why: &'static str,
    pub signal_many_places: &'static str,
    pub signal_impossible_travel: &'static str,
    pub signal_before_retail: &'static str,
    pub signal_many_devices: &'static str,
    pub signal_reported: &'static str,
    pub recall_notice: &'static str,
    pub instructions: &'static str,
    pub notice_link: &'static str,
    pub journey: &'static str,
    pub journey_empty: &'static str,
    pub by: &'static str,
    pub at: &'static str,
    pub certificate: &'static str,
    pub valid_until: &'static str,
    pub validity_valid: &'static str,
    pub validity_expired: &'static str,
    pub validity_revoked: &'static str,
    pub validity_not_yet: &'static str,
    pub tracking: &'static str,
    pub tracking_confirmed: &'static str,
    pub tracking_unconfirmed: &'static str,
    pub retracted: &'static str,
    pub certificates: &'static str,
    pub receipt: &'static str,
    pub receipt_download: &'static str,
    /// `{names}`, `{n}`, `{total}`.
    pub receipt_signed: &'static str,
    pub receipt_not_cosigned: &'static str,
    pub receipt_none: &'static str,
    pub report_title: &'static str,
    pub report_intro: &'static str,
    pub report_category: &'static str,
    pub report_counterfeit: &'static str,
    pub report_tampered: &'static str,
    pub report_mislabeled: &'static str,
    pub report_seller: &'static str,
    pub report_text: &'static str,
    pub report_privacy: &'static str,
    pub report_button: &'static str,
    pub report_thanks: &'static str,
    pub report_duplicate: &'static str,
    pub check_again: &'static str,
    pub product_title: &'static str,
    pub product_intro: &'static str,
    pub not_found_title: &'static str,
    pub bad_request_title: &'static str,
    pub busy_title: &'static str,
    pub busy_text: &'static str,
    pub error_title: &'static str,
    pub back: &'static str,
    pub footer: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    site: "Veritrace product check",
    check_title: "Is it genuine?",
    check_intro: "Scratch the label on the item and type the code you find under it.",
    code_label: "Code under the scratch label",
    code_hint: "Usually 6 digits.",
    where_legend: "Where are you? (optional)",
    where_hint: "Helps spot copied labels. Only the city and country are recorded.",
    city_label: "City",
    country_label: "Country (2 letters, e.g. DE, CN)",
    check_button: "Check",
    no_token: "This link is incomplete: scan the QR code on the label itself to check the code.",
    brand: "Brand",
    origin: "Made in",
    item: "Item",
    gtin: "GTIN",
    serial: "Serial number",
    genuine_first: (
        "Genuine: first check",
        "The code matches this item as its brand registered it. Nobody has checked it before you.",
    ),
    genuine_seen: ("Genuine: checked before", "The code matches this item as its brand registered it."),
    seen_detail: "Checks of this code before yours: {n}. The first was on {date} in {place}. If that was not you, the item may have been opened or sold before.",
    suspected_clone: (
        "Warning: the label may be a copy",
        "The code is real, but the way this code has been used suggests the label was copied. Do not trust this item without asking the seller.",
    ),
    invalid_code: ("Wrong code", "The code does not match this item. Check each character and try again."),
    tries_left: "Tries left for now: {n}.",
    unknown_item: ("Unknown item", "No brand on this network registered this item. Be careful: it may be a fake."),
    recalled: ("Recalled", "The brand has recalled this product. Read the notice below."),
    withdrawn: ("Withdrawn", "This item was taken out of circulation by its brand or an authority. Do not use it."),
    withdrawn_ip: "Reason: a marketplace upheld a complaint that this product infringes a trademark, patent or copyright.",
    locked_out: ("Too many tries", "This item takes no more codes for now. Try again later."),
    unavailable: (
        "Cannot check right now",
        "Too few validators could help check this code just now. Nothing was used up: try again in a minute.",
    ),
    why: "Why:",
    signal_many_places: "the code was checked in more places than one item can be",
    signal_impossible_travel: "two checks were too far apart for the time between them",
    signal_before_retail: "the code was checked before the item reached a shop",
    signal_many_devices: "the code was checked from many different phones",
    signal_reported: "a buyer or trader reported this item as a suspected fake",
    recall_notice: "Recall notice",
    instructions: "What to do",
    notice_link: "Full notice",
    journey: "The item's journey",
    journey_empty: "No steps recorded yet.",
    by: "by",
    at: "at",
    certificate: "Certificate",
    valid_until: "valid until",
    validity_valid: "valid",
    validity_expired: "expired",
    validity_revoked: "revoked",
    validity_not_yet: "not yet valid",
    tracking: "Shipment",
    tracking_confirmed: "delivery confirmed by the carrier",
    tracking_unconfirmed: "not confirmed by the carrier",
    retracted: "withdrawn by its author",
    certificates: "Certificates",
    receipt: "Your receipt",
    receipt_download: "Download the receipt",
    receipt_signed: "Signed by {n} of {total} validators: {names}.",
    receipt_not_cosigned: "This receipt is signed by this node only; other validators have not confirmed it yet.",
    receipt_none: "Wrong codes are counted but not recorded, so there is no receipt.",
    report_title: "Report a suspected fake",
    report_intro: "If something about this item seems wrong, tell the brand and the network.",
    report_category: "What is wrong?",
    report_counterfeit: "I think it is a fake",
    report_tampered: "The label or packaging was tampered with or already scratched",
    report_mislabeled: "The product does not match its label or listing",
    report_seller: "Where did you buy it? (shop or online store, optional)",
    report_text: "Details (optional)",
    report_privacy: "Do not write your name, phone number or address: the report is kept on a shared ledger.",
    report_button: "Send the report",
    report_thanks: "Thank you. Your report is recorded; the brand and the network's parties can see it.",
    report_duplicate: "This check was already reported.",
    check_again: "Check another code",
    product_title: "Product information",
    product_intro: "This link names a product, not one item. To check an item, scan the QR code on its own label.",
    not_found_title: "Not found",
    bad_request_title: "This link cannot be read",
    busy_title: "Too many requests",
    busy_text: "Too many checks came from your network just now. Wait a minute, then try again.",
    error_title: "Something went wrong",
    back: "Back",
    footer: "Checked on the Veritrace network. This page never asks for your name and never shows codes.",
};

/// Simplified Chinese.
pub static ZH: Texts = Texts {
    site: "Veritrace 商品验证",
    check_title: "是正品吗？",
    check_intro: "刮开商品上的涂层，输入下面的验证码。",
    code_label: "涂层下的验证码",
    code_hint: "通常为 6 位数字。",
    where_legend: "您在哪里？（可选）",
    where_hint: "有助于发现被复制的标签。只记录城市和国家。",
    city_label: "城市",
    country_label: "国家（两个字母，如 CN、DE）",
    check_button: "验证",
    no_token: "此链接不完整：请扫描商品标签上的二维码后再输入验证码。",
    brand: "品牌",
    origin: "产地",
    item: "商品",
    gtin: "商品条码 (GTIN)",
    serial: "序列号",
    genuine_first: ("正品：首次查询", "验证码与品牌登记的这件商品一致。在您之前没有人查询过。"),
    genuine_seen: ("正品：已被查询过", "验证码与品牌登记的这件商品一致。"),
    seen_detail: "此前已被查询 {n} 次。首次查询时间为 {date}，地点为 {place}。如果那不是您本人，这件商品可能已被拆封或转售。",
    suspected_clone: (
        "警告：标签可能是仿制的",
        "验证码是真的，但它的使用情况表明标签可能被复制。请先向卖家核实，不要轻信这件商品。",
    ),
    invalid_code: ("验证码错误", "验证码与这件商品不符。请逐位核对后重试。"),
    tries_left: "目前还可尝试 {n} 次。",
    unknown_item: ("未知商品", "本网络中没有品牌登记过这件商品。请小心：它可能是假货。"),
    recalled: ("已召回", "品牌已召回此产品。请阅读下方的召回通知。"),
    withdrawn: ("已停止流通", "这件商品已被品牌或主管部门撤出流通。请不要使用。"),
    withdrawn_ip: "原因：平台认定该商品侵犯商标、专利或著作权的投诉成立。",
    locked_out: ("尝试次数过多", "这件商品暂时不再接受验证码。请稍后再试。"),
    unavailable: ("暂时无法验证", "目前能协助核验的验证节点太少。没有消耗任何次数，请一分钟后再试。"),
    why: "原因：",
    signal_many_places: "该验证码在过多的地点被查询，超出一件商品的可能",
    signal_impossible_travel: "两次查询的地点相距太远，时间上不可能到达",
    signal_before_retail: "商品到达商店之前验证码就已被查询",
    signal_many_devices: "该验证码被许多不同的手机查询过",
    signal_reported: "有买家或商家举报这件商品疑似假货",
    recall_notice: "召回通知",
    instructions: "处理建议",
    notice_link: "完整通知",
    journey: "商品流转记录",
    journey_empty: "暂无记录。",
    by: "由",
    at: "于",
    certificate: "证书",
    valid_until: "有效期至",
    validity_valid: "有效",
    validity_expired: "已过期",
    validity_revoked: "已撤销",
    validity_not_yet: "尚未生效",
    tracking: "运输",
    tracking_confirmed: "承运人已确认送达",
    tracking_unconfirmed: "承运人未确认",
    retracted: "已被记录方撤回",
    certificates: "证书",
    receipt: "您的查询凭证",
    receipt_download: "下载凭证",
    receipt_signed: "由 {total} 个验证节点中的 {n} 个签署：{names}。",
    receipt_not_cosigned: "此凭证目前只有本节点签署，其他验证节点尚未确认。",
    receipt_none: "错误的验证码只计数、不记录，因此没有凭证。",
    report_title: "举报疑似假货",
    report_intro: "如果您觉得这件商品有问题，请告知品牌和网络。",
    report_category: "哪里有问题？",
    report_counterfeit: "我认为这是假货",
    report_tampered: "标签或包装被动过，或涂层已被刮开",
    report_mislabeled: "商品与标签或商品描述不符",
    report_seller: "在哪里购买的？（商店或网店，可选）",
    report_text: "详细说明（可选）",
    report_privacy: "请不要填写姓名、电话或地址：举报会保存在共享账本上。",
    report_button: "提交举报",
    report_thanks: "谢谢。您的举报已记录，品牌和网络中的各方都能看到。",
    report_duplicate: "这次查询已经举报过了。",
    check_again: "验证另一个验证码",
    product_title: "产品信息",
    product_intro: "此链接指向一种产品，而不是某一件商品。要验证商品，请扫描它自己标签上的二维码。",
    not_found_title: "未找到",
    bad_request_title: "无法识别此链接",
    busy_title: "请求过多",
    busy_text: "刚才来自您所在网络的查询太多。请等一分钟后再试。",
    error_title: "出错了",
    back: "返回",
    footer: "由 Veritrace 网络验证。本页面不会要求您的姓名，也不会显示验证码。",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("de-DE, en;q=0.5, zh;q=0.7")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("fr, de")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh;q=0, en")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-Hant-TW")), Lang::Zh);
        assert_eq!(Lang::negotiate(Some(";;;,,q=x")), Lang::En);
        assert_eq!(Lang::from_tag("ZH_cn"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("eng"), None);
    }

    #[test]
    fn placeholders_are_in_every_language() {
        for lang in Lang::ALL {
            let t = lang.texts();
            for (text, holes) in [
                (t.seen_detail, &["{n}", "{date}", "{place}"][..]),
                (t.tries_left, &["{n}"][..]),
                (t.receipt_signed, &["{n}", "{total}", "{names}"][..]),
            ] {
                for hole in holes {
                    assert!(text.contains(hole), "{lang:?}: {text:?} lacks {hole}");
                }
            }
        }
    }
}
