//! An HTTP/1.1 server on ferrio's `EventLoop`: keep-alive, pipelining, requests and bodies
//! split across reads, partial writes parked until the socket is writable, `Connection:
//! close`, `400` and close on garbage, a per-connection idle timeout, and `--loops N` loops
//! on one port with `SO_REUSEPORT`.
//!
//! ```sh
//! cargo run --release --example http_server -- 127.0.0.1:8080            # serve until killed
//! cargo run --release --example http_server -- 127.0.0.1:8080 --loops 2  # one loop per core
//! cargo run --release --example http_server                              # self-check, exit 0/1
//! curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/    # two requests, one connection
//! wrk -t1 -c50 -d5s http://127.0.0.1:8080/
//! ```
//!
//! Routes: `GET /` answers `Hello, World!`, `GET /bytes/N` answers N bytes, `POST /echo`
//! answers the request body (`Content-Length` or chunked). Options: `--idle-ms MS` (default
//! 10,000) closes connections without an event for that long.
//!
//! Where things are: `common/server.rs` is the event-loop server (the handler owning the
//! listener and a `Slab` of connections, idle timers, partial writes, `SO_REUSEPORT` loops);
//! `common/http.rs` parses requests and writes responses, without IO. With no address, the
//! self-check below starts the server on `127.0.0.1:0` (with 1 and then 2 loops), drives it
//! with adversarial clients and exits 0 if every check passed, 1 otherwise.

#[path = "common/client.rs"]
mod client;
#[path = "common/http.rs"]
mod http;
#[path = "common/protocol.rs"]
mod protocol;
#[path = "common/server.rs"]
mod server;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::thread;

use client::{ensure, send_split, Checks, Conn, Rng};
use http::Http;
use server::Options;

/// A response as the client saw it.
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn has_header(&self, line: &str) -> bool {
        self.head
            .lines()
            .any(|l| l.eq_ignore_ascii_case(line.trim()))
    }
}

/// Reads one response (status line, headers, `Content-Length` body; `HEAD` has no body).
fn read_response(conn: &mut Conn, head_request: bool) -> Result<Response, String> {
    let status_line = conn.line()?;
    let status_line = String::from_utf8_lossy(&status_line).into_owned();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut head = String::new();
    let mut length = 0;
    loop {
        let line = conn.line()?;
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v
                .trim()
                .parse()
                .map_err(|_| format!("bad length {line:?}"))?;
        }
        head.push_str(&line);
        head.push('\n');
    }
    let body = if head_request || status == 100 {
        Vec::new()
    } else {
        conn.exact(length)?
    };
    Ok(Response { status, head, body })
}

fn expect_hello(conn: &mut Conn) -> Result<(), String> {
    let r = read_response(conn, false)?;
    ensure(r.status == 200 && r.body == b"Hello, World!", || {
        format!(
            "expected 200 Hello, got {} {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )
    })
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Every check, against a server at `addr` whose idle timeout is short.
fn run_checks(addr: SocketAddr, idle: std::time::Duration, checks: &mut Checks) {
    checks.run("GET / answers Hello, World!", || {
        let mut c = Conn::open(addr)?;
        c.send(GET)?;
        expect_hello(&mut c)
    });

    checks.run("keep-alive: 200 requests on one connection", || {
        let mut c = Conn::open(addr)?;
        for _ in 0..200 {
            c.send(GET)?;
            expect_hello(&mut c)?;
        }
        Ok(())
    });

    checks.run(
        "a busy connection outlives the idle timeout (requests for 3x its length)",
        || {
            let mut c = Conn::open(addr)?;
            let started = std::time::Instant::now();
            let mut n = 0u64;
            while started.elapsed() < 3 * idle {
                c.send(GET)?;
                expect_hello(&mut c)
                    .map_err(|e| format!("request {n} after {:?}: {e}", started.elapsed()))?;
                n += 1;
            }
            Ok(())
        },
    );

    checks.run("pipelining: 2,000 requests in one write", || {
        let mut c = Conn::open(addr)?;
        c.send(&GET.repeat(2000))?;
        for _ in 0..2000 {
            expect_hello(&mut c)?;
        }
        Ok(())
    });

    checks.run("requests and bodies split byte by byte", || {
        let mut c = Conn::open(addr)?;
        let mut all = Vec::new();
        all.extend_from_slice(GET);
        all.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
        all.extend_from_slice(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        );
        for byte in all.chunks(1) {
            c.send(byte)?;
        }
        expect_hello(&mut c)?;
        let r = read_response(&mut c, false)?;
        ensure(r.body == b"hello world", || format!("echo got {:?}", r.body))?;
        let r = read_response(&mut c, false)?;
        ensure(r.body == b"abcde", || format!("chunked echo got {:?}", r.body))
    });

    checks.run("random splits of a pipelined stream", || {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut c = Conn::open(addr)?;
        let mut all = Vec::new();
        for i in 0..200 {
            if i % 3 == 0 {
                all.extend_from_slice(
                    format!(
                        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                        i
                    )
                    .as_bytes(),
                );
                all.extend(std::iter::repeat(b'a' + (i % 26) as u8).take(i));
            } else {
                all.extend_from_slice(GET);
            }
        }
        send_split(&mut c, &all, &mut rng, 97)?;
        for i in 0..200 {
            if i % 3 == 0 {
                let r = read_response(&mut c, false)?;
                ensure(
                    r.body.len() == i && r.body.iter().all(|&b| b == b'a' + (i % 26) as u8),
                    || format!("echo {i} got {} bytes", r.body.len()),
                )?;
            } else {
                expect_hello(&mut c)?;
            }
        }
        Ok(())
    });

    checks.run(
        "slow reader: 24 MiB of pipelined responses, nothing lost",
        || {
            const EACH: usize = 1 << 20;
            const COUNT: usize = 24;
            let mut c = Conn::open(addr)?;
            let request = format!("GET /bytes/{EACH} HTTP/1.1\r\nHost: x\r\n\r\n");
            let mut writer = c.stream.try_clone().map_err(|e| e.to_string())?;
            // The requests go out from another thread while this one reads slowly.
            let sender = thread::spawn(move || -> io::Result<()> {
                use std::io::Write;
                for _ in 0..COUNT {
                    writer.write_all(request.as_bytes())?;
                }
                Ok(())
            });
            for n in 0..COUNT {
                let status = c.line().map_err(|e| format!("response {n} status: {e}"))?;
                ensure(status.starts_with(b"HTTP/1.1 200"), || {
                    format!("response {n}: {status:?}")
                })?;
                while !c.line()?.is_empty() {}
                // Read the body in small pieces, yielding in between: the server's socket fills
                // and it must park the rest of the response until we read.
                let mut expected = vec![0u8; 4096];
                let mut at = 0;
                while at < EACH {
                    let piece = c
                        .exact(4096.min(EACH - at))
                        .map_err(|e| format!("response {n} at {at}: {e}"))?;
                    http::fill_bytes(&mut expected[..piece.len()], at);
                    ensure(piece == expected[..piece.len()], || {
                        format!("response {n} wrong at byte {at}")
                    })?;
                    at += piece.len();
                    thread::yield_now();
                }
            }
            sender
                .join()
                .map_err(|_| "sender panicked".to_string())?
                .map_err(|e| e.to_string())
        },
    );

    checks.run("a 4 MiB request body is echoed", || {
        let mut c = Conn::open(addr)?;
        let body: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut writer = c.stream.try_clone().map_err(|e| e.to_string())?;
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let sent = body.clone();
        let sender = thread::spawn(move || -> io::Result<()> {
            use std::io::Write;
            writer.write_all(head.as_bytes())?;
            writer.write_all(&sent)
        });
        let r = read_response(&mut c, false)?;
        sender
            .join()
            .map_err(|_| "sender panicked".to_string())?
            .map_err(|e| e.to_string())?;
        ensure(r.status == 200 && r.body == body, || {
            format!("echo of {} bytes: {} bytes back", body.len(), r.body.len())
        })
    });

    checks.run("Expect: 100-continue", || {
        let mut c = Conn::open(addr)?;
        c.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 100, || {
            format!("expected 100, got {}", r.status)
        })?;
        c.send(b"data")?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 200 && r.body == b"data", || {
            format!("got {} {:?}", r.status, r.body)
        })
    });

    checks.run("HEAD has headers and no body; unknown path 404; bad method 405", || {
        let mut c = Conn::open(addr)?;
        c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nBREW / HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let r = read_response(&mut c, true)?;
        ensure(r.status == 200 && r.has_header("Content-Length: 13"), || format!("HEAD: {} {}", r.status, r.head))?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 404, || format!("expected 404, got {}", r.status))?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 405, || format!("expected 405, got {}", r.status))?;
        expect_hello_after(&mut c)
    });

    checks.run("Connection: close answers and closes", || {
        let mut c = Conn::open(addr)?;
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 200 && r.has_header("Connection: close"), || r.head.clone())?;
        c.expect_eof()
    });

    checks.run("HTTP/1.0 closes unless keep-alive", || {
        let mut c = Conn::open(addr)?;
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?;
        expect_hello(&mut c)?;
        c.send(b"GET / HTTP/1.0\r\n\r\n")?;
        expect_hello(&mut c)?;
        c.expect_eof()
    });

    checks.run("garbage gets 400 and a close", || {
        let mut rng = Rng(12345);
        let mut cases: Vec<Vec<u8>> = vec![
            b"GARBAGE\r\n\r\n".to_vec(),
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n".to_vec(),
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), // a TLS ClientHello
        ];
        for _ in 0..20 {
            let len = 1 + rng.below(300);
            cases.push((0..len).map(|_| rng.next() as u8).collect());
        }
        for (i, case) in cases.iter().enumerate() {
            let mut c = Conn::open(addr)?;
            c.send(case)?;
            // Random bytes may also look like the start of a request (then only the idle
            // timeout closes); those that start with a byte no request can start with get a
            // 400 at once.
            let plausible = case
                .first()
                .is_some_and(|&b| b == b'\r' || b == b'\n' || http::is_tchar(b));
            if plausible && i >= 6 {
                continue;
            }
            let r = read_response(&mut c, false).map_err(|e| format!("case {i}: {e}"))?;
            ensure(r.status == 400, || {
                format!("case {i}: expected 400, got {}", r.status)
            })?;
            c.expect_eof().map_err(|e| format!("case {i}: {e}"))?;
        }
        Ok(())
    });

    checks.run("a header section over 16 KiB gets 431", || {
        let mut c = Conn::open(addr)?;
        let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        big.resize(20 * 1024, b'a');
        c.send(&big)?;
        let r = read_response(&mut c, false)?;
        ensure(r.status == 431, || {
            format!("expected 431, got {}", r.status)
        })?;
        c.expect_eof()
    });

    checks.run("half-close: the answer still comes, then the close", || {
        let mut c = Conn::open(addr)?;
        c.send(&GET.repeat(3))?;
        c.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| e.to_string())?;
        for _ in 0..3 {
            expect_hello(&mut c)?;
        }
        c.expect_eof()
    });

    checks.run("idle connections are closed by the idle timeout", || {
        let mut idle = Conn::open(addr)?;
        let mut partial = Conn::open(addr)?;
        partial.send(b"GET / HTTP/1.1\r\nHost:")?;
        let mut used = Conn::open(addr)?;
        used.send(GET)?;
        expect_hello(&mut used)?;
        idle.expect_eof()?;
        partial.expect_eof()?;
        used.expect_eof()
    });

    checks.run("300 concurrent connections, 20 requests each", || {
        let mut conns = (0..300)
            .map(|_| Conn::open(addr))
            .collect::<Result<Vec<_>, _>>()?;
        for _ in 0..20 {
            for c in &mut conns {
                c.send(GET)?;
            }
            for c in &mut conns {
                expect_hello(c)?;
            }
        }
        Ok(())
    });
}

fn expect_hello_after(c: &mut Conn) -> Result<(), String> {
    c.send(GET)?;
    expect_hello(c)
}

/// Starts the server with 1 and then 2 loops and runs every check against each.
fn self_check() -> io::Result<bool> {
    let mut checks = Checks::default();
    for loops in [1, 2] {
        let options = Options {
            loops,
            idle_ms: 300,
        };
        let running = server::start::<Http>("127.0.0.1:0".parse().unwrap(), options, Arc::new(()))?;
        println!(
            "http_server self-check: {} loop(s) on {}",
            loops, running.addr
        );
        run_checks(
            running.addr,
            std::time::Duration::from_millis(options.idle_ms),
            &mut checks,
        );
        let stats = running.stop()?;
        println!(
            "  server: {} connections accepted, {} closed ({} by the idle timeout)",
            stats.accepted, stats.closed, stats.idle_closed
        );
    }
    Ok(checks.finish())
}

fn main() -> io::Result<()> {
    let (addr, options) = server::parse_args("http_server")?;
    match addr {
        Some(addr) => server::serve_forever::<Http>("http_server", addr, options),
        None => {
            if self_check()? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}
