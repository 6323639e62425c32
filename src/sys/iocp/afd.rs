//! The AFD side of the IOCP backend: a handle to `\Device\Afd` (the driver behind Winsock) on
//! which `IOCTL_AFD_POLL` requests ask for a socket's readiness, each completing once on the
//! selector's completion port.
//!
//! Facts this relies on (documented by the projects that first used them, wepoll, then mio and
//! polling; the layout is the driver's ABI):
//!
//! * A handle opened with `NtCreateFile` on a name under `\Device\Afd` accepts
//!   `IOCTL_AFD_POLL` (`0x12024`) with an `AFD_POLL_INFO` as input and output buffer. The
//!   request completes when one of the asked events is true of the socket (at once if one
//!   already is), writing the events that are true into the output.
//! * The handle being associated with a completion port, the completion is queued there with
//!   the request's APC context as the entry's `lpOverlapped`, also when the request completes
//!   at once. The `IO_STATUS_BLOCK` and the output buffer must stay valid until then.
//! * The socket named in the request must be the base provider's socket (`SIO_BASE_HANDLE`),
//!   not one a layered service provider wrapped.
//! * `NtCancelIoFileEx` cancels a request; it then completes with `STATUS_CANCELLED` (or with
//!   its events, if it had completed already).

use std::ffi::c_void;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::windows::io::RawSocket;
use std::ptr::{null, null_mut};

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{NtCancelIoFileEx, NtCreateFile, FILE_OPEN};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    CloseHandle, RtlNtStatusToDosError, HANDLE, NTSTATUS, STATUS_PENDING, STATUS_SUCCESS,
    UNICODE_STRING,
};
use windows_sys::Win32::Networking::WinSock::{
    WSAGetLastError, WSAIoctl, SIO_BASE_HANDLE, SIO_BSP_HANDLE_POLL, SOCKET, SOCKET_ERROR,
};
use windows_sys::Win32::Storage::FileSystem::{
    SetFileCompletionNotificationModes, FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE,
};
use windows_sys::Win32::System::WindowsProgramming::FILE_SKIP_SET_EVENT_ON_HANDLE;
use windows_sys::Win32::System::IO::{CreateIoCompletionPort, IO_STATUS_BLOCK};

/// The AFD event bits (`AFD_POLL_*`).
pub(super) mod events {
    /// Data to read.
    pub(in super::super) const RECEIVE: u32 = 0x0001;
    /// Room to send.
    pub(in super::super) const SEND: u32 = 0x0004;
    /// The peer closed its sending side (a FIN).
    pub(in super::super) const DISCONNECT: u32 = 0x0008;
    /// The connection was reset or aborted.
    pub(in super::super) const ABORT: u32 = 0x0010;
    /// The socket handle was closed.
    pub(in super::super) const LOCAL_CLOSE: u32 = 0x0020;
    /// A connection to accept.
    pub(in super::super) const ACCEPT: u32 = 0x0080;
    /// A connect failed.
    pub(in super::super) const CONNECT_FAIL: u32 = 0x0100;
}

/// `IOCTL_AFD_POLL`.
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

/// One socket of an `AFD_POLL_INFO` (`AFD_POLL_HANDLE_INFO`).
#[repr(C)]
#[derive(Clone, Copy)]
struct PollHandleInfo {
    handle: HANDLE,
    events: u32,
    status: NTSTATUS,
}

/// `AFD_POLL_INFO` with room for one socket: ferrio polls one socket per request.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct PollInfo {
    /// Absolute or relative (negative) 100 ns units; `i64::MAX`: never.
    timeout: i64,
    number_of_handles: u32,
    /// Non-zero would cancel the other polls of the socket.
    exclusive: u32,
    handles: [PollHandleInfo; 1],
}

// The driver's layout on 64-bit Windows.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<PollInfo>() == 32);

impl PollInfo {
    /// A request for `events` of `base`, never timing out.
    pub(super) fn new(base: RawSocket, events: u32) -> PollInfo {
        PollInfo {
            timeout: i64::MAX,
            number_of_handles: 1,
            exclusive: 0,
            handles: [PollHandleInfo {
                handle: base as HANDLE,
                events,
                status: STATUS_SUCCESS,
            }],
        }
    }

    /// The events the completed request reported (none if it reported no socket).
    pub(super) fn reported(&self) -> u32 {
        if self.number_of_handles == 0 {
            0
        } else {
            self.handles[0].events
        }
    }
}

/// An `IO_STATUS_BLOCK` marked as not completed.
pub(super) fn pending_status_block() -> IO_STATUS_BLOCK {
    // SAFETY: IO_STATUS_BLOCK is plain data (a union of an NTSTATUS and a pointer, and a
    // usize); all zeroes is a valid value.
    let mut iosb: IO_STATUS_BLOCK = unsafe { zeroed() };
    iosb.Anonymous.Status = STATUS_PENDING;
    iosb
}

/// The status of a completed request's status block.
pub(super) fn status_of(iosb: &IO_STATUS_BLOCK) -> NTSTATUS {
    // SAFETY: the kernel writes the `Status` member of a completed request's block (and ferrio
    // wrote it before submitting); both members are plain integers of the same size.
    unsafe { iosb.Anonymous.Status }
}

/// An NTSTATUS as an `io::Error` (through the Win32 error it corresponds to).
pub(super) fn nt_error(status: NTSTATUS) -> io::Error {
    // SAFETY: a pure conversion without pointers.
    let code = unsafe { RtlNtStatusToDosError(status) };
    io::Error::from_raw_os_error(code as i32)
}

/// A handle to `\Device\Afd`, associated with a completion port. Closed on drop, which
/// cancels the requests still pending on it.
#[derive(Debug)]
pub(super) struct Afd {
    handle: HANDLE,
}

// SAFETY: a kernel handle may be used and closed from any thread.
unsafe impl Send for Afd {}
// SAFETY: every use is a syscall on the handle, which the kernel serialises.
unsafe impl Sync for Afd {}

impl Afd {
    /// Opens an AFD handle and associates it with `port` under completion key `key`.
    pub(super) fn new(port: HANDLE, key: usize) -> io::Result<Afd> {
        // The name under the device is ignored by the driver; it shows in handle listings.
        // Fall back to the bare device name where a suffix is refused.
        let afd = match Afd::open("\\Device\\Afd\\Ferrio") {
            Ok(afd) => afd,
            Err(_) => Afd::open("\\Device\\Afd")?,
        };
        // SAFETY: both handles are live; `afd.handle` is closed by `afd`'s drop on failure.
        if unsafe { CreateIoCompletionPort(afd.handle, port, key, 0) }.is_null() {
            return Err(io::Error::last_os_error());
        }
        // The requests complete through the port only: don't also signal the handle.
        // SAFETY: a live handle and a valid flag.
        if unsafe {
            SetFileCompletionNotificationModes(afd.handle, FILE_SKIP_SET_EVENT_ON_HANDLE as u8)
        } == 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(afd)
    }

    fn open(name: &str) -> io::Result<Afd> {
        let wide: Vec<u16> = name.encode_utf16().collect();
        let bytes = (wide.len() * 2) as u16;
        let name = UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: wide.as_ptr() as *mut u16,
        };
        let attributes = OBJECT_ATTRIBUTES {
            Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
            RootDirectory: null_mut(),
            ObjectName: &name,
            Attributes: 0,
            SecurityDescriptor: null(),
            SecurityQualityOfService: null(),
        };
        let mut handle: HANDLE = null_mut();
        let mut iosb = pending_status_block();
        // SAFETY: every pointer refers to a live local (`name` points into `wide`, which
        // outlives the call); no allocation size, attributes or extended attributes.
        let status = unsafe {
            NtCreateFile(
                &mut handle,
                SYNCHRONIZE,
                &attributes,
                &mut iosb,
                null(),
                0,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                FILE_OPEN,
                0,
                null(),
                0,
            )
        };
        if status != STATUS_SUCCESS {
            return Err(nt_error(status));
        }
        Ok(Afd { handle })
    }

    /// Submits a poll request.
    ///
    /// On `Ok`, the request is in flight: its completion will be queued on the port with
    /// `context` as the entry's `lpOverlapped`, and the kernel may write `*iosb` and `*info`
    /// until then. On `Err` nothing was submitted and nothing will complete.
    ///
    /// # Safety
    ///
    /// `iosb` and `info` must stay valid, and not be read or written by anyone else, until the
    /// completion has been dequeued from the port.
    pub(super) unsafe fn poll(
        &self,
        info: *mut PollInfo,
        iosb: *mut IO_STATUS_BLOCK,
        context: *const c_void,
    ) -> io::Result<()> {
        // SAFETY: the caller keeps `iosb` and `info` valid until the completion; the handle
        // is live; no event and no APC routine (the completion goes to the port).
        let status = unsafe {
            (*iosb).Anonymous.Status = STATUS_PENDING;
            NtDeviceIoControlFile(
                self.handle,
                null_mut(),
                None,
                context,
                iosb,
                IOCTL_AFD_POLL,
                info as *const c_void,
                size_of::<PollInfo>() as u32,
                info as *mut c_void,
                size_of::<PollInfo>() as u32,
            )
        };
        // Success (completed at once) or pending: either way a completion will be queued.
        if status == STATUS_SUCCESS || status == STATUS_PENDING {
            Ok(())
        } else {
            Err(nt_error(status))
        }
    }

    /// Asks the kernel to cancel the request whose status block is `iosb`. The request
    /// completes anyway (with `STATUS_CANCELLED`, or with its events if it was done); a request
    /// that already completed is not an error.
    ///
    /// # Safety
    ///
    /// `iosb` must be the status block of a request submitted on this handle whose
    /// completion has not been dequeued yet (the kernel only compares the pointer).
    pub(super) unsafe fn cancel(&self, iosb: *const IO_STATUS_BLOCK) {
        let mut cancel_iosb = pending_status_block();
        // SAFETY: the handle is live; `iosb` identifies a request of this handle; the result
        // (not found: it completed meanwhile) needs no handling.
        unsafe { NtCancelIoFileEx(self.handle, iosb, &mut cancel_iosb) };
    }
}

impl Drop for Afd {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by self and closed once.
        unsafe { CloseHandle(self.handle) };
    }
}

/// The base provider's socket of `socket` (itself, unless a layered service provider wraps it).
pub(super) fn base_socket(socket: RawSocket) -> io::Result<RawSocket> {
    let first = match ioctl_socket(socket, SIO_BASE_HANDLE) {
        Ok(base) => return Ok(base),
        Err(e) => e,
    };
    // Some providers refuse SIO_BASE_HANDLE but answer the poll-specific query.
    ioctl_socket(socket, SIO_BSP_HANDLE_POLL).map_err(|_| first)
}

fn ioctl_socket(socket: RawSocket, code: u32) -> io::Result<RawSocket> {
    let mut out: SOCKET = 0;
    let mut bytes = 0u32;
    // SAFETY: `out` is a live SOCKET-sized output buffer; no input, not overlapped. An invalid
    // socket is reported as WSAENOTSOCK.
    let rc = unsafe {
        WSAIoctl(
            socket as SOCKET,
            code,
            null(),
            0,
            (&mut out as *mut SOCKET).cast(),
            size_of::<SOCKET>() as u32,
            &mut bytes,
            null_mut(),
            None,
        )
    };
    if rc == SOCKET_ERROR {
        // SAFETY: reads the calling thread's last Winsock error.
        return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
    }
    Ok(out as RawSocket)
}
