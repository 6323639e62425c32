//! [`DeregisterLog`]: which tokens were deregistered since the event loop's current iteration
//! began, so that the loop never calls `ready` for a source after its `deregister` returned,
//! not even for an event fetched before.
//!
//! It lives in the selector state that `Poll` and every `Registry` share, and it is fed by the
//! selector's own `register`, `reregister` and `deregister`, so it covers every kind of source
//! (ferrio's own, raw fds through `EventedFd`, user types) and every thread (a deregistration
//! made through a `Registry` clone on another thread while the loop dispatches counts too).
//!
//! # How it works
//!
//! Off until an `EventLoop` turns it on ([`enable`](DeregisterLog::enable)): a bare `Poll`
//! pays one relaxed load per registration call and nothing per event. On, it keeps the token of
//! every registered fd (so a deregistration by fd knows its token) and a list of records:
//!
//! * `deregister(fd)` records "its token was removed"; `reregister` to a different token records
//!   the old token as removed (events of the batch carry the old token).
//! * The loop clears the records when an iteration begins, before it waits: a removal recorded
//!   earlier happened before the wait, so the wait cannot have fetched an event of the removed
//!   registration. It marks the end of the wait ([`begin_dispatch`](DeregisterLog::begin_dispatch))
//!   before it dispatches.
//! * A registration made after that mark (in a callback, say) cannot have an event in the batch:
//!   its first event comes from the next wait, so a removal recorded for its token still skips
//!   the batch's (stale) events. A registration made **during** the wait (on another thread)
//!   may have had its first event fetched by it: for a token with a removal record it records
//!   "added again", so that event is delivered. A fresh event must never be lost (an edge would
//!   not come back), while a stale one delivered to the new owner of the token is only a
//!   spurious event, which the contract allows.
//! * Per event the loop makes one atomic load ([`is_empty`](DeregisterLog::is_empty)); only
//!   when records exist does it take the lock and look the token up.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::token::Token;

/// No token: the entry of an fd that is not registered.
const NO_TOKEN: usize = usize::MAX;

#[derive(Debug, Default)]
pub(crate) struct DeregisterLog {
    enabled: AtomicBool,
    /// Between the end of the loop's wait and the start of its next iteration.
    dispatching: AtomicBool,
    /// `records.len()`, readable without the lock.
    len: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The token each registered fd was registered with, indexed by fd.
    token_of_fd: Vec<usize>,
    /// `(token, removed)`, oldest first.
    records: Vec<(Token, bool)>,
}

impl DeregisterLog {
    /// Starts recording (called once, by the event loop that owns the selector, before any
    /// registration).
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    #[inline]
    fn on(&self) -> Option<MutexGuard<'_, Inner>> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        // Every critical section leaves the data consistent before anything that can panic.
        Some(self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The source with key `idx` (its fd) was registered (or reregistered) under `token`.
    pub(crate) fn registered(&self, idx: usize, token: Token) {
        let Some(mut inner) = self.on() else { return };
        if inner.token_of_fd.len() <= idx {
            inner.token_of_fd.resize(idx + 1, NO_TOKEN);
        }
        let old = std::mem::replace(&mut inner.token_of_fd[idx], token.0);
        if old != NO_TOKEN && old != token.0 {
            // A reregistration under a new token: the batch's events carry the old one.
            self.record(&mut inner, Token(old), true);
        }
        if !self.dispatching.load(Ordering::SeqCst)
            && inner.records.iter().any(|&(t, _)| t == token)
        {
            self.record(&mut inner, token, false);
        }
    }

    /// The source with key `idx` (its fd) was deregistered.
    pub(crate) fn deregistered(&self, idx: usize) {
        let Some(mut inner) = self.on() else { return };
        let Some(slot) = inner.token_of_fd.get_mut(idx) else {
            return;
        };
        let token = std::mem::replace(slot, NO_TOKEN);
        if token != NO_TOKEN {
            self.record(&mut inner, Token(token), true);
        }
    }

    fn record(&self, inner: &mut Inner, token: Token, removed: bool) {
        inner.records.push((token, removed));
        self.len.store(inner.records.len(), Ordering::SeqCst);
    }

    /// A new iteration of the loop begins (before its wait): forget the records.
    #[inline]
    pub(crate) fn begin_iteration(&self) {
        // Release stores suffice: the flag is written just before and just after the wait, a
        // syscall, and read by other threads before their own registration syscall. A reader
        // that sees `false` late only makes a stale event be delivered (a spurious event);
        // seeing `true` late would need it to miss a store that preceded a syscall it raced.
        self.dispatching.store(false, Ordering::Release);
        if !self.is_empty() {
            self.clear();
        }
    }

    /// The loop's wait returned: what is registered from now on has no event in this batch.
    #[inline]
    pub(crate) fn begin_dispatch(&self) {
        self.dispatching.store(true, Ordering::Release);
    }

    #[cold]
    fn clear(&self) {
        if let Some(mut inner) = self.on() {
            inner.records.clear();
            self.len.store(0, Ordering::SeqCst);
        }
    }

    /// Whether nothing was recorded this iteration (one atomic load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::SeqCst) == 0
    }

    /// Whether events for `token` fetched this iteration must be skipped: its last record
    /// says it was removed.
    #[inline]
    pub(crate) fn was_deregistered(&self, token: Token) -> bool {
        !self.is_empty() && self.search(token)
    }

    #[cold]
    #[inline(never)]
    fn search(&self, token: Token) -> bool {
        let Some(inner) = self.on() else {
            return false;
        };
        inner
            .records
            .iter()
            .rev()
            .find(|&&(t, _)| t == token)
            .is_some_and(|&(_, removed)| removed)
    }
}
