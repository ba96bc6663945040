//! Splitting what peers send between the Raft driver and the service.

use tokio::sync::{Semaphore, mpsc};
use veritrace_consensus::Inbound;

use super::PEER_REQUEST_TAG;
use crate::service::Service;

/// Most peer requests answered at once; past it a request is answered
/// with a refusal at once instead of queueing (the asker uses other
/// helpers or retries).
pub const MAX_PEER_REQUESTS_IN_FLIGHT: usize = 256;

/// Reads what the transport delivers: tagged peer requests go to
/// [`Service::answer_peer_request`] (each on its own task, at most
/// [`MAX_PEER_REQUESTS_IN_FLIGHT`] at once), everything else to the
/// driver. Ends when the transport's channel closes (which closes the
/// driver's, which stops the driver) or the driver's closes.
pub async fn route_inbound(mut inbound: mpsc::Receiver<Inbound>, driver: mpsc::Sender<Inbound>, service: Service) {
    let permits = std::sync::Arc::new(Semaphore::new(MAX_PEER_REQUESTS_IN_FLIGHT));
    while let Some(message) = inbound.recv().await {
        match message {
            Inbound::Forward { from, request, reply } if request.first() == Some(&PEER_REQUEST_TAG) => {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::warn!(from, "too many peer requests at once; refusing one");
                    let busy = veritrace_proto::v1::EvaluateCodeResponse {
                        refusal_reason: "BUSY".into(),
                        refusal_message: "too many code checks at once".into(),
                        ..Default::default()
                    };
                    let _ = reply.send(prost::Message::encode_to_vec(&busy));
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let answer = service.answer_peer_request(from, &request[1..]);
                    let _ = reply.send(answer);
                    drop(permit);
                });
            }
            other => {
                if driver.send(other).await.is_err() {
                    break;
                }
            }
        }
    }
}
