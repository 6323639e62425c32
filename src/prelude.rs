//! The names a ferrio user imports every time: `use ferrio::prelude::*;`.
//!
//! # Examples
//!
//! ```
//! use ferrio::prelude::*;
//!
//! struct Quiet;
//! impl Handler for Quiet {
//!     type Timeout = ();
//!     type Message = ();
//! }
//!
//! let mut event_loop: EventLoop<Quiet> = EventLoop::new()?;
//! event_loop.run_once(&mut Quiet, Some(0))?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::{
    EventLoop, EventLoopConfig, EventSet, Evented, Events, Handler, IoEvent, Poll, PollOpt,
    Registry, Sender, Token, TryAccept, TryRead, TryWrite, Waker,
};
