// mio 0.5.1: the path arguments of the unix sockets as `&P where P: AsRef<Path> + ?Sized`
// (string literals, `String`, `PathBuf`), and `Io` read and written through `&Io`.
extern crate mio;

use std::io::{Read, Write};
use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd};

use mio::unix::{EventedFd, UnixListener, UnixSocket, UnixStream};
use mio::{EventLoop, EventSet, Handler, Io, PollOpt, Token};

struct Once(Option<EventSet>);

impl Handler for Once {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Once>, _: Token, events: EventSet) {
        self.0 = Some(events);
        event_loop.shutdown();
    }
}

#[test]
fn string_paths() {
    let dir = std::env::temp_dir().join(format!("mio05-paths-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let as_string: String = dir.join("a.sock").to_str().unwrap().to_owned();
    let as_str: &str = &as_string;

    // A str (unsized) behind the reference, a String, and a PathBuf.
    let listener = UnixListener::bind(as_str).unwrap();
    let _by_string = UnixStream::connect(&as_string).unwrap();
    let _by_str = UnixStream::connect(as_str).unwrap();
    let sock = UnixSocket::stream().unwrap();
    let (_stream, _) = sock.connect(as_str).unwrap();
    let mut n = 0;
    for _ in 0..3000 {
        if let Some(_) = listener.accept().unwrap() {
            n += 1;
            if n == 3 {
                break;
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    assert_eq!(n, 3);

    let other = dir.join("b.sock");
    let bound = UnixSocket::stream().unwrap();
    bound.bind(&other).unwrap();
    let _listener2 = bound.listen(1).unwrap();
    let other_str = other.to_str().unwrap().to_owned();
    let third = UnixSocket::stream().unwrap();
    assert!(third.bind(&*other_str).is_err(), "the path is taken");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn io_through_shared_references() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let reader = unsafe { Io::from_raw_fd(a.into_raw_fd()) };
    let writer = unsafe { Io::from_raw_fd(b.into_raw_fd()) };
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(1), EventSet::readable(), PollOpt::edge()).unwrap();
    (&writer).write_all(b"shared").unwrap();
    let mut handler = Once(None);
    event_loop.run(&mut handler).unwrap();
    assert!(handler.0.unwrap().is_readable());
    let mut buf = [0u8; 16];
    let n = (&reader).read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"shared");
    event_loop.deregister(&reader).unwrap();

    let fd = reader.as_raw_fd();
    let evented = EventedFd(&fd);
    assert!(format!("{:?}", evented).contains("EventedFd"));
}
