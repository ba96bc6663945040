//! `VerificationService`: the consumer-facing product check, item
//! histories and party profiles.

use std::collections::HashMap;

use tonic::{Code, Request, Response, Status};

use veritrace_core::gs1::{Gtin, Serial, Sgtin};
use veritrace_core::label_token::LabelToken;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::verification_service_server::VerificationService;
use veritrace_service::{Service, ServiceError, VerifyRequest, now_ms};

use crate::client_budget::{APP_KEY_HEADER, ClientBudgets};
use crate::config::VerificationSection;
use crate::status::{from_service, invalid, reason, with_reason};

/// The verification service over a replica's application layer.
#[derive(Debug, Clone)]
pub struct VerificationApi {
    service: Service,
    budgets: std::sync::Arc<ClientBudgets>,
}

impl VerificationApi {
    /// Serves `service`, limiting VerifyItem per client as `limits` says.
    pub fn new(service: Service, limits: &VerificationSection) -> Self {
        VerificationApi { service, budgets: std::sync::Arc::new(ClientBudgets::new(limits)) }
    }

    fn err(&self, e: ServiceError) -> Status {
        match e {
            ServiceError::LockedOut { until_ms } => {
                let wait = std::time::Duration::from_millis((until_ms - now_ms()).max(0).unsigned_abs());
                crate::edge::limited(
                    veritrace_core::Reason::CodeAttemptsExhausted.code(),
                    "this item takes no more codes for now",
                    wait,
                )
            }
            ServiceError::LabelToken { reason: r, message } => reason(Code::PermissionDenied, r, message),
            ServiceError::NotConfigured(m) => reason(Code::FailedPrecondition, "NODE_NOT_CONFIGURED", m),
            ServiceError::ScanRefused { reason: r, message } => reason(Code::FailedPrecondition, &r, message),
            // Which validators failed is in the node's log, not the answer.
            ServiceError::CodeCheckUnavailable(_) => reason(
                Code::Unavailable,
                veritrace_core::Reason::CodeCheckUnavailable.code(),
                "too few validators could help check this code just now; nothing was spent, try again shortly",
            ),
            other => from_service(&self.service, other),
        }
    }
}

/// The item of a request: an SGTIN EPC URI or Digital Link, or GTIN +
/// serial.
pub fn parse_item(uri: Option<&str>, pair: Option<&pb::GtinSerial>) -> Result<Sgtin, Status> {
    match (uri, pair) {
        (Some(u), _) => Sgtin::parse_any(u).map_err(|e| {
            with_reason(
                Code::InvalidArgument,
                "INVALID_ITEM_ID",
                format!("item_uri: {e}"),
                HashMap::from([("field".to_string(), "item_uri".to_string())]),
            )
        }),
        (None, Some(p)) => {
            let gtin =
                Gtin::parse(&p.gtin).map_err(|e| invalid("gtin_serial.gtin", format!("gtin_serial.gtin: {e}")))?;
            let serial = Serial::parse(&p.serial)
                .map_err(|e| invalid("gtin_serial.serial", format!("gtin_serial.serial: {e}")))?;
            Ok(Sgtin::new(gtin, serial))
        }
        (None, None) => Err(invalid("item", "name the item by item_uri or gtin_serial")),
    }
}

/// A client-chosen request id: 16 to 64 printable ASCII characters; empty
/// lets the node pick one.
fn request_id(text: &str) -> Result<Option<Vec<u8>>, Status> {
    if text.is_empty() {
        return Ok(None);
    }
    if !(16..=64).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("request_id", "request_id is 16 to 64 printable ASCII characters (e.g. a UUID)"));
    }
    Ok(Some(text.as_bytes().to_vec()))
}

/// Page size rule shared by the list calls: 0 means 100, above 1,000 is 1,000.
pub fn page_size(requested: i32) -> Result<usize, Status> {
    match requested {
        n if n < 0 => Err(invalid("page_size", "page_size must not be negative")),
        0 => Ok(100),
        n => Ok((n as usize).min(1000)),
    }
}

/// An offset page token (decimal), empty for the first page.
pub fn offset_token(token: &str) -> Result<usize, Status> {
    if token.is_empty() {
        return Ok(0);
    }
    token.parse().map_err(|_| invalid("page_token", "page_token is not one this server issued"))
}

#[tonic::async_trait]
impl VerificationService for VerificationApi {
    async fn verify_item(
        &self,
        request: Request<pb::VerifyItemRequest>,
    ) -> Result<Response<pb::VerifyItemResponse>, Status> {
        use pb::verify_item_request::Item;
        let app_key = request.metadata().get(APP_KEY_HEADER).map(|v| v.as_bytes().to_vec());
        self.budgets.take(app_key.as_deref(), request.remote_addr().map(|a| a.ip()))?;
        let req = request.into_inner();
        let item = match &req.item {
            Some(Item::ItemUri(u)) => parse_item(Some(u), None)?,
            Some(Item::GtinSerial(p)) => parse_item(None, Some(p))?,
            None => parse_item(None, None)?,
        };
        if req.code.trim().is_empty() {
            return Err(invalid("code", "code is required (the digits under the scratch label)"));
        }
        if !req.scanner_digest.is_empty() && req.scanner_digest.len() != 32 {
            return Err(invalid("scanner_digest", "scanner_digest must be 32 bytes"));
        }
        if req.channel.len() > 100 {
            return Err(invalid("channel", "channel is at most 100 characters"));
        }
        let uri_token = match &req.item {
            Some(Item::ItemUri(u)) => LabelToken::text_in_link(u).map(str::to_owned),
            _ => None,
        };
        let token_text = if req.label_token.is_empty() { uri_token.unwrap_or_default() } else { req.label_token };
        let label_token = if token_text.is_empty() {
            None
        } else {
            Some(LabelToken::parse(&token_text).map_err(|e| invalid("label_token", e.to_string()))?)
        };
        let verify = VerifyRequest {
            item,
            code: req.code,
            place: req.place.unwrap_or_default(),
            channel: req.channel,
            scanner_digest: req.scanner_digest,
            label_token,
            request_id: request_id(&req.request_id)?,
        };
        let answer = self.service.verify_item(verify).await.map_err(|e| self.err(e))?;
        Ok(Response::new(answer))
    }

    async fn get_item_history(
        &self,
        request: Request<pb::GetItemHistoryRequest>,
    ) -> Result<Response<pb::GetItemHistoryResponse>, Status> {
        use pb::get_item_history_request::Item;
        let req = request.into_inner();
        let item = match &req.item {
            Some(Item::ItemUri(u)) => parse_item(Some(u), None)?,
            Some(Item::GtinSerial(p)) => parse_item(None, Some(p))?,
            None => parse_item(None, None)?,
        };
        let size = page_size(req.page_size)?;
        let offset = offset_token(&req.page_token)?;
        // Read-your-writes: include everything committed before this call.
        self.service.read_barrier().await.map_err(|e| self.err(e))?;
        let service = self.service.clone();
        crate::work_limits::off_the_runtime(move || {
            let now = now_ms();
            let ledger = service.ledger();
            let report = ledger.item_report(&item, now).map_err(|e| from_service(&service, e.into()))?;
            let steps = if report.record.is_some() {
                ledger.journey(&item, now).map_err(|e| from_service(&service, e.into()))?
            } else {
                Vec::new()
            };
            let page: Vec<_> = steps.iter().skip(offset).take(size).cloned().collect();
            let next = offset + page.len();
            Ok(Response::new(pb::GetItemHistoryResponse {
                item: Some(pb::GtinSerial { gtin: item.gtin.as_str().into(), serial: item.serial.as_str().into() }),
                state: report.state as i32,
                product: report.product,
                steps: page,
                next_page_token: if next < steps.len() { next.to_string() } else { String::new() },
            }))
        })
        .await
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::ProductSummary>, Status> {
        let name = request.into_inner().name;
        let Some(text) = name.strip_prefix("products/") else {
            return Err(invalid("name", format!("name {name:?} is not \"products/{{gtin}}\"")));
        };
        let gtin = Gtin::parse(text).map_err(|e| invalid("name", format!("name: {e}")))?;
        self.service.read_barrier().await.map_err(|e| self.err(e))?;
        let service = self.service.clone();
        crate::work_limits::off_the_runtime(move || {
            match service.ledger().product(gtin.as_str()).map_err(|e| from_service(&service, e.into()))? {
                Some(p) => Ok(Response::new(p)),
                None => Err(reason(Code::NotFound, "PRODUCT_NOT_FOUND", format!("no product {gtin} is registered"))),
            }
        })
        .await
    }

    async fn get_party_profile(
        &self,
        request: Request<pb::GetPartyProfileRequest>,
    ) -> Result<Response<pb::GetPartyProfileResponse>, Status> {
        let name = request.into_inner().name;
        let Some(id) = name.strip_prefix("parties/").filter(|id| !id.is_empty()) else {
            return Err(invalid("name", format!("name {name:?} is not \"parties/{{party_id}}\"")));
        };
        self.service.read_barrier().await.map_err(|e| self.err(e))?;
        let (service, id) = (self.service.clone(), id.to_owned());
        crate::work_limits::off_the_runtime(move || {
            match service.ledger().party_profile(&id, now_ms()).map_err(|e| from_service(&service, e.into()))? {
                Some(p) => Ok(Response::new(p)),
                None => Err(reason(Code::NotFound, "PARTY_NOT_FOUND", format!("no party {id:?}"))),
            }
        })
        .await
    }
}
