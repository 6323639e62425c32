//! The servers on tokio: a `current_thread` runtime, a task per connection reading into a
//! `Vec` with `read_buf`, answering with the shared protocol code, and `write_all`. tokio's
//! `TcpStream` treats a short read as "drained" itself, which is what its syscall count shows.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::Protocol;
use crate::server::OUTPUT_BUDGET;

const READ_ROOM: usize = 16 * 1024;

pub fn serve<P: Protocol>(
    listener: std::net::TcpListener,
    shared: Arc<P::Shared>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let _ = connection::<P>(stream, &shared).await;
            });
        }
    })
}

async fn connection<P: Protocol>(mut stream: TcpStream, shared: &P::Shared) -> io::Result<()> {
    let mut proto = P::default();
    let mut input: Vec<u8> = Vec::with_capacity(READ_ROOM);
    let mut output: Vec<u8> = Vec::new();
    loop {
        if input.capacity() - input.len() < READ_ROOM / 2 {
            input.reserve(READ_ROOM);
        }
        let n = stream.read_buf(&mut input).await?;
        loop {
            let served = proto.serve(shared, &input, &mut output, OUTPUT_BUDGET);
            input.drain(..served.consumed);
            if !output.is_empty() {
                stream.write_all(&output).await?;
                output.clear();
            }
            if served.close {
                return stream.shutdown().await;
            }
            if served.consumed == 0 {
                break;
            }
        }
        if n == 0 {
            return Ok(());
        }
    }
}
