//! Edge-triggered readiness: one event per readiness change, re-triggered by new data (or new
//! buffer space) after the source was drained to `WouldBlock`.

mod util;

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;

use ferrio::tcp::TcpStream;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};
use util::{
    check_pattern, expect_events, expect_no_events, fill_pattern, poll_once, tcp_pair,
    tcp_pair_with_std_peer,
};

const TOTAL: usize = 16 * 1024 * 1024;
const STREAM: Token = Token(1);

/// Reads until `WouldBlock` (`Ok(false)`) or EOF (`Ok(true)`), checking the pattern.
fn drain(stream: &mut TcpStream, buf: &mut [u8], received: &mut usize) -> io::Result<bool> {
    loop {
        match stream.try_read(buf)? {
            None => return Ok(false),
            Some(0) => return Ok(true),
            Some(n) => {
                check_pattern(&buf[..n], *received);
                *received += n;
            }
        }
    }
}

#[test]
fn edge_read_16mib_from_another_thread() {
    let (mut ours, mut peer) = tcp_pair_with_std_peer();
    // The reader reports each drain that ended in `WouldBlock`; the writer waits for one after
    // the first half, so at least one edge must come from new data after a full drain, however
    // the two threads are scheduled.
    let (drained_tx, drained_rx) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        let mut chunk = vec![0u8; 256 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            if sent == TOTAL / 2 {
                drained_rx
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .expect("the reader never drained to WouldBlock");
            }
            let n = chunk.len().min(TOTAL - sent);
            fill_pattern(&mut chunk[..n], sent);
            peer.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        // Dropping the peer closes the connection: the reader sees EOF after the data.
    });

    let mut poll = Poll::new().unwrap();
    poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    let mut wakeups = 0;
    let eof = 'outer: loop {
        // The writer keeps sending, so an edge must come within the timeout; a lost edge
        // after a drain shows up here as an empty poll.
        let n = poll_once(&mut poll, &mut events, std::time::Duration::from_secs(5));
        assert!(
            n > 0,
            "no readable edge after draining; received {received} of {TOTAL} bytes"
        );
        for event in events.iter() {
            assert_eq!(event.token(), STREAM);
            assert!(event.kind().is_readable(), "{:?}", event.kind());
            wakeups += 1;
            if drain(&mut ours, &mut buf, &mut received).unwrap() {
                break 'outer true;
            }
            let _ = drained_tx.send(());
        }
    };
    writer.join().unwrap();
    assert!(eof);
    assert_eq!(received, TOTAL);
    // 16 MiB do not fit in the socket buffers, so the reader must have been woken by new data
    // after at least one full drain.
    assert!(wakeups > 1, "only {wakeups} readable edge(s)");
}

#[test]
fn edge_write_16mib_until_would_block_then_writable_edge() {
    let (mut ours, mut peer) = tcp_pair_with_std_peer();
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        // Start reading only once the writer has filled the buffers, so it must see
        // WouldBlock and depend on a writable edge to continue.
        start_rx.recv().unwrap();
        let mut buf = vec![0u8; 128 * 1024];
        let mut received = 0;
        loop {
            let n = peer.read(&mut buf).unwrap();
            if n == 0 {
                return received;
            }
            check_pattern(&buf[..n], received);
            received += n;
        }
    });

    let mut poll = Poll::new().unwrap();
    poll.register(&ours, STREAM, EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut sent = 0;
    let mut would_blocks = 0;
    let mut start_tx = Some(start_tx);
    while sent < TOTAL {
        let n = chunk.len().min(TOTAL - sent);
        fill_pattern(&mut chunk[..n], sent);
        match ours.try_write(&chunk[..n]).unwrap() {
            Some(written) => sent += written,
            None => {
                would_blocks += 1;
                if let Some(tx) = start_tx.take() {
                    tx.send(()).unwrap();
                }
                // Buffers are full: wait for the writable edge the peer's reads produce.
                expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::writable())]);
            }
        }
    }
    if let Some(tx) = start_tx.take() {
        tx.send(()).unwrap();
    }
    ours.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap(), TOTAL);
    assert!(would_blocks > 0, "16 MiB never filled the socket buffers");
}

#[test]
fn no_new_event_without_new_data_after_drain() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut buf = [0u8; 4096];

    for round in 0..3 {
        let msg = [round as u8; 1000];
        assert_eq!(client.try_write(&msg).unwrap(), Some(1000));
        expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
        let mut got = 0;
        while let Some(n) = server.try_read(&mut buf).unwrap() {
            assert!(n > 0, "unexpected EOF");
            assert!(buf[..n].iter().all(|&b| b == round as u8));
            got += n;
        }
        assert_eq!(got, 1000);
        // Drained and no new data: edge-triggered means no further event.
        expect_no_events(&mut poll, &mut events);
    }
}

#[test]
fn partial_read_gets_no_new_edge_until_new_data() {
    // Epoll's edge semantics: leftover data after a partial read does not re-trigger; the
    // next write by the peer does, and the leftover is still there.
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);

    client.write_all(b"abcdef").unwrap();
    expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
    let mut buf = [0u8; 2];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(2));
    assert_eq!(&buf, b"ab");
    if matches!(poll.backend(), Backend::Poll | Backend::Iocp) {
        // Documented difference (`Backend::Poll`, `Backend::Iocp`): any IO call re-arms an
        // emulated edge, so
        // the leftover is reported again (a spurious event) instead of waiting for new data.
        expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
        // And after that event, no IO call re-armed it: no event is promised for new data
        // (the edge contract asks to drain on every event anyway). Loopback delivers the
        // write before it returns, so the read below sees it without waiting.
        client.write_all(b"g").unwrap();
    } else {
        expect_no_events(&mut poll, &mut events);
        client.write_all(b"g").unwrap();
        expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
    }
    let mut rest = [0u8; 16];
    assert_eq!(server.try_read(&mut rest).unwrap(), Some(5));
    assert_eq!(&rest[..5], b"cdefg");
}
