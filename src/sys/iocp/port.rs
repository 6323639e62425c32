//! An I/O completion port: the queue the IOCP backend waits on.

use std::io;
use std::ptr::{null, null_mut};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus,
    OVERLAPPED_ENTRY,
};

/// An owned completion port handle.
#[derive(Debug)]
pub(super) struct CompletionPort {
    handle: HANDLE,
}

// SAFETY: a completion port may be used from any thread; that is what it is for.
unsafe impl Send for CompletionPort {}
// SAFETY: as above: posting and dequeuing are thread-safe kernel operations.
unsafe impl Sync for CompletionPort {}

impl CompletionPort {
    /// A new port (one thread may run at a time, as only one thread waits).
    pub(super) fn new() -> io::Result<CompletionPort> {
        // SAFETY: INVALID_HANDLE_VALUE with no existing port creates a new port.
        let handle = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, null_mut(), 0, 1) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(CompletionPort { handle })
    }

    pub(super) fn handle(&self) -> HANDLE {
        self.handle
    }

    /// Queues a packet with completion key `key` and no overlapped pointer.
    pub(super) fn post(&self, key: usize) -> io::Result<()> {
        // SAFETY: a live port; a null OVERLAPPED is allowed for posted packets.
        if unsafe { PostQueuedCompletionStatus(self.handle, 0, key, null()) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Dequeues up to `entries.len()` packets, waiting up to `timeout_ms` (`u32::MAX`:
    /// forever) for the first. Returns how many were written to the front of `entries`; 0
    /// means the timeout expired.
    pub(super) fn get_many(
        &self,
        entries: &mut [OVERLAPPED_ENTRY],
        timeout_ms: u32,
    ) -> io::Result<usize> {
        let mut removed = 0u32;
        let count = entries.len().min(u32::MAX as usize) as u32;
        // SAFETY: `entries` has room for `count` entries; not alertable.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(
                self.handle,
                entries.as_mut_ptr(),
                count,
                &mut removed,
                timeout_ms,
                0,
            )
        };
        if ok == 0 {
            // SAFETY: reads the calling thread's last error.
            let code = unsafe { GetLastError() };
            if code == WAIT_TIMEOUT {
                return Ok(0);
            }
            return Err(io::Error::from_raw_os_error(code as i32));
        }
        Ok(removed as usize)
    }
}

impl Drop for CompletionPort {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by self and closed once.
        unsafe { CloseHandle(self.handle) };
    }
}

/// Rounds up to whole milliseconds for `GetQueuedCompletionStatusEx`; `None` is `INFINITE`
/// (`u32::MAX`), which a finite timeout never reaches.
pub(super) fn timeout_to_ms(timeout: Option<Duration>) -> u32 {
    match timeout {
        None => u32::MAX,
        Some(d) => {
            let ms = d
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)));
            ms.min(u64::from(u32::MAX - 1)) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(timeout_to_ms(None), u32::MAX);
        assert_eq!(timeout_to_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_to_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_to_ms(Some(Duration::from_micros(300))), 1);
        assert_eq!(timeout_to_ms(Some(Duration::from_micros(5001))), 6);
        assert_eq!(timeout_to_ms(Some(Duration::MAX)), u32::MAX - 1);
    }
}
