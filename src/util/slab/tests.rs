use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use proptest::prelude::*;

use super::{Slab, INDEX_BITS, INDEX_MASK, MAX_GENERATION};
use crate::token::Token;

#[test]
fn layout_constants_split_usize_in_halves() {
    assert_eq!(INDEX_BITS * 2, usize::BITS);
    assert_eq!(INDEX_MASK.count_ones(), INDEX_BITS);
    assert_eq!(MAX_GENERATION.count_ones(), usize::BITS - INDEX_BITS);
    #[cfg(target_pointer_width = "64")]
    {
        assert_eq!(INDEX_MASK, u32::MAX as usize);
        assert_eq!(MAX_GENERATION, u32::MAX as usize);
    }
}

#[test]
fn first_tokens_count_up_from_start() {
    let mut slab = Slab::new_starting_at(Token(5), 3);
    assert_eq!(slab.insert('a'), Ok(Token(5)));
    assert_eq!(slab.insert('b'), Ok(Token(6)));
    assert_eq!(slab.insert_with(|_| 'c'), Some(Token(7)));
    assert_eq!(slab.count(), 3);
    assert_eq!(slab.remaining(), 0);
    assert_eq!(slab[Token(6)], 'b');
}

#[test]
fn new_starts_at_zero() {
    let mut slab = Slab::new(2);
    assert_eq!(slab.insert(1), Ok(Token(0)));
    assert_eq!(slab.insert(2), Ok(Token(1)));
}

#[test]
fn insert_into_full_slab_returns_value_intact() {
    let mut slab = Slab::new(2);
    let a = slab.insert(vec![1, 2, 3]).unwrap();
    let b = slab.insert(vec![4]).unwrap();
    let rejected = slab.insert(vec![5, 6]);
    assert_eq!(rejected, Err(vec![5, 6]));
    assert_eq!(
        slab.insert_with(|_| unreachable!("not called when full")),
        None
    );
    assert_eq!(slab.count(), 2);
    assert_eq!(slab[a], [1, 2, 3]);
    assert_eq!(slab[b], [4]);
}

#[test]
fn zero_capacity_slab_is_always_full() {
    let mut slab = Slab::new(0);
    assert!(slab.is_empty());
    assert_eq!(slab.remaining(), 0);
    assert_eq!(slab.insert(1), Err(1));
    assert_eq!(slab.get(Token(0)), None);
}

#[test]
fn removed_token_never_resolves_after_slot_reuse() {
    let mut slab = Slab::new(1);
    let first = slab.insert("first").unwrap();
    assert_eq!(slab.remove(first), Some("first"));
    let second = slab.insert("second").unwrap();
    assert_ne!(first, second);
    // Same slot, next generation.
    assert_eq!(second.0 & INDEX_MASK, first.0 & INDEX_MASK);
    assert_eq!(second.0 >> INDEX_BITS, 1);
    assert_eq!(slab.get(first), None);
    assert!(!slab.contains(first));
    assert_eq!(slab.remove(first), None);
    assert_eq!(slab.try_replace(first, "third"), Err("third"));
    assert_eq!(slab[second], "second");
}

#[test]
fn tokens_below_start_and_out_of_range_do_not_resolve() {
    let mut slab = Slab::new_starting_at(Token(3), 4);
    for n in 0..4 {
        slab.insert(n).unwrap();
    }
    for raw in [0, 1, 2, 7, 8, INDEX_MASK, usize::MAX, 1 << INDEX_BITS] {
        assert_eq!(slab.get(Token(raw)), None, "token {raw}");
        assert_eq!(slab.get_mut(Token(raw)), None, "token {raw}");
    }
    // A valid index field with a generation that the slot has not reached.
    assert_eq!(slab.get(Token((1 << INDEX_BITS) | 3)), None);
}

#[test]
fn generated_tokens_are_never_below_start_nor_usize_max() {
    let start = 2;
    let mut slab = Slab::with_max_generation(Token(start), 3, 4);
    let mut issued = 0;
    while let Ok(token) = slab.insert(()) {
        assert!(token.0 >= start);
        assert_ne!(token.0, usize::MAX);
        slab.remove(token);
        issued += 1;
    }
    // Three slots, each used at generations 0 to 4, then retired.
    assert_eq!(issued, 15);
}

#[test]
fn largest_slab_never_produces_usize_max_even_at_max_generation() {
    // Start the slab so that its single slot has the highest index field allowed.
    let mut slab = Slab::new_starting_at(Token(INDEX_MASK - 1), 1);
    assert_eq!(slab.insert(()), Ok(Token(INDEX_MASK - 1)));
    // Jump the slot to the last generation without 2^32 removals.
    slab.slots[0].generation = MAX_GENERATION;
    let token = Token((MAX_GENERATION << INDEX_BITS) | (INDEX_MASK - 1));
    assert!(slab.contains(token));
    assert_eq!(token.0, usize::MAX - 1);
    assert!(slab.entries().all(|(token, _)| token.0 != usize::MAX));
    // At the last generation the slot retires instead of wrapping.
    assert_eq!(slab.remove(token), Some(()));
    assert_eq!(slab.insert(()), Err(()));
}

#[test]
#[should_panic(expected = "exceeds the token index limit")]
fn new_starting_at_panics_when_capacity_overflows_the_index_field() {
    let _ = Slab::<u8>::new_starting_at(Token(INDEX_MASK - 1), 2);
}

#[test]
#[should_panic(expected = "exceeds the token index limit")]
fn new_starting_at_panics_on_waker_token() {
    let _ = Slab::<u8>::new_starting_at(Token(usize::MAX), 0);
}

#[test]
#[should_panic(expected = "exceeds the token index limit")]
fn grow_panics_past_the_index_field() {
    let mut slab = Slab::<u8>::new_starting_at(Token(INDEX_MASK - 2), 1);
    slab.grow(1);
    slab.grow(1);
}

#[test]
#[should_panic(expected = "capacity overflows usize")]
fn grow_panics_on_usize_overflow() {
    let mut slab = Slab::<u8>::new(1);
    slab.grow(usize::MAX);
}

#[test]
#[should_panic(expected = "invalid slab token")]
fn index_panics_on_stale_token() {
    let mut slab = Slab::new(2);
    let token = slab.insert(1).unwrap();
    slab.remove(token);
    slab.insert(2).unwrap();
    let _ = slab[token];
}

#[test]
#[should_panic(expected = "invalid slab token")]
fn index_panics_on_token_never_issued() {
    let slab = Slab::<u8>::new(2);
    let _ = slab[Token(0)];
}

#[test]
#[should_panic(expected = "invalid slab token")]
fn index_panics_on_token_below_start() {
    let mut slab = Slab::new_starting_at(Token(1), 2);
    slab.insert(1).unwrap();
    let _ = slab[Token(0)];
}

#[test]
#[should_panic(expected = "invalid slab token")]
fn index_mut_panics_on_stale_token() {
    let mut slab = Slab::new(2);
    let token = slab.insert(1).unwrap();
    slab.remove(token);
    slab[token] = 3;
}

#[test]
#[should_panic(expected = "invalid slab token")]
fn index_mut_panics_on_out_of_range_token() {
    let mut slab = Slab::new(2);
    slab.insert(1).unwrap();
    slab[Token(2)] = 3;
}

#[test]
fn slots_retire_at_max_generation() {
    let mut slab = Slab::with_max_generation(Token(0), 2, 2);
    let mut seen = HashSet::new();
    // Slot 0 takes generations 0, 1, 2, then retires; the same for slot 1.
    let mut tokens = Vec::new();
    while let Ok(token) = slab.insert(()) {
        assert!(seen.insert(token), "token {token:?} handed out twice");
        tokens.push(token);
        slab.remove(token);
    }
    assert_eq!(tokens.len(), 6);
    assert_eq!(slab.remaining(), 0);
    assert_eq!(slab.capacity(), 2);
    assert!(slab.is_empty());
    for token in tokens {
        assert!(!slab.contains(token));
    }
    // Growing adds fresh slots.
    slab.grow(1);
    assert_eq!(slab.remaining(), 1);
    assert_eq!(slab.insert(()), Ok(Token(2)));
}

#[test]
fn clear_and_retain_also_retire_exhausted_slots() {
    let mut slab = Slab::with_max_generation(Token(0), 2, 0);
    slab.insert(1).unwrap();
    slab.insert(2).unwrap();
    slab.retain_entries(|_, value| *value == 2);
    assert_eq!(slab.remaining(), 0);
    slab.clear();
    assert_eq!(slab.remaining(), 0);
    assert!(slab.is_empty());
    assert_eq!(slab.insert(3), Err(3));
}

#[test]
fn replace_keeps_the_token_valid() {
    let mut slab = Slab::new(2);
    let token = slab.insert(String::from("old")).unwrap();
    assert_eq!(
        slab.try_replace(token, String::from("new")),
        Ok(String::from("old"))
    );
    assert_eq!(slab[token], "new");
    assert_eq!(slab.count(), 1);
    assert_eq!(
        slab.try_replace(Token(1), String::from("x")),
        Err(String::from("x"))
    );
    assert_eq!(slab.count(), 1);
}

#[test]
fn get_mut_and_index_mut_modify_in_place() {
    let mut slab = Slab::new(2);
    let token = slab.insert(1).unwrap();
    *slab.get_mut(token).unwrap() += 1;
    slab[token] += 1;
    assert_eq!(slab.get(token), Some(&3));
}

#[test]
fn insert_with_passes_the_final_token() {
    let mut slab = Slab::new_starting_at(Token(1), 2);
    let first = slab.insert_with(|token| token).unwrap();
    assert_eq!(slab[first], first);
    slab.remove(first);
    let second = slab.insert_with(|token| token).unwrap();
    assert_ne!(first, second);
    assert_eq!(slab[second], second);
}

#[test]
fn insert_with_panic_leaves_slab_unchanged() {
    let mut slab = Slab::new(1);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        slab.insert_with(|_| -> u8 { panic!("boom") })
    }));
    assert!(result.is_err());
    assert!(slab.is_empty());
    assert_eq!(slab.remaining(), 1);
    assert_eq!(slab.insert(7), Ok(Token(0)));
}

#[test]
fn freed_slots_are_reused_most_recent_first() {
    let mut slab = Slab::new(3);
    let a = slab.insert('a').unwrap();
    let b = slab.insert('b').unwrap();
    slab.remove(a);
    slab.remove(b);
    let c = slab.insert('c').unwrap();
    assert_eq!(c.0 & INDEX_MASK, b.0 & INDEX_MASK);
}

#[test]
fn clear_empties_keeps_capacity_and_stales_tokens() {
    let mut slab = Slab::new(3);
    let tokens: Vec<_> = (0..3).map(|n| slab.insert(n).unwrap()).collect();
    let vec_capacity = slab.slots.capacity();
    slab.clear();
    assert!(slab.is_empty());
    assert_eq!(slab.remaining(), 3);
    assert_eq!(slab.slots.capacity(), vec_capacity);
    for token in &tokens {
        assert!(!slab.contains(*token));
    }
    // The lowest slot is reused first after a clear.
    let next = slab.insert(9).unwrap();
    assert_eq!(next.0 & INDEX_MASK, 0);
    assert!(!tokens.contains(&next));
}

#[test]
fn retain_passes_tokens_and_removes_rejected() {
    let mut slab = Slab::new_starting_at(Token(10), 6);
    let tokens: Vec<_> = (0..6).map(|n| slab.insert(n).unwrap()).collect();
    let mut visited = Vec::new();
    slab.retain_entries(|token, value| {
        visited.push(token);
        *value *= 10;
        *value % 20 == 0
    });
    assert_eq!(visited, tokens);
    assert_eq!(slab.count(), 3);
    for (n, token) in tokens.iter().enumerate() {
        if n % 2 == 0 {
            assert_eq!(slab.get(*token), Some(&(n * 10)));
        } else {
            assert!(!slab.contains(*token));
        }
    }
}

#[test]
fn iter_yields_tokens_in_slot_order_with_exact_size() {
    let mut slab = Slab::new(5);
    let tokens: Vec<_> = (0..5).map(|n| slab.insert(n).unwrap()).collect();
    slab.remove(tokens[1]);
    slab.remove(tokens[3]);
    let iter = slab.entries();
    assert_eq!(iter.len(), 3);
    let entries: Vec<_> = iter.map(|(token, value)| (token, *value)).collect();
    assert_eq!(entries, [(tokens[0], 0), (tokens[2], 2), (tokens[4], 4)]);
    let mut iter = slab.entries();
    iter.next();
    assert_eq!(iter.size_hint(), (2, Some(2)));
    // mio 0.5's iter: the values alone, same order and size.
    let values: Vec<_> = slab.iter().copied().collect();
    assert_eq!(values, [0, 2, 4]);
    let mut iter = slab.iter();
    iter.next();
    assert_eq!(iter.size_hint(), (2, Some(2)));

    for (token, value) in slab.entries_mut() {
        *value += token.0;
    }
    let sums: Vec<_> = (&slab).into_iter().copied().collect();
    assert_eq!(sums, [0, 4, 8]);
    let mut iter_mut = slab.entries_mut();
    assert_eq!(iter_mut.len(), 3);
    iter_mut.by_ref().count();
    assert_eq!(iter_mut.next(), None);
}

#[test]
fn grow_adds_room_without_invalidating_tokens() {
    let mut slab = Slab::new_starting_at(Token(1), 1);
    let a = slab.insert("a").unwrap();
    slab.grow(2);
    assert_eq!(slab.capacity(), 3);
    assert_eq!(slab.remaining(), 2);
    let b = slab.insert("b").unwrap();
    let c = slab.insert("c").unwrap();
    assert_eq!((b, c), (Token(2), Token(3)));
    assert_eq!(slab[a], "a");
    assert!(slab.slots.capacity() >= 3);
}

#[test]
fn insert_grow_doubles_a_full_slab_and_keeps_tokens() {
    let mut slab = Slab::new_starting_at(Token(1), 0);
    let first = slab.insert_grow(0u32).unwrap();
    assert_eq!(first, Token(1));
    assert_eq!(slab.capacity(), Slab::<u32>::MIN_GROWTH);
    let mut tokens = vec![first];
    for n in 1..100u32 {
        let before = slab.capacity();
        let token = slab.insert_grow(n).unwrap();
        if n as usize == before {
            // Full on entry: grown by the old capacity (doubled).
            assert_eq!(slab.capacity(), 2 * before);
        } else {
            assert_eq!(slab.capacity(), before);
        }
        tokens.push(token);
    }
    // Generation-0 tokens count up from the start across every growth.
    for (n, token) in tokens.iter().enumerate() {
        assert_eq!(*token, Token(1 + n));
        assert_eq!(slab[*token], n as u32);
    }
    assert_eq!(slab.capacity(), 128);
}

#[test]
fn insert_grow_reuses_freed_slots_before_growing() {
    let mut slab = Slab::new(2);
    let a = slab.insert_grow("a").unwrap();
    let _b = slab.insert_grow("b").unwrap();
    slab.remove(a);
    let c = slab.insert_grow("c").unwrap();
    assert_eq!(slab.capacity(), 2, "a freed slot was available: no growth");
    assert_ne!(c, a);
    assert_eq!(
        c.0 & INDEX_MASK,
        a.0 & INDEX_MASK,
        "the freed slot is reused"
    );
    assert_eq!(slab.get(a), None, "the stale token stays stale");
    assert_eq!(slab[c], "c");
}

#[test]
fn insert_grow_keeps_stale_tokens_stale_across_growth() {
    let mut slab = Slab::new(1);
    let a = slab.insert_grow(1).unwrap();
    slab.remove(a);
    let b = slab.insert_grow(2).unwrap(); // reuses the slot, generation 1
    let c = slab.insert_grow(3).unwrap(); // full: grows
    assert!(slab.capacity() > 1);
    assert_eq!(slab.get(a), None);
    assert_eq!((slab[b], slab[c]), (2, 3));
    assert_eq!(c, Token(1));
}

#[test]
fn insert_grow_stops_at_the_token_limit_without_panicking() {
    // Room for three slots below the index limit.
    let start = INDEX_MASK - 3;
    let mut slab = Slab::new_starting_at(Token(start), 1);
    let tokens: Vec<Token> = (0..3).map(|n| slab.insert_grow(n).unwrap()).collect();
    assert_eq!(slab.capacity(), 3);
    assert_eq!(tokens, [Token(start), Token(start + 1), Token(start + 2)]);
    assert_eq!(slab.insert_grow(99), Err(99));
    assert_eq!(slab.capacity(), 3);
    // A freed slot is still usable at the limit.
    slab.remove(tokens[1]);
    assert!(slab.insert_grow(4).is_ok());
}

#[test]
fn insert_grow_grows_past_retired_slots() {
    let mut slab = Slab::with_max_generation(Token(0), 1, 0);
    let a = slab.insert_grow(1).unwrap();
    slab.remove(a); // generation 0 is the maximum: the slot retires
    assert_eq!(slab.remaining(), 0);
    let b = slab.insert_grow(2).unwrap();
    assert_ne!(a, b);
    assert_eq!(slab.get(a), None);
    assert_eq!(slab[b], 2);
}

#[test]
fn debug_shows_the_shape_not_the_values() {
    let mut slab = Slab::new_starting_at(Token(1), 2);
    slab.insert("a").unwrap();
    assert_eq!(
        format!("{slab:?}"),
        "Slab { start: Token(1), count: 1, capacity: 2, remaining: 1, .. }"
    );
    assert_eq!(format!("{:?}", slab.iter()), "Iter { remaining: 1, .. }");
    assert_eq!(
        format!("{:?}", slab.iter_mut()),
        "IterMut { remaining: 1, .. }"
    );
    assert_eq!(
        format!("{:?}", slab.entries()),
        "Entries { remaining: 1, .. }"
    );
    assert_eq!(
        format!("{:?}", slab.entries_mut()),
        "EntriesMut { remaining: 1, .. }"
    );
}

#[test]
fn slab_is_send_and_sync_when_values_are() {
    fn assert_send_sync<S: Send + Sync>() {}
    assert_send_sync::<Slab<String>>();
    assert_send_sync::<super::Iter<'_, String>>();
    assert_send_sync::<super::Entries<'_, String>>();
    assert_send_sync::<super::IterMut<'_, String>>();
}

/// A value that records how often each id was dropped.
#[derive(Debug)]
struct Tracked {
    id: usize,
    drops: Rc<RefCell<Vec<usize>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.borrow_mut()[self.id] += 1;
    }
}

#[test]
fn every_value_is_dropped_exactly_once() {
    const VALUES: usize = 11;
    let drops = Rc::new(RefCell::new(vec![0; VALUES]));
    let tracked = |id| Tracked {
        id,
        drops: Rc::clone(&drops),
    };
    let dropped = |id: usize| drops.borrow()[id];

    {
        let mut slab = Slab::new(6);
        let t0 = slab.insert(tracked(0)).unwrap();
        let t1 = slab.insert(tracked(1)).unwrap();
        let t2 = slab.insert(tracked(2)).unwrap();
        let _t3 = slab.insert(tracked(3)).unwrap();
        let t4 = slab.insert(tracked(4)).unwrap();
        let _t5 = slab.insert(tracked(5)).unwrap();

        // A rejected insert hands the value back; the caller drops it.
        let rejected = slab.insert(tracked(6)).unwrap_err();
        assert_eq!(dropped(6), 0);
        drop(rejected);
        assert_eq!(dropped(6), 1);

        // remove hands the value back.
        let removed = slab.remove(t0).unwrap();
        assert_eq!(dropped(0), 0);
        drop(removed);
        assert_eq!(dropped(0), 1);
        assert!(slab.remove(t0).is_none());

        // replace hands the old value back; a failed replace hands the new one back.
        let old = slab.try_replace(t1, tracked(7)).ok().unwrap();
        assert_eq!((dropped(1), dropped(7)), (0, 0));
        drop(old);
        assert_eq!(dropped(1), 1);
        let refused = slab.try_replace(t0, tracked(8)).unwrap_err();
        assert_eq!(dropped(8), 0);
        drop(refused);
        assert_eq!(dropped(8), 1);

        // retain drops what it removes, and only that.
        slab.retain_entries(|token, _| token != t2);
        assert_eq!(dropped(2), 1);
        assert_eq!(slab.count(), 4);

        // clear drops everything left: 7, 3, 4, 5.
        slab.clear();
        for id in [3, 4, 5, 7] {
            assert_eq!(dropped(id), 1, "value {id}");
        }
        assert!(!slab.contains(t4));

        // Dropping the slab drops its values.
        slab.insert(tracked(9)).unwrap();
        slab.insert_with(|_| tracked(10)).unwrap();
        assert_eq!((dropped(9), dropped(10)), (0, 0));
    }
    assert_eq!(*drops.borrow(), [1; VALUES]);
}

#[test]
fn panicking_destructor_during_clear_leaves_slab_consistent() {
    #[derive(Debug)]
    struct PanicOnDrop(bool);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if self.0 {
                self.0 = false;
                panic!("destructor panic");
            }
        }
    }

    let mut slab = Slab::new(3);
    let low = slab.insert(PanicOnDrop(false)).unwrap();
    let mid = slab.insert(PanicOnDrop(true)).unwrap();
    let high = slab.insert(PanicOnDrop(false)).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| slab.clear()));
    assert!(result.is_err());
    // Clear runs from the top: `high` and `mid` are gone, `low` is still there.
    assert!(!slab.contains(high));
    assert!(!slab.contains(mid));
    assert!(slab.contains(low));
    assert_eq!(slab.count(), 1);
    assert_eq!(slab.remaining(), 2);
    slab.clear();
    assert!(slab.is_empty());
    assert_eq!(slab.remaining(), 3);
}

// ---------------------------------------------------------------------------------------------
// Model-based property tests: the slab against a HashMap.

/// One step of a random scenario. `pick` chooses among every token seen so far (live or stale)
/// plus a few raw tokens that were never issued.
#[derive(Clone, Debug)]
enum Op {
    Insert(u32),
    InsertWith(u32),
    InsertGrow(u32),
    Remove(usize),
    Get(usize),
    GetMut(usize, u32),
    Replace(usize, u32),
    /// mio 0.5's `replace_with`: `Some(value)` puts a new value back, `None` removes.
    ReplaceWith(usize, Option<u32>),
    Retain(u32),
    Clear,
    Grow(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::Insert),
        2 => any::<u32>().prop_map(Op::InsertWith),
        2 => any::<u32>().prop_map(Op::InsertGrow),
        4 => any::<usize>().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::Get),
        1 => (any::<usize>(), any::<u32>()).prop_map(|(pick, value)| Op::GetMut(pick, value)),
        2 => (any::<usize>(), any::<u32>()).prop_map(|(pick, value)| Op::Replace(pick, value)),
        2 => (any::<usize>(), any::<Option<u32>>())
            .prop_map(|(pick, value)| Op::ReplaceWith(pick, value)),
        1 => (1u32..5).prop_map(Op::Retain),
        1 => Just(Op::Clear),
        1 => (0usize..4).prop_map(Op::Grow),
    ]
}

struct Model {
    slab: Slab<u32>,
    start: usize,
    live: HashMap<Token, u32>,
    stale: HashSet<Token>,
    /// Every token ever handed out plus the raw probes, in a fixed order for picking.
    known: Vec<Token>,
    issued: HashSet<Token>,
}

impl Model {
    fn new(start: usize, capacity: usize, max_generation: usize) -> Model {
        // Raw probes: below start, the waker token, just past the reserved room, odd generations.
        let probes = [
            0,
            start.saturating_sub(1),
            start + capacity,
            usize::MAX,
            INDEX_MASK,
            (1 << INDEX_BITS) | start,
            (7 << INDEX_BITS) | (start + 1),
        ];
        Model {
            slab: Slab::with_max_generation(Token(start), capacity, max_generation),
            start,
            live: HashMap::new(),
            stale: HashSet::new(),
            known: probes.iter().map(|&raw| Token(raw)).collect(),
            issued: HashSet::new(),
        }
    }

    fn pick(&self, pick: usize) -> Token {
        self.known[pick % self.known.len()]
    }

    fn issued(&mut self, token: Token, value: u32) -> Result<(), TestCaseError> {
        prop_assert!(self.issued.insert(token), "{:?} issued twice", token);
        prop_assert!(token.0 >= self.start);
        prop_assert_ne!(token.0, usize::MAX);
        self.known.push(token);
        self.live.insert(token, value);
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Insert(value) => {
                let room = self.slab.remaining();
                match self.slab.insert(value) {
                    Ok(token) => {
                        prop_assert!(room > 0);
                        self.issued(token, value)?;
                    }
                    Err(back) => {
                        prop_assert_eq!(room, 0);
                        prop_assert_eq!(back, value);
                    }
                }
            }
            Op::InsertWith(value) => {
                let room = self.slab.remaining();
                let mut given = None;
                let result = self.slab.insert_with(|token| {
                    given = Some(token);
                    value
                });
                prop_assert_eq!(result, given);
                match result {
                    Some(token) => self.issued(token, value)?,
                    None => prop_assert_eq!(room, 0),
                }
            }
            Op::InsertGrow(value) => {
                let (room, capacity) = (self.slab.remaining(), self.slab.capacity());
                let token = self.slab.insert_grow(value);
                let token = match token {
                    Ok(token) => token,
                    Err(back) => {
                        prop_assert_eq!(back, value);
                        prop_assert!(false, "insert_grow failed far below the token limit");
                        unreachable!()
                    }
                };
                if room > 0 {
                    prop_assert_eq!(self.slab.capacity(), capacity, "grew with room left");
                } else {
                    let grown = capacity.max(Slab::<u32>::MIN_GROWTH);
                    prop_assert_eq!(self.slab.capacity(), capacity + grown);
                }
                self.issued(token, value)?;
            }
            Op::Remove(pick) => {
                let token = self.pick(pick);
                let expected = self.live.remove(&token);
                if expected.is_some() {
                    self.stale.insert(token);
                }
                prop_assert_eq!(self.slab.remove(token), expected);
            }
            Op::Get(pick) => {
                let token = self.pick(pick);
                prop_assert_eq!(self.slab.get(token), self.live.get(&token));
            }
            Op::GetMut(pick, value) => {
                let token = self.pick(pick);
                match (self.slab.get_mut(token), self.live.get_mut(&token)) {
                    (Some(got), Some(expected)) => {
                        prop_assert_eq!(*got, *expected);
                        *got = value;
                        *expected = value;
                    }
                    (None, None) => {}
                    (got, expected) => {
                        prop_assert!(false, "get_mut {:?}: {:?} vs {:?}", token, got, expected)
                    }
                }
            }
            Op::Replace(pick, value) => {
                let token = self.pick(pick);
                let expected = match self.live.get_mut(&token) {
                    Some(old) => Ok(std::mem::replace(old, value)),
                    None => Err(value),
                };
                prop_assert_eq!(self.slab.try_replace(token, value), expected);
            }
            Op::ReplaceWith(pick, value) => {
                let token = self.pick(pick);
                let (room, count) = (self.slab.remaining(), self.slab.count());
                let mut seen = None;
                let result = self.slab.replace_with(token, |old| {
                    seen = Some(old);
                    value
                });
                prop_assert_eq!(seen, self.live.get(&token).copied());
                match (self.live.get_mut(&token), value) {
                    // Put back: same token, same room, same count.
                    (Some(slot), Some(new)) => {
                        prop_assert_eq!(result, Ok(()));
                        *slot = new;
                        prop_assert_eq!(self.slab.remaining(), room);
                        prop_assert_eq!(self.slab.count(), count);
                    }
                    (Some(_), None) => {
                        prop_assert_eq!(result, Ok(()));
                        self.live.remove(&token);
                        self.stale.insert(token);
                    }
                    (None, _) => prop_assert_eq!(result, Err(())),
                }
            }
            Op::Retain(modulus) => {
                let mut visited = HashSet::new();
                self.slab.retain_entries(|token, value| {
                    visited.insert(token);
                    *value % modulus != 0
                });
                prop_assert_eq!(&visited, &self.live.keys().copied().collect::<HashSet<_>>());
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
                let before = (self.slab.capacity(), self.slab.remaining());
                self.slab.grow(additional);
                prop_assert_eq!(self.slab.capacity(), before.0 + additional);
                prop_assert_eq!(self.slab.remaining(), before.1 + additional);
            }
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let slab = &self.slab;
        prop_assert_eq!(slab.count(), self.live.len());
        prop_assert_eq!(slab.is_empty(), self.live.is_empty());
        prop_assert!(slab.count() + slab.remaining() <= slab.capacity());
        for (token, value) in &self.live {
            prop_assert_eq!(slab.get(*token), Some(value));
            prop_assert_eq!(&slab[*token], value);
        }
        for token in &self.stale {
            prop_assert!(!slab.contains(*token), "stale {:?} resolves", token);
        }
        let iterated: HashMap<Token, u32> = slab
            .entries()
            .map(|(token, value)| (token, *value))
            .collect();
        prop_assert_eq!(&iterated, &self.live);
        prop_assert_eq!(slab.iter().len(), self.live.len());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random operation sequences agree with a HashMap; stale tokens never resolve; no token is
    /// handed out twice, below the start or equal to the waker token. A small max generation makes
    /// slots retire within a run.
    #[test]
    fn slab_matches_hashmap_model(
        start in prop_oneof![Just(0usize), 1usize..4, Just(1000)],
        capacity in 0usize..8,
        max_generation in prop_oneof![Just(0usize), 1usize..4, Just(MAX_GENERATION)],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut model = Model::new(start, capacity, max_generation);
        model.check()?;
        for op in &ops {
            model.apply(op)?;
        }
        // Dropping the slab after all that must not panic or double-drop (checked elsewhere).
        drop(model);
    }

    /// Whatever the history, the free room is exactly what can be inserted.
    #[test]
    fn remaining_is_exactly_what_fits(
        capacity in 0usize..8,
        max_generation in 0usize..3,
        removals in proptest::collection::vec(any::<bool>(), 0..64),
    ) {
        let mut slab = Slab::with_max_generation(Token(0), capacity, max_generation);
        for remove in removals {
            if let Ok(token) = slab.insert(()) {
                if remove {
                    slab.remove(token);
                }
            }
        }
        let room = slab.remaining();
        let mut inserted = 0;
        while slab.insert(()).is_ok() {
            inserted += 1;
        }
        prop_assert_eq!(inserted, room);
        prop_assert_eq!(slab.remaining(), 0);
    }
}

#[test]
fn mio05_forms_replace_retain_has_remaining() {
    let mut slab = Slab::new(3);
    let a = slab.insert(1).unwrap();
    let b = slab.insert(2).unwrap();
    assert!(slab.has_remaining());
    assert_eq!(slab.replace(a, 10), Some(1));
    slab.remove(b);
    // A stale token: None, and the slot's new value is untouched.
    let c = slab.insert(3).unwrap();
    assert_eq!(slab.replace(b, 20), None);
    assert_eq!(slab[c], 3);
    slab.insert(4).unwrap();
    assert!(!slab.has_remaining());
    slab.retain(|v| *v != 3);
    assert!(!slab.contains(c));
    let mut left: Vec<_> = slab.iter().copied().collect();
    left.sort();
    assert_eq!(left, [4, 10]);
    // Debug needs no T: Debug.
    struct Opaque;
    let mut opaque = Slab::new(1);
    assert!(opaque.insert(Opaque).is_ok());
    assert!(format!("{opaque:?}").contains("count: 1"));
}

#[test]
fn replace_with_keeps_the_token_or_removes() {
    let mut slab = Slab::new_starting_at(Token(5), 2);
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_eq!(slab.replace_with(a, |s| Some(s + "!")), Ok(()));
    assert_eq!(slab[a], "a!");
    assert_eq!(slab.count(), 2);
    assert!(!slab.has_remaining());
    assert_eq!(slab.replace_with(b, |_| None), Ok(()));
    assert!(!slab.contains(b));
    assert_eq!(slab.count(), 1);
    assert_eq!(slab.replace_with(b, Some), Err(()));
    // The freed slot is reused with a fresh token; the old one stays dead.
    let c = slab.insert(String::from("c")).unwrap();
    assert_ne!(c, b);
    assert_eq!(slab.replace_with(b, Some), Err(()));
    assert_eq!(slab[c], "c");
    // Still a consistent free list after a put-back: fill, empty, refill.
    slab.remove(a);
    slab.remove(c);
    assert_eq!(slab.remaining(), 2);
    let d = slab.insert(String::from("d")).unwrap();
    let e = slab.insert(String::from("e")).unwrap();
    assert_eq!((slab[d].as_str(), slab[e].as_str()), ("d", "e"));
}

#[test]
fn replace_with_at_the_last_generation_and_on_panic() {
    // A slot at its last generation retires when vacated; putting a value back un-retires it.
    let mut slab = Slab::with_max_generation(Token(0), 1, 0);
    let a = slab.insert(1).unwrap();
    assert_eq!(slab.replace_with(a, |v| Some(v + 1)), Ok(()));
    assert_eq!(slab[a], 2);
    assert_eq!(slab.remaining(), 0);
    assert_eq!(slab.replace_with(a, |_| None), Ok(()));
    assert_eq!(slab.remaining(), 0, "the slot retired");
    assert!(slab.insert(3).is_err());

    // A panicking update leaves the entry removed and the slab consistent.
    let mut slab = Slab::new(2);
    let a = slab.insert(1).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = slab.replace_with(a, |_| panic!("update failed"));
    }));
    assert!(result.is_err());
    assert!(!slab.contains(a));
    assert_eq!(slab.count(), 0);
    assert_eq!(slab.remaining(), 2);
    let b = slab.insert(2).unwrap();
    assert_eq!(slab[b], 2);
}
