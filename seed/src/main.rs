//! The seed program from the original mio `EventLoop` docs, unchanged but for `fn main`.
//! It must compile against ferrio renamed to `mio` and run to completion.

fn main() {
    use mio::*;
    use mio::tcp::{TcpListener, TcpStream};

    const SERVER: Token = Token(0);
    const CLIENT: Token = Token(1);

    let addr = "127.0.0.1:13265".parse().unwrap();
    let server = TcpListener::bind(&addr).unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&server, SERVER, EventSet::readable(), PollOpt::edge()).unwrap();
    let sock = TcpStream::connect(&addr).unwrap();
    event_loop.register(&sock, CLIENT, EventSet::readable(), PollOpt::edge()).unwrap();

    struct MyHandler(TcpListener);
    impl Handler for MyHandler {
        type Timeout = ();
        type Message = ();
        fn ready(&mut self, event_loop: &mut EventLoop<MyHandler>, token: Token, _: EventSet) {
            match token {
                SERVER => { let MyHandler(ref mut server) = *self; let _ = server.accept(); }
                CLIENT => event_loop.shutdown(),
                _ => panic!("unexpected token"),
            }
        }
    }
    event_loop.run(&mut MyHandler(server)).unwrap();
    println!("seed program: ran to completion");
}
