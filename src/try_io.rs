//! [`TryRead`], [`TryWrite`], [`TryAccept`]: non-blocking IO with `WouldBlock` as `None`.

use std::io::{self, IoSlice, Read, Write};

use bytes::{Buf, BufMut};

/// Non-blocking reads that turn `WouldBlock` into `Ok(None)`.
///
/// Implemented for every [`Read`], so it works on ferrio's sockets and pipes (and on `&T`).
///
/// # Examples
///
/// ```
/// use ferrio::TryRead;
/// use ferrio::unix::pipe;
/// use std::io::Write;
///
/// let (mut reader, mut writer) = pipe()?;
/// let mut buf = [0u8; 16];
/// assert_eq!(reader.try_read(&mut buf)?, None); // nothing yet: would block
/// writer.write_all(b"hi")?;
/// assert_eq!(reader.try_read(&mut buf)?, Some(2));
/// drop(writer);
/// assert_eq!(reader.try_read(&mut buf)?, Some(0)); // EOF
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait TryRead {
    /// Reads into `buf`: `Ok(Some(n))` for `n` bytes read (`Some(0)` is end of stream, or
    /// an empty `buf`), `Ok(None)` if the read would block. Retries on `Interrupted`.
    ///
    /// # Errors
    ///
    /// Any error of the underlying read except `WouldBlock` and `Interrupted`.
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Reads into the spare capacity of any [`BufMut`] (`BytesMut`, `Vec<u8>`, a
    /// [`RingBuf`](crate::buf::RingBuf), your own) and advances it by the bytes read:
    /// `Ok(Some(n))`, `Ok(Some(0))` at end of stream (or when `buf` has no room),
    /// `Ok(None)` if the read would block.
    ///
    /// The bytes go straight into the buffer's uninitialised memory: nothing is zeroed first
    /// and nothing is copied twice. One call makes one `read` into the buffer's first
    /// contiguous chunk ([`BufMut::chunk_mut`]); for a ring whose free space wraps around,
    /// [`RingBuf::read_from`](crate::buf::RingBuf::read_from) fills both halves with one
    /// `readv`.
    ///
    /// Available on ferrio's stream sources (the [`UninitRead`] types), because it needs the
    /// file descriptor to read into uninitialised memory soundly.
    ///
    /// # Errors
    ///
    /// As [`try_read`](Self::try_read).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{TryRead, TryWrite};
    /// use ferrio::unix::pipe;
    ///
    /// let (mut reader, mut writer) = pipe()?;
    /// writer.try_write(b"hello")?;
    /// let mut buf: Vec<u8> = Vec::with_capacity(64);
    /// assert_eq!(reader.try_read_buf(&mut buf)?, Some(5));
    /// assert_eq!(buf, b"hello");
    /// assert_eq!(reader.try_read_buf(&mut buf)?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn try_read_buf<B: BufMut + ?Sized>(&mut self, buf: &mut B) -> io::Result<Option<usize>>
    where
        Self: UninitRead,
    {
        would_block(|| self.read_uninit(buf))
    }
}

/// Sources that can read straight into a buffer's uninitialised memory (the bound of
/// [`TryRead::try_read_buf`]). Implemented by ferrio's stream sources and references to them;
/// sealed.
pub trait UninitRead: sealed::Sealed {
    /// Reads into `buf`'s first spare chunk and advances it; errors as the OS gives them.
    #[doc(hidden)]
    fn read_uninit<B: BufMut + ?Sized>(&mut self, buf: &mut B) -> io::Result<usize>;
}

pub(crate) mod sealed {
    /// Keeps [`UninitRead`](super::UninitRead) implementable only inside ferrio.
    pub trait Sealed {}
}

/// Implements `Read` and `UninitRead` for a source with an `io: IoSource<_>` field (whose
/// inner type is `Read` through a shared reference), and for `&Source`. `read` goes through
/// the given fd-level function (`fn(RawFd, &mut [u8])`, a `RawSocket` on Windows); vectored
/// reads through the inner type.
macro_rules! impl_source_read {
    ($ty:ty, $read:path) => {
        impl std::io::Read for $ty {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                (&*self).read(buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                (&*self).read_vectored(bufs)
            }
        }

        impl std::io::Read for &$ty {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.do_read_fd(|fd| $read(fd, buf))
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.io.do_read(|mut inner| inner.read_vectored(bufs))
            }
        }

        impl $crate::try_io::sealed::Sealed for $ty {}
        impl $crate::try_io::sealed::Sealed for &$ty {}

        impl $crate::try_io::UninitRead for $ty {
            fn read_uninit<B: bytes::BufMut + ?Sized>(
                &mut self,
                buf: &mut B,
            ) -> std::io::Result<usize> {
                (&*self).read_uninit(buf)
            }
        }

        impl $crate::try_io::UninitRead for &$ty {
            fn read_uninit<B: bytes::BufMut + ?Sized>(
                &mut self,
                buf: &mut B,
            ) -> std::io::Result<usize> {
                self.io.do_read_fd(|fd| $crate::sys::read_buf(fd, buf))
            }
        }
    };
}

/// Implements `Write` for a source with an `io: IoSource<_>` field, and for `&Source`, with
/// the given fd-level write functions (`fn(RawFd, &[u8])`, `fn(RawFd, &[IoSlice])`).
macro_rules! impl_source_write {
    ($ty:ty, $write:path, $write_vectored:path) => {
        impl std::io::Write for $ty {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                (&*self).write(buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                (&*self).write_vectored(bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Write for &$ty {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.do_write_fd(|fd| $write(fd, buf))
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.io.do_write_fd(|fd| $write_vectored(fd, bufs))
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

/// Non-blocking writes that turn `WouldBlock` into `Ok(None)`.
///
/// Implemented for every [`Write`].
pub trait TryWrite {
    /// Writes from `buf`: `Ok(Some(n))` for `n` bytes written, `Ok(None)` if the write would
    /// block. Retries on `Interrupted`.
    ///
    /// # Errors
    ///
    /// Any error of the underlying write except `WouldBlock` and `Interrupted`, for example
    /// `BrokenPipe` when the peer is gone (ferrio never raises `SIGPIPE`).
    fn try_write(&mut self, buf: &[u8]) -> io::Result<Option<usize>>;

    /// Writes from any [`Buf`] and advances it by the bytes written: `Ok(Some(n))`, or
    /// `Ok(None)` if the write would block.
    ///
    /// When the buffer's data is split (a [`RingBuf`](crate::buf::RingBuf) that wraps, a
    /// `Chain`), all its chunks (up to 16) go out in one vectored write (`sendmsg`/`writev`).
    ///
    /// # Errors
    ///
    /// As [`try_write`](Self::try_write).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Buf;
    /// use ferrio::{TryRead, TryWrite};
    /// use ferrio::unix::pipe;
    ///
    /// let (mut reader, mut writer) = pipe()?;
    /// let mut data = (&b"hello "[..]).chain(&b"world"[..]);
    /// assert_eq!(writer.try_write_buf(&mut data)?, Some(11)); // one writev
    /// assert!(!data.has_remaining());
    /// let mut out = [0u8; 11];
    /// assert_eq!(reader.try_read(&mut out)?, Some(11));
    /// assert_eq!(&out, b"hello world");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn try_write_buf<B: Buf + ?Sized>(&mut self, buf: &mut B) -> io::Result<Option<usize>>;
}

/// Non-blocking accepts that turn `WouldBlock` into `Ok(None)`.
pub trait TryAccept {
    /// What an accept produces.
    type Output;

    /// Accepts one pending connection, or `Ok(None)` if none is pending.
    ///
    /// # Errors
    ///
    /// The OS error, for example `EMFILE` when the process is out of file descriptors.
    fn accept(&self) -> io::Result<Option<Self::Output>>;
}

/// Maps `WouldBlock` to `None`, retrying on `Interrupted`. The success path is inlined at
/// every call site; only errors take the out-of-line path, which does not take `f` (so the
/// closure is not built in memory for it).
#[inline]
pub(crate) fn would_block<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<Option<T>> {
    loop {
        match f() {
            Ok(v) => return Ok(Some(v)),
            Err(e) => match retry_after(e) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(e),
            },
        }
    }
}

/// What to do after a failed non-blocking call: `Ok(true)` retry (`Interrupted`), `Ok(false)`
/// report "would block", `Err` the error.
#[cold]
#[inline(never)]
fn retry_after(err: io::Error) -> io::Result<bool> {
    match err.kind() {
        io::ErrorKind::WouldBlock => Ok(false),
        io::ErrorKind::Interrupted => Ok(true),
        _ => Err(err),
    }
}

impl<T: Read + ?Sized> TryRead for T {
    #[inline]
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        would_block(|| self.read(buf))
    }
}

impl<T: Write + ?Sized> TryWrite for T {
    #[inline]
    fn try_write(&mut self, buf: &[u8]) -> io::Result<Option<usize>> {
        would_block(|| self.write(buf))
    }

    fn try_write_buf<B: Buf + ?Sized>(&mut self, buf: &mut B) -> io::Result<Option<usize>> {
        const MAX_CHUNKS: usize = 16;
        let mut slices = [IoSlice::new(&[]); MAX_CHUNKS];
        let count = buf.chunks_vectored(&mut slices);
        let res = match count {
            0 => Ok(Some(0)),
            1 => would_block(|| self.write(&slices[0])),
            _ => would_block(|| self.write_vectored(&slices[..count])),
        };
        if let Ok(Some(n)) = res {
            buf.advance(n);
        }
        res
    }
}
