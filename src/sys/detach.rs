//! [`Detachable`]: an IO object that can be taken out of the value that owns it, so a source
//! converts back into its std type or an `OwnedFd`.
//!
//! A source is an `IoSource<Detachable<T>>` plus the source type around it. `IoSource`
//! deregisters in its `Drop` (it must: with a duplicated fd, closing ours would not remove the
//! registration), so the IO object cannot simply be moved out of it. [`detach`] instead copies
//! the object out, marks the original as "moved" and drops the owner: the owner's `Drop` runs
//! as usual (the registration is removed while the fd is still open) and the original's
//! `Drop`, seeing the mark, closes nothing. Exactly one value ends up owning the fd: the
//! returned one.
//!
//! The mark is a thread-local pointer rather than a flag in `Detachable`, so a source stays
//! the size of its parts (a `TcpStream` is 32 bytes). It costs one thread-local read when a
//! source is dropped, nothing on the IO path.

use std::cell::Cell;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::{self, ManuallyDrop};
use std::ops::Deref;
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};
use std::ptr;

thread_local! {
    /// The `Detachable` whose value [`detach`] has copied out and whose `Drop` must therefore
    /// not drop it. Null when no detach is in progress on this thread.
    static MOVED_OUT: Cell<*const ()> = const { Cell::new(ptr::null()) };
}

/// An IO object (`T`) that [`detach`] can take out of its owner.
///
/// Derefs to `T`, and forwards `AsRawFd`, `AsFd` (`AsRawSocket`, `AsSocket` on Windows),
/// `Debug` and `Read`/`Write` on `&Self`.
pub(crate) struct Detachable<T> {
    inner: ManuallyDrop<T>,
}

impl<T> Detachable<T> {
    #[inline]
    pub(crate) fn new(inner: T) -> Detachable<T> {
        Detachable {
            inner: ManuallyDrop::new(inner),
        }
    }

    fn addr(&self) -> *const () {
        (self as *const Detachable<T>).cast()
    }
}

impl<T> Drop for Detachable<T> {
    fn drop(&mut self) {
        let me = self.addr();
        let moved_out = MOVED_OUT.with(|m| {
            if m.get() == me {
                m.set(ptr::null());
                true
            } else {
                false
            }
        });
        if !moved_out {
            // SAFETY: `inner` is dropped exactly once, here, and `self` is not used afterwards.
            // When its value was copied out by `detach`, we do not get here (see above).
            unsafe { ManuallyDrop::drop(&mut self.inner) }
        }
    }
}

/// Takes the IO object out of `owner`, then drops `owner` without closing that object.
///
/// `find` returns the `Detachable` inside `owner` that holds the object. Dropping `owner` runs
/// its `Drop` as usual (an `IoSource` deregisters there, while the fd is still open); only the
/// object is kept alive, in the returned value.
///
/// # Panics
///
/// If `find` returns a `Detachable` that dropping `owner` does not drop (a bug inside ferrio,
/// never caused by a user). The object is then left with its original owner; nothing is
/// closed twice.
pub(crate) fn detach<S, T>(owner: S, find: impl FnOnce(&S) -> &Detachable<T>) -> T {
    // Dropped in place below: a move would change the address the mark refers to.
    let mut owner = ManuallyDrop::new(owner);
    let slot = find(&owner);
    let addr = slot.addr();
    // SAFETY: `slot` points to a live, initialised `T` (borrowed from `owner`, which is alive).
    // The bitwise copy becomes the object's only owner: the original is marked below, so its
    // `Drop` does not drop it, and if it is not dropped at all we forget the copy instead.
    // Until the original's `Drop` runs, the owner may still read the original (an `IoSource`
    // reads its fd number to deregister it); the fd is open then, held by the copy.
    let inner = unsafe { ptr::read(&*slot.inner) };
    let previous = MOVED_OUT.with(|m| m.replace(addr));
    // SAFETY: `owner` is dropped exactly once, here, and not used afterwards.
    unsafe { ManuallyDrop::drop(&mut owner) };
    let left = MOVED_OUT.with(|m| m.replace(previous));
    if left == addr {
        // The mark was not consumed: the original still owns the object.
        mem::forget(inner);
        panic!("ferrio bug: detach() was given a value its owner does not drop");
    }
    inner
}

impl<T> Deref for Detachable<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

#[cfg(unix)]
impl<T: AsRawFd> AsRawFd for Detachable<T> {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

#[cfg(unix)]
impl<T: AsFd> AsFd for Detachable<T> {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

#[cfg(windows)]
impl<T: AsRawSocket> AsRawSocket for Detachable<T> {
    #[inline]
    fn as_raw_socket(&self) -> RawSocket {
        self.inner.as_raw_socket()
    }
}

#[cfg(windows)]
impl<T: AsSocket> AsSocket for Detachable<T> {
    #[inline]
    fn as_socket(&self) -> BorrowedSocket<'_> {
        self.inner.as_socket()
    }
}

impl<T: fmt::Debug> fmt::Debug for Detachable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (*self.inner).fmt(f)
    }
}

impl<'a, T> Read for &'a Detachable<T>
where
    &'a T: Read,
{
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let this: &'a Detachable<T> = self;
        let mut inner: &'a T = this;
        inner.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let this: &'a Detachable<T> = self;
        let mut inner: &'a T = this;
        inner.read_vectored(bufs)
    }
}

impl<'a, T> Write for &'a Detachable<T>
where
    &'a T: Write,
{
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let this: &'a Detachable<T> = self;
        let mut inner: &'a T = this;
        inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let this: &'a Detachable<T> = self;
        let mut inner: &'a T = this;
        inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        let this: &'a Detachable<T> = self;
        let mut inner: &'a T = this;
        inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    struct Owner {
        slot: Detachable<Rc<()>>,
        dropped: Rc<Cell<bool>>,
    }

    impl Drop for Owner {
        fn drop(&mut self) {
            // The owner still sees its object while it is dropped.
            assert_eq!(Rc::strong_count(&self.slot), 2);
            self.dropped.set(true);
        }
    }

    #[test]
    fn detach_keeps_the_object_and_runs_the_owner_drop() {
        let tracked = Rc::new(());
        let dropped = Rc::new(Cell::new(false));
        let owner = Owner {
            slot: Detachable::new(Rc::clone(&tracked)),
            dropped: Rc::clone(&dropped),
        };
        let taken = detach(owner, |o| &o.slot);
        assert!(dropped.get());
        assert_eq!(
            Rc::strong_count(&tracked),
            2,
            "neither dropped nor duplicated"
        );
        drop(taken);
        assert_eq!(Rc::strong_count(&tracked), 1);
        // The mark is cleared: an unrelated Detachable drops its value.
        drop(Detachable::new(Rc::clone(&tracked)));
        assert_eq!(Rc::strong_count(&tracked), 1);
    }

    #[test]
    fn a_plain_drop_drops_the_object() {
        let tracked = Rc::new(());
        drop(Detachable::new(Rc::clone(&tracked)));
        assert_eq!(Rc::strong_count(&tracked), 1);
    }

    #[test]
    fn a_wrong_slot_panics_without_a_double_drop() {
        let tracked = Rc::new(());
        let outside = Detachable::new(Rc::clone(&tracked));
        // An owner that can point at a Detachable it does not own.
        struct Holder<'a> {
            elsewhere: &'a Detachable<Rc<()>>,
            _own: Detachable<Rc<()>>,
        }
        let owner = Holder {
            elsewhere: &outside,
            _own: Detachable::new(Rc::clone(&tracked)),
        };
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            detach(owner, |h| h.elsewhere);
        }));
        assert!(res.is_err());
        // `owner` was dropped normally (its value too); `outside` still owns its value.
        assert_eq!(Rc::strong_count(&tracked), 2);
        drop(outside);
        assert_eq!(Rc::strong_count(&tracked), 1);
    }
}
