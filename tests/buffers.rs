//! `try_read_buf` / `try_write_buf` over the `bytes` traits: no zeroing, exact advances,
//! vectored writes for split buffers.

mod util;

use std::io::Read;

use bytes::{Buf, BufMut, BytesMut};
#[cfg(unix)]
use ferrio::unix::pipe;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};
use util::*;

/// Windows has no ferrio pipes: a connected loopback TCP pair (reader, writer) carries the
/// same bytes, and loopback delivers a write before it returns (Wine runs on Linux's).
#[cfg(windows)]
fn pipe() -> std::io::Result<(ferrio::tcp::TcpStream, ferrio::tcp::TcpStream)> {
    let (writer, reader) = tcp_pair();
    Ok((reader, writer))
}

#[test]
fn read_buf_fills_spare_capacity_and_advances() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut buf = BytesMut::with_capacity(8);
    assert_eq!(reader.try_read_buf(&mut buf).unwrap(), None);
    assert_eq!(writer.try_write(b"abcdefghijkl").unwrap(), Some(12));
    // The first chunk of spare capacity is at least 8 bytes; the read fills what fits.
    let n = reader.try_read_buf(&mut buf).unwrap().unwrap();
    assert!(n >= 8, "read {} bytes", n);
    assert_eq!(&buf[..], &b"abcdefghijkl"[..n]);
    drop(writer);
    while reader.try_read_buf(&mut buf).unwrap() != Some(0) {}
    assert_eq!(&buf[..], b"abcdefghijkl");
}

#[test]
fn read_buf_into_vec_keeps_existing_bytes() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(b"head:");
    writer.try_write(b"tail").unwrap();
    assert_eq!(reader.try_read_buf(&mut buf).unwrap(), Some(4));
    assert_eq!(buf, b"head:tail");
}

#[test]
fn read_buf_with_a_limited_buffer_reads_at_most_the_limit() {
    let (mut reader, mut writer) = pipe().unwrap();
    writer.try_write(b"0123456789").unwrap();
    let mut storage = [0u8; 4];
    let mut dst = &mut storage[..];
    assert_eq!(reader.try_read_buf(&mut dst).unwrap(), Some(4));
    assert_eq!(dst.remaining_mut(), 0);
    assert_eq!(&storage, b"0123");
    // A buffer with no room reads nothing (and does not consume the pipe).
    let mut empty: &mut [u8] = &mut [];
    assert_eq!(reader.try_read_buf(&mut empty).unwrap(), Some(0));
    let mut rest = [0u8; 6];
    assert_eq!(reader.try_read(&mut rest).unwrap(), Some(6));
    assert_eq!(&rest, b"456789");
}

#[test]
fn write_buf_sends_all_chunks_of_a_chain_in_one_call() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut data = Buf::chain(
        Buf::chain(&b"hello, "[..], &b"vectored "[..]),
        &b"world"[..],
    );
    // A plain write would stop after the first chunk; all 21 bytes means one writev.
    assert_eq!(writer.try_write_buf(&mut data).unwrap(), Some(21));
    assert!(!data.has_remaining());
    let mut out = [0u8; 21];
    reader.read_exact(&mut out).unwrap();
    assert_eq!(&out, b"hello, vectored world");
}

#[test]
fn write_buf_of_an_empty_buffer_writes_nothing() {
    let (_reader, mut writer) = pipe().unwrap();
    let mut empty = &b""[..];
    assert_eq!(writer.try_write_buf(&mut empty).unwrap(), Some(0));
}

#[test]
fn short_writes_advance_by_exactly_what_was_written() {
    // Fill a TCP connection whose peer does not read: writes go short, then would block.
    let (client, mut server) = tcp_pair();
    let total = 32 << 20;
    let mut data: Vec<u8> = (0..total).map(util::pattern).collect();
    let mut src = &data[..];
    let mut written = 0usize;
    let mut client = client;
    loop {
        let before = src.remaining();
        match client.try_write_buf(&mut src).unwrap() {
            Some(n) => {
                assert_eq!(
                    before - src.remaining(),
                    n,
                    "advance must equal bytes written"
                );
                written += n;
            }
            None => {
                assert_eq!(before, src.remaining(), "WouldBlock must not advance");
                break;
            }
        }
        assert!(
            written < total,
            "32 MiB should not fit in the socket buffers"
        );
    }
    assert_eq!(written + src.remaining(), total);
    // The peer receives exactly the first `written` bytes, in order.
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&server, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut got = BytesMut::with_capacity(written);
    while got.len() < written {
        if got.remaining_mut() == 0 {
            got.reserve(written - got.len());
        }
        match server.try_read_buf(&mut got).unwrap() {
            Some(0) => panic!("unexpected EOF"),
            Some(_) => {}
            None => {
                poll_once(&mut poll, &mut events, std::time::Duration::from_secs(5));
            }
        }
    }
    assert_eq!(&got[..], &data[..written]);
    data.clear();
}

#[test]
fn ring_reads_and_writes_both_halves_in_one_call() {
    use ferrio::buf::RingBuf;
    let (mut reader, mut writer) = pipe().unwrap();
    let mut ring = RingBuf::<8>::new();
    // Leave 2 bytes at the end of the storage so both data and free space wrap.
    assert_eq!(ring.push_slice(b"xxxxxab"), 7);
    let mut skip = [0u8; 5];
    assert_eq!(ring.pop_slice(&mut skip), 5);
    let (first, second) = ring.free_slices_mut();
    assert!(
        !first.is_empty() && !second.is_empty(),
        "free space must wrap"
    );

    writer.try_write(b"cdefgh").unwrap();
    // Six bytes across the wrap in one call: a plain read would stop at the first half.
    assert_eq!(ring.read_from(&mut reader).unwrap(), Some(6));
    assert!(ring.is_full());
    let (a, b) = ring.as_slices();
    assert_eq!([a, b].concat(), b"abcdefgh");

    // And out again with one writev through TryWrite::try_write_buf (a Buf with 2 chunks).
    assert_eq!(writer.try_write_buf(&mut ring).unwrap(), Some(8));
    assert!(ring.is_empty());
    let mut out = [0u8; 8];
    reader.read_exact(&mut out).unwrap();
    assert_eq!(&out, b"abcdefgh");
}
