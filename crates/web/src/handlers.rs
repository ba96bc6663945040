//! The routes: the resolver (any Digital Link path, GET and POST), the
//! report form, receipts, the stylesheet and the resolver description.

use std::net::SocketAddr;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use veritrace_core::Hash;
use veritrace_core::gs1::{DlHost, Sgtin};
use veritrace_core::label_token::LabelToken;
use veritrace_proto::v1 as pb;
use veritrace_server::client_budget::BudgetRefusal;
use veritrace_service::{ConsumerReport, ServiceError, VerifyRequest, now_ms};

use crate::WebState;
use crate::lang::Lang;
use crate::page;
use crate::resolver::{self, NotServed, Target, Wanted};
use crate::view;

pub(crate) fn routes(state: WebState) -> axum::Router {
    axum::Router::new()
        .route("/", get(home))
        .route(page::STYLE_PATH, get(style))
        .route("/.well-known/gs1resolver", get(resolver_description))
        .route("/receipts/{id}", get(receipt))
        .route("/report", post(report))
        .fallback(resolve)
        .with_state(state)
}

/// Query parameters the resolver reads.
#[derive(Debug, Default, Deserialize)]
struct ResolveQuery {
    #[serde(rename = "linkType")]
    link_type: Option<String>,
    t: Option<String>,
    lang: Option<String>,
}

/// The code form's fields.
#[derive(Debug, Default, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    t: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    lang: String,
}

/// The report form's fields.
#[derive(Debug, Default, Deserialize)]
struct ReportForm {
    #[serde(default)]
    item: String,
    #[serde(default)]
    scan: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    seller: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    lang: String,
}

/// The page's language: `?lang=` / the form's, else `Accept-Language`.
fn language(chosen: Option<&str>, headers: &HeaderMap) -> Lang {
    chosen
        .and_then(Lang::from_tag)
        .unwrap_or_else(|| Lang::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())))
}

/// An HTML answer with the page's security headers.
fn html_page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    secure(response.headers_mut());
    response
}

/// Headers every answer carries: no script, no framing, no referrer (the
/// URL holds the label token), no caching (answers are per scan).
fn secure(headers: &mut HeaderMap) {
    let pairs = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An RFC 9457 problem document, for clients that asked for JSON.
fn problem(status: StatusCode, reason: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://veritrace.io/problems/{}", reason.to_ascii_lowercase().replace('_', "-")),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
        "reason": reason,
    });
    let mut response = (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
    secure(response.headers_mut());
    response
}

/// An error for a person (HTML) or a program (problem JSON).
fn refuse(json: bool, lang: Lang, status: StatusCode, reason: &str, title: &str, detail: &str, here: &str) -> Response {
    if json {
        problem(status, reason, detail)
    } else {
        html_page(status, page::message(lang, title, detail, here, Some("/")))
    }
}

/// The origin for absolute links: configured, else the `Host` header.
fn origin(state: &WebState, headers: &HeaderMap) -> DlHost {
    if let Some(o) = &state.origin {
        return o.clone();
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| DlHost::parse(&format!("http://{h}")).ok())
        .unwrap_or_else(DlHost::gs1)
}

async fn home(headers: HeaderMap, Query(q): Query<ResolveQuery>) -> Response {
    let lang = language(q.lang.as_deref(), &headers);
    let t = lang.texts();
    html_page(StatusCode::OK, page::message(lang, t.check_title, t.product_intro, "/", None))
}

async fn style() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], page::STYLE).into_response();
    secure(response.headers_mut());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    response
}

async fn resolver_description(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let network = state.service.ledger().genesis().network_id().to_owned();
    let body = resolver::description(&origin(&state, &headers), &network);
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Every other path: a Digital Link (GET: page, linkset or redirect; POST:
/// a code check), else 404.
async fn resolve(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<ResolveQuery>, QueryRejection>,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let form = form.ok();
    let path = uri.path().to_owned();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let wanted = resolver::wanted(q.link_type.as_deref(), accept);
    let json = wanted != Wanted::Page
        || accept.is_some_and(|a| a.contains("application/json") || a.contains("application/problem+json"));
    let lang = language(form.as_ref().map(|f| f.lang.as_str()).or(q.lang.as_deref()), &headers);
    let here = uri.path_and_query().map_or(path.clone(), |p| p.to_string());
    let t = lang.texts();
    let target = match resolver::target(&path) {
        Ok(target) => target,
        Err(NotServed::OtherKey(what)) => {
            let detail =
                format!("this resolver publishes nothing for a {what}; it answers for products and items (/01/)");
            return refuse(json, lang, StatusCode::NOT_FOUND, "KEY_NOT_SERVED", t.not_found_title, &detail, &here);
        }
        Err(NotServed::Unreadable(why)) => {
            return refuse(json, lang, StatusCode::NOT_FOUND, "NOT_A_DIGITAL_LINK", t.not_found_title, &why, &here);
        }
    };
    match (method, target) {
        (Method::POST, Target::Item(item)) => match form {
            Some(Form(f)) => check_code(&state, peer, lang, &path, item, f).await,
            None => refuse(
                false,
                lang,
                StatusCode::BAD_REQUEST,
                "BAD_FORM",
                t.bad_request_title,
                "post the code form (application/x-www-form-urlencoded)",
                &here,
            ),
        },
        (Method::GET | Method::HEAD, target) => {
            get_target(&state, &headers, lang, &path, &here, target, wanted, q.t.as_deref()).await
        }
        _ => refuse(
            json,
            lang,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            t.bad_request_title,
            "GET a Digital Link; POST the code form to an item's link",
            &here,
        ),
    }
}

/// GET on a product or item: the page, the linkset or a redirect.
#[allow(clippy::too_many_arguments)]
async fn get_target(
    state: &WebState,
    headers: &HeaderMap,
    lang: Lang,
    path: &str,
    here: &str,
    target: Target,
    wanted: Wanted,
    token: Option<&str>,
) -> Response {
    let t = lang.texts();
    if let Err(e) = state.service.read_barrier().await {
        tracing::warn!(cause = %e, "web: read barrier failed");
        return refuse(
            wanted != Wanted::Page,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            t.error_title,
            t.unavailable.1,
            here,
        );
    }
    let gtin = match &target {
        Target::Item(i) => i.gtin,
        Target::Product(g) => *g,
    };
    let ledger = state.service.ledger();
    let now = now_ms();
    let report = match &target {
        Target::Item(item) => match ledger.item_report(item, now) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(cause = %e, "web: item report failed");
                return refuse(
                    wanted != Wanted::Page,
                    lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    t.error_title,
                    t.error_title,
                    here,
                );
            }
        },
        Target::Product(_) => None,
    };
    let product = match &report {
        Some(r) => r.product.clone(),
        None => ledger.product(gtin.as_str()).ok().flatten(),
    };
    let known = match &target {
        Target::Item(_) => report.as_ref().is_some_and(|r| r.record.is_some()),
        Target::Product(_) => product.is_some(),
    };
    let query = token.filter(|t| LabelToken::parse(t).is_ok()).map(|t| format!("t={t}")).unwrap_or_default();
    match wanted {
        Wanted::Linkset | Wanted::LinkType(_) if !known => problem(
            StatusCode::NOT_FOUND,
            "NOT_ON_THIS_NETWORK",
            "no product or item with this key is registered on this network",
        ),
        Wanted::Linkset => {
            let title = product.as_ref().map_or(String::new(), |p| p.name.clone());
            let body = resolver::linkset(&origin(state, headers), path, &target, &title, &query);
            let mut response = ([(header::CONTENT_TYPE, "application/linkset+json")], body.to_string()).into_response();
            secure(response.headers_mut());
            response
        }
        Wanted::LinkType(kind) if resolver::ITEM_LINK_TYPES.contains(&kind.as_str()) => {
            if kind == "gs1:verificationService" && matches!(target, Target::Product(_)) {
                return problem(
                    StatusCode::NOT_FOUND,
                    "NO_SUCH_LINK",
                    "a product has no verification service; an item has",
                );
            }
            let location = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
            let mut response = (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response();
            secure(response.headers_mut());
            response
        }
        Wanted::LinkType(kind) => problem(
            StatusCode::NOT_FOUND,
            "NO_SUCH_LINK",
            &format!("no link of type {kind:?} here; this resolver has {}", resolver::ITEM_LINK_TYPES.join(", ")),
        ),
        Wanted::Page => {
            let markup = match (&target, &report) {
                (Target::Item(item), Some(r)) if r.record.is_some() => {
                    let token = token.and_then(|t| LabelToken::parse(t).ok()).map(|t| t.to_string());
                    item_page(lang, here, path, item, product.as_ref(), &r.recalls, token.as_deref())
                }
                (Target::Product(g), _) if known => product_page(lang, here, g.as_str(), product.as_ref()),
                (Target::Item(item), _) => {
                    let v = view::VerdictView {
                        code: "UNKNOWN_ITEM",
                        tone: view::Tone::Bad,
                        headline: t.unknown_item.0.into(),
                        explanation: t.unknown_item.1.into(),
                        details: Vec::new(),
                        why: String::new(),
                        reasons: Vec::new(),
                    };
                    let body =
                        html! { (page::product_card(t, None, page::Shown::Item(item))) (page::verdict_panel(&v)) };
                    return html_page(StatusCode::NOT_FOUND, page::layout(lang, t.unknown_item.0, here, body));
                }
                (Target::Product(g), _) => {
                    return html_page(
                        StatusCode::NOT_FOUND,
                        page::message(lang, t.not_found_title, &format!("{}: {}", g, t.unknown_item.1), here, None),
                    );
                }
            };
            let mut response = html_page(StatusCode::OK, markup);
            let link = format!(
                "<{}{path}?linkType=all>; rel=\"linkset\"; type=\"application/linkset+json\"",
                origin(state, headers)
            );
            if let Ok(v) = HeaderValue::from_str(&link) {
                response.headers_mut().insert(header::LINK, v);
            }
            response
        }
    }
}

fn item_page(
    lang: Lang,
    here: &str,
    path: &str,
    item: &Sgtin,
    product: Option<&pb::ProductSummary>,
    recalls: &[pb::RecallNotice],
    token: Option<&str>,
) -> Markup {
    let t = lang.texts();
    let title = product.map_or(t.check_title, |p| p.name.as_str());
    let body = html! {
        (page::product_card(t, product, page::Shown::Item(item)))
        (page::recalls(t, recalls))
        @match token {
            Some(token) => (page::code_form(t, lang, path, token, &fresh_request_id())),
            None => section.message role="alert" { p { (t.no_token) } },
        }
    };
    page::layout(lang, title, here, body)
}

fn product_page(lang: Lang, here: &str, gtin: &str, product: Option<&pb::ProductSummary>) -> Markup {
    let t = lang.texts();
    let body = html! {
        (page::product_card(t, product, page::Shown::Product(gtin)))
        section.message { h2 { (t.product_title) } p { (t.product_intro) } }
    };
    page::layout(lang, t.product_title, here, body)
}

/// The item's canonical Digital Link path, `/01/{gtin}/21/{serial}`.
fn item_path(item: &Sgtin) -> String {
    format!("/01/{}/21/{}", item.gtin, item.serial.to_dl_escaped())
}

/// A new verification id for the form: a reloaded or re-sent form records
/// no second scan and gets the first answer again.
fn fresh_request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// POST of the code form: verify, then the verdict page.
async fn check_code(state: &WebState, peer: SocketAddr, lang: Lang, path: &str, item: Sgtin, f: CodeForm) -> Response {
    let t = lang.texts();
    let here = path.to_owned();
    if let Err(refusal) = state.budgets.check(None, Some(peer.ip())) {
        return busy(lang, &here, refusal);
    }
    let bad =
        |detail: &str| refuse(false, lang, StatusCode::BAD_REQUEST, "BAD_FORM", t.bad_request_title, detail, &here);
    let Ok(label_token) = LabelToken::parse(&f.t) else {
        return refuse(
            false,
            lang,
            StatusCode::FORBIDDEN,
            "LABEL_TOKEN_REQUIRED",
            t.bad_request_title,
            t.no_token,
            &here,
        );
    };
    if f.code.trim().is_empty() {
        return bad(t.code_label);
    }
    let country = f.country.trim().to_ascii_uppercase();
    if !(country.is_empty() || (country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))) {
        return bad(t.country_label);
    }
    let city = f.city.trim();
    if city.len() > 100 || city.chars().any(char::is_control) {
        return bad(t.city_label);
    }
    let request_id = f.request_id.trim();
    let request_id = (16..=64).contains(&request_id.len()) && request_id.bytes().all(|b| b.is_ascii_graphic());
    let request = VerifyRequest {
        item: item.clone(),
        code: f.code,
        place: pb::Place { country, city: city.to_owned(), ..Default::default() },
        channel: "web".into(),
        scanner_digest: Vec::new(),
        label_token: Some(label_token),
        request_id: request_id.then(|| f.request_id.trim().as_bytes().to_vec()),
    };
    let answer = match state.service.verify_item(request).await {
        Ok(answer) => answer,
        Err(e) => return verify_failed(lang, &here, e),
    };
    let form_action = format!("{path}?t={label_token}&lang={}", lang.tag());
    html_page(StatusCode::OK, result_page(state, lang, &here, &form_action, &item, &answer))
}

fn verify_failed(lang: Lang, here: &str, e: ServiceError) -> Response {
    let t = lang.texts();
    match e {
        ServiceError::LockedOut { .. } => html_page(
            StatusCode::TOO_MANY_REQUESTS,
            page::message(lang, t.locked_out.0, t.locked_out.1, here, Some(here)),
        ),
        ServiceError::LabelToken { .. } => {
            html_page(StatusCode::FORBIDDEN, page::message(lang, t.bad_request_title, t.no_token, here, None))
        }
        ServiceError::InvalidArgument { reason, .. } => {
            let text = format!("{} ({reason})", t.invalid_code.1);
            html_page(StatusCode::BAD_REQUEST, page::message(lang, t.invalid_code.0, &text, here, Some(here)))
        }
        ServiceError::CodeCheckUnavailable(_) => html_page(
            StatusCode::SERVICE_UNAVAILABLE,
            page::message(lang, t.unavailable.0, t.unavailable.1, here, Some(here)),
        ),
        other => {
            tracing::warn!(cause = %other, "web: verification failed");
            html_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::message(lang, t.error_title, t.unavailable.1, here, Some(here)),
            )
        }
    }
}

fn busy(lang: Lang, here: &str, refusal: BudgetRefusal) -> Response {
    let t = lang.texts();
    let mut response =
        html_page(StatusCode::TOO_MANY_REQUESTS, page::message(lang, t.busy_title, t.busy_text, here, None));
    if let BudgetRefusal::RateLimited { wait, .. } = refusal {
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(v) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

fn result_page(
    state: &WebState,
    lang: Lang,
    here: &str,
    again: &str,
    item: &Sgtin,
    answer: &pb::VerifyItemResponse,
) -> Markup {
    let t = lang.texts();
    let v = view::verdict(t, lang, answer);
    let scan_id = answer.receipt.as_ref().map(|r| hex::encode(&r.envelope_id)).filter(|id| !id.is_empty());
    let download = scan_id.as_ref().map(|id| format!("/receipts/{id}"));
    let signed = answer.receipt.as_ref().and_then(|r| r.tree_head.as_ref()).map(|head| signers_line(state, lang, head));
    let body = html! {
        (page::product_card(t, answer.product.as_ref(), page::Shown::Item(item)))
        (page::verdict_panel(&v))
        (page::recalls(t, &answer.recalls))
        @if answer.verdict != pb::Verdict::InvalidCode as i32 && answer.verdict != pb::Verdict::UnknownItem as i32 {
            (page::journey(t, lang, &answer.journey))
            @if !answer.certificates.is_empty() {
                section.certificates { h2 { (t.certificates) } @for c in &answer.certificates { (page::certificate(t, lang, c)) } }
            }
        }
        (page::receipt(t, download.as_deref(), signed.as_deref()))
        @if let Some(scan) = &scan_id {
            (page::report_form(t, lang, scan, &item_path(item)))
        }
        p { a href=(again) { (t.check_again) } }
    };
    page::layout(lang, &v.headline, here, body)
}

/// "Signed by 3 of 4 validators: Brand, Customs, Platform."
fn signers_line(state: &WebState, lang: Lang, head: &pb::SignedTreeHead) -> String {
    let t = lang.texts();
    let parties = match state.service.ledger().list_parties(Default::default(), None, 1000) {
        Ok((parties, _)) => parties,
        Err(_) => return t.receipt_not_cosigned.to_owned(),
    };
    let set = veritrace_core::cosign::ValidatorSet::from_parties(&parties);
    match veritrace_core::cosign::verify_cosigned(head, &set) {
        Ok(ids) => {
            let names: Vec<&str> = ids
                .iter()
                .map(|id| parties.iter().find(|p| &p.party_id == id).map_or(id.as_str(), |p| p.display_name.as_str()))
                .collect();
            t.receipt_signed
                .replace("{n}", &names.len().to_string())
                .replace("{total}", &set.validators.len().to_string())
                .replace("{names}", &names.join(", "))
        }
        Err(_) => t.receipt_not_cosigned.to_owned(),
    }
}

/// GET /receipts/{id}: a recorded scan's receipt and envelope, as JSON.
async fn receipt(State(state): State<WebState>, Path(id): Path<String>) -> Response {
    let id = id.strip_suffix(".json").unwrap_or(&id);
    let Ok(hash) = Hash::from_hex(id) else {
        return problem(StatusCode::BAD_REQUEST, "INVALID_ID", "a receipt id is the scan's envelope id, 64 hex digits");
    };
    match state.service.scan_receipt(&hash).await {
        Ok(Some((receipt, envelope))) => {
            let body = (|| {
                Ok::<_, String>(serde_json::json!({
                    "receipt": proto3_json("veritrace.v1.Receipt", &receipt)?,
                    "scanEnvelope": proto3_json("veritrace.v1.SignedEnvelope", &envelope)?,
                }))
            })();
            match body {
                Ok(body) => {
                    let mut response = (
                        [
                            (header::CONTENT_TYPE, "application/json".to_owned()),
                            (
                                header::CONTENT_DISPOSITION,
                                format!("attachment; filename=\"veritrace-receipt-{}.json\"", &id[..16]),
                            ),
                        ],
                        format!("{body:#}\n"),
                    )
                        .into_response();
                    secure(response.headers_mut());
                    response
                }
                Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &e),
            }
        }
        Ok(None) => problem(StatusCode::NOT_FOUND, "RECEIPT_NOT_FOUND", "no consumer scan has this id"),
        Err(e) => {
            tracing::warn!(cause = %e, "web: receipt failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "the receipt cannot be built just now")
        }
    }
}

/// `message` in the canonical proto3 JSON mapping (camelCase, enums by
/// name, bytes in base64): a downloaded receipt is read back by any
/// protobuf library, not only by Veritrace's tools.
fn proto3_json<M: prost::Message>(full_name: &str, message: &M) -> Result<serde_json::Value, String> {
    let descriptor = veritrace_client::render::message_descriptor(full_name).map_err(|e| e.to_string())?;
    let mut dynamic = prost_reflect::DynamicMessage::new(descriptor);
    dynamic.transcode_from(message).map_err(|e| e.to_string())?;
    serde_json::to_value(&dynamic).map_err(|e| e.to_string())
}

/// POST /report: a suspected fake, tied to the reporter's scan.
async fn report(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Response {
    let here = "/report";
    let Ok(Form(f)) = form else {
        let lang = language(None, &headers);
        let detail = "post the report form (application/x-www-form-urlencoded)";
        return refuse(false, lang, StatusCode::BAD_REQUEST, "BAD_FORM", lang.texts().bad_request_title, detail, here);
    };
    let lang = language(Some(f.lang.as_str()), &headers);
    let t = lang.texts();
    if let Err(refusal) = state.budgets.check(None, Some(peer.ip())) {
        return busy(lang, here, refusal);
    }
    let bad =
        |detail: &str| refuse(false, lang, StatusCode::BAD_REQUEST, "BAD_FORM", t.bad_request_title, detail, here);
    let Ok(Target::Item(item)) = resolver::target(&f.item) else {
        return bad("item: not an item's Digital Link path");
    };
    let Ok(scan) = Hash::from_hex(f.scan.trim()) else {
        return bad("scan: the id of your check, 64 hex digits");
    };
    let category = match f.category.as_str() {
        "counterfeit" | "" => pb::ComplaintCategory::SuspectedCounterfeit,
        "tampered" => pb::ComplaintCategory::LabelTampered,
        "mislabeled" => pb::ComplaintCategory::Mislabeled,
        _ => return bad("category: counterfeit, tampered or mislabeled"),
    };
    let back = item_path(&item);
    let report = ConsumerReport {
        item,
        scan_envelope_id: scan,
        category,
        text: f.text.trim().to_owned(),
        language: lang.tag().to_owned(),
        seller: f.seller.trim().to_owned(),
    };
    match state.service.report_suspected_fake(report).await {
        Ok(_) => html_page(StatusCode::OK, page::message(lang, t.report_title, t.report_thanks, here, None)),
        Err(ServiceError::ScanRefused { reason, .. }) if reason == veritrace_core::Reason::AlreadyExists.code() => {
            html_page(StatusCode::CONFLICT, page::message(lang, t.report_title, t.report_duplicate, here, None))
        }
        Err(ServiceError::InvalidArgument { reason, .. }) => bad(&reason),
        Err(e) => {
            tracing::warn!(cause = %e, item = %back, "web: report failed");
            html_page(StatusCode::SERVICE_UNAVAILABLE, page::message(lang, t.error_title, t.unavailable.1, here, None))
        }
    }
}
