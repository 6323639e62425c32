//! [`TryRead`], [`TryWrite`], [`TryAccept`]: non-blocking IO with `WouldBlock` as `None`.

use std::io::{self, Read, Write};

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

/// Maps `WouldBlock` to `None`, retrying on `Interrupted`.
#[inline]
pub(crate) fn would_block<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<Option<T>> {
    loop {
        match f() {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
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
}
