//! Data structures used by the event loop, exposed because handlers need them too.
//!
//! - [`Slab`]: a fixed-capacity, preallocated map from [`Token`](crate::Token) to values, for
//!   keeping per-connection state keyed by the token the connection is registered under. Its
//!   tokens carry a generation, so the token of a removed entry never reaches the entry that
//!   later reuses its slot; inserting and removing never allocate once the capacity is reserved;
//!   [`Slab::insert_grow`] doubles a full slab instead of handing the value back.
//!   See [`Slab`] for the data structure, the token layout and the exact guarantees.
//! - [`BoundedQueue`]: a fixed-capacity, lock-free multi-producer multi-consumer queue whose
//!   handles are cloned to share it between threads (mio 0.5's `util::BoundedQueue`).

pub use bounded_queue::BoundedQueue;
pub use slab::{Entries, EntriesMut, Iter, IterMut, Slab};

mod bounded_queue;
mod slab;
