// mio 0.5: adopting sockets with `FromRawFd` (and handing them back with `IntoRawFd`), on
// every source, and mio's `Io` for any other fd.
extern crate mio;

use std::io::{Read, Write};
use std::net;
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd};
use std::os::unix::net as unix_net;

use mio::tcp::{TcpListener, TcpStream};
use mio::udp::UdpSocket;
use mio::unix::{PipeReader, PipeWriter, UnixListener, UnixSocket, UnixStream};
use mio::{EventLoop, EventSet, Handler, Io, PollOpt, Token, TryRead};

#[test]
fn from_raw_fd_on_every_source() {
    let std_listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let listener = unsafe { TcpListener::from_raw_fd(std_listener.into_raw_fd()) };
    assert_eq!(listener.local_addr().unwrap(), addr);

    let std_stream = net::TcpStream::connect(addr).unwrap();
    let fd = std_stream.into_raw_fd();
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    assert_eq!(stream.as_raw_fd(), fd);
    let fd = stream.into_raw_fd();
    let _stream = unsafe { TcpStream::from_raw_fd(fd) };
    let fd = listener.into_raw_fd();
    let _listener = unsafe { TcpListener::from_raw_fd(fd) };

    let std_udp = net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_addr = std_udp.local_addr().unwrap();
    let udp = unsafe { UdpSocket::from_raw_fd(std_udp.into_raw_fd()) };
    assert_eq!(udp.local_addr().unwrap(), udp_addr);
    // Adopted sockets are non-blocking: nothing queued is None, not a hang.
    let mut buf = [0; 4];
    assert!(udp.recv_from(&mut buf).unwrap().is_none());
    let _udp = unsafe { UdpSocket::from_raw_fd(udp.into_raw_fd()) };

    let (a, b) = unix_net::UnixStream::pair().unwrap();
    let mut a = unsafe { UnixStream::from_raw_fd(a.into_raw_fd()) };
    assert_eq!(a.try_read(&mut buf).unwrap(), None);
    let mut b = b;
    b.write_all(b"u").unwrap();
    assert_eq!(a.try_read(&mut buf).unwrap(), Some(1));

    let dir = ::std::env::temp_dir().join(format!("mio-compat-rawfd-{}", ::std::process::id()));
    let _ = ::std::fs::remove_dir_all(&dir);
    ::std::fs::create_dir(&dir).unwrap();
    let std_ul = unix_net::UnixListener::bind(dir.join("l.sock")).unwrap();
    let ul = unsafe { UnixListener::from_raw_fd(std_ul.into_raw_fd()) };
    assert!(ul.accept().unwrap().is_none());
    let sock = UnixSocket::stream().unwrap();
    let sock = unsafe { UnixSocket::from_raw_fd(sock.into_raw_fd()) };
    sock.bind(&dir.join("s.sock")).unwrap();
    let _ = ::std::fs::remove_dir_all(&dir);

    let (r, w) = mio::unix::pipe().unwrap();
    let r = unsafe { PipeReader::from_raw_fd(r.into_raw_fd()) };
    let mut w = unsafe { PipeWriter::from_raw_fd(w.into_raw_fd()) };
    w.write_all(b"p").unwrap();
    let mut r = r;
    assert_eq!(r.read(&mut buf).unwrap(), 1);

    // mio 0.5: pipe ends from an Io.
    let (r, w) = mio::unix::pipe().unwrap();
    let r_io = unsafe { Io::from_raw_fd(r.into_raw_fd()) };
    let w_io = unsafe { Io::from_raw_fd(w.into_raw_fd()) };
    let mut r = PipeReader::from(r_io);
    let mut w = PipeWriter::from(w_io);
    w.write_all(b"q").unwrap();
    assert_eq!(r.read(&mut buf).unwrap(), 1);
}

#[test]
fn io_from_raw_fd() {
    struct Reader(Io, Vec<u8>);
    impl Handler for Reader {
        type Timeout = ();
        type Message = ();
        fn ready(&mut self, event_loop: &mut EventLoop<Reader>, _: Token, _: EventSet) {
            let mut buf = [0; 16];
            while let Some(n) = self.0.try_read(&mut buf).unwrap() {
                self.1.extend_from_slice(&buf[..n]);
                if n == 0 || self.1.len() >= 3 {
                    event_loop.shutdown();
                    return;
                }
            }
        }
    }
    let (a, mut b) = unix_net::UnixStream::pair().unwrap();
    // The way mio 0.5 programs wrapped an fd of their own.
    let io = unsafe { Io::from_raw_fd(a.into_raw_fd()) };
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&io, Token(3), EventSet::readable(), PollOpt::edge()).unwrap();
    b.write_all(b"abc").unwrap();
    let mut reader = Reader(io, Vec::new());
    event_loop.run(&mut reader).unwrap();
    assert_eq!(&reader.1[..], b"abc");
}
