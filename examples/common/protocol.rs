//! What a request/response protocol gives the server loop: bytes in, responses out, no IO.
//!
//! Shared by the examples and by the benchmark servers (mio, tokio), so every server answers
//! with exactly the same code and only the IO layer differs.

/// What one call of [`Protocol::serve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Bytes at the start of the input that were consumed (complete requests).
    pub consumed: usize,
    /// The connection must close once the output is written.
    pub close: bool,
}

/// A protocol's per-connection state.
pub trait Protocol: Default + Send + 'static {
    /// State shared by every connection of every loop (the RESP key space).
    type Shared: Default + Send + Sync + 'static;

    /// Answers every complete request at the start of `input`, appending the responses to
    /// `out`; stops early once `out` holds `budget` bytes or more, so a client that does not
    /// read cannot make the server buffer without bound. Never panics, whatever the input.
    fn serve(
        &mut self,
        shared: &Self::Shared,
        input: &[u8],
        out: &mut Vec<u8>,
        budget: usize,
    ) -> Served;
}
