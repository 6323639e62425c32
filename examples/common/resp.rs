//! The Redis protocol (RESP2), without IO: commands in, replies out.
//!
//! Commands come as multibulk arrays (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what every client
//! library sends) or inline (`GET k\r\n`, what telnet users and `redis-benchmark`'s
//! `PING_INLINE` send; double and single quotes group words as in Redis). Supported:
//! `PING [msg]`, `ECHO msg`, `SET key value`, `GET key`, `DEL key..`, `EXISTS key..`,
//! `INCR key`, `CONFIG GET pattern..` (which `redis-benchmark` sends first) and `QUIT`.
//!
//! Errors as Redis words them: unknown commands, wrong arity, non-integer values for
//! `INCR`. A protocol error (a bad multibulk or bulk length, a missing `$`, an inline line
//! over 64 KiB, unbalanced quotes) is answered with `-ERR Protocol error: ...` and the
//! connection closes, as in Redis. Bulk values may be up to 64 MiB. Nothing panics, whatever
//! the input.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::protocol::{Protocol, Served};

/// Largest bulk string accepted.
pub const MAX_BULK: usize = 64 * 1024 * 1024;
/// Most arguments in one multibulk command.
pub const MAX_ARGS: usize = 1024 * 1024;
/// Longest inline command line.
pub const MAX_INLINE: usize = 64 * 1024;

/// The key space, shared by every connection of every loop.
#[derive(Debug, Default)]
pub struct Store {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Per-connection state: reusable argument buffers, so parsing allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Resp {
    /// `(start, len)` of each argument of the command being parsed.
    args: Vec<(usize, usize)>,
    /// Decoded arguments of an inline command (quotes and escapes resolved).
    inline: Vec<u8>,
    /// Commands answered on this connection.
    pub commands: u64,
}

enum Parse {
    /// A command of this many raw bytes; its arguments are in `args` (into `inline` if the
    /// flag is set, else into the input).
    Command(usize, bool),
    /// An empty command (`*0`, a blank line): consume the bytes, answer nothing.
    Empty(usize),
    Incomplete,
    ProtocolError(&'static str),
}

impl Protocol for Resp {
    type Shared = Store;

    fn serve(&mut self, store: &Store, input: &[u8], out: &mut Vec<u8>, budget: usize) -> Served {
        let mut consumed = 0;
        let mut map = None;
        while consumed < input.len() && out.len() < budget {
            let rest = &input[consumed..];
            let (len, from_inline) = match self.parse(rest) {
                Parse::Command(len, from_inline) => (len, from_inline),
                Parse::Empty(len) => {
                    consumed += len;
                    continue;
                }
                Parse::Incomplete => break,
                Parse::ProtocolError(why) => {
                    out.extend_from_slice(b"-ERR Protocol error: ");
                    out.extend_from_slice(why.as_bytes());
                    out.extend_from_slice(b"\r\n");
                    return Served {
                        consumed,
                        close: true,
                    };
                }
            };
            let base: &[u8] = if from_inline { &self.inline } else { rest };
            let args = Args {
                base,
                ranges: &self.args,
            };
            // One lock per batch of pipelined commands.
            let map = map.get_or_insert_with(|| store.lock());
            self.commands += 1;
            consumed += len;
            if execute(map, args, out) == After::Close {
                return Served {
                    consumed,
                    close: true,
                };
            }
        }
        Served {
            consumed,
            close: false,
        }
    }
}

impl Resp {
    fn parse(&mut self, input: &[u8]) -> Parse {
        self.args.clear();
        if input.first() == Some(&b'*') {
            self.parse_multibulk(input)
        } else {
            self.parse_inline(input)
        }
    }

    fn parse_multibulk(&mut self, input: &[u8]) -> Parse {
        let Some((count, mut at)) = line(input, 1) else {
            return incomplete_or(input.len() > 64, "invalid multibulk length");
        };
        let count = match parse_int(count) {
            Some(n) if n <= 0 => return Parse::Empty(at),
            Some(n) if n as u64 <= MAX_ARGS as u64 => n as usize,
            _ => return Parse::ProtocolError("invalid multibulk length"),
        };
        for _ in 0..count {
            match input.get(at) {
                None => return Parse::Incomplete,
                Some(b'$') => {}
                Some(_) => return Parse::ProtocolError("expected '$'"),
            }
            let Some((len, next)) = line(input, at + 1) else {
                return incomplete_or(input.len() - at > 64, "invalid bulk length");
            };
            let len = match parse_int(len) {
                Some(n) if (0..=MAX_BULK as i64).contains(&n) => n as usize,
                _ => return Parse::ProtocolError("invalid bulk length"),
            };
            if input.len() - next < len + 2 {
                return Parse::Incomplete;
            }
            if &input[next + len..next + len + 2] != b"\r\n" {
                return Parse::ProtocolError("expected CRLF after a bulk string");
            }
            self.args.push((next, len));
            at = next + len + 2;
        }
        Parse::Command(at, false)
    }

    fn parse_inline(&mut self, input: &[u8]) -> Parse {
        let Some(nl) = input.iter().position(|&b| b == b'\n') else {
            return incomplete_or(input.len() > MAX_INLINE, "too big inline request");
        };
        if nl > MAX_INLINE {
            return Parse::ProtocolError("too big inline request");
        }
        let line = &input[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.inline.clear();
        if let Err(why) = split_inline(line, &mut self.inline, &mut self.args) {
            return Parse::ProtocolError(why);
        }
        if self.args.is_empty() {
            Parse::Empty(nl + 1)
        } else {
            Parse::Command(nl + 1, true)
        }
    }
}

fn incomplete_or(too_long: bool, why: &'static str) -> Parse {
    if too_long {
        Parse::ProtocolError(why)
    } else {
        Parse::Incomplete
    }
}

/// The line starting at `from` (up to CRLF) and the index after its CRLF.
fn line(input: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = input.get(from..)?;
    let cr = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..cr], from + cr + 2))
}

/// A decimal integer as Redis writes them: optional `-`, digits, no overflow.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?;
        n = if negative {
            n.checked_sub((d - b'0') as i64)?
        } else {
            n.checked_add((d - b'0') as i64)?
        };
    }
    if negative && n == 0 {
        return None; // "-0"
    }
    Some(n)
}

/// Splits an inline command into `args` (ranges into `decoded`), resolving quotes like
/// Redis: `"..."` with `\"`, `\\`, `\n`, `\r`, `\t`, `\xHH`; `'...'` with `\'`. A closing
/// quote must be followed by a space or the end.
fn split_inline(
    line: &[u8],
    decoded: &mut Vec<u8>,
    args: &mut Vec<(usize, usize)>,
) -> Result<(), &'static str> {
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Ok(());
        }
        let start = decoded.len();
        match line[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    match line.get(i) {
                        None => return Err("unbalanced quotes in request"),
                        Some(&b) if b == quote => {
                            i += 1;
                            if i < line.len() && !line[i].is_ascii_whitespace() {
                                return Err("unbalanced quotes in request");
                            }
                            break;
                        }
                        Some(b'\\') if i + 1 < line.len() => {
                            let next = line[i + 1];
                            if quote == b'"' {
                                let hex = |b: u8| (b as char).to_digit(16);
                                match next {
                                    b'x' if i + 3 < line.len() => {
                                        match (hex(line[i + 2]), hex(line[i + 3])) {
                                            (Some(h), Some(l)) => {
                                                decoded.push((h * 16 + l) as u8);
                                                i += 4;
                                                continue;
                                            }
                                            _ => decoded.push(b'x'),
                                        }
                                    }
                                    b'n' => decoded.push(b'\n'),
                                    b'r' => decoded.push(b'\r'),
                                    b't' => decoded.push(b'\t'),
                                    b'b' => decoded.push(8),
                                    b'a' => decoded.push(7),
                                    other => decoded.push(other),
                                }
                                i += 2;
                            } else if next == b'\'' {
                                decoded.push(b'\'');
                                i += 2;
                            } else {
                                decoded.push(b'\\');
                                i += 1;
                            }
                        }
                        Some(&b) => {
                            decoded.push(b);
                            i += 1;
                        }
                    }
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    decoded.push(line[i]);
                    i += 1;
                }
            }
        }
        args.push((start, decoded.len() - start));
    }
}

/// The arguments of one command, as slices of the input or of the inline buffer.
#[derive(Clone, Copy)]
struct Args<'a> {
    base: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    fn len(&self) -> usize {
        self.ranges.len()
    }

    fn get(&self, i: usize) -> &'a [u8] {
        let (start, len) = self.ranges[i];
        &self.base[start..start + len]
    }

    fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[derive(PartialEq, Eq)]
enum After {
    Continue,
    Close,
}

fn execute(map: &mut HashMap<Vec<u8>, Vec<u8>>, args: Args<'_>, out: &mut Vec<u8>) -> After {
    let name = args.get(0);
    let argc = args.len();
    let is = |cmd: &[u8]| name.eq_ignore_ascii_case(cmd);
    if is(b"GET") {
        if argc != 2 {
            return arity(out, b"get");
        }
        match map.get(args.get(1)) {
            Some(value) => bulk(out, value),
            None => out.extend_from_slice(b"$-1\r\n"),
        }
    } else if is(b"SET") {
        if argc < 3 {
            return arity(out, b"set");
        }
        if argc > 3 {
            out.extend_from_slice(b"-ERR syntax error\r\n");
            return After::Continue;
        }
        let (key, value) = (args.get(1), args.get(2));
        match map.get_mut(key) {
            Some(old) => {
                // Reuse the old value's memory: a SET loop on one key allocates nothing.
                old.clear();
                old.extend_from_slice(value);
            }
            None => {
                map.insert(key.to_vec(), value.to_vec());
            }
        }
        out.extend_from_slice(b"+OK\r\n");
    } else if is(b"PING") {
        match argc {
            1 => out.extend_from_slice(b"+PONG\r\n"),
            2 => bulk(out, args.get(1)),
            _ => return arity(out, b"ping"),
        }
    } else if is(b"ECHO") {
        if argc != 2 {
            return arity(out, b"echo");
        }
        bulk(out, args.get(1));
    } else if is(b"DEL") || is(b"EXISTS") {
        if argc < 2 {
            return arity(out, if is(b"DEL") { b"del" } else { b"exists" });
        }
        let mut n = 0;
        for key in args.iter().skip(1) {
            let hit = if is(b"DEL") {
                map.remove(key).is_some()
            } else {
                map.contains_key(key)
            };
            n += hit as i64;
        }
        integer(out, n);
    } else if is(b"INCR") {
        if argc != 2 {
            return arity(out, b"incr");
        }
        incr(map, args.get(1), out);
    } else if is(b"CONFIG") {
        if argc < 2 {
            return arity(out, b"config");
        }
        if !args.get(1).eq_ignore_ascii_case(b"GET") {
            out.extend_from_slice(b"-ERR unknown subcommand '");
            push_sanitized(out, args.get(1));
            out.extend_from_slice(b"'. Try CONFIG HELP.\r\n");
            return After::Continue;
        }
        if argc < 3 {
            return arity(out, b"config|get");
        }
        config_get(args, out);
    } else if is(b"QUIT") {
        out.extend_from_slice(b"+OK\r\n");
        return After::Close;
    } else {
        out.extend_from_slice(b"-ERR unknown command '");
        push_sanitized(out, name);
        out.extend_from_slice(b"', with args beginning with: ");
        for arg in args.iter().skip(1).take(16) {
            out.push(b'\'');
            push_sanitized(out, arg);
            out.extend_from_slice(b"' ");
        }
        out.extend_from_slice(b"\r\n");
    }
    After::Continue
}

fn incr(map: &mut HashMap<Vec<u8>, Vec<u8>>, key: &[u8], out: &mut Vec<u8>) {
    let current = match map.get(key) {
        None => 0,
        Some(value) => match parse_int(value) {
            Some(n) => n,
            None => {
                out.extend_from_slice(b"-ERR value is not an integer or out of range\r\n");
                return;
            }
        },
    };
    let Some(next) = current.checked_add(1) else {
        out.extend_from_slice(b"-ERR increment or decrement would overflow\r\n");
        return;
    };
    let value = map.entry(key.to_vec()).or_default();
    value.clear();
    push_int(value, next);
    integer(out, next);
}

/// The configuration `CONFIG GET` reports (what `redis-benchmark` and `redis-cli` ask for).
const CONFIG: [(&[u8], &[u8]); 5] = [
    (b"save", b""),
    (b"appendonly", b"no"),
    (b"databases", b"1"),
    (b"maxmemory", b"0"),
    (b"proto-max-bulk-len", b"67108864"),
];

fn config_get(args: Args<'_>, out: &mut Vec<u8>) {
    let matches = |name: &[u8]| args.iter().skip(2).any(|pattern| glob(pattern, name));
    let n = CONFIG.iter().filter(|(name, _)| matches(name)).count();
    out.push(b'*');
    push_int(out, 2 * n as i64);
    out.extend_from_slice(b"\r\n");
    for (name, value) in CONFIG.iter().filter(|(name, _)| matches(name)) {
        bulk(out, name);
        bulk(out, value);
    }
}

/// Case-insensitive glob match with `*` and `?` (what `CONFIG GET` patterns use).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((bp, bn)) => {
                    p = bp + 1;
                    n = bn + 1;
                    backtrack = Some((bp, bn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

fn arity(out: &mut Vec<u8>, name: &[u8]) -> After {
    out.extend_from_slice(b"-ERR wrong number of arguments for '");
    out.extend_from_slice(name);
    out.extend_from_slice(b"' command\r\n");
    After::Continue
}

fn bulk(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'$');
    push_int(out, value.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_int(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without allocating.
fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends up to 128 bytes of a client-supplied name to an error line, with anything that
/// could end the line (or is not printable) replaced by a space.
fn push_sanitized(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(
        s.iter()
            .take(128)
            .map(|&b| if b.is_ascii_graphic() { b } else { b' ' }),
    );
}

// The benches include this file too; they run no tests, hence the allow.
#[cfg(test)]
#[allow(dead_code)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(input: &[u8]) -> (Vec<u8>, Served) {
        let store = Store::default();
        let mut out = Vec::new();
        let served = Resp::default().serve(&store, input, &mut out, usize::MAX);
        (out, served)
    }

    fn reply(input: &[u8]) -> String {
        String::from_utf8_lossy(&run(input).0).into_owned()
    }

    #[test]
    fn every_command() {
        let store = Store::default();
        let mut resp = Resp::default();
        let mut out = Vec::new();
        let script: &[(&[u8], &[u8])] = &[
            (b"PING\r\n", b"+PONG\r\n"),
            (b"*1\r\n$4\r\nping\r\n", b"+PONG\r\n"),
            (b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n", b"$2\r\nhi\r\n"),
            (b"ECHO hello\r\n", b"$5\r\nhello\r\n"),
            (b"GET k\r\n", b"$-1\r\n"),
            (b"SET k v1\r\n", b"+OK\r\n"),
            (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv2\r\n", b"+OK\r\n"),
            (b"GET k\r\n", b"$2\r\nv2\r\n"),
            (b"EXISTS k k nope\r\n", b":2\r\n"),
            (b"INCR n\r\n", b":1\r\n"),
            (b"INCR n\r\n", b":2\r\n"),
            (
                b"INCR k\r\n",
                b"-ERR value is not an integer or out of range\r\n",
            ),
            (b"SET big 9223372036854775807\r\n", b"+OK\r\n"),
            (
                b"INCR big\r\n",
                b"-ERR increment or decrement would overflow\r\n",
            ),
            (b"DEL k n nope\r\n", b":2\r\n"),
            (b"GET k\r\n", b"$-1\r\n"),
            (b"CONFIG GET save\r\n", b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"),
            (
                b"CONFIG GET appendonly\r\n",
                b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
            ),
            (b"CONFIG GET nosuch\r\n", b"*0\r\n"),
            (
                b"config get APPEND*\r\n",
                b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
            ),
            (
                b"CONFIG SET a b\r\n",
                b"-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n",
            ),
            (
                b"GET\r\n",
                b"-ERR wrong number of arguments for 'get' command\r\n",
            ),
            (
                b"SET a\r\n",
                b"-ERR wrong number of arguments for 'set' command\r\n",
            ),
            (b"SET a b c\r\n", b"-ERR syntax error\r\n"),
            (
                b"FOO a b\r\n",
                b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
            ),
            (b"SET \"two words\" 'it\\'s'\r\n", b"+OK\r\n"),
            (b"GET \"two words\"\r\n", b"$4\r\nit's\r\n"),
            (b"\r\n", b""),
            (b"*0\r\n", b""),
            (b"QUIT\r\n", b"+OK\r\n"),
        ];
        for (command, expected) in script {
            out.clear();
            let served = resp.serve(&store, command, &mut out, usize::MAX);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(expected),
                "{}",
                String::from_utf8_lossy(command)
            );
            assert_eq!(served.consumed, command.len());
            assert_eq!(served.close, command == b"QUIT\r\n");
        }
    }

    #[test]
    fn protocol_errors_close() {
        for (bad, why) in [
            (&b"*x\r\n"[..], "invalid multibulk length"),
            (b"*2\r\n:3\r\n", "expected '$'"),
            (b"*1\r\n$-5\r\n", "invalid bulk length"),
            (b"*1\r\n$99999999999\r\n", "invalid bulk length"),
            (b"*1\r\n$3\r\nGETxx", "expected CRLF after a bulk string"),
            (b"*9999999\r\n", "invalid multibulk length"),
            (b"GET \"unterminated\r\n", "unbalanced quotes in request"),
        ] {
            let (out, served) = run(bad);
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("-ERR Protocol error: {why}\r\n")
            );
            assert!(served.close);
        }
        let mut long = vec![b'a'; MAX_INLINE + 1];
        assert!(run(&long).1.close);
        long.push(b'\n');
        assert!(run(&long).1.close);
    }

    #[test]
    fn unknown_command_names_cannot_break_the_reply_line() {
        let out = reply(b"*2\r\n$5\r\nX\r\nY\n\r\n$2\r\n\r\n\r\n");
        assert_eq!(out.matches("\r\n").count(), 1, "{out:?}");
    }

    #[test]
    fn glob_matches_like_redis() {
        assert!(glob(b"*", b"save"));
        assert!(glob(b"s?ve", b"save"));
        assert!(glob(b"*only", b"appendonly"));
        assert!(glob(b"a*p*y", b"appendonly"));
        assert!(!glob(b"save?", b"save"));
        assert!(!glob(b"x*", b"save"));
    }

    fn valid_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
        s.extend_from_slice(b"GET key\r\n");
        s.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
        s.extend_from_slice(b"PING\n");
        s.extend_from_slice(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\n*\r\n");
        s.extend_from_slice(b"*2\r\n$6\r\nEXISTS\r\n$3\r\nkey\r\n");
        s.extend_from_slice(b"ECHO 'a b'\r\n*2\r\n$3\r\nDEL\r\n$3\r\nkey\r\n");
        s
    }

    fn serve_split(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let store = Store::default();
        let mut resp = Resp::default();
        let mut buffered = Vec::new();
        let mut out = Vec::new();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.sort_unstable();
        points.push(input.len());
        let mut at = 0;
        for p in points {
            buffered.extend_from_slice(&input[at..p.max(at)]);
            at = p.max(at);
            let served = resp.serve(&store, &buffered, &mut out, usize::MAX);
            buffered.drain(..served.consumed);
            if served.close {
                break;
            }
        }
        out
    }

    #[test]
    fn byte_by_byte_equals_all_at_once() {
        let input = valid_stream();
        let whole = run(&input).0;
        let cuts: Vec<usize> = (0..input.len()).collect();
        assert_eq!(serve_split(&input, &cuts), whole);
    }

    #[test]
    fn budget_stops_a_pipeline_and_the_rest_is_served_later() {
        let store = Store::default();
        let mut resp = Resp::default();
        let input = b"PING\r\n".repeat(100);
        let mut out = Vec::new();
        let served = resp.serve(&store, &input, &mut out, 70);
        assert!(served.consumed < input.len());
        assert_eq!(out.len(), 7 * (served.consumed / 6));
        let rest = resp.serve(&store, &input[served.consumed..], &mut out, usize::MAX);
        assert_eq!(served.consumed + rest.consumed, input.len());
        assert_eq!(out, b"+PONG\r\n".repeat(100));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_input_is_handled(input in proptest::collection::vec(any::<u8>(), 0..400)) {
            let (_, served) = run(&input);
            prop_assert!(served.consumed <= input.len());
        }

        #[test]
        fn mutated_commands_are_handled(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut input = valid_stream();
            for (at, byte, op) in edits {
                let at = at % (input.len() + 1);
                match op {
                    0 if at < input.len() => input[at] = byte,
                    1 => input.insert(at, byte),
                    _ => input.truncate(at.max(1)),
                }
            }
            let _ = serve_split(&input, &cuts);
        }

        #[test]
        fn any_split_equals_all_at_once(cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
            let input = valid_stream();
            prop_assert_eq!(serve_split(&input, &cuts), run(&input).0);
        }
    }
}
