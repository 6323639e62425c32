// mio 0.5.1: what may cross threads. An `EventLoop` is built on one thread and run on
// another (its channel handed out first); the sockets, `Sender`, `Timeout`, `Token` and the
// readiness values are `Send`; `Sender` is also `Sync`.
extern crate mio;

use std::sync::mpsc;
use std::thread;

use mio::tcp::{TcpListener, TcpStream};
use mio::udp::UdpSocket;
use mio::unix::{PipeReader, PipeWriter, UnixListener, UnixStream};
use mio::{EventLoop, EventSet, Handler, PollOpt, Sender, Timeout, Token};

struct Echo {
    seen: Vec<String>,
}

impl Handler for Echo {
    type Timeout = String;
    type Message = String;

    fn notify(&mut self, event_loop: &mut EventLoop<Echo>, msg: String) {
        if msg == "stop" {
            event_loop.shutdown();
        } else {
            self.seen.push(msg);
        }
    }
}

fn send<T: Send>(_: &T) {}
fn sync<T: Sync>(_: &T) {}

#[test]
fn the_loop_runs_on_another_thread() {
    let mut event_loop: EventLoop<Echo> = EventLoop::new().unwrap();
    let sender: Sender<String> = event_loop.channel();
    let (reader, _writer) = mio::unix::pipe().unwrap();
    event_loop.register(&reader, Token(1), EventSet::readable(), PollOpt::edge()).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        let mut handler = Echo { seen: Vec::new() };
        event_loop.run(&mut handler).unwrap();
        done_tx.send(handler.seen).unwrap();
        // The loop (and the pipe registered with it) can come back too.
        (event_loop, reader)
    });
    sender.send("one".to_string()).unwrap();
    sender.send("two".to_string()).unwrap();
    sender.send("stop".to_string()).unwrap();
    let (event_loop, _reader) = runner.join().unwrap();
    assert_eq!(done_rx.recv().unwrap(), vec!["one".to_string(), "two".to_string()]);
    drop(event_loop);
}

#[test]
fn values_that_cross_threads() {
    let event_loop: EventLoop<Echo> = EventLoop::new().unwrap();
    send(&event_loop);
    let sender = event_loop.channel();
    send(&sender);
    sync(&sender);
    let any = "127.0.0.1:0".parse().unwrap();
    let listener = TcpListener::bind(&any).unwrap();
    let stream = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    let udp = UdpSocket::bound(&any).unwrap();
    send(&listener);
    send(&stream);
    send(&udp);
    let (r, w): (PipeReader, PipeWriter) = mio::unix::pipe().unwrap();
    send(&r);
    send(&w);
    let dir = std::env::temp_dir().join(format!("mio05-threads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let ul = UnixListener::bind(&dir.join("s")).unwrap();
    let us = UnixStream::connect(&dir.join("s")).unwrap();
    send(&ul);
    send(&us);
    let _ = std::fs::remove_dir_all(&dir);
    let mut event_loop = event_loop;
    let timeout: Timeout = event_loop.timeout_ms("t".to_string(), 1000).unwrap();
    send(&timeout);
    send(&Token(1));
    send(&EventSet::all());
    send(&PollOpt::edge());
    // A Timeout handle made on the loop's thread, cleared after a trip through another.
    let timeout = thread::spawn(move || timeout).join().unwrap();
    assert!(event_loop.clear_timeout(timeout));
}
