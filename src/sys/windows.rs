//! Thin wrappers over the Winsock calls the sources make on Windows, and the clock.
//!
//! Sockets are created by socket2 and std, which make them non-inheritable
//! (`WSA_FLAG_NO_HANDLE_INHERIT`, the counterpart of close-on-exec); ferrio makes them
//! non-blocking (`FIONBIO`) before a source owns them. Windows raises no `SIGPIPE`, so writes
//! need no flag: a closed peer is an error of the call.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::windows::io::RawSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use socket2::SockAddr;
use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
use windows_sys::Win32::Networking::WinSock::{
    getsockopt, recv as ws_recv, recvfrom, send as ws_send, WSAGetLastError, WSASend, AF_INET,
    IPPROTO_TCP, MSG_PEEK, SOCKET, SOCKET_ERROR, SOL_SOCKET, SO_PROTOCOL_INFOW, TCP_KEEPIDLE,
    WSABUF, WSAECONNRESET, WSAEMFILE, WSAEMSGSIZE, WSAENOBUFS, WSAPROTOCOL_INFOW,
};
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};

/// The calling thread's last Winsock error.
fn last_error() -> io::Error {
    // SAFETY: reads a thread-local value.
    io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// A length for Winsock's `int` lengths: longer buffers are used in part (a short transfer).
fn clamp_len(len: usize) -> i32 {
    len.min(i32::MAX as usize) as i32
}

/// `recv(socket, buf, 0)`.
#[inline]
pub(crate) fn recv(socket: RawSocket, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length (clamped).
    let n = unsafe { ws_recv(socket as SOCKET, buf.as_mut_ptr(), clamp_len(buf.len()), 0) };
    if n == SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(n as usize)
}

/// Whether a datagram receive peeks (`MSG_PEEK`) or takes the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Datagram {
    Take,
    Peek,
}

impl Datagram {
    fn flags(self) -> i32 {
        match self {
            Datagram::Take => 0,
            Datagram::Peek => MSG_PEEK,
        }
    }
}

/// Receives one datagram and its sender (`recvfrom`). A datagram longer than `buf` fills it
/// and counts as `buf.len()` bytes, as on Unix: Winsock reports the truncation as
/// `WSAEMSGSIZE` (after filling the buffer and discarding the rest of the datagram).
pub(crate) fn recv_from(
    socket: RawSocket,
    buf: &mut [u8],
    how: Datagram,
) -> io::Result<(usize, SocketAddr)> {
    let len = clamp_len(buf.len());
    // SAFETY: `buf` is valid for writes of `len` bytes; `try_init` hands us a zeroed address
    // storage and its length, which recvfrom writes at most that much of and updates.
    let (n, addr) = unsafe {
        SockAddr::try_init(|storage, addr_len| {
            let n = recvfrom(
                socket as SOCKET,
                buf.as_mut_ptr(),
                len,
                how.flags(),
                storage.cast(),
                addr_len,
            );
            if n != SOCKET_ERROR {
                return Ok(n as usize);
            }
            match WSAGetLastError() {
                WSAEMSGSIZE => Ok(len as usize),
                code => Err(io::Error::from_raw_os_error(code)),
            }
        })
    }?;
    let addr = addr.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "Winsock returned a non-IP sender address",
        )
    })?;
    Ok((n, addr))
}

/// Receives one datagram from the connected peer (`recv`), truncating as
/// [`recv_from`] does.
pub(crate) fn recv_datagram(socket: RawSocket, buf: &mut [u8]) -> io::Result<usize> {
    let len = clamp_len(buf.len());
    // SAFETY: `buf` is valid for writes of `len` bytes.
    let n = unsafe { ws_recv(socket as SOCKET, buf.as_mut_ptr(), len, 0) };
    if n != SOCKET_ERROR {
        return Ok(n as usize);
    }
    // SAFETY: reads a thread-local value.
    match unsafe { WSAGetLastError() } {
        WSAEMSGSIZE => Ok(len as usize),
        code => Err(io::Error::from_raw_os_error(code)),
    }
}

/// `send(socket, buf, 0)`.
#[inline]
pub(crate) fn send(socket: RawSocket, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length (clamped).
    let n = unsafe { ws_send(socket as SOCKET, buf.as_ptr(), clamp_len(buf.len()), 0) };
    if n == SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(n as usize)
}

/// `WSASend` of several buffers, without overlapped IO: a vectored write.
pub(crate) fn send_vectored(socket: RawSocket, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let count = bufs.len().min(u32::MAX as usize) as u32;
    let mut sent = 0u32;
    // SAFETY: on Windows `IoSlice` is a transparent `WSABUF`, so `bufs` is an array of `count`
    // valid WSABUFs that outlive the call; no overlapped structure, no completion routine.
    let rc = unsafe {
        WSASend(
            socket as SOCKET,
            bufs.as_ptr() as *const WSABUF,
            count,
            &mut sent,
            0,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(sent as usize)
}

/// Receives into the first chunk of `buf`'s spare capacity and advances `buf` by the bytes
/// received, without initialising that memory first.
///
/// Sound because `recv` only writes to its destination: the `n` bytes it reports are
/// initialised, and only those are passed to `advance_mut`.
pub(crate) fn read_buf<B: bytes::BufMut + ?Sized>(
    socket: RawSocket,
    buf: &mut B,
) -> io::Result<usize> {
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: `ptr` is valid for writes of `len` bytes (an UninitSlice of `buf`), and recv
    // never reads from its destination, so uninitialised memory is fine.
    let n = unsafe { ws_recv(socket as SOCKET, ptr, clamp_len(len), 0) };
    if n == SOCKET_ERROR {
        return Err(last_error());
    }
    // SAFETY: Winsock initialised exactly `n <= len` bytes at the start of the chunk.
    unsafe { buf.advance_mut(n as usize) };
    Ok(n as usize)
}

/// `getsockopt(TCP_KEEPIDLE)`: the idle time before keep-alive probes (seconds; Windows 10
/// 1709 and later).
pub(crate) fn tcp_keepalive_idle(socket: RawSocket) -> io::Result<Duration> {
    let mut secs: u32 = 0;
    let mut len = std::mem::size_of::<u32>() as i32;
    // SAFETY: `secs` is a live DWORD-sized buffer and `len` its size.
    let rc = unsafe {
        getsockopt(
            socket as SOCKET,
            IPPROTO_TCP,
            TCP_KEEPIDLE,
            (&mut secs as *mut u32).cast(),
            &mut len,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(Duration::from_secs(u64::from(secs)))
}

/// Makes `socket` non-inheritable (`HANDLE_FLAG_INHERIT` cleared): accepted sockets are not
/// made so by every Winsock (Wine's are inheritable), while sockets ferrio creates are, at
/// creation (`WSA_FLAG_NO_HANDLE_INHERIT`).
fn set_no_inherit(socket: RawSocket) -> io::Result<()> {
    // SAFETY: a socket is a kernel handle; an invalid one is reported as an error.
    if unsafe { SetHandleInformation(socket as HANDLE, HANDLE_FLAG_INHERIT, 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether an accept error means the process or system is out of sockets (`WSAEMFILE`,
/// `WSAENOBUFS`).
pub(crate) fn is_out_of_sockets(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(WSAEMFILE) | Some(WSAENOBUFS))
}

/// Whether `socket` is an IPv4 socket, bound or not (`SO_PROTOCOL_INFOW`: Winsock has no
/// `SO_DOMAIN`).
pub(crate) fn is_ipv4(socket: RawSocket) -> io::Result<bool> {
    // SAFETY: WSAPROTOCOL_INFOW is plain data; all zeroes is a valid value.
    let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<WSAPROTOCOL_INFOW>() as i32;
    // SAFETY: `info` is a live buffer of `len` bytes.
    let rc = unsafe {
        getsockopt(
            socket as SOCKET,
            SOL_SOCKET,
            SO_PROTOCOL_INFOW,
            (&mut info as *mut WSAPROTOCOL_INFOW).cast(),
            &mut len,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(info.iAddressFamily == i32::from(AF_INET))
}

/// Accepts one pending connection, `Ok(None)` if none is pending; a connection reset before it
/// was accepted (`WSAECONNRESET`, what `ECONNABORTED` is on Unix) is skipped. The accepted
/// socket is made non-inheritable (not every Winsock makes it so: Wine's are inheritable) and
/// non-blocking.
pub(crate) fn accept_pending(
    listener: &std::net::TcpListener,
) -> io::Result<Option<(std::net::TcpStream, SocketAddr)>> {
    use std::os::windows::io::AsRawSocket;
    loop {
        match listener.accept() {
            Ok((stream, addr)) => {
                set_no_inherit(stream.as_raw_socket())?;
                stream.set_nonblocking(true)?;
                return Ok(Some((stream, addr)));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(WSAECONNRESET) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Ticks per second of the performance counter, read once (it is fixed at boot).
static QPC_FREQUENCY: AtomicU64 = AtomicU64::new(0);

/// The performance counter (the clock behind `Instant` on Windows) in nanoseconds.
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ticks = 0i64;
    // SAFETY: `ticks` is valid for writes; the call cannot fail on Windows XP and later.
    unsafe { QueryPerformanceCounter(&mut ticks) };
    let ticks = ticks as u64;
    let mut frequency = QPC_FREQUENCY.load(Ordering::Relaxed);
    if frequency == 0 {
        let mut f = 0i64;
        // SAFETY: `f` is valid for writes; as above.
        unsafe { QueryPerformanceFrequency(&mut f) };
        frequency = (f as u64).max(1);
        QPC_FREQUENCY.store(frequency, Ordering::Relaxed);
    }
    // Split, so that `ticks * 1e9` cannot overflow.
    (ticks / frequency) * 1_000_000_000 + (ticks % frequency) * 1_000_000_000 / frequency
}
