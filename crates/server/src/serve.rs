//! The public listener's accept loop. It is axum's `serve` with what a server on the internet
//! needs and that one does not set: a limit on how long a client may take to send a request's
//! headers (a client that trickles them, one byte at a time, would otherwise hold a connection
//! and its task forever), applied to idle keep-alive connections too. The peer's address is
//! known to every request of a connection through [`PEER`] (per-address login limits) at no
//! cost per request: a webhook never asks for it. A stop ends the accepting at once and lets
//! each connection finish the request it is serving.
//!
//! The header limit is hyper's, on a clock of our own ([`Coarse`]): hyper's Tokio timer arms
//! and disarms a timer-wheel entry for every request, which costs the webhook intake several
//! per cent; here a deadline is a number checked when the connection is polled, and each
//! connection is polled at least once a second, so a limit is enforced within a second of
//! falling due at the cost of one timer per connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

tokio::task_local! {
    /// The address of the peer whose connection the current task serves (HTTP/1 handlers run
    /// in their connection's task).
    pub static PEER: SocketAddr;
}

/// How often each connection is polled whatever happens on it, so deadlines are seen.
const CHECK: Duration = Duration::from_secs(1);

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
                .timer(Coarse)
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut check = tokio::time::interval(CHECK);
            check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    done = conn.as_mut() => {
                        if let Err(e) = done {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        return;
                    }
                    // Wakes the task, and select polls the connection, so hyper looks at its
                    // header deadline.
                    _ = check.tick() => {}
                    _ = stop.cancelled() => break,
                }
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

/// hyper's timer, as deadlines checked when polled (see the module's notes): it registers no
/// waker, which is sound only because [`serve`] polls every connection at least every
/// [`CHECK`]. Only the header timeout uses it.
#[derive(Clone, Copy)]
struct Coarse;

struct Deadline(Instant);

impl Future for Deadline {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl hyper::rt::Sleep for Deadline {}

impl hyper::rt::Timer for Coarse {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline(Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(d) => d.get_mut().0 = new_deadline,
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
