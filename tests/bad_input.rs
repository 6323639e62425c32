//! Bad input is a clean error: invalid event loop configurations, zero capacities, reserved
//! tokens, addresses in use.

mod util;

use std::io::ErrorKind;

use ferrio::tcp::TcpListener;
use ferrio::{EventLoop, EventLoopConfig, EventSet, Events, Handler, Poll, PollOpt, Token};

use util::*;

struct Nop;

impl Handler for Nop {
    type Timeout = ();
    type Message = ();
}

#[test]
fn invalid_event_loop_configs_are_invalid_input() {
    let bad = [
        EventLoopConfig::new().notify_capacity(0).clone(),
        EventLoopConfig::new().messages_per_tick(0).clone(),
        EventLoopConfig::new().timer_tick_ms(0).clone(),
        EventLoopConfig::new()
            .timer_tick(std::time::Duration::from_nanos(999))
            .clone(),
        EventLoopConfig::new().events_capacity(0).clone(),
    ];
    for config in bad {
        let res = EventLoop::<Nop>::configured(config.clone());
        match res {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{config:?}");
                assert!(e.to_string().contains("EventLoopConfig"), "{e}");
            }
            Ok(_) => panic!("accepted an invalid config: {config:?}"),
        }
    }
    assert!(EventLoop::<Nop>::configured(EventLoopConfig::new()).is_ok());
}

#[test]
fn zero_capacities_and_reserved_tokens_are_invalid_input() {
    let mut poll = Poll::new().unwrap();
    let mut empty = Events::with_capacity(0);
    assert_error_kind(poll.poll(&mut empty, None), ErrorKind::InvalidInput);
    assert_error_kind(
        ferrio::channel::channel::<()>(poll.registry(), Token(1), 0),
        ErrorKind::InvalidInput,
    );
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    assert_error_kind(
        poll.register(
            &listener,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::edge(),
        ),
        ErrorKind::InvalidInput,
    );
    // The failed register left nothing behind.
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::edge())
        .unwrap();
}

#[test]
fn binding_an_address_in_use_is_addr_in_use() {
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = first.local_addr().unwrap();
    assert_error_kind(TcpListener::bind(&addr), ErrorKind::AddrInUse);
}
