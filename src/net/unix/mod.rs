//! Unix-domain sockets: [`UnixStream`], [`UnixListener`] (`SOCK_STREAM`, with file-descriptor
//! passing), [`UnixSocket`] (a stream socket before it listens or connects) and
//! [`UnixDatagram`] (`SOCK_DGRAM`). Users reach them through [`crate::unix`],
//! which adds pipes and the raw-fd adapter.
//!
//! Socket addresses are [`std::os::unix::net::SocketAddr`]. A path must be shorter than
//! `sun_path` (107 bytes on Linux, 103 on macOS and the BSDs); a longer one is an `InvalidInput` error, never truncated.

mod datagram;
mod listener;
mod socket;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use socket::UnixSocket;
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

/// The most file descriptors one message may carry in [`UnixStream::send_with_fds`] and
/// [`UnixStream::recv_with_fds`].
pub const MAX_FDS_PER_MESSAGE: usize = crate::sys::unix_msg::MAX_FDS;

/// The size of `sun_path` in `sockaddr_un` (108 on Linux, 104 on macOS and the BSDs); a path
/// needs one more byte for its terminating NUL.
const SUN_PATH_LEN: usize = crate::sys::fd::SUN_PATH_LEN;

/// A new non-blocking, close-on-exec Unix socket of type `ty`.
fn new_socket(ty: Type) -> io::Result<Socket> {
    crate::sys::fd::socket(Domain::UNIX, ty, None)
}

/// A connected, non-blocking, close-on-exec pair of Unix sockets of type `ty`.
fn new_pair(ty: Type) -> io::Result<(Socket, Socket)> {
    crate::sys::fd::socket_pair(Domain::UNIX, ty)
}

/// The socket address of a filesystem path, with clear errors for paths that do not fit.
fn path_addr(path: &Path) -> io::Result<SockAddr> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= SUN_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "Unix socket path is {} bytes long; it must be shorter than {} bytes \
                 (the size of sockaddr_un.sun_path): {}",
                bytes.len(),
                SUN_PATH_LEN,
                path.display()
            ),
        ));
    }
    if bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Unix socket path contains a NUL byte",
        ));
    }
    if bytes.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Unix socket path is empty",
        ));
    }
    SockAddr::unix(path)
}

/// Converts a Unix socket address from the kernel into std's type; `None` if it cannot be
/// expressed without a syscall (the caller then asks the kernel with `getpeername`).
fn to_std_addr(addr: &SockAddr) -> Option<SocketAddr> {
    if let Some(path) = addr.as_pathname() {
        return SocketAddr::from_pathname(path).ok();
    }
    // Abstract names exist on Linux only.
    #[cfg(target_os = "linux")]
    if let Some(name) = addr.as_abstract_namespace() {
        use std::os::linux::net::SocketAddrExt;
        return SocketAddr::from_abstract_name(name).ok();
    }
    if addr.is_unnamed() {
        // std has no constructor for an unnamed address, but encodes an empty path as one.
        return SocketAddr::from_pathname("")
            .ok()
            .filter(SocketAddr::is_unnamed);
    }
    None
}
