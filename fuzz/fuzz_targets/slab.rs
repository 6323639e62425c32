//! Drives `util::Slab` with arbitrary operation sequences and checks it against a `HashMap`
//! model: same values, stale tokens never resolve, no token is handed out twice, below the start
//! or equal to the waker token, and `remaining` is exactly the room left.
#![no_main]

use std::collections::{HashMap, HashSet};

use arbitrary::Arbitrary;
use ferrio::util::Slab;
use ferrio::Token;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    start: u8,
    capacity: u8,
    ops: Vec<Op>,
}

/// A token choice: one seen before (live or stale), or a raw value.
#[derive(Arbitrary, Debug)]
enum Pick {
    Known(u16),
    Raw(usize),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Insert(u32),
    InsertWith(u32),
    Remove(Pick),
    Get(Pick),
    GetMut(Pick, u32),
    Replace(Pick, u32),
    ReplaceWith(Pick, Option<u32>),
    Retain(u8),
    Clear,
    Grow(u8),
}

struct Model {
    slab: Slab<u32>,
    start: usize,
    live: HashMap<Token, u32>,
    stale: HashSet<Token>,
    known: Vec<Token>,
}

impl Model {
    fn pick(&self, pick: &Pick) -> Token {
        match *pick {
            Pick::Known(n) if !self.known.is_empty() => self.known[n as usize % self.known.len()],
            Pick::Known(n) => Token(n as usize),
            Pick::Raw(raw) => Token(raw),
        }
    }

    fn issued(&mut self, token: Token, value: u32) {
        assert!(token.0 >= self.start, "{token:?} is below the start");
        assert_ne!(token.0, usize::MAX, "the waker token was handed out");
        assert!(
            !self.live.contains_key(&token) && !self.stale.contains(&token),
            "{token:?} handed out twice"
        );
        self.known.push(token);
        self.live.insert(token, value);
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Insert(value) => {
                let room = self.slab.remaining();
                match self.slab.insert(*value) {
                    Ok(token) => {
                        assert!(room > 0);
                        self.issued(token, *value);
                    }
                    Err(back) => {
                        assert_eq!(room, 0);
                        assert_eq!(back, *value);
                    }
                }
            }
            Op::InsertWith(value) => {
                let room = self.slab.remaining();
                let mut given = None;
                let result = self.slab.insert_with(|token| {
                    given = Some(token);
                    *value
                });
                assert_eq!(result, given);
                match result {
                    Some(token) => self.issued(token, *value),
                    None => assert_eq!(room, 0),
                }
            }
            Op::Remove(pick) => {
                let token = self.pick(pick);
                let expected = self.live.remove(&token);
                if expected.is_some() {
                    self.stale.insert(token);
                }
                assert_eq!(self.slab.remove(token), expected);
            }
            Op::Get(pick) => {
                let token = self.pick(pick);
                assert_eq!(self.slab.get(token), self.live.get(&token));
                assert_eq!(self.slab.contains(token), self.live.contains_key(&token));
            }
            Op::GetMut(pick, value) => {
                let token = self.pick(pick);
                match (self.slab.get_mut(token), self.live.get_mut(&token)) {
                    (Some(got), Some(expected)) => {
                        assert_eq!(got, expected);
                        *got = *value;
                        *expected = *value;
                    }
                    (None, None) => {}
                    (got, expected) => panic!("get_mut {token:?}: {got:?} vs {expected:?}"),
                }
            }
            Op::Replace(pick, value) => {
                let token = self.pick(pick);
                let expected = match self.live.get_mut(&token) {
                    Some(old) => Ok(std::mem::replace(old, *value)),
                    None => Err(*value),
                };
                assert_eq!(self.slab.try_replace(token, *value), expected);
            }
            Op::ReplaceWith(pick, value) => {
                let token = self.pick(pick);
                let room = self.slab.remaining();
                let mut seen = None;
                let result = self.slab.replace_with(token, |old| {
                    seen = Some(old);
                    *value
                });
                assert_eq!(seen, self.live.get(&token).copied());
                match (self.live.contains_key(&token), value) {
                    (true, Some(new)) => {
                        assert_eq!(result, Ok(()));
                        assert_eq!(self.slab.remaining(), room);
                        self.live.insert(token, *new);
                    }
                    (true, None) => {
                        assert_eq!(result, Ok(()));
                        self.live.remove(&token);
                        self.stale.insert(token);
                    }
                    (false, _) => assert_eq!(result, Err(())),
                }
            }
            Op::Retain(modulus) => {
                let modulus = u32::from(*modulus).max(1);
                self.slab.retain_entries(|_, value| *value % modulus != 0);
                let removed: Vec<Token> = self
                    .live
                    .iter()
                    .filter(|(_, value)| **value % modulus == 0)
                    .map(|(token, _)| *token)
                    .collect();
                for token in removed {
                    self.live.remove(&token);
                    self.stale.insert(token);
                }
            }
            Op::Clear => {
                self.slab.clear();
                self.stale.extend(self.live.drain().map(|(token, _)| token));
            }
            Op::Grow(additional) => {
                let additional = usize::from(*additional % 16);
                let before = self.slab.remaining();
                self.slab.grow(additional);
                assert_eq!(self.slab.remaining(), before + additional);
            }
        }
    }

    fn check(&self) {
        assert_eq!(self.slab.count(), self.live.len());
        assert!(self.slab.count() + self.slab.remaining() <= self.slab.capacity());
        for (token, value) in &self.live {
            assert_eq!(self.slab.get(*token), Some(value));
        }
        for token in &self.stale {
            assert!(!self.slab.contains(*token), "stale {token:?} resolves");
        }
        let iterated: HashMap<Token, u32> = self
            .slab
            .entries()
            .map(|(token, value)| (token, *value))
            .collect();
        assert_eq!(iterated, self.live);
    }
}

fuzz_target!(|input: Input| {
    let start = usize::from(input.start);
    let mut model = Model {
        slab: Slab::new_starting_at(Token(start), usize::from(input.capacity % 32)),
        start,
        live: HashMap::new(),
        stale: HashSet::new(),
        known: Vec::new(),
    };
    for op in &input.ops {
        model.apply(op);
        model.check();
    }
});
