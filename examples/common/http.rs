//! HTTP/1.1 request parsing and responses, without IO: bytes in, responses out.
//!
//! [`Http::serve`] takes everything a connection has received and not yet consumed, answers
//! every complete request in it (pipelining), and says how many bytes it consumed and whether
//! the connection must close once the responses are written. A request split anywhere across
//! reads is simply incomplete until the rest arrives: the parser keeps no state between calls
//! except whether it already sent `100 Continue` for the request at the head of the input.
//!
//! Routes: `GET /` (and `HEAD /`) answers `Hello, World!`; `GET /bytes/N` answers N bytes
//! (up to 64 MiB, for large responses and slow readers); `POST /echo` (or `PUT`) answers the
//! request body. Other paths are `404`, other methods `405`.
//!
//! Bad input never panics: malformed requests get `400 Bad Request` (`431` for a header
//! section over 16 KiB, `413` for a body over 16 MiB, `501` for a transfer coding other than
//! `chunked`) and the connection closes after the response.

use crate::protocol::{Protocol, Served};

/// Longest header section accepted (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (`Content-Length` or the sum of the chunks).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest `/bytes/N` response.
pub const MAX_BYTES_RESPONSE: usize = 64 * 1024 * 1024;

/// Per-connection parser state.
#[derive(Debug, Default)]
pub struct Http {
    /// `100 Continue` was sent for the request at the head of the input.
    continue_sent: bool,
    /// Requests answered on this connection.
    pub requests: u64,
}

/// A parsed request head.
struct Head<'a> {
    method: &'a [u8],
    target: &'a [u8],
    /// HTTP/1.1 (not 1.0).
    http11: bool,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    /// Length of the head including the blank line.
    len: usize,
}

/// Why a request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    Bad,
    HeadTooLarge,
    BodyTooLarge,
    NotImplemented,
}

enum Parse<T> {
    Done(T),
    Incomplete,
    Reject(Reject),
}

impl Protocol for Http {
    type Shared = ();

    fn serve(&mut self, _: &(), input: &[u8], out: &mut Vec<u8>, budget: usize) -> Served {
        let mut consumed = 0;
        while consumed < input.len() && out.len() < budget {
            let rest = &input[consumed..];
            let head = match parse_head(rest) {
                Parse::Done(head) => head,
                Parse::Incomplete => break,
                Parse::Reject(why) => return reject(why, consumed, out),
            };
            let body = match parse_body(&head, &rest[head.len..]) {
                Parse::Done(body) => body,
                Parse::Incomplete => {
                    if head.expect_continue && !self.continue_sent {
                        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                        self.continue_sent = true;
                    }
                    break;
                }
                Parse::Reject(why) => return reject(why, consumed, out),
            };
            self.continue_sent = false;
            self.requests += 1;
            let close = head.close || (!head.http11 && !head.keep_alive);
            respond(
                &head,
                &rest[head.len..head.len + body.raw_len],
                &body,
                close,
                out,
            );
            consumed += head.len + body.raw_len;
            if close {
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

fn reject(why: Reject, consumed: usize, out: &mut Vec<u8>) -> Served {
    let status: &[u8] = match why {
        Reject::Bad => b"400 Bad Request",
        Reject::HeadTooLarge => b"431 Request Header Fields Too Large",
        Reject::BodyTooLarge => b"413 Content Too Large",
        Reject::NotImplemented => b"501 Not Implemented",
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\r\nServer: ferrio\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Served {
        consumed,
        close: true,
    }
}

/// Finds the end of the header section: the index just past the blank line. Lines end in
/// CRLF or a bare LF (RFC 9112 allows a recipient to accept the latter).
fn head_end(input: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = input[from..].iter().position(|&b| b == b'\n') {
        let nl = from + i;
        let line = &input[from..nl];
        if line.is_empty() || line == b"\r" {
            return Some(nl + 1);
        }
        from = nl + 1;
    }
    None
}

fn parse_head(input: &[u8]) -> Parse<Head<'_>> {
    // Leading empty lines are allowed before the request line.
    let mut skip = 0;
    while input[skip..].starts_with(b"\r\n") || input[skip..].starts_with(b"\n") {
        skip += if input[skip] == b'\r' { 2 } else { 1 };
        if skip > 64 {
            return Parse::Reject(Reject::Bad);
        }
    }
    let input_after_skip = &input[skip..];
    let Some(end) = head_end(input_after_skip) else {
        if input.len() > MAX_HEAD {
            return Parse::Reject(Reject::HeadTooLarge);
        }
        // Fail early on a request line that cannot become valid.
        if !plausible_prefix(input_after_skip) {
            return Parse::Reject(Reject::Bad);
        }
        return Parse::Incomplete;
    };
    if skip + end > MAX_HEAD {
        return Parse::Reject(Reject::HeadTooLarge);
    }
    let head = &input_after_skip[..end];
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let Some(request_line) = lines.next() else {
        return Parse::Reject(Reject::Bad);
    };
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parse::Reject(Reject::Bad);
    };
    if method.is_empty() || !method.iter().all(|b| is_tchar(*b)) {
        return Parse::Reject(Reject::Bad);
    }
    if target.is_empty() || !target.iter().all(|&b| b > b' ' && b < 0x7f) {
        return Parse::Reject(Reject::Bad);
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return Parse::Reject(Reject::Bad),
    };
    let mut parsed = Head {
        method,
        target,
        http11,
        content_length: None,
        chunked: false,
        close: false,
        keep_alive: false,
        expect_continue: false,
        len: skip + end,
    };
    let mut host = false;
    for line in lines {
        if line.is_empty() {
            break; // the blank line
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Parse::Reject(Reject::Bad);
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|b| is_tchar(*b)) {
            // Includes whitespace before the colon and obsolete line folding.
            return Parse::Reject(Reject::Bad);
        }
        let value = trim_ows(&line[colon + 1..]);
        if value.iter().any(|&b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Parse::Reject(Reject::Bad);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_decimal(value) else {
                return Parse::Reject(Reject::Bad);
            };
            if parsed.content_length.is_some_and(|old| old != n) {
                return Parse::Reject(Reject::Bad);
            }
            parsed.content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only `chunked`, once, as the final (and only) coding.
            if parsed.chunked || !trim_ows(value).eq_ignore_ascii_case(b"chunked") {
                return Parse::Reject(Reject::NotImplemented);
            }
            parsed.chunked = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(trim_ows) {
                if option.eq_ignore_ascii_case(b"close") {
                    parsed.close = true;
                } else if option.eq_ignore_ascii_case(b"keep-alive") {
                    parsed.keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                parsed.expect_continue = true;
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            if host {
                return Parse::Reject(Reject::Bad);
            }
            host = true;
        }
    }
    // RFC 9112: a request with both is a smuggling attempt; an HTTP/1.1 request needs Host.
    if (parsed.chunked && parsed.content_length.is_some()) || (http11 && !host) {
        return Parse::Reject(Reject::Bad);
    }
    if parsed.chunked && !http11 {
        return Parse::Reject(Reject::Bad);
    }
    if parsed.content_length.is_some_and(|n| n > MAX_BODY) {
        return Parse::Reject(Reject::BodyTooLarge);
    }
    Parse::Done(parsed)
}

/// Whether `partial` (a head without its blank line yet) can still become a valid request:
/// its request line so far has only valid bytes.
fn plausible_prefix(partial: &[u8]) -> bool {
    let line_end = partial.iter().position(|&b| b == b'\n');
    let line = trim_cr(&partial[..line_end.unwrap_or(partial.len())]);
    let method_end = line.iter().position(|&b| b == b' ');
    let method = &line[..method_end.unwrap_or(line.len())];
    if !method.iter().all(|b| is_tchar(*b)) || method_end == Some(0) {
        return false;
    }
    if line.len() > 8 * 1024 {
        return false;
    }
    match line_end {
        // The request line is complete: its shape is checked when the head is.
        Some(_) => true,
        None => line.iter().all(|b| (b' '..0x7f).contains(b)),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 9110 token characters.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of ASCII digits, without overflow.
fn parse_decimal(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0usize, |n, &d| n * 10 + (d - b'0') as usize))
}

/// A request body: where its bytes are.
struct Body {
    /// Bytes of input the body takes (with chunk framing).
    raw_len: usize,
    /// How the data lies in the raw bytes.
    chunks: Chunks,
}

enum Chunks {
    /// A `Content-Length` body: the raw bytes are the data.
    Contiguous,
    /// A chunked body: the data is found by walking the framing again when it is used.
    Chunked,
}

fn parse_body(head: &Head<'_>, rest: &[u8]) -> Parse<Body> {
    if head.chunked {
        return match walk_chunks(rest, |_| {}) {
            Parse::Done(raw_len) => Parse::Done(Body {
                raw_len,
                chunks: Chunks::Chunked,
            }),
            Parse::Incomplete => Parse::Incomplete,
            Parse::Reject(why) => Parse::Reject(why),
        };
    }
    let len = head.content_length.unwrap_or(0);
    if rest.len() < len {
        return Parse::Incomplete;
    }
    Parse::Done(Body {
        raw_len: len,
        chunks: Chunks::Contiguous,
    })
}

/// Walks a chunked body, calling `data` for each chunk's data, and returns its raw length
/// (through the final CRLF after the trailers).
fn walk_chunks(raw: &[u8], mut data: impl FnMut(&[u8])) -> Parse<usize> {
    let mut at = 0;
    let mut total = 0usize;
    loop {
        let Some(nl) = raw[at..].iter().position(|&b| b == b'\n') else {
            return if raw.len() - at > 1024 {
                Parse::Reject(Reject::Bad)
            } else {
                Parse::Incomplete
            };
        };
        let line = trim_cr(&raw[at..at + nl]);
        // chunk-size [; extensions]
        let size_part = line.split(|&b| b == b';').next().unwrap_or(b"");
        let size_part = trim_ows(size_part);
        if size_part.is_empty()
            || size_part.len() > 8
            || !size_part.iter().all(u8::is_ascii_hexdigit)
        {
            return Parse::Reject(Reject::Bad);
        }
        let size = size_part.iter().fold(0usize, |n, &d| {
            n * 16 + (d as char).to_digit(16).unwrap_or(0) as usize
        });
        at += nl + 1;
        if size == 0 {
            // Trailers, then a blank line.
            loop {
                let Some(nl) = raw[at..].iter().position(|&b| b == b'\n') else {
                    return if raw.len() - at > MAX_HEAD {
                        Parse::Reject(Reject::HeadTooLarge)
                    } else {
                        Parse::Incomplete
                    };
                };
                let line = trim_cr(&raw[at..at + nl]);
                at += nl + 1;
                if line.is_empty() {
                    return Parse::Done(at);
                }
                if !line.contains(&b':') {
                    return Parse::Reject(Reject::Bad);
                }
            }
        }
        total = match total.checked_add(size) {
            Some(t) if t <= MAX_BODY => t,
            _ => return Parse::Reject(Reject::BodyTooLarge),
        };
        if raw.len() - at < size {
            return Parse::Incomplete;
        }
        data(&raw[at..at + size]);
        at += size;
        // The CRLF after the data.
        match &raw[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            [] | [b'\r'] => return Parse::Incomplete,
            _ => return Parse::Reject(Reject::Bad),
        }
    }
}

fn respond(head: &Head<'_>, raw_body: &[u8], body: &Body, close: bool, out: &mut Vec<u8>) {
    let head_only = head.method == b"HEAD";
    let path = head.target.split(|&b| b == b'?').next().unwrap_or(b"");
    match (head.method, path) {
        (b"GET" | b"HEAD", b"/") => {
            status_line(out, b"200 OK", 13, b"text/plain", close);
            if !head_only {
                out.extend_from_slice(b"Hello, World!");
            }
        }
        (b"GET" | b"HEAD", p) if p.starts_with(b"/bytes/") => {
            match parse_decimal(&p[7..]).filter(|&n| n <= MAX_BYTES_RESPONSE) {
                Some(n) => {
                    status_line(out, b"200 OK", n, b"application/octet-stream", close);
                    if !head_only {
                        let start = out.len();
                        out.resize(start + n, 0);
                        fill_bytes(&mut out[start..], 0);
                    }
                }
                None => status_line(out, b"404 Not Found", 0, b"text/plain", close),
            }
        }
        (b"POST" | b"PUT", b"/echo") => match body.chunks {
            Chunks::Contiguous => {
                status_line(
                    out,
                    b"200 OK",
                    raw_body.len(),
                    b"application/octet-stream",
                    close,
                );
                out.extend_from_slice(raw_body);
            }
            Chunks::Chunked => {
                let mut len = 0;
                let _ = walk_chunks(raw_body, |d| len += d.len());
                status_line(out, b"200 OK", len, b"application/octet-stream", close);
                let _ = walk_chunks(raw_body, |d| out.extend_from_slice(d));
            }
        },
        (b"GET" | b"HEAD" | b"POST" | b"PUT", _) => {
            status_line(out, b"404 Not Found", 0, b"text/plain", close)
        }
        _ => status_line(out, b"405 Method Not Allowed", 0, b"text/plain", close),
    }
}

fn status_line(out: &mut Vec<u8>, status: &[u8], len: usize, content_type: &[u8], close: bool) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\r\nServer: ferrio\r\nContent-Type: ");
    out.extend_from_slice(content_type);
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(out, len);
    if close {
        out.extend_from_slice(b"\r\nConnection: close");
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends `n` in decimal without allocating.
pub fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The bytes of a `/bytes/N` response: byte `i` is `(i * 7 + i / 251) % 256` (`offset` is the
/// position of `buf[0]`), so a client can check every byte of a large response.
pub fn fill_bytes(buf: &mut [u8], offset: usize) {
    for (k, b) in buf.iter_mut().enumerate() {
        let i = offset + k;
        *b = (i.wrapping_mul(7).wrapping_add(i / 251)) as u8;
    }
}

// The benches include this file too; they run no tests, hence the allow.
#[cfg(test)]
#[allow(dead_code)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serve_all(input: &[u8]) -> (Vec<u8>, Served) {
        let mut out = Vec::new();
        let served = Http::default().serve(&(), input, &mut out, usize::MAX);
        (out, served)
    }

    #[test]
    fn hello_and_keep_alive() {
        let (out, served) = serve_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(out.ends_with(b"\r\n\r\nHello, World!"));
        assert_eq!(
            served,
            Served {
                consumed: 27,
                close: false
            }
        );
    }

    #[test]
    fn pipelined_requests_are_all_answered() {
        let one = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let input: Vec<u8> = one.iter().copied().cycle().take(one.len() * 10).collect();
        let (out, served) = serve_all(&input);
        assert_eq!(served.consumed, input.len());
        assert_eq!(
            out.windows(13).filter(|w| w == b"Hello, World!").count(),
            10
        );
    }

    #[test]
    fn garbage_is_400_and_close() {
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"\x00\x01\x02",
        ] {
            let (out, served) = serve_all(bad);
            assert!(out.starts_with(b"HTTP/1.1 400 "), "{:?}", String::from_utf8_lossy(bad));
            assert!(served.close);
        }
    }

    #[test]
    fn chunked_body_is_echoed() {
        let input = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
        let (out, served) = serve_all(input);
        assert_eq!(served.consumed, input.len());
        assert!(
            out.ends_with(b"Content-Length: 11\r\n\r\nhello world"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn expect_continue_is_answered_once() {
        let head =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        let mut http = Http::default();
        let mut out = Vec::new();
        assert_eq!(http.serve(&(), head, &mut out, usize::MAX).consumed, 0);
        assert_eq!(http.serve(&(), head, &mut out, usize::MAX).consumed, 0);
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
        let mut full = head.to_vec();
        full.extend_from_slice(b"abc");
        out.clear();
        assert_eq!(
            http.serve(&(), &full, &mut out, usize::MAX).consumed,
            full.len()
        );
        assert!(out.ends_with(b"abc"));
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        assert!(serve_all(b"GET / HTTP/1.0\r\n\r\n").1.close);
        assert!(
            !serve_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .1
                .close
        );
        let (out, served) =
            serve_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n");
        assert!(served.close);
        assert_eq!(served.consumed, 46);
        assert!(out.windows(17).any(|w| w == b"Connection: close"));
    }

    #[test]
    fn oversized_head_and_body_are_refused() {
        let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert!(serve_all(&big).0.starts_with(b"HTTP/1.1 431 "));
        let (out, _) =
            serve_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
        assert!(out.starts_with(b"HTTP/1.1 413 "));
    }

    /// A stream of valid requests of every kind, for the split tests.
    fn valid_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        s.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        s.extend_from_slice(b"\nGET /bytes/100 HTTP/1.1\nHost: x\n\n");
        s.extend_from_slice(b"PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        s.extend_from_slice(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        s.extend_from_slice(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
        s
    }

    /// Feeds `input` to a connection's parser in the given pieces, as the server does.
    fn serve_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
        let mut http = Http::default();
        let mut buffered = Vec::new();
        let mut out = Vec::new();
        let mut at = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.sort_unstable();
        points.push(input.len());
        for p in points {
            buffered.extend_from_slice(&input[at..p.max(at)]);
            at = p.max(at);
            let served = http.serve(&(), &buffered, &mut out, usize::MAX);
            buffered.drain(..served.consumed);
            if served.close {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn byte_by_byte_equals_all_at_once() {
        let input = valid_stream();
        let (whole, _) = serve_all(&input);
        let cuts: Vec<usize> = (0..input.len()).collect();
        let (split, _) = serve_split(&input, &cuts);
        assert_eq!(split, whole);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes never panic, never consume more than given, and a refusal closes.
        #[test]
        fn any_input_is_handled(input in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut out = Vec::new();
            let served = Http::default().serve(&(), &input, &mut out, usize::MAX);
            prop_assert!(served.consumed <= input.len());
            if out.windows(16).any(|w| w == b" 400 Bad Request") {
                prop_assert!(served.close);
            }
        }

        /// Mutations of valid requests (bytes flipped, inserted, cut) never panic.
        #[test]
        fn mutated_requests_are_handled(
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

        /// Any split of a valid stream gives the same responses as no split.
        #[test]
        fn any_split_equals_all_at_once(cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
            let input = valid_stream();
            let (whole, _) = serve_all(&input);
            let (split, _) = serve_split(&input, &cuts);
            prop_assert_eq!(split, whole);
        }
    }
}
