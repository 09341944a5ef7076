//! The public listener's accept loop. It is axum's `serve` with what a server on the internet
//! needs and that one does not set: a limit on how long a client may take to send a request's
//! headers (a client that trickles them, one byte at a time, would otherwise hold a connection
//! and its task forever), applied to idle keep-alive connections too. The peer's address is
//! known to every request of a connection through [`PEER`] (per-address login limits) at no
//! cost per request: a webhook never asks for it. A stop ends the accepting at once and lets
//! each connection finish the request it is serving.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

tokio::task_local! {
    /// The address of the peer whose connection the current task serves (HTTP/1 handlers run
    /// in their connection's task).
    pub static PEER: SocketAddr;
}

pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    stop: CancellationToken,
) -> std::io::Result<()> {
    // Every connection task holds a sender; when all are dropped, every connection is done.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone();
        let (stop, open) = (stop.clone(), open_tx.clone());
        tokio::spawn(PEER.scope(peer, async move {
            let _open = open;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                done = conn.as_mut() => {
                    if let Err(e) = done {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    return;
                }
                _ = stop.cancelled() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }));
    }
    drop(listener);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}
