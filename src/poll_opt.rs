//! [`PollOpt`]: how readiness is reported (edge, level, oneshot).

use std::fmt;

/// Options that say *how* a registered source reports readiness.
///
/// * **edge** ([`PollOpt::edge`]): one event per readiness change. After an event, keep
///   reading (or writing, or accepting) until the call returns `WouldBlock`; otherwise no new
///   event comes for data that was already there.
/// * **level** ([`PollOpt::level`]): an event on every poll while the condition holds.
/// * **oneshot** ([`PollOpt::oneshot`]): after one event the source is disarmed until it is
///   re-armed with `reregister`. Combines with edge or level.
///
/// `level` wins when both `edge` and `level` are given; [`PollOpt::empty`] means level. (mio
/// 0.5's `is_edge` and `is_level` only tested their own bit, so both were true for
/// `edge() | level()`; here exactly one of them is, the one the selector applies.)
///
/// # Examples
///
/// ```
/// use ferrio::PollOpt;
///
/// let opts = PollOpt::edge() | PollOpt::oneshot();
/// assert!(opts.is_edge() && opts.is_oneshot() && !opts.is_level());
/// assert!(PollOpt::empty().is_level());
/// assert!((PollOpt::edge() | PollOpt::level()).is_level());
/// assert_eq!(PollOpt::all().bits(), 0xe0); // mio 0.5's bit values
/// ```
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PollOpt(usize);

// mio 0.5's values (above EventSet's readiness bits, so the two never overlap).
const EDGE: usize = 0x020;
const LEVEL: usize = 0x040;
const ONESHOT: usize = 0x080;
const ALL: usize = EDGE | LEVEL | ONESHOT;

impl PollOpt {
    /// No flag: behaves as level-triggered.
    #[inline]
    pub const fn empty() -> PollOpt {
        PollOpt(0)
    }

    /// Edge-triggered.
    #[inline]
    pub const fn edge() -> PollOpt {
        PollOpt(EDGE)
    }

    /// Level-triggered.
    #[inline]
    pub const fn level() -> PollOpt {
        PollOpt(LEVEL)
    }

    /// Disarm after one event, until `reregister`.
    #[inline]
    pub const fn oneshot() -> PollOpt {
        PollOpt(ONESHOT)
    }

    /// Every flag (which, since level wins, means level + oneshot).
    #[inline]
    pub const fn all() -> PollOpt {
        PollOpt(ALL)
    }

    /// Whether readiness is reported edge-triggered: `edge` given and `level` not given.
    #[inline]
    pub const fn is_edge(self) -> bool {
        self.0 & EDGE != 0 && self.0 & LEVEL == 0
    }

    /// Whether readiness is reported level-triggered: `level` given, or `edge` not given.
    #[inline]
    pub const fn is_level(self) -> bool {
        self.0 & LEVEL != 0 || self.0 & EDGE == 0
    }

    /// Whether oneshot is set.
    #[inline]
    pub const fn is_oneshot(self) -> bool {
        self.0 & ONESHOT != 0
    }

    /// Whether every flag of `other` is set.
    #[inline]
    pub const fn contains(self, other: PollOpt) -> bool {
        self.0 & other.0 == other.0
    }

    /// Adds the flags of `other`.
    #[inline]
    pub fn insert(&mut self, other: PollOpt) {
        self.0 |= other.0;
    }

    /// Removes the flags of `other`.
    #[inline]
    pub fn remove(&mut self, other: PollOpt) {
        self.0 &= !other.0;
    }

    /// The raw bits, mio 0.5's values: edge `0x20`, level `0x40`, oneshot `0x80`.
    #[inline]
    pub const fn bits(self) -> usize {
        self.0
    }
}

impl_flag_ops!(PollOpt, ALL);

impl fmt::Debug for PollOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(EDGE, "Edge"), (LEVEL, "Level"), (ONESHOT, "Oneshot")];
        crate::bitset::fmt_flags(f, "PollOpt", self.0, &names, "Empty")
    }
}
