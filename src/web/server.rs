//! The accept loop: HTTP/1.1 over hyper, with a header-read timeout (which also closes idle
//! keep-alive connections) so that slow or silent clients cannot hold connections for ever, and
//! a graceful shutdown: stop accepting, let requests in flight finish, close idle connections.
//!
//! `axum::serve` sets no header timeout and waits for ever on a client that never finishes its
//! headers, hence this loop (axum's graceful-shutdown example, with hyper's timer).
//!
//! Caps: at most `EBMBOT_MAX_CONNECTIONS` connections are open at once, and while the
//! request-body budget (`EBMBOT_MAX_BODY_MEMORY`, see `limits`) is spent no connection is
//! accepted either. Past a cap the loop stops calling `accept`: new connections wait in the
//! kernel's listen backlog rather than being answered 503, because GitHub does not retry a failed
//! delivery. Each pause is logged once and counted in `ebmbot_web_accept_paused_total`.

use std::future::Future;
use std::io;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::{WebState, router};

/// Pause after an accept error that is not the client's (out of file descriptors, …).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// hyper's read buffer per connection (its default is about 400 KiB): enough for any header
/// GitHub or Slack sends (16 KiB), and what a connection whose body is not read yet may hold.
const READ_BUFFER: usize = 16 * 1024;

/// Serves [`router`] on `listener` until `shutdown` completes, then stops accepting and waits
/// up to [`super::Limits::drain`] for requests in flight.
pub async fn serve(listener: TcpListener, state: WebState, shutdown: impl Future<Output = ()> + Send) {
    let limits = state.limits();
    let max_connections = state.settings().max_connections;
    let connections = std::sync::Arc::new(Semaphore::new(max_connections));
    let budget = std::sync::Arc::clone(state.budget());
    let metrics = std::sync::Arc::clone(state.metrics());
    let app = router(state);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.headers).keep_alive(true).max_buf_size(READ_BUFFER);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Caps first: until there is room, connections wait in the listen backlog.
        let permit = if let Ok(permit) = std::sync::Arc::clone(&connections).try_acquire_owned() {
            permit
        } else {
            tracing::warn!(
                "{max_connections} connections are open (EBMBOT_MAX_CONNECTIONS); new ones wait in the listen backlog"
            );
            metrics.accept_paused("connections");
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                permit = std::sync::Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            }
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_connection_error(&e) {
                        tracing::warn!(error = &e as &dyn std::error::Error, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        // With the body budget spent, this connection waits unserved, and the loop does not
        // accept another, until bytes come back.
        if budget.available() == 0 {
            tracing::warn!(
                "request bodies hold {} bytes (EBMBOT_MAX_BODY_MEMORY); new connections wait in the listen backlog",
                budget.total()
            );
            metrics.accept_paused("body_memory");
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = budget.wait_for_room() => {}
            }
        }
        // Small answers go out at once rather than waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
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
