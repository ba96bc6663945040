//! Splitting what peers send between the Raft driver and the service.

use tokio::sync::{Semaphore, mpsc};
use veritrace_consensus::Inbound;

use super::PEER_REQUEST_TAG;
use crate::cosign::COSIGN_REQUEST_TAG;
use crate::private::PRIVATE_PUSH_TAG;
use crate::service::Service;

/// Most peer requests answered at once; past it a request is answered
/// with a refusal at once instead of queueing (the asker uses other
/// helpers or retries).
pub const MAX_PEER_REQUESTS_IN_FLIGHT: usize = 256;

/// Driver-bound messages held while the driver's channel is full, beyond
/// which reading stops until the driver catches up (as before the split).
pub const MAX_HELD_FOR_DRIVER: usize = 1024;

/// Reads what the transport delivers: tagged peer requests go to
/// [`Service::answer_peer_request`] (each on its own task, at most
/// [`MAX_PEER_REQUESTS_IN_FLIGHT`] at once), everything else to the
/// driver, in order. A driver busy applying does not hold up peer
/// requests: its messages wait here (at most [`MAX_HELD_FOR_DRIVER`])
/// while reading goes on. Ends when the transport's channel closes (which
/// closes the driver's, which stops the driver) or the driver's closes.
pub async fn route_inbound(mut inbound: mpsc::Receiver<Inbound>, driver: mpsc::Sender<Inbound>, service: Service) {
    let permits = std::sync::Arc::new(Semaphore::new(MAX_PEER_REQUESTS_IN_FLIGHT));
    let mut held: std::collections::VecDeque<Inbound> = std::collections::VecDeque::new();
    let mut open = true;
    while open || !held.is_empty() {
        tokio::select! {
            permit = driver.reserve(), if !held.is_empty() => {
                let Ok(permit) = permit else { return };
                if let Some(message) = held.pop_front() {
                    permit.send(message);
                }
            }
            message = inbound.recv(), if open && held.len() < MAX_HELD_FOR_DRIVER => match message {
                None => open = false,
                Some(Inbound::Forward { from, request, reply })
                    if matches!(request.first(), Some(&PEER_REQUEST_TAG | &COSIGN_REQUEST_TAG | &PRIVATE_PUSH_TAG)) =>
                {
                    answer(&service, &permits, from, request, reply);
                }
                // Behind held messages, never past them: the driver gets
                // them in the order they came.
                Some(other) if !held.is_empty() => held.push_back(other),
                Some(other) => match driver.try_send(other) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(other)) => held.push_back(other),
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                },
            },
        }
    }
}

/// Answers one peer request on its own task, or refuses it at once when
/// too many are in flight.
fn answer(
    service: &Service,
    permits: &std::sync::Arc<Semaphore>,
    from: veritrace_consensus::NodeId,
    request: Vec<u8>,
    reply: tokio::sync::oneshot::Sender<Vec<u8>>,
) {
    let tag = request.first().copied();
    let cosign = tag == Some(COSIGN_REQUEST_TAG);
    let Ok(permit) = permits.clone().try_acquire_owned() else {
        tracing::warn!(from, "too many peer requests at once; refusing one");
        let busy = if tag == Some(PRIVATE_PUSH_TAG) {
            b"busy".to_vec()
        } else if cosign {
            prost::Message::encode_to_vec(&veritrace_proto::v1::CoSignResponse {
                refusal: "too many peer requests at once".into(),
                ..Default::default()
            })
        } else {
            prost::Message::encode_to_vec(&veritrace_proto::v1::EvaluateCodeResponse {
                refusal_reason: "BUSY".into(),
                refusal_message: "too many code checks at once".into(),
                ..Default::default()
            })
        };
        let _ = reply.send(busy);
        return;
    };
    let service = service.clone();
    tokio::spawn(async move {
        let answer = if tag == Some(PRIVATE_PUSH_TAG) {
            service.answer_private_push(from, &request[1..]).await
        } else if cosign {
            service.answer_cosign(from, &request[1..]).await
        } else {
            service.answer_peer_request(from, &request[1..]).await
        };
        let _ = reply.send(answer);
        drop(permit);
    });
}
