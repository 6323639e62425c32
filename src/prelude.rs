//! The names a ferrio user imports every time: `use ferrio::prelude::*;`.
//!
//! It holds what a server on the [`EventLoop`] needs: the loop and its [`Handler`], the
//! readiness types, the TCP sources, the [`Slab`] that maps tokens to connections, the
//! [`Timeout`] handle of idle timers, and the non-blocking IO traits, including
//! [`TryReadStream`] (reads that say whether the socket's queue was drained). The examples
//! `http_server` and `resp_server` import nothing else from ferrio.
//!
//! # Examples
//!
//! ```
//! use ferrio::prelude::*;
//!
//! const LISTENER: Token = Token(0);
//!
//! struct Server {
//!     listener: TcpListener,
//!     connections: Slab<TcpStream>,
//! }
//!
//! impl Handler for Server {
//!     type Timeout = Token;
//!     type Message = ();
//!
//!     fn ready(&mut self, event_loop: &mut EventLoop<Server>, token: Token, _: EventSet) {
//!         if token == LISTENER {
//!             while let Ok(Some((stream, _))) = self.listener.accept() {
//!                 let token = self.connections.insert_grow(stream).unwrap();
//!                 let stream = &self.connections[token];
//!                 event_loop
//!                     .register(stream, token, EventSet::readable(), PollOpt::edge())
//!                     .unwrap();
//!             }
//!         }
//!     }
//!
//!     fn timeout(&mut self, event_loop: &mut EventLoop<Server>, _: Token) {
//!         event_loop.shutdown();
//!     }
//! }
//!
//! let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
//! let mut event_loop = EventLoop::new()?;
//! event_loop.register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())?;
//! let _ = event_loop.timeout_ms(LISTENER, 1)?;
//! let mut server = Server { listener, connections: Slab::new_starting_at(Token(1), 0) };
//! event_loop.run(&mut server)?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::net::stream_read::{StreamRead, TryReadStream};
pub use crate::net::tcp::{TcpBuilder, TcpListener, TcpStream};
pub use crate::timer::Timeout;
pub use crate::util::Slab;
pub use crate::{
    EventLoop, EventLoopConfig, EventSet, Evented, Events, Handler, IoEvent, Poll, PollOpt,
    Registry, Sender, Token, TryAccept, TryRead, TryWrite, Waker,
};
