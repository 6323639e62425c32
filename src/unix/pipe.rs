//! Unix pipes: [`pipe`], [`PipeReader`], [`PipeWriter`].

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::io_source::IoSource;
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
    Ok((PipeReader::wrap(r), PipeWriter::wrap(w)))
}

/// The read end of a pipe.
#[derive(Debug)]
pub struct PipeReader {
    io: IoSource<File>,
}

impl_evented_via_io_source!(PipeReader);
impl_uninit_read!(PipeReader);

impl PipeReader {
    fn wrap(fd: OwnedFd) -> PipeReader {
        PipeReader {
            io: IoSource::new(File::from(fd)),
        }
    }

    /// Wraps an fd that is the read end of a pipe, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of `fcntl`.
    pub fn from_fd(fd: OwnedFd) -> io::Result<PipeReader> {
        set_nonblocking(&fd)?;
        Ok(PipeReader::wrap(fd))
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.do_io(|mut f| f.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.do_io(|mut f| f.read_vectored(bufs))
    }
}

/// The write end of a pipe.
#[derive(Debug)]
pub struct PipeWriter {
    io: IoSource<File>,
}

impl_evented_via_io_source!(PipeWriter);

impl PipeWriter {
    fn wrap(fd: OwnedFd) -> PipeWriter {
        PipeWriter {
            io: IoSource::new(File::from(fd)),
        }
    }

    /// Wraps an fd that is the write end of a pipe, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of `fcntl`.
    pub fn from_fd(fd: OwnedFd) -> io::Result<PipeWriter> {
        set_nonblocking(&fd)?;
        Ok(PipeWriter::wrap(fd))
    }
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .do_io(|f| sys::fd::pipe_write(f.as_raw_fd(), &[IoSlice::new(buf)]))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.do_io(|f| sys::fd::pipe_write(f.as_raw_fd(), bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    socket2::SockRef::from(fd).set_nonblocking(true)
}
