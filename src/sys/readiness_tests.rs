//! Unit tests of `epoll_to_readiness`: the Linux readiness bits (epoll's, which poll(2) and
//! io_uring's POLL_ADD share on Linux) mapped to an `EventSet`. The integration tests
//! (`tests/readiness.rs`) check which bits the kernel reports for each socket state.

use super::event::readiness as epoll_to_readiness;
use crate::event_set::EventSet;

fn map(bits: libc::c_int) -> EventSet {
    epoll_to_readiness(bits as u32)
}

#[test]
fn plain_directions() {
    assert_eq!(map(0), EventSet::none());
    assert_eq!(map(libc::EPOLLIN), EventSet::readable());
    assert_eq!(map(libc::EPOLLOUT), EventSet::writable());
    assert_eq!(
        map(libc::EPOLLIN | libc::EPOLLOUT),
        EventSet::readable() | EventSet::writable()
    );
}

#[test]
fn priority_is_also_readable() {
    assert_eq!(
        map(libc::EPOLLPRI),
        EventSet::priority() | EventSet::readable()
    );
    assert_eq!(
        map(libc::EPOLLPRI | libc::EPOLLIN),
        EventSet::priority() | EventSet::readable()
    );
}

#[test]
fn rdhup_is_read_closed_and_hup() {
    assert_eq!(
        map(libc::EPOLLIN | libc::EPOLLRDHUP),
        EventSet::readable() | EventSet::read_closed() | EventSet::hup()
    );
}

#[test]
fn hup_closes_both_directions() {
    let closed = EventSet::read_closed() | EventSet::write_closed() | EventSet::hup();
    assert_eq!(map(libc::EPOLLHUP), closed);
    // What Linux reports after shutdown(Both), or once both sides shut down (0x2015).
    assert_eq!(
        map(libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLRDHUP),
        closed | EventSet::readable() | EventSet::writable()
    );
}

#[test]
fn error_with_writable_is_write_closed() {
    // A pipe whose reader is gone reports EPOLLOUT | EPOLLERR.
    assert_eq!(
        map(libc::EPOLLOUT | libc::EPOLLERR),
        EventSet::writable() | EventSet::error() | EventSet::write_closed()
    );
    // An error alone (for example a queued ICMP error on a datagram socket registered for
    // reading) says nothing about the write side.
    assert_eq!(map(libc::EPOLLERR), EventSet::error());
    // A reset TCP connection (0x201d).
    let reset = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP | libc::EPOLLRDHUP;
    assert_eq!(
        map(reset),
        EventSet::readable()
            | EventSet::writable()
            | EventSet::error()
            | EventSet::hup()
            | EventSet::read_closed()
            | EventSet::write_closed()
    );
}

#[test]
fn unknown_bits_are_ignored() {
    assert_eq!(map(libc::EPOLLMSG | libc::EPOLLWAKEUP), EventSet::none());
}
