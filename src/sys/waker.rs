//! The one waker of every backend: a coalescing flag in front of the backend's wake mechanism.
//!
//! Every selector shares one [`WakeState`] (inside [`super::Shared`]). A user's
//! [`Waker`](crate::waker::Waker) calls [`WakeState::wake`] with the backend's raw notification
//! ([`super::Selector::notify`]: an eventfd or pipe write, a posted completion, an
//! `EVFILT_USER` trigger); every `select` calls [`WakeState::take_pending`] once, after its
//! wait. So, whatever the backend:
//!
//! * **Coalescing.** Between two `select` calls, any number of wakes make at most one raw
//!   notification (one syscall) and produce at most one event.
//! * **No lost wake-up.** The flag means "a notification is on its way that the current or the
//!   next wait will see". It is cleared only after a wait, by an acquiring read-modify-write (an
//!   `and` clearing its one bit, as a swap would): a wake that coalesced into the report being
//!   returned is ordered before whatever the woken thread checks next (a plain store allows a
//!   lost wake-up; the loom model in `tests/loom_waker.rs` runs this code and finds it if the
//!   read-modify-write is weakened).
//! * **A failed notification is not swallowed**: the flag is cleared again, so the next wake
//!   retries instead of coalescing into a notification that never happened.
//! * **Dropping the `Waker` does not cancel a wake.** The wake mechanism belongs to the selector,
//!   not to the `Waker`, so a `poll` blocked when `wake` was called returns, with the token the
//!   waker had, even if the `Waker` is dropped right after `wake` (tested on every backend).
//! * One `Waker` per selector at a time ([`WakeState::claim`]).

use std::io;

use crate::loom::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use crate::token::Token;

/// The bit of `WakeState::pending` that says a wake is on its way.
const PENDING: u32 = 1;

/// The coalescing state of a selector's waker. Public (but hidden) only so that the loom model
/// can run this very code; it is not part of ferrio's API.
#[derive(Debug)]
pub struct WakeState {
    /// [`PENDING`] set by the first wake since the last wait; cleared by the wait
    /// (`take_pending`). A word with one flag bit, not an `AtomicBool`, so that clearing it is
    /// an `and` of the other bits, which compiles to one locked `and` where the result is not
    /// used (epoll); LLVM turns a bool's `fetch_and(false)` into a swap, which needs a zeroed
    /// register too.
    pending: AtomicU32,
    /// Whether a `Waker` exists for this selector.
    installed: AtomicBool,
    /// The token of the current (or last) `Waker` (the event loop's is `usize::MAX`).
    token: AtomicUsize,
    /// Whether a `Waker` was ever made (so `token` means something).
    has_token: AtomicBool,
}

impl Default for WakeState {
    fn default() -> WakeState {
        WakeState::new()
    }
}

impl WakeState {
    /// No waker, nothing pending.
    pub fn new() -> WakeState {
        WakeState {
            pending: AtomicU32::new(0),
            installed: AtomicBool::new(false),
            token: AtomicUsize::new(0),
            has_token: AtomicBool::new(false),
        }
    }

    /// Claims the selector's single waker slot for `token`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` while another `Waker` of this selector exists.
    pub fn claim(&self, token: Token) -> io::Result<()> {
        self.installed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "this Poll already has a Waker; drop it before creating another",
                )
            })?;
        self.token.store(token.0, Ordering::Release);
        self.has_token.store(true, Ordering::Release);
        Ok(())
    }

    /// Frees the slot (the `Waker` was dropped). The token stays, so a wake made before the
    /// drop is still reported with it.
    pub fn release(&self) {
        self.installed.store(false, Ordering::Release);
    }

    /// Wakes: calls `notify` (the backend's raw notification) unless a wake since the last
    /// wait already did. If `notify` fails, the next wake tries again.
    ///
    /// # Errors
    ///
    /// The error of `notify`.
    #[inline]
    pub fn wake(&self, notify: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if self.pending.swap(PENDING, Ordering::AcqRel) & PENDING != 0 {
            // A notification since the last wait is already on its way: coalesce.
            return Ok(());
        }
        notify().inspect_err(|_| self.pending.store(0, Ordering::Release))
    }

    /// Whether a wake is on its way that no wait has collected yet.
    #[inline]
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire) & PENDING != 0
    }

    /// Called by every `select` once, after its wait: clears the flag and says whether a wake
    /// was pending. An acquiring read-modify-write (it clears the only bit there is, as a swap
    /// would), not a store (see the module docs).
    #[inline]
    pub fn take_pending(&self) -> bool {
        self.pending.fetch_and(!PENDING, Ordering::AcqRel) & PENDING != 0
    }

    /// The token a wake is reported with: the current `Waker`'s, or the last one's (whose
    /// wake may still be on its way); `None` if no `Waker` was ever made.
    #[inline]
    pub fn token(&self) -> Option<Token> {
        self.has_token
            .load(Ordering::Acquire)
            .then(|| Token(self.token.load(Ordering::Acquire)))
    }
}
