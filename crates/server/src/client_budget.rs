//! Per-client limits of `VerifyItem`: one token bucket per client address,
//! or per consumer app for callers that present an app key.
//!
//! These are this node's limits. They slow a script that walks serials
//! from one address; what bounds the guesses on any one item is the
//! ledger's guess budget, which no choice of addresses or nodes escapes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tonic::Code;

use crate::config::VerificationSection;
use crate::edge::RateLimiter;
use crate::status::reason;

/// The request header carrying a consumer app's key.
pub const APP_KEY_HEADER: &str = "x-veritrace-app-key";

/// The limits of one node.
#[derive(Debug)]
pub struct ClientBudgets {
    by_address: Option<RateLimiter<IpAddr>>,
    /// Apps by blake3 of their key.
    apps: HashMap<[u8; 32], (String, RateLimiter<()>)>,
}

impl ClientBudgets {
    /// The limits `section` configures (its app keys already checked as 64
    /// hex digits; an entry that is not is left out).
    pub fn new(section: &VerificationSection) -> Self {
        let by_address = (section.per_address_per_minute > 0)
            .then(|| RateLimiter::per_minute(section.per_address_per_minute, section.per_address_burst));
        let apps = section
            .apps
            .iter()
            .filter_map(|app| {
                let digest: [u8; 32] = hex::decode(&app.key_blake3).ok()?.try_into().ok()?;
                Some((digest, (app.name.clone(), RateLimiter::per_minute(app.per_minute, app.burst))))
            })
            .collect();
        ClientBudgets { by_address, apps }
    }

    /// Takes one verification from the budget of the caller: its app when
    /// `app_key` is given (UNAUTHENTICATED for a key this node does not
    /// know), else its address (`None`: not limited).
    pub fn take(&self, app_key: Option<&[u8]>, address: Option<IpAddr>) -> Result<(), tonic::Status> {
        self.check(app_key, address).map_err(|refusal| match refusal {
            BudgetRefusal::UnknownApp => reason(
                Code::Unauthenticated,
                "APP_KEY_UNKNOWN",
                format!("this node knows no app with the {APP_KEY_HEADER} given"),
            ),
            BudgetRefusal::RateLimited { who, wait } => client_rate_limited(&who, wait),
        })
    }

    /// [`take`](Self::take) for edges other than gRPC (the web page):
    /// the refusal as a value.
    pub fn check(&self, app_key: Option<&[u8]>, address: Option<IpAddr>) -> Result<(), BudgetRefusal> {
        let now = Instant::now();
        let waited = match app_key {
            Some(key) => {
                let digest: [u8; 32] = *blake3::hash(key).as_bytes();
                let Some((name, limiter)) = self.apps.get(&digest) else {
                    return Err(BudgetRefusal::UnknownApp);
                };
                limiter.check((), now).map_err(|wait| (format!("app {name}"), wait))
            }
            None => match (&self.by_address, address) {
                (Some(limiter), Some(ip)) => {
                    let key = crate::edge::client_key(ip);
                    limiter.check(key, now).map_err(|wait| (format!("address {key}"), wait))
                }
                _ => Ok(()),
            },
        };
        waited.map_err(|(who, wait)| BudgetRefusal::RateLimited { who, wait })
    }
}

/// Why [`ClientBudgets::check`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetRefusal {
    /// An app key this node does not know.
    UnknownApp,
    /// The caller's budget is spent for `wait`.
    RateLimited {
        /// Whose budget ("address 10.0.0.0/24", "app brand-app").
        who: String,
        /// Until the next request is allowed.
        wait: Duration,
    },
}

/// RESOURCE_EXHAUSTED, reason `CLIENT_RATE_LIMITED`, with a RetryInfo.
fn client_rate_limited(who: &str, wait: Duration) -> tonic::Status {
    crate::edge::limited("CLIENT_RATE_LIMITED", &format!("too many verifications from {who}"), wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppKeySection;
    use tonic_types::StatusExt as _;

    #[test]
    fn addresses_and_apps_have_budgets_of_their_own() {
        let key = b"brand-app-secret";
        let section = VerificationSection {
            per_address_per_minute: 60,
            per_address_burst: 2,
            apps: vec![AppKeySection {
                name: "brand-app".into(),
                key_blake3: blake3::hash(key).to_hex().to_string(),
                per_minute: 600,
                burst: 5,
            }],
        };
        let budgets = ClientBudgets::new(&section);
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        assert!(budgets.take(None, Some(a)).is_ok() && budgets.take(None, Some(a)).is_ok());
        let refused = budgets.take(None, Some(a)).expect_err("over the burst");
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert_eq!(refused.get_error_details().error_info().map(|i| i.reason.as_str()), Some("CLIENT_RATE_LIMITED"));
        assert!(refused.get_error_details().retry_info().is_some());
        assert!(budgets.take(None, Some(b)).is_ok(), "another address is not affected");
        for _ in 0..5 {
            assert!(budgets.take(Some(key), Some(a)).is_ok(), "the app's own budget");
        }
        assert_eq!(budgets.take(Some(key), Some(a)).map_err(|s| s.code()), Err(Code::ResourceExhausted));
        assert_eq!(budgets.take(Some(b"guess"), Some(b)).map_err(|s| s.code()), Err(Code::Unauthenticated));
        let open = ClientBudgets::new(&VerificationSection { per_address_per_minute: 0, ..section });
        assert!((0..100).all(|_| open.take(None, Some(a)).is_ok()), "0 disables the address limit");
    }
}
