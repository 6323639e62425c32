//! A Redis-protocol (RESP2) server on ferrio's `EventLoop`: `PING`, `ECHO`, `SET`, `GET`,
//! `DEL`, `EXISTS`, `INCR`, `CONFIG GET`, `QUIT`; inline and multibulk commands;
//! pipelining; commands split anywhere across reads; values of many MiB; Redis's errors for
//! unknown commands and wrong arity; a per-connection idle timeout; `--loops N` loops on one
//! port with `SO_REUSEPORT` (sharing one key space).
//!
//! ```sh
//! cargo run --release --example resp_server -- 127.0.0.1:6380           # serve until killed
//! cargo run --release --example resp_server -- 127.0.0.1:6380 --loops 2
//! cargo run --release --example resp_server                             # self-check, exit 0/1
//! redis-cli -p 6380 SET greeting hello && redis-cli -p 6380 GET greeting
//! redis-benchmark -p 6380 -t set,get -P 16 -n 100000 -q
//! ```
//!
//! Where things are: `common/server.rs` is the event-loop server, shared with `http_server`;
//! `common/resp.rs` parses commands and writes replies, without IO. With no address, the
//! self-check starts the server on `127.0.0.1:0` (with 1 and then 2 loops), drives it with
//! adversarial clients and exits 0 if every check passed, 1 otherwise.

#[path = "common/client.rs"]
mod client;
#[path = "common/protocol.rs"]
mod protocol;
#[path = "common/resp.rs"]
mod resp;
#[path = "common/server.rs"]
mod server;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use client::{ensure, send_split, Checks, Conn, Rng};
use resp::{Resp, Store};
use server::Options;

/// A reply as the client parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

fn read_reply(c: &mut Conn) -> Result<Reply, String> {
    let line = c.line()?;
    let (kind, rest) = line.split_first().ok_or("empty reply line")?;
    let text = String::from_utf8_lossy(rest).into_owned();
    let number = || {
        text.parse::<i64>()
            .map_err(|_| format!("bad number {text:?}"))
    };
    Ok(match kind {
        b'+' => Reply::Simple(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(number()?),
        b'$' => match number()? {
            -1 => Reply::Bulk(None),
            n if n >= 0 => {
                let data = c.exact(n as usize + 2)?;
                ensure(data.ends_with(b"\r\n"), || "bulk without CRLF".to_string())?;
                Reply::Bulk(Some(data[..n as usize].to_vec()))
            }
            n => return Err(format!("bad bulk length {n}")),
        },
        b'*' => {
            let n = number()?;
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                items.push(read_reply(c)?);
            }
            Reply::Array(items)
        }
        other => return Err(format!("bad reply type {:?}", *other as char)),
    })
}

/// A command as a multibulk array.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn simple(s: &str) -> Reply {
    Reply::Simple(s.to_string())
}

fn error(s: &str) -> Reply {
    Reply::Error(s.to_string())
}

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Some(b.to_vec()))
}

/// Sends `cmd` and checks the reply.
fn expect(c: &mut Conn, cmd: &[u8], want: Reply) -> Result<(), String> {
    c.send(cmd)?;
    let got = read_reply(c)?;
    ensure(got == want, || {
        format!(
            "{:?}: expected {want:?}, got {got:?}",
            String::from_utf8_lossy(cmd)
        )
    })
}

fn value_of(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn run_checks(addr: SocketAddr, idle: Duration, checks: &mut Checks) {
    checks.run("every command, multibulk", || {
        let mut c = Conn::open(addr)?;
        expect(&mut c, &command(&[b"PING"]), simple("PONG"))?;
        expect(&mut c, &command(&[b"ping", b"hi"]), bulk(b"hi"))?;
        expect(&mut c, &command(&[b"ECHO", b"a\r\nb"]), bulk(b"a\r\nb"))?;
        expect(&mut c, &command(&[b"DEL", b"k", b"n"]), Reply::Int(0))?;
        expect(&mut c, &command(&[b"GET", b"k"]), Reply::Bulk(None))?;
        expect(&mut c, &command(&[b"SET", b"k", b"v"]), simple("OK"))?;
        expect(&mut c, &command(&[b"GET", b"k"]), bulk(b"v"))?;
        expect(
            &mut c,
            &command(&[b"EXISTS", b"k", b"k", b"nope"]),
            Reply::Int(2),
        )?;
        expect(&mut c, &command(&[b"INCR", b"n"]), Reply::Int(1))?;
        expect(&mut c, &command(&[b"incr", b"n"]), Reply::Int(2))?;
        expect(
            &mut c,
            &command(&[b"INCR", b"k"]),
            error("ERR value is not an integer or out of range"),
        )?;
        expect(
            &mut c,
            &command(&[b"DEL", b"k", b"n", b"nope"]),
            Reply::Int(2),
        )?;
        expect(
            &mut c,
            &command(&[b"CONFIG", b"GET", b"save"]),
            Reply::Array(vec![bulk(b"save"), bulk(b"")]),
        )?;
        expect(
            &mut c,
            &command(&[b"CONFIG", b"GET", b"appendonly"]),
            Reply::Array(vec![bulk(b"appendonly"), bulk(b"no")]),
        )?;
        expect(
            &mut c,
            &command(&[b"CONFIG", b"GET", b"nosuch"]),
            Reply::Array(vec![]),
        )?;
        expect(&mut c, &command(&[b"QUIT"]), simple("OK"))?;
        c.expect_eof()
    });

    checks.run("inline commands, with quotes", || {
        let mut c = Conn::open(addr)?;
        expect(&mut c, b"PING\r\n", simple("PONG"))?;
        expect(&mut c, b"SET \"a key\" 'it\\'s'\r\n", simple("OK"))?;
        expect(&mut c, b"GET \"a key\"\n", bulk(b"it's"))?;
        expect(&mut c, b"ECHO \"\\x41\\n\"\r\n", bulk(b"A\n"))?;
        expect(&mut c, b"\r\n\r\nPING\r\n", simple("PONG"))
    });

    checks.run("wrong arity and unknown commands", || {
        let mut c = Conn::open(addr)?;
        for (cmd, name) in [
            (&[&b"GET"[..]][..], "get"),
            (&[b"SET", b"x"], "set"),
            (&[b"ECHO"], "echo"),
            (&[b"INCR", b"a", b"b"], "incr"),
            (&[b"DEL"], "del"),
            (&[b"EXISTS"], "exists"),
            (&[b"PING", b"a", b"b"], "ping"),
            (&[b"CONFIG"], "config"),
        ] {
            let want = format!("ERR wrong number of arguments for '{name}' command");
            expect(&mut c, &command(cmd), Reply::Error(want))?;
        }
        expect(
            &mut c,
            &command(&[b"FLUSHALL", b"x"]),
            error("ERR unknown command 'FLUSHALL', with args beginning with: 'x' "),
        )?;
        expect(&mut c, &command(&[b"PING"]), simple("PONG"))
    });

    checks.run("pipelining: 30,000 commands in one write", || {
        let mut c = Conn::open(addr)?;
        let mut all = Vec::new();
        for i in 0..10_000 {
            let key = format!("pipe:{}", i % 100);
            all.extend_from_slice(&command(&[b"SET", key.as_bytes(), b"1"]));
            all.extend_from_slice(&command(&[b"INCR", key.as_bytes()]));
            all.extend_from_slice(b"PING\r\n");
        }
        c.send(&all)?;
        for i in 0..10_000 {
            ensure(read_reply(&mut c)? == simple("OK"), || format!("SET {i}"))?;
            ensure(read_reply(&mut c)? == Reply::Int(2), || format!("INCR {i}"))?;
            ensure(read_reply(&mut c)? == simple("PONG"), || {
                format!("PING {i}")
            })?;
        }
        Ok(())
    });

    checks.run("commands split byte by byte and at random", || {
        let mut stream = Vec::new();
        stream.extend_from_slice(&command(&[b"SET", b"split", b"value"]));
        stream.extend_from_slice(b"GET split\r\n");
        stream.extend_from_slice(&command(&[b"ECHO", &[b'x'; 3000]]));
        let mut c = Conn::open(addr)?;
        for byte in stream.chunks(1) {
            c.send(byte)?;
        }
        let mut rng = Rng(77);
        send_split(&mut c, &stream.repeat(20), &mut rng, 50)?;
        for _ in 0..21 {
            ensure(read_reply(&mut c)? == simple("OK"), || "SET".to_string())?;
            ensure(read_reply(&mut c)? == bulk(b"value"), || "GET".to_string())?;
            ensure(read_reply(&mut c)? == bulk(&[b'x'; 3000]), || {
                "ECHO".to_string()
            })?;
        }
        Ok(())
    });

    checks.run("an 8 MiB value, and a slow reader of 8 x 4 MiB", || {
        let mut c = Conn::open(addr)?;
        let big = value_of(8 << 20, 1);
        let mut writer = c.stream.try_clone().map_err(|e| e.to_string())?;
        let set = command(&[b"SET", b"big", &big]);
        let sender = thread::spawn(move || -> io::Result<()> {
            use std::io::Write;
            writer.write_all(&set)
        });
        ensure(read_reply(&mut c)? == simple("OK"), || {
            "SET big".to_string()
        })?;
        sender
            .join()
            .map_err(|_| "sender panicked".to_string())?
            .map_err(|e| e.to_string())?;
        expect(&mut c, &command(&[b"GET", b"big"]), Reply::Bulk(Some(big)))?;

        let four = value_of(4 << 20, 2);
        expect(&mut c, &command(&[b"SET", b"four", &four]), simple("OK"))?;
        c.send(&command(&[b"GET", b"four"]).repeat(8))?;
        for n in 0..8 {
            let head = c.line()?;
            ensure(head == b"$4194304", || {
                format!("GET {n}: {:?}", String::from_utf8_lossy(&head))
            })?;
            let mut at = 0;
            while at < four.len() {
                // Small reads with yields: the server must park what the socket cannot take.
                let piece = c.exact(8192.min(four.len() - at))?;
                ensure(piece[..] == four[at..at + piece.len()], || {
                    format!("GET {n} wrong at {at}")
                })?;
                at += piece.len();
                thread::yield_now();
            }
            ensure(c.exact(2)? == b"\r\n", || "CRLF".to_string())?;
        }
        Ok(())
    });

    checks.run(
        "protocol errors are answered, then the connection closes",
        || {
            for (bad, why) in [
                (&b"*x\r\n"[..], "invalid multibulk length"),
                (b"*1\r\n:3\r\n", "expected '$'"),
                (b"*1\r\n$-2\r\n", "invalid bulk length"),
                (b"*1\r\n$3\r\nGETxx", "expected CRLF after a bulk string"),
                (b"GET \"open\r\n", "unbalanced quotes in request"),
            ] {
                let mut c = Conn::open(addr)?;
                c.send(bad)?;
                let want = Reply::Error(format!("ERR Protocol error: {why}"));
                let got = read_reply(&mut c)?;
                ensure(got == want, || {
                    format!("{:?}: got {got:?}", String::from_utf8_lossy(bad))
                })?;
                c.expect_eof()?;
            }
            let mut c = Conn::open(addr)?;
            c.send(&vec![b'a'; 70 * 1024])?;
            ensure(
                read_reply(&mut c)? == error("ERR Protocol error: too big inline request"),
                || "inline limit".to_string(),
            )?;
            c.expect_eof()
        },
    );

    checks.run("random garbage never kills the server", || {
        let mut rng = Rng(4242);
        for _ in 0..50 {
            let mut c = Conn::open(addr)?;
            let len = 1 + rng.below(500);
            let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            c.send(&garbage)?;
            c.stream
                .shutdown(Shutdown::Write)
                .map_err(|e| e.to_string())?;
            // Whatever it answers, it must end the connection (a protocol error or our EOF).
            let mut sink = Vec::new();
            io::Read::read_to_end(&mut c.stream, &mut sink).map_err(|e| e.to_string())?;
        }
        let mut c = Conn::open(addr)?;
        expect(&mut c, b"PING\r\n", simple("PONG"))
    });

    checks.run("one key space across connections (and loops)", || {
        let mut writer = Conn::open(addr)?;
        expect(
            &mut writer,
            &command(&[b"SET", b"shared", b"42"]),
            simple("OK"),
        )?;
        let start = read_counter(&mut writer)?;
        for k in 1..=20 {
            let mut c = Conn::open(addr)?;
            expect(&mut c, &command(&[b"GET", b"shared"]), bulk(b"42"))?;
            expect(
                &mut c,
                &command(&[b"INCR", b"counter"]),
                Reply::Int(start + k),
            )?;
        }
        Ok(())
    });

    checks.run("a busy connection outlives the idle timeout", || {
        let mut c = Conn::open(addr)?;
        let started = std::time::Instant::now();
        while started.elapsed() < 3 * idle {
            expect(&mut c, b"PING\r\n", simple("PONG"))?;
        }
        Ok(())
    });

    checks.run("idle connections are closed by the idle timeout", || {
        let mut idle_conn = Conn::open(addr)?;
        let mut partial = Conn::open(addr)?;
        partial.send(b"*2\r\n$3\r\nGET\r\n")?;
        idle_conn.expect_eof()?;
        partial.expect_eof()
    });

    checks.run("300 concurrent connections, 20 commands each", || {
        let mut conns = (0..300)
            .map(|_| Conn::open(addr))
            .collect::<Result<Vec<_>, _>>()?;
        for round in 0..20 {
            for (i, c) in conns.iter_mut().enumerate() {
                c.send(&command(&[
                    b"SET",
                    format!("c{i}").as_bytes(),
                    format!("{round}").as_bytes(),
                ]))?;
            }
            for c in &mut conns {
                ensure(read_reply(c)? == simple("OK"), || "SET".to_string())?;
            }
        }
        Ok(())
    });
}

/// The current value of `counter` (0 if unset).
fn read_counter(c: &mut Conn) -> Result<i64, String> {
    c.send(&command(&[b"GET", b"counter"]))?;
    match read_reply(c)? {
        Reply::Bulk(None) => Ok(0),
        Reply::Bulk(Some(v)) => String::from_utf8_lossy(&v)
            .parse()
            .map_err(|_| "counter is not a number".to_string()),
        other => Err(format!("GET counter: {other:?}")),
    }
}

/// Starts the server with 1 and then 2 loops and runs every check against each.
fn self_check() -> io::Result<bool> {
    let mut checks = Checks::default();
    for loops in [1, 2] {
        let options = Options {
            loops,
            idle_ms: 300,
        };
        let running = server::start::<Resp>(
            "127.0.0.1:0".parse().unwrap(),
            options,
            Arc::new(Store::default()),
        )?;
        println!(
            "resp_server self-check: {} loop(s) on {}",
            loops, running.addr
        );
        run_checks(
            running.addr,
            Duration::from_millis(options.idle_ms),
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
    let (addr, options) = server::parse_args("resp_server")?;
    match addr {
        Some(addr) => server::serve_forever::<Resp>("resp_server", addr, options),
        None => {
            if self_check()? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}
