//! The accept loop: HTTP/1.1 over hyper, with a header-read timeout (which also closes idle
//! keep-alive connections) so that slow or silent clients cannot hold connections for ever, and
//! a graceful shutdown: stop accepting, let requests in flight finish, close idle connections.
//!
//! `axum::serve` sets no header timeout and waits for ever on a client that never finishes its
//! headers, hence this loop (axum's graceful-shutdown example, with hyper's timer).

use std::future::Future;
use std::io;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::{WebState, router};

/// Pause after an accept error that is not the client's (out of file descriptors, …).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves [`router`] on `listener` until `shutdown` completes, then stops accepting and waits
/// up to [`super::Limits::drain`] for requests in flight.
pub async fn serve(listener: TcpListener, state: WebState, shutdown: impl Future<Output = ()> + Send) {
    let limits = state.limits();
    let app = router(state);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.headers).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_connection_error(&e) {
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        // Small answers go out at once rather than waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("requests still in flight after {:?}; closing their connections", limits.drain);
        }
    }
}

/// Errors about one connection (the client went away), as opposed to the listener's.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
