//! Memory the kernel is pointed at: event buffers of any size, a read-only
//! page, and the progress page shared with the parent runner.

use super::epoll::EpollEvent;
use std::sync::atomic::AtomicU32;

/// Buffers up to this many entries live on the heap; larger ones (a case
/// passing maxevents in the millions) are reserved address space that only
/// costs memory for the entries the kernel actually writes.
const HEAP_MAX: usize = 4096;

/// An events array of a given number of entries.
pub enum EventBuffer {
    Heap(Vec<EpollEvent>),
    Mapped { ptr: *mut EpollEvent, len: usize },
}

impl EventBuffer {
    pub fn new(entries: usize) -> std::io::Result<EventBuffer> {
        let entries = entries.max(1);
        if entries <= HEAP_MAX {
            return Ok(EventBuffer::Heap(vec![EpollEvent { events: 0, u64: 0 }; entries]));
        }
        let bytes = entries
            .checked_mul(std::mem::size_of::<EpollEvent>())
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENOMEM))?;
        // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EventBuffer::Mapped { ptr: ptr.cast(), len: entries })
    }

    pub fn len(&self) -> usize {
        match self {
            EventBuffer::Heap(v) => v.len(),
            EventBuffer::Mapped { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_mut_ptr(&mut self) -> *mut EpollEvent {
        match self {
            EventBuffer::Heap(v) => v.as_mut_ptr(),
            EventBuffer::Mapped { ptr, .. } => *ptr,
        }
    }

    /// Entry `i` as `(events, data)`.
    pub fn get(&self, i: usize) -> (u32, u64) {
        assert!(i < self.len(), "event index {i} out of range");
        let e = match self {
            EventBuffer::Heap(v) => v[i],
            // SAFETY: `i < len` and the mapping holds `len` entries.
            EventBuffer::Mapped { ptr, .. } => unsafe { ptr.add(i).read_unaligned() },
        };
        (e.events, e.u64)
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if let EventBuffer::Mapped { ptr, len } = *self {
            // SAFETY: unmaps exactly the mapping made in `new`.
            unsafe { libc::munmap(ptr.cast(), len * std::mem::size_of::<EpollEvent>()) };
        }
    }
}

/// One page mapped read-only: the kernel can read it but faults on writes.
pub struct ReadOnlyPage {
    ptr: *mut libc::c_void,
}

// SAFETY: the page is never written by us; sharing the address is harmless.
unsafe impl Send for ReadOnlyPage {}
// SAFETY: as above.
unsafe impl Sync for ReadOnlyPage {}

pub const PAGE: usize = 4096;

impl ReadOnlyPage {
    pub fn new() -> std::io::Result<ReadOnlyPage> {
        // SAFETY: a fresh anonymous mapping.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), PAGE, libc::PROT_READ, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(ReadOnlyPage { ptr })
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }
}

impl Drop for ReadOnlyPage {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe { libc::munmap(self.ptr, PAGE) };
    }
}

/// A file mapped shared, seen as 32-bit atomics: the case child writes
/// which line each of its threads is on, and the parent reads the file
/// when the case times out, to say where it was stuck.
pub struct SharedSlots {
    ptr: *mut AtomicU32,
    len: usize,
}

// SAFETY: the slots are atomics; concurrent access from threads is fine.
unsafe impl Send for SharedSlots {}
// SAFETY: as above.
unsafe impl Sync for SharedSlots {}

impl SharedSlots {
    /// Maps `bytes` of an open file (which must be at least that long).
    pub fn map(fd: i32, bytes: usize) -> std::io::Result<SharedSlots> {
        // SAFETY: a fresh shared mapping of a file we opened; nothing else
        // in this process aliases it.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SharedSlots { ptr: ptr.cast(), len: bytes / 4 })
    }

    pub fn slots(&self) -> &[AtomicU32] {
        // SAFETY: the mapping holds `len` u32s, page-aligned, and lives as
        // long as `self`; AtomicU32 has the layout of u32.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for SharedSlots {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`.
        unsafe { libc::munmap(self.ptr.cast(), self.len * 4) };
    }
}
