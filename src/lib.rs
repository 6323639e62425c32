//! ferrio: fast, low-level, non-blocking IO.
#![deny(missing_docs, unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

pub mod buf;
