//! No write path raises `SIGPIPE`, even where its default action (death) is in force: a
//! program whose `main` is not Rust's (a C host, a `cdylib`) does not ignore it as Rust's
//! runtime does. The scenario runs in a child process with `SIGPIPE` reset to `SIG_DFL` and
//! writes, through every path, to peers that are gone.
#![cfg(unix)]

mod util;

use std::io::{IoSlice, Write};
use std::os::fd::{AsFd, OwnedFd};

use ferrio::tcp::Shutdown;
use ferrio::unix::{UnixDatagram, UnixStream};
use ferrio::{Io, TryWrite};

use util::*;

const MARKER: &str = "every write path survived SIGPIPE's default action";

fn broken<T: std::fmt::Debug>(what: &str, r: std::io::Result<T>) {
    match r {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NotConnected
            ) => {}
        other => panic!("{what}: expected a broken-pipe error, got {other:?}"),
    }
}

/// Every write path of every writable source, against a closed peer.
fn write_everything_to_closed_peers() {
    // TCP: the peer closed (FIN, then RST after our first write).
    let (mut ours, peer) = tcp_pair_with_std_peer();
    drop(peer);
    for i in 0..4 {
        // The first write may still be accepted (the FIN only closes the peer's reading);
        // the RST it provokes makes the later ones fail.
        let _ = ours.try_write(b"x");
        let _ = i;
    }
    broken("tcp write", ours.write(b"x"));
    broken(
        "tcp write_vectored",
        ours.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]),
    );
    broken("tcp try_write", ours.try_write(b"x"));
    let mut chain = bytes::Buf::chain(&b"ab"[..], &b"cd"[..]);
    broken("tcp try_write_buf", ours.try_write_buf(&mut chain));
    // Our own shutdown(Write).
    let (mut ours, _peer) = tcp_pair_with_std_peer();
    ours.shutdown(Shutdown::Write).unwrap();
    broken("tcp write after shutdown", ours.write(b"x"));
    broken(
        "tcp writev after shutdown",
        ours.write_vectored(&[IoSlice::new(b"a")]),
    );

    // Unix stream: the peer dropped.
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    broken("unix write", a.write(b"x"));
    broken(
        "unix write_vectored",
        a.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]),
    );
    broken("unix try_write", a.try_write(b"x"));
    let mut chain = bytes::Buf::chain(&b"ab"[..], &b"cd"[..]);
    broken("unix try_write_buf", a.try_write_buf(&mut chain));
    let file = std::fs::File::open("/dev/null").unwrap();
    broken("unix send_with_fds", a.send_with_fds(b"x", &[file.as_fd()]));
    broken(
        "unix write_send_fd",
        a.write_send_fd(b"x", std::os::fd::AsRawFd::as_raw_fd(&file)),
    );
    broken(
        "unix try_write_send_fd",
        a.try_write_send_fd(b"x", std::os::fd::AsRawFd::as_raw_fd(&file)),
    );

    // Unix datagram: connected, the peer shut down / dropped; our own shutdown(Write).
    let (d1, d2) = UnixDatagram::pair().unwrap();
    drop(d2);
    broken("unix datagram send", d1.send(b"x"));
    let (d1, _d2) = UnixDatagram::pair().unwrap();
    d1.shutdown(Shutdown::Write).unwrap();
    broken("unix datagram send after shutdown", d1.send(b"x"));

    // Pipes: the reader dropped.
    let (r, mut w) = ferrio::unix::pipe().unwrap();
    drop(r);
    broken("pipe write", w.write(b"x"));
    broken(
        "pipe write_vectored",
        w.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]),
    );
    broken("pipe try_write", w.try_write(b"x"));

    // mio 0.5's `Io` over a socket and over a pipe.
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(b);
    let mut io = Io::from(OwnedFd::from(a));
    broken("Io (socket) write", io.write(b"x"));
    broken("Io (socket) try_write", io.try_write(b"x"));
    let (r, w) = ferrio::unix::pipe().unwrap();
    drop(r);
    let mut io = Io::from(OwnedFd::from(w));
    broken("Io (pipe) write", io.write(b"x"));
}

#[test]
fn no_write_path_raises_sigpipe() {
    run_child_test(
        "child_writes_to_closed_peers_with_sigpipe_default",
        &[],
        MARKER,
    );
}

#[test]
#[ignore]
fn child_writes_to_closed_peers_with_sigpipe_default() {
    child_scenario("child_writes_to_closed_peers_with_sigpipe_default");
    // SAFETY: restores the default disposition in this child process, which runs only this.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    write_everything_to_closed_peers();
    println!("{MARKER}");
}
