//! [`WakeFd`]: a file descriptor that a selector polls and a waker writes to, to end a wait.
//!
//! An eventfd where the OS has one (Linux): one fd, a write adds to a counter, a read resets it.
//! Elsewhere a non-blocking pipe: writes go to one end, the selector polls the other; a full pipe
//! is already readable, so a write that would block has done its job.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The read side is polled; `notify` makes it readable; `drain` makes it quiet again.
#[derive(Debug)]
pub(crate) struct WakeFd {
    read: OwnedFd,
    /// The pipe's write end; `None` for an eventfd (one fd for both).
    write: Option<OwnedFd>,
}

impl WakeFd {
    /// A new eventfd (Linux, unless the portable form is forced) or pipe, non-blocking and
    /// close-on-exec.
    pub(crate) fn new() -> io::Result<WakeFd> {
        #[cfg(all(target_os = "linux", not(ferrio_portable)))]
        {
            Ok(WakeFd {
                read: super::fd::eventfd()?,
                write: None,
            })
        }
        #[cfg(not(all(target_os = "linux", not(ferrio_portable))))]
        {
            let (read, write) = super::fd::pipe()?;
            Ok(WakeFd {
                read,
                write: Some(write),
            })
        }
    }

    /// Makes the read side readable (one syscall, two if an eventfd counter is full).
    pub(crate) fn notify(&self) -> io::Result<()> {
        #[cfg(all(target_os = "linux", not(ferrio_portable)))]
        if self.write.is_none() {
            return match super::fd::eventfd_write(&self.read) {
                // The counter is full: reset it and write again, to make a fresh edge for
                // edge-triggered pollers (epoll never reads it otherwise).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    super::fd::eventfd_read(&self.read)?;
                    super::fd::eventfd_write(&self.read)
                }
                res => res,
            };
        }
        match &self.write {
            Some(write) => match super::fd::write_byte(write) {
                // A full pipe is readable already.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                res => res,
            },
            None => Ok(()),
        }
    }

    /// Makes the read side quiet again (level-triggered pollers call this after a report).
    pub(crate) fn drain(&self) {
        #[cfg(all(target_os = "linux", not(ferrio_portable)))]
        if self.write.is_none() {
            let _ = super::fd::eventfd_read(&self.read);
            return;
        }
        let mut buf = [0u8; 64];
        while let Ok(n) = super::fd::read(self.read.as_raw_fd(), &mut buf) {
            if n < buf.len() {
                break;
            }
        }
    }
}

impl AsRawFd for WakeFd {
    fn as_raw_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }
}
