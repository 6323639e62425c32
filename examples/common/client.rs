//! Blocking test clients for the examples' self-checks: every read and write is bounded by a
//! timeout, so a server that hangs fails the check instead of hanging it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bound on every blocking read or write of a check.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected client socket with timeouts and `TCP_NODELAY`.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// A buffered reader over a client socket that also hands out the socket for writes.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Result<Conn, String> {
        let stream = connect(addr).map_err(|e| format!("connect: {e}"))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            pos: 0,
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads more bytes into the buffer; an error at EOF.
    fn fill(&mut self) -> Result<(), String> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("unexpected end of stream".to_string()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// The next line, without its CRLF (or LF).
    pub fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let line = &self.buf[self.pos..self.pos + i];
                let line = line.strip_suffix(b"\r").unwrap_or(line).to_vec();
                self.pos += i + 1;
                return Ok(line);
            }
            self.fill()?;
        }
    }

    /// Exactly `n` bytes.
    pub fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.buf.len() - self.pos < n {
            self.fill()?;
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }

    /// Succeeds if the server closes the connection (cleanly) with nothing more to read.
    pub fn expect_eof(&mut self) -> Result<(), String> {
        if self.pos < self.buf.len() {
            return Err(format!(
                "{} unexpected bytes before the close: {:?}",
                self.buf.len() - self.pos,
                String::from_utf8_lossy(&self.buf[self.pos..])
            ));
        }
        let mut byte = [0u8; 64];
        match self.stream.read(&mut byte) {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!(
                "expected the server to close, got {:?}",
                String::from_utf8_lossy(&byte[..n])
            )),
            Err(e) => Err(format!("expected the server to close, got {e}")),
        }
    }
}

/// Runs named checks, prints each result, and remembers failures.
#[derive(Default)]
pub struct Checks {
    passed: usize,
    failed: Vec<String>,
}

impl Checks {
    pub fn run(&mut self, name: &str, check: impl FnOnce() -> Result<(), String>) {
        let started = std::time::Instant::now();
        match check() {
            Ok(()) => {
                self.passed += 1;
                println!(
                    "  ok      {name} ({:.0} ms)",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            Err(why) => {
                println!(
                    "  FAILED  {name}: {why} (after {:.0} ms)",
                    started.elapsed().as_secs_f64() * 1e3
                );
                self.failed.push(name.to_string());
            }
        }
    }

    /// Prints the summary; `true` if every check passed.
    pub fn finish(self) -> bool {
        println!("{} passed, {} failed", self.passed, self.failed.len());
        self.failed.is_empty()
    }
}

/// A small deterministic generator for garbage and random splits.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Sends `bytes` in pieces of random sizes (1 to `max_piece`), each its own write.
pub fn send_split(
    conn: &mut Conn,
    bytes: &[u8],
    rng: &mut Rng,
    max_piece: usize,
) -> Result<(), String> {
    let mut at = 0;
    while at < bytes.len() {
        let n = (1 + rng.below(max_piece)).min(bytes.len() - at);
        conn.send(&bytes[at..at + n])?;
        at += n;
    }
    Ok(())
}

/// `Err` with a message unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}
