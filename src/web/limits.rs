//! What a request may hold: the request-body bytes held at once by every request together
//! (`EBMBOT_MAX_BODY_MEMORY`), on every route.
//!
//! A request with a body reserves what it may hold before its first byte is read: its
//! `Content-Length` (at most `EBMBOT_MAX_BODY`), or `EBMBOT_MAX_BODY` when it does not say. The
//! reservation lasts until the answer is ready. A request that cannot reserve waits, unread (the
//! kernel's socket buffers and TCP flow control hold the sender), until other requests give
//! bytes back or its request timeout answers 408. Reservations are not first come, first served:
//! a small delivery does not queue behind a large one. While the budget is spent, the accept
//! loop (`server`) stops accepting connections, as it does at `EBMBOT_MAX_CONNECTIONS`.
//!
//! Nothing here reads a body: a handler that refuses a request on its headers (an unsigned
//! webhook) never reserves anything.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::Limited;
use tokio::sync::Notify;

use super::WebState;

/// Bytes that requests may hold at once.
#[derive(Debug)]
pub(super) struct Budget {
    total: u64,
    available: Mutex<u64>,
    returned: Notify,
}

/// Bytes taken from a [`Budget`], given back on drop.
#[derive(Debug)]
pub(super) struct Reservation {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Budget {
    pub(super) fn new(total: u64) -> Arc<Budget> {
        Arc::new(Budget { total, available: Mutex::new(total), returned: Notify::new() })
    }

    /// Bytes not reserved now.
    pub(super) fn available(&self) -> u64 {
        *self.available.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Takes `bytes` (at most the whole budget) if they are free now.
    pub(super) fn try_reserve(self: &Arc<Self>, bytes: u64) -> Option<Reservation> {
        let bytes = bytes.min(self.total);
        let mut available = self.available.lock().unwrap_or_else(PoisonError::into_inner);
        if *available < bytes {
            return None;
        }
        *available -= bytes;
        Some(Reservation { budget: Arc::clone(self), bytes })
    }

    /// Takes `bytes` (at most the whole budget), waiting until they are free.
    pub(super) async fn reserve(self: Arc<Self>, bytes: u64) -> Reservation {
        loop {
            let returned = self.returned.notified();
            let mut returned = std::pin::pin!(returned);
            returned.as_mut().enable();
            if let Some(r) = self.try_reserve(bytes) {
                return r;
            }
            returned.await;
        }
    }

    /// Waits until some bytes are free.
    pub(super) async fn wait_for_room(&self) {
        loop {
            let returned = self.returned.notified();
            let mut returned = std::pin::pin!(returned);
            returned.as_mut().enable();
            if self.available() > 0 {
                return;
            }
            returned.await;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        *self.budget.available.lock().unwrap_or_else(PoisonError::into_inner) += self.bytes;
        self.budget.returned.notify_waiters();
    }
}

/// Where a request's reservation is kept until its answer is ready.
type Slot = Arc<Mutex<Option<Reservation>>>;

/// The middleware: wraps every request body so that it reserves before its first byte is read
/// and stops at `EBMBOT_MAX_BODY`. Handlers still answer 413 themselves (the GitHub route by
/// `Content-Length` before reading, axum's extractors past their own limit).
pub(super) async fn hold_bodies(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let max = state.settings().max_body;
    let (parts, body) = request.into_parts();
    let hint = body.size_hint();
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let want = match hint.exact() {
        Some(0) => 0,
        _ => declared.unwrap_or(max).min(max),
    };
    let slot: Slot = Arc::default();
    let limited = Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX));
    let body = Reserving {
        inner: Body::new(limited),
        pending: (want > 0).then(|| Box::pin(Arc::clone(state.budget()).reserve(want)) as PendingReservation),
        slot: Arc::clone(&slot),
    };
    let response = next.run(Request::from_parts(parts, Body::new(body))).await;
    drop(slot.lock().unwrap_or_else(PoisonError::into_inner).take());
    response
}

type PendingReservation = Pin<Box<dyn Future<Output = Reservation> + Send>>;

/// A body that reserves its bytes at its first poll.
struct Reserving {
    inner: Body,
    pending: Option<PendingReservation>,
    slot: Slot,
}

impl HttpBody for Reserving {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Some(pending) = &mut this.pending {
            let Poll::Ready(reservation) = pending.as_mut().poll(cx) else { return Poll::Pending };
            this.pending = None;
            *this.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(reservation);
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_and_small_ones_pass_large_ones() {
        let budget = Budget::new(100);
        let a = budget.try_reserve(60).unwrap();
        assert_eq!(budget.available(), 40);
        assert!(budget.try_reserve(50).is_none());
        // A large request waits; a small one behind it does not.
        let large = tokio::spawn(Arc::clone(&budget).reserve(50));
        tokio::task::yield_now().await;
        let small = Arc::clone(&budget).reserve(30).await;
        assert_eq!(budget.available(), 10);
        assert!(!large.is_finished());
        drop(a);
        let large = large.await.unwrap();
        assert_eq!(budget.available(), 20);
        drop((large, small));
        assert_eq!(budget.available(), 100);
        // More than the whole budget is clamped to it.
        let all = budget.try_reserve(1_000).unwrap();
        assert_eq!(budget.available(), 0);
        drop(all);
        budget.wait_for_room().await;
    }
}
