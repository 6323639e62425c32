//! Unix pipes: [`pipe`], [`PipeReader`], [`PipeWriter`].

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

use crate::convert::{new_io, SourceIo};
use crate::sys;

/// Creates a non-blocking, close-on-exec pipe: `(reader, writer)`.
///
/// The reader reports readable when data is there and `readable | hup` once the writer is
/// dropped (reads then return the rest, then `Ok(0)`). The writer reports `writable | error`
/// once the reader is dropped (epoll gives `EPOLLERR` for a pipe without readers, not
/// `EPOLLHUP`, so do not wait for hup on a writer); writing then returns `BrokenPipe` and never
/// raises `SIGPIPE`.
///
/// # Errors
///
/// The OS error of `pipe2` (for example `EMFILE`).
///
/// # Examples
///
/// ```
/// use ferrio::unix::pipe;
/// use std::io::{Read, Write};
///
/// let (mut reader, mut writer) = pipe()?;
/// writer.write_all(b"hello")?;
/// let mut buf = [0u8; 5];
/// reader.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pipe() -> io::Result<(PipeReader, PipeWriter)> {
    let (r, w) = sys::fd::pipe()?;
    Ok((
        PipeReader::wrap(File::from(r)),
        PipeWriter::wrap(File::from(w)),
    ))
}

/// The read end of a pipe.
#[derive(Debug)]
pub struct PipeReader {
    io: SourceIo<File>,
}

impl_evented_via_io_source!(PipeReader);
impl_fd_conversions!(PipeReader, File);
impl_source_read!(PipeReader, sys::fd::read);

impl PipeReader {
    fn wrap(file: File) -> PipeReader {
        PipeReader { io: new_io(file) }
    }

    /// Wraps an fd that is the read end of a pipe, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of `fcntl`.
    pub fn from_fd(fd: OwnedFd) -> io::Result<PipeReader> {
        set_nonblocking(&fd)?;
        Ok(PipeReader::wrap(File::from(fd)))
    }
}

/// The write end of a pipe.
#[derive(Debug)]
pub struct PipeWriter {
    io: SourceIo<File>,
}

impl_evented_via_io_source!(PipeWriter);
impl_fd_conversions!(PipeWriter, File);
impl_source_write!(PipeWriter, sys::fd::pipe_write_one, sys::fd::pipe_write);

impl PipeWriter {
    fn wrap(file: File) -> PipeWriter {
        PipeWriter { io: new_io(file) }
    }

    /// Wraps an fd that is the write end of a pipe, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of `fcntl`.
    pub fn from_fd(fd: OwnedFd) -> io::Result<PipeWriter> {
        set_nonblocking(&fd)?;
        Ok(PipeWriter::wrap(File::from(fd)))
    }
}

/// mio 0.5's conversion: an [`Io`](crate::Io) that is the read end of a pipe.
impl From<crate::fd_source::Io> for PipeReader {
    fn from(io: crate::fd_source::Io) -> PipeReader {
        PipeReader::from(OwnedFd::from(io))
    }
}

/// mio 0.5's conversion: an [`Io`](crate::Io) that is the write end of a pipe.
impl From<crate::fd_source::Io> for PipeWriter {
    fn from(io: crate::fd_source::Io) -> PipeWriter {
        PipeWriter::from(OwnedFd::from(io))
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    socket2::SockRef::from(fd).set_nonblocking(true)
}
