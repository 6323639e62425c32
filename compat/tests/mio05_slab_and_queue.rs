// mio 0.5.1: `mio::util::Slab<T>` (slab 0.1 keyed by `Token`) and `mio::util::BoundedQueue`,
// used the way a connection table and a hand-off queue were written against it.
extern crate mio;

use std::sync::Arc;
use std::thread;

use mio::util::{BoundedQueue, Slab};
use mio::Token;

// A connection type that is not Debug: a struct deriving Debug may still hold a Slab of it.
struct Conn {
    token: Token,
    hits: u32,
}

#[derive(Debug)]
struct Server {
    conns: Slab<Conn>,
}

#[test]
fn connection_table() {
    let mut server = Server { conns: Slab::new_starting_at(Token(1), 4) };
    assert!(server.conns.is_empty());
    assert_eq!(server.conns.count(), 0);
    assert_eq!(server.conns.remaining(), 4);
    assert!(server.conns.has_remaining());

    let a = server.conns.insert_with(|token| Conn { token: token, hits: 0 }).unwrap();
    assert_eq!(a, Token(1));
    assert_eq!(server.conns[a].token, a);
    let b = match server.conns.insert(Conn { token: Token(0), hits: 5 }) {
        Ok(token) => token,
        Err(_) => panic!("slab full"),
    };
    server.conns[b].token = b;
    assert_eq!(b, Token(2));
    assert!(server.conns.contains(a) && server.conns.contains(b));
    assert!(!server.conns.contains(Token(0)));
    assert_eq!(server.conns.count(), 2);

    server.conns[a].hits += 1;
    if let Some(conn) = server.conns.get_mut(b) {
        conn.hits += 1;
    }
    assert_eq!(server.conns.get(a).map(|c| c.hits), Some(1));
    assert_eq!(server.conns.get(b).map(|c| c.hits), Some(6));
    assert!(server.conns.get(Token(3)).is_none());

    let total: u32 = server.conns.iter().map(|c| c.hits).sum();
    assert_eq!(total, 7);
    for conn in server.conns.iter_mut() {
        conn.hits = 1;
    }
    for conn in &mut server.conns {
        conn.hits += 1;
    }
    let mut seen = 0;
    for conn in &server.conns {
        assert_eq!(conn.hits, 2);
        seen += 1;
    }
    assert_eq!(seen, 2);

    // replace_with: a state machine kept in the slab.
    assert_eq!(server.conns.replace_with(b, |mut c| { c.hits *= 2; Some(c) }), Ok(()));
    assert_eq!(server.conns[b].hits, 4);
    assert_eq!(server.conns.replace_with(b, |_| None), Ok(()));
    assert!(!server.conns.contains(b));
    assert_eq!(server.conns.replace_with(b, |c| Some(c)), Err(()));

    // The Debug of a struct holding the slab.
    assert!(format!("{:?}", server).starts_with("Server"));

    // Last: slab 0.1 miscounts after `replace`, so nothing follows it.
    // replace hands back the old value.
    let old = server.conns.replace(a, Conn { token: a, hits: 100 });
    assert_eq!(old.map(|c| c.hits), Some(2));
    assert_eq!(server.conns[a].hits, 100);
}

#[test]
fn full_retain_clear_grow() {
    let mut slab: Slab<u32> = Slab::new(2);
    let x = slab.insert(10).unwrap();
    let _y = slab.insert(11).unwrap();
    assert_eq!(x, Token(0));
    assert!(!slab.has_remaining());
    assert_eq!(slab.insert(12), Err(12));
    assert_eq!(slab.remove(x), Some(10));
    assert!(!slab.contains(x));
    let again = slab.insert(10).unwrap();
    assert_eq!(slab[again], 10);
    assert!(slab.insert_with(|_| 13).is_none());

    slab.grow(2);
    assert_eq!(slab.remaining(), 2);
    let z = slab.insert(12).unwrap();
    assert_eq!(slab[z], 12);

    slab.retain(|v| *v % 2 == 0);
    assert_eq!(slab.count(), 2);
    let mut left: Vec<u32> = slab.iter().cloned().collect();
    left.sort();
    assert_eq!(left, vec![10, 12]);

    slab.clear();
    assert_eq!(slab.count(), 0);
    assert_eq!(slab.remaining(), 4);
}

#[test]
fn bounded_queue_between_threads() {
    let queue: Arc<BoundedQueue<u32>> = Arc::new(BoundedQueue::with_capacity(4));
    assert_eq!(queue.pop(), None);
    for i in 0..4 {
        queue.push(i).unwrap();
    }
    // Full: the value comes back.
    assert_eq!(queue.push(99), Err(99));
    assert_eq!(queue.pop(), Some(0));

    let producer = {
        let queue = queue.clone();
        thread::spawn(move || {
            let mut pushed = 0;
            let mut next = 100;
            while pushed < 1000 {
                match queue.push(next) {
                    Ok(()) => {
                        pushed += 1;
                        next += 1;
                    }
                    Err(_) => thread::yield_now(),
                }
            }
        })
    };
    let mut got = Vec::new();
    while got.len() < 1003 {
        match queue.pop() {
            Some(v) => got.push(v),
            None => thread::yield_now(),
        }
    }
    producer.join().unwrap();
    assert_eq!(&got[..3], &[1, 2, 3]);
    // FIFO from the one producer.
    for (i, v) in got[3..].iter().enumerate() {
        assert_eq!(*v, 100 + i as u32);
    }
    assert_eq!(queue.pop(), None);
}
