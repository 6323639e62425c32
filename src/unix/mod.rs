//! Unix sources: pipes and the raw-fd adapter [`EventedFd`].

mod evented_fd;
mod pipe;

pub use evented_fd::EventedFd;
pub use pipe::{pipe, PipeReader, PipeWriter};
