//! The loom shim: the synchronisation primitives that model-checked code uses.
//!
//! Normally these are `std`'s. Built with `RUSTFLAGS="--cfg loom"`, they are loom's
//! instrumented versions, so `tests/loom_*.rs` can explore every interleaving (and every
//! weak-memory outcome loom models) of the code that uses them. Code that must be checked
//! imports from here, never from `std::sync` directly.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU32, AtomicUsize, Ordering},
    Arc,
};

#[cfg(loom)]
pub(crate) use ::loom::sync::{
    atomic::{fence, AtomicBool, AtomicU32, AtomicUsize, Ordering},
    Arc, Mutex, Notify,
};
