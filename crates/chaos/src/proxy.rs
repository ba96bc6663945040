//! Per-link TCP proxies on loopback: how the harness partitions a cluster
//! of real processes without root or network namespaces.
//!
//! Each node's configuration names, for every peer, the address of a
//! [`LinkProxy`] that forwards to that peer's real port. A libp2p
//! connection carries both directions, and both ends dial each other, so
//! the link between two nodes is the pair of proxies `a -> b` and `b -> a`:
//! cutting both closes every connection between them and refuses new ones
//! until healed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One directed link: listens on a loopback port, forwards to `target`.
#[derive(Debug, Clone)]
pub struct LinkProxy {
    listen: SocketAddr,
    /// The connection epoch: bumped by every cut, which ends the
    /// connections of earlier epochs.
    epoch: watch::Sender<u64>,
    cut: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
}

impl LinkProxy {
    /// Binds a free loopback port and forwards what arrives to `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("bind a proxy port")?;
        let listen = listener.local_addr()?;
        let (epoch, _) = watch::channel(0u64);
        let proxy =
            LinkProxy { listen, epoch, cut: Arc::new(AtomicBool::new(false)), accepted: Arc::new(AtomicU64::new(0)) };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                // The epoch before the flag: a cut between the two reads
                // bumps the epoch this connection then watches.
                let mut epoch = p.epoch.subscribe();
                let started = *epoch.borrow_and_update();
                if p.cut.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                p.accepted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else { return };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = epoch.wait_for(|e| *e != started) => {}
                    }
                });
            }
        });
        Ok(proxy)
    }

    /// The address peers dial.
    pub fn addr(&self) -> SocketAddr {
        self.listen
    }

    /// Closes every connection through the link and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Takes connections again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Connections forwarded so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn forwards_until_cut_and_again_after_heal() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = LinkProxy::start(target).await.expect("proxy");
        let mut c = TcpStream::connect(proxy.addr()).await.expect("connect");
        c.write_all(b"ping").await.expect("write");
        let mut got = [0u8; 4];
        c.read_exact(&mut got).await.expect("echo");
        assert_eq!(&got, b"ping");
        proxy.cut();
        // The open connection ends; a new one is closed at once.
        let mut rest = Vec::new();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.read_to_end(&mut rest))
            .await
            .expect("closed in time")
            .unwrap_or(0);
        assert_eq!(n, 0);
        let mut refused = TcpStream::connect(proxy.addr()).await.expect("accepted then dropped");
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), refused.read(&mut [0u8; 1]))
            .await
            .expect("closed in time")
            .unwrap_or(0);
        assert_eq!(n, 0);
        proxy.heal();
        let mut c = TcpStream::connect(proxy.addr()).await.expect("connect");
        c.write_all(b"pong").await.expect("write");
        c.read_exact(&mut got).await.expect("echo");
        assert_eq!(&got, b"pong");
        assert_eq!(proxy.accepted(), 2);
    }
}
