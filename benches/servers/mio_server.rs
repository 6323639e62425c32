//! The servers on mio 1.x: a bare `Poll`, edge-triggered connections in a slab (a `Vec` and
//! a free list), no timeouts. The usual mio pattern: on readable, read until `WouldBlock`;
//! responses the socket cannot take wait for the writable edge. Same protocol code and the
//! same output budget as the ferrio server, so only the IO layer differs.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::protocol::Protocol;
use crate::server::OUTPUT_BUDGET;

const LISTENER: Token = Token(usize::MAX - 1);
const READ_ROOM: usize = 16 * 1024;

struct Conn<P> {
    stream: TcpStream,
    /// `input[..filled]` holds unconsumed bytes; the rest is zeroed room for reads.
    input: Vec<u8>,
    filled: usize,
    output: Vec<u8>,
    written: usize,
    proto: P,
    closing: bool,
    write_shut: bool,
    peer_closed: bool,
    read_pending: bool,
}

impl<P: Protocol> Conn<P> {
    /// Returns `Ok(false)` when the connection is done.
    fn drive(&mut self, shared: &P::Shared, readable: bool) -> io::Result<bool> {
        let mut drained = !(readable || self.read_pending);
        loop {
            let answered = if self.closing {
                self.filled = 0;
                false
            } else {
                self.filled > 0 && self.answer(shared)
            };
            if self.flush()? {
                if answered {
                    continue;
                }
                if self.peer_closed {
                    return Ok(false);
                }
                if self.closing && !self.write_shut {
                    let _ = self.stream.shutdown(Shutdown::Write);
                    self.write_shut = true;
                }
            } else if self.closing
                || self.peer_closed
                || self.output.len() - self.written >= OUTPUT_BUDGET
            {
                self.read_pending = !drained;
                return Ok(true);
            }
            if drained || self.peer_closed {
                self.read_pending = false;
                return Ok(true);
            }
            if self.input.len() - self.filled < READ_ROOM / 2 {
                let len = self.input.len() + READ_ROOM;
                self.input.resize(len, 0);
            }
            match self.stream.read(&mut self.input[self.filled..]) {
                Ok(0) => self.peer_closed = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn answer(&mut self, shared: &P::Shared) -> bool {
        let budget = self.written + OUTPUT_BUDGET;
        let served = self
            .proto
            .serve(shared, &self.input[..self.filled], &mut self.output, budget);
        self.input.copy_within(served.consumed..self.filled, 0);
        self.filled -= served.consumed;
        if served.close {
            self.closing = true;
            self.filled = 0;
        }
        served.consumed > 0 || (self.filled > 0 && self.output.len() >= budget)
    }

    fn flush(&mut self) -> io::Result<bool> {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.output.clear();
        self.written = 0;
        Ok(true)
    }
}

pub fn serve<P: Protocol>(
    listener: std::net::TcpListener,
    shared: Arc<P::Shared>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn<P>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    let mut stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => {
                            eprintln!("accept: {e}");
                            break;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let slot = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns[slot] = Some(Conn {
                        stream,
                        input: vec![0; READ_ROOM],
                        filled: 0,
                        output: Vec::new(),
                        written: 0,
                        proto: P::default(),
                        closing: false,
                        write_shut: false,
                        peer_closed: false,
                        read_pending: false,
                    });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(Some(conn)) = conns.get_mut(slot) else {
                continue;
            };
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            let open = conn.drive(&shared, readable).unwrap_or(false);
            if !open {
                conns[slot] = None; // dropping deregisters and closes
                free.push(slot);
            }
        }
    }
}
