//! `MarketplaceService`: supplier profiles and marketplace cases, read from
//! the replica's applied state. Party-plane calls: complaint texts and
//! amounts are the network members' business data.

use tonic::{Code, Request, Response, Status};
use veritrace_core::party_call::methods;
use veritrace_proto::v1 as pb;
use veritrace_proto::v1::marketplace_service_server::MarketplaceService;
use veritrace_service::Service;

use crate::party_auth::PartyGate;
use crate::status::{from_service, invalid, reason};
use crate::verification::offset_token;

/// The marketplace reads over a replica's application layer.
#[derive(Debug, Clone)]
pub struct MarketplaceApi {
    service: Service,
    gate: PartyGate,
}

/// Default and largest page of `ListCases`.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// The party id of "parties/{party_id}".
fn party_name<'a>(field: &str, name: &'a str) -> Result<&'a str, Status> {
    name.strip_prefix("parties/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| invalid(field, format!("{field} {name:?} is not \"parties/{{party_id}}\"")))
}

/// (filer, complaint id) of "parties/{filer}/{collection}/{id}".
fn case_name<'a>(name: &'a str, collection: &str) -> Result<(&'a str, &'a str), Status> {
    let bad = || invalid("name", format!("name {name:?} is not \"parties/{{filer}}/{collection}/{{complaint_id}}\""));
    let rest = name.strip_prefix("parties/").ok_or_else(bad)?;
    let (filer, rest) = rest.split_once('/').ok_or_else(bad)?;
    let id = rest.strip_prefix(collection).and_then(|r| r.strip_prefix('/')).ok_or_else(bad)?;
    if filer.is_empty() || id.is_empty() {
        return Err(bad());
    }
    Ok((filer, id))
}

fn not_found(what: String) -> Status {
    reason(Code::NotFound, "CASE_NOT_FOUND", what)
}

impl MarketplaceApi {
    /// Serves `service`; `gate` guards every method (party plane).
    pub fn new(service: Service, gate: PartyGate) -> Self {
        MarketplaceApi { service, gate }
    }

    async fn admit<T>(&self, request: &Request<T>, method: &str) -> Result<(), Status> {
        self.gate.check(&self.service, request.metadata(), method)?;
        self.service.read_barrier().await.map(|_| ()).map_err(|e| from_service(&self.service, e))
    }

    /// Runs a ledger read on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&veritrace_ledger::Ledger<veritrace_service::Engine>) -> Result<T, veritrace_ledger::LedgerError>
        + Send
        + 'static,
    ) -> Result<T, Status> {
        let service = self.service.clone();
        crate::work_limits::off_the_runtime(move || f(&service.ledger()).map_err(|e| from_service(&service, e.into())))
            .await
    }
}

#[tonic::async_trait]
impl MarketplaceService for MarketplaceApi {
    async fn get_supplier_profile(
        &self,
        request: Request<pb::GetSupplierProfileRequest>,
    ) -> Result<Response<pb::SupplierProfile>, Status> {
        self.admit(&request, methods::GET_SUPPLIER_PROFILE).await?;
        let id = party_name("name", &request.get_ref().name)?.to_owned();
        let lookup = id.clone();
        match self.read(move |l| l.supplier_profile(&lookup)).await? {
            Some(p) => Ok(Response::new(p)),
            None => Err(reason(Code::NotFound, "PARTY_NOT_FOUND", format!("no party {id:?}"))),
        }
    }

    async fn get_ip_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::IpCase>, Status> {
        self.admit(&request, methods::GET_IP_CASE).await?;
        let (filer, id) = case_name(&request.get_ref().name, "ipCases")?;
        let (filer, id) = (filer.to_owned(), id.to_owned());
        let (f, i) = (filer.clone(), id.clone());
        match self.read(move |l| l.ip_case(&f, &i)).await? {
            Some(c) => Ok(Response::new(c)),
            None => Err(not_found(format!("{filer} filed no IP complaint {id:?}"))),
        }
    }

    async fn get_trade_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::TradeCase>, Status> {
        self.admit(&request, methods::GET_TRADE_CASE).await?;
        let (filer, id) = case_name(&request.get_ref().name, "tradeCases")?;
        let (filer, id) = (filer.to_owned(), id.to_owned());
        let (f, i) = (filer.clone(), id.clone());
        match self.read(move |l| l.trade_case(&f, &i)).await? {
            Some(c) => Ok(Response::new(c)),
            None => Err(not_found(format!("{filer} filed no trade complaint {id:?}"))),
        }
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        self.admit(&request, methods::LIST_CASES).await?;
        let req = request.into_inner();
        let party = party_name("parent", &req.parent)?.to_owned();
        let size = match req.page_size {
            n if n < 0 => return Err(invalid("page_size", "page_size must not be negative")),
            0 => DEFAULT_PAGE,
            n => (n as usize).min(MAX_PAGE),
        };
        let offset = offset_token(&req.page_token)?;
        let (cases, next) = self.read(move |l| l.list_cases(&party, req.open_only, offset, size)).await?;
        Ok(Response::new(pb::ListCasesResponse {
            cases,
            next_page_token: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_parse_and_bad_ones_name_the_field() {
        assert_eq!(case_name("parties/shop/tradeCases/t-1", "tradeCases").expect("parses"), ("shop", "t-1"));
        assert_eq!(case_name("parties/shop/tradeCases/a/b", "tradeCases").expect("parses"), ("shop", "a/b"));
        for bad in
            ["", "parties/", "parties/shop", "parties/shop/ipCases/x", "parties//tradeCases/x", "shop/tradeCases/x"]
        {
            let e = case_name(bad, "tradeCases").expect_err(bad);
            assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        }
        assert_eq!(party_name("name", "parties/acme").expect("parses"), "acme");
        assert!(party_name("name", "parties/a/b").is_err() && party_name("name", "acme").is_err());
    }
}
