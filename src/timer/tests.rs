//! Unit tests of edge cases and property tests against a `BTreeMap` model with a virtual clock.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use proptest::prelude::*;

use super::{Timeout, Timer, TimerError, LEVELS};

/// Polls at `now` until `None`, returning the values in firing order.
fn drain<T>(timer: &mut Timer<T>, now: u64) -> Vec<T> {
    let mut fired = Vec::new();
    while let Some((_, value)) = timer.poll(now) {
        fired.push(value);
    }
    fired
}

#[test]
fn deadline_in_the_past_fires_on_next_poll() {
    let mut timer = Timer::starting_at(1_000, 4);
    let _ = timer.insert(10, "past").unwrap();
    assert_eq!(timer.next_deadline(), Some(1_000));
    // Polling at the current time (or earlier) is enough.
    assert_eq!(drain(&mut timer, 0), ["past"]);
    assert_eq!(timer.now(), 1_000);
    assert!(timer.is_empty());
}

#[test]
fn deadline_equal_to_now_fires_without_advancing() {
    let mut timer = Timer::starting_at(64, 4);
    let _ = timer.insert(64, 1).unwrap();
    assert_eq!(timer.poll(64).map(|(_, v)| v), Some(1));
    assert_eq!(timer.poll(64), None);
}

#[test]
fn never_fires_early_around_level_boundaries() {
    // Deadlines on both sides of each level boundary, from starts on both sides of one too.
    for &start in &[0u64, 1, 63, 64, 4095, 4096, (1 << 36) - 1, u64::MAX - 5000] {
        let mut deadlines = Vec::new();
        for shift in (6..64).step_by(6) {
            let edge = 1u64 << shift;
            for delta in [-1i64, 0, 1] {
                let d = start.saturating_add(edge.wrapping_add(delta as u64));
                deadlines.push(d);
            }
        }
        let mut timer = Timer::starting_at(start, deadlines.len());
        for &d in &deadlines {
            let _ = timer.insert(d, d).unwrap();
        }
        // Tick by tick over the first few thousand ticks: each fires exactly at its deadline.
        for now in start..start.saturating_add(4200) {
            for fired in drain(&mut timer, now) {
                assert_eq!(fired, now, "start {start}");
            }
        }
        // Then from deadline to deadline.
        deadlines.sort_unstable();
        for &d in &deadlines {
            if d <= timer.now() {
                continue;
            }
            assert_eq!(drain(&mut timer, d - 1), Vec::<u64>::new(), "start {start}");
            let fired = drain(&mut timer, d);
            assert!(!fired.is_empty() && fired.iter().all(|&f| f == d));
        }
        assert!(timer.is_empty());
    }
}

#[test]
fn max_deadline_and_max_time() {
    let mut timer = Timer::with_capacity(4);
    let far = timer.insert(u64::MAX, "max").unwrap();
    let _ = timer.insert(u64::MAX - 1, "max-1").unwrap();
    assert_eq!(timer.next_deadline(), Some(u64::MAX - 1));
    assert_eq!(drain(&mut timer, u64::MAX - 2), Vec::<&str>::new());
    assert_eq!(drain(&mut timer, u64::MAX - 1), ["max-1"]);
    assert_eq!(timer.next_deadline(), Some(u64::MAX));
    assert!(timer.contains(far));
    assert_eq!(drain(&mut timer, u64::MAX), ["max"]);
    assert_eq!(timer.now(), u64::MAX);

    // At the end of time everything is due at once.
    let mut timer = Timer::starting_at(u64::MAX, 2);
    let _ = timer.insert(u64::MAX, 1).unwrap();
    let _ = timer.insert(3, 2).unwrap();
    assert_eq!(timer.next_deadline(), Some(u64::MAX));
    assert_eq!(drain(&mut timer, u64::MAX), [1, 2]);
}

#[test]
fn capacity_zero_rejects_everything() {
    let mut timer: Timer<String> = Timer::with_capacity(0);
    assert_eq!(timer.capacity(), 0);
    assert_eq!(timer.insert(1, "a".into()), Err(TimerError));
    assert_eq!(
        timer.try_insert(0, "b".into()),
        Err((TimerError, "b".to_string()))
    );
    assert_eq!(timer.next_deadline(), None);
    assert_eq!(timer.poll(u64::MAX), None);
    timer.clear();
    assert!(timer.is_empty());
}

#[test]
fn capacity_one_full_then_free_again() {
    let mut timer = Timer::with_capacity(1);
    let a = timer.insert(5, 'a').unwrap();
    assert_eq!(timer.insert(6, 'b'), Err(TimerError));
    assert_eq!(timer.try_insert(6, 'b'), Err((TimerError, 'b')));
    assert_eq!(timer.len(), 1);

    // Freed by cancel.
    assert_eq!(timer.cancel(a), Some('a'));
    let b = timer.insert(6, 'b').unwrap();
    // Freed by firing.
    assert_eq!(timer.poll(6), Some((b, 'b')));
    let c = timer.insert(7, 'c').unwrap();
    // Freed by clear.
    timer.clear();
    let d = timer.insert(8, 'd').unwrap();
    for stale in [a, b, c] {
        assert_eq!(timer.cancel(stale), None);
        assert!(!timer.contains(stale));
    }
    assert_eq!(timer.len(), 1);
    assert_eq!(timer.cancel(d), Some('d'));
}

#[test]
fn huge_capacity_is_clamped_and_allocates_nothing_up_front() {
    assert_eq!(Timer::<()>::MAX_CAPACITY, u32::MAX as usize);
    // A bound, not an allocation: these would need hundreds of GiB up front.
    for capacity in [usize::MAX, 1 << 40, u32::MAX as usize] {
        let mut timer = Timer::with_capacity(capacity);
        assert_eq!(timer.capacity(), Timer::<u64>::MAX_CAPACITY);
        assert_eq!(timer.chunks_allocated(), 0);
        let t = timer.insert(10, 1u64).unwrap();
        assert_eq!(timer.chunks_allocated(), 1);
        assert_eq!(timer.poll(10), Some((t, 1)));
    }
    assert_eq!(Timer::<u8>::new().capacity(), Timer::<u8>::MAX_CAPACITY);
}

#[test]
fn try_reserve_is_clamped_to_the_capacity() {
    let mut timer: Timer<u64> = Timer::with_capacity(100);
    timer.try_reserve(usize::MAX).unwrap();
    let mut unbounded: Timer<u64> = Timer::new();
    // Far more than memory: an error, not an abort.
    assert!(unbounded.try_reserve(usize::MAX).is_err());
    let _ = unbounded.insert(1, 1).unwrap();
}

#[test]
fn stale_handles_never_touch_the_new_timeout() {
    let mut timer = Timer::with_capacity(2);
    let fired = timer.insert(1, 1).unwrap();
    assert_eq!(timer.poll(1), Some((fired, 1)));
    let cancelled = timer.insert(10, 2).unwrap();
    assert_eq!(timer.cancel(cancelled), Some(2));

    // Both entries are reused by new timeouts, with new generations.
    let x = timer.insert(20, 3).unwrap();
    let y = timer.insert(30, 4).unwrap();
    assert_eq!(timer.cancel(fired), None);
    assert_eq!(timer.cancel(cancelled), None);
    assert_eq!(timer.len(), 2);
    assert_ne!(x, fired);
    assert_ne!(x, cancelled);
    assert_ne!(y, fired);
    assert_ne!(y, cancelled);
    assert_eq!(drain(&mut timer, 100), [3, 4]);
}

#[test]
fn generation_changes_on_every_reuse() {
    let mut timer = Timer::with_capacity(1);
    let mut seen = Vec::new();
    for round in 0..100u64 {
        let t = timer.insert(round, round).unwrap();
        assert_eq!(t.index, 0);
        assert!(!seen.contains(&t));
        seen.push(t);
        if round % 2 == 0 {
            assert_eq!(timer.cancel(t), Some(round));
        } else {
            assert_eq!(timer.poll(round), Some((t, round)));
        }
        for &old in &seen {
            assert_eq!(timer.cancel(old), None);
        }
    }
}

#[test]
fn foreign_handle_with_a_matching_index_and_generation_is_ignored() {
    let mut a = Timer::with_capacity(4);
    let mut b = Timer::with_capacity(4);
    let from_a = a.insert(100, 'a').unwrap();
    let in_b = b.insert(100, 'b').unwrap();
    // Same entry index and generation: only the timer's identity tells them apart.
    assert_eq!(
        (from_a.index, from_a.generation),
        (in_b.index, in_b.generation)
    );
    assert_ne!(from_a, in_b);
    assert!(!b.contains(from_a));
    assert_eq!(b.cancel(from_a), None);
    assert!(!b.reset(from_a, 5));
    assert_eq!(b.len(), 1);
    assert_eq!(b.poll(100), Some((in_b, 'b')));
    assert_eq!(a.poll(100), Some((from_a, 'a')));
}

#[test]
fn reset_later_fires_at_the_new_deadline_only() {
    let mut timer = Timer::with_capacity(4);
    let t = timer.insert(100, 'x').unwrap();
    let other = timer.insert(150, 'o').unwrap();
    // Many resets later, as an idle timeout pushed back on every event.
    for deadline in (200..10_000).step_by(97) {
        assert!(timer.reset(t, deadline));
    }
    let last = 200 + 97 * ((10_000 - 200 - 1) / 97);
    assert!(timer.next_deadline().unwrap() <= 100);
    assert_eq!(drain(&mut timer, 149), Vec::<char>::new());
    assert_eq!(timer.poll(150), Some((other, 'o')));
    assert_eq!(drain(&mut timer, last - 1), Vec::<char>::new());
    assert_eq!(timer.poll(last), Some((t, 'x')));
    assert!(!timer.reset(t, 1));
}

#[test]
fn reset_later_beyond_32_bits_of_lag_files_anew_and_fires_once() {
    // The entry keeps how far its deadline is past its record's as 32 bits: exactly
    // `u32::MAX` stays lazy, one more tick files the timeout anew.
    for extra in [u64::from(u32::MAX), u64::from(u32::MAX) + 1, 1 << 40] {
        let mut timer = Timer::with_capacity(4);
        let t = timer.insert(100, 'x').unwrap();
        let other = timer.insert(200, 'o').unwrap();
        let deadline = 100 + extra;
        assert!(timer.reset(t, deadline));
        assert_eq!(drain(&mut timer, 199), Vec::<char>::new());
        assert_eq!(timer.poll(200), Some((other, 'o')));
        assert_eq!(drain(&mut timer, deadline - 1), Vec::<char>::new());
        assert!(timer.contains(t));
        assert_eq!(drain(&mut timer, deadline), ['x']);
        assert_eq!(drain(&mut timer, u64::MAX), Vec::<char>::new());
        assert!(timer.is_empty());
    }
}

#[test]
fn reset_earlier_fires_at_the_new_deadline_and_once() {
    let mut timer = Timer::with_capacity(4);
    let t = timer.insert(1_000_000, 'x').unwrap();
    assert!(timer.reset(t, 70));
    assert_eq!(timer.next_deadline(), Some(70));
    assert_eq!(drain(&mut timer, 69), Vec::<char>::new());
    assert_eq!(drain(&mut timer, 70), ['x']);
    assert_eq!(drain(&mut timer, u64::MAX), Vec::<char>::new());
    // Earlier within the same slot.
    let mut timer = Timer::with_capacity(4);
    let u = timer.insert(u64::MAX - 10, 'u').unwrap();
    assert!(timer.reset(u, u64::MAX - 20));
    assert_eq!(drain(&mut timer, u64::MAX - 21), Vec::<char>::new());
    assert_eq!(drain(&mut timer, u64::MAX - 20), ['u']);
}

#[test]
fn reset_to_the_past_counts_as_now_and_keeps_the_expired_order() {
    let mut timer = Timer::starting_at(1_000, 4);
    let a = timer.insert(900, 'a').unwrap(); // due
    let _ = timer.insert(950, 'b').unwrap(); // due
    let c = timer.insert(5_000, 'c').unwrap();
    assert!(timer.reset(c, 10)); // now due: after a and b
    assert!(timer.reset(a, 2_000)); // no longer due
    assert_eq!(drain(&mut timer, 1_000), ['b', 'c']);
    assert_eq!(drain(&mut timer, 1_999), Vec::<char>::new());
    assert_eq!(drain(&mut timer, 2_000), ['a']);
}

#[test]
fn cancelled_timeouts_do_not_pile_up() {
    // Long timeouts set and cancelled at once, the way a server sets a request deadline: the
    // stale records are compacted, so storage stays bounded by the pending timeouts.
    let mut timer = Timer::with_capacity(64);
    let keep: Vec<Timeout> = (0..32).map(|i| timer.insert(1 << 30, i).unwrap()).collect();
    for round in 0..200_000u64 {
        let t = timer.insert((1 << 30) + round % 1000, 99).unwrap();
        assert_eq!(timer.cancel(t), Some(99));
        if round % 1000 == 0 {
            assert!(timer.poll(round).is_none());
        }
    }
    assert!(
        timer.chunks_allocated() <= super::wheel::chunks_needed(33),
        "{} chunks for at most 33 pending timeouts",
        timer.chunks_allocated()
    );
    assert_eq!(timer.len(), 32);
    for t in keep {
        assert!(timer.contains(t));
    }
}

#[test]
fn the_peak_count_reserves_for_any_spread_of_deadlines() {
    // A burst of 1,000 timeouts all due at one tick reaches the peak count compactly; the same
    // count later spread over every slot of every level (a burst interrupted by pauses) needs
    // many more chunks, and must find them reserved: no growth in a steady state that only ran
    // slower. (A cold CI run under Wine counted 3 allocations in 100,000 timeout cycles when
    // chunks still grew on demand.)
    let mut timer = Timer::with_capacity(1 << 20);
    let burst: Vec<Timeout> = (0..1_000u64).map(|i| timer.insert(5, i).unwrap()).collect();
    let mut fired = 0;
    while timer.poll(5).is_some() {
        fired += 1;
    }
    assert_eq!(fired, burst.len());
    let capacity = timer.chunks_capacity();
    for round in 0..20u64 {
        let now = timer.now();
        let spread: Vec<Timeout> = (0..1_000u64)
            .map(|i| {
                // Deadlines over all 11 levels, a different slot for neighbours.
                let level = (i % 11) as u32;
                let offset = ((i * 5 + round) % 63 + 1) << (6 * level);
                timer.insert(now.saturating_add(offset), i).unwrap()
            })
            .collect();
        // Cancel most (stale records) and move some later, as request deadlines do.
        for (i, t) in spread.iter().enumerate() {
            if i % 8 != 0 {
                assert!(timer.cancel(*t).is_some());
            } else {
                assert!(timer.reset(*t, now.saturating_add(1 << 40)));
            }
        }
        timer.clear();
        assert_eq!(
            timer.chunks_capacity(),
            capacity,
            "round {round}: chunk storage grew"
        );
    }
}

#[test]
fn foreign_handle_out_of_range_is_ignored() {
    let mut big = Timer::with_capacity(10);
    let mut handle = None;
    for i in 0..10 {
        handle = Some(big.insert(100, i).unwrap());
    }
    let mut small = Timer::with_capacity(1);
    let _ = small.insert(100, 0).unwrap();
    assert_eq!(small.cancel(handle.unwrap()), None);
    assert_eq!(small.len(), 1);
}

#[test]
fn ties_fire_in_insertion_order_across_cascades() {
    let mut timer = Timer::with_capacity(8);
    let _ = timer.insert(5_000, 'a').unwrap(); // level 2 from tick 0
    assert!(timer.poll(4_000).is_none()); // 'a' moves down to a lower level
    let _ = timer.insert(5_000, 'b').unwrap();
    let _ = timer.insert(4_999, 'z').unwrap();
    assert!(timer.poll(4_990).is_none());
    let _ = timer.insert(5_000, 'c').unwrap();
    assert_eq!(drain(&mut timer, 1 << 40), ['z', 'a', 'b', 'c']);
}

#[test]
fn overdue_at_insert_counts_as_now() {
    let mut timer = Timer::starting_at(100, 8);
    let _ = timer.insert(100, 1).unwrap();
    let _ = timer.insert(50, 2).unwrap(); // counts as 100: after 1 in insertion order
    let _ = timer.insert(150, 4).unwrap();
    let _ = timer.insert(0, 3).unwrap();
    assert_eq!(timer.next_deadline(), Some(100));
    assert_eq!(drain(&mut timer, 200), [1, 2, 3, 4]);
}

#[test]
fn big_jump_fires_everything_in_deadline_order() {
    let mut timer = Timer::with_capacity(5_000);
    let mut expected = Vec::new();
    // A fixed pseudo-random spread of deadlines over 0..2^40.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..5_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let deadline = x >> (24 + i % 20);
        let _ = timer.insert(deadline, (deadline, i)).unwrap();
        expected.push((deadline, i));
    }
    expected.sort_unstable();
    // All deadlines are below 2^40 (about 1.1 * 10^12).
    let fired = drain(&mut timer, 1 << 40);
    assert_eq!(fired.len(), expected.len());
    assert!(fired == expected, "not in deadline order");
}

#[test]
fn next_deadline_is_a_lower_bound_after_cancel_and_converges() {
    let mut timer = Timer::with_capacity(4);
    let early = timer.insert(10_000, 'e').unwrap(); // level 2
    let _ = timer.insert(10_100, 'l').unwrap(); // same level-2 slot
    assert_eq!(timer.next_deadline(), Some(10_000));
    timer.cancel(early).unwrap();
    let bound = timer.next_deadline().unwrap();
    assert!(timer.now() < bound && bound <= 10_100);

    let mut steps = 0;
    let fired = loop {
        let next = timer.next_deadline().unwrap();
        assert!(next > timer.now());
        steps += 1;
        if let Some((_, value)) = timer.poll(next) {
            assert_eq!(timer.now(), 10_100);
            break value;
        }
    };
    assert_eq!(fired, 'l');
    assert!(steps <= 2, "took {steps} polls");
}

#[test]
fn poll_never_goes_backwards() {
    let mut timer = Timer::with_capacity(2);
    assert!(timer.poll(500).is_none());
    let _ = timer.insert(400, ()).unwrap();
    assert!(timer.poll(10).is_some());
    assert_eq!(timer.now(), 500);
}

#[test]
fn clear_keeps_time_and_frees_every_entry() {
    let mut timer = Timer::with_capacity(3);
    let handles: Vec<Timeout> = (0..3).map(|i| timer.insert(i * 1000, i).unwrap()).collect();
    assert!(timer.poll(1).is_some());
    timer.clear();
    assert_eq!(timer.now(), 1);
    assert_eq!(timer.next_deadline(), None);
    for h in handles {
        assert_eq!(timer.cancel(h), None);
    }
    for i in 0..3 {
        let _ = timer.insert(10 - i, i).unwrap();
    }
    assert_eq!(drain(&mut timer, 10), [2, 1, 0]);
}

#[test]
fn clear_drops_values_once() {
    use std::rc::Rc;
    let counter = Rc::new(());
    let mut timer = Timer::with_capacity(4);
    for d in [0, 70, 5_000] {
        let _ = timer.insert(d, Rc::clone(&counter)).unwrap();
    }
    assert_eq!(Rc::strong_count(&counter), 4);
    timer.clear();
    assert_eq!(Rc::strong_count(&counter), 1);
    let _ = timer.insert(1, Rc::clone(&counter)).unwrap();
    drop(timer);
    assert_eq!(Rc::strong_count(&counter), 1);
}

#[test]
fn every_value_is_dropped_exactly_once_whatever_becomes_of_it() {
    use std::cell::Cell;
    use std::rc::Rc;
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    let mut timer = Timer::with_capacity(1_000);
    let mut handles = Vec::new();
    for i in 0..1_000u64 {
        handles.push(
            timer
                .insert(i * 37 % 5_000, Counted(Rc::clone(&drops)))
                .unwrap(),
        );
    }
    // Cancelled (the value is handed back and dropped here), moved, fired, left pending.
    for &t in handles.iter().step_by(3) {
        drop(timer.cancel(t).unwrap());
    }
    for &t in handles.iter().skip(1).step_by(3) {
        assert!(timer.reset(t, 6_000));
    }
    let mut fired = 0;
    while let Some((_, value)) = timer.poll(2_500) {
        drop(value);
        fired += 1;
    }
    assert_eq!(drops.get(), 334 + fired);
    // Entries reused after firing and cancelling, then the timer dropped with values pending.
    for i in 0..100u64 {
        let _ = timer.insert(i, Counted(Rc::clone(&drops))).unwrap();
    }
    drop(timer);
    assert_eq!(drops.get(), 1_100);
    assert_eq!(Rc::strong_count(&drops), 1);
}

#[test]
fn debug_does_not_need_debug_values() {
    struct Opaque;
    let mut timer = Timer::with_capacity(2);
    let _ = timer.insert(9, Opaque).unwrap();
    let text = format!("{timer:?}");
    assert!(text.contains("now: 0"), "{text}");
    assert!(text.contains("len: 1"), "{text}");
    assert!(text.contains("next_deadline: Some(9)"), "{text}");
}

#[test]
fn type_promises() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<Timer<u64>>();
    send_sync::<Timeout>();
    send_sync::<TimerError>();
    fn error<E: std::error::Error + Send + Sync + 'static>() {}
    error::<TimerError>();
    assert_eq!(std::mem::size_of::<Timeout>(), 16);

    let mut timer = Timer::with_capacity(2);
    let a = timer.insert(1, ()).unwrap();
    let b = a; // Copy
    let hash = |t: &Timeout| {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    };
    assert_eq!(a, b);
    assert_eq!(hash(&a), hash(&b));
    assert!(format!("{a:?}").starts_with("Timeout"));
    assert!(!TimerError.to_string().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Property tests against a model.

#[derive(Clone, Debug)]
enum Deadline {
    /// Before the current time.
    Past(u64),
    /// Within the first two levels.
    Near(u64),
    /// Within a few levels.
    Mid(u64),
    /// Anywhere ahead, saturating at `u64::MAX`.
    Far(u64),
    Max,
}

#[derive(Clone, Debug)]
enum Step {
    Small(u64),
    Mid(u64),
    Huge(u64),
    ToMax,
    /// A `now` smaller than the current time.
    Backwards(u64),
    /// Poll repeatedly at `next_deadline()` until something fires.
    ToNextDeadline,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Deadline),
    TryInsert(Deadline),
    /// Cancel the n-th handle ever issued (modulo their count): live, fired or cancelled.
    Cancel(usize),
    /// Move the n-th handle ever issued to a new deadline.
    Reset(usize, Deadline),
    /// Cancel, and reset, with the n-th handle of another timer that mirrors the inserts (so
    /// its handles often have the same index and generation).
    Foreign(usize),
    Advance(Step),
    Clear,
}

fn deadline() -> impl Strategy<Value = Deadline> {
    prop_oneof![
        (0..300u64).prop_map(Deadline::Past),
        (0..5_000u64).prop_map(Deadline::Near),
        (0..1u64 << 24).prop_map(Deadline::Mid),
        any::<u64>().prop_map(Deadline::Far),
        Just(Deadline::Max),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..70u64).prop_map(Step::Small),
        2 => (0..1u64 << 20).prop_map(Step::Mid),
        1 => (0..1u64 << 45).prop_map(Step::Huge),
        1 => Just(Step::ToMax),
        1 => any::<u64>().prop_map(Step::Backwards),
        2 => Just(Step::ToNextDeadline),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => deadline().prop_map(Op::Insert),
        1 => deadline().prop_map(Op::TryInsert),
        3 => any::<usize>().prop_map(Op::Cancel),
        3 => (any::<usize>(), deadline()).prop_map(|(n, d)| Op::Reset(n, d)),
        1 => any::<usize>().prop_map(Op::Foreign),
        5 => step().prop_map(Op::Advance),
        1 => Just(Op::Clear),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0..1u64 << 20,
        ((1u64 << 36) - 100)..((1u64 << 36) + 100),
        any::<u64>(),
        (u64::MAX - 10_000)..=u64::MAX,
    ]
}

/// A pending timeout of the model.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Effective deadline: the deadline raised to the time it was set.
    deadline: u64,
    /// Order of setting; ties of never-reset timeouts fire in this order.
    seq: u64,
    value: u64,
    /// Moved since it was set: its order among timeouts due at once is not specified.
    reset: bool,
}

/// The model: the pending timeouts by handle.
struct Model {
    now: u64,
    pending: HashMap<Timeout, Pending>,
    /// Every handle ever issued, with its value.
    issued: Vec<(Timeout, u64)>,
    seq: u64,
    /// Cancels and resets so far: each may leave one slot's lower bound stale.
    disturbances: usize,
}

impl Model {
    fn resolve(&self, d: &Deadline) -> u64 {
        match *d {
            Deadline::Past(k) => self.now.saturating_sub(k),
            Deadline::Near(k) | Deadline::Mid(k) | Deadline::Far(k) => self.now.saturating_add(k),
            Deadline::Max => u64::MAX,
        }
    }

    fn earliest(&self) -> Option<u64> {
        self.pending.values().map(|p| p.deadline).min()
    }
}

/// Polls at `target` until `None`, checking everything against the model.
fn advance_and_check(timer: &mut Timer<u64>, model: &mut Model, target: u64) -> usize {
    let now = target.max(model.now);
    let mut fired = 0;
    let mut last = 0;
    while let Some((handle, value)) = timer.poll(now) {
        let p = model
            .pending
            .remove(&handle)
            .expect("fired a timeout the model does not have (twice, or cancelled)");
        assert_eq!(value, p.value, "value");
        assert!(
            p.deadline <= now,
            "fired early: deadline {} now {now} seq {}",
            p.deadline,
            p.seq
        );
        // Deadline order (ties in insertion order) for timeouts never reset; a timeout moved
        // later may come after others due in the same poll.
        if !p.reset {
            assert!(p.deadline >= last, "out of deadline order");
            last = p.deadline;
            for other in model.pending.values().filter(|o| !o.reset) {
                assert!(
                    other.deadline >= p.deadline,
                    "an earlier timeout is still pending"
                );
                if other.deadline == p.deadline {
                    assert!(other.seq > p.seq, "tie fired out of insertion order");
                }
            }
        }
        fired += 1;
    }
    model.now = now;
    assert_eq!(timer.now(), now);
    // Nothing due is left behind: fired at the first poll with now >= deadline.
    if let Some(earliest) = model.earliest() {
        assert!(earliest > now, "due timeout {earliest} not fired at {now}");
    }
    fired
}

fn check_invariants(timer: &Timer<u64>, model: &Model) {
    assert_eq!(timer.len(), model.pending.len());
    assert_eq!(timer.is_empty(), model.pending.is_empty());
    assert_eq!(timer.now(), model.now);
    for &handle in model.pending.keys() {
        assert!(timer.contains(handle));
    }
    match model.earliest() {
        None => assert_eq!(timer.next_deadline(), None),
        Some(earliest) => {
            let next = timer
                .next_deadline()
                .expect("next_deadline None with pending timeouts");
            assert!(
                next <= earliest,
                "next_deadline {next} > earliest {earliest}"
            );
            if earliest > model.now {
                assert!(
                    next > model.now,
                    "next_deadline {next} not after now {}",
                    model.now
                );
            } else {
                assert!(next <= model.now, "a timeout is due but next is {next}");
            }
        }
    }
    // Storage stays within the bound for the pending timeouts (at their peak).
    assert!(timer.chunks_allocated() <= super::wheel::chunks_needed(timer.capacity()));
}

fn run_ops(start: u64, capacity: usize, ops: Vec<Op>) {
    let mut timer = Timer::starting_at(start, capacity);
    let mut twin: Timer<u64> = Timer::starting_at(start, capacity);
    let mut twin_handles = Vec::new();
    let mut model = Model {
        now: start,
        pending: HashMap::new(),
        issued: Vec::new(),
        seq: 0,
        disturbances: 0,
    };
    for op in ops {
        match op {
            Op::Insert(ref d) | Op::TryInsert(ref d) => {
                let deadline = model.resolve(d);
                let value = model.seq;
                let result = match op {
                    Op::Insert(_) => timer.insert(deadline, value).map_err(|e| (e, value)),
                    _ => timer.try_insert(deadline, value),
                };
                if let Ok(h) = twin.insert(deadline, value) {
                    twin_handles.push(h);
                }
                match result {
                    Ok(handle) => {
                        assert!(model.pending.len() < capacity);
                        assert!(!model.issued.iter().any(|(h, _)| *h == handle));
                        let pending = Pending {
                            deadline: deadline.max(model.now),
                            seq: model.seq,
                            value,
                            reset: false,
                        };
                        model.pending.insert(handle, pending);
                        model.issued.push((handle, value));
                    }
                    Err((error, returned)) => {
                        assert_eq!(error, TimerError);
                        assert_eq!(returned, value);
                        assert_eq!(model.pending.len(), capacity);
                    }
                }
                model.seq += 1;
            }
            Op::Cancel(n) => {
                if model.issued.is_empty() {
                    continue;
                }
                let (handle, value) = model.issued[n % model.issued.len()];
                let result = timer.cancel(handle);
                match model.pending.remove(&handle) {
                    Some(_) => {
                        assert_eq!(result, Some(value));
                        model.disturbances += 1;
                    }
                    None => assert_eq!(result, None, "stale handle cancelled something"),
                }
                assert!(!timer.contains(handle));
            }
            Op::Reset(n, ref d) => {
                if model.issued.is_empty() {
                    continue;
                }
                let (handle, _) = model.issued[n % model.issued.len()];
                let deadline = model.resolve(d);
                let result = timer.reset(handle, deadline);
                let seq = model.seq;
                let now = model.now;
                match model.pending.get_mut(&handle) {
                    Some(p) => {
                        assert!(result, "reset of a pending timeout failed");
                        p.deadline = deadline.max(now);
                        p.seq = seq;
                        p.reset = true;
                        model.disturbances += 1;
                    }
                    None => assert!(!result, "stale handle reset something"),
                }
                model.seq += 1;
            }
            Op::Foreign(n) => {
                if twin_handles.is_empty() {
                    continue;
                }
                let foreign = twin_handles[n % twin_handles.len()];
                assert!(!timer.contains(foreign));
                assert_eq!(timer.cancel(foreign), None, "a foreign handle cancelled");
                assert!(!timer.reset(foreign, 0), "a foreign handle reset");
            }
            Op::Advance(step) => {
                // The twin only has to keep issuing handles like the timer's.
                let _ = twin.poll(u64::MAX);
                match step {
                    Step::Small(k) => {
                        // Tick by tick: exercises "fires exactly at the first poll >= deadline".
                        for _ in 0..k {
                            let target = model.now.saturating_add(1);
                            advance_and_check(&mut timer, &mut model, target);
                        }
                    }
                    Step::Mid(k) | Step::Huge(k) => {
                        let target = model.now.saturating_add(k);
                        advance_and_check(&mut timer, &mut model, target);
                    }
                    Step::ToMax => {
                        advance_and_check(&mut timer, &mut model, u64::MAX);
                    }
                    Step::Backwards(k) => {
                        let target = model.now.saturating_sub(k);
                        advance_and_check(&mut timer, &mut model, target);
                    }
                    Step::ToNextDeadline => {
                        // Each cancel or reset can leave one slot with a stale lower bound: at
                        // most one early wake per such disturbance, plus the real one.
                        let mut polls = 0;
                        while let Some(next) = timer.next_deadline() {
                            polls += 1;
                            assert!(
                                polls <= model.disturbances + 1,
                                "no convergence after {polls} polls"
                            );
                            let before = timer.now();
                            let fired = advance_and_check(&mut timer, &mut model, next);
                            if fired > 0 {
                                break;
                            }
                            assert!(timer.now() > before, "busy loop at {before}");
                        }
                    }
                }
            }
            Op::Clear => {
                timer.clear();
                model.pending.clear();
            }
        }
        check_invariants(&timer, &model);
    }
    // Finally everything left fires, in order, at the end of time.
    advance_and_check(&mut timer, &mut model, u64::MAX);
    assert!(model.pending.is_empty());
    check_invariants(&timer, &model);
    for (handle, _) in model.issued {
        assert_eq!(timer.cancel(handle), None);
        assert!(!timer.reset(handle, 0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_the_model(
        start in start(),
        capacity in prop_oneof![0..4usize, 4..40usize, Just(1000usize)],
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        run_ops(start, capacity, ops);
    }

    #[test]
    fn every_tick_polling_fires_exactly_at_the_deadline(
        start in start(),
        offsets in proptest::collection::vec(0..3_000u64, 0..60),
    ) {
        let mut timer = Timer::starting_at(start, offsets.len());
        for &offset in &offsets {
            let deadline = start.saturating_add(offset);
            let _ = timer.insert(deadline, deadline).unwrap();
        }
        let mut count = 0;
        let mut now = start;
        loop {
            while let Some((_, deadline)) = timer.poll(now) {
                prop_assert_eq!(deadline, now);
                count += 1;
            }
            if timer.is_empty() || now == u64::MAX {
                break;
            }
            now += 1;
        }
        prop_assert_eq!(count, offsets.len());
    }

    #[test]
    fn one_jump_fires_all_overdue_in_deadline_order(
        start in start(),
        deadlines in proptest::collection::vec(any::<u64>(), 0..300),
        jump in any::<u64>(),
    ) {
        let mut timer = Timer::starting_at(start, deadlines.len());
        let mut expected = Vec::new();
        for (i, &d) in deadlines.iter().enumerate() {
            let _ = timer.insert(d, (d, i)).unwrap();
            expected.push((d.max(start), i));
        }
        let now = start.saturating_add(jump);
        expected.retain(|&(d, _)| d <= now);
        expected.sort_unstable();
        let fired: Vec<(u64, usize)> =
            drain(&mut timer, now).into_iter().map(|(_, i)| (deadlines[i].max(start), i)).collect();
        prop_assert_eq!(fired, expected);
        prop_assert!(timer.len() <= deadlines.len());
        prop_assert!(LEVELS * 6 >= 64);
    }
}

#[test]
fn stale_records_reaching_the_expired_list_with_nothing_pending_are_drained() {
    // Found by `behaves_like_the_model`: a record made stale by a reset travels down
    // unchecked and reaches the expired list when nothing is pending any more; `poll` must
    // still drain it, or a later timeout's `next_deadline` would point at it.
    use Deadline::{Near, Past};
    let ops = vec![
        Op::Advance(Step::Small(43)),
        Op::Insert(Past(0)),
        Op::Cancel(0),
        Op::Insert(Past(0)),
        Op::Insert(Past(0)),
        Op::Reset(5173589019235113428, Near(2475)),
        Op::Insert(Past(0)),
        Op::Insert(Past(0)),
        Op::Advance(Step::Small(2)),
        Op::Reset(1909573060561006747, Near(2472)),
        Op::Insert(Past(0)),
        Op::Reset(1599490057586608029, Past(0)),
        Op::Advance(Step::Mid(2473)),
        Op::Insert(Near(1)),
    ];
    run_ops(697_899, 4, ops);
}
