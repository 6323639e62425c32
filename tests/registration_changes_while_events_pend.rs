//! Registrations changed while their readiness is already pending (queued in the kernel, or
//! left over because the events buffer was full), on every backend of the build: the old token
//! and the old interest are never reported after the change; oneshot re-arms exactly once per
//! `reregister`; level-triggered storms through small buffers reach every source.
#![cfg(unix)]

mod util;

use std::collections::HashMap;
use std::time::Duration;

use ferrio::unix::UnixStream;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};

use util::*;

/// `n` socket pairs whose first ends are readable (one byte queued) and writable.
fn ready_pairs(n: usize) -> Vec<(UnixStream, UnixStream)> {
    (0..n)
        .map(|_| {
            let (a, mut b) = UnixStream::pair().unwrap();
            b.try_write(b"x").unwrap();
            (a, b)
        })
        .collect()
}

/// Every event of a few polls (bounded), as `(token, readiness)`.
fn drain(poll: &mut Poll, events: &mut Events, polls: usize) -> Vec<(Token, EventSet)> {
    let mut seen = Vec::new();
    for _ in 0..polls {
        poll_once(poll, events, Duration::from_millis(50));
        seen.extend(events.iter().map(|e| (e.token(), e.kind())));
    }
    seen
}

const MODES: [PollOpt; 3] = [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()];

fn opts_name(opts: PollOpt) -> &'static str {
    if opts.is_oneshot() {
        "oneshot"
    } else if opts.is_level() {
        "level"
    } else {
        "edge"
    }
}

/// Ten ready sources polled through a one-event buffer: after the first poll reported one,
/// the other nine (whose readiness the backend already collected) are reregistered under new
/// tokens. Only new tokens are reported from then on, each of the nine at least once.
#[test]
fn tokens_changed_while_readiness_is_left_over_are_never_reported() {
    for opts in MODES {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {}", opts_name(opts));
            let pairs = ready_pairs(10);
            for (i, (a, _)) in pairs.iter().enumerate() {
                poll.register(a, Token(i), EventSet::readable(), opts)
                    .unwrap();
            }
            let mut one = Events::with_capacity(1);
            let first = next_any(&mut poll, &mut one);
            assert!(first.0 < 10, "{what}: {first:?}");
            for (i, (a, _)) in pairs.iter().enumerate() {
                if i != first.0 {
                    poll.reregister(a, Token(100 + i), EventSet::readable(), opts)
                        .unwrap();
                }
            }
            let mut seen = HashMap::new();
            for _ in 0..100 {
                poll_once(&mut poll, &mut one, Duration::from_millis(50));
                for e in one.iter() {
                    let t = e.token().0;
                    assert!(
                        t == first.0 || t >= 100,
                        "{what}: old token {t} reported after its reregistration"
                    );
                    *seen.entry(t).or_insert(0usize) += 1;
                }
                if (0..10)
                    .filter(|&i| i != first.0)
                    .all(|i| seen.contains_key(&(100 + i)))
                {
                    break;
                }
            }
            for i in (0..10).filter(|&i| i != first.0) {
                assert!(
                    seen.contains_key(&(100 + i)),
                    "{what}: the reregistered token {} never came; saw {seen:?}",
                    100 + i
                );
            }
        }
    }
}

/// The first poll through a one-event buffer reports one of ten ready sources; the other nine
/// are deregistered (their readiness already collected by the backend) and then dropped.
/// Nothing of them is reported afterwards, and a new source that gets one of their fd numbers
/// is reported under its own token only.
#[test]
fn sources_deregistered_and_dropped_with_readiness_left_over_are_never_reported() {
    for opts in MODES {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {}", opts_name(opts));
            let mut pairs: Vec<_> = ready_pairs(10).into_iter().map(Some).collect();
            for (i, pair) in pairs.iter().enumerate() {
                let (a, _) = pair.as_ref().unwrap();
                poll.register(a, Token(i), EventSet::readable(), opts)
                    .unwrap();
            }
            let mut one = Events::with_capacity(1);
            let first = next_any(&mut poll, &mut one).0;
            for (i, pair) in pairs.iter_mut().enumerate() {
                if i != first {
                    let (a, b) = pair.take().unwrap();
                    if i % 2 == 0 {
                        poll.deregister(&a).unwrap();
                    }
                    // Odd ones are only dropped (drop deregisters).
                    drop((a, b));
                }
            }
            // New ready sources reuse the freed numbers.
            let fresh = ready_pairs(9);
            for (j, (a, _)) in fresh.iter().enumerate() {
                poll.register(a, Token(1000 + j), EventSet::readable(), opts)
                    .unwrap();
            }
            // Until every new source was reported (bounded), then a few more polls.
            let mut seen = Vec::new();
            for _ in 0..40 {
                seen.extend(drain(&mut poll, &mut one, 1));
                if (0..9).all(|j| seen.iter().any(|(t, _)| t.0 == 1000 + j)) {
                    break;
                }
            }
            seen.extend(drain(&mut poll, &mut one, 3));
            for (t, kind) in &seen {
                assert!(
                    t.0 == first || t.0 >= 1000,
                    "{what}: token {} of a removed source reported ({kind:?}); saw {seen:?}",
                    t.0
                );
            }
            for j in 0..9 {
                assert!(
                    seen.iter().any(|(t, _)| t.0 == 1000 + j),
                    "{what}: new source {} never reported; saw {seen:?}",
                    1000 + j
                );
            }
        }
    }
}

/// A readable and writable source whose interest is changed to writable only, while its
/// readable readiness is pending: no event carries readable afterwards; changed to readable
/// only, no event carries writable.
#[test]
fn interest_changed_while_readiness_pends_is_applied_at_once() {
    for opts in MODES {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {}", opts_name(opts));
            let pairs = ready_pairs(1);
            let a = &pairs[0].0;
            poll.register(a, Token(1), EventSet::readable(), opts)
                .unwrap();
            // Readable is now pending in every backend's own structures (not yet polled).
            let mut events = Events::with_capacity(8);
            poll.reregister(a, Token(1), EventSet::writable(), opts)
                .unwrap();
            let seen = drain(&mut poll, &mut events, 3);
            assert!(
                seen.iter().any(|(_, k)| k.is_writable()),
                "{what}: no writable after the change; saw {seen:?}"
            );
            assert!(
                seen.iter().all(|(_, k)| !k.is_readable()),
                "{what}: readable reported after interest became writable only: {seen:?}"
            );
            poll.reregister(a, Token(2), EventSet::readable(), opts)
                .unwrap();
            let seen = drain(&mut poll, &mut events, 3);
            assert!(
                seen.iter().any(|&(t, k)| t == Token(2) && k.is_readable()),
                "{what}: no readable after the change back; saw {seen:?}"
            );
            assert!(
                seen.iter().all(|&(t, k)| t == Token(2) && !k.is_writable()),
                "{what}: writable or the old token after the change: {seen:?}"
            );
        }
    }
}

/// Oneshot: while the source stays readable, each `reregister` gives exactly one more event
/// (never zero, never two), for many rounds; with the mode switched to edge in between, one
/// event as well.
#[test]
fn oneshot_rearms_exactly_once_per_reregister() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let pairs = ready_pairs(1);
        let a = &pairs[0].0;
        poll.register(a, Token(1), EventSet::readable(), PollOpt::oneshot())
            .unwrap();
        for round in 0..15 {
            let got = expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::readable())],
            );
            let n = got.iter().filter(|(t, _)| *t == Token(1)).count();
            assert_eq!(n, 1, "{backend} round {round}: {got:?}");
            expect_no_events(&mut poll, &mut events);
            let opts = if round % 5 == 4 {
                PollOpt::edge() | PollOpt::oneshot()
            } else {
                PollOpt::oneshot()
            };
            poll.reregister(a, Token(1), EventSet::readable(), opts)
                .unwrap();
        }
    }
}

/// A level-triggered storm: 64 sources always readable, polled through a buffer of 5. Every
/// source is reported within a bounded number of polls (no source starves the others, none is
/// lost), and the spread stays bounded over many polls.
#[test]
fn a_level_triggered_storm_through_a_small_buffer_reaches_every_source() {
    const N: usize = 64;
    const CAP: usize = 5;
    for (backend, mut poll) in polls() {
        let pairs = ready_pairs(N);
        for (i, (a, _)) in pairs.iter().enumerate() {
            poll.register(a, Token(i), EventSet::readable(), PollOpt::level())
                .unwrap();
        }
        let mut events = Events::with_capacity(CAP);
        let rounds = N.div_ceil(CAP);
        let mut counts = vec![0usize; N];
        // Every source within three full rotations.
        for _ in 0..3 * rounds {
            let n = poll_once(&mut poll, &mut events, Duration::from_secs(1));
            assert!(n > 0 && n <= CAP, "{backend}: poll returned {n}");
            let mut in_this_poll = Vec::new();
            for e in events.iter() {
                assert!(
                    !in_this_poll.contains(&e.token()),
                    "{backend}: {:?} twice in one poll",
                    e.token()
                );
                in_this_poll.push(e.token());
                counts[e.token().0] += 1;
            }
        }
        let starved: Vec<_> = (0..N).filter(|&i| counts[i] == 0).collect();
        assert!(
            starved.is_empty(),
            "{backend}: sources never reported in {} polls of {CAP}: {starved:?}",
            3 * rounds
        );
        // Many more polls: the spread between the most and least reported stays small.
        for _ in 0..20 * rounds {
            poll_once(&mut poll, &mut events, Duration::from_secs(1));
            for e in events.iter() {
                counts[e.token().0] += 1;
            }
        }
        let (min, max) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
        assert!(
            max <= 2 * min + 4,
            "{backend}: unfair level-triggered reporting, min {min} max {max}: {counts:?}"
        );
    }
}

/// Edge-triggered sources made ready again while a one-event buffer is still working through
/// an earlier round: each source is drained when reported (as an edge-triggered program
/// must), and half-way through every source is made ready again; then every source is
/// reported again, whether its first event was delivered before or not.
#[test]
fn edge_sources_made_ready_again_during_a_slow_drain_are_all_reported() {
    const N: usize = 16;
    for (backend, mut poll) in polls() {
        let mut pairs: Vec<_> = (0..N).map(|_| UnixStream::pair().unwrap()).collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            poll.register(a, Token(i), EventSet::readable(), PollOpt::edge())
                .unwrap();
        }
        let mut one = Events::with_capacity(1);
        for round in 0..5 {
            for (_, b) in &mut pairs {
                b.try_write(b"y").unwrap();
            }
            let mut seen = vec![false; N];
            let mut made_again = false;
            for _ in 0..20 * N {
                poll_once(&mut poll, &mut one, Duration::from_millis(100));
                for e in one.iter() {
                    seen[e.token().0] = true;
                    drain_stream(&pairs[e.token().0].0);
                }
                if !made_again && seen.iter().filter(|&&s| s).count() == N / 2 {
                    made_again = true;
                    seen = vec![false; N];
                    for (_, b) in &mut pairs {
                        b.try_write(b"z").unwrap();
                    }
                }
                if made_again && seen.iter().all(|&s| s) {
                    break;
                }
            }
            assert!(
                made_again && seen.iter().all(|&s| s),
                "{backend} round {round}: not reported after being made ready again: {seen:?}"
            );
            let _ = drain(&mut poll, &mut one, 2);
        }
    }
}

/// Reads `a` until it would block.
fn drain_stream(a: &UnixStream) {
    let mut buf = [0u8; 64];
    while let Some(n) = TryRead::try_read(&mut &*a, &mut buf).unwrap() {
        assert!(n > 0, "unexpected end of stream");
    }
}

/// Polls (bounded) until any event arrives; returns it.
fn next_any(poll: &mut Poll, events: &mut Events) -> Token {
    for _ in 0..20 {
        poll_once(poll, events, Duration::from_millis(250));
        if let Some(e) = events.get(0) {
            return e.token();
        }
    }
    panic!("no event arrived");
}

/// A registered, ready source converted away (`into_std`, `OwnedFd::from`) before the poll
/// that would report it: its token is never reported, the fd keeps its data, and the same fd
/// adopted again and registered under a new token is reported under that token only.
#[test]
fn a_source_converted_away_with_readiness_pending_is_never_reported() {
    for opts in MODES {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {}", opts_name(opts));
            let mut events = Events::with_capacity(8);
            let mut pairs = ready_pairs(2);
            let (b_std, _b_peer) = pairs.pop().unwrap();
            let (a, _a_peer) = pairs.pop().unwrap();
            poll.register(&a, Token(1), EventSet::readable(), opts)
                .unwrap();
            poll.register(&b_std, Token(2), EventSet::readable(), opts)
                .unwrap();
            let fd: std::os::fd::OwnedFd = a.into();
            let std_b = b_std.into_std();
            let seen = drain(&mut poll, &mut events, 3);
            assert!(
                seen.is_empty(),
                "{what}: tokens of sources converted away reported: {seen:?}"
            );
            let mut buf = [0u8; 4];
            std_b.set_nonblocking(false).unwrap();
            assert_eq!(
                std::io::Read::read(&mut &std_b, &mut buf).unwrap(),
                1,
                "{what}"
            );
            let again = UnixStream::from(fd);
            poll.register(&again, Token(3), EventSet::readable(), opts)
                .unwrap();
            let seen = drain(&mut poll, &mut events, 3);
            assert!(
                seen.iter().any(|(t, _)| *t == Token(3)),
                "{what}: the adopted fd's new token never came: {seen:?}"
            );
            assert!(
                seen.iter().all(|(t, _)| *t == Token(3)),
                "{what}: an old token came back: {seen:?}"
            );
            assert_eq!((&again).try_read(&mut buf).unwrap(), Some(1), "{what}");
        }
    }
}
